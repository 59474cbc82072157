/**
 * Small pieces shared by the scenes: labels (see labels.tsx), the orbit camera setup, lights, and angle math.
 */
import { OrbitControls } from '@react-three/drei';
import { useThree } from '@react-three/fiber';
import { useLayoutEffect } from 'react';
import type { CylinderGeometry, SphereGeometry } from 'three';

export type Vec3 = [number, number, number];

export { Label } from './labels';

export interface CameraRigProps {
  position: Vec3;
  target: Vec3;
  fov?: number;
  /**
   * The narrowest width/height ratio at which the view from `position` shows the whole scene; on narrower
   * canvases the camera backs off along the same line so nothing is cut at the sides.
   */
  fitAspect?: number;
  minDistance?: number;
  maxDistance?: number;
}

/**
 * Places the camera for a scene and attaches orbit controls around `target`. Mounted with a key per scene
 * kind, so switching between Overcooked and VirtualHome restores each scene's own view.
 */
export function CameraRig({
  position,
  target,
  fov = 40,
  fitAspect = 1.2,
  minDistance = 4,
  maxDistance = 40,
}: CameraRigProps) {
  const camera = useThree((s) => s.camera);
  const invalidate = useThree((s) => s.invalidate);
  const width = useThree((s) => s.size.width);
  const height = useThree((s) => s.size.height);
  const aspect = height > 0 ? width / height : fitAspect;
  const backOff = Math.max(1, fitAspect / aspect);
  useLayoutEffect(() => {
    const [tx, ty, tz] = target;
    camera.position.set(
      tx + (position[0] - tx) * backOff,
      ty + (position[1] - ty) * backOff,
      tz + (position[2] - tz) * backOff,
    );
    if ('fov' in camera) {
      camera.fov = fov;
      camera.updateProjectionMatrix();
    }
    camera.lookAt(tx, ty, tz);
    invalidate();
    // On mount (each scene kind mounts its own rig) and when the canvas gets much narrower or wider;
    // the user may orbit in between.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backOff]);
  return (
    <OrbitControls
      makeDefault
      target={target}
      enableDamping={false}
      minDistance={minDistance}
      maxDistance={maxDistance}
      maxPolarAngle={Math.PI / 2.15}
    />
  );
}

/**
 * A mesh of one plain colour (matte unless `roughness` says), centred at `position`: a box (`box`: its size),
 * a cylinder (`cylinder`) or a sphere (`sphere`: three.js's geometry arguments). Most of the scenes' furniture,
 * food and people are these.
 */
export function Solid({
  position,
  rotation,
  scale,
  color,
  roughness,
  box,
  cylinder,
  sphere,
}: {
  position: Vec3;
  rotation?: Vec3;
  scale?: Vec3;
  color: string;
  roughness?: number;
  box?: Vec3;
  cylinder?: ConstructorParameters<typeof CylinderGeometry>;
  sphere?: ConstructorParameters<typeof SphereGeometry>;
}) {
  return (
    <mesh position={position} rotation={rotation} scale={scale}>
      {box && <boxGeometry args={box} />}
      {cylinder && <cylinderGeometry args={cylinder} />}
      {sphere && <sphereGeometry args={sphere} />}
      <meshStandardMaterial color={color} roughness={roughness} />
    </mesh>
  );
}

/** Shortest signed difference between two angles (radians). */
export function angleDelta(from: number, to: number): number {
  let d = (to - from) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return d;
}

export function Lights() {
  return (
    <>
      <ambientLight intensity={0.45} />
      <hemisphereLight args={['#f4f7ff', '#2a2f3a', 0.9]} />
      <directionalLight position={[4, 10, 7]} intensity={1.7} />
      <directionalLight position={[-6, 6, -4]} intensity={0.45} />
    </>
  );
}
