/**
 * The worker's GPU tests' playground host over the micro model on a real engine (the test loads the engine
 * itself and hands over its scorer).
 */
import { AgentHost, type Scorer } from './agent-host';
import type { ModelInfo } from './protocol';

/** What the loader reports of the micro model (public/models/micro). */
const MICRO_INFO: Omit<ModelInfo, 'id' | 'label' | 'loadMs'> = {
  layers: 2,
  hidden: 64,
  vocabSize: 710,
  contextWindow: 1024,
  quantization: 'q4f16_1',
  bytes: 0,
  software: true,
  adapter: 'dawn',
};

/** An AgentHost whose model, the micro model scored by `scorer`, is loaded and ready. */
export async function microModelHost(scorer: Scorer): Promise<AgentHost> {
  const host = new AgentHost(async () => ({ scorer, info: MICRO_INFO }));
  const status = await host.loadModel({ id: 'micro', label: 'micro', url: 'file:' });
  if (status.status !== 'ready') throw new Error(`the micro model did not load: ${JSON.stringify(status)}`);
  return host;
}
