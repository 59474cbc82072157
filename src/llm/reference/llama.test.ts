import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import type { Llama3RopeScaling, LlamaConfig } from '../model/config';
import type { LlamaLayerWeights, LlamaWeights } from '../model/weights';
import { llama3ScaledFrequency, llamaForward, logSoftmax, ropeInvFreq } from './llama';
import { logSoftmaxGatherForward } from './logsoftmax-gather';
import { ropeForward as rope } from './rope';

function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    modelType: 'llama',
    quantization: 'q0f32',
    hidden: 4,
    intermediate: 4,
    heads: 1,
    kvHeads: 1,
    headDim: 4,
    layers: 1,
    rmsNormEps: 1e-12,
    vocabSize: 4,
    tieEmbeddings: true,
    ropeTheta: 10000,
    ropeScaling: null,
    contextWindow: 64,
    bosTokenId: 1,
    eosTokenIds: [2],
    tokenizerFiles: [],
    ...over,
  };
}

const identity = (n: number, scale = 1) =>
  Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? scale : 0));
const zeros = (n: number) => new Float32Array(n);
const ones = (n: number) => new Float32Array(n).fill(1);

/** One layer whose attention and MLP are given (defaults: zero, i.e. the layer passes x through). */
function tinyWeights(
  config: LlamaConfig,
  layer: Partial<LlamaLayerWeights>,
  embed: Float32Array,
  finalNorm = ones(config.hidden),
): LlamaWeights {
  const H = config.hidden;
  const qkvRows = (config.heads + 2 * config.kvHeads) * config.headDim;
  const full: LlamaLayerWeights = {
    inputNorm: ones(H),
    qkv: zeros(qkvRows * H),
    o: zeros(H * config.heads * config.headDim),
    postNorm: ones(H),
    gateUp: zeros(2 * config.intermediate * H),
    down: zeros(H * config.intermediate),
    ...layer,
  };
  return { config, embed, layers: [full], finalNorm, lmHead: embed };
}

function randomWeights(config: LlamaConfig, seed: number): LlamaWeights {
  const rng = new Rng(seed);
  const r = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
  const { hidden: H, intermediate: I, heads, kvHeads, headDim: hd, vocabSize: V } = config;
  const layers = Array.from({ length: config.layers }, () => ({
    inputNorm: Float32Array.from({ length: H }, () => 1 + 0.1 * rng.normal()),
    qkv: r((heads + 2 * kvHeads) * hd * H, 1 / Math.sqrt(H)),
    o: r(H * heads * hd, 1 / Math.sqrt(heads * hd)),
    postNorm: Float32Array.from({ length: H }, () => 1 + 0.1 * rng.normal()),
    gateUp: r(2 * I * H, 1 / Math.sqrt(H)),
    down: r(H * I, 1 / Math.sqrt(I)),
  }));
  const embed = r(V * H, 2 / Math.sqrt(H));
  return {
    config,
    embed,
    layers,
    finalNorm: Float32Array.from({ length: H }, () => 1 + 0.1 * rng.normal()),
    lmHead: config.tieEmbeddings ? embed : r(V * H, 2 / Math.sqrt(H)),
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('llamaForward on hand-checkable tiny models', () => {
  it('with attention and MLP switched off, logits are the normed embedding times the tied embedding', () => {
    const config = tinyConfig();
    const w = tinyWeights(config, {}, identity(4, 2), Float32Array.from([1, 2, 3, 4]));
    const { logits, hidden } = llamaForward(w, [0, 3, 2]);
    // x = 2 e_t, rms(x) = 1, hidden = 2 e_t * norm[t], logits = hidden . (2 e_v) = 4 norm[t] [v == t]
    expect(Array.from(hidden.subarray(4, 8))).toEqual([0, 0, 0, 8]);
    expect(Array.from(logits)).toEqual([4, 0, 0, 0, 0, 0, 0, 16, 0, 0, 12, 0]);
  });

  it('attention with zero q and k averages v over the causal prefix', () => {
    const config = tinyConfig();
    // qkv rows: Q (4 rows) = 0, K (4) = 0, V (4) = identity; o_proj = identity.
    const qkv = new Float32Array(12 * 4);
    qkv.set(identity(4), 8 * 4);
    const w = tinyWeights(config, { qkv, o: identity(4) }, identity(4, 2));
    const { logits, hidden } = llamaForward(w, [0, 1]);
    // x0 = [2,0,0,0], x1 = [0,2,0,0]; v = normed x = x; out0 = v0, out1 = (v0 + v1) / 2 = [1,1,0,0]
    // x0' = [4,0,0,0] -> hidden [2,0,0,0]; x1' = [1,3,0,0], rms = sqrt(10/4) -> hidden [1,3,0,0] / sqrt(2.5)
    const r = Math.sqrt(2.5);
    const expectHidden = [2, 0, 0, 0, 1 / r, 3 / r, 0, 0];
    expect(maxAbsDiff(hidden, expectHidden)).toBeLessThan(1e-6);
    expect(maxAbsDiff(logits.subarray(4, 8), [2 / r, 6 / r, 0, 0])).toBeLessThan(1e-6);
  });

  it('the MLP computes down(silu(gate) * up) with gate rows first', () => {
    const config = tinyConfig();
    const gateUp = new Float32Array(8 * 4);
    gateUp.set(identity(4), 0); // gate = a
    gateUp.set(identity(4, 3), 16); // up = 3 a
    const embed = Float32Array.from([1, -1, 2, 0.5, ...identity(4).subarray(4)]);
    const w = tinyWeights(config, { gateUp, down: identity(4) }, embed);
    const { hidden } = llamaForward(w, [0]);
    // By hand: a = x / rms(x); x' = x + silu(a) * 3a; hidden = x' / rms(x').
    const x = [1, -1, 2, 0.5];
    const rms = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0) / v.length);
    const a = x.map((e) => e / rms(x));
    const x2 = x.map((e, i) => e + (a[i] / (1 + Math.exp(-a[i]))) * 3 * a[i]);
    expect(
      maxAbsDiff(
        hidden,
        x2.map((e) => e / rms(x2)),
      ),
    ).toBeLessThan(1e-6);
  });

  it('rejects tokens outside the vocabulary and sequences longer than the context', () => {
    const w = tinyWeights(tinyConfig({ contextWindow: 3 }), {}, identity(4, 2));
    expect(() => llamaForward(w, [0, 4])).toThrow(/outside the vocabulary/);
    expect(() => llamaForward(w, [0, 1, 2, 3])).toThrow(/exceed the context window/);
  });
});

describe('RoPE', () => {
  it('turns each pair (d, d + hd/2) of Q and K heads as a complex number times e^(i p f_d); V is untouched', () => {
    const heads = 2;
    const kvHeads = 1;
    const hd = 8;
    const stride = (heads + 2 * kvHeads) * hd;
    const positions = [0, 3, 17, 1000];
    const rng = new Rng(1);
    const qkv = Float32Array.from({ length: positions.length * stride }, () => rng.normal());
    const before = qkv.slice();
    const inv = ropeInvFreq(hd, 10000);
    expect(inv[1]).toBeCloseTo(10000 ** (-2 / 8), 7);
    rope(qkv, positions, inv, heads, kvHeads, hd);
    positions.forEach((p, r) => {
      for (let h = 0; h < heads + 2 * kvHeads; h++) {
        for (let d = 0; d < hd / 2; d++) {
          const i = r * stride + h * hd + d;
          const [re, im] = [before[i], before[i + hd / 2]];
          const angle = p * inv[d];
          const want =
            h < heads + kvHeads
              ? [re * Math.cos(angle) - im * Math.sin(angle), re * Math.sin(angle) + im * Math.cos(angle)]
              : [re, im];
          expect(qkv[i]).toBeCloseTo(want[0], 3);
          expect(qkv[i + hd / 2]).toBeCloseTo(want[1], 3);
        }
      }
    });
  });

  it('makes q . k depend only on the position difference', () => {
    const hd = 16;
    const rng = new Rng(2);
    const q = Float32Array.from({ length: hd }, () => rng.normal());
    const k = Float32Array.from({ length: hd }, () => rng.normal());
    const inv = ropeInvFreq(hd, 10000);
    const dotAt = (m: number, n: number) => {
      const row = new Float32Array(3 * hd);
      row.set(q, 0);
      const rowK = new Float32Array(3 * hd);
      rowK.set(k, hd);
      rope(row, [m], inv, 1, 1, hd);
      rope(rowK, [n], inv, 1, 1, hd);
      let dot = 0;
      for (let d = 0; d < hd; d++) dot += row[d] * rowK[hd + d];
      return dot;
    };
    expect(dotAt(7, 3)).toBeCloseTo(dotAt(24, 20), 4);
    expect(dotAt(7, 3)).not.toBeCloseTo(dotAt(7, 4), 2);
  });

  it("implements the Llama-3 frequency scaling: values computed by hand from HF's piecewise formula", () => {
    const s: Llama3RopeScaling = {
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    };
    const inv = ropeInvFreq(128, 500000, s);
    // d: wavelength 2 pi / f against 8192 / 4 = 2048 and 8192 / 1 = 8192.
    const hand: [number, number][] = [
      [0, 1.0], // wavelength 6.3: high frequency, kept
      [20, 0.016560440080994446], // 379: kept
      [30, 0.001290547928209264], // 2948: blended, smooth = (8192 / 2948.3 - 1) / 3 = 0.5929
      [40, 8.570255489881478e-6], // 22911: low frequency, f / 32
      [63, 7.672314972286278e-8], // f / 32
    ];
    for (const [d, want] of hand) expect(Math.abs(inv[d] - want) / want, `d = ${d}`).toBeLessThan(1e-6);
  });

  it("matches HF's piecewise form (wavelength thresholds) for every frequency of several configs", () => {
    const hfScaled = (f: number, s: Llama3RopeScaling) => {
      const wavelen = (2 * Math.PI) / f;
      const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / s.factor;
      const smooth =
        (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      return ((1 - smooth) * f) / s.factor + smooth * f;
    };
    const configs: Llama3RopeScaling[] = [
      { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }, // Llama-3.1
      { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }, // Llama-3.2
      { type: 'llama3', factor: 4, lowFreqFactor: 2, highFreqFactor: 8, originalMaxPositionEmbeddings: 64 },
    ];
    for (const s of configs) {
      for (const [hd, theta] of [
        [128, 500000],
        [64, 10000],
        [16, 500000],
      ]) {
        for (let d = 0; d < hd / 2; d++) {
          const f = 1 / theta ** ((2 * d) / hd);
          expect(Math.abs(llama3ScaledFrequency(f, s) - hfScaled(f, s)) / f).toBeLessThan(1e-12);
        }
      }
    }
  });
});

describe('attention', () => {
  // Both tests run a two-layer model with grouped-query attention: 4 query heads sharing 2 kv heads.
  const gqaShape = { hidden: 32, heads: 4, kvHeads: 2, headDim: 8, layers: 2, rmsNormEps: 1e-5 };

  it('GQA equals multi-head attention with each kv head repeated for its query heads', () => {
    const gqaConfig = tinyConfig({ ...gqaShape, intermediate: 32, vocabSize: 50, tieEmbeddings: false });
    const gqa = randomWeights(gqaConfig, 5);
    const mhaConfig = { ...gqaConfig, kvHeads: 4 };
    const H = 32;
    const hd = 8;
    const mha: LlamaWeights = {
      ...gqa,
      config: mhaConfig,
      layers: gqa.layers.map((layer) => {
        const qkv = new Float32Array((4 + 2 * 4) * hd * H);
        qkv.set(layer.qkv.subarray(0, 4 * hd * H), 0); // Q unchanged
        for (let h = 0; h < 4; h++) {
          const g = Math.floor(h / 2);
          qkv.set(layer.qkv.subarray((4 + g) * hd * H, (4 + g + 1) * hd * H), (4 + h) * hd * H); // K of kv head g
          qkv.set(layer.qkv.subarray((4 + 2 + g) * hd * H, (4 + 2 + g + 1) * hd * H), (8 + h) * hd * H); // V of kv head g
        }
        return { ...layer, qkv };
      }),
    };
    const tokens = [1, 7, 12, 49, 3, 3, 20];
    const a = llamaForward(gqa, tokens);
    const b = llamaForward(mha, tokens);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
    // and GQA is not a no-op: sharing the other kv head changes the result
    const swapped = { ...gqa, layers: gqa.layers.map((l) => ({ ...l, qkv: l.qkv.slice().reverse() })) };
    expect(maxAbsDiff(llamaForward(swapped, tokens).logits, a.logits)).toBeGreaterThan(1e-3);
  });

  it('is causal: later tokens do not change earlier logits or hidden states', () => {
    const config = tinyConfig({
      ...gqaShape,
      intermediate: 64,
      vocabSize: 40,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 16,
      },
    });
    const w = randomWeights(config, 6);
    const short = llamaForward(w, [1, 5, 9]);
    const long = llamaForward(w, [1, 5, 9, 30, 2, 17]);
    expect(maxAbsDiff(short.logits, long.logits.subarray(0, 3 * 40))).toBeLessThan(1e-6);
    expect(maxAbsDiff(short.hidden, long.hidden.subarray(0, 3 * 32))).toBeLessThan(1e-6);
    // ... while the last rows do depend on the earlier tokens
    const other = llamaForward(w, [1, 6, 9, 30, 2, 17]);
    expect(maxAbsDiff(other.logits.subarray(5 * 40), long.logits.subarray(5 * 40))).toBeGreaterThan(1e-4);
  });
});

describe('logSoftmax', () => {
  it('normalizes rows and agrees with logSoftmaxGather', () => {
    const rng = new Rng(8);
    const logits = Float32Array.from({ length: 3 * 10 }, () => rng.normal() * 5 + 100);
    const logp = logSoftmax(logits, 3, 10);
    for (let r = 0; r < 3; r++) {
      let total = 0;
      for (let v = 0; v < 10; v++) total += Math.exp(logp[r * 10 + v]);
      expect(total).toBeCloseTo(1, 6);
    }
    const targets = [2, 9, 0];
    const gathered = logSoftmaxGatherForward(logits, targets, 10, 'float32');
    targets.forEach((t, r) => expect(logp[r * 10 + t]).toBeCloseTo(gathered[r], 5));
  });
});
