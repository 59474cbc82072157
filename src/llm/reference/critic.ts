/**
 * CPU reference of TWOSOME's critic head (spec twosome.md 2.1, `critic.py`): an MLP on the final-norm hidden
 * state of the last prompt token, computed by the frozen LLaMA with the LoRA adapter OFF:
 *
 *   v = W3 · relu(W2 · relu(W1 · x))        x [B, H], W1 [1024, H], W2 [512, 1024], W3 [1, 512]
 *
 * No biases, float32 parameters, nn.Linear's default init (kaiming_uniform with a = sqrt(5), i.e.
 * U(-1/sqrt(in), 1/sqrt(in))), drawn from the seeded Rng layer by layer in row-major order. Layer sizes are
 * configurable (the paper's: H -> 1024 -> 512 -> 1 for a 4096-wide model).
 *
 * Layout (the GPU must match): W_l is [out, in] row-major (PyTorch's Linear.weight); activations are rows.
 * Forward per layer l: z_l [B, out] = a_{l-1} · W_l^T, a_l = relu(z_l) for hidden layers; the last layer is
 * linear and has one output (the value).
 * Backward from dL/dv [B]: dW_l [out, in] = dz_l^T · a_{l-1} (summed over the batch), da_{l-1} = dz_l · W_l,
 * dz_{l-1} = da_{l-1} * [z_{l-1} > 0] (relu'(0) = 0, as torch).
 *
 * Precision: sums in float64; activations stored as float32 by default (what the fp32 critic stores) or as
 * float64 with `precision: 'float64'` (finite-difference tests). Gradients are float64.
 */
import type { Rng } from '../../util/rng';
import type { LlamaWeights } from '../model/weights';
import { lastPromptHidden } from './backward';
import { allocator, type Precision, type Vec } from './precision';
import { reluBackward, reluForward } from './relu';

export const DEFAULT_CRITIC_HIDDEN: readonly number[] = [1024, 512];

export interface Critic {
  /** [in, h1, ..., 1]. */
  sizes: number[];
  /** W_l [sizes[l+1], sizes[l]] row-major, float32. */
  weights: Float32Array[];
}

/** A fresh critic: nn.Linear default init, U(-1/sqrt(in), 1/sqrt(in)), layer by layer, row-major. */
export function initCritic(inputDim: number, rng: Rng, hidden: readonly number[] = DEFAULT_CRITIC_HIDDEN): Critic {
  const sizes = [inputDim, ...hidden, 1];
  if (sizes.some((s) => !Number.isInteger(s) || s < 1))
    throw new RangeError(`critic: bad layer sizes [${sizes.join(', ')}]`);
  const weights: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const bound = 1 / Math.sqrt(sizes[l]);
    weights.push(Float32Array.from({ length: sizes[l + 1] * sizes[l] }, () => (2 * rng.next() - 1) * bound));
  }
  return { sizes, weights };
}

export function criticParameterCount(critic: Critic): number {
  return critic.weights.reduce((sum, w) => sum + w.length, 0);
}

export interface CriticForward {
  batch: number;
  /** a_0 = input, then each layer's post-ReLU output (hidden layers), each [B, sizes[l]]. */
  activations: Vec[];
  /** z_l pre-activations of every layer, [B, sizes[l+1]]; the last is the value. */
  pre: Vec[];
  /** [B] the values. */
  values: number[];
}

/** Forward of `batch` input rows [B, in]. */
export function criticForward(
  critic: Critic,
  input: ArrayLike<number>,
  batch: number,
  precision: Precision = 'float32',
): CriticForward {
  const { sizes, weights } = critic;
  if (input.length !== batch * sizes[0])
    throw new RangeError(`critic: input has ${input.length} values; ${batch} x ${sizes[0]} expected`);
  const alloc = allocator(precision);
  const a0 = alloc(input.length);
  for (let i = 0; i < input.length; i++) a0[i] = input[i];
  const activations: Vec[] = [a0];
  const pre: Vec[] = [];
  const layers = weights.length;
  for (let l = 0; l < layers; l++) {
    const inDim = sizes[l];
    const outDim = sizes[l + 1];
    const a = activations[l];
    const w = weights[l];
    const z = alloc(batch * outDim);
    for (let b = 0; b < batch; b++) {
      for (let o = 0; o < outDim; o++) {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += a[b * inDim + i] * w[o * inDim + i];
        z[b * outDim + o] = sum;
      }
    }
    pre.push(z);
    if (l < layers - 1) activations.push(reluForward(z, alloc));
  }
  return { batch, activations, pre, values: Array.from(pre[layers - 1]) };
}

/** dL/dW_l [out, in] for every layer (same order as critic.weights), and dL/dinput [B, in]. */
export interface CriticGradients {
  weights: Float64Array[];
  input: Float64Array;
}

/** Backward from dL/dv [B] through the forward `fwd`. */
export function criticBackward(critic: Critic, fwd: CriticForward, dValues: ArrayLike<number>): CriticGradients {
  const { sizes, weights } = critic;
  const B = fwd.batch;
  if (dValues.length !== B) throw new RangeError(`critic: ${dValues.length} value gradients for a batch of ${B}`);
  const layers = weights.length;
  const grads: Float64Array[] = weights.map((w) => new Float64Array(w.length));
  let dz = Float64Array.from(dValues); // [B, 1]
  for (let l = layers - 1; l >= 0; l--) {
    const inDim = sizes[l];
    const outDim = sizes[l + 1];
    const a = fwd.activations[l];
    const w = weights[l];
    const g = grads[l];
    const da = new Float64Array(B * inDim);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < outDim; o++) {
        const d = dz[b * outDim + o];
        if (d === 0) continue;
        for (let i = 0; i < inDim; i++) {
          g[o * inDim + i] += d * a[b * inDim + i];
          da[b * inDim + i] += d * w[o * inDim + i];
        }
      }
    }
    if (l > 0) reluBackward(da, fwd.pre[l - 1]);
    dz = da;
  }
  return { weights: grads, input: dz };
}

/**
 * The critic's inputs [P, H]: final-norm hidden state of the last token of each BOS + prompt, from the frozen
 * model with LoRA OFF (spec 1.3: no adapter argument on purpose). Float32 by default (bit-identical to
 * score.ts criticFeature).
 */
export function criticFeatures(
  weights: LlamaWeights,
  prompts: readonly (readonly number[])[],
  precision: Precision = 'float32',
): Vec {
  const D = weights.config.hidden;
  const out = allocator(precision)(prompts.length * D);
  prompts.forEach((ids, p) => out.set(lastPromptHidden(weights, ids, { precision }), p * D));
  return out;
}
