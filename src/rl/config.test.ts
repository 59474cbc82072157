import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  derivePpo,
  paperPpoConfig,
  paperPpoMlpConfig,
  presetConfig,
  quickPpoConfig,
  type PpoConfig,
} from './config';

describe('TWOSOME config presets (spec 2.4)', () => {
  it('paper rows per task', () => {
    const rows = (['tomato-salad', 'tomato-lettuce-salad', 'food-preparation', 'entertainment'] as const).map((id) => {
      const c = paperPpoConfig(id);
      return [c.policyLr, c.valueLr, c.totalTimesteps, c.gamma, c.seed, c.smdpDiscount];
    });
    expect(rows).toEqual([
      [5e-7, 1e-5, 500_000, 0.99, 1, true],
      [5e-7, 1e-5, 500_000, 0.99, 1, true],
      [1e-6, 5e-5, 50_000, 0.95, 10, false],
      [1e-6, 5e-5, 200_000, 0.95, 100, false],
    ]);
  });

  it('shared settings and derived sizes', () => {
    const c = paperPpoConfig('tomato-salad');
    expect([
      c.numEnvs,
      c.numSteps,
      c.policyNumMinibatches,
      c.valueNumMinibatches,
      c.gradientAccumulationSteps,
      c.updateEpochs,
    ]).toEqual([4, 32, 32, 4, 8, 1]);
    expect([
      c.gaeLambda,
      c.clipCoef,
      c.entCoef,
      c.vfCoef,
      c.maxGradNorm,
      c.targetKl,
      c.adamEps,
      c.normalization,
    ]).toEqual([0.95, 0.2, 0.01, 0.5, 0.5, 0.02, 1e-5, 'word']);
    expect(c.lora).toEqual({ r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] });
    expect(c.critic).toEqual({ hiddenSizes: [1024, 512], bias: false });
    expect(derivePpo(c)).toEqual({
      batchSize: 128,
      policyMinibatchSize: 4,
      valueMinibatchSize: 32,
      policyStepsPerEpoch: 4,
      numUpdates: 3906,
      warmUpUpdates: 0,
    });
  });

  it("unseen tasks use Food Preparation's row", () => {
    const { taskId: _a, ...fp } = paperPpoConfig('food-preparation');
    const { taskId: _b, ...laundry } = paperPpoConfig('laundry');
    expect(laundry).toEqual(fp);
  });

  it('quick preset is valid and keeps the paper minibatch size', () => {
    for (const id of ['tomato-salad', 'food-preparation', 'cheese'] as const) {
      const d = derivePpo(quickPpoConfig(id));
      expect(d.policyMinibatchSize).toBe(4);
      expect(d.batchSize).toBe(64);
      expect(d.policyStepsPerEpoch).toBe(2);
    }
  });

  it('rejects inconsistent configs with the field name', () => {
    const c = paperPpoConfig('tomato-salad');
    const bad = (o: Partial<PpoConfig>) => () => derivePpo({ ...c, ...o });
    expect(bad({ policyNumMinibatches: 30 })).toThrow(/policyNumMinibatches/);
    expect(bad({ gradientAccumulationSteps: 3 })).toThrow(/gradientAccumulationSteps/);
    expect(bad({ gamma: 1.5 })).toThrow(/gamma/);
    expect(bad({ numEnvs: 0 })).toThrow(ConfigError);
    expect(bad({ totalTimesteps: 10 })).toThrow(/totalTimesteps/);
    expect(bad({ normalization: 'tokens' as never })).toThrow(/normalization/);
  });
});

describe('presetConfig: the one builder of the CLI and the playground', () => {
  it('TWOSOME: the preset, then the seed, the step budget and the overrides', () => {
    expect(presetConfig('twosome', 'entertainment', 'quick')).toEqual(quickPpoConfig('entertainment'));
    expect(presetConfig('twosome', 'entertainment', 'paper')).toEqual(paperPpoConfig('entertainment'));
    const c = presetConfig('twosome', 'tomato-salad', 'quick', {
      seed: 7,
      steps: 640,
      overrides: { policyLr: 1e-3, entCoef: undefined },
    });
    expect([c.seed, c.totalTimesteps, c.policyLr, c.entCoef]).toEqual([7, 640, 1e-3, 0.05]);
    // the preset's keys, in the preset's order (run.json and checkpoints print them)
    expect(Object.keys(c)).toEqual(Object.keys(quickPpoConfig('tomato-salad')));
    expect(() => presetConfig('twosome', 'tomato-salad', 'quick', { steps: 10 })).toThrow(ConfigError);
  });

  it("PPO-MLP: the baseline script's config; 'quick' runs TWOSOME's quick budget, the rollout cut to fit", () => {
    expect(presetConfig('ppo-mlp', 'food-preparation', 'paper', { seed: 3 })).toEqual({
      ...paperPpoMlpConfig('food-preparation'),
      seed: 3,
    });
    const quick = presetConfig('ppo-mlp', 'food-preparation', 'quick');
    expect([quick.totalTimesteps, quick.numSteps, quick.numMinibatches, quick.learningRate]).toEqual([
      5_000, 128, 4, 1e-3,
    ]);
    const tiny = presetConfig('ppo-mlp', 'tomato-salad', 'paper', {
      steps: 100,
      overrides: { numEnvs: 2, policyLr: 1 },
    });
    expect([tiny.numEnvs, tiny.numSteps, tiny.numMinibatches, tiny.totalTimesteps, tiny.learningRate]).toEqual([
      2, 50, 4, 100, 1e-4,
    ]);
  });

  it("unseen variants take their training task's rows; the quick budget follows the task", () => {
    expect(quickPpoConfig('washing-plate').totalTimesteps).toBe(5_000);
    expect(quickPpoConfig('tomato-lettuce-salad').totalTimesteps).toBe(20_000);
    expect(paperPpoMlpConfig('laundry').learningRate).toBe(paperPpoMlpConfig('food-preparation').learningRate);
    expect(quickPpoConfig('tomato-salad').smdpDiscount).toBe(true);
    expect(quickPpoConfig('pizza').smdpDiscount).toBe(false);
  });
});
