/**
 * The playground worker: the live environment and the WebGPU LLM engine side by side, so the current
 * observation is scored where it is made (no prompt or tensor crosses threads for a decision), and training on
 * that same engine. The rules live in the hosts (AgentHost, TrainerHost); this file builds them and exposes
 * them whole as the PlaygroundApi (api.ts).
 */
import * as Comlink from 'comlink';
import { AgentHost } from './agent-host';
import type { PlaygroundApi } from './api';
import { loadEngineScorer } from './engine-scorer';
import { createCapabilityHost } from './capability-wiring';
import { createTrainerHost } from './trainer-wiring';

// Another model replaces the engine a TWOSOME run trains: the run pauses first (and stays stored).
const agent = new AgentHost(loadEngineScorer, { beforeModelChange: () => training.releaseEngine() });
// Training runs here too, on the engine the agent loaded (trainer-wiring.ts).
const training = createTrainerHost(agent);
// The capability check, on that engine and in its GPU queue (capability-wiring.ts).
const capability = createCapabilityHost(agent);

Comlink.expose({ agent, training, capability } satisfies PlaygroundApi);
