/**
 * @mlc-ai/web-llm, loaded on first use: its bundle (6.8 MB: the TVM runtime, the tokenizer and grammar wasm)
 * is a chunk of its own that the first screen never loads. What the app takes from it: the model list
 * (prebuiltAppConfig.model_list, filtered in catalog.ts) and the cache helpers (hasModelInCache,
 * deleteModelAllInfoInCache, ...: webllm-cache.ts). Its inference engine is not used (no LoRA, no gradients).
 *
 * Node: the package's lib/index.js is an ES module that imports nothing and touches no browser global at
 * import time, so the CLI imports it as is (checked with web-llm 0.2.86 in Node 20: ~0.1 s); its cache helpers
 * need `caches` or `indexedDB`, which only a browser (or a test's stand-in) has.
 */
import { catalogFromModelList, type CatalogRecord } from './catalog';
import { describeError } from '../../util/errors';

export type WebLlm = typeof import('@mlc-ai/web-llm');

let loading: Promise<WebLlm> | undefined;

/** The web-llm module (one import per page or process; a failed import is retried on the next call). */
export function loadWebLlm(): Promise<WebLlm> {
  loading ??= import('@mlc-ai/web-llm').catch((error: unknown) => {
    loading = undefined;
    throw new Error(
      `@mlc-ai/web-llm could not be loaded (${describeError(error)}); ` +
        'reload the page, or reinstall with npm install',
    );
  });
  return loading;
}

/** The catalog: the Llama records of the installed web-llm's prebuiltAppConfig (catalog.ts). */
export async function loadCatalog(): Promise<CatalogRecord[]> {
  const webllm = await loadWebLlm();
  return catalogFromModelList(webllm.prebuiltAppConfig.model_list);
}
