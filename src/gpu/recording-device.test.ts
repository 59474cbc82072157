// The recording device counts what bench plan reports: dispatches and their costs through encodeCalls, bind
// groups and buffers created, and blocking waits, i.e. the times the CPU had nothing left to do but wait.
import { describe, expect, it } from 'vitest';
import { encodeCalls, type KernelCall } from './kernel';
import { countsSince, RecordingDevice } from './recording-device';

function call(device: GPUDevice, cost?: KernelCall['cost']): KernelCall {
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: '' }), entryPoint: 'main' },
  });
  return {
    label: 'k',
    pipeline,
    bindGroup: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [] }),
    workgroups: [1, 1, 1],
    owned: [],
    cost,
  };
}

function submit(device: GPUDevice, calls: KernelCall[]): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encodeCalls(pass, calls);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

async function read(device: GPUDevice): Promise<void> {
  const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  await staging.mapAsync(GPUMapMode.READ);
  expect(new Float32Array(staging.getMappedRange())).toEqual(new Float32Array(4));
  staging.unmap();
}

describe('RecordingDevice', () => {
  it('counts dispatches with their cost, bind groups, buffers and submissions', () => {
    const r = new RecordingDevice();
    const { device } = r;
    const before = r.snapshot();
    const calls = [call(device, { flops: 10, bytes: 0, weightBytes: 100 }), call(device)];
    device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
    submit(device, [...calls, calls[0]]);
    expect(countsSince(before, r.snapshot())).toMatchObject({
      dispatches: 3,
      bindGroupsCreated: 2,
      buffersCreated: 1,
      storageBytesCreated: 64,
      submits: 1,
      flops: 20,
      weightBytes: 200,
    });
  });

  it('counts one wait for reads awaited together, none for a read the CPU overlaps with more work', async () => {
    const r = new RecordingDevice();
    const { device } = r;
    submit(device, []);
    await read(device);
    expect(r.counts.blockingWaits).toBe(1);
    await Promise.all([read(device), read(device), device.queue.onSubmittedWorkDone()]);
    expect(r.counts.blockingWaits).toBe(2);
    // A read started, more work submitted, then a second read awaited: the first resolves with the second.
    const early = read(device);
    submit(device, []);
    await read(device);
    await early;
    expect(r.counts.blockingWaits).toBe(3);
  });

  it('gives a GpuContext of a hardware-like GPU with f16 and subgroups', () => {
    const ctx = new RecordingDevice().context();
    expect(ctx.features).toEqual({ shaderF16: true, subgroups: true, timestampQuery: false });
    expect(ctx.isSoftware).toBe(false);
    expect(ctx.useSubgroups).toBe(true);
  });
});
