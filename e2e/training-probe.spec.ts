/**
 * The training probe on the micro model (WebGPU on SwiftShader): a TWOSOME run of two updates with a probe of
 * 8 fixed ARC-Easy questions after every update, the benchmark file picked in the Capability check card. The
 * probe table's base-model accuracies are checked against the CPU reference on the same sample; the first
 * update's probe is stored with it and shown again after a reload; the run resumed with the file picked again
 * goes on probing. A probe asked for without its file is refused before the run starts.
 */
import { join, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { actionTokenLogprobs } from '../src/llm/reference/score';
import { loadLlamaModelAndTokenizer } from '../src/llm/model/weights-node';
import { evaluateQuestions, loadBenchmark, sampleQuestions, type TokenLogprobScorer } from '../src/nlp-eval';
import { directoryDataSource } from '../src/nlp-eval/data-source-node';
import { NLP_EVAL_DATA } from '../src/nlp-eval/test-data';
import { PROBE_SEED } from '../src/state/training';
import { expect, test, waitForTask } from './fixtures';

const SIZE = 8;

/** The base model's acc and acc_norm on the probe's sample, on the CPU reference. */
async function referenceBase(): Promise<{ acc: number; accNorm: number; margin: number }> {
  const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve('public/models/micro'));
  const all = await loadBenchmark(directoryDataSource(NLP_EVAL_DATA!), 'arc-easy');
  const questions = sampleQuestions(all, SIZE, PROBE_SEED);
  const base: TokenLogprobScorer = async (requests) =>
    requests.map((r) => r.actionTokens.map((a) => Float32Array.from(actionTokenLogprobs(weights, r.promptTokens, a))));
  const results = await evaluateQuestions(
    questions,
    tokenizer,
    { base },
    { contextWindow: weights.config.contextWindow },
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  let margin = Infinity;
  for (const r of results) {
    for (const values of [r.base.logprobs, r.base.logprobs.map((lp, k) => lp / r.nChars[k])]) {
      const sorted = [...values].sort((a, b) => b - a);
      margin = Math.min(margin, sorted[0] - sorted[1]);
    }
  }
  return {
    acc: mean(results.map((r) => Number(r.base.pred === r.question.gold))),
    accNorm: mean(results.map((r) => Number(r.base.predNorm === r.question.gold))),
    margin,
  };
}

interface ProbeRow {
  update: number;
  n: number;
  acc: number;
  accNorm: number;
  baseAcc: number;
  baseAccNorm: number;
  kl: number;
}

async function probeRows(page: Page): Promise<ProbeRow[]> {
  return page.getByTestId('probe-row').evaluateAll((rows) =>
    rows.map((row) => {
      const n = (name: string) => Number(row.getAttribute(`data-${name}`));
      return {
        update: n('update'),
        n: n('n'),
        acc: n('acc'),
        accNorm: n('acc-norm'),
        baseAcc: n('base-acc'),
        baseAccNorm: n('base-acc-norm'),
        kl: n('kl'),
      };
    }),
  );
}

const arcFile = () => join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl');

test.describe('training probe', () => {
  test.skip(!NLP_EVAL_DATA, 'the benchmark files of shared/data/nlp-eval were not found');

  test('a probe after every update, charted and stored; after a reload it is shown and goes on', async ({ page }) => {
    // Two updates of 64 steps (about 15-40 s each on SwiftShader with two cores) and two probes of 8 questions.
    test.setTimeout(360_000);
    const expected = await referenceBase();
    // Near-ties could go either way between the GPU and the CPU (f32 within 1e-4): this sample has none.
    expect(expected.margin).toBeGreaterThan(1e-3);

    await page.goto('./?task=tomato-salad&seed=0');
    await waitForTask(page, 'tomato-salad');
    await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await page.getByTestId('train-steps').fill('128');
    await page.getByTestId('probe-on').check();
    await page.getByTestId('probe-size').fill(String(SIZE));
    await page.getByTestId('probe-every').fill('1');

    // Without its file: refused before the run starts, saying what to do.
    await page.getByTestId('capability-source-files').check();
    await expect(page.getByTestId('probe-source')).toContainText('none are picked yet');
    await page.getByRole('button', { name: 'Start training', exact: true }).click();
    await expect(page.getByTestId('train-error')).toContainText(
      'could not start training: the probe needs the ARC-Easy file: pick it in the Capability check card',
    );
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'idle');

    await page.getByTestId('capability-files').setInputFiles(arcFile());
    await expect(page.getByTestId('probe-source')).toContainText('read from the 1 file picked');
    await page.getByRole('button', { name: 'Start training', exact: true }).click();
    await expect(page.getByTestId('probe-results')).toHaveAttribute('data-bench', 'arc-easy');
    await expect(page.getByTestId('probe-waiting')).toContainText('after update 1');
    await expect(page.getByTestId('probe-row')).toHaveCount(1, { timeout: 150_000 });
    const [first] = await probeRows(page);
    expect(first).toMatchObject({ update: 1, n: SIZE, baseAcc: expected.acc, baseAccNorm: expected.accNorm });
    expect(first.acc).toBeGreaterThanOrEqual(0);
    expect(first.acc).toBeLessThanOrEqual(1);
    // The adapter moved away from the base model in its first update.
    expect(first.kl).toBeGreaterThan(0);
    await expect(page.getByTestId('probe-chart').locator('canvas')).toHaveCount(1);

    // Reload during the second update: the stored run comes back with its probe.
    await page.reload();
    await waitForTask(page, 'tomato-salad');
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'stored', { timeout: 20_000 });
    await expect(page.getByTestId('probe-row')).toHaveCount(1);
    expect(await probeRows(page)).toEqual([first]);

    // The picked file is gone with the reload: picked again, the resumed run goes on probing.
    await page.getByTestId('capability-files').setInputFiles(arcFile());
    await page.getByTestId('resume-offer').getByRole('button', { name: 'Resume run', exact: true }).click();
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'done', { timeout: 150_000 });
    await expect(page.getByTestId('probe-row')).toHaveCount(2);
    const rows = await probeRows(page);
    expect(rows[0]).toEqual(first);
    expect(rows[1]).toMatchObject({ update: 2, n: SIZE, baseAcc: expected.acc, baseAccNorm: expected.accNorm });
    expect(rows[1].kl).toBeGreaterThan(0);
    await expect(page.getByTestId('train-error')).toHaveCount(0);
    await page.getByTestId('training-panel').screenshot({ path: test.info().outputPath('training-probe.png') });
  });
});
