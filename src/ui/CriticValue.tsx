/**
 * The trained critic's value V(s) of the playground's current state, when this tab has a TWOSOME run with
 * at least one update (otherwise nothing is shown). Asked again when the state or the run's update changes.
 */
import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../state/store';
import { latestEntry } from '../state/timeline';

export function CriticValue() {
  const { stepId, updates, critic, fetchValue } = useApp(
    useShallow(({ playground, training }) => ({
      stepId: latestEntry(playground)?.stepId ?? null,
      updates: training.run?.algo === 'twosome' ? training.run.updates : 0,
      critic: training.critic,
      fetchValue: training.fetchCriticValue,
    })),
  );
  useEffect(() => {
    if (stepId !== null && updates > 0) void fetchValue(stepId);
  }, [stepId, updates, fetchValue]);
  if (!critic || critic.stepId !== stepId || updates === 0) return null;
  return (
    <p className="card-note critic-value" data-testid="critic-value" data-value={critic.value}>
      Critic value of this state: <span className="mono">{critic.value.toFixed(4)}</span> (TWOSOME run, update {updates}
      )
    </p>
  );
}
