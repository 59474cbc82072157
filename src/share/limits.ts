/**
 * Size caps of everything the adapter formats read, checked before the bytes are read or allocated, so a
 * hostile or corrupt file costs at most this much memory and time. Each can be raised per call.
 *
 * Why these numbers:
 * - An adapter for the largest catalog model (Llama-2-13B, 40 layers) on all seven targets at r = 16 in f32
 *   is 250 MB; the paper's 7B q,v r = 8 adapter is 16.8 MB. 512 MiB leaves room and still fits a browser tab.
 * - A PEFT header lists 2 tensors per target per layer, ~130 bytes each: 40 layers x 7 targets is ~73 KB,
 *   so 1 MiB is 14x that (the safetensors library itself allows 100 MB, far more than an adapter needs).
 * - adapter_config.json is ~1 KB as PEFT writes it; 64 KiB allows any future fields.
 * - The paper's critic on the largest catalog model (hidden 5120 -> 1024 -> 512 -> 1) is 23 MB in f32;
 *   64 MiB also holds one on a 16384-wide model.
 */
export const MiB = 1024 * 1024;

export interface AdapterLimits {
  /** Whole adapter_model.safetensors, header included. */
  maxWeightsBytes: number;
  /** Whole critic.safetensors. */
  maxCriticBytes: number;
  /** The safetensors JSON header (its declared length is checked before it is read). */
  maxHeaderBytes: number;
  /** Tensors in one safetensors file. */
  maxTensors: number;
  /** adapter_config.json. */
  maxConfigBytes: number;
  /** twosome.json in a bundle. */
  maxManifestBytes: number;
  /** metrics.jsonl in a bundle, and its line count. */
  maxMetricsBytes: number;
  maxMetricsLines: number;
  /** A whole bundle (.zip). */
  maxBundleBytes: number;
  /** LoRA rank, layers, and any one dimension of a projection. */
  maxRank: number;
  maxLayers: number;
  maxDim: number;
  /**
   * Largest |weight| accepted. LoRA and critic weights are O(1) (A starts within 1/sqrt(in), B at 0); a value
   * beyond this is a corrupt file, and would overflow the f16 arithmetic of the GPU kernels.
   */
  maxAbsWeight: number;
}

export const DEFAULT_LIMITS: Readonly<AdapterLimits> = Object.freeze({
  maxWeightsBytes: 512 * MiB,
  maxCriticBytes: 64 * MiB,
  maxHeaderBytes: 1 * MiB,
  maxTensors: 8192,
  maxConfigBytes: 64 * 1024,
  maxManifestBytes: 1 * MiB,
  maxMetricsBytes: 32 * MiB,
  maxMetricsLines: 200_000,
  maxBundleBytes: 768 * MiB,
  maxRank: 1024,
  maxLayers: 512,
  maxDim: 1 << 17,
  maxAbsWeight: 1e4,
});

export function limitsWith(overrides: Partial<AdapterLimits> | undefined): AdapterLimits {
  return { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
}

/**
 * Share links: the whole `#share=...` fragment is at most 32 KiB of characters. Fragments never reach a
 * server, so server limits (often 8 KB) do not apply; browsers allow far more (Chrome 2 MB, Firefox ~1 MB,
 * Safari ~80 K), but chat apps, mail clients and QR codes cut or refuse long links well before that. 32 KiB
 * fits the micro model's q,v r = 8 adapter in f32 (~18 K characters) and all-target adapters of it in int8,
 * and is safely below every browser's limit; larger adapters travel as `?adapter=https://...` (a bundle or
 * PEFT safetensors file served over https).
 */
export const SHARE_LINK_MAX_CHARS = 32 * 1024;
/** Decompressed body of a share link (deflate can expand 1000x: this bounds the work). */
export const SHARE_BODY_MAX_BYTES = 1 * MiB;
/** `?adapter=` URLs. */
export const ADAPTER_URL_MAX_CHARS = 2048;
