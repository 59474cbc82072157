/**
 * The 3D view: one Canvas (WebGL through three.js) that draws whichever render description it is given.
 * Rendering is on demand (frameloop "demand"): a frame is drawn when the description changes, while an
 * animation runs, or when the user orbits, so an idle playground costs no GPU/CPU time.
 */
import { Canvas } from '@react-three/fiber';
import { useState } from 'react';
import type { RenderDescription } from '../envs/types';
import { LabelOverlay, LabelProjector, LabelProvider, LabelRegistry } from './labels';
import { OvercookedScene } from './OvercookedScene';
import { VirtualHomeScene } from './VirtualHomeScene';
import { installThreeConsole } from './three-console';

installThreeConsole();

export interface SceneViewProps {
  render: RenderDescription | null;
  className?: string;
}

export function SceneView({ render, className }: SceneViewProps) {
  const [labels] = useState(() => new LabelRegistry());
  return (
    <LabelProvider value={labels}>
      <div
        className={className ?? 'scene'}
        data-testid="scene"
        data-scene-kind={render?.kind ?? 'none'}
        data-task={render?.taskId ?? ''}
      >
        <Canvas
          frameloop="demand"
          flat
          dpr={[1, 2]}
          gl={{ preserveDrawingBuffer: true, antialias: true }}
          camera={{ fov: 42, near: 0.1, far: 200, position: [0, 10, 10] }}
          aria-label={render ? `3D view of ${render.taskId}` : '3D view'}
        >
          <color attach="background" args={['#161b26']} />
          {render?.kind === 'overcooked' && <OvercookedScene key="overcooked" render={render} />}
          {render?.kind === 'virtualhome' && <VirtualHomeScene key="virtualhome" render={render} />}
          <LabelProjector />
        </Canvas>
        <LabelOverlay registry={labels} />
      </div>
    </LabelProvider>
  );
}
