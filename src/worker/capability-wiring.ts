/**
 * Connects the capability check to the playground worker: the AgentHost's loaded engine (the model the
 * playground shows, never loaded twice), its GPU queue, and the adapter in use, uploaded once for the check
 * (the trainer may go on updating its own buffers meanwhile).
 */
import { uploadLora, destroyLora } from '../llm/train/gpu-lora';
import { enginePairedScorer, engineScorer } from '../nlp-eval';
import { noModelLoaded, type AgentHost } from './agent-host';
import { CapabilityHost, type CapabilityModel } from './capability-host';

export function capabilityModel(host: AgentHost): CapabilityModel {
  return {
    async scorers() {
      const status = await host.modelSettled();
      const loaded = host.loadedEngine();
      if (!loaded) {
        return { unavailable: `${noModelLoaded(status)}; the check scores the playground's model, so load one first` };
      }
      const { engine, modelId } = loaded;
      const current = host.currentAdapter();
      const lora = current ? await host.exclusive(async () => uploadLora(engine.gpu.device, current.adapter)) : null;
      return {
        modelId,
        tokenizer: engine.tokenizer,
        contextWindow: engine.config.contextWindow,
        base: engineScorer(engine),
        paired: lora ? enginePairedScorer(engine, lora) : null,
        adapterLabel: current?.label ?? null,
        isCurrent: () => host.loadedEngine()?.engine === engine,
        // In the queue: after the last pass that used it.
        release: () => void host.exclusive(async () => (lora ? destroyLora(lora) : undefined)),
      };
    },
    exclusive: (work) => host.exclusive(work),
  };
}

export function createCapabilityHost(host: AgentHost): CapabilityHost {
  return new CapabilityHost(capabilityModel(host));
}
