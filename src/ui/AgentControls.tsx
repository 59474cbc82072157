import { useShallow } from 'zustand/react/shallow';
import { SPEEDS } from '../state/playground';
import { useApp } from '../state/store';
import { isViewingPast, latestEntry, latestScores } from '../state/timeline';
import { Field } from './parts';

/** The two ways to step with the policy: sample an action (the primary one), or take the most probable one. */
const POLICY_STEPS = [
  { mode: 'sample', label: 'Step', key: 'Space', help: 'Sample an action from the policy', testId: 'step-button' },
  { mode: 'greedy', label: 'Greedy step', key: 'g', help: 'Take the most probable action', testId: 'greedy-button' },
] as const;

/** Step (sample), Greedy step (argmax), auto-play with its speed, and Reset. */
export function AgentToolbar() {
  const { canStep, done, autoPlay, speed, policyStep, setAutoPlay, setSpeed, reset, modelReady } = useApp(
    useShallow(({ playground: s }) => {
      const done = latestEntry(s)?.done ?? false;
      return {
        canStep: s.phase === 'ready' && !s.busy && !done && latestScores(s) !== null,
        done,
        autoPlay: s.autoPlay,
        speed: s.speed,
        policyStep: s.policyStep,
        setAutoPlay: s.setAutoPlay,
        setSpeed: s.setSpeed,
        reset: s.reset,
        modelReady: s.model.status === 'ready',
      };
    }),
  );
  return (
    <div className="toolbar" role="toolbar" aria-label="Agent">
      {POLICY_STEPS.map(({ mode, label, key, help, testId }) => (
        <button
          key={mode}
          type="button"
          className={mode === 'sample' ? 'button button--primary' : 'button'}
          onClick={() => void policyStep(mode)}
          disabled={!canStep}
          aria-keyshortcuts={key}
          title={`${help} (${key.toLowerCase()})`}
          data-testid={testId}
        >
          {label}
        </button>
      ))}
      <button
        type="button"
        className={`button${autoPlay ? ' button--on' : ''}`}
        onClick={() => setAutoPlay(!autoPlay)}
        disabled={!modelReady && !autoPlay}
        aria-pressed={autoPlay}
        aria-keyshortcuts="p"
        title={autoPlay ? 'Stop auto-play (p)' : 'Let the agent step by itself, sampling from its policy (p)'}
        data-testid="autoplay-button"
      >
        Auto-play
      </button>
      <Field label="Speed">
        <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} data-testid="speed-select">
          {SPEEDS.map((v) => (
            <option key={v} value={v}>
              {v} step{v === 1 ? '' : 's'}/s
            </option>
          ))}
        </select>
      </Field>
      {autoPlay && done && (
        <span className="toolbar-note" data-testid="autoplay-note">
          auto-play stopped at the episode's end; Reset starts the next
        </span>
      )}
      <span className="toolbar-spacer" />
      <button
        type="button"
        className="button"
        onClick={() => void reset()}
        aria-keyshortcuts="r"
        title="Start a new episode (r)"
      >
        Reset
      </button>
    </div>
  );
}

/** Scrubs through the episode's states (read-only); the latest is where stepping continues. */
export function Timeline() {
  const { count, viewIndex, past, viewStep } = useApp(
    useShallow(({ playground: s }) => ({
      count: s.timeline.length,
      viewIndex: s.viewIndex,
      past: isViewingPast(s),
      viewStep: s.viewStep,
    })),
  );
  const last = Math.max(0, count - 1);
  const shown = viewIndex === null ? last : Math.min(viewIndex, last);
  return (
    <div className="timeline" data-testid="timeline" data-shown={shown} data-latest={last}>
      <span className="field-label">Timeline</span>
      <button
        type="button"
        className="icon-button"
        aria-label="Previous state"
        onClick={() => viewStep(shown - 1)}
        disabled={shown === 0}
      >
        ‹
      </button>
      <input
        type="range"
        min={0}
        max={last}
        step={1}
        value={shown}
        disabled={count < 2}
        onChange={(e) => viewStep(Number(e.target.value))}
        aria-label="Timeline"
        aria-valuetext={`step ${shown} of ${last}`}
        data-testid="timeline-slider"
      />
      <button
        type="button"
        className="icon-button"
        aria-label="Next state"
        onClick={() => viewStep(shown + 1)}
        disabled={shown >= last}
      >
        ›
      </button>
      <span className="timeline-pos" data-testid="timeline-pos">
        step {shown} / {last}
      </span>
      <button
        type="button"
        className={`button button--small${past ? '' : ' button--hidden'}`}
        onClick={() => viewStep(null)}
        disabled={!past}
      >
        Latest
      </button>
    </div>
  );
}
