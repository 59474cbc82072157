/**
 * The Overcooked kitchen (map A, 7x7) drawn from an OvercookedRender: floor tiles, counters, cutting boards,
 * the delivery counter, foods whose look shows their chop count, the bowl with its contents, the chef and
 * what it carries, and the agent's 5x5 view as a translucent box. When a step arrives, the chef walks the
 * primitive moves of the macro (`lastMacro`) before settling on the new cell.
 */
import { Edges } from '@react-three/drei';
import { useFrame, useThree } from '@react-three/fiber';
import { useLayoutEffect, useMemo, useRef } from 'react';
import * as THREE from 'three';
import type { OvercookedCellKind, OvercookedItem, OvercookedItemKind, OvercookedRender } from '../envs/types';
import { CameraRig, Label, Lights, Solid, angleDelta, type Vec3 } from './common';

const COUNTER_H = 0.8;
const BOARD_H = 0.05;

const COLORS = {
  floorA: '#e9e4d8',
  floorB: '#d3cab8',
  base: '#2a2f3a',
  counter: '#6f533d',
  counterTop: '#a07d5c',
  board: '#e3c48f',
  blade: '#c9d1da',
  handle: '#2b2b2b',
  delivery: '#2e8b6e',
  deliveryTop: '#48c49a',
  view: '#ffd166',
  chef: '#3b82f6',
  skin: '#f1c27d',
  hat: '#ffffff',
  bowl: '#f4f4f2',
  bowlInside: '#dcdcd6',
};

const FOOD = {
  tomato: { skin: '#e0412f', flesh: '#f58a72' },
  lettuce: { skin: '#5fb336', flesh: '#b6e38d' },
  onion: { skin: '#9c4f78', flesh: '#efdbe9' },
} as const;

type FoodKind = keyof typeof FOOD;

/** World position (x, z) of a grid cell: rows run toward the camera (+z), columns to the right (+x). */
function cellCenter(render: Pick<OvercookedRender, 'rows' | 'cols'>, x: number, y: number): [number, number] {
  return [y - (render.cols - 1) / 2, x - (render.rows - 1) / 2];
}

/** Offset from a border cell to just outside the grid (where its label goes, clear of the floor). */
function outward(render: Pick<OvercookedRender, 'rows' | 'cols'>, x: number, y: number): [number, number] {
  const d = 0.95;
  if (y === 0) return [-d, 0];
  if (y === render.cols - 1) return [d, 0];
  if (x === 0) return [0, -d];
  return [0, d];
}

/** Primitive action index to a world direction (dx, dz): 0 right, 1 down, 2 left, 3 up. */
const DIRS: Record<number, [number, number]> = { 0: [1, 0], 1: [0, 1], 2: [-1, 0], 3: [0, -1] };

export interface OvercookedSceneProps {
  render: OvercookedRender;
}

export function OvercookedScene({ render }: OvercookedSceneProps) {
  const half = Math.max(render.rows, render.cols) / 2;
  return (
    <>
      <CameraRig
        position={[0, 6.3 + half * 0.6, 5.3 + half * 0.55]}
        target={[0, 0, 0.35]}
        fov={42}
        minDistance={5}
        maxDistance={24}
      />
      <Lights />
      <Grid render={render} />
      <ItemsOnGrid render={render} />
      <ViewOverlay render={render} />
      <Chef render={render} />
    </>
  );
}

// ---------------------------------------------------------------------------------------------------------
// Static layout

function Grid({ render }: OvercookedSceneProps) {
  const knives = useMemo(() => {
    const list: Array<[number, number]> = [];
    render.cells.forEach((row, x) => row.forEach((kind, y) => kind === 'knife' && list.push([x, y])));
    return list;
  }, [render.cells]);

  return (
    <group>
      <Solid position={[0, -0.08, 0]} box={[render.cols + 0.3, 0.1, render.rows + 0.3]} color={COLORS.base} />
      {render.cells.map((row, x) =>
        row.map((kind, y) => (
          <Cell key={`${x}-${y}`} kind={kind} at={cellCenter(render, x, y)} checker={(x + y) % 2 === 0} />
        )),
      )}
      {knives.map(([x, y], i) => {
        const [wx, wz] = cellCenter(render, x, y);
        const name = knives.length > 1 ? `board ${i + 1}` : 'cutting board';
        const [ox, oz] = outward(render, x, y);
        return (
          <Label key={name} position={[wx + ox, COUNTER_H + 0.1, wz + oz]} tone="muted">
            {name}
          </Label>
        );
      })}
      {render.cells.map((row, x) =>
        row.map((kind, y) => {
          if (kind !== 'delivery') return null;
          const [wx, wz] = cellCenter(render, x, y);
          const [ox, oz] = outward(render, x, y);
          return (
            <Label key={`serve-${x}-${y}`} position={[wx + ox, COUNTER_H + 0.1, wz + oz]} tone="accent">
              serve
            </Label>
          );
        }),
      )}
    </group>
  );
}

function Cell({ kind, at, checker }: { kind: OvercookedCellKind; at: [number, number]; checker: boolean }) {
  const [wx, wz] = at;
  if (kind === 'floor') {
    return (
      <Solid position={[wx, -0.02, wz]} box={[0.98, 0.04, 0.98]} color={checker ? COLORS.floorA : COLORS.floorB} />
    );
  }
  const delivery = kind === 'delivery';
  return (
    <group position={[wx, 0, wz]}>
      <Solid
        position={[0, COUNTER_H / 2 - 0.03, 0]}
        box={[0.96, COUNTER_H - 0.06, 0.96]}
        color={delivery ? COLORS.delivery : COLORS.counter}
      />
      <Solid
        position={[0, COUNTER_H - 0.03, 0]}
        box={[1, 0.06, 1]}
        color={delivery ? COLORS.deliveryTop : COLORS.counterTop}
      />
      {kind === 'knife' && <CuttingBoard />}
      {delivery && <DeliveryMarks />}
    </group>
  );
}

function CuttingBoard() {
  return (
    <group position={[0, COUNTER_H, 0]}>
      <Solid position={[0, BOARD_H / 2, 0]} box={[0.78, BOARD_H, 0.6]} color={COLORS.board} />
      {/* knife lying along the board's back edge */}
      <mesh position={[0.05, BOARD_H + 0.012, -0.24]}>
        <boxGeometry args={[0.42, 0.02, 0.07]} />
        <meshStandardMaterial color={COLORS.blade} metalness={0.6} roughness={0.3} />
      </mesh>
      <Solid position={[-0.27, BOARD_H + 0.02, -0.24]} box={[0.16, 0.04, 0.06]} color={COLORS.handle} />
    </group>
  );
}

function DeliveryMarks() {
  return (
    <group position={[0, COUNTER_H + 0.002, 0]}>
      {[-0.3, 0, 0.3].map((z) => (
        <mesh key={z} position={[0, 0, z]} rotation={[-Math.PI / 2, 0, 0]}>
          <planeGeometry args={[0.8, 0.09]} />
          <meshStandardMaterial color="#e9fff6" />
        </mesh>
      ))}
    </group>
  );
}

// ---------------------------------------------------------------------------------------------------------
// Items

function surfaceHeight(item: OvercookedItem): number {
  if (item.location === 'knife') return COUNTER_H + BOARD_H;
  if (item.location === 'counter' || item.location === 'delivery') return COUNTER_H;
  return 0;
}

function ItemsOnGrid({ render }: OvercookedSceneProps) {
  const plate = render.items.find((i) => i.kind === 'plate');
  return (
    <group>
      {render.items.map((item) => {
        // Held items ride with the chef; foods in the plate are drawn by the plate.
        if (item.location === 'held' || item.location === 'plate') return null;
        const [wx, wz] = cellCenter(render, item.x, item.y);
        return (
          <group key={item.id} position={[wx, surfaceHeight(item), wz]}>
            <ItemModel item={item} contents={item.kind === 'plate' ? contentsOf(render, plate) : []} />
          </group>
        );
      })}
    </group>
  );
}

function contentsOf(render: OvercookedRender, plate: OvercookedItem | undefined): OvercookedItem[] {
  if (!plate) return [];
  return plate.contents
    .map((kind) => render.items.find((i) => i.kind === kind))
    .filter((i): i is OvercookedItem => i !== undefined);
}

function ItemModel({ item, contents }: { item: OvercookedItem; contents: OvercookedItem[] }) {
  if (item.kind === 'plate') return <Bowl contents={contents.map((c) => c.kind)} />;
  return <Food kind={item.kind} chopCount={item.chopCount} chopped={item.chopped} />;
}

function isFood(kind: OvercookedItemKind): kind is FoodKind {
  return kind !== 'plate';
}

/** A food on a surface at y = 0: whole, partly chopped (smaller, with a slice per chop), or chopped. */
export function Food({ kind, chopCount, chopped }: { kind: OvercookedItemKind; chopCount: number; chopped: boolean }) {
  if (!isFood(kind)) return null;
  if (chopped) return <ChoppedPieces kind={kind} />;
  const chops = Math.max(0, Math.min(2, chopCount));
  const scale = 1 - 0.16 * chops;
  return (
    <group>
      <group position={[-0.06 * chops, 0, 0]} scale={scale}>
        <WholeFood kind={kind} />
      </group>
      {Array.from({ length: chops }, (_, i) => (
        <group key={i} position={[0.16 + i * 0.09, 0, 0.08 - i * 0.05]} rotation={[0, 0.5 * i, 0]}>
          <Slice kind={kind} />
        </group>
      ))}
    </group>
  );
}

function WholeFood({ kind }: { kind: FoodKind }) {
  const { skin, flesh } = FOOD[kind];
  if (kind === 'tomato') {
    return (
      <group>
        <Solid position={[0, 0.17, 0]} scale={[1, 0.85, 1]} sphere={[0.2, 20, 14]} color={skin} roughness={0.35} />
        <Solid position={[0, 0.35, 0]} cylinder={[0.015, 0.02, 0.07, 6]} color="#2f7d32" />
        <Solid position={[0, 0.33, 0]} rotation={[0, 0, 0]} scale={[1, 0.2, 1]} sphere={[0.07, 8, 6]} color="#3c9a3f" />
      </group>
    );
  }
  if (kind === 'lettuce') {
    return (
      <group>
        <Solid position={[0, 0.19, 0]} scale={[1, 0.85, 1]} sphere={[0.23, 18, 12]} color={skin} roughness={0.7} />
        <Solid position={[0, 0.28, 0]} scale={[1, 0.6, 1]} sphere={[0.16, 14, 10]} color={flesh} roughness={0.7} />
      </group>
    );
  }
  return (
    <group>
      <Solid position={[0, 0.17, 0]} sphere={[0.18, 18, 12]} color={skin} roughness={0.5} />
      <mesh position={[0, 0.37, 0]}>
        <coneGeometry args={[0.06, 0.12, 10]} />
        <meshStandardMaterial color={skin} roughness={0.5} />
      </mesh>
    </group>
  );
}

function Slice({ kind }: { kind: FoodKind }) {
  const { skin, flesh } = FOOD[kind];
  if (kind === 'lettuce') {
    return (
      <Solid position={[0, 0.02, 0]} rotation={[0, 0.3, 0]} box={[0.2, 0.03, 0.13]} color={skin} roughness={0.8} />
    );
  }
  if (kind === 'onion') {
    return (
      <group position={[0, 0.025, 0]} rotation={[Math.PI / 2, 0, 0]}>
        <mesh>
          <torusGeometry args={[0.09, 0.025, 8, 20]} />
          <meshStandardMaterial color={skin} />
        </mesh>
        <mesh>
          <torusGeometry args={[0.05, 0.018, 8, 16]} />
          <meshStandardMaterial color={flesh} />
        </mesh>
      </group>
    );
  }
  return (
    <group>
      <Solid position={[0, 0.022, 0]} cylinder={[0.13, 0.13, 0.04, 18]} color={skin} />
      <Solid position={[0, 0.043, 0]} cylinder={[0.105, 0.105, 0.004, 18]} color={flesh} />
    </group>
  );
}

/** A chopped food: five flat pieces fanned out. */
function ChoppedPieces({ kind, spread = 0.13 }: { kind: FoodKind; spread?: number }) {
  return (
    <group>
      {[0, 1, 2, 3, 4].map((i) => {
        const a = (i / 5) * Math.PI * 2 + 0.4;
        const r = i === 4 ? 0 : spread;
        return (
          <group
            key={i}
            position={[Math.cos(a) * r, i === 4 ? 0.03 : 0, Math.sin(a) * r]}
            rotation={[0, a, 0]}
            scale={0.85}
          >
            <Slice kind={kind} />
          </group>
        );
      })}
    </group>
  );
}

const BOWL_PROFILE = [
  [0.0, 0.0],
  [0.15, 0.0],
  [0.22, 0.04],
  [0.28, 0.11],
  [0.31, 0.2],
  [0.29, 0.2],
  [0.26, 0.12],
  [0.2, 0.06],
  [0.0, 0.05],
].map(([r, y]) => new THREE.Vector2(r, y));

/** The plate (called "bowl" in the text), with chopped foods inside in the order they were added. */
export function Bowl({ contents }: { contents: OvercookedItemKind[] }) {
  const foods = contents.filter(isFood);
  return (
    <group>
      <mesh>
        <latheGeometry args={[BOWL_PROFILE, 28]} />
        <meshStandardMaterial color={COLORS.bowl} side={THREE.DoubleSide} roughness={0.25} />
      </mesh>
      {foods.map((kind, i) => {
        const offset = foods.length === 1 ? 0 : 0.08;
        const a = (i / foods.length) * Math.PI * 2;
        return (
          <group
            key={`${kind}-${i}`}
            position={[Math.cos(a) * offset, 0.06 + i * 0.025, Math.sin(a) * offset]}
            scale={0.75}
          >
            <ChoppedPieces kind={kind} spread={0.1} />
          </group>
        );
      })}
    </group>
  );
}

// ---------------------------------------------------------------------------------------------------------
// The 5x5 partial view

function ViewOverlay({ render }: OvercookedSceneProps) {
  const { x0, y0, x1, y1 } = render.view;
  const [ax, az] = cellCenter(render, x0, y0);
  const [bx, bz] = cellCenter(render, x1, y1);
  const width = bx - ax + 1;
  const depth = bz - az + 1;
  const height = COUNTER_H + 0.12;
  return (
    <mesh position={[(ax + bx) / 2, height / 2 - 0.02, (az + bz) / 2]} renderOrder={10}>
      <boxGeometry args={[width, height, depth]} />
      <meshBasicMaterial color={COLORS.view} transparent opacity={0.1} depthWrite={false} />
      <Edges color={COLORS.view} />
    </mesh>
  );
}

// ---------------------------------------------------------------------------------------------------------
// The chef, animated along the last macro's primitive moves

interface Segment {
  from: [number, number];
  to: [number, number];
  /** Interaction or chop toward a neighbour: lean in and back. */
  bump: [number, number] | null;
  facing: number | null;
}

const STEP_SECONDS = 0.16;
const MAX_MACRO_SECONDS = 2.2;

function Chef({ render }: OvercookedSceneProps) {
  const group = useRef<THREE.Group>(null);
  const invalidate = useThree((s) => s.invalidate);
  const anim = useRef({
    segments: [] as Segment[],
    t: 0,
    stepSeconds: STEP_SECONDS,
    heading: 0,
    target: [0, 0] as [number, number],
  });

  const held = render.items.find((i) => i.location === 'held') ?? null;
  const heldContents = held?.kind === 'plate' ? contentsOf(render, held) : [];

  // New render: queue the macro's primitive moves (or snap after a reset).
  useLayoutEffect(() => {
    const a = anim.current;
    const target = cellCenter(render, render.agent.x, render.agent.y);
    a.target = target;
    a.segments = render.lastMacro.map((m) => {
      const dir = DIRS[m.action] ?? null;
      const moved = m.from[0] !== m.to[0] || m.from[1] !== m.to[1];
      return {
        from: cellCenter(render, m.from[0], m.from[1]),
        to: cellCenter(render, m.to[0], m.to[1]),
        bump: !moved && dir ? dir : null,
        facing: dir ? Math.atan2(dir[0], dir[1]) : null,
      };
    });
    a.stepSeconds = Math.min(STEP_SECONDS, MAX_MACRO_SECONDS / Math.max(1, a.segments.length));
    a.t = 0;
    if (a.segments.length === 0) {
      if (render.macroStep === 0) a.heading = 0;
      group.current?.position.set(target[0], 0, target[1]);
      group.current?.rotation.set(0, a.heading, 0);
    }
    invalidate();
  }, [render, invalidate]);

  useFrame((_, delta) => {
    const g = group.current;
    if (!g) return;
    const a = anim.current;
    const total = a.segments.length * a.stepSeconds;
    a.t = Math.min(total, a.t + Math.min(delta, 0.1));
    let x = a.target[0];
    let z = a.target[1];
    let lean = 0;
    if (a.t < total) {
      const index = Math.min(a.segments.length - 1, Math.floor(a.t / a.stepSeconds));
      const s = a.segments[index];
      const u = (a.t - index * a.stepSeconds) / a.stepSeconds;
      const e = u * u * (3 - 2 * u);
      x = s.from[0] + (s.to[0] - s.from[0]) * e;
      z = s.from[1] + (s.to[1] - s.from[1]) * e;
      if (s.bump) {
        const k = Math.sin(Math.PI * u) * 0.22;
        x += s.bump[0] * k;
        z += s.bump[1] * k;
        lean = Math.sin(Math.PI * u) * 0.25;
      }
      if (s.facing !== null) a.heading = a.heading + angleDelta(a.heading, s.facing) * Math.min(1, 0.35 + u);
      invalidate();
    } else if (a.segments.length > 0) {
      const last = a.segments[a.segments.length - 1];
      if (last.facing !== null) a.heading = last.facing;
    }
    g.position.set(x, 0, z);
    g.rotation.set(lean, a.heading, 0, 'YXZ');
  });

  return (
    <group ref={group}>
      <ChefBody />
      {held && (
        <group position={[0, 0.84, 0.42]}>
          {held.kind === 'plate' ? (
            <Bowl contents={heldContents.map((c) => c.kind)} />
          ) : (
            <Food kind={held.kind} chopCount={held.chopCount} chopped={held.chopped} />
          )}
        </group>
      )}
    </group>
  );
}

function ChefBody() {
  const arm = (side: number): Vec3 => [side * 0.24, 0.74, 0.18];
  return (
    <group>
      <mesh position={[0, 0.42, 0]}>
        <capsuleGeometry args={[0.22, 0.4, 6, 16]} />
        <meshStandardMaterial color={COLORS.chef} roughness={0.6} />
      </mesh>
      {/* apron */}
      <Solid position={[0, 0.4, 0.2]} box={[0.3, 0.42, 0.04]} color="#f8fafc" />
      {[-1, 1].map((side) => (
        <mesh key={side} position={arm(side)} rotation={[Math.PI / 2.6, 0, 0]}>
          <capsuleGeometry args={[0.06, 0.26, 4, 8]} />
          <meshStandardMaterial color={COLORS.chef} roughness={0.6} />
        </mesh>
      ))}
      <Solid position={[0, 0.98, 0]} sphere={[0.2, 20, 14]} color={COLORS.skin} />
      {[-1, 1].map((side) => (
        <Solid key={side} position={[side * 0.07, 1.0, 0.18]} sphere={[0.03, 8, 6]} color="#1f2937" />
      ))}
      <Solid position={[0, 1.2, 0]} cylinder={[0.15, 0.15, 0.16, 16]} color={COLORS.hat} />
      <Solid position={[0, 1.33, 0]} scale={[1, 0.7, 1]} sphere={[0.2, 16, 10]} color={COLORS.hat} />
    </group>
  );
}
