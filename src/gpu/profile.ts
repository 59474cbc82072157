/**
 * Per-kernel GPU time with timestamp queries: each call gets its own compute pass with timestampWrites, and
 * the times are summed per kernel label. Without 'timestamp-query' there is nothing to measure and
 * profileCalls returns null. (Browsers round timestamps to 100 us; Dawn in Node does not.)
 */
import type { KernelCall } from './kernel';

export interface KernelProfile {
  label: string;
  calls: number;
  ms: number;
  flops: number;
  bytes: number;
  gflops: number;
  gbps: number;
}

export async function profileCalls(
  device: GPUDevice,
  calls: readonly KernelCall[],
  repeats = 3,
): Promise<KernelProfile[] | null> {
  if (!device.features.has('timestamp-query') || calls.length === 0) return null;
  const count = calls.length * 2;
  const querySet = device.createQuerySet({ type: 'timestamp', count });
  const resolve = device.createBuffer({
    size: count * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const totals = new Map<string, KernelProfile>();
  try {
    for (let rep = 0; rep < repeats; rep++) {
      const encoder = device.createCommandEncoder();
      calls.forEach((call, i) => {
        const pass = encoder.beginComputePass({
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
        pass.setPipeline(call.pipeline);
        pass.setBindGroup(0, call.bindGroup);
        pass.dispatchWorkgroups(...call.workgroups);
        pass.end();
      });
      encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      if (rep === 0) continue; // the first round warms caches and clocks
      calls.forEach((call, i) => {
        const ms = Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6;
        const entry = totals.get(call.label) ?? {
          label: call.label,
          calls: 0,
          ms: 0,
          flops: 0,
          bytes: 0,
          gflops: 0,
          gbps: 0,
        };
        entry.calls += 1;
        entry.ms += ms;
        entry.flops += call.cost?.flops ?? 0;
        entry.bytes += call.cost?.bytes ?? 0;
        totals.set(call.label, entry);
      });
    }
  } finally {
    querySet.destroy();
    resolve.destroy();
    read.destroy();
  }
  const rounds = Math.max(1, repeats - 1);
  return [...totals.values()].map((e) => ({
    label: e.label,
    calls: e.calls / rounds,
    ms: e.ms / rounds,
    flops: e.flops / rounds,
    bytes: e.bytes / rounds,
    gflops: e.ms > 0 ? e.flops / (e.ms / 1000) / 1e9 : 0,
    gbps: e.ms > 0 ? e.bytes / (e.ms / 1000) / 1e9 : 0,
  }));
}
