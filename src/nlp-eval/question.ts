/**
 * A benchmark question as the scorer sees it: lm-evaluation-harness's `multiple_choice` requests for one doc,
 * one (context, continuation) pair per choice, plus the gold index and the strings whose lengths normalize
 * acc_norm.
 */

/** One choice: one harness request `(context, continuation)`. */
export interface ChoiceText {
  /**
   * `doc_to_choice(doc)[k]`, the string whose character length divides the log-likelihood for acc_norm
   * (`completion_len = [float(len(i)) for i in choices]`, lm_eval/api/task.py). For Winogrande this is the
   * choice's context.
   */
  text: string;
  /** The request's context: the task description (MMLU) + doc_to_text, or Winogrande's partial context. */
  context: string;
  /** The request's continuation: " " + the choice, or " " + Winogrande's shared target. */
  continuation: string;
}

export interface Question {
  /** The benchmark id it was loaded as (e.g. "arc-easy", "mmlu-anatomy", "mmlu"). */
  bench: string;
  /**
   * 0-based position in the loaded benchmark (for "mmlu": in its subjects' questions taken in subject name order,
   * each subject's first `limit` when a limit is given).
   */
  index: number;
  /** Index of the correct choice. */
  gold: number;
  choices: ChoiceText[];
}
