/**
 * "Ask freely" in the Agent card: the built-in micro model in the worker continues the prompt as free text on
 * WebGPU (SwiftShader here) with a KV cache, and the card shows the text and whether it is an offered action.
 * The expected text is the CPU reference's greedy generation of the same prompt (the same model files).
 */
import { resolve } from 'node:path';
import { expect, test } from './fixtures';
import { loraAdapter, openScored, peftPayload } from './playground';
import { createEnv } from '../src/envs/registry';
import { matchAction } from '../src/llm/generation';
import { generateReference } from '../src/llm/reference/generate';
import { loadLlamaModelAndTokenizer } from '../src/llm/model/weights-node';

const verdict = (action: number | null, actions: readonly string[]) =>
  action === null ? 'not an offered action' : `offered action ${action + 1}: ${actions[action]}`;

test.describe('ask freely', () => {
  test('the micro model answers freely, with and without an adapter: the reference texts and verdicts', async ({
    page,
  }) => {
    test.setTimeout(120_000);
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    const card = page.getByTestId('ask-freely');
    await card.getByLabel('Max tokens').fill('6');
    await card.getByTestId('ask-freely-button').click();
    const answer = card.locator('[data-testid="ask-answer"][data-who="base"]');
    await expect(answer).toBeVisible({ timeout: 30_000 });
    // No adapter is in use: one answer, and the card says how to get the other.
    await expect(card.getByTestId('ask-answer')).toHaveCount(1);
    await expect(card).toContainText('No adapter is in use');

    const env = createEnv('tomato-salad');
    env.reset(0);
    const { prompt, actions } = env.observe();
    const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const options = { maxTokens: 6, temperature: 0, seed: 0 };
    const ref = await generateReference(weights, null, tokenizer, tokenizer.encodePrompt(prompt), options);
    await expect(answer.getByTestId('ask-text')).toHaveText(ref.text);
    const action = matchAction(ref.text, actions);
    await expect(answer).toHaveAttribute('data-match', action === null ? 'no' : 'yes');
    await expect(answer.getByTestId('ask-verdict')).toHaveText(verdict(action, actions));

    // With an adapter in use (loaded from PEFT files): both answers, the second the reference's with the adapter.
    const adapter = loraAdapter();
    await page.getByTestId('adapter-file').setInputFiles(peftPayload(adapter));
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
    await card.getByTestId('ask-freely-button').click();
    const adapted = card.locator('[data-testid="ask-answer"][data-who="adapter"]');
    await expect(adapted).toBeVisible({ timeout: 30_000 });
    await expect(adapted).toContainText('With adapter_model.safetensors');
    const refAdapted = await generateReference(weights, adapter, tokenizer, tokenizer.encodePrompt(prompt), options);
    await expect(adapted.getByTestId('ask-text')).toHaveText(refAdapted.text);
    await expect(adapted.getByTestId('ask-verdict')).toHaveText(
      verdict(matchAction(refAdapted.text, actions), actions),
    );
    await expect(answer.getByTestId('ask-text')).toHaveText(ref.text);
  });
});
