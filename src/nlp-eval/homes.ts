/**
 * Where each benchmark's data usually lives. Two homes per benchmark:
 * - `hub`: the Hugging Face dataset the harness's task names (`dataset_path`, `dataset_name`, split). The hub
 *   serves these as Parquet, not in the official formats; hub/load.ts downloads them from there (hub/download.ts)
 *   and reads the hub's fields (hub/rows.ts). This is what `twosome nlp-eval` without --data and the app's
 *   Capability check download.
 * - `files`: the official-format files this folder's parsers read, each at the data-directory path it must be
 *   stored under, with the URL it is published at; where the authors publish an archive only, the URL is the
 *   archive's and `member` is the file's path inside it. Nothing fetches these (several are archives): they
 *   say where to get a data directory by hand.
 * The URLs are the ones the data's README and the datasets' former loading scripts name; they were not
 * fetched from here (no network). Override any of them with `benchHomes(overrides)`.
 */

export interface BenchFileHome {
  /** Path in the data directory (benchmarks.ts). */
  path: string;
  url: string;
  /** The file's path inside the archive at `url`, when `url` is a .zip or .tar. */
  member?: string;
}

export interface BenchHome {
  hub: { dataset: string; config?: string; split: string };
  files: BenchFileHome[];
}

const ARC_ZIP = 'https://ai2-public-datasets.s3.amazonaws.com/arc/ARC-V1-Feb2018.zip';
/** The folder ARC-V1-Feb2018.zip unpacks to. */
const ARC_DIR = 'ARC-V1-Feb2018-2';
const HELLASWAG_VAL = 'https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_val.jsonl';
const WINOGRANDE_ZIP = 'https://storage.googleapis.com/ai2-mosaic/public/winogrande/winogrande_1.1.zip';
const SIQA_ZIP = 'https://storage.googleapis.com/ai2-mosaic/public/socialiqa/socialiqa-train-dev.zip';
const OBQA_ZIP = 'https://ai2-public-datasets.s3.amazonaws.com/open-book-qa/OpenBookQA-V1-Sep2018.zip';
export const MMLU_TAR = 'https://people.eecs.berkeley.edu/~hendrycks/data.tar';

export const DEFAULT_BENCH_HOMES: Readonly<Record<string, BenchHome>> = {
  'arc-easy': {
    hub: { dataset: 'allenai/ai2_arc', config: 'ARC-Easy', split: 'test' },
    files: [{ path: 'arc_easy/ARC-Easy-Test.jsonl', url: ARC_ZIP, member: `${ARC_DIR}/ARC-Easy/ARC-Easy-Test.jsonl` }],
  },
  'arc-challenge': {
    hub: { dataset: 'allenai/ai2_arc', config: 'ARC-Challenge', split: 'test' },
    files: [
      {
        path: 'arc_challenge/ARC-Challenge-Test.jsonl',
        url: ARC_ZIP,
        member: `${ARC_DIR}/ARC-Challenge/ARC-Challenge-Test.jsonl`,
      },
    ],
  },
  piqa: {
    hub: { dataset: 'baber/piqa', split: 'validation' },
    files: [
      { path: 'piqa/valid.jsonl', url: 'https://yonatanbisk.com/piqa/data/valid.jsonl' },
      { path: 'piqa/valid-labels.lst', url: 'https://yonatanbisk.com/piqa/data/valid-labels.lst' },
    ],
  },
  boolq: {
    hub: { dataset: 'aps/super_glue', config: 'boolq', split: 'validation' },
    files: [{ path: 'boolq/dev.jsonl', url: 'https://storage.googleapis.com/boolq/dev.jsonl' }],
  },
  winogrande: {
    hub: { dataset: 'allenai/winogrande', config: 'winogrande_xl', split: 'validation' },
    files: [
      { path: 'winogrande/dev.jsonl', url: WINOGRANDE_ZIP, member: 'winogrande_1.1/dev.jsonl' },
      { path: 'winogrande/dev-labels.lst', url: WINOGRANDE_ZIP, member: 'winogrande_1.1/dev-labels.lst' },
    ],
  },
  hellaswag: {
    hub: { dataset: 'Rowan/hellaswag', split: 'validation' },
    files: [{ path: 'hellaswag/hellaswag_val.jsonl', url: HELLASWAG_VAL }],
  },
  siqa: {
    hub: { dataset: 'lighteval/siqa', split: 'validation' },
    files: [
      { path: 'siqa/dev.jsonl', url: SIQA_ZIP, member: 'socialiqa-train-dev/dev.jsonl' },
      { path: 'siqa/dev-labels.lst', url: SIQA_ZIP, member: 'socialiqa-train-dev/dev-labels.lst' },
    ],
  },
  openbookqa: {
    hub: { dataset: 'allenai/openbookqa', config: 'main', split: 'test' },
    files: [{ path: 'openbookqa/test.tsv', url: OBQA_ZIP, member: 'OpenBookQA-V1-Sep2018/Data/Main/test.tsv' }],
  },
};

/** One MMLU subject's home (the hub's `cais/mmlu` config is the subject; data.tar holds every subject). */
export function mmluHome(subject: string): BenchHome {
  return {
    hub: { dataset: 'cais/mmlu', config: subject, split: 'test' },
    files: [{ path: `mmlu/test/${subject}_test.csv`, url: MMLU_TAR, member: `data/test/${subject}_test.csv` }],
  };
}

/** The table with `overrides` replacing whole entries (e.g. a mirror, or a local server in tests). */
export function benchHomes(overrides: Readonly<Record<string, BenchHome>> = {}): Record<string, BenchHome> {
  return { ...DEFAULT_BENCH_HOMES, ...overrides };
}
