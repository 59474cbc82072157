/**
 * A benchmark's questions from the Hugging Face hub: the split the harness's task names (homes.ts) downloaded
 * as Parquet (download.ts), read (parquet.ts), its rows turned into docs (rows.ts) and then into questions
 * exactly as loadBenchmark turns the official files' docs into questions: every row is checked, then the first
 * `limit` are taken (of each subject for "mmlu", whose hub config "all" holds every subject; subjects in name
 * order, as the data directory's files are read).
 */
import { benchmark } from '../benchmarks';
import { benchHomes, mmluHome, type BenchHome } from '../homes';
import type { Question } from '../question';
import { downloadHubSplit, type HubDownloadOptions, type HubDownloadProgress } from './download';
import { readParquetRows } from './parquet';
import { hubRowReader, rowAt, type HubDoc } from './rows';

/** cais/mmlu's config with every subject. */
export const MMLU_ALL_HUB: BenchHome['hub'] = { dataset: 'cais/mmlu', config: 'all', split: 'test' };

export interface HubBenchOptions extends Omit<HubDownloadOptions, 'onProgress'> {
  /** Replaces the table's entries (homes.ts), by benchmark id ("mmlu", "mmlu-<subject>" too). */
  homes?: Readonly<Record<string, BenchHome>>;
  onProgress?(bench: string, progress: HubDownloadProgress): void;
}

/** Where benchmark `id` lives on the hub. */
export function hubHome(id: string, homes: Readonly<Record<string, BenchHome>> = {}): BenchHome['hub'] {
  benchmark(id); // an unknown id is an UnknownBenchError
  if (homes[id]) return homes[id].hub;
  if (id === 'mmlu') return MMLU_ALL_HUB;
  if (id.startsWith('mmlu-')) return mmluHome(id.slice('mmlu-'.length)).hub;
  return benchHomes()[id].hub;
}

/** The first `limit` docs of each subject, subjects in name order (the data directory's order). */
function perSubject(docs: readonly HubDoc[], limit: number | undefined): HubDoc[] {
  const subjects = [...new Set(docs.map((d) => d.subject!))].sort();
  return subjects.flatMap((s) => docs.filter((d) => d.subject === s).slice(0, limit));
}

export async function loadHubBenchmark(
  id: string,
  limit: number | undefined,
  options: HubBenchOptions,
): Promise<Question[]> {
  const hub = hubHome(id, options.homes);
  const split = await downloadHubSplit(hub, { ...options, onProgress: (p) => options.onProgress?.(id, p) });
  const read = hubRowReader(id);
  const docs: HubDoc[] = [];
  for (const { url, bytes } of split.files) {
    const rows = await readParquetRows(bytes, url);
    rows.forEach((row, i) => docs.push(read(row, rowAt(url, i + 1))));
  }
  const taken = id === 'mmlu' ? perSubject(docs, limit) : docs.slice(0, limit);
  return taken.map(({ requests }, index) => ({ bench: id, index, gold: requests.gold, choices: requests.choices }));
}
