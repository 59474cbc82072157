import { AskFreely } from './AskFreely';
import { CriticValue } from './CriticValue';
import { ActionsCard, EpisodeStats, HistoryCard, PromptCard } from './EpisodePanel';

/**
 * The Agent section: the episode at the shown step, the prompt, the actions and their probabilities, free
 * generation (Ask freely), the critic's value, the history.
 */
export function AgentSection() {
  return (
    <>
      <EpisodeStats />
      <PromptCard />
      <ActionsCard />
      <AskFreely />
      <CriticValue />
      <HistoryCard />
    </>
  );
}
