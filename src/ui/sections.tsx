/**
 * The page's sections, named in a bar above the side panel's cards: every card is one click away and its name
 * is on screen, while the scene and the agent stay the first screen. The Agent, Adapter and WebGPU cards are in
 * the side panel (its own scroll area), the Training and Capability check cards below the scene (the page
 * scrolls to them); a click scrolls its card into view. A badge on a name shows a short live status (a run's
 * progress, an adapter in use, WebGPU missing), so it can be seen whichever card is in view.
 *
 * To add a card, add one line to SECTIONS and render the card inside <Section id=...> where it goes.
 */
import type { ComponentType, ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../state/store';

interface SectionInfo {
  id: string;
  title: string;
  Badge?: ComponentType;
}

export const SECTIONS: readonly SectionInfo[] = [
  { id: 'agent', title: 'Agent' },
  { id: 'adapter', title: 'Adapter', Badge: AdapterBadge },
  { id: 'training', title: 'Training', Badge: TrainingBadge },
  { id: 'webgpu', title: 'WebGPU', Badge: GpuBadge },
  { id: 'capability', title: 'Capability check' },
];

/** The element of section `id` (the nav scrolls to it). */
const sectionElementId = (id: string) => `section-${id}`;

/** A card's place on the page, for the nav. */
export function Section({ id, children }: { id: string; children: ReactNode }) {
  return (
    <div id={sectionElementId(id)} className="section-anchor">
      {children}
    </div>
  );
}

/** The bar of section names (sticky at the top of the side panel). */
export function SectionNav() {
  const show = (id: string) => {
    document.getElementById(sectionElementId(id))?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  return (
    <nav className="section-nav" aria-label="Sections">
      {SECTIONS.map(({ id, title, Badge }) => (
        <button key={id} type="button" className="section-link" onClick={() => show(id)} data-testid={`nav-${id}`}>
          {title}
          {Badge && <Badge />}
        </button>
      ))}
    </nav>
  );
}

function TrainingBadge() {
  const { phase, run, offers } = useApp(
    useShallow(({ training: s }) => ({ phase: s.phase, run: s.run, offers: s.offers.length })),
  );
  let text = '';
  if ((phase === 'running' || phase === 'pausing' || phase === 'stopping') && run)
    text = `${run.updates}/${run.numUpdates}`;
  else if (phase === 'starting') text = '…';
  else if (phase === 'error') text = '!';
  else if (offers > 0) text = 'resume?';
  if (!text) return null;
  return (
    <span className={`nav-badge${phase === 'error' ? ' nav-badge--bad' : ''}`} data-testid="training-badge">
      {text}
    </span>
  );
}

function AdapterBadge() {
  const adapter = useApp((s) => s.share.adapter !== null);
  return adapter ? (
    <span className="nav-badge" title="an adapter is in use">
      on
    </span>
  ) : null;
}

function GpuBadge() {
  const missing = useApp((s) => s.gpu.webgpu.status === 'missing');
  return missing ? (
    <span className="nav-badge nav-badge--bad" title="WebGPU is not available">
      !
    </span>
  ) : null;
}
