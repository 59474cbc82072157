/**
 * The render description of a VirtualHome state (types.ts VirtualHomeRender): plain data for a scene drawer.
 * `room` of an object is where it physically is (held: the agent's room; in the microwave: the kitchen; on the
 * coffee table: the living room; otherwise its initial room), not the stale recorded room `R_o` of B.2, which is
 * an internal bookkeeping quirk (it only shows through `visible`).
 */
import type { VirtualHomeObject, VirtualHomeRender } from '../types';
import { ROOM_NAMES, bit, maskToIds } from './scene';
import { observable } from './rules';
import type { VhState } from './state';
import type { TaskSpec } from './variants';

export interface LastAction {
  text: string;
  succeeded: boolean;
}

export function renderState(
  spec: TaskSpec,
  s: VhState,
  lastAction: LastAction | null,
  step: number,
): VirtualHomeRender {
  const scene = spec.scene;
  const objects: VirtualHomeObject[] = [];
  for (let n = 0; n < scene.nodes.length; n++) {
    const movable = n < scene.movables.length;
    if (!movable && scene.staticRoom[n] < 0) continue; // supports are listed by id in `on`, not drawn as objects
    const id = scene.nodes[n];
    const held = movable && (s.held & bit(n)) !== 0;
    let room: number;
    if (!movable) room = scene.staticRoom[n];
    else if (held) room = s.room;
    else if (s.objIn[n] >= 0) room = scene.staticRoom[s.objIn[n]];
    else {
      const placedOn = scene.staticRoom.findIndex((r, k) => r >= 0 && (s.objOn[n] & bit(k)) !== 0);
      room = placedOn >= 0 ? scene.staticRoom[placedOn] : scene.initialRoom[n];
    }
    const obj: VirtualHomeObject = {
      id,
      label: spec.labels[id] ?? id,
      room: ROOM_NAMES[room],
      held,
      on: maskToIds(scene, movable ? s.objOn[n] : scene.staticOn[n]),
      inside: movable && s.objIn[n] >= 0 ? scene.nodes[s.objIn[n]] : null,
      visible: observable(scene, s, n),
      close: (s.close & bit(n)) !== 0,
    };
    if (n === scene.microwave) obj.open = s.open;
    if (n === scene.tv) obj.switchedOn = s.tvOn;
    objects.push(obj);
  }
  const holding: string[] = [];
  for (const m of s.hands) if (m >= 0) holding.push(scene.nodes[m]); // right hand, then left
  return {
    kind: 'virtualhome',
    taskId: spec.taskId,
    rooms: ROOM_NAMES.slice(),
    agent: { room: ROOM_NAMES[s.room], sitting: s.sitting, holding, facingTV: s.facingTV },
    objects,
    lastAction: lastAction ? { text: lastAction.text, succeeded: lastAction.succeeded } : null,
    step,
  };
}
