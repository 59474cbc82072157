/**
 * The models worker: loads web-llm (its own chunk, on the first catalog or cache call) for the catalog and its
 * cache helpers, downloads MLC models into web-llm's caches (Cache API or IndexedDB, its keys), lists and
 * deletes cached models, and reports the WebGPU adapter's features and limits. Downloading (fetch, md5 of
 * every shard, cache writes) runs here, so neither the page nor the environment worker ever blocks on it.
 */
import * as Comlink from 'comlink';
import { isSoftwareAdapter } from '../gpu/device';
import { deleteCachedModel, listCachedModels, webllmStore } from '../llm/model/cache-source';
import type { CatalogRecord } from '../llm/model/catalog';
import { downloadModel, isAbortError } from '../llm/model/download';
import { checkModelUrl } from '../llm/model/url-source';
import { loadCatalog } from '../llm/model/webllm';
import type { ModelsWorkerApi } from './protocol';
import { describeError } from '../util/errors';

let catalogPromise: Promise<CatalogRecord[]> | undefined;
function catalog(): Promise<CatalogRecord[]> {
  catalogPromise ??= loadCatalog().catch((error: unknown) => {
    catalogPromise = undefined;
    throw error;
  });
  return catalogPromise;
}

const downloads = new Map<string, AbortController>();

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TypeError' && /fetch/i.test(error.message)) {
    return `network error (${error.message}): check the connection and that the host allows cross-origin requests`;
  }
  return describeError(error);
}

function release(callback: unknown): void {
  (callback as Partial<Comlink.Remote<unknown>> | undefined)?.[Comlink.releaseProxy]?.();
}

const api: ModelsWorkerApi = {
  async adapter() {
    const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return { status: 'missing', reason: 'WebGPU is not available in this worker (navigator.gpu is undefined)' };
    try {
      const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter());
      if (!adapter) return { status: 'missing', reason: 'no WebGPU adapter is available' };
      const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
      // navigator.deviceMemory: GiB, rounded down to a power of two and capped at 8 by Chrome; absent elsewhere.
      const deviceMemory = (globalThis.navigator as Navigator & { deviceMemory?: number }).deviceMemory;
      // Identified as requestGpuContext does (gpu/device.ts), with the older adapter.isFallbackAdapter flag.
      const identity = {
        vendor: info?.vendor ?? '',
        architecture: info?.architecture ?? '',
        device: info?.device ?? '',
        description: info?.description ?? '',
        isFallbackAdapter: info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      };
      return {
        status: 'ok',
        features: [...adapter.features].map(String).sort(),
        limits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
        software: isSoftwareAdapter(identity),
        cores: globalThis.navigator.hardwareConcurrency || undefined,
        systemMemoryBytes: typeof deviceMemory === 'number' && deviceMemory > 0 ? deviceMemory * 2 ** 30 : undefined,
        description: [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' · ') || 'WebGPU adapter',
      };
    } catch (error) {
      return { status: 'missing', reason: `requesting a WebGPU adapter failed: ${describe(error)}` };
    }
  },

  async catalog() {
    try {
      return { status: 'ok', records: await catalog() };
    } catch (error) {
      return { status: 'unavailable', reason: describe(error) };
    }
  },

  async listCached() {
    try {
      const models = await listCachedModels({ catalog: await catalog() });
      return {
        status: 'ok',
        models: models.map(({ baseUrl, backend, ids, complete, webllmHasModel, bytes, totalBytes, shardsCached, shardsTotal }) => ({
          baseUrl,
          backend,
          ids,
          complete,
          webllmHasModel,
          bytes,
          totalBytes,
          shardsCached,
          shardsTotal,
        })),
      };
    } catch (error) {
      return { status: 'unavailable', reason: describe(error) };
    }
  },

  async download(baseUrl, options, onProgress) {
    let base: string;
    try {
      base = checkModelUrl(baseUrl).href;
    } catch (error) {
      release(onProgress);
      return { status: 'error', baseUrl, message: describe(error) };
    }
    downloads.get(base)?.abort();
    const controller = new AbortController();
    downloads.set(base, controller);
    try {
      const result = await downloadModel(base, {
        store: webllmStore(options.backend ?? 'cache'),
        signal: controller.signal,
        maxBytes: options.maxBytes,
        retries: 2,
        backoffMs: 200,
        onProgress: (p) => {
          const returned: unknown = onProgress?.({ ...p });
          if (returned instanceof Promise) returned.catch(() => {});
        },
      });
      return { status: 'done', baseUrl: base, bytesTotal: result.bytesTotal, bytesFetched: result.bytesFetched, files: result.files.length };
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return { status: 'cancelled', baseUrl: base };
      return { status: 'error', baseUrl: base, message: describe(error) };
    } finally {
      if (downloads.get(base) === controller) downloads.delete(base);
      release(onProgress);
    }
  },

  cancel(baseUrl) {
    try {
      const base = checkModelUrl(baseUrl).href;
      downloads.get(base)?.abort();
    } catch {
      // not a model URL: nothing is downloading from it
    }
  },

  async deleteCached(baseUrl) {
    downloads.get(baseUrl)?.abort();
    return deleteCachedModel(baseUrl, { catalog: await catalog() });
  },
};

Comlink.expose(api);
