/**
 * The page's state: one zustand store made of slices, one per concern, each in its own file:
 *
 *   slice        file              what it holds
 *   playground   playground.ts     the setup (task, seed, model, normalization), the episode's timeline, auto-play
 *   training     training.ts       the Training card: the form, the run in the worker, charts, stored runs
 *   share        share.ts          the Adapter card: the adapter in use, its link, the saved adapters
 *   models       model-panel.ts    the catalog, the Model panel (cache, downloads, custom models)
 *   capability   capability.ts     the Capability check card: benchmarks, data, the check in the worker, results
 *   gpu          gpu.ts            the page's WebGPU adapter
 *
 * A slice is plain state and actions; what only its actions need (the worker client, request counters,
 * timers) lives in the closure of its creator, so every store made by createAppStore is independent (tests
 * make one each) and no state sits in module globals. A slice reads and calls the others through `app()`.
 * State that follows from other state is computed by a selector (timeline.ts: the latest state, the history),
 * not stored twice.
 *
 * Components read with `useApp(selector)`: one field per call, or several through `useShallow`; never the whole
 * store or a whole slice (a component would redraw on every change of it).
 */
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createCapabilitySlice, type CapabilitySlice } from './capability';
import { createGpuSlice, type GpuSlice } from './gpu';
import { createModelsSlice, type ModelsSlice } from './model-panel';
import { createPlaygroundSlice, type PlaygroundSlice } from './playground';
import { createShareSlice, type ShareSlice } from './share';
import { createTrainingSlice, type TrainingSlice } from './training';

export interface AppState {
  playground: PlaygroundSlice;
  training: TrainingSlice;
  share: ShareSlice;
  models: ModelsSlice;
  gpu: GpuSlice;
  capability: CapabilitySlice;
}

export type AppStore = StoreApi<AppState>;

/** What a slice's creator gets: its own state to read and patch, and the whole store. */
export interface SliceApi<K extends keyof AppState> {
  get(): AppState[K];
  /** Merges `patch` into this slice (one store update; the other slices keep their identity). */
  set(patch: Partial<AppState[K]>): void;
  /** The whole state: the other slices' state and actions. */
  app(): AppState;
  subscribe: AppStore['subscribe'];
}

export function createAppStore(): AppStore {
  return createStore<AppState>()((set, get, store) => {
    const slice = <K extends keyof AppState>(key: K): SliceApi<K> => ({
      get: () => get()[key],
      set: (patch) => set((s) => ({ [key]: { ...s[key], ...patch } }) as Pick<AppState, K>),
      app: get,
      subscribe: (listener) => store.subscribe(listener),
    });
    return {
      playground: createPlaygroundSlice(slice('playground')),
      training: createTrainingSlice(slice('training')),
      share: createShareSlice(slice('share')),
      models: createModelsSlice(slice('models')),
      gpu: createGpuSlice(slice('gpu')),
      capability: createCapabilitySlice(slice('capability')),
    };
  });
}

/** The page's store (App attaches the workers to it). */
export const appStore = createAppStore();

/** Reads the page's store in a component; re-renders when the selected value changes. */
export function useApp<T>(selector: (state: AppState) => T): T {
  return useStore(appStore, selector);
}
