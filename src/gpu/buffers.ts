/** Storage, uniform and readback buffers with the usages our kernels need. */
import { readbackPool } from './readback';

export function createStorageBuffer(
  device: GPUDevice,
  data: Float32Array | Uint32Array | Int32Array | number,
  label = 'storage',
): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buffer = device.createBuffer({
    label,
    size: Math.max(4, Math.ceil(size / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: typeof data !== 'number',
  });
  if (typeof data !== 'number') {
    const view = new Uint8Array(buffer.getMappedRange());
    view.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
  }
  return buffer;
}

/** A uniform buffer from 32-bit words; `words` mixes u32 and f32 through the two views. */
export function createUniformBuffer(
  device: GPUDevice,
  fill: (u32: Uint32Array, f32: Float32Array) => void,
  words: number,
  label = 'uniform',
): GPUBuffer {
  const bytes = new ArrayBuffer(Math.ceil((words * 4) / 16) * 16);
  fill(new Uint32Array(bytes), new Float32Array(bytes));
  const buffer = device.createBuffer({
    label,
    size: bytes.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, bytes);
  return buffer;
}

/**
 * Copies a storage buffer back to the CPU (a sync point: call it at the end of a pass) through the device's
 * readback pool.
 */
export async function readFloat32(device: GPUDevice, source: GPUBuffer, count: number): Promise<Float32Array> {
  const [words] = await readbackPool(device).read([{ buffer: source, count }]);
  return words;
}
