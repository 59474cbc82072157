// SharedLora's ownership rules, with stand-in buffers (no GPU needed): the trainer and the playground's scorer
// hold one adapter on the device; its buffers go only when the last holder lets go.
import { describe, expect, it, vi } from 'vitest';
import { ownLora, SharedLora, type GpuLora } from './gpu-lora';

function fakeLora(): { lora: GpuLora; destroyed: () => number } {
  const destroy = vi.fn();
  const buffer = () => ({ destroy }) as unknown as GPUBuffer;
  type Slice = GpuLora['modules'][number]['slice'];
  const slice = { target: 'q_proj', inDim: 4, outDim: 4, rowOffset: 0 } as unknown as Slice;
  const module = { layer: 0, slice, a: buffer(), b: buffer(), gradA: buffer(), gradB: buffer() };
  const lora: GpuLora = { r: 1, scale: 1, modules: [module] };
  return { lora, destroyed: () => destroy.mock.calls.length };
}

describe('SharedLora', () => {
  it('destroys the buffers when the last holder releases, not before', () => {
    const { lora, destroyed } = fakeLora();
    const shared = new SharedLora(lora);
    const trainer = shared.hold();
    const scorer = shared.hold();
    expect(scorer.lora).toBe(lora);
    trainer.release();
    expect(destroyed()).toBe(0); // the scorer still scores with it
    scorer.release();
    expect(destroyed()).toBe(4); // A, B and both gradients
  });

  it('counts each handle once: a second release of the same handle does nothing', () => {
    const { lora, destroyed } = fakeLora();
    const shared = new SharedLora(lora);
    const a = shared.hold();
    const b = shared.hold();
    a.release();
    a.release();
    expect(destroyed()).toBe(0);
    b.release();
    expect(destroyed()).toBe(4);
  });

  it('ownLora: a handle nobody else holds', () => {
    const { lora, destroyed } = fakeLora();
    ownLora(lora).release();
    expect(destroyed()).toBe(4);
  });
});
