/**
 * Hand-written VirtualHome render descriptions for developing and checking the scene without the
 * environment: initial states of Food Preparation, Entertainment and two variants, and mid-episode states.
 */
import type { VirtualHomeObject, VirtualHomeRender, VirtualHomeTaskId } from '../envs/types';

const ROOMS: VirtualHomeRender['rooms'] = ['kitchen', 'bathroom', 'bedroom', 'living room'];

function obj(id: string, room: VirtualHomeObject['room'], extra: Partial<VirtualHomeObject> = {}): VirtualHomeObject {
  return { id, label: id, room, held: false, on: [], inside: null, visible: false, close: false, ...extra };
}

export function foodPreparationInitial(
  task: VirtualHomeTaskId = 'food-preparation',
  food = 'pancake',
  appliance = 'microwave',
): VirtualHomeRender {
  return {
    kind: 'virtualhome',
    taskId: task,
    rooms: ROOMS,
    agent: { room: 'kitchen', sitting: false, holding: [], facingTV: false },
    objects: [
      obj('pancake', 'kitchen', { label: food, on: ['kitchen table'], visible: true }),
      obj('microwave', 'kitchen', {
        label: appliance,
        on: ['kitchen counter', 'counter drawer'],
        visible: true,
        open: false,
      }),
    ],
    lastAction: null,
    step: 0,
  };
}

export const pancakeInOpenMicrowave: VirtualHomeRender = {
  ...foodPreparationInitial(),
  objects: [
    obj('pancake', 'kitchen', { inside: 'microwave', visible: true, close: true }),
    obj('microwave', 'kitchen', { on: ['kitchen counter', 'counter drawer'], visible: true, close: true, open: true }),
  ],
  lastAction: { text: 'put the pancake in the microwave', succeeded: true },
  step: 4,
};

export const pancakeHeld: VirtualHomeRender = {
  ...foodPreparationInitial(),
  agent: { room: 'kitchen', sitting: false, holding: ['pancake'], facingTV: false },
  objects: [
    obj('pancake', 'kitchen', { held: true, visible: true, close: true }),
    obj('microwave', 'kitchen', { on: ['kitchen counter', 'counter drawer'], visible: true, close: true, open: true }),
  ],
  lastAction: { text: 'walk to the microwave', succeeded: true },
  step: 3,
};

export function entertainmentInitial(): VirtualHomeRender {
  return {
    kind: 'virtualhome',
    taskId: 'entertainment',
    rooms: ROOMS,
    agent: { room: 'kitchen', sitting: false, holding: [], facingTV: false },
    objects: [
      obj('chips', 'kitchen', { on: ['dishwasher', 'kitchen counter'], visible: true }),
      obj('milk', 'kitchen', { on: ['kitchen table'], visible: true }),
      obj('tv', 'living room', { label: 'TV', on: ['tv stand', 'chair'], switchedOn: false }),
      obj('sofa', 'living room'),
      obj('coffee table', 'living room', { on: ['floor'] }),
    ],
    lastAction: null,
    step: 0,
  };
}

export const carryingSnacks: VirtualHomeRender = {
  ...entertainmentInitial(),
  agent: { room: 'living room', sitting: false, holding: ['chips', 'milk'], facingTV: false },
  objects: [
    obj('chips', 'living room', { held: true, visible: true, close: true }),
    obj('milk', 'living room', { held: true, visible: true, close: true }),
    obj('tv', 'living room', { label: 'TV', on: ['tv stand', 'chair'], switchedOn: false, visible: true, close: true }),
    obj('sofa', 'living room', { visible: true }),
    obj('coffee table', 'living room', { on: ['floor'], visible: true }),
  ],
  lastAction: { text: 'walk to the TV', succeeded: true },
  step: 5,
};

export const watchingTV: VirtualHomeRender = {
  ...entertainmentInitial(),
  agent: { room: 'living room', sitting: true, holding: ['milk'], facingTV: true },
  objects: [
    obj('chips', 'living room', { on: ['coffee table'], visible: true, close: true }),
    obj('milk', 'living room', { held: true, visible: true, close: true }),
    obj('tv', 'living room', { label: 'TV', on: ['tv stand', 'chair'], switchedOn: true, visible: true }),
    obj('sofa', 'living room', { visible: true, close: true }),
    obj('coffee table', 'living room', { on: ['floor'], visible: true, close: true }),
  ],
  lastAction: { text: 'sit on the sofa', succeeded: true },
  step: 10,
};

export const VIRTUALHOME_FIXTURES: Record<string, VirtualHomeRender> = {
  'food-preparation initial': foodPreparationInitial(),
  'pancake held': pancakeHeld,
  'pancake in open microwave': pancakeInOpenMicrowave,
  'washing-plate initial': foodPreparationInitial('washing-plate', 'dishes', 'dishwasher'),
  'laundry initial': foodPreparationInitial('laundry', 'clothes', 'washing machine'),
  'pizza initial': foodPreparationInitial('pizza', 'pizza'),
  'entertainment initial': entertainmentInitial(),
  'carrying snacks': carryingSnacks,
  'watching TV': watchingTV,
};
