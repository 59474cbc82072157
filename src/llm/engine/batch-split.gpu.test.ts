// A batch over the GPU's buffer limits runs as several passes (batch-plan.ts). The engine's `maxActivationBytes`
// forces the split on the micro model: its gate_up [rows, 2 x 128] f32 takes 1 KiB a row and its logits [J, 710]
// f32 2840 bytes a scored token, so a 105-row cap makes groups of whole prompts, prompts split into pieces of
// actions (each re-running the prompt; one on the logits, one on gate_up), and prompts alone.
// Scores and prompt hidden states must equal the unsplit engine's bit for bit (every row depends on its
// own prompt and action only); the LoRA gradients of a split training pass must equal the unsplit pass's to 1e-6
// (only the order of the sums over rows differs).
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { BatchTooLargeError, requestSizes, type BatchGroup } from './batch-plan';
import { LlamaEngine } from './engine';
import { ScoringForward } from './forward';
import { destroyLora, readLora, uploadLora } from '../train/gpu-lora';
import { LoraTrainer } from '../train/lora-trainer';
import type { ActionScores, PolicyRequest } from '../scores';
import { loraGradientCase, observationAfter, relativeError, scoreRequests } from './test-helpers';
import { directorySource } from '../model/weights-node';

const ROW_CAP = 105;
const CAP_BYTES = ROW_CAP * 2 * 128 * 4;

let ctx: GpuContext;
let whole: LlamaEngine;
let split: LlamaEngine;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
  whole = await LlamaEngine.load(ctx, source, { useSubgroups: false });
  split = await LlamaEngine.load(ctx, source, { useSubgroups: false, maxActivationBytes: CAP_BYTES });
});
afterAll(() => {
  whole?.dispose();
  split?.dispose();
  ctx?.device.destroy();
});
afterEach(() => vi.restoreAllMocks());

/**
 * Rows (prompt + action tokens) on the micro model: 52 and 50 (one prompt's actions 0-1 and 3-4; together 102:
 * one group), 101 (38 scored tokens, whose logits [38, 710] f32 exceed the cap: split into actions 0-6 and 7),
 * 111 (over 105 rows: split into actions 0-3 and 4), 88 (alone).
 */
function requests(): PolicyRequest[] {
  const salad = observationAfter('tomato-salad', [0]);
  return [
    { prompt: salad.prompt, actions: salad.actions.slice(0, 2) },
    { prompt: salad.prompt, actions: salad.actions.slice(3) },
    observationAfter('tomato-lettuce-salad', []),
    observationAfter('food-preparation', []),
    observationAfter('entertainment', []),
  ];
}

/** The passes the split engine plans for the requests: they must include every kind of group. */
function expectEveryKindOfGroup(groups: BatchGroup[]): void {
  expect(groups.length).toBeGreaterThan(2);
  expect(groups.some((g) => g.length >= 2 && g.every((p) => p.from === 0))).toBe(true); // whole prompts together
  const pieces = groups.flat();
  expect(pieces.some((p) => pieces.filter((q) => q.prompt === p.prompt).length >= 2)).toBe(true); // a prompt in pieces
}

describe('a batch over the activation limit, split into passes', () => {
  it('plans groups of whole prompts, a prompt in pieces, and a prompt alone (the sizes this test relies on)', () => {
    const encoded = split.tokenize(requests());
    expect(requestSizes(encoded).map((s) => s.promptTokens + s.actionTokens.reduce((a, b) => a + b, 0))).toEqual([
      52, 50, 101, 111, 88,
    ]);
    expect(whole.planGroups(encoded)).toHaveLength(1);
    const groups = split.planGroups(encoded);
    expectEveryKindOfGroup(groups);
    expect(groups).toEqual([
      [
        { prompt: 0, from: 0, to: 2 },
        { prompt: 1, from: 0, to: 2 },
      ],
      [{ prompt: 2, from: 0, to: 7 }],
      [{ prompt: 2, from: 7, to: 8 }],
      [{ prompt: 3, from: 0, to: 4 }],
      [{ prompt: 3, from: 4, to: 5 }],
      [{ prompt: 4, from: 0, to: 5 }],
    ]);
  });

  it('scores bit-identically to one pass: log-probs, counts, prompt hidden states (shared and separate)', async () => {
    const rs = requests();
    const passes = vi.spyOn(ScoringForward.prototype, 'encode');
    const expected = await scoreRequests(whole, rs);
    expect(passes).toHaveBeenCalledTimes(1);
    passes.mockClear();
    const actual = await scoreRequests(split, rs);
    expect(passes.mock.calls.length).toBe(split.planGroups(actual.batch).length);
    expect(actual).toEqual(expected);
    // Separate: every prompt + action is its own sequence, so pieces are single actions.
    const separate = { mode: 'separate' } as const;
    expect(await scoreRequests(split, rs, separate)).toEqual(await scoreRequests(whole, rs, separate));
  });

  it('scores with a LoRA adapter bit-identically (forwardScores with the adapter, what the rollout uses)', async () => {
    const { adapter } = loraGradientCase(whole);
    const lora = uploadLora(ctx.device, adapter);
    const rs = requests();
    const logprobs = (s: { scores: ActionScores[] }) => s.scores.map((p) => p.logprobs);
    const frozen = await scoreRequests(whole, rs);
    const [a, b] = [await scoreRequests(whole, rs, { lora }), await scoreRequests(split, rs, { lora })];
    expect(logprobs(b)).toEqual(logprobs(a));
    expect(logprobs(a)).not.toEqual(logprobs(frozen));
    destroyLora(lora);
  });

  it('accumulates the unsplit pass gradient (1e-6) from a loss that normalizes over the whole pass', async () => {
    const { adapter } = loraGradientCase(whole);
    const rs = requests();
    // dL/dS depends on every prompt's scores (a batch mean), so a per-group loss would give other values.
    const lossGrad = (scores: ActionScores[]) => {
      const all = scores.flatMap((s) => s.logprobs);
      const mean = all.reduce((x, y) => x + y, 0) / all.length;
      return scores.map((s, p) => s.logprobs.map((lp, k) => (lp - mean) * 0.1 + 0.01 * (p - k)));
    };
    const run = async (engine: LlamaEngine) => {
      const trainer = LoraTrainer.create(engine, { adapter });
      const seen: (readonly number[])[] = [];
      await trainer.accumulate(engine.tokenize(rs), (scores) => {
        scores.forEach((s) => seen.push(s.logprobs));
        return lossGrad(scores);
      });
      const grads = await readLora(ctx.device, trainer.lora, 'grads');
      trainer.dispose();
      return { grads, seen };
    };
    const passes = vi.spyOn(ScoringForward.prototype, 'encode');
    const a = await run(whole);
    expect(passes).toHaveBeenCalledTimes(1);
    passes.mockClear();
    const b = await run(split);
    expect(passes.mock.calls.length).toBe(split.planGroups(split.tokenize(rs)).length);
    expect(b.seen).toEqual(a.seen);
    // The whole gradient (what the optimizer clips and steps) within 1e-6; no module far off (a group's gradient
    // lost or counted twice would be ~1e-1). Measured on SwiftShader: 4.5e-7 whole, 6.1e-7 worst module.
    const flat = (gs: typeof a.grads) => gs.flatMap((g) => [...g.a, ...g.b]);
    const overall = relativeError(flat(b.grads), flat(a.grads));
    let worst = 0;
    b.grads.forEach(
      (g, i) => (worst = Math.max(worst, relativeError(g.a, a.grads[i].a), relativeError(g.b, a.grads[i].b))),
    );
    console.info(
      `split training pass: relative error of the LoRA gradients vs unsplit ${overall.toExponential(2)}, worst module ${worst.toExponential(2)}`,
    );
    expect(overall).toBeLessThanOrEqual(1e-6);
    expect(worst).toBeLessThanOrEqual(2e-6);
    expect(a.grads.every((g) => g.a.some((v) => v !== 0) && g.b.some((v) => v !== 0))).toBe(true);
  });

  it('refuses only a prompt with one action that cannot fit, saying which buffer and what to do', async () => {
    const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
    const tiny = await LlamaEngine.load(ctx, source, { useSubgroups: false, maxActivationBytes: 50 * 1024 });
    const rs = requests();
    // The salad prompt (43 tokens) fits 50 rows with one or two actions; tomato-lettuce's 63-token prompt cannot.
    const refusal =
      /^prompt 3 \(63 tokens\) with its action 1 alone \(5 tokens\) needs a gate_up \[rows, 2 x intermediate\] buffer of 69632 bytes but this GPU allows 51200 bytes per buffer, and one prompt with one action cannot be split further: use a GPU with larger limits/;
    await expect(scoreRequests(tiny, rs)).rejects.toThrow(BatchTooLargeError);
    await expect(scoreRequests(tiny, rs)).rejects.toThrow(refusal);
    const trainer = LoraTrainer.create(tiny, { adapter: loraGradientCase(tiny).adapter });
    const ones = (s: ActionScores[]) => s.map((p) => p.logprobs.map(() => 1));
    await expect(trainer.accumulate(tiny.tokenize(rs), ones)).rejects.toThrow(refusal);
    // What fits alone still scores.
    const fits = rs.slice(0, 2);
    expect((await scoreRequests(tiny, fits)).scores).toEqual((await scoreRequests(whole, fits)).scores);
    trainer.dispose();
    tiny.dispose();
  });
});
