/**
 * The real Scorer: the WebGPU LLaMA engine (src/llm/engine/engine.ts) in this worker, on a device of its own.
 * Models come over HTTP(S) from their MLC directory (the built-in micro model is served with the page).
 */
import { requestGpuContext, WebGpuUnavailableError, type GpuContext } from '../gpu/device';
import { LlamaEngine } from '../llm/engine/engine';
import { cacheSource } from '../llm/model/cache-source';
import { checkPickedModel, fileListSource } from '../llm/model/file-source';
import { urlSource } from '../llm/model/url-source';
import type { ModelSource } from '../llm/model/weights';
import type { ModelSpec } from './protocol';
import { ScorerUnavailableError, type Scorer, type ScorerLoader } from './agent-host';
import { ownLora, uploadLora, type LoraHandle } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import { askFreely } from '../llm/engine/generate';

/** The worker's GPU device, shared by the engines it loads; a new one is asked for once it is lost. */
let context: Promise<GpuContext> | null = null;

function gpuContext(): Promise<GpuContext> {
  if (context) return context;
  const made = requestContext().then((ctx) => {
    void ctx.device.lost.then(() => {
      if (context === made) context = null;
    });
    return ctx;
  });
  made.catch(() => {
    if (context === made) context = null;
  });
  context = made;
  return made;
}

async function requestContext(): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  try {
    return await requestGpuContext(gpu);
  } catch (error) {
    if (error instanceof WebGpuUnavailableError) throw new ScorerUnavailableError(error.message);
    throw error;
  }
}

/** Why a device was lost, in words: the browser's message ("Device was destroyed"), else its reason. */
function lossReason(info: GPUDeviceLostInfo): string {
  return (
    info.message.replace(/\.$/, '') || (info.reason === 'destroyed' ? 'the device was destroyed' : 'no reason given')
  );
}

/** A prompt and actions that exercise every kernel, so pipelines compile during loading, not at step 1. */
const WARM_UP = {
  prompt: 'You notice a tomato on the table. You should first',
  actions: ['pick up the tomato', 'serve nothing'],
};

/** Where the spec's files come from: its URL, the browser cache (web-llm's keys) or a picked folder. */
async function sourceOf(spec: ModelSpec): Promise<ModelSource> {
  if (spec.source === 'cache') return cacheSource(spec.url);
  if (spec.source === 'files') {
    const source = fileListSource(
      (spec.files ?? []).map(({ path, file }) => ({
        name: file.name,
        size: file.size,
        relativePath: path,
        arrayBuffer: () => file.arrayBuffer(),
      })),
    );
    await checkPickedModel(source);
    return source;
  }
  return urlSource(spec.url, { idleTimeoutMs: spec.idleTimeoutMs });
}

export const loadEngineScorer: ScorerLoader = async (spec, onProgress) => {
  const source = await sourceOf(spec);
  const gpu = await gpuContext();
  let bytes = 0;
  const engine = await LlamaEngine.load(gpu, source, {
    onProgress: (p) => {
      bytes = p.bytes;
      onProgress(p.bytesDone, p.bytes);
    },
  });
  try {
    await engine.forwardScores(engine.tokenize([WARM_UP]));
  } catch (error) {
    engine.dispose();
    throw error;
  }
  const scorer = engineScorer(engine);
  const { config } = engine;
  const a = gpu.adapterInfo;
  return {
    scorer,
    info: {
      layers: config.layers,
      hidden: config.hidden,
      vocabSize: config.vocabSize,
      contextWindow: config.contextWindow,
      quantization: config.quantization,
      bytes,
      software: gpu.isSoftware,
      adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'WebGPU adapter',
    },
  };
};

/**
 * The Scorer of a loaded engine (it owns the engine: dispose() frees it). Scoring is the engine's one path:
 * tokenize once, then forwardScores with the adapter in use.
 */
export function engineScorer(engine: LlamaEngine): Scorer {
  let lostReason: string | null = null;
  const lost = engine.gpu.device.lost.then((info) => (lostReason = lossReason(info)));
  const checkDevice = () => {
    if (lostReason) throw new Error(`the GPU device was lost (${lostReason})`);
  };
  // An uploaded adapter's plans on the engine go with it (a probe or a replaced adapter is not used again).
  const upload = (adapter: LoraAdapter): LoraHandle => {
    const handle = ownLora(uploadLora(engine.gpu.device, adapter));
    return {
      lora: handle.lora,
      release: () => {
        engine.releaseLora(handle.lora);
        handle.release();
      },
    };
  };
  const run = async (lora: LoraHandle | null, prompt: string, actions: readonly string[]) => {
    const batch = engine.tokenize([{ prompt, actions }]);
    const [scores] = await engine.forwardScores(batch, { lora: lora?.lora });
    return { scores, promptTokens: batch[0].promptTokens.length };
  };
  // The adapter in use: the trainer's own buffers (live, no copy) or an upload of a loaded file or link. The
  // host swaps it between scoring calls.
  let current: LoraHandle | null = null;
  return {
    shape: engine.config,
    engine,
    lost,
    async deviceWorks() {
      if (lostReason) return false;
      // A lost device rejects every mapAsync, a new buffer's too; a working one maps it once its queue is idle.
      const probe = engine.gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ });
      try {
        await probe.mapAsync(GPUMapMode.READ);
        probe.unmap();
        return true;
      } catch {
        return false;
      } finally {
        probe.destroy();
      }
    },
    async score(prompt, actions) {
      checkDevice();
      return run(current, prompt, actions);
    },
    async scoreWith(adapter, prompt, actions) {
      checkDevice();
      const probe = adapter ? upload(adapter) : null;
      try {
        return await run(probe, prompt, actions);
      } finally {
        probe?.release();
      }
    },
    async generate(prompt, actions, options) {
      checkDevice();
      const { base, adapted } = await askFreely(engine, { prompt, actions }, options, current?.lora ?? null);
      return { base, adapted };
    },
    async setAdapter(adapter, live) {
      try {
        checkDevice();
      } catch (error) {
        live?.release();
        throw error;
      }
      let next: LoraHandle | null = null;
      if (adapter && live) next = live;
      else {
        live?.release();
        if (adapter) next = upload(adapter);
      }
      current?.release();
      current = next;
    },
    dispose: () => {
      current?.release();
      current = null;
      engine.dispose();
    },
  };
}
