// The register-blocked tile product of the tiled matrix products (matmul_tiled.wgsl: forward and input gradient,
// q4 and unquantized), pasted in by `//! include`. Expects from the including file the alias `Tile` (f32, or
// f16 under `//! if F16` with `enable f16;`).
//
// A workgroup of WG = 256 invocations owns an output tile of TM = 64 rows by TN = 64 columns and walks the
// reduced dimension in steps of TK = 32. Each step, the including kernel stages the step's slice of both
// operands in workgroup memory, reduced dimension contiguous (four to a vec4):
//   a_tile[m][kq]: rows m of the left operand (x; dy for the input gradient), kq = 0 .. TK/4 - 1
//   b_tile[n][kq]: rows n of the right operand (W, dequantized once per step for all TM rows; W^T)
// Vector kq of row r sits at slot(r, kq) = 8 r + (kq ^ (r % 8)): rows are 8 vec4 long and each row's vectors are
// rotated by an XOR with its row number, so the 8 neighbouring rows that neighbouring invocations read at one kq
// fall in 8 different banks (unswizzled, a stride of 8 vec4 would send all of them to the same bank). Padding
// rows to 9 vec4 would do the same but take 18 KiB in f32, past WebGPU's default 16 KiB of workgroup memory;
// swizzled, the f32 tiles take exactly 16 KiB and the f16 ones 8 KiB.
// Invocation (tr, tc) = (lid / 16, lid % 16) accumulates the 4 x 4 outputs rows tr + 16 r, columns tc + 16 c:
// per vec4 of the reduced dimension it reads 4 + 4 vec4 and does 16 four-wide dot products (64 multiply-adds),
// and neighbouring invocations read neighbouring rows of b_tile and write neighbouring columns of the output.

const WG: u32 = 256u;
const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 32u;

var<workgroup> a_tile: array<vec4<Tile>, 512>; // TM * TK / 4
var<workgroup> b_tile: array<vec4<Tile>, 512>; // TN * TK / 4

// The slot of vector kq (0 .. TK/4 - 1) of tile row r.
fn slot(r: u32, kq: u32) -> u32 {
  return 8u * r + (kq ^ (r & 7u));
}

// acc[r][c]: output row tr + 16 r, column tc + 16 c.
var<private> acc: array<vec4<f32>, 4>;

// Adds the staged step's products into acc. Under F16 the 32 products of a step are summed in f16 and the step's
// sum is added to the f32 accumulator: f16 sums stay short, while the sum over K (up to 11008 terms for a
// Llama-2-7B down projection) runs in f32. Measured on lavapipe (q4, T = N = 64, random x, ||y - y_cpu|| /
// ||y_cpu||): all f32 math on the f16-rounded tiles 2.8e-4 at K = 4096 and 11008; f16 per step (this) 6.6e-4 and
// 6.7e-4; f16 over all of K 4.8e-3 and 7.5e-3, growing with K (and overflowing past 65504). The f32-math choice
// is 2.4x more exact but gives up f16's double-rate arithmetic, which is the point of the variant; the error
// of this one is the f16 rounding of x and W (2^-11) and does not grow with K.
fn multiply_tiles(tr: u32, tc: u32) {
  var part = array<vec4<Tile>, 4>();
  for (var kq = 0u; kq < TK / 4u; kq++) {
    let a0 = a_tile[slot(tr, kq)];
    let a1 = a_tile[slot(tr + 16u, kq)];
    let a2 = a_tile[slot(tr + 32u, kq)];
    let a3 = a_tile[slot(tr + 48u, kq)];
    let b = array<vec4<Tile>, 4>(
      b_tile[slot(tc, kq)],
      b_tile[slot(tc + 16u, kq)],
      b_tile[slot(tc + 32u, kq)],
      b_tile[slot(tc + 48u, kq)],
    );
    for (var c = 0u; c < 4u; c++) {
      part[0][c] += dot(a0, b[c]);
      part[1][c] += dot(a1, b[c]);
      part[2][c] += dot(a2, b[c]);
      part[3][c] += dot(a3, b[c]);
    }
  }
  for (var r = 0u; r < 4u; r++) { acc[r] += vec4<f32>(part[r]); }
}
