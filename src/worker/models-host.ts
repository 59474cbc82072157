/**
 * The models worker's API (ModelsApi, api.ts; models.worker.ts exposes it): loads web-llm (its own chunk, on the
 * first catalog or cache call) for the catalog and its cache helpers, downloads MLC models into web-llm's caches
 * (Cache API or IndexedDB, its keys), lists and deletes cached models, and reports the WebGPU adapter's features
 * and limits. Downloading (fetch, md5 of every shard, cache writes) runs in the models worker, so neither the
 * page nor the playground worker ever blocks on it.
 */
import { isSoftwareAdapter } from '../gpu/device';
import { deleteCachedModel, listCachedModels, webllmStore } from '../llm/model/cache-source';
import type { CatalogRecord } from '../llm/model/catalog';
import { downloadModel, isAbortError } from '../llm/model/download';
import { checkModelUrl } from '../llm/model/url-source';
import { loadCatalog } from '../llm/model/webllm';
import type { ModelsApi } from './api';
import { releaseCallback } from './link';
import type {
  AdapterReply,
  CacheListReply,
  CatalogReply,
  DownloadOptionsView,
  DownloadProgressView,
  DownloadReply,
} from './protocol';
import { describeError } from '../util/errors';

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TypeError' && /fetch/i.test(error.message)) {
    return `network error (${error.message}): check the connection and that the host allows cross-origin requests`;
  }
  return describeError(error);
}

export class ModelsHost implements ModelsApi {
  /** web-llm's records, loaded once (again after a failure). */
  private catalogLoad: Promise<CatalogRecord[]> | undefined;
  /** Downloads in progress, by base URL. */
  private readonly downloads = new Map<string, AbortController>();

  private loadedCatalog(): Promise<CatalogRecord[]> {
    this.catalogLoad ??= loadCatalog().catch((error: unknown) => {
      this.catalogLoad = undefined;
      throw error;
    });
    return this.catalogLoad;
  }

  async adapter(): Promise<AdapterReply> {
    const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu)
      return { status: 'missing', reason: 'WebGPU is not available in this worker (navigator.gpu is undefined)' };
    try {
      const adapter =
        (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter());
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
        limits: {
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
        },
        software: isSoftwareAdapter(identity),
        cores: globalThis.navigator.hardwareConcurrency || undefined,
        systemMemoryBytes: typeof deviceMemory === 'number' && deviceMemory > 0 ? deviceMemory * 2 ** 30 : undefined,
        description:
          [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' · ') || 'WebGPU adapter',
      };
    } catch (error) {
      return { status: 'missing', reason: `requesting a WebGPU adapter failed: ${describe(error)}` };
    }
  }

  async catalog(): Promise<CatalogReply> {
    try {
      return { status: 'ok', records: await this.loadedCatalog() };
    } catch (error) {
      return { status: 'unavailable', reason: describe(error) };
    }
  }

  async listCached(): Promise<CacheListReply> {
    try {
      const models = await listCachedModels({ catalog: await this.loadedCatalog() });
      return {
        status: 'ok',
        models: models.map(
          ({ baseUrl, backend, ids, complete, webllmHasModel, bytes, totalBytes, shardsCached, shardsTotal }) => ({
            baseUrl,
            backend,
            ids,
            complete,
            webllmHasModel,
            bytes,
            totalBytes,
            shardsCached,
            shardsTotal,
          }),
        ),
      };
    } catch (error) {
      return { status: 'unavailable', reason: describe(error) };
    }
  }

  async download(
    baseUrl: string,
    options: DownloadOptionsView,
    onProgress?: (progress: DownloadProgressView) => void,
  ): Promise<DownloadReply> {
    let base: string;
    try {
      base = checkModelUrl(baseUrl).href;
    } catch (error) {
      releaseCallback(onProgress);
      return { status: 'error', baseUrl, message: describe(error) };
    }
    this.downloads.get(base)?.abort();
    const controller = new AbortController();
    this.downloads.set(base, controller);
    try {
      const result = await downloadModel(base, {
        store: webllmStore(options.backend ?? 'cache'),
        signal: controller.signal,
        maxBytes: options.maxBytes,
        idleTimeoutMs: options.idleTimeoutMs,
        retries: 2,
        backoffMs: 200,
        onProgress: (p) => {
          const returned: unknown = onProgress?.({ ...p });
          if (returned instanceof Promise) returned.catch(() => {});
        },
      });
      return {
        status: 'done',
        baseUrl: base,
        bytesTotal: result.bytesTotal,
        bytesFetched: result.bytesFetched,
        files: result.files.length,
      };
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return { status: 'cancelled', baseUrl: base };
      return { status: 'error', baseUrl: base, message: describe(error) };
    } finally {
      if (this.downloads.get(base) === controller) this.downloads.delete(base);
      releaseCallback(onProgress);
    }
  }

  cancel(baseUrl: string): void {
    try {
      const base = checkModelUrl(baseUrl).href;
      this.downloads.get(base)?.abort();
    } catch {
      // not a model URL: nothing is downloading from it
    }
  }

  async deleteCached(baseUrl: string): Promise<number> {
    this.downloads.get(baseUrl)?.abort();
    return deleteCachedModel(baseUrl, { catalog: await this.loadedCatalog() });
  }
}
