/**
 * The big activations of a pass, allocated once for a capacity (activations.ts workspaceActivations) and shared
 * by every call plan an engine builds on them: scoring with or without the adapter, the training forward and
 * the LoRA backward. Passes run one after another on it (each reads back or hands over what it needs before
 * the next one runs: the queue keeps their order).
 *
 * A workspace only grows (engine.ts replaces it with one of the larger capacity, and the plans built on it
 * with it), so an RL run allocates its activations a few times at its start and never again.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import {
  allocateActivations,
  bufferOf,
  loraUName,
  residualName,
  workspaceActivations,
  type Allocation,
  type WorkspaceCapacity,
} from './activations';
import type { ModelShape } from './forward';
import { ropeTable } from './rope';

/** Whether capacity `have` holds a pass that needs `need`. */
export function capacityFits(have: WorkspaceCapacity, need: WorkspaceCapacity): boolean {
  if (
    have.rows < need.rows ||
    have.logitRows < need.logitRows ||
    have.prompts < need.prompts ||
    have.positions < need.positions
  )
    return false;
  if (need.training && !have.training) return false;
  if (!need.lora) return true;
  if (!have.lora || have.lora.r < need.lora.r) return false;
  return need.lora.targets.every((t) => have.lora!.targets.includes(t));
}

/** The smallest capacity that holds both. */
export function capacityUnion(a: WorkspaceCapacity, b: WorkspaceCapacity): WorkspaceCapacity {
  const lora =
    a.lora || b.lora
      ? {
          r: Math.max(a.lora?.r ?? 0, b.lora?.r ?? 0),
          targets: [...new Set([...(a.lora?.targets ?? []), ...(b.lora?.targets ?? [])])],
        }
      : null;
  return {
    rows: Math.max(a.rows, b.rows),
    logitRows: Math.max(a.logitRows, b.logitRows),
    prompts: Math.max(a.prompts, b.prompts),
    positions: Math.max(a.positions, b.positions),
    training: a.training || b.training,
    lora,
  };
}

export class Workspace {
  private readonly buffers: Allocation;
  /**
   * The training forward whose last layer's activations the layer scratch holds right now (the LoRA backward
   * then skips recomputing that layer); null once any other pass has written the scratch.
   */
  scratchHolder: object | null = null;

  private constructor(
    readonly shape: ModelShape,
    readonly capacity: WorkspaceCapacity,
    buffers: Allocation,
  ) {
    this.buffers = buffers;
  }

  static create(device: GPUDevice, shape: ModelShape, invFreq: Float32Array, capacity: WorkspaceCapacity): Workspace {
    const specs = workspaceActivations(shape, capacity);
    const buffers = allocateActivations(
      device,
      specs.filter((s) => s.name !== 'rope cos/sin'),
    );
    // The RoPE table holds values from the start: positions are the capacity's, the same for every pass.
    buffers.set('rope cos/sin', createStorageBuffer(device, ropeTable(invFreq, capacity.positions), 'rope cos/sin'));
    return new Workspace(shape, capacity, buffers);
  }

  fits(need: WorkspaceCapacity): boolean {
    return capacityFits(this.capacity, need);
  }

  get(name: string): GPUBuffer {
    return bufferOf(this.buffers, name);
  }

  /** The buffer `name` where this capacity has one (some exist only for some shapes), else null. */
  find(name: string): GPUBuffer | null {
    return this.buffers.get(name) ?? null;
  }

  /** The residual stream entering layer l (l = layers: the final norm's input). */
  residual(layer: number): GPUBuffer {
    return this.get(residualName(layer, this.capacity.training));
  }

  loraU(target: string): GPUBuffer {
    return this.get(loraUName(target));
  }

  dispose(): void {
    this.buffers.forEach((b) => b.destroy());
  }
}
