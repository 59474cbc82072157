/**
 * The typed RPC surface of the environment worker. Everything here is plain, structured-cloneable data:
 * the UI never holds an Env, only what the worker reports after each call.
 */
import type { Observation, RenderDescription, StepResult, TaskId } from '../envs/types';

/** What the UI needs after any call: the prompt and actions to offer, and what to draw. */
export interface EnvView {
  taskId: TaskId;
  seed: number;
  observation: Observation;
  render: RenderDescription;
  done: boolean;
}

/** A reset has no step result; a step has one. */
export interface ResetReply extends EnvView {
  result: null;
}

export interface StepReply extends EnvView {
  result: StepResult;
}

export interface EnvWorkerApi {
  /** Creates (or reuses) the task's environment and starts an episode with `seed`. */
  reset(taskId: TaskId, seed: number): ResetReply;
  /** Takes the offered action at `index` (an index into the latest observation's actions). */
  step(index: number): StepReply;
}
