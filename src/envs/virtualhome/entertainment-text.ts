/**
 * Entertainment observation-to-text (spec environments.md B.8; TWOSOME policy_v2.py `obs2text`, HEAD wording).
 * A pure function of the 21 observation bits. Byte-exact data with the original's quirks (twosome.md 4.7):
 * - the room sentence has no period ("You are in the kitchen and notice ...");
 * - "But you have not grabbed the them. ";
 * - kitchen "only notice chips" offers "walk to the milk" (5) and "notice milk" offers "walk to the chips" (4);
 * - next to the coffee table with one item on it and the other in hand: "The TV is not close to you. ";
 * - holding only the chips (table-aware phrases) says "Currently, you have grabbed the chips in hand. " twice;
 * - "turn off the TV" (14) is offered only when the TV is off, "stand up from the sofa" (16) only when not
 *   sitting, and sitting offers only room walks (which then fail: the sofa trap).
 */
import { ENT } from './observation';
import type { TextView } from './food-preparation-text';

/** Global action table of Entertainment (B.4), ids 0..16. */
export const ENTERTAINMENT_ACTION_TEXTS: readonly string[] = [
  'walk to the living room',
  'walk to the kitchen',
  'walk to the bathroom',
  'walk to the bedroom',
  'walk to the chips',
  'walk to the milk',
  'walk to the coffee table',
  'walk to the TV',
  'walk to the sofa',
  'grab the chips',
  'grab the milk',
  'put the chips on the coffee table',
  'put the milk on the coffee table',
  'turn on the TV',
  'turn off the TV',
  'sit on the sofa',
  'stand up from the sofa',
];

const ROOM_SENTENCE = (room: string) =>
  `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${room} `; // no period (sic)

const GOAL = 'In order to enjoy the chips and the milk while watching TV, ';
const NEXT = 'your next step is to';

const HOLD_BOTH = 'Currently, you have grabbed the chips and the milk in hand. ';
const HOLD_MILK = 'Currently, you have grabbed the milk in hand. ';
const HOLD_CHIPS = 'Currently, you have grabbed the chips in hand. ';
const HOLD_NONE = 'Currently, you are not grabbing anything in hand. ';
const CHIPS_ON_TABLE_MILK_IN_HAND = 'Currently, you have the chips on the coffee table and the milk in your hand. ';
const MILK_ON_TABLE_CHIPS_IN_HAND = 'Currently, you have the milk on the coffee table and the chips in your hand. ';

/** HP: the plain hand phrase (B.8). */
function handPlain(hc: boolean, hm: boolean): string {
  if (hc && hm) return HOLD_BOTH;
  if (hm) return HOLD_MILK;
  if (hc) return HOLD_CHIPS;
  return HOLD_NONE;
}

/** HT: the table-aware hand phrase; empty with empty hands. The chips-only case repeats its sentence (sic). */
function handTable(hc: boolean, hm: boolean, coc: boolean, moc: boolean): string {
  if (hc && hm) return HOLD_BOTH;
  if (hm) return coc ? CHIPS_ON_TABLE_MILK_IN_HAND : HOLD_MILK;
  if (hc) return HOLD_CHIPS + (moc ? MILK_ON_TABLE_CHIPS_IN_HAND : HOLD_CHIPS);
  return '';
}

/** HTV: HT with every "Currently, you have" turned into "Currently, the TV is turned on, you have". */
function handTv(hc: boolean, hm: boolean, coc: boolean, moc: boolean): string {
  return handTable(hc, hm, coc, moc).replaceAll('Currently, you have', 'Currently, the TV is turned on, you have');
}

export function entertainmentText(b: number): TextView {
  const hc = (b & ENT.holdChips) !== 0;
  const hm = (b & ENT.holdMilk) !== 0;
  const cc = (b & ENT.closeToChips) !== 0;
  const cm = (b & ENT.closeToMilk) !== 0;
  const coc = (b & ENT.chipsOnTable) !== 0;
  const moc = (b & ENT.milkOnTable) !== 0;
  let text: string;
  let actions: readonly number[] = [];

  if (b & ENT.inKitchen) {
    text = ROOM_SENTENCE('kitchen');
    const sc = (b & ENT.seeChips) !== 0;
    const sm = (b & ENT.seeMilk) !== 0;
    if (sc && sm) {
      text += 'and notice chips and milk. ';
      if (hc && hm) {
        text += HOLD_BOTH;
        actions = [0, 2, 3];
      } else if (hc) {
        if (cm) {
          text += 'The milk is close to you. But you have not grabbed the milk. ' + HOLD_CHIPS;
          actions = [0, 2, 3, 10];
        } else {
          text += 'The milk is not close to you. ' + HOLD_CHIPS;
          actions = [0, 2, 3, 5];
        }
      } else if (hm) {
        if (cc) {
          text += 'The chips are close to you. But you have not grabbed the chips. ' + HOLD_MILK;
          actions = [0, 2, 3, 9];
        } else {
          text += 'The chips are not close to you. ' + HOLD_MILK;
          actions = [0, 2, 3, 4];
        }
      } else {
        if (cc && cm) {
          text += 'They are close to you. But you have not grabbed the them. '; // sic
          actions = [0, 2, 3, 9, 10];
        } else if (cc) {
          text += 'The chips are close to you. But you have not grabbed the chips. ';
          actions = [0, 2, 3, 5, 9];
        } else if (cm) {
          text += 'The milk is close to you. But you have not grabbed the milk. ';
          actions = [0, 2, 3, 4, 10];
        } else {
          text += 'But they are not close to you. ';
          actions = [0, 2, 3, 4, 5];
        }
        text += HOLD_NONE;
      }
    } else if (sc) {
      text += 'and only notice chips. ';
      if (hc) {
        text += HOLD_CHIPS;
        actions = [0, 2, 3];
      } else if (cc) {
        text += 'The chips are close to you. But you have not grabbed the chips. ';
        actions = [0, 2, 3, 9];
      } else {
        text += 'The chips are not close to you. ';
        actions = [0, 2, 3, 5]; // sic: "walk to the milk"
      }
    } else if (sm) {
      text += 'and notice milk. ';
      if (hm) {
        text += HOLD_MILK;
        actions = [0, 2, 3];
      } else if (cm) {
        text += 'The milk is close to you. But you have not grabbed the milk. ';
        actions = [0, 2, 3, 10];
      } else {
        text += 'The milk is not close to you. ';
        actions = [0, 2, 3, 4]; // sic: "walk to the chips"
      }
    } else {
      text += 'and notice nothing. ';
      actions = [0, 2, 3];
    }
  } else if (b & ENT.inLivingRoom) {
    text = ROOM_SENTENCE('living room') + 'and you notice a coffee table, a TV and a sofa. ';
    const ctab = (b & ENT.closeToCoffeeTable) !== 0;
    const ctv = (b & ENT.closeToTv) !== 0;
    const csofa = (b & ENT.closeToSofa) !== 0;
    const on = (b & ENT.tvOn) !== 0;
    const sit = (b & ENT.sitSofa) !== 0;
    // The original asserts at most one of ctab, ctv, csofa (true on every reachable state); like it, the three
    // cases are independent `if`s, so the last one's action list would win.
    if (!ctab && !ctv && !csofa) {
      text += 'They are not close to you. ' + handPlain(hc, hm);
      actions = [1, 2, 3, 6, 7, 8];
    }
    if (ctab) {
      text += (coc && hm) || (moc && hc) ? 'The TV is not close to you. ' /* sic */ : 'The coffee table is close to you. ';
      if (hc && hm) {
        text += HOLD_BOTH;
        actions = [1, 2, 3, 7, 8, 11, 12];
      } else if (hm) {
        text += handTable(hc, hm, coc, moc);
        actions = coc ? [1, 2, 3, 7, 8] : [1, 2, 3, 7, 8, 12];
      } else if (hc) {
        text += handTable(hc, hm, coc, moc);
        actions = moc ? [1, 2, 3, 7, 8] : [1, 2, 3, 7, 8, 11];
      } else {
        text += HOLD_NONE;
        actions = [1, 2, 3];
      }
    }
    if (ctv) {
      if (on) {
        text += 'The sofa is not close to you. ' /* sic */ + handTv(hc, hm, coc, moc);
        actions = [1, 2, 3, 6, 8];
      } else {
        text += 'The TV is close to you. ' + handTable(hc, hm, coc, moc);
        actions = [1, 2, 3, 6, 8, 13, 14];
      }
    }
    if (csofa) {
      if (!sit) {
        text += 'The sofa is close to you. ';
        if (on) {
          text += handTv(hc, hm, coc, moc);
          actions = [1, 2, 3, 6, 7, 15, 16];
        } else {
          text += handTable(hc, hm, coc, moc);
          actions = [1, 2, 3, 6, 7];
        }
      } else {
        text += 'You are sitting on the sofa. ' + (on ? handTv(hc, hm, coc, moc) : handTable(hc, hm, coc, moc));
        actions = [1, 2, 3];
      }
    }
  } else {
    const bedroom = (b & ENT.inBedroom) !== 0;
    text = ROOM_SENTENCE(bedroom ? 'bedroom' : 'bathroom') + 'and notice nothing. ' + handPlain(hc, hm);
    actions = bedroom ? [0, 1, 2] : [0, 1, 3];
  }
  return { prompt: text + GOAL + NEXT, actionIds: actions };
}
