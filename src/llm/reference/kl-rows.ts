/**
 * CPU reference of kernels/kl-rows.ts: per row j of two logits tensors [J, V],
 * kl[j] = sum_v p_b(v) (log p_b(v) - log p_a(v)), p_b = softmax(base[j]), p_a = softmax(adapted[j]).
 * Float64 throughout, in the textbook form (max-subtracted log-softmax of each row, then the sum): its absolute
 * error, ~1e-15 per row at logits of the size of a language model's, is far below any float32 result's.
 * actionTokenKl applies it to a model without and with a LoRA adapter (LlamaEngine.forwardPairedTokenLogprobs).
 */
import type { LoraAdapter } from '../train/lora';
import type { LlamaWeights } from '../model/weights';
import { actionSequence, loraSequenceForward } from './backward';
import type { PrecisionOptions } from './precision';
export function klRows(base: ArrayLike<number>, adapted: ArrayLike<number>, rows: number, vocab: number): number[] {
  if (base.length < rows * vocab || adapted.length < rows * vocab) {
    throw new RangeError(`klRows: ${rows} rows of ${vocab} need ${rows * vocab} logits per model`);
  }
  const out: number[] = [];
  for (let j = 0; j < rows; j++) {
    const row = j * vocab;
    const lseB = logSumExp(base, row, vocab);
    const lseA = logSumExp(adapted, row, vocab);
    let sum = 0;
    for (let v = 0; v < vocab; v++) {
      const lpB = base[row + v] - lseB;
      sum += Math.exp(lpB) * (lpB - (adapted[row + v] - lseA));
    }
    out.push(sum);
  }
  return out;
}

function logSumExp(x: ArrayLike<number>, from: number, n: number): number {
  let max = -Infinity;
  for (let v = 0; v < n; v++) max = Math.max(max, x[from + v]);
  let sum = 0;
  for (let v = 0; v < n; v++) sum += Math.exp(x[from + v] - max);
  return max + Math.log(sum);
}

/**
 * KL(base || adapted) at each token of an action after its prompt (the rows its log-probs are read from): one
 * full sequence through the frozen model and through the model with `adapter`, then klRows of their logits.
 */
export function actionTokenKl(
  weights: LlamaWeights,
  adapter: LoraAdapter,
  promptIds: readonly number[],
  actionIds: readonly number[],
  options: PrecisionOptions = {},
): number[] {
  const { tokens, logitRows, targets } = actionSequence(promptIds, actionIds);
  const base = loraSequenceForward(weights, null, tokens, logitRows, targets, options);
  const adapted = loraSequenceForward(weights, adapter, tokens, logitRows, targets, options);
  return klRows(base.logits, adapted.logits, logitRows.length, weights.config.vocabSize);
}
