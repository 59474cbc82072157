/**
 * A small fully connected network on the CPU: in -> hidden (tanh) -> ... -> out (linear), CleanRL's actor and
 * critic. Weights are float32 ([out, in] row-major, like torch's nn.Linear), activations float64.
 * forward() returns what backward() needs; backward() adds the parameter gradients into `grads`.
 */
import { linearBackwardInput } from '../../llm/reference/ops';
import type { Rng } from '../../util/rng';
import { orthogonalMatrix } from './orthogonal';

export interface MlpInit {
  /** Gain of the hidden layers' orthogonal init (CleanRL: sqrt 2). */
  hiddenGain: number;
  /** Gain of the output layer (actor 0.01, critic 1.0). */
  outputGain: number;
}

export interface MlpForward {
  batch: number;
  /** Inputs and each layer's output (post-tanh for hidden layers); the last entry is the network output. */
  activations: Float64Array[];
}

export class Mlp {
  /** Layer widths, input first: [in, h1, ..., out]. */
  readonly sizes: readonly number[];
  /** [W0, b0, W1, b1, ...]; W_l is [sizes[l+1], sizes[l]] row-major. */
  readonly params: Float32Array[];
  /** Same layout as params. */
  readonly grads: Float32Array[];

  constructor(sizes: readonly number[]) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1))
      throw new RangeError(`bad layer sizes [${sizes.join(', ')}]`);
    this.sizes = sizes.slice();
    this.params = [];
    for (let l = 0; l + 1 < sizes.length; l++)
      this.params.push(new Float32Array(sizes[l + 1] * sizes[l]), new Float32Array(sizes[l + 1]));
    this.grads = this.params.map((p) => new Float32Array(p.length));
  }

  /** CleanRL's layer_init: orthogonal weights with the given gains, zero biases. */
  static orthogonal(sizes: readonly number[], init: MlpInit, rng: Rng): Mlp {
    const mlp = new Mlp(sizes);
    const layers = sizes.length - 1;
    for (let l = 0; l < layers; l++) {
      const gain = l === layers - 1 ? init.outputGain : init.hiddenGain;
      mlp.params[2 * l].set(orthogonalMatrix(sizes[l + 1], sizes[l], gain, rng));
    }
    return mlp;
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** `input` holds `batch` rows of inputSize values. */
  forward(input: ArrayLike<number>, batch: number): MlpForward {
    if (input.length !== batch * this.inputSize)
      throw new RangeError(`input has ${input.length} values; batch ${batch} x ${this.inputSize} expected`);
    const activations = [Float64Array.from(input)];
    const layers = this.sizes.length - 1;
    for (let l = 0; l < layers; l++) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const w = this.params[2 * l];
      const b = this.params[2 * l + 1];
      const x = activations[l];
      const y = new Float64Array(batch * nOut);
      const last = l === layers - 1;
      for (let r = 0; r < batch; r++) {
        const xo = r * nIn;
        for (let o = 0; o < nOut; o++) {
          let s = b[o];
          const wo = o * nIn;
          for (let i = 0; i < nIn; i++) s += w[wo + i] * x[xo + i];
          y[r * nOut + o] = last ? s : Math.tanh(s);
        }
      }
      activations.push(y);
    }
    return { batch, activations };
  }

  /** Output rows of a forward pass. */
  static output(f: MlpForward): Float64Array {
    return f.activations[f.activations.length - 1];
  }

  /** Adds d(loss)/d(params) into `grads`, given d(loss)/d(output) ([batch, out]). Returns d(loss)/d(input). */
  backward(f: MlpForward, dOutput: ArrayLike<number>): Float64Array {
    const { batch, activations } = f;
    if (dOutput.length !== batch * this.outputSize)
      throw new RangeError(`dOutput has ${dOutput.length} values; batch ${batch} x ${this.outputSize} expected`);
    let dy: Float64Array = Float64Array.from(dOutput);
    for (let l = this.sizes.length - 2; l >= 0; l--) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const w = this.params[2 * l];
      const gw = this.grads[2 * l];
      const gb = this.grads[2 * l + 1];
      const x = activations[l];
      for (let r = 0; r < batch; r++) {
        const xo = r * nIn;
        for (let o = 0; o < nOut; o++) {
          const d = dy[r * nOut + o];
          if (d === 0) continue;
          gb[o] += d;
          const wo = o * nIn;
          for (let i = 0; i < nIn; i++) gw[wo + i] += d * x[xo + i];
        }
      }
      // dx = dy · W: the linear layer's input gradient, as the LLM reference computes it (same sums, same order).
      const dx = linearBackwardInput(dy, w, batch, nOut, nIn);
      // Through the tanh that produced this layer's input (every layer input but the network's).
      if (l > 0) for (let i = 0; i < dx.length; i++) dx[i] *= 1 - x[i] * x[i];
      dy = dx;
    }
    return dy;
  }

  zeroGrad(): void {
    for (const g of this.grads) g.fill(0);
  }

  getParams(): Float32Array[] {
    return this.params.map((p) => p.slice());
  }

  setParams(params: readonly Float32Array[]): void {
    if (params.length !== this.params.length)
      throw new RangeError(`got ${params.length} parameter arrays, the network has ${this.params.length}`);
    params.forEach((p, j) => {
      if (p.length !== this.params[j].length)
        throw new RangeError(`parameter ${j} has ${p.length} values, expected ${this.params[j].length}`);
      this.params[j].set(p);
    });
  }
}
