import { useEffect } from 'react';
import { usePlayground } from '../state/playground';

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

/** Keys 1..9 take the offered action with that number; `r` starts a new episode. */
export function useKeyboardShortcuts(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (isTyping(event.target)) return;
      const store = usePlayground.getState();
      if (/^[1-9]$/.test(event.key)) {
        event.preventDefault();
        void store.takeAction(Number(event.key) - 1);
      } else if (event.key === 'r' || event.key === 'R') {
        event.preventDefault();
        void store.reset();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
