// The scored tokens' log-probs and their gradient on Dawn, every variant this adapter runs, against
// reference/logsoftmax-gather.ts, at vocabularies below and above the thread variant's limit.
import { describe, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { logSoftmaxGatherBackward, logSoftmaxGatherForward } from '../../reference/logsoftmax-gather';
import { logSoftmaxGatherBackwardCall, logSoftmaxGatherCall } from './logsoftmax-gather';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

describe('logsoftmax_gather.wgsl on Dawn', () => {
  for (const vocab of [700, 5003]) {
    it(`forward and backward match the reference for V=${vocab} (every variant)`, async () => {
      const rng = new Rng(vocab);
      const rows = 4;
      const logits = random(rng, rows * vocab, 4);
      const targets = Uint32Array.from([0, vocab - 1, 17, 500]);
      const g = Float32Array.from([1, -0.5, 2, 0.25]);
      const expected = logSoftmaxGatherForward(logits, targets, vocab);
      const expectedGrad = logSoftmaxGatherBackward(logits, targets, g, vocab);
      const [l, t] = [gpu.upload(logits), gpu.upload(targets)];
      for (const variant of gpu.variants()) {
        const out = gpu.upload(rows);
        expectClose(
          await gpu.run(await logSoftmaxGatherCall(gpu.kernels, l, t, out, rows, vocab, variant), out, rows),
          expected,
        );
        const dlogits = gpu.upload(rows * vocab);
        expectClose(
          await gpu.run(
            await logSoftmaxGatherBackwardCall(gpu.kernels, l, t, gpu.upload(g), dlogits, rows, vocab, variant),
            dlogits,
            rows * vocab,
          ),
          expectedGrad,
        );
      }
    });
  }
});
