/**
 * Attention's forward and backward dispatch (shaders/attention.wgsl), over a scoring layout's rows with their
 * two key segments each (scoring-layout.ts), grouped-query heads. CPU reference: reference/attention.ts.
 *
 *   forward   out [R, H hd], lse [R, H] (kept for the backward) from qkv [R, (H + 2 KVH) hd]
 *   backward  dqkv [R, (H + 2 KVH) hd] from dout [R, H hd], the forward's out and lse; delta [R, H] scratch
 *
 * Two implementations, chosen by head_dim (attentionVariant), never by device:
 *   'flash'   FlashAttention-2. The forward and dQ: a workgroup owns BQ = 16 queries of one kv head's group
 *             (rows x the G query heads sharing a K/V head, so one K/V tile serves them all) and loops over key
 *             tiles staged in workgroup memory, with an online softmax; dK/dV: a workgroup owns 16 key rows and
 *             loops over the query tiles that read them (flashReaders: the key-reader lists at block
 *             granularity). No invocation loops over more than a tile.
 *   'thread'  one invocation per (row, head), or per (key row, kv head) for dK/dV, walks all of that row's keys
 *             (readers) alone with the head in registers: no barriers, which is what a CPU-emulated GPU wants
 *             for the test models' tiny heads (see ATTENTION_THREAD_MAX_HEAD_DIM).
 * Tile sizes follow from head_dim alone (flashTiles) and fit the 16 KiB of workgroup memory every WebGPU
 * device has, so every device runs the same tiles and computes the same sums. The backward's flash tiles hold
 * f16 where the pipeline cache takes f16 (PipelineCache.f16: the engine's one precision decision, which its
 * matrix products follow too), f32 elsewhere; the forward's stay f32 (ATTENTION_FORWARD_F16_TILES); products and
 * softmax statistics are f32 in all.
 */
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelCost } from '../../../gpu/kernel';
import type { PipelineCache } from '../../../gpu/pipelines';
import { keyReaders } from '../scoring-layout';

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

export interface AttentionShape {
  /** R: rows of the layout. */
  rows: number;
  /** H query heads, KVH key/value heads (H a multiple of KVH), hd head dim. */
  heads: number;
  kvHeads: number;
  headDim: number;
}

export type AttentionVariant = 'flash' | 'thread';

/**
 * Head dims up to this take the thread kernels by default: the micro and test models (hd 8 to 32), whose
 * per-(row, head) work is a few hundred flops per key, less than a workgroup barrier costs on a CPU-emulated GPU
 * (measured, hd 16, 100 rows: the thread kernels 2.9x faster forward and 1.7x backward than flash on SwiftShader).
 * Real models (hd 64 and 128) take the flash kernels, which read each K/V row once per 16 queries instead of once
 * per (row, head). attention.wgsl's HD_MAX bounds it.
 */
export const ATTENTION_THREAD_MAX_HEAD_DIM = 32;
/** The flash kernels keep ceil(hd / 4) dims per invocation in registers, at most attention.wgsl's DPL_MAX = 64. */
export const ATTENTION_MAX_HEAD_DIM = 256;

// attention.wgsl's workgroup geometry: WG invocations, LANES per query (forward, dQ) or key (dK/dV).
const WG = 64;
const LANES = 4;
/** Queries per forward / dQ workgroup, keys per dK/dV workgroup. */
export const FLASH_QUERY_BLOCK = WG / LANES;
export const FLASH_KEY_BLOCK = WG / LANES;
const WORKGROUP_BYTES = 16384;
const MAX_TILE = 32;

export interface AttentionOptions {
  /** Default: attentionVariant(headDim). */
  variant?: AttentionVariant;
  /**
   * Flash K/V (forward, dQ) and Q/dout (dK/dV) tiles in f16 workgroup memory, products and softmax statistics
   * in f32; needs `shader-f16`. The thread kernels have no tiles and ignore it. Tiles keep their f32 sizes, so
   * both precisions walk the same blocks (and share reader lists). Measured on lavapipe: log-probs of 4-layer
   * random models within 4e-3 of the CPU reference (f32 tiles: 1e-5), inside the 2e-2 tolerance.
   * Default: the pipeline cache's precision (PipelineCache.f16), the one the matrix products take, for the
   * backward's tiles; f32 for the forward's (ATTENTION_FORWARD_F16_TILES says why).
   */
  f16?: boolean;
}

/**
 * Whether the forward's K/V tiles follow the engine's f16 decision as the backward's do. No, by measurement on
 * lavapipe (f16 forced, max |action log-prob - CPU| over random test models, f16.gpu.test.ts and
 * matmul-kernels.gpu.test.ts): with f16 forward tiles on top of the f16 matrix products the error exceeded issue
 * 14's 2e-2 on two of five models (2.11e-2 on a 3-prompt batch, 2.83e-2), against 1.48e-2 and 1.7e-2 with f32
 * forward tiles; the tiles alone (f32 products) gave 3.2e-3, but the f16 products already take most of the
 * bound. The backward's f16 tiles (dQ, dK/dV) leave the LoRA gradients within 4.8e-3 of the CPU's, inside the
 * 2e-2 the f16 products justify. So scoring, the training forward and the backward's recompute keep f32 tiles.
 */
export const ATTENTION_FORWARD_F16_TILES = false;

/** What attention runs on a pipeline cache, for `kernels` reports (engine.ts kernelInfo). */
export interface AttentionKernelInfo {
  /** 'flash' or 'thread' (attentionVariant, by head_dim); 'kv_cache' for generation (kernels/kv-cache.ts). */
  kernel: AttentionVariant | 'kv_cache';
  /**
   * The precision of the forward's and the backward's tiles in workgroup memory (flash: K/V, and Q/dout for
   * dK/dV); products and softmax statistics are f32 in both. null: no tiles (the thread kernels; generation has
   * no backward).
   */
  forwardTiles: 'f16' | 'f32' | null;
  backwardTiles: 'f16' | 'f32' | null;
}

/**
 * Whether attention's tiles are f16 for one pass: `options.f16` where given, else the pipeline cache's f16
 * decision for the backward and ATTENTION_FORWARD_F16_TILES with it for the forward. Only the flash kernels
 * have tiles.
 */
function tilesF16(
  pipelines: PipelineCache,
  variant: AttentionVariant,
  options: AttentionOptions,
  pass: 'forward' | 'backward',
): boolean {
  const followsEngine = pass === 'backward' || ATTENTION_FORWARD_F16_TILES;
  return variant === 'flash' && (options.f16 ?? (followsEngine && pipelines.f16));
}

/** The attention kernels the scoring and training passes of heads of `headDim` take on `pipelines`. */
export function attentionKernelInfo(pipelines: PipelineCache, headDim: number): AttentionKernelInfo {
  const kernel = attentionVariant(headDim);
  if (kernel === 'thread') return { kernel, forwardTiles: null, backwardTiles: null };
  const tiles = (pass: 'forward' | 'backward') => (tilesF16(pipelines, kernel, {}, pass) ? 'f16' : 'f32');
  return { kernel, forwardTiles: tiles('forward'), backwardTiles: tiles('backward') };
}

export function attentionVariant(headDim: number, forced?: AttentionVariant): AttentionVariant {
  return forced ?? (headDim <= ATTENTION_THREAD_MAX_HEAD_DIM ? 'thread' : 'flash');
}

export interface FlashTiles {
  /** BK: keys per tile of the forward. */
  forwardKeys: number;
  /** BK: keys per tile of dQ (K and V tiles at once). */
  dqKeys: number;
  /** BQT: queries per tile of dK/dV. */
  dkvQueries: number;
}

/**
 * The largest power-of-two tiles (up to 32) whose workgroup memory fits 16 KiB, from attention.wgsl's
 * declarations: forward K/V tile [BK, hd] + lane partials [BK, 64]; dQ K and V tiles + two partials; dK/dV Q and
 * dout tiles [BQT, hd], two partials [BQT, 64], and per query its segments, lse and delta (24 bytes).
 * hd 64: 32, 16, 8; hd 128: 16, 8, 8.
 */
export function flashTiles(headDim: number): FlashTiles {
  const largest = (bytesPerUnit: number) => {
    let n = MAX_TILE;
    while (n > 1 && n * bytesPerUnit > WORKGROUP_BYTES) n /= 2;
    return n;
  };
  return {
    forwardKeys: largest(4 * (headDim + WG)),
    dqKeys: largest(8 * (headDim + WG)),
    dkvQueries: largest(8 * (headDim + WG) + 24),
  };
}

function check(
  device: GPUDevice,
  s: AttentionShape,
  segments: ArrayLike<number>,
  variant: AttentionVariant,
  f16: boolean,
  what: string,
): void {
  if (s.heads % s.kvHeads !== 0)
    throw new Error(`${what}: ${s.heads} heads is not a multiple of ${s.kvHeads} kv heads`);
  if (s.headDim > ATTENTION_MAX_HEAD_DIM)
    throw new Error(`${what}: head_dim ${s.headDim} > ${ATTENTION_MAX_HEAD_DIM} is not supported`);
  if (variant === 'thread' && s.headDim > ATTENTION_THREAD_MAX_HEAD_DIM) {
    throw new Error(`${what}: the thread variant takes head_dim <= ${ATTENTION_THREAD_MAX_HEAD_DIM}, got ${s.headDim}`);
  }
  if (segments.length !== 4 * s.rows)
    throw new Error(`${what}: ${segments.length / 4} rows of segments for ${s.rows} rows`);
  if (f16 && variant === 'flash' && !device.features.has('shader-f16')) {
    throw new Error(`${what}: f16 tiles need a device with the 'shader-f16' feature, which this one does not have`);
  }
}

/**
 * The key ranges a flash query block walks (attention.wgsl's block_key_ranges, the same rule): the span of its
 * rows' first segments and that of their second ones, merged where they overlap or touch.
 */
export function blockKeyRanges(
  segments: ArrayLike<number>,
  rowLo: number,
  rowHi: number,
): [number, number, number, number] {
  let [lo1, hi1, lo2, hi2] = [Infinity, 0, Infinity, 0];
  for (let r = rowLo; r < rowHi; r++) {
    const [s1, l1, s2, l2] = [segments[4 * r], segments[4 * r + 1], segments[4 * r + 2], segments[4 * r + 3]];
    if (l1 > 0) [lo1, hi1] = [Math.min(lo1, s1), Math.max(hi1, s1 + l1)];
    if (l2 > 0) [lo2, hi2] = [Math.min(lo2, s2), Math.max(hi2, s2 + l2)];
  }
  if (hi1 === 0) lo1 = 0;
  if (hi2 === 0) lo2 = 0;
  if (hi1 > 0 && hi2 > 0 && lo2 <= hi1 && lo1 <= hi2) return [Math.min(lo1, lo2), Math.max(hi1, hi2), 0, 0];
  return [lo1, hi1, lo2, hi2];
}

/** Key tiles of `keysPerTile` that all forward (or dQ) workgroups of one kv head walk together. */
function flashKeyTiles(
  segments: ArrayLike<number>,
  s: AttentionShape,
  keysPerTile: number,
): { tiles: number; blockRows: number } {
  const group = s.heads / s.kvHeads;
  const queries = s.rows * group;
  let tiles = 0;
  let blockRows = 0;
  for (let m0 = 0; m0 < queries; m0 += FLASH_QUERY_BLOCK) {
    const rowLo = Math.floor(m0 / group);
    const rowHi = Math.min(s.rows, Math.floor((m0 + FLASH_QUERY_BLOCK - 1) / group) + 1);
    const [lo1, hi1, lo2, hi2] = blockKeyRanges(segments, rowLo, rowHi);
    tiles += Math.ceil((hi1 - lo1) / keysPerTile) + Math.ceil((hi2 - lo2) / keysPerTile);
    blockRows += rowHi - rowLo;
  }
  return { tiles, blockRows };
}

/**
 * dK/dV's reader lists for the flash kernel, CSR: for key block b (rows b 16 .. b 16 + 15), the query tiles t
 * (queries t BQT .. t BQT + BQT - 1 of a kv head's group, numbered r G + j as in attention.wgsl) that hold a
 * row reading one of its keys, ascending: readers[offsets[b] .. offsets[b + 1]]. The same for every kv head.
 */
export function flashReaders(
  segments: ArrayLike<number>,
  rows: number,
  group: number,
  queriesPerTile: number,
): { offsets: Uint32Array; readers: Uint32Array } {
  const blocks = Math.ceil(rows / FLASH_KEY_BLOCK);
  const lists: number[][] = Array.from({ length: blocks }, () => []);
  // Rows ascend, so each block's tiles arrive in ascending order: a new tile is one above the list's last.
  const add = (block: number, tileLo: number, tileHi: number) => {
    const list = lists[block];
    for (let t = Math.max(tileLo, (list.at(-1) ?? -1) + 1); t <= tileHi; t++) list.push(t);
  };
  for (let r = 0; r < rows; r++) {
    const tileLo = Math.floor((r * group) / queriesPerTile);
    const tileHi = Math.floor((r * group + group - 1) / queriesPerTile);
    for (const [start, len] of [
      [segments[4 * r], segments[4 * r + 1]],
      [segments[4 * r + 2], segments[4 * r + 3]],
    ]) {
      if (len === 0) continue;
      const last = Math.floor((start + len - 1) / FLASH_KEY_BLOCK);
      for (let b = Math.floor(start / FLASH_KEY_BLOCK); b <= last; b++) add(b, tileLo, tileHi);
    }
  }
  const offsets = new Uint32Array(blocks + 1);
  lists.forEach((l, b) => (offsets[b + 1] = offsets[b] + l.length));
  return { offsets, readers: Uint32Array.from(lists.flat()) };
}

/**
 * The reader lists attentionBackwardCalls' dK/dV takes for this shape (upload them as its readerOffsets and
 * readers): flashReaders, or for the thread variant every key row's reader rows (scoring-layout.ts keyReaders).
 */
export function attentionReaders(
  segments: ArrayLike<number>,
  s: AttentionShape,
  variant?: AttentionVariant,
): { offsets: Uint32Array; readers: Uint32Array } {
  if (attentionVariant(s.headDim, variant) === 'thread') return keyReaders(segments, s.rows);
  return flashReaders(segments, s.rows, s.heads / s.kvHeads, flashTiles(s.headDim).dkvQueries);
}

/**
 * Words of the readers list (attentionReaders) that any layout of `s.rows` rows with at most `keys` key readers
 * (the sum over rows of the keys each reads) can need: a static plan's room for it. Thread: one word per key
 * reader. Flash: one per (key block, query tile) pair; every pair has a row that reads a key of the block, and a
 * row's G queries span at most ceil(G / BQT) + 1 tiles, so there are at most keys (ceil(G / BQT) + 1) pairs,
 * and never more than blocks x tiles.
 */
export function attentionReaderCapacity(s: AttentionShape, keys: number, variant?: AttentionVariant): number {
  if (attentionVariant(s.headDim, variant) === 'thread') return keys;
  const group = s.heads / s.kvHeads;
  const bqt = flashTiles(s.headDim).dkvQueries;
  const pairs = Math.ceil(s.rows / FLASH_KEY_BLOCK) * Math.ceil((s.rows * group) / bqt);
  return Math.min(pairs, keys * (Math.ceil(group / bqt) + 1));
}

function totalKeys(segments: ArrayLike<number>, rows: number): number {
  let keys = 0;
  for (let r = 0; r < rows; r++) keys += segments[4 * r + 1] + segments[4 * r + 3];
  return keys;
}

/**
 * What each dispatch computes and moves, from the tiles the kernels walk (bench's GFLOP/s and GB/s). Flash:
 * every tile's arithmetic, masked keys and the last block's padding included (2 flops per multiply-add), K/V
 * (or Q/dout) tiles read once per block that walks them; thread: each (row, head) reads its keys' K and V rows.
 * forward: attention_forward_lse (attention_forward without `keepLse`); backward: attentionBackwardCalls' calls.
 */
export function attentionCosts(
  segments: ArrayLike<number>,
  s: AttentionShape,
  variant?: AttentionVariant,
  readers: { offsets: Uint32Array; readers: Uint32Array } = attentionReaders(segments, s, variant),
  keepLse = true,
): { forward: KernelCost; backward: KernelCost[] } {
  const { rows: R, heads: H, kvHeads: KVH, headDim: hd } = s;
  const rowBytes = 4 * R * H * hd; // one [R, H hd] tensor: q, out, dout or dq
  const statBytes = 4 * R * H; // lse or delta
  const lseBytes = keepLse ? statBytes : 0;
  const pairs = readers.readers.length;
  const indexBytes = 4 * (readers.offsets.length + pairs);
  if (attentionVariant(s.headDim, variant) === 'thread') {
    const keys = totalKeys(segments, R);
    const kv = 4 * keys * H * hd; // one K or V row per (key, head)
    return {
      forward: { flops: 4 * keys * H * hd, bytes: 2 * kv + 2 * rowBytes + lseBytes + 16 * R },
      backward: [
        { flops: 2 * R * H * hd, bytes: 2 * rowBytes + statBytes },
        // q.k, dout.v and ds k per key: K twice, V once.
        { flops: 6 * keys * H * hd, bytes: 3 * kv + 3 * rowBytes + 2 * statBytes + 16 * R },
        // Per (reader, head): q.k, dout.v, dk and dv updates, the reader's q and dout rows read twice.
        { flops: 8 * keys * H * hd, bytes: 4 * kv + 2 * keys * 4 * H + indexBytes + 16 * R * KVH * hd },
      ],
    };
  }
  const tiles = flashTiles(hd);
  const fwd = flashKeyTiles(segments, s, tiles.forwardKeys);
  const dq = flashKeyTiles(segments, s, tiles.dqKeys);
  const bqt = tiles.dkvQueries;
  return {
    // Per kv head and tile: S = Q K^T and O += P V over 16 queries.
    forward: {
      flops: KVH * fwd.tiles * tiles.forwardKeys * FLASH_QUERY_BLOCK * hd * 4,
      bytes:
        KVH * (fwd.tiles * tiles.forwardKeys * hd * 2 * 4 + fwd.blockRows * 16) + 2 * rowBytes + lseBytes + 16 * R * H,
    },
    backward: [
      // Per kv head and tile: S = Q K^T, dP = dO V^T, dQ += dS K over 16 queries; delta = dout . out.
      {
        flops: KVH * dq.tiles * tiles.dqKeys * FLASH_QUERY_BLOCK * hd * 6 + 2 * R * H * hd,
        bytes:
          KVH * (dq.tiles * tiles.dqKeys * hd * 2 * 4 + dq.blockRows * 16) + 4 * rowBytes + 2 * statBytes + 16 * R * H,
      },
      // Per kv head and (key block, query tile): S^T = K Q^T, dP^T = V dO^T, dV += P^T dO, dK += dS^T Q over
      // 16 keys x BQT queries; the Q and dout tiles and each query's segments, lse and delta read per pair.
      {
        flops: KVH * pairs * FLASH_KEY_BLOCK * bqt * hd * 8,
        bytes: KVH * pairs * bqt * (hd * 2 * 4 + 24) + indexBytes + 4 * 4 * R * KVH * hd,
      },
    ],
  };
}

export interface AttentionForwardBuffers {
  qkv: GPUBuffer;
  segments: GPUBuffer;
  out: GPUBuffer;
  /** [R, H]: also keep each row's log-sum-exp (the training path; attentionBackwardCalls reads it). */
  lse?: GPUBuffer;
}

/**
 * attention.wgsl's forward: out [R, H hd] (and lse) from qkv rows and per-row key segments [R, 4].
 * `segments` is the host copy of b.segments (the cost is sized from the tiles the kernel walks).
 */
export async function attentionForwardCall(
  { device, pipelines }: Ctx,
  b: AttentionForwardBuffers,
  s: AttentionShape,
  segments: ArrayLike<number>,
  options: AttentionOptions = {},
): Promise<KernelCall> {
  const chosen = attentionVariant(s.headDim, options.variant);
  const f16 = tilesF16(pipelines, chosen, options, 'forward');
  check(device, s, segments, chosen, f16, 'attention');
  const { rows: R, heads: H, kvHeads: KVH, headDim: hd } = s;
  const entry = b.lse ? 'attention_forward_lse' : 'attention_forward';
  const params = { rows: R, heads: H, kv_heads: KVH, scale: 1 / Math.sqrt(hd) };
  const buffers = { qkv: b.qkv, segments: b.segments, out: b.out, ...(b.lse ? { lse: b.lse } : {}) };
  const noReaders = { offsets: new Uint32Array(0), readers: new Uint32Array(0) };
  const cost = attentionCosts(segments, s, chosen, noReaders, b.lse !== undefined).forward;
  if (chosen === 'thread') {
    const kernel = await pipelines.kernel('attention.wgsl', `${entry}_thread`, { constants: { HD: hd } });
    return kernelCall(device, kernel, {
      label: entry,
      params,
      buffers,
      workgroups: elementwiseWorkgroups(R * H),
      cost,
    });
  }
  const constants = { HD: hd, BK: flashTiles(hd).forwardKeys };
  const kernel = await pipelines.kernel('attention.wgsl', entry, { constants, defines: { F16: f16 } });
  const workgroups: [number, number] = [Math.ceil((R * H) / KVH / FLASH_QUERY_BLOCK), KVH];
  return kernelCall(device, kernel, { label: entry, params, buffers, workgroups, cost });
}

export interface AttentionBackwardBuffers {
  qkv: GPUBuffer;
  segments: GPUBuffer;
  /** The forward's out and lse (attentionForwardCall with lse, on the same qkv). */
  out: GPUBuffer;
  lse: GPUBuffer;
  dout: GPUBuffer;
  /** [R, H] scratch: dout . out. */
  delta: GPUBuffer;
  dqkv: GPUBuffer;
  /** attentionReaders(segments, shape), uploaded. */
  readerOffsets: GPUBuffer;
  readers: GPUBuffer;
}

/**
 * attention.wgsl's backward: dqkv (every Q, K, V slot overwritten) from dout, qkv and the forward's out and lse.
 * Flash: dQ (which also writes delta), then dK/dV; thread: delta, dQ, dK/dV. `segments` and `readers` are the
 * host copies of b.segments and of attentionReaders(segments, s) (b.readerOffsets, b.readers).
 */
export async function attentionBackwardCalls(
  { device, pipelines }: Ctx,
  b: AttentionBackwardBuffers,
  s: AttentionShape,
  segments: ArrayLike<number>,
  readers: { offsets: Uint32Array; readers: Uint32Array },
  options: AttentionOptions = {},
): Promise<KernelCall[]> {
  const chosen = attentionVariant(s.headDim, options.variant);
  const f16 = tilesF16(pipelines, chosen, options, 'backward');
  check(device, s, segments, chosen, f16, 'attention backward');
  const { rows: R, heads: H, kvHeads: KVH, headDim: hd } = s;
  const params = { rows: R, heads: H, kv_heads: KVH, scale: 1 / Math.sqrt(hd) };
  const cost = attentionCosts(segments, s, chosen, readers).backward;
  const kernel = (entry: string, constants: Record<string, number>) =>
    pipelines.kernel('attention.wgsl', entry, { constants, defines: { F16: f16 } });
  const index = { reader_offsets: b.readerOffsets, readers: b.readers };
  if (chosen === 'thread') {
    const perHead = elementwiseWorkgroups(R * H);
    const constants = { HD: hd };
    return [
      kernelCall(device, await kernel('attention_backward_delta_thread', constants), {
        label: 'attention_backward_delta',
        params,
        buffers: { out: b.out, dout: b.dout, delta: b.delta },
        workgroups: perHead,
        cost: cost[0],
      }),
      kernelCall(device, await kernel('attention_backward_dq_thread', constants), {
        label: 'attention_backward_dq',
        params,
        buffers: { qkv: b.qkv, segments: b.segments, dout: b.dout, lse: b.lse, delta: b.delta, dqkv: b.dqkv },
        workgroups: perHead,
        cost: cost[1],
      }),
      kernelCall(device, await kernel('attention_backward_dkv_thread', constants), {
        label: 'attention_backward_dkv',
        params,
        buffers: { qkv: b.qkv, dout: b.dout, lse: b.lse, delta: b.delta, dqkv: b.dqkv, ...index },
        workgroups: elementwiseWorkgroups(R * KVH),
        cost: cost[2],
      }),
    ];
  }
  const tiles = flashTiles(hd);
  return [
    kernelCall(device, await kernel('attention_backward_dq', { HD: hd, BK: tiles.dqKeys }), {
      label: 'attention_backward_dq',
      params,
      buffers: { qkv: b.qkv, segments: b.segments, out: b.out, dout: b.dout, lse: b.lse, delta: b.delta, dqkv: b.dqkv },
      workgroups: [Math.ceil((R * H) / KVH / FLASH_QUERY_BLOCK), KVH],
      cost: cost[0],
    }),
    kernelCall(device, await kernel('attention_backward_dkv', { HD: hd, BQT: tiles.dkvQueries }), {
      label: 'attention_backward_dkv',
      params,
      buffers: { qkv: b.qkv, segments: b.segments, dout: b.dout, lse: b.lse, delta: b.delta, dqkv: b.dqkv, ...index },
      workgroups: [Math.ceil(R / FLASH_KEY_BLOCK), KVH],
      cost: cost[1],
    }),
  ];
}
