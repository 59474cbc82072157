/**
 * Evaluation of the current run's policy (SayCan, or no run: the frozen model) over the tasks of the run's
 * family: success rate, mean return and length over N episodes, sampled or greedy. 'seen' marks the task the run
 * trained on (the frozen model saw none).
 */
import { useState } from 'react';
import { getTask, tasksOfFamily } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { useApp } from '../state/store';
import { ErrorText, TableHead, NumberField } from './parts';
import { useSlice } from './useSlice';

/** The tasks an agent of `taskId` is evaluated on: its family's seen and unseen tasks. */
export function evaluationTasks(taskId: TaskId): TaskId[] {
  return tasksOfFamily(getTask(taskId).family).map((t) => t.id);
}

/** Whose policy Evaluate plays: the run's, or (no run, or SayCan's) the base model without an adapter. */
export function evalSubject(algo: string | null): string {
  return algo !== null && algo !== 'saycan' ? "the current run's policy" : 'the base model without an adapter';
}

export function EvalTable() {
  const { evaluation, phase, run, evaluate } = useSlice('training', 'evaluation', 'phase', 'run', 'evaluate');
  const formTask = useApp((s) => s.training.form.taskId);
  const [episodes, setEpisodes] = useState(10);
  const [greedy, setGreedy] = useState(false);
  const taskId = run?.taskId ?? formTask;
  const busy = phase === 'running' || phase === 'starting' || evaluation.status === 'running';
  return (
    <div className="eval" data-testid="eval">
      <div className="toolbar">
        <button
          type="button"
          className="button button--small"
          disabled={busy}
          onClick={() => void evaluate(evaluationTasks(taskId), episodes, greedy)}
        >
          Evaluate
        </button>
        <NumberField label="Episodes" min={1} max={1000} value={episodes} onChange={setEpisodes} />
        <label className="toolbar-note">
          <input type="checkbox" checked={greedy} onChange={(e) => setGreedy(e.target.checked)} /> greedy (argmax;
          default samples, as the paper)
        </label>
        <span className="card-hint" data-testid="eval-subject">
          {/* A stored run (after a reload, before Resume) is not in memory: the base model is evaluated. */}
          {evalSubject(phase === 'stored' ? null : (run?.algo ?? null))}
          {phase === 'running' ? '; pause training first' : ''}
        </span>
      </div>
      {evaluation.status === 'running' && <p className="card-note">Evaluating…</p>}
      {evaluation.status === 'error' && <ErrorText>{evaluation.message}</ErrorText>}
      {evaluation.status === 'done' && (
        <table className="eval-table" data-testid="eval-table">
          <TableHead columns={['Task', 'Split', 'Success', 'Return', 'Length', 'Episodes']} />
          <tbody>
            {evaluation.rows.map((r) => (
              <tr key={r.taskId}>
                <td>{getTask(r.taskId).title}</td>
                <td>{r.seen ? 'seen' : 'unseen'}</td>
                <td>{Math.round(100 * r.successRate)}%</td>
                <td>{r.meanReturn.toFixed(3)}</td>
                <td>{r.meanLength.toFixed(1)}</td>
                <td>
                  {r.episodes}
                  {r.greedy ? ' (greedy)' : ''}
                </td>
              </tr>
            ))}
            {evaluation.skipped.map((s) => (
              <tr key={s.taskId} className="eval-skipped">
                <td>{getTask(s.taskId).title}</td>
                <td colSpan={5}>{s.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
