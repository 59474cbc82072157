import { useEffect } from 'react';
import { detectGpu } from '../state/gpu';
import { checkCached, useModelPanel } from '../state/model-panel';
import { usePlayground } from '../state/playground';
import { parseSetup, writeSetupToUrl } from '../state/url';
import { createModelsClient, createWorkerEnvClient } from '../worker/client';
import { ActionsCard, EpisodeStats, HistoryCard, PromptCard } from './EpisodePanel';
import { GpuPanel } from './GpuPanel';
import { ModelPanel } from './ModelPanel';
import { Header } from './Header';
import { SetupNotices, WebGpuMissing } from './Notices';
import { Stage } from './Stage';
import { useKeyboardShortcuts } from './useKeyboard';

/** Reads the setup (task, seed, model, normalization) from the URL and opens it (also on back/forward). */
function useUrlSetup(): void {
  useEffect(() => {
    const client = createWorkerEnvClient();
    const models = createModelsClient();
    useModelPanel.getState().attach(models);
    const store = usePlayground.getState();
    store.attach(client, { cacheCheck: checkCached });
    const openFromUrl = () => {
      const setup = parseSetup(window.location.search);
      writeSetupToUrl(setup, 'replace');
      void usePlayground.getState().open(setup, setup.problems);
    };
    openFromUrl();
    window.addEventListener('popstate', openFromUrl);
    return () => {
      window.removeEventListener('popstate', openFromUrl);
      client.dispose();
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
      <WebGpuMissing />
      <main className="layout">
        <Stage />
        <aside className="panel">
          <EpisodeStats />
          <PromptCard />
          <ActionsCard />
          <HistoryCard />
          <GpuPanel />
        </aside>
      </main>
      <ModelPanel />
    </div>
  );
}
