/**
 * Reading GPU buffers back without allocating on the hot path: every device has a pool of MAP_READ staging
 * buffers, and a readback takes a free one at least as large as it needs (creating one only when none is free),
 * maps it once for all the regions it copies, and gives it back. A steady state of the engine (the same reads
 * every step) creates no buffer.
 *
 * Several regions go through one staging buffer and one mapAsync: one wait for all of them. The copies are
 * recorded in the caller's command encoder, so they run in order with the work that produced the values (and
 * before any later work overwrites them); read() may only be awaited after that encoder has been submitted.
 */

/** A region of a GPU buffer to read: `count` f32 (or u32) words from `offset` bytes. */
export interface ReadRegion {
  buffer: GPUBuffer;
  count: number;
  offset?: number;
}

export interface StagedRead {
  /** The regions' words in order, each its own array (maps the staging buffer once; awaits the GPU). */
  read(): Promise<Float32Array[]>;
}

/** Staging sizes are powers of two of at least this many bytes, so that reads of nearby sizes share buffers. */
const MIN_STAGING_BYTES = 256;

export class ReadbackPool {
  private readonly free: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** Records copies of `regions` into one staging buffer; read() after the encoder is submitted. */
  stage(encoder: GPUCommandEncoder, regions: readonly ReadRegion[]): StagedRead {
    const total = regions.reduce((sum, r) => sum + 4 * r.count, 0);
    const staging = this.acquire(total);
    let at = 0;
    for (const r of regions) {
      if (r.count > 0) encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, at, 4 * r.count);
      at += 4 * r.count;
    }
    return {
      read: async () => {
        try {
          await staging.mapAsync(GPUMapMode.READ, 0, Math.max(4, total));
          const mapped = new Float32Array(staging.getMappedRange(0, Math.max(4, total)));
          // Copies: each region owns its array (a checkpoint stores them; views would carry the others along).
          let from = 0;
          const out = regions.map((r) => mapped.slice(from, (from += r.count)));
          staging.unmap();
          return out;
        } finally {
          this.free.push(staging);
        }
      },
    };
  }

  /** Reads `regions` now: records the copies in an encoder of its own, submits it and waits once. */
  async read(regions: readonly ReadRegion[]): Promise<Float32Array[]> {
    const encoder = this.device.createCommandEncoder();
    const staged = this.stage(encoder, regions);
    this.device.queue.submit([encoder.finish()]);
    return staged.read();
  }

  /** The largest staging buffer made so far: new ones are at least as large, so any one serves any read. */
  private largest = MIN_STAGING_BYTES;

  private acquire(bytes: number): GPUBuffer {
    let i = -1;
    this.free.forEach((b, k) => {
      if (b.size >= bytes && (i < 0 || b.size < this.free[i].size)) i = k;
    });
    if (i >= 0) return this.free.splice(i, 1)[0];
    this.largest = Math.max(this.largest, 2 ** Math.ceil(Math.log2(Math.max(4, bytes))));
    return this.device.createBuffer({
      label: 'readback',
      size: this.largest,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Makes every staging buffer from now on hold at least `bytes` (a reader that knows its largest read, e.g. the
   * engine when it sizes a workspace), and drops the free ones that do not: reads then never outgrow the pool.
   */
  reserve(bytes: number): void {
    const size = 2 ** Math.ceil(Math.log2(Math.max(4, bytes)));
    if (size <= this.largest) return;
    this.largest = size;
    for (let i = this.free.length - 1; i >= 0; i--) if (this.free[i].size < size) this.free.splice(i, 1)[0].destroy();
  }

  /** Destroys the free staging buffers (those in use are destroyed when their read ends and the pool is gone). */
  dispose(): void {
    this.free.splice(0).forEach((b) => b.destroy());
  }
}

const pools = new WeakMap<GPUDevice, ReadbackPool>();

/** The device's readback pool (one per device, shared by every reader on it). */
export function readbackPool(device: GPUDevice): ReadbackPool {
  let pool = pools.get(device);
  if (!pool) pools.set(device, (pool = new ReadbackPool(device)));
  return pool;
}
