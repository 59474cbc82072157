/**
 * The binary observation vector (spec environments.md B.5; twosome.md 4.5) that the official wrappers feed to
 * obs2text and to the PPO-MLP baseline, and the success tests on it (B.6). Bits are packed into an integer:
 * bit i = entry i of the vector.
 */
import { ENT_CHIPS, ENT_MILK, KITCHEN, LIVING_ROOM, bit, type Scene } from './scene';
import { observable } from './rules';
import type { VhState } from './state';

export const FOOD_PREPARATION_OBS_KEYS: readonly string[] = [
  'in_kitchen',
  'in_bathroom',
  'in_bedroom',
  'in_livingroom',
  'see_pancake',
  'close_to_pancake',
  'hold_pancake',
  'see_microwave',
  'close_to_microwave',
  'is_microwave_open',
  'pancake_in_microwave',
];

export const ENTERTAINMENT_OBS_KEYS: readonly string[] = [
  'in_kitchen',
  'in_bathroom',
  'in_bedroom',
  'in_livingroom',
  'see_chips',
  'close_to_chips',
  'hold_chips',
  'chips_on_coffeetable',
  'see_milk',
  'close_to_milk',
  'hold_milk',
  'milk_on_coffeetable',
  'see_tv',
  'close_to_tv',
  'is_face_tv',
  'is_tv_on',
  'see_sofa',
  'close_to_sofa',
  'is_sit_sofa',
  'see_coffeetable',
  'close_to_coffeetable',
];

// Bit positions used by the text functions and the success tests.
export const FP = {
  inKitchen: 1 << 0,
  inBathroom: 1 << 1,
  inBedroom: 1 << 2,
  inLivingRoom: 1 << 3,
  seePancake: 1 << 4,
  closeToPancake: 1 << 5,
  holdPancake: 1 << 6,
  seeMicrowave: 1 << 7,
  closeToMicrowave: 1 << 8,
  microwaveOpen: 1 << 9,
  pancakeInMicrowave: 1 << 10,
} as const;

export const ENT = {
  inKitchen: 1 << 0,
  inBathroom: 1 << 1,
  inBedroom: 1 << 2,
  inLivingRoom: 1 << 3,
  seeChips: 1 << 4,
  closeToChips: 1 << 5,
  holdChips: 1 << 6,
  chipsOnTable: 1 << 7,
  seeMilk: 1 << 8,
  closeToMilk: 1 << 9,
  holdMilk: 1 << 10,
  milkOnTable: 1 << 11,
  seeTv: 1 << 12,
  closeToTv: 1 << 13,
  faceTv: 1 << 14,
  tvOn: 1 << 15,
  seeSofa: 1 << 16,
  closeToSofa: 1 << 17,
  sitSofa: 1 << 18,
  seeCoffeeTable: 1 << 19,
  closeToCoffeeTable: 1 << 20,
} as const;

export function obsLength(scene: Scene): number {
  return scene.id === 'food-preparation' ? 11 : 21;
}

/** The observation bits of a state (B.5). */
export function observationBits(scene: Scene, s: VhState): number {
  let b = 1 << s.room; // room one-hot, room indices follow the vector's order
  if (scene.id === 'food-preparation') {
    const p = 0; // pancake node
    const mw = scene.microwave;
    const seeP = observable(scene, s, p);
    const kitchen = s.room === KITCHEN;
    if (seeP) b |= FP.seePancake;
    if (seeP && s.close & bit(p)) b |= FP.closeToPancake;
    if (s.held & bit(p)) b |= FP.holdPancake;
    if (kitchen) b |= FP.seeMicrowave;
    if (kitchen && s.close & bit(mw)) b |= FP.closeToMicrowave;
    if (kitchen && s.open) b |= FP.microwaveOpen;
    if (kitchen && seeP && s.objIn[p] === mw) b |= FP.pancakeInMicrowave;
    return b;
  }
  const living = s.room === LIVING_ROOM;
  const ct = scene.coffeeTable;
  // chips: bits 4..7, milk: bits 8..11
  for (const [o, shift] of [
    [ENT_CHIPS, 4],
    [ENT_MILK, 8],
  ] as const) {
    const see = observable(scene, s, o);
    if (see) b |= 1 << shift;
    if (see && s.close & bit(o)) b |= 1 << (shift + 1);
    if (s.held & bit(o)) b |= 1 << (shift + 2);
    if (see && living && s.objOn[o] === bit(ct)) b |= 1 << (shift + 3);
  }
  if (living) {
    b |= ENT.seeTv | ENT.seeSofa | ENT.seeCoffeeTable;
    if (s.close & bit(scene.tv)) b |= ENT.closeToTv;
    if (s.facingTV) b |= ENT.faceTv;
    if (s.tvOn) b |= ENT.tvOn;
    if (s.close & bit(scene.sofa)) b |= ENT.closeToSofa;
    if (s.onSofa) b |= ENT.sitSofa;
    if (s.close & bit(ct)) b |= ENT.closeToCoffeeTable;
  }
  return b;
}

/**
 * Success test on the NEW observation after every step, successful or not (B.6).
 * Food Preparation: in the kitchen and the pancake not seen (inside the closed microwave).
 * Entertainment: in the living room, facing the TV, TV on, on the sofa, and each of chips and milk close or on
 * the coffee table.
 */
export function isSuccess(scene: Scene, b: number): boolean {
  if (scene.id === 'food-preparation') return (b & FP.inKitchen) !== 0 && (b & FP.seePancake) === 0;
  const need = ENT.inLivingRoom | ENT.faceTv | ENT.tvOn | ENT.sitSofa;
  return (
    (b & need) === need &&
    (b & (ENT.closeToMilk | ENT.milkOnTable)) !== 0 &&
    (b & (ENT.closeToChips | ENT.chipsOnTable)) !== 0
  );
}

/** Unpacks the bits into the vector (length 11 or 21). */
export function bitsToVector(b: number, length: number, out = new Float32Array(length)): Float32Array {
  for (let i = 0; i < length; i++) out[i] = (b >>> i) & 1;
  return out;
}
