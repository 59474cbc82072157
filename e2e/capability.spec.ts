/**
 * The Capability check card on the built-in micro model (WebGPU on SwiftShader): a local ARC-Easy file picked
 * from disk, scored with the base model and a loaded adapter; the table's accuracies, the paired difference,
 * the KL cell and the questions the two answer differently are checked against the CPU reference run here in
 * Node. Then a download from a local server laid out like the Hugging Face hub (Parquet built from the real
 * files), which a second run reads from the browser's cache.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { scoreWithLora } from '../src/llm/reference/backward';
import { actionTokenLogprobs } from '../src/llm/reference/score';
import { loadLlamaModelAndTokenizer } from '../src/llm/model/weights-node';
import type { LoraAdapter } from '../src/llm/train/lora';
import { evaluateQuestions, loadBenchmark, type EvaluatedQuestion, type TokenLogprobScorer } from '../src/nlp-eval';
import { directoryDataSource } from '../src/nlp-eval/data-source-node';
import { fakeHubFiles, fakeHubRoute } from '../src/nlp-eval/hub/testing';
import { NLP_EVAL_DATA } from '../src/nlp-eval/test-data';
import { encodePeftAdapter } from '../src/share';
import { MICRO, trainedAdapter } from '../src/share/testing';
import { startHostileServer } from '../src/util/hostile-server';
import { expect, test, waitForTask } from './fixtures';

// Large enough B values to change some of the micro model's answers (on ARC-Easy 0-15: questions 12 and 14).
const ADAPTER = trainedAdapter(MICRO, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, 7, 2);

function peftPayload() {
  const { config, weights } = encodePeftAdapter(ADAPTER, { baseModel: 'micro' });
  return [
    { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(config) },
    { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weights) },
  ];
}

/** The micro model's results on the CPU reference, base and (with `adapter`) adapted. */
async function reference(bench: string, limit: number, adapter: LoraAdapter | null): Promise<EvaluatedQuestion[]> {
  const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve('public/models/micro'));
  const questions = await loadBenchmark(directoryDataSource(NLP_EVAL_DATA!), bench, limit);
  const base: TokenLogprobScorer = async (requests) =>
    requests.map((r) => r.actionTokens.map((a) => Float32Array.from(actionTokenLogprobs(weights, r.promptTokens, a))));
  // The adapted model's summed log-likelihood per choice (all evaluate.ts needs to predict).
  const adapted: TokenLogprobScorer = async (requests) =>
    requests.map((r) => {
      const prompt = [{ promptIds: r.promptTokens, actions: r.actionTokens }];
      return scoreWithLora(weights, adapter, prompt, { precision: 'float32' }).logprobs[0].map((lp) =>
        Float32Array.of(lp),
      );
    });
  return evaluateQuestions(
    questions,
    tokenizer,
    { base, adapted: adapter ? adapted : undefined },
    {
      contextWindow: weights.config.contextWindow,
    },
  );
}

/** The smallest gap between a question's best and second-best score (log-likelihood, or per character). */
function smallestMargin(results: readonly EvaluatedQuestion[]): number {
  let margin = Infinity;
  for (const r of results) {
    for (const scores of [r.base, ...(r.adapted ? [r.adapted] : [])]) {
      for (const values of [scores.logprobs, scores.logprobs.map((lp, k) => lp / r.nChars[k])]) {
        const sorted = [...values].sort((a, b) => b - a);
        margin = Math.min(margin, sorted[0] - sorted[1]);
      }
    }
  }
  return margin;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function cellValue(page: Page, bench: string, metric: string, cell: string): Promise<number> {
  const row = page.locator(`[data-testid="capability-row"][data-bench="${bench}"][data-metric="${metric}"]`);
  return Number(await row.getByTestId(cell).getAttribute('data-value'));
}

async function waitForModel(page: Page): Promise<void> {
  await page.goto('./?task=tomato-salad&seed=0');
  await waitForTask(page, 'tomato-salad');
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
}

test.describe('capability check', () => {
  test.skip(!NLP_EVAL_DATA, 'the benchmark files of shared/data/nlp-eval were not found');

  test('a picked ARC-Easy file: base beside a loaded adapter, as the CPU reference scores them', async ({ page }) => {
    test.setTimeout(240_000);
    const limit = 16;
    const expected = await reference('arc-easy', limit, ADAPTER);
    // Near-ties could go either way between the GPU and the CPU (f32 within 1e-4): these questions have none.
    expect(smallestMargin(expected)).toBeGreaterThan(1e-3);
    // Not a comparison of zeros: both models get some right, and they disagree on some.
    expect(expected.some((r) => r.base.pred === r.question.gold)).toBe(true);
    expect(expected.some((r) => r.base.pred !== r.adapted!.pred)).toBe(true);

    await waitForModel(page);
    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
    const card = page.getByTestId('capability-card');
    await expect(card.getByTestId('capability-subject')).toContainText('adapter adapter_model.safetensors');

    const file = join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl');
    await card.getByTestId('capability-files').setInputFiles(file);
    await expect(card.getByTestId('capability-picked')).toHaveText('ARC-Easy-Test.jsonl');
    await expect(card.getByTestId('capability-source-files')).toBeChecked();
    await card.getByTestId('capability-limit').fill(String(limit));
    await card.getByTestId('capability-run').click();
    await expect(card.getByTestId('capability-phase')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
    await expect(card.getByTestId('capability-error')).toHaveCount(0);

    const accOf = (which: 'base' | 'adapted', norm: boolean) =>
      mean(expected.map((r) => Number((norm ? r[which]!.predNorm : r[which]!.pred) === r.question.gold)));
    expect(await cellValue(page, 'arc-easy', 'acc', 'cap-base')).toBeCloseTo(accOf('base', false), 12);
    expect(await cellValue(page, 'arc-easy', 'acc', 'cap-adapted')).toBeCloseTo(accOf('adapted', false), 12);
    expect(await cellValue(page, 'arc-easy', 'acc_norm', 'cap-base')).toBeCloseTo(accOf('base', true), 12);
    expect(await cellValue(page, 'arc-easy', 'acc_norm', 'cap-adapted')).toBeCloseTo(accOf('adapted', true), 12);
    expect(await cellValue(page, 'arc-easy', 'acc', 'cap-difference')).toBeCloseTo(
      accOf('adapted', false) - accOf('base', false),
      12,
    );
    const row = card.locator('[data-testid="capability-row"][data-metric="acc"]');
    await expect(row.getByTestId('cap-n')).toHaveText(String(limit));
    await expect(row.getByTestId('cap-base')).toContainText('%');
    await expect(row.getByTestId('cap-base')).toContainText('[');
    await expect(row.getByTestId('cap-kl')).toHaveText('not available yet');
    await expect(card.getByTestId('capability-chance-note')).toBeVisible();

    // The questions the two answer differently, with both picks.
    const differ = expected.filter((r) => r.base.pred !== r.adapted!.pred);
    const shown = card.getByTestId('capability-disagreement');
    await expect(shown).toHaveCount(Math.min(5, differ.length));
    const attrs = await shown.evaluateAll((els) =>
      els.map((e) => ['data-index', 'data-base', 'data-adapted'].map((a) => Number(e.getAttribute(a)))),
    );
    expect(attrs).toEqual(differ.slice(0, 5).map((r) => [r.question.index, r.base.pred, r.adapted!.pred]));
    await expect(card.getByTestId('capability-disagreements')).toContainText(
      `the two answer ${differ.length} of ${limit} questions differently`,
    );
    await card.screenshot({ path: process.env.CAPABILITY_SCREENSHOT ?? test.info().outputPath('card.png') });
  });

  test("downloaded from a hub laid out like Hugging Face's; a second run reads the browser's cache", async ({
    page,
  }) => {
    test.setTimeout(180_000);
    const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Range' };
    const hub = await startHostileServer(fakeHubRoute(fakeHubFiles(NLP_EVAL_DATA!), { headers: cors }));
    try {
      const limit = 8;
      const expected = await reference('piqa', limit, null);
      expect(smallestMargin(expected)).toBeGreaterThan(1e-3);
      expect(expected.some((r) => r.base.pred === r.question.gold)).toBe(true);
      await waitForModel(page);
      const card = page.getByTestId('capability-card');
      await card.getByTestId('capability-bench-arc-easy').uncheck();
      await card.getByTestId('capability-bench-piqa').check();
      await card.getByTestId('capability-source-hub').check();
      await card.getByTestId('capability-endpoint').fill(hub.url);
      await card.getByTestId('capability-limit').fill(String(limit));
      await card.getByTestId('capability-run').click();
      await expect(card.getByTestId('capability-phase')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
      const acc = mean(expected.map((r) => Number(r.base.pred === r.question.gold)));
      expect(await cellValue(page, 'piqa', 'acc', 'cap-base')).toBeCloseTo(acc, 12);
      await expect(card.locator('[data-testid="capability-row"][data-metric="acc"]').getByTestId('cap-kl')).toHaveText(
        'no adapter',
      );
      expect(hub.requests.some((p) => p.includes('/resolve/'))).toBe(true);

      const requests = hub.requests.length;
      await card.getByTestId('capability-run').click();
      await expect(card.getByTestId('capability-phase')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
      expect(hub.requests.slice(requests)).toEqual([]);
      expect(await cellValue(page, 'piqa', 'acc', 'cap-base')).toBeCloseTo(acc, 12);
    } finally {
      await hub.close();
    }
  });

  test('progress while it scores; Cancel stops it', async ({ page }) => {
    await waitForModel(page);
    const card = page.getByTestId('capability-card');
    await card.getByTestId('capability-files').setInputFiles(join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl'));
    await card.getByTestId('capability-limit').fill('400');
    await card.getByTestId('capability-run').click();
    await expect(card.getByTestId('capability-progress')).toContainText(/Scoring arc-easy: \d+ of 400 questions/);
    await card.getByTestId('capability-cancel').click();
    await expect(card.getByTestId('capability-phase')).toHaveAttribute('data-phase', 'cancelled', { timeout: 30_000 });
    await expect(card.getByTestId('capability-progress')).toHaveCount(0);
    await expect(card.getByTestId('capability-table')).toHaveCount(0);
    await expect(card.getByTestId('capability-run')).toBeEnabled();
  });

  test('a file that is not the benchmark: one line naming the file, line and field', async ({ page }) => {
    await waitForModel(page);
    const card = page.getByTestId('capability-card');
    const piqaLine = readFileSync(join(NLP_EVAL_DATA!, 'piqa/valid.jsonl'), 'utf8').split('\n')[0];
    await card.getByTestId('capability-files').setInputFiles({
      name: 'ARC-Easy-Test.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from(`${piqaLine}\n`),
    });
    await card.getByTestId('capability-run').click();
    await expect(card.getByTestId('capability-phase')).toHaveAttribute('data-phase', 'error');
    await expect(card.getByTestId('capability-error')).toHaveText(
      'ARC-Easy-Test.jsonl:1: field "id": missing; expected a string',
    );
  });
});
