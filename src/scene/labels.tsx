/**
 * Text labels for 3D objects, drawn as plain DOM over the canvas (no font download, crisp text at any
 * zoom). Labels are declared inside the scene with <Label>; <LabelProjector> (inside the Canvas) moves
 * them every rendered frame; <LabelOverlay> (outside the Canvas, over it) renders the elements. The three
 * share one registry per view through React context (react-three-fiber bridges context into the Canvas).
 */
import { useFrame, useThree } from '@react-three/fiber';
import { createContext, useContext, useId, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import * as THREE from 'three';

export type LabelTone = 'default' | 'muted' | 'accent';

interface LabelEntry {
  id: string;
  text: string;
  tone: LabelTone;
  object: THREE.Object3D;
}

/** The labels of one view: what to show (reactive) and where the elements are (imperative). */
export class LabelRegistry {
  private entries = new Map<string, LabelEntry>();
  private snapshot: LabelEntry[] = [];
  private listeners = new Set<() => void>();
  readonly elements = new Map<string, HTMLElement>();
  /** Asks the Canvas for a frame (set by LabelProjector), so new elements get placed at once. */
  requestFrame: (() => void) | null = null;

  set(entry: LabelEntry): void {
    const old = this.entries.get(entry.id);
    if (old && old.text === entry.text && old.tone === entry.tone && old.object === entry.object) return;
    this.entries.set(entry.id, entry);
    this.emit();
  }

  delete(id: string): void {
    if (this.entries.delete(id)) this.emit();
  }

  list = (): LabelEntry[] => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private emit(): void {
    this.snapshot = [...this.entries.values()];
    for (const l of this.listeners) l();
  }
}

const LabelContext = createContext<LabelRegistry | null>(null);
export const LabelProvider = LabelContext.Provider;

function useRegistry(): LabelRegistry | null {
  return useContext(LabelContext);
}

export interface LabelProps {
  position: [number, number, number];
  children: string;
  tone?: LabelTone;
}

/** A text tag anchored at a point of the scene (in the parent's coordinates). */
export function Label({ position, children, tone = 'default' }: LabelProps) {
  const registry = useRegistry();
  const id = useId();
  const anchor = useRef<THREE.Group>(null);
  const invalidate = useThree((s) => s.invalidate);
  useLayoutEffect(() => {
    if (!registry || !anchor.current) return;
    registry.set({ id, text: children, tone, object: anchor.current });
    invalidate();
  }, [registry, id, children, tone, invalidate]);
  useLayoutEffect(() => () => registry?.delete(id), [registry, id]);
  return <group ref={anchor} position={position} />;
}

const scratch = new THREE.Vector3();

/** Projects every label's anchor to the canvas each rendered frame. */
export function LabelProjector() {
  const registry = useRegistry();
  const invalidate = useThree((s) => s.invalidate);
  useLayoutEffect(() => {
    if (!registry) return;
    registry.requestFrame = () => invalidate();
    return () => {
      registry.requestFrame = null;
    };
  }, [registry, invalidate]);
  useFrame(({ camera, size }) => {
    if (!registry) return;
    camera.updateMatrixWorld();
    for (const entry of registry.list()) {
      const el = registry.elements.get(entry.id);
      if (!el) continue;
      entry.object.getWorldPosition(scratch);
      scratch.project(camera);
      const visible = scratch.z > -1 && scratch.z < 1;
      const x = ((scratch.x + 1) / 2) * size.width;
      const y = ((1 - scratch.y) / 2) * size.height;
      el.style.transform = `translate3d(${x.toFixed(1)}px, ${y.toFixed(1)}px, 0) translate(-50%, -50%)`;
      el.style.visibility = visible ? 'visible' : 'hidden';
    }
  });
  return null;
}

/** The DOM layer with the label elements; place it over the Canvas, in the same positioned container. */
export function LabelOverlay({ registry }: { registry: LabelRegistry }) {
  const labels = useSyncExternalStore(registry.subscribe, registry.list, registry.list);
  return (
    <div className="scene-labels" aria-hidden="true">
      {labels.map((l) => (
        <div
          key={l.id}
          className={`scene-label scene-label--${l.tone}`}
          style={{ visibility: 'hidden' }}
          ref={(el) => {
            if (el) {
              registry.elements.set(l.id, el);
              registry.requestFrame?.();
            } else registry.elements.delete(l.id);
          }}
        >
          {l.text}
        </div>
      ))}
    </div>
  );
}
