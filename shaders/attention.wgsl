// Causal attention over a "shared-prompt" batch, with grouped-query heads: flash attention (forward and
// backward, blocks of queries x keys in workgroup memory) for real head sizes, and one invocation per (row,
// head) for tiny ones (the 'thread' kernels at the end; kernels/attention.ts chooses by head_dim).
//
// All rows of a scoring batch (each prompt's tokens, then each action's tokens) live in one buffer. A row
// attends to the keys of at most two contiguous row segments, given per row as (start1, len1, start2, len2):
//   a prompt row i:            [p0, p0 + i + 1)              and nothing
//   row j of an action:        [p0, p0 + prompt_len)         and [a0, a0 + j + 1)
// so every action continues the one shared prompt, which is computed once, and never sees other actions.
// A separate sequence (the original method: prompt + action as its own sequence) is just segment 1.
//
//   out[r, h, :] = sum_k softmax_k(q[r, h] . k[k, g] * scale) v[k, g],   g = h / G,  G = H / KVH
//   lse[r, h]    = log sum_k exp(q[r, h] . k[k, g] * scale)
//
// Shapes: qkv [R, (H + 2 KVH) hd] f32 (Q, K, V heads fused, RoPE already applied); segments [R, 4] u32;
// out [R, H hd] f32; lse [R, H]. HD (= hd) and the tile sizes are override constants, chosen by shape.
//
// Queries of one kv head g are numbered m = r G + j (row r, query head g G + j): the G heads that share a K/V
// head are neighbours, so one K/V tile in workgroup memory serves all of them (GQA) as well as all rows.

//! if F16
enable f16;
//! endif

struct Params {
  rows: u32,      // R
  heads: u32,     // H
  kv_heads: u32,  // KVH
  scale: f32,     // hd^-0.5
}

override HD: u32 = 64u;  // head dim, <= 4 DPL_MAX
override BK: u32 = 16u;  // flash forward and dQ: keys per tile (<= BK_MAX)
override BQT: u32 = 8u;  // flash dK/dV: queries per tile (<= BK_MAX)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> segments: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dqkv: array<f32>;
// dK/dV's readers, CSR: flash, per key block of BKV rows, the query tiles (of BQT queries) with a reader of
// one of its keys; thread, per key row, the rows that read it.
@group(0) @binding(8) var<storage, read> reader_offsets: array<u32>;
@group(0) @binding(9) var<storage, read> readers: array<u32>;

const WG: u32 = 64u;
// Invocations per query (forward, dQ) or per key (dK/dV): lane l owns the dims l, l + LANES, ... of the head,
// so a q . k product is LANES partial sums, added up through workgroup memory.
const LANES: u32 = 4u;
const BQ: u32 = WG / LANES;   // forward, dQ: queries per workgroup
const BKV: u32 = WG / LANES;  // dK/dV: keys per workgroup
const DPL_MAX: u32 = 64u;     // dims per lane, ceil(HD / LANES)
const BK_MAX: u32 = 32u;
const NEG: f32 = -3.0e38;     // the running max before any key (exp(NEG - m) = 0 for any real m)

//! if F16
alias tile_t = f16;
//! else
alias tile_t = f32;
//! endif

fn dims_per_lane() -> u32 { return (HD + LANES - 1u) / LANES; }
fn qkv_stride() -> u32 { return (params.heads + 2u * params.kv_heads) * HD; }
// Where kv head g's K and V heads start in a qkv row (after the H query heads; the V heads after the K heads).
fn k_col(g: u32) -> u32 { return (params.heads + g) * HD; }
fn v_col(g: u32) -> u32 { return (params.heads + params.kv_heads + g) * HD; }
fn segment_of(r: u32) -> vec4<u32> {
  return vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
}
// Whether a row with segments `seg` reads key row kr (u32 differences wrap below a segment's start).
fn reads(seg: vec4<u32>, kr: u32) -> bool {
  return kr - seg.x < seg.y || kr - seg.z < seg.w;
}

struct Query {
  row: u32,
  head: u32,
  valid: bool,  // m < R G (the last block's padding is not)
}

fn query_of(m: u32, g: u32) -> Query {
  let group = params.heads / params.kv_heads;
  let valid = m < params.rows * group;
  let mm = select(0u, m, valid);
  return Query(mm / group, g * group + mm % group, valid);
}

// The segments a query's row reads; none for padding.
fn query_segments(query: Query) -> vec4<u32> {
  if (query.valid) { return segment_of(query.row); }
  return vec4<u32>(0u);
}

// The keys that rows [r_lo, r_hi) read, as two ranges [x, y) and [z, w): the span of their first segments and
// that of their second ones, merged into the first where they overlap or touch. Rows of one block share most
// keys (a prompt's rows and its actions' rows read the prompt); a key in a range that a row does not read is
// masked per row. A block of prompt rows ends at its last row: the causal structure skips the later keys.
// Every invocation computes the same values (uniform control flow for the tile loop's barriers).
fn block_key_ranges(r_lo: u32, r_hi: u32) -> vec4<u32> {
  var lo1 = 0xffffffffu;
  var hi1 = 0u;
  var lo2 = 0xffffffffu;
  var hi2 = 0u;
  for (var r = r_lo; r < r_hi; r++) {
    let seg = segment_of(r);
    if (seg.y > 0u) {
      lo1 = min(lo1, seg.x);
      hi1 = max(hi1, seg.x + seg.y);
    }
    if (seg.w > 0u) {
      lo2 = min(lo2, seg.z);
      hi2 = max(hi2, seg.z + seg.w);
    }
  }
  if (hi1 == 0u) { lo1 = 0u; }
  if (hi2 == 0u) { lo2 = 0u; }
  if (hi1 > 0u && hi2 > 0u && lo2 <= hi1 && lo1 <= hi2) {
    lo1 = min(lo1, lo2);
    hi1 = max(hi1, hi2);
    lo2 = 0u;
    hi2 = 0u;
  }
  return vec4<u32>(lo1, hi1, lo2, hi2);
}

// A block's key ranges (block_key_ranges) in tiles of BK rows: n1 tiles cover the first range, `count` both.
// From the workgroup id alone, so uniform, as the tile loop's barriers need.
struct KeyTiles {
  ranges: vec4<u32>,
  n1: u32,
  count: u32,
}

fn key_tiles(block: QueryBlock) -> KeyTiles {
  let ranges = block_key_ranges(block.r_lo, block.r_hi);
  let n1 = (ranges.y - ranges.x + BK - 1u) / BK;
  return KeyTiles(ranges, n1, n1 + (ranges.w - ranges.z + BK - 1u) / BK);
}

// Tile t of a block's key tiles: its first key row and the end of its range.
fn key_tile(tiles: KeyTiles, t: u32) -> vec2<u32> {
  if (t < tiles.n1) { return vec2<u32>(tiles.ranges.x + t * BK, tiles.ranges.y); }
  return vec2<u32>(tiles.ranges.z + (t - tiles.n1) * BK, tiles.ranges.w);
}

// ---------------------------------------------------------------------------------------------------------
// Flash forward. Workgroup (b, g): queries m = b BQ .. b BQ + BQ - 1 of kv head g, LANES invocations each
// (i = lid / LANES, lane = lid % LANES). Per key tile of BK rows, in workgroup memory:
//   S = Q K^T (lane partials, summed)   m' = max(m, rowmax S)   P = exp(S - m')   l = l e^(m - m') + rowsum P
//   O = O e^(m - m') + P V
// and at the end out = O / l, lse = m + log l. K and V take turns in one tile buffer.

var<workgroup> kv_tile: array<tile_t, BK * HD>;
var<workgroup> v_tile: array<tile_t, BK * HD>;
var<workgroup> s_part: array<f32, BK * WG>;
var<workgroup> dp_part: array<f32, BK * WG>;

// Element e of the tile of rows k0 .. k0 + BK - 1 of qkv, HD columns from `col` (zero from row k_end on).
fn qkv_tile_element(k0: u32, k_end: u32, col: u32, e: u32, stride: u32) -> tile_t {
  let kr = k0 + e / HD;
  var x = 0.0;
  if (kr < k_end) { x = qkv[kr * stride + col + e % HD]; }
  return tile_t(x);
}

// That tile into kv_tile.
fn load_kv_tile(k0: u32, k_end: u32, col: u32, lid: u32) {
  let stride = qkv_stride();
  for (var e = lid; e < BK * HD; e += WG) { kv_tile[e] = qkv_tile_element(k0, k_end, col, e, stride); }
}

// The same into v_tile (dQ, which needs K and V at once).
fn load_v_tile(k0: u32, k_end: u32, col: u32, lid: u32) {
  let stride = qkv_stride();
  for (var e = lid; e < BK * HD; e += WG) { v_tile[e] = qkv_tile_element(k0, k_end, col, e, stride); }
}

// The query block of workgroup x: its first query and the rows its queries belong to.
struct QueryBlock {
  m0: u32,
  r_lo: u32,
  r_hi: u32,
}

fn query_block(x: u32) -> QueryBlock {
  let group = params.heads / params.kv_heads;
  let m0 = x * BQ;
  return QueryBlock(m0, m0 / group, min(params.rows, (m0 + BQ - 1u) / group + 1u));
}

// The sum of query i's lane partials for key j of the tile (every lane of the query sums the same values in
// the same order, so all of them hold identical softmax statistics).
fn lane_sum_s(j: u32, i: u32) -> f32 {
  var s = 0.0;
  for (var l = 0u; l < LANES; l++) { s += s_part[j * WG + i * LANES + l]; }
  return s;
}

fn lane_sum_dp(j: u32, i: u32) -> f32 {
  var s = 0.0;
  for (var l = 0u; l < LANES; l++) { s += dp_part[j * WG + i * LANES + l]; }
  return s;
}

// out for one query per LANES invocations; returns the query's log-sum-exp.
fn flash_forward(wid: vec3<u32>, lid: u32) -> f32 {
  let g = wid.y;
  let i = lid / LANES;
  let lane = lid % LANES;
  let block = query_block(wid.x);
  let query = query_of(block.m0 + i, g);
  let seg = query_segments(query);
  let tiles = key_tiles(block);
  let q_at = query.row * qkv_stride() + query.head * HD;

  var q: array<f32, DPL_MAX>;
  var acc: array<f32, DPL_MAX>;
  for (var c = 0u; c < dims_per_lane(); c++) {
    let d = lane + c * LANES;
    q[c] = 0.0;
    if (d < HD) { q[c] = qkv[q_at + d]; }
    acc[c] = 0.0;
  }
  var m_run = NEG;
  var l_run = 0.0;
  var p: array<f32, BK_MAX>;
  for (var t = 0u; t < tiles.count; t++) {
    let tile = key_tile(tiles, t);
    load_kv_tile(tile.x, tile.y, k_col(g), lid);
    workgroupBarrier();
    for (var j = 0u; j < BK; j++) {
      var s = 0.0;
      for (var c = 0u; c < dims_per_lane(); c++) {
        let d = lane + c * LANES;
        if (d < HD) { s += q[c] * f32(kv_tile[j * HD + d]); }
      }
      s_part[j * WG + lid] = s;
    }
    workgroupBarrier();
    load_kv_tile(tile.x, tile.y, v_col(g), lid);  // V over K: every invocation has read K
    var tile_max = NEG;
    var visible = 0u;
    for (var j = 0u; j < BK; j++) {
      let kr = tile.x + j;
      p[j] = lane_sum_s(j, i) * params.scale;
      if (kr < tile.y && reads(seg, kr)) {
        visible |= 1u << j;
        tile_max = max(tile_max, p[j]);
      }
    }
    let m_new = max(m_run, tile_max);
    let correction = exp(m_run - m_new);
    var sum = 0.0;
    for (var j = 0u; j < BK; j++) {
      p[j] = select(0.0, exp(p[j] - m_new), (visible & (1u << j)) != 0u);
      sum += p[j];
    }
    l_run = l_run * correction + sum;
    m_run = m_new;
    workgroupBarrier();
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) {
        var a = acc[c] * correction;
        for (var j = 0u; j < BK; j++) { a += p[j] * f32(kv_tile[j * HD + d]); }
        acc[c] = a;
      }
    }
    workgroupBarrier();
  }
  if (query.valid) {
    let o_at = (query.row * params.heads + query.head) * HD;
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) { out[o_at + d] = acc[c] / l_run; }
    }
  }
  return m_run + log(l_run);
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = flash_forward(wid, lid);
}

// The forward that also keeps lse [R, H] for the backward (the training path's recomputation runs this one).
@compute @workgroup_size(WG)
fn attention_forward_lse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row_lse = flash_forward(wid, lid);
  let query = query_of(query_block(wid.x).m0 + lid / LANES, wid.y);
  if (query.valid && lid % LANES == 0u) { lse[query.row * params.heads + query.head] = row_lse; }
}

// ---------------------------------------------------------------------------------------------------------
// Backward (FlashAttention-2), no stored probabilities. With dout = dL/dout, lse from the forward,
//   delta[r, h] = dout . out        p_k = exp(s q.k_k - lse)        ds_k = p_k (dout . v_k - delta)
//   dq   = s sum_k ds_k k_k                                           (attention_backward_dq)
//   dk_k = s sum ds_k q,   dv_k = sum p_k dout   over every (row, head) reading key k   (attention_backward_dkv)
// dq per query block looping over its key tiles (as the forward); dK and dV per key block looping over the
// query tiles with a reader of its keys (CSR, kernels/attention.ts), so nothing is scattered or atomic.
// Shapes: dout [R, H hd]; lse, delta [R, H]; dqkv [R, (H + 2 KVH) hd] (every Q, K, V slot overwritten).

// dq for one query per LANES invocations; also writes delta (dout . out), which attention_backward_dkv reads.
@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y;
  let i = lid / LANES;
  let lane = lid % LANES;
  let block = query_block(wid.x);
  let query = query_of(block.m0 + i, g);
  let seg = query_segments(query);
  let tiles = key_tiles(block);
  let q_at = query.row * qkv_stride() + query.head * HD;
  let o_at = (query.row * params.heads + query.head) * HD;

  var q: array<f32, DPL_MAX>;
  var dout_q: array<f32, DPL_MAX>;
  var dq: array<f32, DPL_MAX>;
  var dot_out = 0.0;
  for (var c = 0u; c < dims_per_lane(); c++) {
    let d = lane + c * LANES;
    q[c] = 0.0;
    dout_q[c] = 0.0;
    if (d < HD && query.valid) {
      q[c] = qkv[q_at + d];
      dout_q[c] = dout[o_at + d];
      dot_out += dout_q[c] * out[o_at + d];
    }
    dq[c] = 0.0;
  }
  s_part[lid] = dot_out;
  workgroupBarrier();
  let row_delta = lane_sum_s(0u, i);
  var row_lse = 0.0;
  if (query.valid) {
    row_lse = lse[query.row * params.heads + query.head];
    if (lane == 0u) { delta[query.row * params.heads + query.head] = row_delta; }
  }
  workgroupBarrier();

  var ds: array<f32, BK_MAX>;
  for (var t = 0u; t < tiles.count; t++) {
    let tile = key_tile(tiles, t);
    load_kv_tile(tile.x, tile.y, k_col(g), lid);
    load_v_tile(tile.x, tile.y, v_col(g), lid);
    workgroupBarrier();
    for (var j = 0u; j < BK; j++) {
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < dims_per_lane(); c++) {
        let d = lane + c * LANES;
        if (d < HD) {
          s += q[c] * f32(kv_tile[j * HD + d]);
          dp += dout_q[c] * f32(v_tile[j * HD + d]);
        }
      }
      s_part[j * WG + lid] = s;
      dp_part[j * WG + lid] = dp;
    }
    workgroupBarrier();
    for (var j = 0u; j < BK; j++) {
      let kr = tile.x + j;
      ds[j] = 0.0;
      if (kr < tile.y && reads(seg, kr)) {
        let p = exp(lane_sum_s(j, i) * params.scale - row_lse);
        ds[j] = p * (lane_sum_dp(j, i) - row_delta);
      }
    }
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) {
        var a = dq[c];
        for (var j = 0u; j < BK; j++) { a += ds[j] * f32(kv_tile[j * HD + d]); }
        dq[c] = a;
      }
    }
    workgroupBarrier();
  }
  if (query.valid) {
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) { dqkv[q_at + d] = params.scale * dq[c]; }
    }
  }
}

var<workgroup> q_tile: array<tile_t, BQT * HD>;
var<workgroup> do_tile: array<tile_t, BQT * HD>;
var<workgroup> st_part: array<f32, BQT * WG>;
var<workgroup> dpt_part: array<f32, BQT * WG>;
var<workgroup> tile_seg: array<vec4<u32>, BQT>;
var<workgroup> tile_lse: array<f32, BQT>;
var<workgroup> tile_delta: array<f32, BQT>;

// dk and dv for one key row per LANES invocations: workgroup (b, g) owns key rows b BKV .. b BKV + BKV - 1
// of kv head g and loops over the query tiles that read them (readers[reader_offsets[b] .. [b + 1]]).
@compute @workgroup_size(WG)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y;
  let j = lid / LANES;
  let lane = lid % LANES;
  let kr = wid.x * BKV + j;
  let key_valid = kr < params.rows;
  let stride = qkv_stride();
  let k_at = kr * stride + k_col(g);
  let v_at = kr * stride + v_col(g);

  var k: array<f32, DPL_MAX>;
  var v: array<f32, DPL_MAX>;
  var dk: array<f32, DPL_MAX>;
  var dv: array<f32, DPL_MAX>;
  for (var c = 0u; c < dims_per_lane(); c++) {
    let d = lane + c * LANES;
    k[c] = 0.0;
    v[c] = 0.0;
    if (d < HD && key_valid) {
      k[c] = qkv[k_at + d];
      v[c] = qkv[v_at + d];
    }
    dk[c] = 0.0;
    dv[c] = 0.0;
  }
  var p: array<f32, BK_MAX>;
  var ds: array<f32, BK_MAX>;
  let first = reader_offsets[wid.x];
  let last = reader_offsets[wid.x + 1u];
  for (var n = first; n < last; n++) {
    let m0 = readers[n] * BQT;
    for (var e = lid; e < BQT * HD; e += WG) {
      let query = query_of(m0 + e / HD, g);
      var x = 0.0;
      var y = 0.0;
      if (query.valid) {
        x = qkv[query.row * stride + query.head * HD + e % HD];
        y = dout[(query.row * params.heads + query.head) * HD + e % HD];
      }
      q_tile[e] = tile_t(x);
      do_tile[e] = tile_t(y);
    }
    if (lid < BQT) {
      let query = query_of(m0 + lid, g);
      tile_seg[lid] = query_segments(query);
      tile_lse[lid] = 0.0;
      tile_delta[lid] = 0.0;
      if (query.valid) {
        tile_lse[lid] = lse[query.row * params.heads + query.head];
        tile_delta[lid] = delta[query.row * params.heads + query.head];
      }
    }
    workgroupBarrier();
    for (var i = 0u; i < BQT; i++) {
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < dims_per_lane(); c++) {
        let d = lane + c * LANES;
        if (d < HD) {
          s += k[c] * f32(q_tile[i * HD + d]);
          dp += v[c] * f32(do_tile[i * HD + d]);
        }
      }
      st_part[i * WG + lid] = s;
      dpt_part[i * WG + lid] = dp;
    }
    workgroupBarrier();
    for (var i = 0u; i < BQT; i++) {
      p[i] = 0.0;
      ds[i] = 0.0;
      if (key_valid && reads(tile_seg[i], kr)) {
        var s = 0.0;
        var dp = 0.0;
        for (var l = 0u; l < LANES; l++) {
          s += st_part[i * WG + j * LANES + l];
          dp += dpt_part[i * WG + j * LANES + l];
        }
        p[i] = exp(s * params.scale - tile_lse[i]);
        ds[i] = p[i] * (dp - tile_delta[i]);
      }
    }
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) {
        var a = dk[c];
        var b = dv[c];
        for (var i = 0u; i < BQT; i++) {
          a += ds[i] * f32(q_tile[i * HD + d]);
          b += p[i] * f32(do_tile[i * HD + d]);
        }
        dk[c] = a;
        dv[c] = b;
      }
    }
    workgroupBarrier();
  }
  if (key_valid) {
    for (var c = 0u; c < dims_per_lane(); c++) {
      let d = lane + c * LANES;
      if (d < HD) {
        dqkv[k_at + d] = params.scale * dk[c];
        dqkv[v_at + d] = dv[c];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Thread variants: one invocation per (row, head) (per (key row, kv head) for dK/dV) walks all its keys
// (readers) alone, with the online softmax rescaled key by key. No shared memory, no barriers: on a
// CPU-emulated GPU (SwiftShader) a workgroup barrier costs more than a tiny head's arithmetic, so these are
// faster there for head_dim <= HD_MAX (kernels/attention.ts chooses by head_dim). Same math as above; sums run
// in another order (float rounding). Invocation i = flat_index(ids, WG) = row * heads + head, so neighbouring
// invocations share their rows' keys.

const HD_MAX: u32 = 32u;

//! include "include/common_flat_index.wgsl"

// Row index of the k-th key of row r's key list (segment 1 then segment 2).
fn key_row(seg: vec4<u32>, k: u32) -> u32 {
  if (k < seg.y) { return seg.x + k; }
  return seg.z + (k - seg.y);
}

// out[r, h, :] for one (row, head); returns the row's log-sum-exp of the scaled scores.
fn attention_row_thread(r: u32, h: u32) -> f32 {
  let stride = qkv_stride();
  let g = h / (params.heads / params.kv_heads);
  let k_off = k_col(g);
  let v_off = v_col(g);
  let seg = segment_of(r);
  let n_keys = seg.y + seg.w;
  var q: array<f32, HD_MAX>;
  var acc: array<f32, HD_MAX>;
  for (var d = 0u; d < HD; d++) {
    q[d] = qkv[r * stride + h * HD + d];
    acc[d] = 0.0;
  }
  var running_max = NEG;
  var running_sum = 0.0;
  for (var k = 0u; k < n_keys; k++) {
    let kr = key_row(seg, k) * stride;
    var dot = 0.0;
    for (var d = 0u; d < HD; d++) { dot += q[d] * qkv[kr + k_off + d]; }
    let score = dot * params.scale;
    // One exp per key: the larger of (score, running max) becomes the max; the other side is scaled by e.
    let e = exp(-abs(score - running_max));
    let grows = score > running_max;
    let correction = select(1.0, e, grows);
    let p = select(e, 1.0, grows);
    running_max = max(running_max, score);
    running_sum = running_sum * correction + p;
    for (var d = 0u; d < HD; d++) { acc[d] = acc[d] * correction + p * qkv[kr + v_off + d]; }
  }
  let o = r * params.heads * HD + h * HD;
  for (var d = 0u; d < HD; d++) { out[o + d] = acc[d] / running_sum; }
  return running_max + log(running_sum);
}

@compute @workgroup_size(WG)
fn attention_forward_thread(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.rows * params.heads) { return; }
  _ = attention_row_thread(i / params.heads, i % params.heads);
}

@compute @workgroup_size(WG)
fn attention_forward_lse_thread(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.rows * params.heads) { return; }
  lse[i] = attention_row_thread(i / params.heads, i % params.heads);
}

@compute @workgroup_size(WG)
fn attention_backward_delta_thread(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.rows * params.heads) { return; }
  let o = i * HD; // (r * heads + h) * hd
  var dot_out = 0.0;
  for (var d = 0u; d < HD; d++) { dot_out += dout[o + d] * out[o + d]; }
  delta[i] = dot_out;
}

@compute @workgroup_size(WG)
fn attention_backward_dq_thread(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.rows * params.heads) { return; }
  let r = i / params.heads;
  let h = i % params.heads;
  let stride = qkv_stride();
  let g = h / (params.heads / params.kv_heads);
  let k_off = k_col(g);
  let v_off = v_col(g);
  let seg = segment_of(r);
  let n_keys = seg.y + seg.w;
  let row_lse = lse[i];
  let row_delta = delta[i];
  var q: array<f32, HD_MAX>;
  var dout_r: array<f32, HD_MAX>;
  var acc: array<f32, HD_MAX>;
  for (var d = 0u; d < HD; d++) {
    q[d] = qkv[r * stride + h * HD + d];
    dout_r[d] = dout[i * HD + d];
    acc[d] = 0.0;
  }
  for (var k = 0u; k < n_keys; k++) {
    let kr = key_row(seg, k) * stride;
    var qk = 0.0;
    var dv = 0.0;
    for (var d = 0u; d < HD; d++) {
      qk += q[d] * qkv[kr + k_off + d];
      dv += dout_r[d] * qkv[kr + v_off + d];
    }
    let ds = exp(qk * params.scale - row_lse) * (dv - row_delta);
    for (var d = 0u; d < HD; d++) { acc[d] += ds * qkv[kr + k_off + d]; }
  }
  for (var d = 0u; d < HD; d++) { dqkv[r * stride + h * HD + d] = params.scale * acc[d]; }
}

@compute @workgroup_size(WG)
fn attention_backward_dkv_thread(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.rows * params.kv_heads) { return; }
  let kr = i / params.kv_heads;
  let g = i % params.kv_heads;
  let stride = qkv_stride();
  let group = params.heads / params.kv_heads;
  let k_off = kr * stride + k_col(g);
  let v_off = kr * stride + v_col(g);
  var kk: array<f32, HD_MAX>;
  var vv: array<f32, HD_MAX>;
  var acc_k: array<f32, HD_MAX>;
  var acc_v: array<f32, HD_MAX>;
  for (var d = 0u; d < HD; d++) {
    kk[d] = qkv[k_off + d];
    vv[d] = qkv[v_off + d];
    acc_k[d] = 0.0;
    acc_v[d] = 0.0;
  }
  let first = reader_offsets[kr];
  let last = reader_offsets[kr + 1u];
  for (var j = first; j < last; j++) {
    let r = readers[j];
    for (var hh = 0u; hh < group; hh++) {
      let h = g * group + hh;
      let q = r * stride + h * HD;
      let o = (r * params.heads + h) * HD;
      var qk = 0.0;
      var dv = 0.0;
      for (var d = 0u; d < HD; d++) {
        qk += qkv[q + d] * kk[d];
        dv += dout[o + d] * vv[d];
      }
      let p = exp(qk * params.scale - lse[r * params.heads + h]);
      let ds = p * (dv - delta[r * params.heads + h]);
      for (var d = 0u; d < HD; d++) {
        acc_k[d] += ds * qkv[q + d];
        acc_v[d] += p * dout[o + d];
      }
    }
  }
  for (var d = 0u; d < HD; d++) {
    dqkv[k_off + d] = params.scale * acc_k[d];
    dqkv[v_off + d] = acc_v[d];
  }
}
