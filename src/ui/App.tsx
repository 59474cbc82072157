import { lazy, Suspense, useEffect } from 'react';
import { findModel } from '../state/models';
import { appStore } from '../state/store';
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

// Below the fold and used now and then: its code loads after the first screen.
const CapabilityCard = lazy(() => import('./CapabilityCard').then((m) => ({ default: m.CapabilityCard })));

/**
 * Starts the two workers, attaches the store's slices to them, reads the setup (task, seed, model, normalization)
 * from the URL and opens it (also on back/forward).
 */
function useUrlSetup(): void {
  useEffect(() => {
    const playground = startPlaygroundWorker();
    const models = startModelsWorker();
    const app = () => appStore.getState();
    app().models.attach(models.api);
    app().playground.attach(playground.api.agent);
    app().training.attach(playground.api.training);
    app().share.attach(playground.api.agent);
    app().capability.attach(playground.api.capability);
    let opened = false;
    const openFromUrl = () => {
      // A catalog id in the link waits for web-llm's model list, which the models worker loads after the first screen.
      const model = new URLSearchParams(window.location.search).get('model');
      if (model !== null && !findModel(app().models, model)) void app().models.catalogLoaded().then(openNow);
      else openNow();
    };
    const openNow = () => {
      const setup = parseSetup(window.location.search, app().models);
      // popstate also fires when only the fragment changed (a share link pasted into this page's address
      // bar): when the setup is the one shown, the episode goes on and only the link is applied.
      const now = app().playground;
      const same = (['taskId', 'seed', 'modelId', 'norm'] as const).every((k) => setup[k] === now[k]);
      if (opened && setup.problems.length === 0 && same) {
        void app().share.openFromLocation(window.location);
        return;
      }
      const pageStart = !opened;
      opened = true;
      writeSetupToUrl(setup, 'replace');
      // A share link (#share=) or ?adapter= is applied over the opened setup, so a bad one leaves it as it is;
      // without one, on page start, the saved adapter the page was last using comes back.
      void app()
        .playground.open(setup, setup.problems)
        .then(() => app().share.openFromLocation(window.location))
        .then(() => (pageStart ? app().share.restoreSaved(window.location) : undefined));
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
    void appStore.getState().gpu.detect();
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
      <Suspense fallback={null}>
        <CapabilityCard />
      </Suspense>
      <ModelPanel />
    </div>
  );
}
