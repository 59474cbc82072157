import { familyTitle, getTask } from '../envs/registry';
import { SceneView } from '../scene/SceneView';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../state/store';
import { isViewingPast, shownEntry } from '../state/timeline';
import { AgentToolbar, Timeline } from './AgentControls';

/** The 3D scene of the shown state with the task's title and a short legend, the agent's controls and the timeline. */
export function Stage() {
  const { render, taskId, phase, pastStep, latestStep } = useApp(
    useShallow(({ playground: s }) => ({
      render: shownEntry(s)?.render ?? null,
      taskId: s.taskId,
      phase: s.phase,
      pastStep: isViewingPast(s) ? (shownEntry(s)?.t ?? 0) : null,
      latestStep: s.timeline.length - 1,
    })),
  );
  const task = getTask(taskId);
  return (
    <section className="stage" aria-label="Scene">
      <div className="stage-head">
        <div>
          <h2 data-testid="task-title">{task.title}</h2>
          <p>{task.description}</p>
        </div>
        <div className="chips">
          <span className="chip">{familyTitle(task.family)}</span>
          <span className={`chip ${task.split === 'unseen' ? 'chip--accent' : ''}`}>
            {task.split === 'unseen' ? 'unseen variant' : 'training task'}
          </span>
        </div>
      </div>
      <div className="stage-canvas">
        <SceneView render={render} className="scene" />
        {pastStep !== null && (
          <div className="stage-badge" data-testid="past-badge">
            step {pastStep} of {latestStep} · read-only
          </div>
        )}
        {!render && (
          <div className="stage-overlay">
            {phase === 'error' ? 'The environment failed to start.' : 'Loading environment…'}
          </div>
        )}
        <div className="stage-legend" aria-hidden="true">
          <span>
            <i className={`swatch swatch--${task.legend.swatch}`} /> {task.legend.text}
          </span>
          <span>drag to orbit · scroll to zoom</span>
        </div>
      </div>
      <div className="stage-controls">
        <AgentToolbar />
        <Timeline />
      </div>
    </section>
  );
}
