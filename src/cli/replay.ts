/** The --actions flag of `twosome score` and `twosome generate`: a task's observation after replaying actions. */
import { createEnv } from '../envs/registry';
import { InvalidActionError } from '../envs/types';
import { UsageError } from './errors';

/** The prompt and offered actions after replaying `replay` from the task's first state (seed 0). */
export function replayObservation(task: string, replay: readonly number[]): { prompt: string; actions: string[] } {
  const env = createEnv(task);
  env.reset(0);
  replay.forEach((index, i) => {
    if (env.done) throw new UsageError(`--actions: the episode ended after ${i} actions; no more can be replayed`);
    try {
      env.step(index);
    } catch (error) {
      if (error instanceof InvalidActionError) throw new UsageError(`--actions step ${i}: ${error.message}`);
      throw error;
    }
  });
  return env.observe();
}
