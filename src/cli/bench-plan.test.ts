// `twosome bench plan`, called as main.ts calls it (argv after "bench plan"), on the micro model: the JSON
// contract, and what the static plan and the round trips promise, counted on the recording device.
import { describe, expect, it } from 'vitest';
import { benchPlanCommand } from './bench-plan';
import { UsageError } from './errors';
import { captureOutput } from '../util/testing';

const output = captureOutput();

describe('twosome bench plan', () => {
  it('--json: per call and per update, the counts; a warm call and a steady-state update create nothing', async () => {
    expect(await benchPlanCommand(['--model', 'micro', '--json'])).toBe(0);
    const r = JSON.parse(output.stdout);
    expect(Object.keys(r)).toEqual([
      'model',
      'modelWeightBytes',
      'call',
      'callRepeat',
      'update',
      'update2',
      'updates',
      'plan',
      'task',
      'preset',
      'promptsPerPass',
      'matmul',
    ]);
    for (const c of [r.call, r.callRepeat, r.update, r.update2]) {
      expect(Object.keys(c)).toEqual([
        'dispatches',
        'blockingWaits',
        'bindGroupsCreated',
        'buffersCreated',
        'submits',
        'weightReadFactor',
        'flops',
      ]);
    }
    // One scoring call: one submission, one wait; on the warm engine nothing is created.
    expect(r.call).toMatchObject({ blockingWaits: 1, submits: 1 });
    expect(r.call.dispatches).toBeGreaterThan(0);
    expect(r.call.weightReadFactor).toBeGreaterThan(1);
    expect(r.callRepeat).toMatchObject({
      dispatches: r.call.dispatches,
      blockingWaits: 1,
      bindGroupsCreated: 0,
      buffersCreated: 0,
    });
    // The paper preset (32 steps of 4 envs; 4 value and 32 policy minibatches in 4 accumulation windows with a
    // KL target, prompts per pass 4): one wait per rollout step, one for the bootstrap values, one per window
    // (its policy losses, which run on the GPU, for the KL stop), none for a policy pass or a value minibatch,
    // one at the end for the optimizers' step info and the value losses. The issue's goal: at most 40.
    expect(r.promptsPerPass).toBe(4);
    expect(r.update.blockingWaits).toBe(32 + 1 + 4 + 1);
    expect(r.update.blockingWaits).toBeLessThanOrEqual(40);
    expect(r.update2.blockingWaits).toBe(r.update.blockingWaits);
    expect(r.update.bindGroupsCreated).toBeGreaterThan(0);
    expect(r.update2).toMatchObject({ bindGroupsCreated: 0, buffersCreated: 0 });
    expect(r.plan.exactShapes).toBeGreaterThan(r.plan.rungsUsed);
  });

  it('one pass per accumulation window: still one wait per window', async () => {
    expect(await benchPlanCommand(['--model', 'micro', '--prompts-per-pass', '32', '--json'])).toBe(0);
    const r = JSON.parse(output.stdout);
    expect(r.update.blockingWaits).toBe(32 + 1 + 4 + 1);
  });

  it('bad input: a clear usage error', async () => {
    await expect(benchPlanCommand([])).rejects.toThrow(UsageError);
    await expect(benchPlanCommand(['--model', 'micro', '--preset', 'fast'])).rejects.toThrow(
      /--preset fast: use paper or quick/,
    );
    await expect(benchPlanCommand(['--model', 'micro', '--task', 'nope'])).rejects.toThrow(/--task nope: unknown task/);
    await expect(benchPlanCommand(['--model', 'no-such-model'])).rejects.toThrow(/not a catalog model id/);
    await expect(benchPlanCommand(['--model', 'micro', '--matmul', 'fast'])).rejects.toThrow(
      /--matmul fast: use tiled or legacy/,
    );
  });
});
