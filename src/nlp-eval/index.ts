/**
 * The capability check (issue 15): zero-shot multiple-choice benchmarks scored by log-likelihood as
 * lm-evaluation-harness scores them, on TWOSOME's engine. What the CLI, the worker and the UI use:
 * - data: BenchDataSource (pickedFilesSource for browser Files, memoryDataSource; directoryDataSource in
 *   ./data-source-node for Node), benchmark(id) / loadBenchmark(source, id, limit) -> Question[]; or from the
 *   Hugging Face hub, loadHubBenchmark(id, limit, { store, endpoint, signal, onProgress }) -> Question[]
 *   (hub/: the Parquet download, cached in a DatasetStore; directoryDatasetStore in ./hub/store-node for Node);
 * - scoring: evaluateQuestions(questions, tokenizer, { base, adapted? } | { paired }, options) with
 *   engineScorer(engine, lora) or enginePairedScorer(engine, lora) (both models and the per-token KL) ->
 *   EvaluatedQuestion[]; summarize(bench, results, benchmark(id).metrics);
 * - output: questionRecord / summaryRecord (the CLI's JSON lines);
 * - metrics: predictions, meanStderr, estimate, pairedDifference, meanTokenKl;
 * - sampleQuestions: a fixed sample of a benchmark, chosen by a seed (the training probe's).
 */
export {
  BENCH_IDS,
  benchmark,
  loadBenchmark,
  mmluSubjects,
  UnknownBenchError,
  type Benchmark,
  type Metric,
} from './benchmarks';
export { memoryDataSource, pickedFilesSource, type BenchDataSource, type PickedFile } from './data-source';
export { encodePair, RequestTokenError, type EncodedPair, type PairTokenizer } from './encode';
export { enginePairedScorer, engineScorer } from './engine-scorer';
export { BenchDataError, BenchDownloadError } from './errors';
export {
  evaluateQuestions,
  pairedScorer,
  summarize,
  type Accuracy,
  type BenchSummary,
  type EvaluatedQuestion,
  type EvaluateOptions,
  type ModelScores,
  type PairedScorer,
  type PairedTokenScores,
  type Scorers,
  type TokenLogprobScorer,
} from './evaluate';
export { benchHomes, DEFAULT_BENCH_HOMES, mmluHome, type BenchFileHome, type BenchHome } from './homes';
export { DEFAULT_HUB_ENDPOINT, hubEndpoint, type HubDownloadProgress } from './hub/download';
export { hubHome, loadHubBenchmark, type HubBenchOptions } from './hub/load';
export { cacheDatasetStore, DATASET_CACHE, memoryDatasetStore, type DatasetStore } from './hub/store';
export { estimate, meanStderr, meanTokenKl, pairedDifference, predictions, Z95, type Estimate } from './metrics';
export { questionRecord, summaryRecord } from './output';
export type { ChoiceText, Question } from './question';
export { sampleQuestions } from './sample';
export { encodeQuestion, planRequests, type EncodedQuestion, type RequestPlan } from './requests';
