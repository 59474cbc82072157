/**
 * Adam and AdamW on Float32Array parameter lists (CPU), step for step as torch.optim.Adam / AdamW
 * (amsgrad off, maximize off): the reference of the GPU optimizer (llm/train/adamw.ts, optimizer.ts), and the
 * optimizer of src/rl's CPU trainers (PPO-MLP, the CPU critic):
 *   t += 1
 *   Adam:  g = g + wd * p            AdamW: p = p * (1 - lr * wd)
 *   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
 *   p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The math runs in float64 per element, the state is stored as float32 (like torch's float32 state).
 */

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** true: AdamW's decoupled weight decay; false: Adam's L2 term added to the gradient. */
  decoupled?: boolean;
}

/** Plain-data optimizer state (structured-cloneable), for checkpoints. */
export interface AdamState {
  step: number;
  lr: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  /** `params` are updated in place by step(); their shapes fix the state's. */
  constructor(
    readonly params: readonly Float32Array[],
    options: AdamOptions,
  ) {
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupled ?? false;
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update of every parameter from its gradient (same order and shapes as `params`). */
  step(grads: readonly Float32Array[]): void {
    if (grads.length !== this.params.length)
      throw new RangeError(`got ${grads.length} gradients for ${this.params.length} parameters`);
    this.t++;
    const { lr, beta1, beta2, eps, weightDecay, decoupled } = this;
    const stepSize = lr / (1 - beta1 ** this.t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.t);
    for (let j = 0; j < this.params.length; j++) {
      const p = this.params[j];
      const g = grads[j];
      const m = this.m[j];
      const v = this.v[j];
      if (g.length !== p.length) throw new RangeError(`gradient ${j} has ${g.length} entries, parameter ${p.length}`);
      for (let i = 0; i < p.length; i++) {
        let gi = g[i];
        let pi = p[i];
        if (weightDecay !== 0) {
          if (decoupled) pi = Math.fround(pi * (1 - lr * weightDecay));
          else gi += weightDecay * pi;
        }
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p[i] = pi - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
      }
    }
  }

  getState(): AdamState {
    return { step: this.t, lr: this.lr, m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }

  setState(state: AdamState): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length)
      throw new RangeError('Adam state does not match the parameter list');
    state.m.forEach((a, j) => {
      if (a.length !== this.m[j].length || state.v[j].length !== this.v[j].length)
        throw new RangeError(`Adam state ${j} does not match its parameter's size`);
      this.m[j].set(a);
      this.v[j].set(state.v[j]);
    });
    this.t = state.step;
    this.lr = state.lr;
  }
}
