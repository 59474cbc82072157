/**
 * The same layout scored without and with a LoRA adapter in one submission, and KL(base || adapted) of the two
 * models' next-token distributions at every scored token (LlamaEngine.forwardPairedTokenLogprobs, the capability
 * check's meanKl). Per pass, J = the layout's logit rows, V = the vocabulary:
 *
 *   adapted forward          workspace logits [J, V] = the adapted model's
 *   copy                     kept [J, V] = workspace logits          (the base pass overwrites the workspace's)
 *   base forward             workspace logits [J, V] = the frozen model's
 *   kl_rows                  kl [J] = KL(softmax(logits[j]) || softmax(kept[j]))        (kernels/kl-rows.ts)
 *
 * and only the J log-probs of each model and the J divergences are read back: a vocabulary row never leaves the
 * GPU. The kept logits and kl buffers belong to a KlPass made for one workspace (the engine keeps one per
 * workspace and frees it with it); it holds the rows of the passes it has seen, bucketed as the plans are.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall, type KernelContext } from '../../gpu/kernel';
import { readbackPool } from '../../gpu/readback';
import type { BatchGroup, PromptSize } from './batch-plan';
import type { ScoringForward } from './forward';
import { klRowsCall } from './kernels/kl-rows';
import type { ScoringLayout } from './scoring-layout';
import type { Workspace } from './workspace';

/** Per prompt, per action: each token's log-prob under both models and the KL of their distributions there. */
export interface PairedTokenLogprobs {
  base: Float32Array[];
  adapted: Float32Array[];
  /** KL(base || adapted) of the next-token distributions each token's log-prob is read from. */
  kl: Float32Array[];
}

/** What one paired pass read back, per logit row of its layout. */
export interface PairedRows {
  base: Float32Array;
  adapted: Float32Array;
  kl: Float32Array;
}

export class KlPass {
  private constructor(
    private readonly device: GPUDevice,
    readonly workspace: Workspace,
    /** Logit rows this pass holds. */
    readonly rows: number,
    private readonly kept: GPUBuffer,
    private readonly kl: GPUBuffer,
    private readonly call: KernelCall,
  ) {}

  /** A pass for up to `rows` logit rows of `workspace`'s passes (at most its capacity). */
  static async create(ctx: KernelContext, workspace: Workspace, rows: number): Promise<KlPass> {
    if (rows > workspace.capacity.logitRows) {
      throw new Error(`KlPass: ${rows} logit rows exceed the workspace's ${workspace.capacity.logitRows}`);
    }
    const V = workspace.shape.vocabSize;
    const kept = createStorageBuffer(ctx.device, 4 * rows * V, 'kept adapted logits');
    const kl = createStorageBuffer(ctx.device, 4 * rows, 'token kl');
    const call = await klRowsCall(ctx, workspace.get('logits'), kept, kl, rows, V);
    // The largest read of a paired pass: both models' log-probs and the divergences.
    readbackPool(ctx.device).reserve(12 * rows);
    return new KlPass(ctx.device, workspace, rows, kept, kl, call);
  }

  /**
   * Runs `layout` through `adapted` and `base` (plans of this pass's workspace for the same layout, the adapter's
   * and the frozen model's) and the KL of their logits, in one submission, and reads back the layout's rows.
   */
  async run(layout: ScoringLayout, adapted: ScoringForward, base: ScoringForward): Promise<PairedRows> {
    const J = layout.logitRows.length;
    if (adapted.workspace !== this.workspace || base.workspace !== this.workspace) {
      throw new Error("KlPass.run: both plans must run on the pass's workspace");
    }
    if (J > this.rows) throw new Error(`KlPass.run: ${J} logit rows exceed the pass's ${this.rows}`);
    adapted.load(layout);
    base.load(layout);
    const encoder = this.device.createCommandEncoder();
    adapted.encode(encoder);
    const bytes = 4 * J * this.workspace.shape.vocabSize;
    if (bytes > 0) encoder.copyBufferToBuffer(this.workspace.get('logits'), 0, this.kept, 0, bytes);
    base.encode(encoder);
    // Rows J.. of kept hold an earlier pass's values: their divergences are computed and never read.
    const pass = encoder.beginComputePass({ label: 'kl rows' });
    encodeCalls(pass, [this.call]);
    pass.end();
    const staged = readbackPool(this.device).stage(encoder, [
      { buffer: base.tokenLogprobs, count: J },
      { buffer: adapted.tokenLogprobs, count: J },
      { buffer: this.kl, count: J },
    ]);
    this.device.queue.submit([encoder.finish()]);
    const [baseRows, adaptedRows, kl] = await staged.read();
    return { base: baseRows, adapted: adaptedRows, kl };
  }

  dispose(): void {
    disposeCalls([this.call]);
    this.kept.destroy();
    this.kl.destroy();
  }
}

/** Per prompt, each action's rows of the groups' paired passes (as batch-plan.ts mergeGroupResults does). */
export function mergePairedGroups(
  sizes: readonly PromptSize[],
  results: readonly { group: BatchGroup; layout: ScoringLayout; rows: PairedRows }[],
): PairedTokenLogprobs[] {
  const merged: PairedTokenLogprobs[] = sizes.map((s) => {
    const n = s.actionTokens.length;
    return { base: new Array<Float32Array>(n), adapted: new Array<Float32Array>(n), kl: new Array<Float32Array>(n) };
  });
  for (const { group, layout, rows } of results) {
    group.forEach(({ prompt, from, to }, i) => {
      for (let k = from; k < to; k++) {
        const { first, count } = layout.actionLogitRanges[i][k - from];
        for (const key of ['base', 'adapted', 'kl'] as const) {
          merged[prompt][key][k] = rows[key].slice(first, first + count);
        }
      }
    });
  }
  merged.forEach((m, p) => {
    if (m.kl.some((a) => a === undefined)) {
      throw new Error(`mergePairedGroups: prompt ${p} is missing from the groups`);
    }
  });
  return merged;
}
