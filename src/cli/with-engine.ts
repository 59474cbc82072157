/**
 * The engine that generate, score and nlp-eval run on: the --model's weights on a Node WebGPU device of its own,
 * and the --adapter's LoRA uploaded beside them. Each frees what it made afterwards, also on a failure.
 */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import type { ModelSource } from '../llm/model/weights';
import { destroyLora, uploadLora, type GpuLora } from '../llm/train/gpu-lora';
import { bindAdapterFiles, type AdapterFiles } from './adapter-dir';

/** Runs `work` on the engine of `source`; disposes of the engine and destroys its device afterwards. */
export async function withEngine<T>(source: ModelSource, work: (engine: LlamaEngine) => Promise<T>): Promise<T> {
  const gpu = await requestNodeGpuContext();
  try {
    const engine = await LlamaEngine.load(gpu, source);
    try {
      return await work(engine);
    } finally {
      engine.dispose();
    }
  } finally {
    gpu.device.destroy();
  }
}

/**
 * Runs `work` with the adapter read from --adapter (null without the flag) bound to `engine`'s model, named
 * `modelId` in its errors, and uploaded to the engine's device; destroys the upload afterwards.
 */
export async function withAdapter<T>(
  engine: LlamaEngine,
  adapterFiles: AdapterFiles | null,
  modelId: string,
  work: (lora: GpuLora | null) => Promise<T>,
): Promise<T> {
  const adapter = adapterFiles ? bindAdapterFiles(adapterFiles, engine.config, modelId) : null;
  const lora = adapter ? uploadLora(engine.gpu.device, adapter) : null;
  try {
    return await work(lora);
  } finally {
    if (lora) destroyLora(lora);
  }
}
