/**
 * A benchmark's questions from where the page says they are (CapabilityData): files picked in the page, or the
 * Hugging Face hub (kept in a DatasetStore). The capability check and the training probe read them alike; every
 * row is parsed and checked, so a bad file fails here, before any scoring.
 */
import {
  loadBenchmark,
  loadHubBenchmark,
  pickedFilesSource,
  type DatasetStore,
  type HubDownloadProgress,
  type Question,
} from '../nlp-eval';
import type { CapabilityData } from './capability-protocol';

export interface BenchReadOptions {
  store: DatasetStore;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  onProgress?(bench: string, progress: HubDownloadProgress): void;
}

/** The first `limit` questions of `bench` (all when undefined; of each subject for "mmlu"). */
export async function readBenchmark(
  bench: string,
  limit: number | undefined,
  data: CapabilityData,
  options: BenchReadOptions,
): Promise<Question[]> {
  if (data.kind === 'files') {
    const source = pickedFilesSource(
      data.files.map(({ path, file }) => ({
        name: file.name,
        webkitRelativePath: path,
        arrayBuffer: () => file.arrayBuffer(),
      })),
    );
    return loadBenchmark(source, bench, limit);
  }
  return loadHubBenchmark(bench, limit, {
    store: options.store,
    endpoint: data.endpoint ?? undefined,
    signal: options.signal,
    fetchImpl: options.fetchImpl,
    onProgress: options.onProgress,
  });
}
