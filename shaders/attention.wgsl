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

// The forward of one (row r, head h) by one workgroup; returns the row's log-sum-exp of the scaled scores
// (the same value in every thread), which the backward needs.
fn attention_row(r: u32, h: u32, lid: u32) -> f32 {
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
  return running_max + log(running_sum);
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = attention_row(wid.x, wid.y, lid);
}

// The forward that also keeps lse[r, h] (binding 5, declared with the backward below). The backward's
// per-layer recomputation runs this one, so attention_backward_delta need not walk the keys again: the value
// is the one attention_backward_rowstats computes, by the same operations in the same order.
@compute @workgroup_size(WG)
fn attention_forward_lse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row_lse = attention_row(wid.x, wid.y, lid);
  if (lid == 0u) { lse[wid.x * params.heads + wid.y] = row_lse; }
}

// ---------------------------------------------------------------------------------------------------------
// Backward, in three kernels (FlashAttention's formulation, which needs no stored probability matrix).
// The forward computed, per row r and head h, p_k = softmax_k(s q.k_k) over the row's keys and
// out = sum_k p_k v_k. With dout = dL/dout:
//   lse[r, h]   = log sum_k exp(s q.k_k)          delta[r, h] = dout . out
//   ds_k        = p_k (dout . v_k - delta)
//   dq          = s sum_k ds_k k_k                                      (attention_backward_dq)
//   dk_k       += s ds_k q,   dv_k += p_k dout   over every (row, head) reading key k (attention_backward_dkv)
// Key rows are shared by many query rows (every action reads the whole prompt), so dK and dV are computed per
// key row from its list of readers (CSR: readers[reader_offsets[k] .. reader_offsets[k + 1]]), not scattered.
// Shapes: dout [R, H hd]; lse, delta [R, H]; dqkv [R, (H + 2 KVH) hd] (Q, K, V gradients, overwritten).

@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(8) var<storage, read> reader_offsets: array<u32>;
@group(0) @binding(9) var<storage, read> readers: array<u32>;

var<workgroup> ds_s: array<f32, WG>;

fn load_q(r: u32, h: u32, stride: u32, lid: u32) {
  for (var d = lid; d < params.head_dim; d += WG) { q_s[d] = qkv[r * stride + h * params.head_dim + d]; }
  workgroupBarrier();
}

fn block_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  return m;
}

fn block_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

// lse and delta per (row, head); one workgroup each.
@compute @workgroup_size(WG)
fn attention_backward_rowstats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let k_off = params.heads * hd + (h / (params.heads / params.kv_heads)) * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;
  load_q(r, h, stride, lid);
  var running_max = -3.4e38;
  var running_sum = 0.0;
  for (var k0 = 0u; k0 < n_keys; k0 += WG) {
    let k = k0 + lid;
    var score = -3.4e38;
    if (k < n_keys) {
      let kr = key_row(seg, k);
      var dot = 0.0;
      for (var d = 0u; d < hd; d++) { dot += q_s[d] * qkv[kr * stride + k_off + d]; }
      score = dot * params.scale;
    }
    let new_max = max(running_max, block_max(lid, score));
    var e = 0.0;
    if (k < n_keys) { e = exp(score - new_max); }
    running_sum = running_sum * exp(running_max - new_max) + block_sum(lid, e);
    running_max = new_max;
  }
  var dot_out = 0.0;
  let o = r * params.heads * hd + h * hd;
  for (var d = lid; d < hd; d += WG) { dot_out += dout[o + d] * out[o + d]; }
  let dsum = block_sum(lid, dot_out);
  if (lid == 0u) {
    lse[r * params.heads + h] = running_max + log(running_sum);
    delta[r * params.heads + h] = dsum;
  }
}

// delta alone per (row, head), when attention_forward_lse has written lse (the training path).
@compute @workgroup_size(WG)
fn attention_backward_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let hd = params.head_dim;
  var dot_out = 0.0;
  let o = r * params.heads * hd + h * hd;
  for (var d = lid; d < hd; d += WG) { dot_out += dout[o + d] * out[o + d]; }
  let dsum = block_sum(lid, dot_out);
  if (lid == 0u) { delta[r * params.heads + h] = dsum; }
}

// dq per (row, head): keys in chunks of WG, one key per thread, then each thread sums its output dims.
@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let g = h / (params.heads / params.kv_heads);
  let k_off = params.heads * hd + g * hd;
  let v_off = (params.heads + params.kv_heads) * hd + g * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;
  let o = r * params.heads * hd + h * hd;
  let row_lse = lse[r * params.heads + h];
  let row_delta = delta[r * params.heads + h];
  load_q(r, h, stride, lid);
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var k0 = 0u; k0 < n_keys; k0 += WG) {
    let k = k0 + lid;
    var ds = 0.0;
    if (k < n_keys) {
      let kr = key_row(seg, k);
      var qk = 0.0;
      var dv = 0.0;
      for (var d = 0u; d < hd; d++) {
        qk += q_s[d] * qkv[kr * stride + k_off + d];
        dv += dout[o + d] * qkv[kr * stride + v_off + d];
      }
      ds = exp(qk * params.scale - row_lse) * (dv - row_delta);
    }
    ds_s[lid] = ds;
    workgroupBarrier();
    let chunk = min(WG, n_keys - k0);
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i];
        for (var j = 0u; j < chunk; j++) { a += ds_s[j] * qkv[key_row(seg, k0 + j) * stride + k_off + d]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * WG;
    if (d < hd) { dqkv[r * stride + h * hd + d] = params.scale * acc[i]; }
  }
}

var<workgroup> p_pair: array<f32, WG>;
var<workgroup> row_pair: array<u32, WG>;
var<workgroup> head_pair: array<u32, WG>;

// dk and dv per (key row, kv head): the (reader row, query head) pairs in chunks of WG, one per thread.
@compute @workgroup_size(WG)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let kr = wid.x;
  let g = wid.y;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let group = params.heads / params.kv_heads;
  let k_off = params.heads * hd + g * hd;
  let v_off = (params.heads + params.kv_heads) * hd + g * hd;
  let first = reader_offsets[kr];
  let n_pairs = (reader_offsets[kr + 1u] - first) * group;
  var acc_k = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  var acc_v = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var i0 = 0u; i0 < n_pairs; i0 += WG) {
    let i = i0 + lid;
    var ds = 0.0;
    var p = 0.0;
    var r = 0u;
    var h = 0u;
    if (i < n_pairs) {
      r = readers[first + i / group];
      h = g * group + i % group;
      let q = r * stride + h * hd;
      let o = r * params.heads * hd + h * hd;
      var qk = 0.0;
      var dv = 0.0;
      for (var d = 0u; d < hd; d++) {
        qk += qkv[q + d] * qkv[kr * stride + k_off + d];
        dv += dout[o + d] * qkv[kr * stride + v_off + d];
      }
      p = exp(qk * params.scale - lse[r * params.heads + h]);
      ds = p * (dv - delta[r * params.heads + h]);
    }
    ds_s[lid] = ds;
    p_pair[lid] = p;
    row_pair[lid] = r;
    head_pair[lid] = h;
    workgroupBarrier();
    let chunk = min(WG, n_pairs - i0);
    for (var c = 0u; c < 4u; c++) {
      let d = lid + c * WG;
      if (d < hd) {
        var ak = acc_k[c];
        var av = acc_v[c];
        for (var j = 0u; j < chunk; j++) {
          let rr = row_pair[j];
          let hh = head_pair[j];
          ak += ds_s[j] * qkv[rr * stride + hh * hd + d];
          av += p_pair[j] * dout[rr * params.heads * hd + hh * hd + d];
        }
        acc_k[c] = ak;
        acc_v[c] = av;
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * WG;
    if (d < hd) {
      dqkv[kr * stride + k_off + d] = params.scale * acc_k[c];
      dqkv[kr * stride + v_off + d] = acc_v[c];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Thread variants: one invocation per (row, head) (per (key row, kv head) for dK/dV) walks all its keys
// (readers) alone, with the online softmax rescaled key by key. No shared memory, no barriers: on a
// CPU-emulated GPU (SwiftShader) a workgroup barrier costs more than a small head's arithmetic, so these are
// many times faster there for small head_dim (kernels/forward-ops.ts and backward-ops.ts pick by head_dim,
// <= HD_MAX). Same math as above; sums run in another order (float rounding). Invocation i = gid.x +
// gid.y * nwg.x * WG; i = row * heads + head, so neighbouring invocations share their rows' keys.

const HD_MAX: u32 = 64u;

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// out[r, h, :] for one (row, head); returns the row's log-sum-exp of the scaled scores.
fn attention_row_thread(r: u32, h: u32) -> f32 {
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let g = h / (params.heads / params.kv_heads);
  let k_off = params.heads * hd + g * hd;
  let v_off = (params.heads + params.kv_heads) * hd + g * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;
  var q: array<f32, HD_MAX>;
  var acc: array<f32, HD_MAX>;
  for (var d = 0u; d < hd; d++) {
    q[d] = qkv[r * stride + h * hd + d];
    acc[d] = 0.0;
  }
  var running_max = -3.4e38;
  var running_sum = 0.0;
  for (var k = 0u; k < n_keys; k++) {
    let kr = key_row(seg, k) * stride;
    var dot = 0.0;
    for (var d = 0u; d < hd; d++) { dot += q[d] * qkv[kr + k_off + d]; }
    let score = dot * params.scale;
    // One exp per key: the larger of (score, running max) becomes the max; the other side is scaled by e.
    let e = exp(-abs(score - running_max));
    let grows = score > running_max;
    let correction = select(1.0, e, grows);
    let p = select(e, 1.0, grows);
    running_max = max(running_max, score);
    running_sum = running_sum * correction + p;
    for (var d = 0u; d < hd; d++) { acc[d] = acc[d] * correction + p * qkv[kr + v_off + d]; }
  }
  let o = r * params.heads * hd + h * hd;
  for (var d = 0u; d < hd; d++) { out[o + d] = acc[d] / running_sum; }
  return running_max + log(running_sum);
}

@compute @workgroup_size(WG)
fn attention_forward_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.heads) { return; }
  _ = attention_row_thread(i / params.heads, i % params.heads);
}

@compute @workgroup_size(WG)
fn attention_forward_lse_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.heads) { return; }
  lse[i] = attention_row_thread(i / params.heads, i % params.heads);
}

fn delta_thread(i: u32) -> f32 {
  let hd = params.head_dim;
  let o = i * hd; // (r * heads + h) * hd
  var dot_out = 0.0;
  for (var d = 0u; d < hd; d++) { dot_out += dout[o + d] * out[o + d]; }
  return dot_out;
}

@compute @workgroup_size(WG)
fn attention_backward_rowstats_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.heads) { return; }
  let r = i / params.heads;
  let h = i % params.heads;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let k_off = params.heads * hd + (h / (params.heads / params.kv_heads)) * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;
  let q = r * stride + h * hd;
  var running_max = -3.4e38;
  var running_sum = 0.0;
  for (var k = 0u; k < n_keys; k++) {
    let kr = key_row(seg, k) * stride;
    var dot = 0.0;
    for (var d = 0u; d < hd; d++) { dot += qkv[q + d] * qkv[kr + k_off + d]; }
    let score = dot * params.scale;
    let e = exp(-abs(score - running_max));
    let grows = score > running_max;
    running_sum = running_sum * select(1.0, e, grows) + select(e, 1.0, grows);
    running_max = max(running_max, score);
  }
  lse[i] = running_max + log(running_sum);
  delta[i] = delta_thread(i);
}

@compute @workgroup_size(WG)
fn attention_backward_delta_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.heads) { return; }
  delta[i] = delta_thread(i);
}

@compute @workgroup_size(WG)
fn attention_backward_dq_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.heads) { return; }
  let r = i / params.heads;
  let h = i % params.heads;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let g = h / (params.heads / params.kv_heads);
  let k_off = params.heads * hd + g * hd;
  let v_off = (params.heads + params.kv_heads) * hd + g * hd;
  let seg = vec4<u32>(segments[4u * r], segments[4u * r + 1u], segments[4u * r + 2u], segments[4u * r + 3u]);
  let n_keys = seg.y + seg.w;
  let row_lse = lse[i];
  let row_delta = delta[i];
  var q: array<f32, HD_MAX>;
  var dout_r: array<f32, HD_MAX>;
  var acc: array<f32, HD_MAX>;
  for (var d = 0u; d < hd; d++) {
    q[d] = qkv[r * stride + h * hd + d];
    dout_r[d] = dout[i * hd + d];
    acc[d] = 0.0;
  }
  for (var k = 0u; k < n_keys; k++) {
    let kr = key_row(seg, k) * stride;
    var qk = 0.0;
    var dv = 0.0;
    for (var d = 0u; d < hd; d++) {
      qk += q[d] * qkv[kr + k_off + d];
      dv += dout_r[d] * qkv[kr + v_off + d];
    }
    let ds = exp(qk * params.scale - row_lse) * (dv - row_delta);
    for (var d = 0u; d < hd; d++) { acc[d] += ds * qkv[kr + k_off + d]; }
  }
  for (var d = 0u; d < hd; d++) { dqkv[r * stride + h * hd + d] = params.scale * acc[d]; }
}

@compute @workgroup_size(WG)
fn attention_backward_dkv_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= params.rows * params.kv_heads) { return; }
  let kr = i / params.kv_heads;
  let g = i % params.kv_heads;
  let hd = params.head_dim;
  let stride = (params.heads + 2u * params.kv_heads) * hd;
  let group = params.heads / params.kv_heads;
  let k_off = kr * stride + params.heads * hd + g * hd;
  let v_off = kr * stride + (params.heads + params.kv_heads) * hd + g * hd;
  var kk: array<f32, HD_MAX>;
  var vv: array<f32, HD_MAX>;
  var acc_k: array<f32, HD_MAX>;
  var acc_v: array<f32, HD_MAX>;
  for (var d = 0u; d < hd; d++) {
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
      let q = r * stride + h * hd;
      let o = (r * params.heads + h) * hd;
      var qk = 0.0;
      var dv = 0.0;
      for (var d = 0u; d < hd; d++) {
        qk += qkv[q + d] * kk[d];
        dv += dout[o + d] * vv[d];
      }
      let p = exp(qk * params.scale - lse[r * params.heads + h]);
      let ds = p * (dv - delta[r * params.heads + h]);
      for (var d = 0u; d < hd; d++) {
        acc_k[d] += ds * qkv[q + d];
        acc_v[d] += p * dout[o + d];
      }
    }
  }
  for (var d = 0u; d < hd; d++) {
    dqkv[k_off + d] = params.scale * acc_k[d];
    dqkv[v_off + d] = acc_v[d];
  }
}
