/**
 * Where `twosome nlp-eval` and `twosome bench nlp-eval` get their questions: --data DIR (files laid out like
 * shared/data/nlp-eval/), or else a download from the Hugging Face hub (--data-url or $HF_ENDPOINT for a mirror
 * laid out like it), kept in --cache-dir (default $TWOSOME_CACHE_DIR/nlp-eval, else ~/.cache/twosome/nlp-eval)
 * so that a second run needs no network and a stopped download resumes. Every benchmark is read and checked
 * before anything else runs.
 */
import { existsSync, statSync } from 'node:fs';
import { loadBenchmark, loadHubBenchmark, type HubDownloadProgress, type Question } from '../nlp-eval';
import { directoryDataSource } from '../nlp-eval/data-source-node';
import { defaultDatasetDir, directoryDatasetStore } from '../nlp-eval/hub/store-node';
import { formatBytes } from '../util/format';
import { UsageError } from './errors';

export const DATA_FLAGS = {
  data: {
    type: 'string',
    arg: 'DIR',
    help: 'benchmark files laid out like shared/data/nlp-eval/ (default: download them)',
  },
  'data-url': {
    type: 'string',
    arg: 'URL',
    help: 'download from this hub (default $HF_ENDPOINT, else https://huggingface.co)',
  },
  'cache-dir': { type: 'string', arg: 'DIR', help: `where downloads are kept (default ${defaultDatasetDir()})` },
} as const;

export interface DataFlags {
  data?: string;
  dataUrl?: string;
  cacheDir?: string;
}

/** Each benchmark's questions (the first `limit`), by id, in the order given. */
export async function readQuestions(
  flags: DataFlags,
  ids: readonly string[],
  limit: number | undefined,
): Promise<Map<string, Question[]>> {
  const questions = new Map<string, Question[]>();
  if (flags.data !== undefined) {
    if (flags.dataUrl !== undefined || flags.cacheDir !== undefined) {
      throw new UsageError('--data reads local files: give it alone, or --data-url / --cache-dir to download');
    }
    if (!existsSync(flags.data) || !statSync(flags.data).isDirectory()) {
      throw new UsageError(`--data ${flags.data}: no such directory`);
    }
    const source = directoryDataSource(flags.data);
    for (const id of ids) questions.set(id, await loadBenchmark(source, id, limit));
    return questions;
  }
  const endpoint = flags.dataUrl ?? process.env.HF_ENDPOINT;
  const store = directoryDatasetStore(flags.cacheDir ?? defaultDatasetDir());
  for (const id of ids) {
    const line = new DownloadLine(process.stderr, id);
    try {
      const onProgress = (_id: string, p: HubDownloadProgress) => line.update(p);
      questions.set(id, await loadHubBenchmark(id, limit, { store, endpoint, onProgress }));
    } finally {
      line.end();
    }
  }
  return questions;
}

/** A benchmark's download on stderr: one line redrawn on a terminal, else a line when it starts and ends. */
class DownloadLine {
  private shown = false;
  private last = '';

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly bench: string,
  ) {}

  update(p: HubDownloadProgress): void {
    const files = `${p.filesDone}/${p.filesTotal} files`;
    this.last = `${this.bench}: ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} (${files})`;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${this.last}`);
      this.shown = true;
    } else if (!this.shown) {
      this.stream.write(`downloading ${this.last}\n`);
      this.shown = true;
    }
  }

  end(): void {
    if (this.shown) this.stream.write(this.stream.isTTY ? '\n' : `done ${this.last}\n`);
  }
}
