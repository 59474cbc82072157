/**
 * The VirtualHome apartment drawn from a VirtualHomeRender: four rooms as floor areas with labels, the
 * kitchen (counter, table, microwave that opens, the food inside or on the table), the living room (TV that
 * lights up, sofa, coffee table), chips and milk on their supports or in the agent's hands, and the agent in
 * its room, standing next to what it is close to or sitting on the sofa. Unseen variants rename objects
 * (cheese, dishes/dishwasher, clothes/washing machine...); the models follow the label where it matters.
 */
import { useFrame, useThree } from '@react-three/fiber';
import { useLayoutEffect, useMemo, useRef } from 'react';
import * as THREE from 'three';
import type { VirtualHomeObject, VirtualHomeRender, VirtualHomeRoom } from '../envs/types';
import { CameraRig, Label, Lights, Solid, angleDelta, type Vec3 } from './common';

const WALL_H = 0.35;

interface RoomLayout {
  /** Floor rectangle: x from x0 to x1, z from z0 (back) to z1 (front). */
  x0: number;
  x1: number;
  z0: number;
  z1: number;
  floor: string;
  floorActive: string;
  /** Where the room's name tag goes, relative to the room's center. */
  label: [number, number];
}

/**
 * The task rooms (kitchen, living room) in front, large; bedroom and bathroom behind them as narrower rooms,
 * so the camera looks at the furniture that matters.
 */
const ROOMS: Record<VirtualHomeRoom, RoomLayout> = {
  kitchen: { x0: -6.4, x1: -0.2, z0: -3.6, z1: 2.4, floor: '#c9c2b4', floorActive: '#e9dfc8', label: [-1.6, 2.6] },
  'living room': { x0: 0.2, x1: 6.4, z0: -3.6, z1: 2.4, floor: '#b7a48f', floorActive: '#dcc3a4', label: [1.6, 2.6] },
  bedroom: { x0: -6.4, x1: -0.2, z0: -7.0, z1: -4.0, floor: '#a9b4c4', floorActive: '#c7d3e4', label: [1.2, -1.15] },
  bathroom: { x0: 0.2, x1: 6.4, z0: -7.0, z1: -4.0, floor: '#b4ccc9', floorActive: '#cfe7e3', label: [-0.3, -1.15] },
};

function roomCenter(room: VirtualHomeRoom): [number, number] {
  const r = ROOMS[room];
  return [(r.x0 + r.x1) / 2, (r.z0 + r.z1) / 2];
}

/** A point in a room, offset from its center. */
function inRoom(room: VirtualHomeRoom, dx: number, dz: number): [number, number] {
  const [cx, cz] = roomCenter(room);
  return [cx + dx, cz + dz];
}

// Furniture placement (world x, z) and heights.
const K_COUNTER = { at: inRoom('kitchen', -0.4, -2.55), size: [4.6, 0.9, 0.8] as Vec3 };
const K_TABLE = { at: inRoom('kitchen', 0.3, 0.5), size: [1.9, 0.75, 1.15] as Vec3 };
const MICROWAVE_AT = inRoom('kitchen', -0.4, -2.55);
const FLOOR_APPLIANCE_AT = inRoom('kitchen', 2.35, -2.5);
const TV_AT = inRoom('living room', 0, -2.65);
const SOFA_AT = inRoom('living room', 0, 1.45);
const COFFEE_TABLE = { at: inRoom('living room', 0, -0.35), size: [1.7, 0.42, 0.85] as Vec3 };
/** Movable objects are drawn larger than life so they read at this zoom. */
const OBJECT_SCALE = 1.5;

type ApplianceStyle = 'microwave' | 'dishwasher' | 'washing machine';

function applianceStyle(label: string): ApplianceStyle {
  if (label.includes('washing')) return 'washing machine';
  if (label.includes('dishwasher')) return 'dishwasher';
  return 'microwave';
}

/** Appliance geometry: where its body sits and where things inside it go. */
function applianceLayout(style: ApplianceStyle) {
  if (style === 'microwave') {
    const [x, z] = MICROWAVE_AT;
    const base = K_COUNTER.size[1];
    return { at: [x, base, z] as Vec3, size: [0.9, 0.55, 0.6] as Vec3, inside: [x - 0.08, base + 0.08, z] as Vec3 };
  }
  const [x, z] = FLOOR_APPLIANCE_AT;
  return { at: [x, 0, z] as Vec3, size: [0.85, 0.9, 0.7] as Vec3, inside: [x, 0.25, z] as Vec3 };
}

export interface VirtualHomeSceneProps {
  render: VirtualHomeRender;
}

export function VirtualHomeScene({ render }: VirtualHomeSceneProps) {
  const byId = new Map(render.objects.map((o) => [o.id, o]));
  const appliance = byId.get('microwave');
  const style = applianceStyle(appliance?.label ?? 'microwave');
  return (
    <>
      <CameraRig
        position={[0, 15.8, 10.4]}
        target={[0, 0, -1.9]}
        fov={32}
        fitAspect={1.4}
        minDistance={6}
        maxDistance={34}
      />
      <Lights />
      <Floors render={render} />
      <KitchenFurniture />
      <LivingRoomFurniture render={render} />
      <Bedroom />
      <Bathroom />
      {appliance && <Appliance object={appliance} style={style} />}
      {render.objects.map((o) =>
        MOVABLE.has(o.id) && !o.held ? (
          <group key={o.id} position={objectPosition(render, o, style)}>
            <group scale={OBJECT_SCALE}>
              <Movable object={o} />
            </group>
            {!o.inside && (
              <Label position={[0, 0.85, 0]} tone="muted">
                {o.label}
              </Label>
            )}
          </group>
        ) : null,
      )}
      <Agent render={render} style={style} />
    </>
  );
}

// ---------------------------------------------------------------------------------------------------------
// Rooms and furniture

function Floors({ render }: VirtualHomeSceneProps) {
  const all = Object.values(ROOMS);
  const minX = Math.min(...all.map((r) => r.x0));
  const maxX = Math.max(...all.map((r) => r.x1));
  const minZ = Math.min(...all.map((r) => r.z0));
  const maxZ = Math.max(...all.map((r) => r.z1));
  return (
    <group>
      <Solid
        position={[(minX + maxX) / 2, -0.1, (minZ + maxZ) / 2]}
        box={[maxX - minX + 0.4, 0.1, maxZ - minZ + 0.4]}
        color="#2a2f3a"
      />
      {render.rooms.map((room) => {
        const r = ROOMS[room];
        const active = render.agent.room === room;
        const [cx, cz] = roomCenter(room);
        const w = r.x1 - r.x0;
        const d = r.z1 - r.z0;
        const outerX = cx < 0 ? r.x0 + 0.06 : r.x1 - 0.06;
        return (
          <group key={room}>
            <Solid position={[cx, -0.03, cz]} box={[w, 0.06, d]} color={active ? r.floorActive : r.floor} />
            {/* low walls on the back and outer side, so the rooms read as rooms but nothing is hidden */}
            <Solid position={[cx, WALL_H / 2, r.z0 + 0.06]} box={[w, WALL_H, 0.12]} color="#eef0f4" />
            <Solid position={[outerX, WALL_H / 2, cz]} box={[0.12, WALL_H, d]} color="#eef0f4" />
            <Label position={[cx + r.label[0], 0.1, cz + r.label[1]]} tone={active ? 'accent' : 'muted'}>
              {room}
            </Label>
          </group>
        );
      })}
    </group>
  );
}

function Box({ at, size, color, y = 0 }: { at: [number, number]; size: Vec3; color: string; y?: number }) {
  return <Solid position={[at[0], y + size[1] / 2, at[1]]} box={size} color={color} />;
}

function Table({ at, size, top, legs }: { at: [number, number]; size: Vec3; top: string; legs: string }) {
  const [w, h, d] = size;
  return (
    <group position={[at[0], 0, at[1]]}>
      <Solid position={[0, h - 0.04, 0]} box={[w, 0.08, d]} color={top} />
      {[
        [-1, -1],
        [1, -1],
        [-1, 1],
        [1, 1],
      ].map(([sx, sz]) => (
        <Solid
          key={`${sx}${sz}`}
          position={[(sx * (w - 0.14)) / 2, (h - 0.08) / 2, (sz * (d - 0.14)) / 2]}
          box={[0.07, h - 0.08, 0.07]}
          color={legs}
        />
      ))}
    </group>
  );
}

function KitchenFurniture() {
  const [w, h, d] = K_COUNTER.size;
  return (
    <group>
      <Box at={K_COUNTER.at} size={[w, h - 0.06, d]} color="#7d8794" />
      <Box at={K_COUNTER.at} size={[w + 0.05, 0.06, d + 0.05]} color="#d9dde3" y={h - 0.06} />
      <Table at={K_TABLE.at} size={K_TABLE.size} top="#a47148" legs="#6b4a2f" />
      <Label position={[K_TABLE.at[0], 0.2, K_TABLE.at[1] + 0.75]} tone="muted">
        kitchen table
      </Label>
    </group>
  );
}

function LivingRoomFurniture({ render }: VirtualHomeSceneProps) {
  const tv = render.objects.find((o) => o.id === 'tv');
  const on = Boolean(tv?.switchedOn);
  const [tx, tz] = TV_AT;
  return (
    <group>
      {tv && (
        <group>
          <Box at={[tx, tz]} size={[2.0, 0.5, 0.5]} color="#4b3b2f" />
          <Solid position={[tx, 1.25, tz]} box={[2.1, 1.2, 0.1]} color="#111318" />
          <mesh position={[tx, 1.25, tz + 0.055]}>
            <planeGeometry args={[1.96, 1.06]} />
            <meshStandardMaterial
              color={on ? '#9fd8ff' : '#0b0d12'}
              emissive={on ? '#58b7ff' : '#000000'}
              emissiveIntensity={on ? 1.6 : 0}
              roughness={on ? 0.9 : 0.15}
            />
          </mesh>
          {on && <pointLight position={[tx, 1.3, tz + 0.9]} color="#7cc7ff" intensity={3} distance={5} />}
          <Label position={[tx, 2.1, tz]} tone={on ? 'accent' : 'muted'}>
            {`${tv.label} ${on ? 'on' : 'off'}`}
          </Label>
        </group>
      )}
      {render.objects.some((o) => o.id === 'sofa') && <Sofa />}
      {render.objects.some((o) => o.id === 'coffee table') && (
        <Table at={COFFEE_TABLE.at} size={COFFEE_TABLE.size} top="#8b5e3c" legs="#5a3b24" />
      )}
    </group>
  );
}

function Sofa() {
  const [x, z] = SOFA_AT;
  const color = '#5b6fa8';
  return (
    <group position={[x, 0, z]}>
      <Solid position={[0, 0.22, 0]} box={[2.4, 0.44, 0.95]} color={color} />
      <Solid position={[0, 0.55, 0.38]} box={[2.4, 0.7, 0.22]} color="#4c5d92" />
      {[-1, 1].map((s) => (
        <Solid key={s} position={[s * 1.12, 0.42, 0]} box={[0.2, 0.4, 0.95]} color="#4c5d92" />
      ))}
    </group>
  );
}

function Bedroom() {
  const [x, z] = inRoom('bedroom', -1.3, 0);
  return (
    <group position={[x, 0, z]}>
      <Solid position={[0, 0.25, 0]} box={[2.6, 0.5, 1.8]} color="#8d6e63" />
      <Solid position={[0.25, 0.55, 0]} box={[2.1, 0.12, 1.7]} color="#e8eef7" />
      <Solid position={[-1.0, 0.62, 0]} box={[0.4, 0.14, 1.2]} color="#ffffff" />
    </group>
  );
}

function Bathroom() {
  const [x, z] = inRoom('bathroom', 1.3, 0);
  const [sx, sz] = inRoom('bathroom', -1.6, -0.8);
  return (
    <group>
      <group position={[x, 0, z]}>
        <Solid position={[0, 0.3, 0]} box={[2.2, 0.6, 1.2]} color="#f5f7fa" />
        <Solid position={[0, 0.61, 0]} box={[1.95, 0.02, 0.95]} color="#9ccfe0" />
      </group>
      <Solid position={[sx, 0.45, sz]} box={[0.8, 0.9, 0.5]} color="#f5f7fa" />
    </group>
  );
}

// ---------------------------------------------------------------------------------------------------------
// The appliance (microwave or a variant's dishwasher / washing machine)

function Appliance({ object, style }: { object: VirtualHomeObject; style: ApplianceStyle }) {
  const { at, size } = applianceLayout(style);
  const [w, h, d] = size;
  const open = Boolean(object.open);
  const body = style === 'microwave' ? '#2f343c' : style === 'dishwasher' ? '#aab4bf' : '#f2f4f7';
  const doorColor = style === 'microwave' ? '#1d2127' : style === 'dishwasher' ? '#c3ccd6' : '#e4e8ee';
  // Door hinged on the left front edge, swinging toward the viewer when open.
  const doorAngle = open ? -Math.PI * 0.55 : 0;
  return (
    <group position={at}>
      {/* shell: back, top, bottom, sides, so the inside shows when the door is open */}
      <Solid position={[0, h / 2, -d / 2 + 0.02]} box={[w, h, 0.04]} color={body} />
      {[0.02, h - 0.02].map((y) => (
        <Solid key={y} position={[0, y, 0]} box={[w, 0.04, d]} color={body} />
      ))}
      {[-1, 1].map((s) => (
        <Solid key={s} position={[(s * (w - 0.04)) / 2, h / 2, 0]} box={[0.04, h, d]} color={body} />
      ))}
      <mesh position={[0, h / 2, -d / 2 + 0.05]}>
        <boxGeometry args={[w - 0.1, h - 0.1, 0.01]} />
        <meshStandardMaterial
          color={open ? '#fff3c4' : '#3a3f47'}
          emissive={open ? '#ffe7a0' : '#000000'}
          emissiveIntensity={open ? 0.4 : 0}
        />
      </mesh>
      <group position={[-w / 2, 0, d / 2]} rotation={[0, doorAngle, 0]}>
        <mesh position={[w / 2, h / 2, 0.02]}>
          <boxGeometry args={[w, h, 0.04]} />
          <meshStandardMaterial color={doorColor} transparent opacity={style === 'microwave' ? 0.9 : 1} />
        </mesh>
        {style === 'washing machine' ? (
          <mesh position={[w / 2, h / 2, 0.045]}>
            <circleGeometry args={[Math.min(w, h) * 0.3, 24]} />
            <meshStandardMaterial color="#7aa7c7" metalness={0.2} roughness={0.2} />
          </mesh>
        ) : (
          <mesh position={[w / 2 - 0.08, h / 2, 0.045]}>
            <planeGeometry args={[w * 0.62, h * 0.6]} />
            <meshStandardMaterial color={style === 'microwave' ? '#445062' : '#9aa6b2'} roughness={0.2} />
          </mesh>
        )}
      </group>
      <Label position={[0, h + 0.3, 0]} tone={open ? 'accent' : 'muted'}>
        {`${object.label} ${open ? 'open' : 'closed'}`}
      </Label>
    </group>
  );
}

// ---------------------------------------------------------------------------------------------------------
// Movable objects: the food (pancake and variants), chips, milk

const MOVABLE = new Set(['pancake', 'chips', 'milk']);

/** Where a movable object that is not held is drawn, from its supports and container. */
function objectPosition(render: VirtualHomeRender, o: VirtualHomeObject, style: ApplianceStyle): Vec3 {
  if (o.inside) return applianceLayout(style).inside;
  const supports = o.on.join(' ');
  const slot = (list: string[]) => {
    const others = render.objects.filter(
      (p) => MOVABLE.has(p.id) && !p.held && list.some((s) => p.on.join(' ').includes(s)),
    );
    const i = Math.max(
      0,
      others.findIndex((p) => p.id === o.id),
    );
    return (i - (others.length - 1) / 2) * 0.65;
  };
  if (supports.includes('coffee table')) {
    const [x, z] = COFFEE_TABLE.at;
    return [x + slot(['coffee table']), COFFEE_TABLE.size[1], z];
  }
  if (supports.includes('kitchen table') || supports.includes('table')) {
    const [x, z] = K_TABLE.at;
    return [x + slot(['kitchen table']), K_TABLE.size[1], z];
  }
  if (supports.includes('counter') || supports.includes('dishwasher')) {
    const [x, z] = K_COUNTER.at;
    return [x - 1.5 + slot(['counter', 'dishwasher']), K_COUNTER.size[1], z];
  }
  const [x, z] = inRoom(o.room, 0.9, 0.9);
  return [x, 0, z];
}

function Movable({ object }: { object: VirtualHomeObject }) {
  if (object.id === 'chips') return <Chips />;
  if (object.id === 'milk') return <Milk />;
  return <Dish label={object.label} />;
}

function Chips() {
  return (
    <group rotation={[0, 0.3, 0]}>
      <Solid position={[0, 0.2, 0]} rotation={[0.12, 0, 0]} box={[0.32, 0.4, 0.12]} color="#f4b400" />
      <mesh position={[0, 0.22, 0.066]} rotation={[0.12, 0, 0]}>
        <planeGeometry args={[0.22, 0.12]} />
        <meshStandardMaterial color="#d93025" />
      </mesh>
    </group>
  );
}

function Milk() {
  return (
    <group>
      <Solid position={[0, 0.17, 0]} box={[0.18, 0.34, 0.18]} color="#fafafa" />
      <mesh position={[0, 0.2, 0.091]}>
        <planeGeometry args={[0.16, 0.1]} />
        <meshStandardMaterial color="#2f6fdb" />
      </mesh>
      <mesh position={[0, 0.38, 0]} rotation={[0, Math.PI / 4, 0]}>
        <coneGeometry args={[0.13, 0.1, 4]} />
        <meshStandardMaterial color="#2f6fdb" />
      </mesh>
    </group>
  );
}

/** The Food Preparation object, drawn after its label (pancake, cheese, hamburger, apple pie, pizza...). */
function Dish({ label }: { label: string }) {
  const plate = <Solid position={[0, 0.015, 0]} cylinder={[0.26, 0.22, 0.03, 24]} color="#f7f7f5" />;
  if (label.includes('cheese')) {
    return (
      <group>
        {plate}
        <Solid position={[0, 0.1, 0]} rotation={[0, 0.4, 0]} cylinder={[0.2, 0.2, 0.14, 3]} color="#f6c945" />
      </group>
    );
  }
  if (label.includes('hamburger')) {
    return (
      <group>
        {plate}
        {[
          ['#d9a066', 0.06, 0.17],
          ['#4e2a16', 0.11, 0.17],
          ['#6cbf3c', 0.14, 0.18],
          ['#d9a066', 0.19, 0.16],
        ].map(([color, y, r]) => (
          <Solid
            key={String(y)}
            position={[0, Number(y), 0]}
            cylinder={[Number(r), Number(r), 0.05, 20]}
            color={String(color)}
          />
        ))}
      </group>
    );
  }
  if (label.includes('dishes')) {
    return (
      <group>
        {[0, 1, 2].map((i) => (
          <Solid key={i} position={[0, 0.02 + i * 0.04, 0]} cylinder={[0.24, 0.2, 0.03, 24]} color="#f7f7f5" />
        ))}
      </group>
    );
  }
  if (label.includes('clothes')) {
    return (
      <group>
        {['#d35454', '#4b7bd3', '#f0c24b'].map((color, i) => (
          <Solid
            key={color}
            position={[0, 0.04 + i * 0.07, 0]}
            rotation={[0, i * 0.2, 0]}
            box={[0.4, 0.07, 0.3]}
            color={color}
          />
        ))}
      </group>
    );
  }
  const top = label.includes('pizza') ? '#e8a33d' : label.includes('pie') ? '#c98a3e' : '#e0b26a';
  return (
    <group>
      {plate}
      <Solid position={[0, 0.06, 0]} cylinder={[0.2, 0.2, 0.06, 24]} color={top} />
      {label.includes('pizza') &&
        [0, 1, 2, 3].map((i) => (
          <Solid
            key={i}
            position={[Math.cos(i * 1.7) * 0.1, 0.095, Math.sin(i * 1.7) * 0.1]}
            cylinder={[0.035, 0.035, 0.01, 10]}
            color="#b3261e"
          />
        ))}
      {label === 'pancake' && <Solid position={[0, 0.1, 0]} box={[0.08, 0.02, 0.08]} color="#fff4c2" />}
    </group>
  );
}

// ---------------------------------------------------------------------------------------------------------
// The agent

interface Pose {
  at: [number, number];
  /** Heading (radians, 0 = facing +z) toward what it attends to. */
  facing: number;
  sitting: boolean;
}

/**
 * Where the agent stands: on the sofa, next to the object it is close to (preferring the one the last
 * action named), where it already stood (e.g. after grabbing something), or in the middle of its room.
 */
function agentPose(render: VirtualHomeRender, style: ApplianceStyle, previous: Pose | null): Pose {
  const { agent } = render;
  if (agent.sitting) return { at: [SOFA_AT[0], SOFA_AT[1] - 0.1], facing: Math.PI, sitting: true };
  const text = render.lastAction?.text ?? '';
  const close = render.objects.filter((o) => o.close && !o.held);
  const mentioned = close.find((o) => text.includes(o.label));
  const focus = mentioned ?? close[0];
  const spot = focus ? standSpot(render, focus, style) : null;
  if (spot && roomAt(spot.target) === agent.room)
    return { at: spot.stand, facing: facingTo(spot.stand, spot.target), sitting: false };
  if (previous && !previous.sitting && roomAt(previous.at) === agent.room && render.step > 0) return previous;
  const [x, z] = inRoom(agent.room, 0.8, 1.4);
  return { at: [x, z], facing: agent.facingTV ? Math.PI : 0, sitting: false };
}

function roomAt([x, z]: [number, number]): VirtualHomeRoom | null {
  for (const room of Object.keys(ROOMS) as VirtualHomeRoom[]) {
    const r = ROOMS[room];
    if (x >= r.x0 && x <= r.x1 && z >= r.z0 && z <= r.z1) return room;
  }
  return null;
}

function facingTo(from: [number, number], to: [number, number]): number {
  return Math.atan2(to[0] - from[0], to[1] - from[1]);
}

function standSpot(
  render: VirtualHomeRender,
  o: VirtualHomeObject,
  style: ApplianceStyle,
): { stand: [number, number]; target: [number, number] } {
  // Stand beside things, not in front of them, so the camera still sees what the agent is at.
  switch (o.id) {
    case 'microwave': {
      const [x, , z] = applianceLayout(style).at;
      return { stand: [x + 0.95, z + 0.85], target: [x, z] };
    }
    case 'tv':
      return { stand: [TV_AT[0] + 1.35, TV_AT[1] + 1.0], target: TV_AT };
    case 'sofa':
      return { stand: [SOFA_AT[0] + 1.65, SOFA_AT[1] - 0.2], target: SOFA_AT };
    case 'coffee table':
      return { stand: [COFFEE_TABLE.at[0] + 1.3, COFFEE_TABLE.at[1]], target: COFFEE_TABLE.at };
    default: {
      const [x, , z] = objectPosition(render, o, style);
      const target: [number, number] = [x, z];
      const supports = o.on.join(' ');
      if (o.inside) {
        const [ax, , az] = applianceLayout(style).at;
        return { stand: [ax + 0.95, az + 0.85], target };
      }
      if (supports.includes('coffee table')) return { stand: [COFFEE_TABLE.at[0] + 1.3, COFFEE_TABLE.at[1]], target };
      if (supports.includes('table')) return { stand: [K_TABLE.at[0] + K_TABLE.size[0] / 2 + 0.45, z], target };
      if (supports.includes('counter') || supports.includes('dishwasher'))
        return { stand: [x + 0.7, z + 0.85], target };
      return { stand: [x + 0.8, z + 0.4], target };
    }
  }
}

function Agent({ render, style }: { render: VirtualHomeRender; style: ApplianceStyle }) {
  const group = useRef<THREE.Group>(null);
  const invalidate = useThree((s) => s.invalidate);
  const goal = useRef<Pose | null>(null);
  const pose = useMemo(() => agentPose(render, style, goal.current), [render, style]);
  goal.current = pose;
  const state = useRef({ at: [...pose.at] as [number, number], heading: pose.facing, first: true });

  useLayoutEffect(() => {
    if (state.current.first || render.step === 0) {
      state.current = { at: [...pose.at], heading: pose.facing, first: false };
      group.current?.position.set(pose.at[0], 0, pose.at[1]);
    }
    invalidate();
  });

  useFrame((_, delta) => {
    const g = group.current;
    if (!g) return;
    const s = state.current;
    const target = goal.current ?? pose;
    const dt = Math.min(delta, 0.05);
    const dx = target.at[0] - s.at[0];
    const dz = target.at[1] - s.at[1];
    const dist = Math.hypot(dx, dz);
    const speed = Math.max(4, dist * 4);
    if (dist > 0.01) {
      const k = Math.min(1, (speed * dt) / dist);
      s.at = [s.at[0] + dx * k, s.at[1] + dz * k];
      if (dist > 0.3) s.heading += angleDelta(s.heading, Math.atan2(dx, dz)) * Math.min(1, dt * 12);
      invalidate();
    } else {
      s.at = [...target.at];
      const d = angleDelta(s.heading, target.facing);
      if (Math.abs(d) > 0.01) {
        s.heading += d * Math.min(1, dt * 10);
        invalidate();
      } else s.heading = target.facing;
    }
    g.position.set(s.at[0], 0, s.at[1]);
    g.rotation.set(0, s.heading, 0);
  });

  const held = render.agent.holding
    .map((id) => render.objects.find((o) => o.id === id))
    .filter((o): o is VirtualHomeObject => o !== undefined);

  return (
    <group ref={group}>
      <Person sitting={pose.sitting} />
      {held.map((o, i) => (
        <group
          key={o.id}
          position={[(i === 0 ? -1 : 1) * 0.34, pose.sitting ? 0.55 : 0.78, 0.3]}
          scale={OBJECT_SCALE * 0.75}
        >
          <Movable object={o} />
        </group>
      ))}
    </group>
  );
}

function Person({ sitting }: { sitting: boolean }) {
  const shirt = '#e4572e';
  const pants = '#2d3748';
  const hip = sitting ? 0.5 : 0.78;
  return (
    <group>
      {/* legs */}
      {[-1, 1].map((s) =>
        sitting ? (
          <group key={s}>
            <mesh position={[s * 0.11, hip, 0.2]} rotation={[Math.PI / 2, 0, 0]}>
              <capsuleGeometry args={[0.08, 0.32, 4, 8]} />
              <meshStandardMaterial color={pants} />
            </mesh>
            <mesh position={[s * 0.11, 0.25, 0.42]}>
              <capsuleGeometry args={[0.075, 0.3, 4, 8]} />
              <meshStandardMaterial color={pants} />
            </mesh>
          </group>
        ) : (
          <mesh key={s} position={[s * 0.11, 0.4, 0]}>
            <capsuleGeometry args={[0.08, 0.56, 4, 8]} />
            <meshStandardMaterial color={pants} />
          </mesh>
        ),
      )}
      <mesh position={[0, hip + 0.32, 0]}>
        <capsuleGeometry args={[0.2, 0.36, 6, 14]} />
        <meshStandardMaterial color={shirt} />
      </mesh>
      {[-1, 1].map((s) => (
        <mesh key={s} position={[s * 0.27, hip + 0.3, 0.12]} rotation={[Math.PI / 3, 0, 0]}>
          <capsuleGeometry args={[0.06, 0.32, 4, 8]} />
          <meshStandardMaterial color={shirt} />
        </mesh>
      ))}
      <Solid position={[0, hip + 0.8, 0]} sphere={[0.18, 20, 14]} color="#c68642" />
      <Solid position={[0, hip + 0.88, -0.03]} scale={[1, 0.6, 1]} sphere={[0.185, 16, 10]} color="#2b1b10" />
      {[-1, 1].map((s) => (
        <Solid key={s} position={[s * 0.065, hip + 0.82, 0.165]} sphere={[0.025, 8, 6]} color="#111827" />
      ))}
    </group>
  );
}
