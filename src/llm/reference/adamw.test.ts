import { describe, expect, it } from 'vitest';
import { Adam } from './adamw';

// Hand computation (lr 0.1, betas 0.9/0.999, eps 1e-8), one parameter starting at 1, gradients 0.5, -1, 0.25:
//   t=1: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
//   t=2: m = -0.055, v = 0.00124975; p = 0.9 - (0.1 / 0.19) * -0.055 / (sqrt(0.00124975) / sqrt(0.001999) + 1e-8) = 0.93661035424
//   t=3: m = -0.0245, v = 0.00124912525; p = 0.95027942034
describe('Adam', () => {
  it('matches hand-computed steps', () => {
    const p = new Float32Array([1]);
    const adam = new Adam([p], { lr: 0.1 });
    adam.step([new Float32Array([0.5])]);
    expect(p[0]).toBeCloseTo(0.900000002, 6);
    adam.step([new Float32Array([-1])]);
    expect(p[0]).toBeCloseTo(0.9366103542405654, 6);
    adam.step([new Float32Array([0.25])]);
    expect(p[0]).toBeCloseTo(0.9502794203389762, 6);
    expect(adam.stepCount).toBe(3);
  });

  it('uses eps in the denominator (eps 1e-5 with a tiny gradient)', () => {
    const p = new Float32Array([0]);
    const adam = new Adam([p], { lr: 1, eps: 1e-5 });
    adam.step([new Float32Array([1e-5])]);
    // m^ = 1e-5, sqrt(v^) = 1e-5: step = 1e-5 / (1e-5 + 1e-5) = 0.5
    expect(p[0]).toBeCloseTo(-0.5, 6);
  });

  it('AdamW decays the weight before the update (decoupled)', () => {
    const p = new Float32Array([1]);
    const adam = new Adam([p], { lr: 0.1, weightDecay: 0.1, decoupled: true });
    adam.step([new Float32Array([0.5])]);
    expect(p[0]).toBeCloseTo(0.99 - 0.1, 6);
    adam.step([new Float32Array([-1])]);
    expect(p[0]).toBeCloseTo(0.9177103542205653, 6);
  });

  it('Adam with weight decay adds wd * p to the gradient (L2)', () => {
    const p = new Float32Array([1]);
    const adam = new Adam([p], { lr: 0.1, weightDecay: 0.1 });
    adam.step([new Float32Array([0.5])]); // g = 0.6
    adam.step([new Float32Array([-1])]); // g = -1 + 0.1 * p
    expect(p[0]).toBeCloseTo(0.9252635194456061, 6);
  });

  it('updates several arrays elementwise, independently', () => {
    const a = new Float32Array([1, 2]);
    const b = new Float32Array([3]);
    const adam = new Adam([a, b], { lr: 0.01 });
    adam.step([new Float32Array([1, -1]), new Float32Array([0])]);
    expect(a[0]).toBeCloseTo(0.99, 6);
    expect(a[1]).toBeCloseTo(2.01, 6);
    expect(b[0]).toBe(3);
  });

  it('saves and restores its state exactly', () => {
    const grads = [
      [0.3, -0.2],
      [0.1, 0.5],
      [-0.4, 0.05],
      [0.2, 0.2],
    ].map((g) => [new Float32Array(g)]);
    const pa = new Float32Array([0.5, -0.5]);
    const a = new Adam([pa], { lr: 0.05, eps: 1e-5 });
    a.step(grads[0]);
    a.step(grads[1]);
    const state = structuredClone(a.getState());
    const pb = pa.slice();
    const b = new Adam([pb], { lr: 0.05, eps: 1e-5 });
    b.setState(state);
    for (const g of grads.slice(2)) {
      a.step(g);
      b.step(g);
    }
    expect(Array.from(pb)).toEqual(Array.from(pa));
    expect(b.stepCount).toBe(4);
  });
});
