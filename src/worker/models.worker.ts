/**
 * The models worker: downloads, web-llm's caches and the catalog off the page's thread and off the playground
 * worker's, so neither ever blocks on them. The rules live in ModelsHost (models-host.ts), exposed whole as the
 * ModelsApi (api.ts).
 */
import * as Comlink from 'comlink';
import type { ModelsApi } from './api';
import { ModelsHost } from './models-host';

Comlink.expose(new ModelsHost() satisfies ModelsApi);
