// The CPU training reference: LoRA forward and backward against central finite differences, in float64 end
// to end (the reference's default precision), on tiny random models from makeModel.
//
// Finite differences: adapters hold float32, so a step v +/- eps lands on a float32. eps = 2^-13 (~1.2e-4), a
// power of two, makes both steps exact for nearly every v (|v| between 2^-13 and 2^10, away from a binade
// edge); otherwise the quotient uses the steps actually taken, (L(v + h+) - L(v - h-)) / (h+ + h-), whose
// error is O(eps^2) + O(|h+ - h-|). Truncation ~eps^2 ~ 1e-8 relative, float64 roundoff of the loss
// ~1e-15 / 1e-4 = 1e-11. Observed relative errors: ~1e-9 with float64 dL/dS, ~1e-5 with
// rl/policy.ts's float32 dL/dS; the bounds checked are 1e-5 and 1e-3 (the issue's).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { actionDistribution, scoreGradients } from '../../rl/policy';
import { initLoraAdapter, LORA_TARGETS, type LoraAdapter, type LoraConfig } from '../train/lora';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { loadLlamaModel, memorySource, type LlamaWeights } from '../model/weights';
import { llamaForward } from './llama';
import { scoreTokenSequences } from './score';
import { attentionBackward, attentionForward, causalSegments } from './attention';
import {
  linearBackwardInput,
  linearForward,
  loraBackward,
  loraForward,
  loraGradients,
  loraGradientsPerToken,
  loraSequenceForward,
  scoreWithLora,
  type LoraModuleGradient,
  type ScoringPrompt,
} from './backward';
import { logSoftmaxGatherBackward, logSoftmaxGatherForward } from './logsoftmax-gather';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { ropeBackward, ropeForward } from './rope';
import { siluMulBackward, siluMulForward } from './silu-mul';
import { ropeInvFreq } from '../engine/rope';
import { planScoring } from '../engine/scoring-layout';

async function model(options: Partial<MakeModelOptions>): Promise<LlamaWeights> {
  const made = makeModel({ hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, ...options });
  return (await loadLlamaModel(memorySource(made.files), { verifyMd5: false })).weights;
}

/** Several prompts with different numbers of actions (2, 3, 4) and action lengths (1-3 tokens). */
function randomPrompts(weights: LlamaWeights, rng: Rng): { prompts: ScoringPrompt[]; words: number[][] } {
  const V = weights.config.vocabSize;
  const tok = () => 3 + rng.int(V - 3);
  const prompts: ScoringPrompt[] = [];
  const words: number[][] = [];
  [
    [5, 2],
    [7, 3],
    [4, 4],
  ].forEach(([promptLen, nActions]) => {
    const promptIds = [weights.config.bosTokenId, ...Array.from({ length: promptLen - 1 }, tok)];
    const actions = Array.from({ length: nActions }, () => Array.from({ length: 1 + rng.int(3) }, tok));
    prompts.push({ promptIds, actions });
    // W_k: word counts between 1 and the token count (as for real actions).
    words.push(actions.map((a) => 1 + rng.int(a.length)));
  });
  return { prompts, words };
}

/** B random nonzero (so every path, A's included, carries gradient); A perturbed from PEFT's init. */
function randomAdapter(weights: LlamaWeights, config: LoraConfig, rng: Rng): LoraAdapter {
  const adapter = initLoraAdapter(weights.config, config, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = 0.2 * rng.normal();
  return adapter;
}

/**
 * A PPO-like policy loss over word-normalized log-probs, for every prompt p:
 *   L_p = c_p log pi(a_p) + c'_p log pi(a'_p) + e H(pi_p),   z_k = S_k / W_k,  pi = softmax(z)
 * evaluated in float64 here. dL/dS comes from rl/policy.ts (scoreGradients), as the trainer will use it; that
 * rounds z and pi to float32 (torch's Categorical), which limits its agreement with the float64 loss to ~1e-5
 * relative. dLdS64 is the same gradient in float64,
 *   dL/dS_k = (c ([k = a] - pi_k) + c' ([k = a'] - pi_k) - e pi_k (log pi_k + H)) / W_k,
 * with which the model gradients match finite differences to ~1e-8.
 */
interface PolicyLoss {
  value(S: number[][]): number;
  dLdS(S: number[][]): Float64Array[];
  dLdS64(S: number[][]): Float64Array[];
}

function policyLoss(words: number[][], rng: Rng): PolicyLoss {
  const terms = words.map((w) => ({ a: rng.int(w.length), c: rng.normal(), a2: rng.int(w.length), c2: rng.normal() }));
  const e = 0.5;
  const policy = (s: number[], p: number) => {
    const z = s.map((v, k) => v / words[p][k]);
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0));
    const logpi = z.map((v) => v - lse);
    const H = -logpi.reduce((acc, v) => acc + Math.exp(v) * v, 0);
    return { logpi, H };
  };
  return {
    value(S) {
      let L = 0;
      S.forEach((s, p) => {
        const { logpi, H } = policy(s, p);
        const t = terms[p];
        L += t.c * logpi[t.a] + t.c2 * logpi[t.a2] + e * H;
      });
      return L;
    },
    dLdS64(S) {
      return S.map((s, p) => {
        const { logpi, H } = policy(s, p);
        const t = terms[p];
        return Float64Array.from(logpi, (lp, k) => {
          const pi = Math.exp(lp);
          return (
            (t.c * ((k === t.a ? 1 : 0) - pi) + t.c2 * ((k === t.a2 ? 1 : 0) - pi) - e * pi * (lp + H)) / words[p][k]
          );
        });
      });
    },
    dLdS(S) {
      return S.map((s, p) => {
        const dist = actionDistribution({ logprobs: s, nTokens: s.map(() => 5), nWords: words[p] }, 'word');
        const t = terms[p];
        const g = scoreGradients(dist, t.a, t.c, e);
        const g2 = scoreGradients(dist, t.a2, t.c2, 0);
        return g.map((v, k) => v + g2[k]);
      });
    },
  };
}

/** Central difference of f w.r.t. arr[i] using the float32 steps actually taken. */
function centralDifference(arr: Float32Array, i: number, eps: number, f: () => number): number {
  const v = arr[i];
  arr[i] = v + eps;
  const hp = arr[i] - v;
  const lp = f();
  arr[i] = v - eps;
  const hm = v - arr[i];
  const lm = f();
  arr[i] = v;
  return (lp - lm) / (hp + hm);
}

const FD_EPS = 2 ** -16;

function relErr(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

const ALL: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] };
const QV: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] };

const CASES: { name: string; options: Partial<MakeModelOptions>; lora: LoraConfig }[] = [
  {
    name: 'GQA 4/2, untied, plain RoPE, q4f16_1, LoRA q/v (r 8, alpha 16)',
    options: { kvHeads: 2, tieEmbeddings: false, ropeScaling: 'none' },
    lora: QV,
  },
  {
    name: 'MQA 4/1, tied, llama3 RoPE, q4f32_1, LoRA on all seven targets',
    options: { kvHeads: 1, tieEmbeddings: true, ropeScaling: 'llama3', quantization: 'q4f32_1' },
    lora: ALL,
  },
  {
    name: 'MHA 2/2, hidden 64, 1 layer, untied, llama3 RoPE, q0f32, LoRA k/o/gate/down',
    options: { hidden: 64, layers: 1, heads: 2, kvHeads: 2, ropeScaling: 'llama3', quantization: 'q0f32' },
    lora: { r: 2, alpha: 5, dropout: 0, targets: ['k_proj', 'o_proj', 'gate_proj', 'down_proj'] },
  },
];

describe('LoRA gradients match central finite differences of a word-normalized policy loss', () => {
  for (const { name, options, lora } of CASES) {
    it(name, async () => {
      const weights = await model(options);
      const rng = new Rng(7);
      const { prompts, words } = randomPrompts(weights, rng);
      const adapter = randomAdapter(weights, lora, rng);
      const loss = policyLoss(words, rng);
      const f = () => loss.value(scoreWithLora(weights, adapter, prompts).logprobs);

      const S = scoreWithLora(weights, adapter, prompts).logprobs;
      const dLdS = loss.dLdS(S);
      const dLdS64 = loss.dLdS64(S);
      dLdS.forEach((g, p) => g.forEach((v, k) => expect(Math.abs(v - dLdS64[p][k])).toBeLessThan(1e-5)));
      const { modules, scores } = loraGradients(weights, adapter, prompts, dLdS);
      const exact = loraGradients(weights, adapter, prompts, dLdS64).modules;
      expect(scores.logprobs).toEqual(S);
      expect(modules.map((g) => [g.layer, g.target])).toEqual(adapter.modules.map((m) => [m.layer, m.slice.target]));

      // A few random entries of A and of B of every module.
      let worst = 0;
      let worstExact = 0;
      let checked = 0;
      adapter.modules.forEach((m, i) => {
        for (const which of ['a', 'b'] as const) {
          const arr = m[which];
          const g = modules[i][which];
          expect(g.length).toBe(arr.length);
          expect(g.some((v) => v !== 0)).toBe(true);
          for (let n = 0; n < 3; n++) {
            const idx = rng.int(arr.length);
            const fd = centralDifference(arr, idx, FD_EPS, f);
            // entries whose gradient is ~0 compare absolutely (relative error is meaningless there)
            if (Math.max(Math.abs(fd), Math.abs(g[idx])) > 1e-6) {
              worst = Math.max(worst, relErr(fd, g[idx]));
              worstExact = Math.max(worstExact, relErr(fd, exact[i][which][idx]));
            } else expect(Math.abs(fd - g[idx])).toBeLessThan(1e-8);
            checked++;
          }
        }
      });
      expect(checked).toBe(adapter.modules.length * 6);
      expect(worst).toBeLessThan(1e-3); // the bound, with the trainer's float32 policy gradients
      expect(worstExact).toBeLessThan(1e-5); // float64 all the way

      // The whole gradient at once: directional derivative along a random direction of every parameter.
      const saved = adapter.modules.map((m) => ({ a: m.a.slice(), b: m.b.slice() }));
      const dirs = adapter.modules.map((m) => ({ a: m.a.map(() => rng.normal()), b: m.b.map(() => rng.normal()) }));
      const eps = FD_EPS;
      let predicted = 0;
      const shift = (sign: 1 | -1) =>
        adapter.modules.forEach((m, i) => {
          for (const which of ['a', 'b'] as const) {
            const arr = m[which];
            for (let k = 0; k < arr.length; k++) {
              arr[k] = saved[i][which][k] + sign * eps * dirs[i][which][k];
              predicted += sign * (arr[k] - saved[i][which][k]) * exact[i][which][k];
            }
          }
        });
      shift(1);
      const lp = f();
      shift(-1);
      const lm = f();
      adapter.modules.forEach((m, i) => {
        m.a.set(saved[i].a);
        m.b.set(saved[i].b);
      });
      expect(relErr(lp - lm, predicted)).toBeLessThan(1e-5);
    });
  }
});

describe('LoRA forward', () => {
  it('with LoRA off (adapter null) in float32 equals llamaForward / scoreTokenSequences bit for bit; float64 is close', async () => {
    const weights = await model({ kvHeads: 2 });
    const { prompts } = randomPrompts(weights, new Rng(3));
    const f32 = scoreWithLora(weights, null, prompts, { precision: 'float32' });
    const f64 = scoreWithLora(weights, null, prompts);
    prompts.forEach(({ promptIds, actions }, p) => {
      const ref = scoreTokenSequences(
        weights,
        promptIds,
        actions.map((tokenIds) => ({ text: 'x', tokenIds })),
      );
      ref.actions.forEach((a, k) => {
        expect(f32.logprobs[p][k]).toBe(a.logprob);
        expect(f32.tokenLogprobs[p][k]).toEqual(a.tokenLogprobs);
        expect(f64.logprobs[p][k]).toBeCloseTo(a.logprob, 4);
      });
    });
    // hidden states and logits too
    const { promptIds, actions } = prompts[1];
    const tokens = [...promptIds, ...actions[0]];
    const ref = llamaForward(weights, tokens);
    const fwd = loraSequenceForward(weights, null, tokens, [2, tokens.length - 1], [5, 6], { precision: 'float32' });
    expect(Array.from(fwd.hidden)).toEqual(Array.from(ref.hidden));
    const V = weights.config.vocabSize;
    expect(Array.from(fwd.logits.subarray(V, 2 * V))).toEqual(Array.from(ref.logits.subarray((tokens.length - 1) * V)));
  });

  it('a fresh adapter (B = 0) leaves every score unchanged, a trained one changes them', async () => {
    const weights = await model({ tieEmbeddings: true });
    const rng = new Rng(4);
    const { prompts } = randomPrompts(weights, rng);
    const fresh = initLoraAdapter(weights.config, ALL, rng);
    for (const precision of ['float32', 'float64'] as const) {
      expect(scoreWithLora(weights, fresh, prompts, { precision })).toEqual(
        scoreWithLora(weights, null, prompts, { precision }),
      );
    }
    const trained = randomAdapter(weights, ALL, rng);
    const a = scoreWithLora(weights, trained, prompts).logprobs.flat();
    const b = scoreWithLora(weights, null, prompts).logprobs.flat();
    expect(a.some((v, i) => Math.abs(v - b[i]) > 1e-3)).toBe(true);
  });

  it('LoRA equals merging s * B A into the fused weight rows of its slice (added before RoPE)', async () => {
    const weights = await model({ kvHeads: 1, ropeScaling: 'llama3' });
    const rng = new Rng(5);
    const { prompts } = randomPrompts(weights, rng);
    const adapter = randomAdapter(weights, ALL, rng);
    const merged: LlamaWeights = {
      ...weights,
      layers: weights.layers.map((l) => ({
        ...l,
        qkv: l.qkv.slice(),
        o: l.o.slice(),
        gateUp: l.gateUp.slice(),
        down: l.down.slice(),
      })),
    };
    const r = adapter.config.r;
    for (const m of adapter.modules) {
      const layer = merged.layers[m.layer];
      const w = layer[m.slice.fused === 'gate_up' ? 'gateUp' : m.slice.fused];
      const { inDim, outDim, rowOffset } = m.slice;
      for (let o = 0; o < outDim; o++) {
        for (let i = 0; i < inDim; i++) {
          let ba = 0;
          for (let k = 0; k < r; k++) ba += m.b[o * r + k] * m.a[k * inDim + i];
          w[(rowOffset + o) * inDim + i] += adapter.scale * ba;
        }
      }
    }
    const withLora = scoreWithLora(weights, adapter, prompts).logprobs.flat();
    const withMerged = scoreWithLora(merged, null, prompts).logprobs.flat();
    // merged weights are rounded to float32: agreement to ~1e-6
    withLora.forEach((v, i) => expect(v).toBeCloseTo(withMerged[i], 5));
  });

  it('rejects an adapter made for another model', async () => {
    const weights = await model({});
    const other = initLoraAdapter({ ...weights.config, hidden: 64, headDim: 16 }, QV, new Rng(1));
    const { prompts } = randomPrompts(weights, new Rng(1));
    expect(() => scoreWithLora(weights, other, prompts)).toThrow(/does not match/);
    const deep = initLoraAdapter({ ...weights.config, layers: 3 }, QV, new Rng(1));
    expect(() => scoreWithLora(weights, deep, prompts)).toThrow(/outside the model's 2 layers/);
  });
});

describe('LoRA gradients: API', () => {
  it('B = 0 (a fresh adapter): dA is exactly 0, dB is not and matches finite differences', async () => {
    const weights = await model({});
    const rng = new Rng(6);
    const { prompts, words } = randomPrompts(weights, rng);
    const adapter = initLoraAdapter(weights.config, QV, rng);
    const loss = policyLoss(words, rng);
    const { modules } = loraGradients(
      weights,
      adapter,
      prompts,
      loss.dLdS(scoreWithLora(weights, adapter, prompts).logprobs),
    );
    const f = () => loss.value(scoreWithLora(weights, adapter, prompts).logprobs);
    modules.forEach((g: LoraModuleGradient, i) => {
      expect(g.a.every((v) => v === 0)).toBe(true);
      expect(g.b.some((v) => v !== 0)).toBe(true);
      const idx = rng.int(g.b.length);
      expect(relErr(centralDifference(adapter.modules[i].b, idx, FD_EPS, f), g.b[idx])).toBeLessThan(1e-3);
    });
  });

  it('per-token gradients: dL/dS broadcast equals the summed form; a per-token loss matches finite differences', async () => {
    const weights = await model({ layers: 1 });
    const rng = new Rng(8);
    const { prompts } = randomPrompts(weights, rng);
    const adapter = randomAdapter(weights, QV, rng);
    const dS = prompts.map((p) => p.actions.map(() => rng.normal()));
    const summed = loraGradients(weights, adapter, prompts, dS);
    const broadcast = loraGradientsPerToken(
      weights,
      adapter,
      prompts,
      prompts.map((p, i) => p.actions.map((a, k) => a.map(() => dS[i][k]))),
    );
    expect(broadcast.modules).toEqual(summed.modules);

    const c = prompts.map((p) => p.actions.map((a) => a.map(() => rng.normal())));
    const f = () =>
      scoreWithLora(weights, adapter, prompts).tokenLogprobs.reduce(
        (acc, p, i) => acc + p.reduce((s, a, k) => s + a.reduce((t, v, j) => t + c[i][k][j] * v, 0), 0),
        0,
      );
    const { modules } = loraGradientsPerToken(weights, adapter, prompts, c);
    for (const [i, which] of [
      [0, 'a'],
      [1, 'b'],
      [0, 'b'],
      [1, 'a'],
    ] as const) {
      const idx = rng.int(adapter.modules[i][which].length);
      expect(relErr(centralDifference(adapter.modules[i][which], idx, FD_EPS, f), modules[i][which][idx])).toBeLessThan(
        1e-3,
      );
    }
  });

  it('rejects gradients that do not match the prompts', async () => {
    const weights = await model({ layers: 1 });
    const { prompts } = randomPrompts(weights, new Rng(9));
    const adapter = initLoraAdapter(weights.config, QV, new Rng(9));
    expect(() => loraGradients(weights, adapter, prompts, [[1, 2]])).toThrow(/3 prompts/);
    expect(() =>
      loraGradients(
        weights,
        adapter,
        prompts,
        prompts.map(() => [1]),
      ),
    ).toThrow(/actions/);
  });
});

describe("the GPU's shared-prompt layout", () => {
  it('gives the same scores and LoRA gradients as one sequence per action', async () => {
    const weights = await model({ kvHeads: 1, ropeScaling: 'llama3', tieEmbeddings: true });
    const rng = new Rng(12);
    const { prompts, words } = randomPrompts(weights, rng);
    const adapter = randomAdapter(weights, ALL, rng);
    const loss = policyLoss(words, rng);
    const dLdS = loss.dLdS64(scoreWithLora(weights, adapter, prompts).logprobs);
    const separate = loraGradients(weights, adapter, prompts, dLdS);
    const shared = loraGradients(weights, adapter, prompts, dLdS, { layout: 'shared' });
    shared.scores.tokenLogprobs
      .flat(2)
      .forEach((v, i) => expect(Math.abs(v - separate.scores.tokenLogprobs.flat(2)[i])).toBeLessThan(1e-12));
    shared.modules.forEach((g, i) => {
      for (const which of ['a', 'b'] as const) {
        const ref = separate.modules[i][which];
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        g[which].forEach((v, k) => expect(Math.abs(v - ref[k])).toBeLessThan(1e-10 * Math.max(1, scale)));
      }
    });
    // float32 storage: the two layouts round differently, agreement to float32 precision
    const f32 = scoreWithLora(weights, adapter, prompts, { layout: 'shared', precision: 'float32' }).logprobs.flat();
    separate.scores.logprobs.flat().forEach((v, i) => expect(f32[i]).toBeCloseTo(v, 4));
  });

  it('traces every intermediate gradient, once per stage and layer', async () => {
    const weights = await model({});
    const rng = new Rng(13);
    const { prompts } = randomPrompts(weights, rng);
    const adapter = randomAdapter(weights, QV, rng);
    const seen = new Map<string, Float64Array>();
    loraGradients(
      weights,
      adapter,
      prompts,
      prompts.map((p) => p.actions.map(() => rng.normal())),
      {
        layout: 'shared',
        trace: (name, layer, t) => {
          expect(seen.has(`${name}@${layer}`)).toBe(false);
          seen.set(`${name}@${layer}`, t);
        },
      },
    );
    const c = weights.config;
    const layout = planScoring(
      prompts.map((p) => ({ promptTokens: [...p.promptIds], actionTokens: p.actions.map((a) => [...a]) })),
      'shared',
    );
    const R = layout.tokens.length;
    const Q = (c.heads + 2 * c.kvHeads) * c.headDim;
    expect(seen.get('dlogits@-1')).toHaveLength(layout.logitRows.length * c.vocabSize);
    for (const l of [0, 1]) {
      expect(seen.get(`dh@${l}`)).toHaveLength(R * c.intermediate);
      expect(seen.get(`dgateUp@${l}`)).toHaveLength(R * 2 * c.intermediate);
      expect(seen.get(`dqkv@${l}`)).toHaveLength(R * Q);
      expect(seen.get(`dqkvRoped@${l}`)).toHaveLength(R * Q);
      for (const name of ['dmn', 'dxMid', 'datt', 'dxn']) expect(seen.get(`${name}@${l}`)).toHaveLength(R * c.hidden);
    }
    expect(seen.has('dx@1')).toBe(true);
    expect(seen.has('dx@0')).toBe(false);
    // the final-norm gradient is nonzero only at the logit rows
    const dHidden = seen.get('dhidden@-1')!;
    const logitRows = new Set(layout.logitRows);
    for (let row = 0; row < R; row++) {
      const any = dHidden.subarray(row * c.hidden, (row + 1) * c.hidden).some((v) => v !== 0);
      expect(any).toBe(logitRows.has(row));
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Each op's backward on its own (what the GPU kernels are tested against): loss = <w, op(x)> with random w,
// so d loss / dx = op_backward(w); checked against central differences on float64 inputs.

function opCheck(
  n: number,
  forward: (x: Float64Array) => ArrayLike<number>,
  backward: (x: Float64Array, w: Float64Array) => ArrayLike<number>,
  rng: Rng,
  scale = 1,
): void {
  const x = Float64Array.from({ length: n }, () => scale * rng.normal());
  const y0 = forward(x);
  const w = Float64Array.from({ length: y0.length }, () => rng.normal());
  const loss = () => {
    const y = forward(x);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const g = backward(x, w);
  expect(g.length).toBe(n);
  for (let c = 0; c < Math.min(n, 24); c++) {
    const i = rng.int(n);
    const v = x[i];
    const eps = 1e-5;
    x[i] = v + eps;
    const lp = loss();
    x[i] = v - eps;
    const lm = loss();
    x[i] = v;
    const fd = (lp - lm) / (2 * eps);
    expect(Math.abs(fd - g[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
  }
}

describe('op backwards against finite differences', () => {
  const rng = new Rng(11);
  const T = 5;
  const D = 8;

  it('linear (input gradient)', () => {
    const W = Float32Array.from({ length: 6 * D }, () => rng.normal());
    opCheck(
      T * D,
      (x) => linearForward(x, W, T, 6, D),
      (_, w) => linearBackwardInput(w, W, T, 6, D),
      rng,
    );
  });

  it('rmsnorm', () => {
    const weight = Float32Array.from({ length: D }, () => 1 + 0.3 * rng.normal());
    opCheck(
      T * D,
      (x) => rmsnormForward(x, weight, T, D, 1e-5).y,
      (x, w) => rmsnormBackward(x, weight, rmsnormForward(x, weight, T, D, 1e-5).rstd, w, T, D),
      rng,
    );
  });

  it('RoPE (plain and llama3 frequencies): the backward is the inverse rotation', () => {
    for (const inv of [
      ropeInvFreq(4, 10000),
      ropeInvFreq(4, 500000, {
        type: 'llama3',
        factor: 32,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      }),
    ]) {
      const positions = [0, 1, 2, 7, 30];
      const width = (2 + 2 * 1) * 4;
      opCheck(
        T * width,
        (x) => {
          const y = x.slice();
          ropeForward(y, positions, inv, 2, 1, 4);
          return y;
        },
        (_, w) => {
          const d = w.slice();
          ropeBackward(d, positions, inv, 2, 1, 4);
          return d;
        },
        rng,
      );
    }
  });

  it("attention with GQA (4 query heads on 2 kv heads): causal, and the shared layout's two segments", () => {
    const width = (4 + 2 * 2) * 4;
    const causal = causalSegments(T);
    opCheck(
      T * width,
      (x) => attentionForward(x, causal, T, 4, 2, 4).out,
      (x, w) => attentionBackward(x, causal, attentionForward(x, causal, T, 4, 2, 4), w, T, 4, 2, 4),
      rng,
    );
    // one prompt of 3 rows, then two actions of 2 and 1 rows (planScoring's shared segments)
    const plan = planScoring([{ promptTokens: [1, 2, 3], actionTokens: [[4, 5], [6]] }], 'shared');
    const rows = plan.tokens.length;
    opCheck(
      rows * width,
      (x) => attentionForward(x, plan.segments, rows, 4, 2, 4).out,
      (x, w) =>
        attentionBackward(x, plan.segments, attentionForward(x, plan.segments, rows, 4, 2, 4), w, rows, 4, 2, 4),
      rng,
    );
  });

  it('SiLU-gated product', () => {
    opCheck(
      T * 2 * D,
      (x) => siluMulForward(x, T, D),
      (x, w) => siluMulBackward(x, w, T, D),
      rng,
      2,
    );
  });

  it('log-softmax gather', () => {
    const targets = [3, 0, 7, 7, 1];
    opCheck(
      T * 9,
      (x) => logSoftmaxGatherForward(x, targets, 9),
      (x, w) => logSoftmaxGatherBackward(x, targets, w, 9),
      rng,
      2,
    );
  });

  it('LoRA on a slice: input gradient, dA and dB', () => {
    const r = 3;
    const inDim = D;
    const outDim = 4;
    const dims = { rows: T, inDim, outDim, r, offset: 2, yStride: 10 };
    const A = Float32Array.from({ length: r * inDim }, () => rng.normal());
    const B = Float32Array.from({ length: outDim * r }, () => rng.normal());
    const run = (x: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>) => {
      const y = new Float64Array(T * 10).fill(0.5);
      loraForward(x, a, b, 1.5, y, dims);
      return y;
    };
    const grads = (x: Float64Array, w: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>) => {
      const u = linearForward(x, a, T, r, inDim);
      const dA = new Float64Array(r * inDim);
      const dB = new Float64Array(outDim * r);
      const dx = new Float64Array(T * inDim);
      loraBackward(x, u, a, b, 1.5, w, dims, dA, dB, dx);
      return { dA, dB, dx };
    };
    const x0 = Float64Array.from({ length: T * inDim }, () => rng.normal());
    opCheck(
      T * inDim,
      (x) => run(x, A, B),
      (x, w) => grads(x, w, A, B).dx,
      rng,
    );
    opCheck(
      r * inDim,
      (a) => run(x0, a, B),
      (a, w) => grads(x0, w, a, B).dA,
      rng,
    );
    opCheck(
      outDim * r,
      (b) => run(x0, A, b),
      (b, w) => grads(x0, w, A, b).dB,
      rng,
    );
  });
});
