import { useEffect } from 'react';
import { appStore } from '../state/store';

/** Fields where keys mean text or a choice (a range slider or checkbox is not one: keys there still act). */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button'].includes(target.type);
  const tag = target.tagName;
  return tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

/**
 * Keys 1..9 take the offered action with that number; space steps (samples from the policy), g takes the
 * greedy step, p toggles auto-play, r starts a new episode.
 */
export function useKeyboardShortcuts(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (isTyping(event.target)) return;
      const store = appStore.getState().playground;
      if (/^[1-9]$/.test(event.key)) {
        event.preventDefault();
        void store.takeAction(Number(event.key) - 1);
      } else if (event.key === ' ') {
        // Also keeps a focused button from being clicked by the same key.
        event.preventDefault();
        void store.policyStep('sample');
      } else if (event.key === 'g' || event.key === 'G') {
        event.preventDefault();
        void store.policyStep('greedy');
      } else if (event.key === 'p' || event.key === 'P') {
        event.preventDefault();
        store.setAutoPlay(!store.autoPlay);
      } else if (event.key === 'r' || event.key === 'R') {
        event.preventDefault();
        void store.reset();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
