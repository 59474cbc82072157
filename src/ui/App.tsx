import { lazy, Suspense, useEffect } from 'react';
import { findModel } from '../state/models';
import { appStore } from '../state/store';
import { parseSetup, writeSetupToUrl } from '../state/url';
import { startModelsWorker, startPlaygroundWorker } from '../worker/client';
import { ModelPanel } from './ModelPanel';
import { Header } from './Header';
import { SetupNotices, WebGpuMissing } from './Notices';
import { AgentSection } from './AgentSection';
import { GpuPanel } from './GpuPanel';
import { Section, SectionNav } from './sections';
import { SharePanel, ShareNotice } from './SharePanel';
import { Stage } from './Stage';
import { TrainingPanel } from './TrainingPanel';
import { useKeyboardShortcuts } from './useKeyboard';

// Below the fold and used now and then: its code loads after the first screen.
const CapabilityCard = lazy(() => import('./CapabilityCard').then((m) => ({ default: m.CapabilityCard })));

/**
 * Starts the two workers, attaches the store's slices to them, reads the setup (task, seed, model, normalization)
 * from the URL and opens it (also on back/forward).
 *
 * Idempotent under React's StrictMode, which runs this effect, its cleanup and the effect again in development:
 * the URL is read (and rewritten to the clean setup) only by a run still mounted a microtask later, and a
 * cleaned-up run's pending steps (the catalog wait, the open chain) do nothing. Otherwise the first run would
 * clean the URL and the second would parse the clean URL and drop the notices about a bad one.
 */
function useUrlSetup(): void {
  useEffect(() => {
    let live = true;
    const playground = startPlaygroundWorker();
    const models = startModelsWorker();
    const app = () => appStore.getState();
    app().models.attach(models.api);
    app().playground.attach(playground.api.agent);
    // A playground worker that dies stops training with it; Resume (or Start) starts a fresh one, reopens the
    // playground there (a new episode, the model loaded again) and continues the run from its store.
    const restartWorker = async () => {
      playground.restart();
      const { taskId, seed, modelId, norm } = app().playground;
      app().playground.attach(playground.api.agent);
      app().share.attach(playground.api.agent);
      await app().playground.open({ taskId, seed, modelId, norm });
    };
    app().training.attach(playground.api.training, { restartWorker });
    const stopFailureWatch = playground.onFailure((error) => app().training.workerStopped(error.message));
    app().share.attach(playground.api.agent);
    app().capability.attach(playground.api.capability);
    app().ask.attach(playground.api.agent);
    let opened = false;
    const openFromUrl = () => {
      // A catalog id in the link waits for web-llm's model list, which the models worker loads after the first screen.
      const model = new URLSearchParams(window.location.search).get('model');
      if (model !== null && !findModel(app().models, model)) void app().models.catalogLoaded().then(openNow);
      else openNow();
    };
    const openNow = () => {
      if (!live) return;
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
        .then(() => (live ? app().share.openFromLocation(window.location) : undefined))
        .then(() => (live && pageStart ? app().share.restoreSaved() : undefined));
    };
    queueMicrotask(() => {
      if (live) openFromUrl();
    });
    window.addEventListener('popstate', openFromUrl);
    return () => {
      live = false;
      window.removeEventListener('popstate', openFromUrl);
      stopFailureWatch();
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
          <SectionNav />
          <Section id="agent">
            <AgentSection />
          </Section>
          <Section id="adapter">
            <SharePanel />
          </Section>
          <Section id="webgpu">
            <GpuPanel />
          </Section>
        </aside>
      </main>
      <Section id="training">
        <TrainingPanel />
      </Section>
      <Section id="capability">
        <Suspense fallback={null}>
          <CapabilityCard />
        </Suspense>
      </Section>
      <ModelPanel />
    </div>
  );
}
