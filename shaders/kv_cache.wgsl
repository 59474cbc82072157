// Attention over a KV cache, for generation (src/llm/engine/generate.ts): the K and V heads of every position
// a sequence has seen stay in one buffer per layer, so that each new token runs one row through the model.
//
//   kv_cache_append   cache[positions[r], :] = qkv[r, (H) hd ..]        the row's K and V heads (RoPE applied)
//   cached_attention  out[r, h, :] = sum_k softmax_k(q[r, h] . K[k, g] * scale) V[k, g],  k = 0 .. positions[r]
//                     g = h / G, G = H / KVH
//
// Shapes: qkv [R, (H + 2 KVH) hd] f32 (the pass's rows, Q heads read here); positions [R] u32; cache
// [capacity, 2 KVH hd] f32 (K heads, then V heads, per position); out [R, H hd]. A row reads the keys of
// every position up to its own, which the append of the same pass has written: the prompt's rows (prefill)
// are causal over each other, a decode row reads the prompt and every token generated before it.
// CPU reference: src/llm/reference/kv-cache.ts.

struct Params {
  rows: u32,      // R
  heads: u32,     // H
  kv_heads: u32,  // KVH
  head_dim: u32,  // hd, <= HD_MAX
  scale: f32,     // hd^-0.5
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read_write> cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

//! include "include/common_flat_index.wgsl"

const WG: u32 = 64u;
const HD_MAX: u32 = 256u;
// Head dims per invocation in the weighted sum of V: invocation i owns dims i, i + WG, ...
const DPI: u32 = HD_MAX / WG;

fn qkv_stride() -> u32 { return (params.heads + 2u * params.kv_heads) * params.head_dim; }
fn cache_stride() -> u32 { return 2u * params.kv_heads * params.head_dim; }

@compute @workgroup_size(64)
fn kv_cache_append(ids: FlatIds) {
  let i = flat_index(ids, WG);
  let width = cache_stride();
  if (i >= params.rows * width) { return; }
  let r = i / width;
  let c = i % width;
  cache[positions[r] * width + c] = qkv[r * qkv_stride() + params.heads * params.head_dim + c];
}

var<workgroup> q_head: array<f32, HD_MAX>;
var<workgroup> s_tile: array<f32, WG>;

// Workgroup (r, h): one query head of one row. Per tile of WG keys, invocation i scores key k0 + i into s_tile;
// then every invocation walks the tile with the same online softmax (running max m, sum l: the same values in
// all of them) and adds p_k V[k] on the dims it owns. Every invocation runs every loop to the same bounds, so
// the barriers are in uniform control flow.
@compute @workgroup_size(64)
fn cached_attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let hd = params.head_dim;
  let g = h / (params.heads / params.kv_heads);
  let k_col = g * hd;
  let v_col = (params.kv_heads + g) * hd;
  let width = cache_stride();
  for (var d = lid; d < hd; d += WG) { q_head[d] = qkv[r * qkv_stride() + h * hd + d]; }
  workgroupBarrier();
  let n = positions[r] + 1u;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, DPI>;
  for (var k0 = 0u; k0 < n; k0 += WG) {
    let k = k0 + lid;
    var s = -3.0e38;
    if (k < n) {
      var qk = 0.0;
      for (var d = 0u; d < hd; d++) { qk += q_head[d] * cache[k * width + k_col + d]; }
      s = qk * params.scale;
    }
    s_tile[lid] = s;
    workgroupBarrier();
    let count = min(WG, n - k0);
    var tile_max = -3.0e38;
    for (var j = 0u; j < count; j++) { tile_max = max(tile_max, s_tile[j]); }
    let m_new = max(m, tile_max);
    let correction = exp(m - m_new);
    l *= correction;
    for (var e = 0u; e < DPI; e++) { acc[e] *= correction; }
    for (var j = 0u; j < count; j++) {
      let p = exp(s_tile[j] - m_new);
      l += p;
      let row = (k0 + j) * width + v_col;
      for (var e = 0u; e < DPI; e++) {
        let d = lid + e * WG;
        if (d < hd) { acc[e] += p * cache[row + d]; }
      }
    }
    m = m_new;
    workgroupBarrier();
  }
  for (var e = 0u; e < DPI; e++) {
    let d = lid + e * WG;
    if (d < hd) { out[(r * params.heads + h) * hd + d] = acc[e] / l; }
  }
}
