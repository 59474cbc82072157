/**
 * The trained critic's value V(s) of the playground's current state, when this tab has a TWOSOME run with
 * at least one update (otherwise nothing is shown). Asked again when the state or the run's update changes.
 */
import { useEffect } from 'react';
import { usePlayground } from '../state/playground';
import { useTraining } from '../state/training';

export function CriticValue() {
  const stepId = usePlayground((s) => (s.timeline.length ? s.timeline[s.timeline.length - 1].stepId : null));
  const updates = useTraining((s) => (s.run?.algo === 'twosome' ? s.run.updates : 0));
  const critic = useTraining((s) => s.critic);
  const fetchValue = useTraining((s) => s.fetchCriticValue);
  useEffect(() => {
    if (stepId !== null && updates > 0) void fetchValue(stepId);
  }, [stepId, updates, fetchValue]);
  if (!critic || critic.stepId !== stepId || updates === 0) return null;
  return (
    <p className="card-note critic-value" data-testid="critic-value" data-value={critic.value}>
      Critic value of this state: <span className="mono">{critic.value.toFixed(4)}</span> (TWOSOME run, update {updates})
    </p>
  );
}
