/**
 * The VirtualHome environment (Food Preparation, Entertainment and the unseen Food Preparation variants) behind
 * the shared Env interface. Spec environments.md B.3 (step), B.6 (reward, termination, horizon).
 *
 * step(i) takes the i-th OFFERED action (the obs2text subset) and maps it to its global id; stepGlobal(id)
 * applies any global id, offered or not, like the official env which accepts every index (conformance tests).
 * Deterministic: reset's seed is accepted for the interface and ignored.
 */
import {
  InvalidActionError,
  type Env,
  type EnvSnapshot,
  type Observation,
  type StepResult,
  type VirtualHomeRender,
  type VirtualHomeTaskId,
} from '../types';
import { applyAction, actionDefs, type ActionDef } from './rules';
import { bitsToVector, isSuccess, obsLength, observationBits } from './observation';
import { renderState } from './render';
import { cloneState, initialState, stateKey, type VhState } from './state';
import { taskSpec, type OfferedView, type TaskSpec } from './variants';

/** Episode length in steps (B.6): done when the step count reaches 50; a success on step 50 is still rewarded. */
export const VIRTUALHOME_HORIZON = 50;
/** Discount of the logged return `info['episode']['r']` = sum_t 0.95^t r_t (twosome.md 4.6). */
export const VIRTUALHOME_LOGGED_GAMMA = 0.95;

interface SnapshotData {
  state: VhState;
  steps: number;
  episodeReturn: number;
  done: boolean;
  success: boolean;
  last: { id: number; succeeded: boolean } | null;
}

export class VirtualHomeEnv implements Env {
  readonly taskId: VirtualHomeTaskId;
  private readonly spec: TaskSpec;
  private readonly defs: readonly ActionDef[];
  private s: VhState;
  private bits = 0;
  private view!: OfferedView;
  private steps = 0;
  private episodeReturn = 0;
  private isDone = false;
  private isSuccess = false;
  private last: { id: number; succeeded: boolean } | null = null;

  constructor(taskId: VirtualHomeTaskId) {
    this.spec = taskSpec(taskId);
    this.taskId = taskId;
    this.defs = actionDefs(this.spec.scene);
    this.s = initialState(this.spec.scene);
    this.refresh();
  }

  get done(): boolean {
    return this.isDone;
  }

  /** Size of the global action table (10 or 17). */
  get globalActionCount(): number {
    return this.defs.length;
  }

  /** Steps taken in this episode. */
  get stepCount(): number {
    return this.steps;
  }

  reset(_seed?: number): Observation {
    this.s = initialState(this.spec.scene);
    this.steps = 0;
    this.episodeReturn = 0;
    this.isDone = false;
    this.isSuccess = false;
    this.last = null;
    this.refresh();
    return this.observe();
  }

  observe(): Observation {
    return { prompt: this.view.prompt, actions: this.view.actionTexts.slice() };
  }

  actionCount(): number {
    return this.view.actionIds.length;
  }

  offeredActionIds(): readonly number[] {
    return this.view.actionIds;
  }

  symbolic(): Float32Array {
    return bitsToVector(this.bits, obsLength(this.spec.scene));
  }

  /** The observation bits packed into an integer (bit i = symbolic()[i]). */
  observationBits(): number {
    return this.bits;
  }

  step(index: number): StepResult {
    this.assertRunning();
    const ids = this.view.actionIds;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= ids.length) {
      throw new InvalidActionError(index, ids.length);
    }
    return this.apply(ids[index], index);
  }

  /**
   * Applies any global action id (offered or not); `action` in the result is its index among the actions
   * offered before the step, or -1 when it was not offered.
   */
  stepGlobal(id: number): StepResult {
    this.assertRunning();
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.defs.length) {
      throw new InvalidActionError(id, this.defs.length);
    }
    return this.apply(id, this.view.actionIds.indexOf(id));
  }

  render(): VirtualHomeRender {
    const last = this.last ? { text: this.spec.actionTexts[this.last.id], succeeded: this.last.succeeded } : null;
    return renderState(this.spec, this.s, last, this.steps);
  }

  snapshot(): EnvSnapshot {
    const data: SnapshotData = {
      state: cloneState(this.s),
      steps: this.steps,
      episodeReturn: this.episodeReturn,
      done: this.isDone,
      success: this.isSuccess,
      last: this.last ? { ...this.last } : null,
    };
    return { taskId: this.taskId, data };
  }

  restore(snapshot: EnvSnapshot): void {
    if (snapshot.taskId !== this.taskId) {
      throw new Error(`cannot restore a "${snapshot.taskId}" snapshot into a "${this.taskId}" environment`);
    }
    const d = snapshot.data as SnapshotData;
    if (!d || typeof d !== 'object' || !d.state || typeof d.steps !== 'number') {
      throw new Error('not a VirtualHome snapshot');
    }
    this.s = cloneState(d.state);
    this.steps = d.steps;
    this.episodeReturn = d.episodeReturn;
    this.isDone = d.done;
    this.isSuccess = d.success;
    this.last = d.last ? { ...d.last } : null;
    this.refresh();
  }

  /** Canonical key of the full hidden state (not the step count): equal keys behave identically. */
  stateKey(): string {
    return stateKey(this.s);
  }

  private assertRunning(): void {
    if (this.isDone) throw new Error('episode is over: call reset()');
  }

  private refresh(): void {
    this.bits = observationBits(this.spec.scene, this.s);
    this.view = this.spec.text(this.bits);
  }

  private apply(id: number, index: number): StepResult {
    // B.3: invalid or precondition-failing actions are silent no-ops that still count toward the horizon.
    const succeeded = applyAction(this.spec.scene, this.s, this.defs[id]);
    this.last = { id, succeeded };
    this.refresh();
    // B.6: reward and termination are evaluated on the new observation, whether or not the action succeeded.
    const t = this.steps++;
    const success = isSuccess(this.spec.scene, this.bits);
    const reward = success ? 1 : 0;
    if (reward !== 0) this.episodeReturn += Math.pow(VIRTUALHOME_LOGGED_GAMMA, t) * reward;
    this.isSuccess = success;
    this.isDone = success || this.steps >= VIRTUALHOME_HORIZON;
    return {
      reward,
      done: this.isDone,
      success,
      primitiveSteps: 1,
      action: index,
      actionText: this.spec.actionTexts[id],
      episodeReturn: this.episodeReturn,
    };
  }
}
