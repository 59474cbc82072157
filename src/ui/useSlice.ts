import { useShallow } from 'zustand/react/shallow';
import { useApp, type AppState } from '../state/store';

/**
 * Several fields of one slice, as they are: `const { phase, run } = useSlice('training', 'phase', 'run')`. Read
 * through `useShallow`, so the component redraws only when one of these fields changes, not on every change of
 * the slice. A derived value (a count, a test) or fields of two slices take a selector of their own.
 */
export function useSlice<S extends keyof AppState, K extends keyof AppState[S]>(
  slice: S,
  ...keys: K[]
): Pick<AppState[S], K> {
  return useApp(
    useShallow((state) => {
      const picked = {} as Pick<AppState[S], K>;
      for (const key of keys) picked[key] = state[slice][key];
      return picked;
    }),
  );
}
