/**
 * The environment worker: owns the one live Env and answers typed calls over Comlink. Environments are
 * pure and synchronous, so each call runs to completion before the next message is handled and replies
 * arrive in call order.
 */
import * as Comlink from 'comlink';
import { createEnv } from '../envs/registry';
import type { Env, TaskId } from '../envs/types';
import type { EnvView, EnvWorkerApi, ResetReply, StepReply } from './protocol';

let env: Env | null = null;
let seed = 0;

function view(current: Env): EnvView {
  return {
    taskId: current.taskId,
    seed,
    observation: current.observe(),
    render: current.render(),
    done: current.done,
  };
}

const api: EnvWorkerApi = {
  reset(taskId: TaskId, nextSeed: number): ResetReply {
    if (!env || env.taskId !== taskId) env = createEnv(taskId);
    seed = nextSeed;
    env.reset(nextSeed);
    return { ...view(env), result: null };
  },
  step(index: number): StepReply {
    if (!env) throw new Error('the environment worker has no environment yet: call reset(taskId, seed) first');
    const result = env.step(index);
    return { ...view(env), result };
  },
};

Comlink.expose(api);
