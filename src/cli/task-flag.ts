/** The --task flag of the commands that play one task of the registry (score, generate, bench env). */
import { isTaskId, TASK_IDS } from '../envs/registry';
import type { TaskId } from '../envs/types';
import type { FlagSpec } from './args';
import { UsageError } from './errors';

export const TASK_FLAG = { type: 'string', arg: 'ID', help: `the task: ${TASK_IDS.join(', ')}` } satisfies FlagSpec;

/** The --task value, which is required and must name a task; a one-line usage error otherwise. */
export function requiredTask(task: string | undefined, usage: string): TaskId {
  if (!task) throw new UsageError(`--task is required\nusage: ${usage}`);
  if (!isTaskId(task)) throw new UsageError(`unknown task "${task}": use one of ${TASK_IDS.join(', ')}`);
  return task;
}
