import { describe, expect, it } from 'vitest';
import { ConfigError, derivePpo, paperPpoConfig, quickPpoConfig, type PpoConfig } from './config';

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
    expect([c.numEnvs, c.numSteps, c.policyNumMinibatches, c.valueNumMinibatches, c.gradientAccumulationSteps, c.updateEpochs]).toEqual([4, 32, 32, 4, 8, 1]);
    expect([c.gaeLambda, c.clipCoef, c.entCoef, c.vfCoef, c.maxGradNorm, c.targetKl, c.adamEps, c.normalization]).toEqual([0.95, 0.2, 0.01, 0.5, 0.5, 0.02, 1e-5, 'word']);
    expect(c.lora).toEqual({ r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] });
    expect(c.critic).toEqual({ hiddenSizes: [1024, 512], bias: false });
    expect(derivePpo(c)).toEqual({ batchSize: 128, policyMinibatchSize: 4, valueMinibatchSize: 32, policyStepsPerEpoch: 4, numUpdates: 3906, warmUpUpdates: 0 });
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
