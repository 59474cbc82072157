/**
 * The Overcooked env (types.ts `Env`): one macro action per step(), run by the A.5 controller over the A.3
 * primitive dynamics; text from the A.4 vector via A.6/A.7.
 */
import {
  InvalidActionError,
  type Env,
  type EnvSnapshot,
  type Observation,
  type OvercookedRender,
  type OvercookedTaskId,
  type StepResult,
} from '../types';
import { MACRO_DISCOUNT, MacroTrace, runMacro } from './controller';
import { LAYOUTS, type TaskLayout } from './layout';
import { writeObservation } from './observation';
import type { OvercookedOptions } from './options';
import type { OvercookedRewards } from './primitive';
import { buildRender } from './render';
import { OvercookedState, type OvercookedStateData } from './state';
import type { TextObservation } from './text';
import { cachedText } from './text-cache';

/** Discount of the logged return, per primitive step (twosome.md 3.6). */
const LOGGED_RETURN_DISCOUNT = MACRO_DISCOUNT;

export interface OvercookedSnapshotData {
  state: OvercookedStateData;
  macroStep: number;
  episodeReturn: number;
  returnDiscount: number;
  done: boolean;
  success: boolean;
  lastMacro: {
    actions: number[];
    from: number[];
    to: number[];
    rewards: number[];
    smdpReward: number;
    terminal: boolean;
  };
}

export class OvercookedEnv implements Env {
  readonly taskId: OvercookedTaskId;
  private readonly layout: TaskLayout;
  private readonly rewards: OvercookedRewards;
  private readonly horizon: number;
  private readonly viewRadius: number;
  private readonly state = new OvercookedState();
  private readonly trace = new MacroTrace();
  private readonly obsBuffer: Float32Array;
  private readonly actionIds: readonly number[];
  /** Text of the current state, built at most once per state (observe() and step()'s action label share it). */
  private text: TextObservation | null = null;
  private macroStep = 0;
  private episodeReturn = 0;
  /** 0.99^envStep: the weight of the next primitive step in the logged return. */
  private returnDiscount = 1;
  private isDone = false;
  private isSuccess = false;

  constructor(taskId: OvercookedTaskId, options: OvercookedOptions) {
    this.taskId = taskId;
    this.layout = LAYOUTS[taskId];
    this.rewards = { ...options.rewards };
    this.horizon = options.horizon;
    this.viewRadius = options.viewRadius;
    this.obsBuffer = new Float32Array(this.layout.obsLength);
    this.actionIds = Object.freeze(Array.from(this.layout.macroKind, (_, i) => i));
    this.resetState();
  }

  get done(): boolean {
    return this.isDone;
  }

  /** The env is deterministic: the seed is accepted for the interface and ignored. */
  reset(_seed?: number): Observation {
    this.resetState();
    return this.observe();
  }

  observe(): Observation {
    const text = this.currentText();
    return { prompt: text.prompt, actions: text.actions.slice() };
  }

  actionCount(): number {
    return this.actionIds.length;
  }

  offeredActionIds(): readonly number[] {
    return this.actionIds;
  }

  symbolic(): Float32Array {
    writeObservation(this.state, this.layout, this.viewRadius, this.obsBuffer);
    return this.obsBuffer.slice();
  }

  step(index: number): StepResult {
    if (this.isDone) throw new Error('episode is over: call reset()');
    const count = this.actionIds.length;
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new InvalidActionError(index, count);
    const actionText = this.currentText().actions[index];

    const trace = this.trace;
    runMacro(this.state, this.layout, this.rewards, this.horizon, this.viewRadius, index, trace);
    this.text = null;
    this.macroStep++;
    // Logged return: sum over the episode's primitive steps t of 0.99^t r_t.
    let discount = this.returnDiscount;
    let episodeReturn = this.episodeReturn;
    for (let k = 0; k < trace.length; k++) {
      episodeReturn += discount * trace.rewards[k];
      discount *= LOGGED_RETURN_DISCOUNT;
    }
    this.returnDiscount = discount;
    this.episodeReturn = episodeReturn;
    this.isDone = trace.terminal;
    this.isSuccess = this.state.delivered;
    return {
      reward: trace.smdpReward,
      done: trace.terminal,
      success: this.isSuccess,
      primitiveSteps: trace.length,
      action: index,
      actionText,
      episodeReturn,
    };
  }

  render(): OvercookedRender {
    return buildRender(this.state, this.layout, this.viewRadius, this.trace, this.macroStep);
  }

  snapshot(): EnvSnapshot {
    const t = this.trace;
    const data: OvercookedSnapshotData = {
      state: this.state.toData(),
      macroStep: this.macroStep,
      episodeReturn: this.episodeReturn,
      returnDiscount: this.returnDiscount,
      done: this.isDone,
      success: this.isSuccess,
      lastMacro: {
        actions: Array.from(t.actions.subarray(0, t.length)),
        from: Array.from(t.from.subarray(0, t.length)),
        to: Array.from(t.to.subarray(0, t.length)),
        rewards: Array.from(t.rewards.subarray(0, t.length)),
        smdpReward: t.smdpReward,
        terminal: t.terminal,
      },
    };
    return { taskId: this.taskId, data };
  }

  restore(snapshot: EnvSnapshot): void {
    if (snapshot.taskId !== this.taskId) {
      throw new Error(`cannot restore a "${snapshot.taskId}" snapshot into a "${this.taskId}" env`);
    }
    const data = snapshot.data as OvercookedSnapshotData;
    this.state.fromData(data.state);
    this.macroStep = data.macroStep;
    this.episodeReturn = data.episodeReturn;
    this.returnDiscount = data.returnDiscount;
    this.isDone = data.done;
    this.isSuccess = data.success;
    const t = this.trace;
    t.length = data.lastMacro.actions.length;
    t.actions.set(data.lastMacro.actions);
    t.from.set(data.lastMacro.from);
    t.to.set(data.lastMacro.to);
    t.rewards.set(data.lastMacro.rewards);
    t.smdpReward = data.lastMacro.smdpReward;
    t.terminal = data.lastMacro.terminal;
    this.text = null;
  }

  private resetState(): void {
    this.state.reset(this.layout);
    this.trace.clear();
    this.text = null;
    this.macroStep = 0;
    this.episodeReturn = 0;
    this.returnDiscount = 1;
    this.isDone = false;
    this.isSuccess = false;
  }

  private currentText(): TextObservation {
    if (this.text === null) {
      writeObservation(this.state, this.layout, this.viewRadius, this.obsBuffer);
      this.text = cachedText(this.obsBuffer, this.layout);
    }
    return this.text;
  }
}
