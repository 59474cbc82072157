/**
 * The page's two workers, each behind a link (link.ts): the playground worker (environment, engine, training)
 * and the models worker (catalog, caches, downloads). localClient answers the playground worker's calls
 * in-process, for tests of the page's stores.
 */
import type { ModelsApi, PlaygroundApi } from './api';
import { connectWorker, localLink, type WorkerLink } from './link';

export function startPlaygroundWorker(): WorkerLink<PlaygroundApi> {
  return connectWorker<PlaygroundApi>(
    'playground',
    () => new Worker(new URL('./env.worker.ts', import.meta.url), { type: 'module', name: 'env' }),
  );
}

export function startModelsWorker(): WorkerLink<ModelsApi> {
  return connectWorker<ModelsApi>(
    'models',
    () => new Worker(new URL('./models.worker.ts', import.meta.url), { type: 'module', name: 'models' }),
  );
}

/**
 * The playground worker's hosts in this thread (an AgentHost with a fake scorer, a TrainerHost): the same calls
 * and failure rules as the worker's. A part left out rejects its calls ("... has no method training.start").
 */
export function localClient(parts: Partial<PlaygroundApi>): WorkerLink<PlaygroundApi> {
  return localLink<PlaygroundApi>('playground', parts as PlaygroundApi);
}
