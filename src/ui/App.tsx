import { useEffect } from 'react';
import { detectGpu } from '../state/gpu';
import { checkCached, useModelPanel } from '../state/model-panel';
import { catalogLoaded, findModel } from '../state/models';
import { usePlayground } from '../state/playground';
import { useShare } from '../state/share';
import { useTraining } from '../state/training';
import { parseSetup, writeSetupToUrl } from '../state/url';
import { startModelsWorker, startPlaygroundWorker } from '../worker/client';
import { ActionsCard, EpisodeStats, HistoryCard, PromptCard } from './EpisodePanel';
import { GpuPanel } from './GpuPanel';
import { ModelPanel } from './ModelPanel';
import { Header } from './Header';
import { SetupNotices, WebGpuMissing } from './Notices';
import { SharePanel, ShareNotice } from './SharePanel';
import { Stage } from './Stage';
import { TrainingPanel } from './TrainingPanel';
import { CriticValue } from './CriticValue';
import { useKeyboardShortcuts } from './useKeyboard';

/** Reads the setup (task, seed, model, normalization) from the URL and opens it (also on back/forward). */
function useUrlSetup(): void {
  useEffect(() => {
    const playground = startPlaygroundWorker();
    const models = startModelsWorker();
    useModelPanel.getState().attach(models.api);
    usePlayground.getState().attach(playground.api.agent, { cacheCheck: checkCached });
    useTraining.getState().attach(playground.api.training);
    useShare.getState().attach(playground.api.agent);
    let opened = false;
    const openFromUrl = () => {
      // A catalog id in the link waits for web-llm's model list, which the models worker loads after the first screen.
      const model = new URLSearchParams(window.location.search).get('model');
      if (model !== null && !findModel(model)) void catalogLoaded().then(openNow);
      else openNow();
    };
    const openNow = () => {
      const setup = parseSetup(window.location.search);
      // popstate also fires when only the fragment changed (a share link pasted into this page's address
      // bar): when the setup is the one shown, the episode goes on and only the link is applied.
      const now = usePlayground.getState();
      if (opened && setup.problems.length === 0 && (['taskId', 'seed', 'modelId', 'norm'] as const).every((k) => setup[k] === now[k])) {
        void useShare.getState().openFromLocation(window.location);
        return;
      }
      const pageStart = !opened;
      opened = true;
      writeSetupToUrl(setup, 'replace');
      // A share link (#share=) or ?adapter= is applied over the opened setup, so a bad one leaves it as it is;
      // without one, on page start, the saved adapter the page was last using comes back.
      void usePlayground
        .getState()
        .open(setup, setup.problems)
        .then(() => useShare.getState().openFromLocation(window.location))
        .then(() => (pageStart ? useShare.getState().restoreSaved(window.location) : undefined));
    };
    openFromUrl();
    window.addEventListener('popstate', openFromUrl);
    return () => {
      window.removeEventListener('popstate', openFromUrl);
      playground.dispose();
      models.dispose();
    };
  }, []);
}

export function App() {
  useUrlSetup();
  useKeyboardShortcuts();
  useEffect(() => {
    void detectGpu();
  }, []);

  return (
    <div className="app">
      <Header />
      <SetupNotices />
      <ShareNotice />
      <WebGpuMissing />
      <main className="layout">
        <Stage />
        <aside className="panel">
          <EpisodeStats />
          <PromptCard />
          <ActionsCard />
          <CriticValue />
          <HistoryCard />
          <SharePanel />
          <GpuPanel />
        </aside>
      </main>
      <TrainingPanel />
      <ModelPanel />
    </div>
  );
}
