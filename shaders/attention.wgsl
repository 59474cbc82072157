// Causal attention over a "shared-prompt" batch, with grouped-query heads.
//
// All rows of a scoring batch (each prompt's tokens, then each action's tokens) live in one buffer. A row
// attends to the keys of at most two contiguous row segments, given per row as (start1, len1, start2, len2):
//   a prompt row i:            [p0, p0 + i + 1)              and nothing
//   row j of an action:        [p0, p0 + prompt_len)         and [a0, a0 + j + 1)
// so every action continues the one shared prompt, which is computed once, and never sees other actions.
// A separate sequence (the original method: prompt + action as its own sequence) is just segment 1.
//
//   out[r, h, :] = sum_k softmax_k(q[r, h] . k[k, g] * scale) v[k, g],   g = h / (H / KVH)
//
// Shapes: qkv [R, (H + 2*KVH) * hd] f32 (Q, K, V heads fused, RoPE already applied); segments [R, 4] u32;
// out [R, H * hd] f32. One workgroup per (row, head); keys go in chunks of WG, one key per thread, with an
// online (running max) softmax so any number of keys works in fixed shared memory.

struct Params {
  rows: u32,
  heads: u32,       // H
  kv_heads: u32,    // KVH
  head_dim: u32,    // hd <= 256
  scale: f32,       // hd^-0.5
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> segments: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> q_s: array<f32, 256>;
var<workgroup> p_s: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

// Row index of the k-th key of row r's key list (segment 1 then segment 2).
fn key_row(seg: vec4<u32>, k: u32) -> u32 {
  if (k < seg.y) { return seg.x + k; }
  return seg.z + (k - seg.y);
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let g = h / (params.heads / params.kv_heads);
  let k_off = params.heads * hd + g * hd;
  let v_off = (params.heads + params.kv_heads) * hd + g * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;

  for (var d = lid; d < hd; d += WG) { q_s[d] = qkv[r * stride + h * hd + d]; }
  workgroupBarrier();

  // Each thread accumulates the output dims d = lid, lid + WG, ... (hd <= 256: at most 4 per thread).
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  var running_max = -3.4e38;
  var running_sum = 0.0;

  for (var k0 = 0u; k0 < n_keys; k0 += WG) {
    // 1. One score per thread.
    let k = k0 + lid;
    var score = -3.4e38;
    if (k < n_keys) {
      let kr = key_row(seg, k);
      var dot = 0.0;
      for (var d = 0u; d < hd; d++) { dot += q_s[d] * qkv[kr * stride + k_off + d]; }
      score = dot * params.scale;
    }
    // 2. Chunk max.
    red[lid] = score;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
      if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
      workgroupBarrier();
    }
    let new_max = max(running_max, red[0]);
    workgroupBarrier();
    // 3. Probabilities relative to the new max; rescale what was accumulated so far.
    var p = 0.0;
    if (k < n_keys) { p = exp(score - new_max); }
    p_s[lid] = p;
    red[lid] = p;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
      if (lid < s) { red[lid] += red[lid + s]; }
      workgroupBarrier();
    }
    let correction = exp(running_max - new_max);
    running_sum = running_sum * correction + red[0];
    running_max = new_max;
    let chunk = min(WG, n_keys - k0);
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i] * correction;
        for (var j = 0u; j < chunk; j++) {
          a += p_s[j] * qkv[key_row(seg, k0 + j) * stride + v_off + d];
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * WG;
    if (d < hd) { out[r * params.heads * hd + h * hd + d] = acc[i] / running_sum; }
  }
}
