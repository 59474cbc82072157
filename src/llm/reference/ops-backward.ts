/**
 * CPU references of the backward kernels, one per forward op in ops.ts / rmsnorm.ts, each saying what its
 * forward computed. Inputs are the forward's inputs (or what it kept) and the output gradient; results are the
 * input gradients. Frozen weights get no gradient. Accumulation in float64.
 */

/** Forward: y = x * r * w, r = (mean x^2 + eps)^-1/2 per row. dx = r w dy - x r^3 / D * sum(dy w x). */
export function rmsnormBackward(x: Float32Array, weight: Float32Array, dy: Float32Array, rows: number, dim: number, eps: number): Float32Array {
  const dx = new Float32Array(rows * dim);
  for (let t = 0; t < rows; t++) {
    let sumSq = 0;
    let dot = 0;
    for (let d = 0; d < dim; d++) {
      const v = x[t * dim + d];
      sumSq += v * v;
      dot += dy[t * dim + d] * weight[d] * v;
    }
    const r = 1 / Math.sqrt(sumSq / dim + eps);
    for (let d = 0; d < dim; d++) dx[t * dim + d] = r * weight[d] * dy[t * dim + d] - (x[t * dim + d] * r * r * r * dot) / dim;
  }
  return dx;
}

/** Forward: h = silu(g) * u from gate_up [R, 2I]. Returns d_gate_up [R, 2I]. */
export function siluMulBackward(gateUp: Float32Array, dh: Float32Array, rows: number, inter: number): Float32Array {
  const d = new Float32Array(rows * 2 * inter);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inter; i++) {
      const g = gateUp[r * 2 * inter + i];
      const u = gateUp[r * 2 * inter + inter + i];
      const s = 1 / (1 + Math.exp(-g));
      const grad = dh[r * inter + i];
      d[r * 2 * inter + i] = grad * u * s * (1 + g * (1 - s));
      d[r * 2 * inter + inter + i] = grad * g * s;
    }
  }
  return d;
}

/** Forward: rotate Q and K heads by +angle. Backward: rotate their gradients by -angle, in place. */
export function ropeBackward(dqkv: Float32Array, positions: ArrayLike<number>, cosSin: Float32Array, heads: number, kvHeads: number, headDim: number): void {
  const half = headDim / 2;
  const stride = (heads + 2 * kvHeads) * headDim;
  for (let r = 0; r < positions.length; r++) {
    for (let h = 0; h < heads + kvHeads; h++) {
      const base = r * stride + h * headDim;
      for (let d = 0; d < half; d++) {
        const c = cosSin[2 * (positions[r] * half + d)];
        const s = -cosSin[2 * (positions[r] * half + d) + 1];
        const a = dqkv[base + d];
        const b = dqkv[base + d + half];
        dqkv[base + d] = a * c - b * s;
        dqkv[base + d + half] = b * c + a * s;
      }
    }
  }
}

/** Forward: out[j] = log softmax(logits[j])[target j]. Backward: dlogits[j, v] = g[j] ([v = t] - p[v]). */
export function logSoftmaxGatherBackward(logits: Float32Array, targets: ArrayLike<number>, g: ArrayLike<number>, vocab: number): Float32Array {
  const d = new Float32Array(targets.length * vocab);
  for (let j = 0; j < targets.length; j++) {
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[j * vocab + v]);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[j * vocab + v] - max);
    for (let v = 0; v < vocab; v++) d[j * vocab + v] = g[j] * ((v === targets[j] ? 1 : 0) - Math.exp(logits[j * vocab + v] - max) / sum);
  }
  return d;
}

/** Forward: out[j] = x[rows[j]]. Backward: dx[r] = sum over j with rows[j] = r of dout[j]. */
export function gatherRowsBackward(dout: Float32Array, rows: ArrayLike<number>, rowCount: number, dim: number): Float32Array {
  const dx = new Float32Array(rowCount * dim);
  for (let j = 0; j < rows.length; j++) for (let d = 0; d < dim; d++) dx[rows[j] * dim + d] += dout[j * dim + d];
  return dx;
}

/**
 * Forward: segmentAttention (ops.ts). Backward: dqkv [R, (H + 2 KVH) hd] with dQ for each row's query heads
 * and dK, dV summed into the key rows over every query row and head that read them.
 */
export function segmentAttentionBackward(
  qkv: Float32Array,
  segments: ArrayLike<number>,
  dout: Float32Array,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
): Float32Array {
  const stride = (heads + 2 * kvHeads) * headDim;
  const dqkv = new Float64Array(rows * stride);
  const scale = 1 / Math.sqrt(headDim);
  for (let r = 0; r < rows; r++) {
    const keys: number[] = [];
    for (let i = 0; i < segments[4 * r + 1]; i++) keys.push(segments[4 * r] + i);
    for (let i = 0; i < segments[4 * r + 3]; i++) keys.push(segments[4 * r + 2] + i);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / (heads / kvHeads));
      const q = r * stride + h * headDim;
      const kOff = (heads + g) * headDim;
      const vOff = (heads + kvHeads + g) * headDim;
      const scores = keys.map((kr) => {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += qkv[q + d] * qkv[kr * stride + kOff + d];
        return dot * scale;
      });
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / total);
      const o = r * heads * headDim + h * headDim;
      // dp_k = dout . v_k ; ds_k = p_k (dp_k - sum_j p_j dp_j)
      const dp = keys.map((kr) => {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += dout[o + d] * qkv[kr * stride + vOff + d];
        return dot;
      });
      const mean = p.reduce((acc, pk, i) => acc + pk * dp[i], 0);
      keys.forEach((kr, i) => {
        const ds = p[i] * (dp[i] - mean);
        for (let d = 0; d < headDim; d++) {
          dqkv[q + d] += scale * ds * qkv[kr * stride + kOff + d];
          dqkv[kr * stride + kOff + d] += scale * ds * qkv[q + d];
          dqkv[kr * stride + vOff + d] += p[i] * dout[o + d];
        }
      });
    }
  }
  return Float32Array.from(dqkv);
}
