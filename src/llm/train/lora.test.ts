import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { checkLoraConfig, DEFAULT_LORA_CONFIG, initLoraAdapter, loraParameterCount, loraSlice } from './lora';

const llama7b = { hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, headDim: 128, layers: 32 };

describe('LoRA adapters', () => {
  it("the paper's default adapter on LLaMA-7B has 4,194,304 trainable parameters", () => {
    const adapter = initLoraAdapter({ ...llama7b, layers: 1 }, DEFAULT_LORA_CONFIG, new Rng(1));
    expect(loraParameterCount(adapter) * 32).toBe(4_194_304);
    expect(adapter.scale).toBe(2);
  });

  it('places targets on the rows of the fused MLC projections (GQA)', () => {
    const gqa = { hidden: 2048, intermediate: 8192, heads: 32, kvHeads: 8, headDim: 64 };
    expect(loraSlice(gqa, 'q_proj')).toMatchObject({ fused: 'qkv', rowOffset: 0, outDim: 2048, inDim: 2048 });
    expect(loraSlice(gqa, 'k_proj')).toMatchObject({ fused: 'qkv', rowOffset: 2048, outDim: 512 });
    expect(loraSlice(gqa, 'v_proj')).toMatchObject({ fused: 'qkv', rowOffset: 2560, outDim: 512 });
    expect(loraSlice(gqa, 'up_proj')).toMatchObject({ fused: 'gate_up', rowOffset: 8192, outDim: 8192, inDim: 2048 });
    expect(loraSlice(gqa, 'down_proj')).toMatchObject({ fused: 'down', outDim: 2048, inDim: 8192 });
  });

  it('initializes A uniformly within 1/sqrt(in) and B to zero, deterministically', () => {
    const model = { hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, headDim: 16, layers: 2 };
    const a = initLoraAdapter(model, DEFAULT_LORA_CONFIG, new Rng(3));
    const b = initLoraAdapter(model, DEFAULT_LORA_CONFIG, new Rng(3));
    expect(a).toEqual(b);
    expect(a.modules.map((m) => `${m.layer}:${m.slice.target}`)).toEqual([
      '0:q_proj',
      '0:v_proj',
      '1:q_proj',
      '1:v_proj',
    ]);
    for (const m of a.modules) {
      expect(m.b.every((v) => v === 0)).toBe(true);
      expect(Math.max(...m.a.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
      expect(Math.max(...m.a.map(Math.abs))).toBeGreaterThan(0.1);
    }
  });

  it('rejects bad configurations with messages naming the field', () => {
    expect(checkLoraConfig({ r: 0, alpha: 16, dropout: 0.1, targets: [] })).toEqual([
      'LoRA r must be a positive integer, got 0',
      "LoRA dropout 0.1 is not supported (use 0, the paper's value)",
      'LoRA needs at least one target module',
    ]);
  });
});
