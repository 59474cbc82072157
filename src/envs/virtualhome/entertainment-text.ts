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

/**
 * Every piece an Entertainment prompt is made of: with the action table, the whole of its text (the micro
 * model's tokenizer learns its words from these, src/llm/model/env-corpus.ts, in this order).
 */
export const ENTERTAINMENT_PIECES = Object.freeze({
  kitchen: ROOM_SENTENCE('kitchen'),
  bathroom: ROOM_SENTENCE('bathroom'),
  bedroom: ROOM_SENTENCE('bedroom'),
  livingRoom: ROOM_SENTENCE('living room'),
  noticeBoth: 'and notice chips and milk. ',
  holdBoth: 'Currently, you have grabbed the chips and the milk in hand. ',
  milkClose: 'The milk is close to you. But you have not grabbed the milk. ',
  milkNotClose: 'The milk is not close to you. ',
  chipsClose: 'The chips are close to you. But you have not grabbed the chips. ',
  chipsNotClose: 'The chips are not close to you. ',
  bothClose: 'They are close to you. But you have not grabbed the them. ', // sic
  neitherClose: 'But they are not close to you. ',
  holdMilk: 'Currently, you have grabbed the milk in hand. ',
  holdChips: 'Currently, you have grabbed the chips in hand. ',
  holdNone: 'Currently, you are not grabbing anything in hand. ',
  noticeChips: 'and only notice chips. ',
  noticeMilk: 'and notice milk. ',
  noticeNothing: 'and notice nothing. ',
  livingRoomObjects: 'and you notice a coffee table, a TV and a sofa. ',
  noneClose: 'They are not close to you. ',
  tvNotClose: 'The TV is not close to you. ', // sic: said next to the coffee table
  tableClose: 'The coffee table is close to you. ',
  chipsOnTableMilkInHand: 'Currently, you have the chips on the coffee table and the milk in your hand. ',
  milkOnTableChipsInHand: 'Currently, you have the milk on the coffee table and the chips in your hand. ',
  /** HTV's opening, in place of "Currently, you have". */
  tvOnHave: 'Currently, the TV is turned on, you have',
  sofaNotClose: 'The sofa is not close to you. ', // sic: said next to the TV when it is on
  tvClose: 'The TV is close to you. ',
  sofaClose: 'The sofa is close to you. ',
  sitting: 'You are sitting on the sofa. ',
  goal: 'In order to enjoy the chips and the milk while watching TV, ',
  next: 'your next step is to',
});
const P = ENTERTAINMENT_PIECES;

/** HP: the plain hand phrase (B.8). */
function handPlain(hc: boolean, hm: boolean): string {
  if (hc && hm) return P.holdBoth;
  if (hm) return P.holdMilk;
  if (hc) return P.holdChips;
  return P.holdNone;
}

/** HT: the table-aware hand phrase; empty with empty hands. The chips-only case repeats its sentence (sic). */
function handTable(hc: boolean, hm: boolean, coc: boolean, moc: boolean): string {
  if (hc && hm) return P.holdBoth;
  if (hm) return coc ? P.chipsOnTableMilkInHand : P.holdMilk;
  if (hc) return P.holdChips + (moc ? P.milkOnTableChipsInHand : P.holdChips);
  return '';
}

/** HTV: HT with every "Currently, you have" turned into "Currently, the TV is turned on, you have". */
function handTv(hc: boolean, hm: boolean, coc: boolean, moc: boolean): string {
  return handTable(hc, hm, coc, moc).replaceAll('Currently, you have', P.tvOnHave);
}

/** One of the two items' kitchen phrases and action ids. */
interface Item {
  notice: string;
  hold: string;
  close: string;
  notClose: string;
  /** Its "walk to the ..." and "grab the ..." action ids. */
  walk: number;
  grab: number;
}
const CHIPS: Item = {
  notice: P.noticeChips,
  hold: P.holdChips,
  close: P.chipsClose,
  notClose: P.chipsNotClose,
  walk: 4,
  grab: 9,
};
const MILK: Item = {
  notice: P.noticeMilk,
  hold: P.holdMilk,
  close: P.milkClose,
  notClose: P.milkNotClose,
  walk: 5,
  grab: 10,
};

/** Both in view, `held` in hand: whether the other one is close (grab it) or not (walk to it), then the hand. */
function holdingOne(held: Item, other: Item, otherClose: boolean): TextView {
  if (otherClose) return { prompt: other.close + held.hold, actionIds: [0, 2, 3, other.grab] };
  return { prompt: other.notClose + held.hold, actionIds: [0, 2, 3, other.walk] };
}

/** Only `item` in view: held, close (grab it) or not close, when the other one's walk is offered (sic). */
function onlyInView(item: Item, other: Item, held: boolean, close: boolean): TextView {
  if (held) return { prompt: item.notice + item.hold, actionIds: [0, 2, 3] };
  if (close) return { prompt: item.notice + item.close, actionIds: [0, 2, 3, item.grab] };
  return { prompt: item.notice + item.notClose, actionIds: [0, 2, 3, other.walk] };
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
    text = P.kitchen;
    const sc = (b & ENT.seeChips) !== 0;
    const sm = (b & ENT.seeMilk) !== 0;
    if (sc && sm) {
      text += P.noticeBoth;
      if (hc && hm) {
        text += P.holdBoth;
        actions = [0, 2, 3];
      } else if (hc || hm) {
        const one = hc ? holdingOne(CHIPS, MILK, cm) : holdingOne(MILK, CHIPS, cc);
        text += one.prompt;
        actions = one.actionIds;
      } else {
        if (cc && cm) {
          text += P.bothClose;
          actions = [0, 2, 3, 9, 10];
        } else if (cc) {
          text += P.chipsClose;
          actions = [0, 2, 3, 5, 9];
        } else if (cm) {
          text += P.milkClose;
          actions = [0, 2, 3, 4, 10];
        } else {
          text += P.neitherClose;
          actions = [0, 2, 3, 4, 5];
        }
        text += P.holdNone;
      }
    } else if (sc || sm) {
      const one = sc ? onlyInView(CHIPS, MILK, hc, cc) : onlyInView(MILK, CHIPS, hm, cm);
      text += one.prompt;
      actions = one.actionIds;
    } else {
      text += P.noticeNothing;
      actions = [0, 2, 3];
    }
  } else if (b & ENT.inLivingRoom) {
    text = P.livingRoom + P.livingRoomObjects;
    const ctab = (b & ENT.closeToCoffeeTable) !== 0;
    const ctv = (b & ENT.closeToTv) !== 0;
    const csofa = (b & ENT.closeToSofa) !== 0;
    const on = (b & ENT.tvOn) !== 0;
    const sit = (b & ENT.sitSofa) !== 0;
    // The original asserts at most one of ctab, ctv, csofa (true on every reachable state); like it, the three
    // cases are independent `if`s, so the last one's action list would win.
    if (!ctab && !ctv && !csofa) {
      text += P.noneClose + handPlain(hc, hm);
      actions = [1, 2, 3, 6, 7, 8];
    }
    if (ctab) {
      text += (coc && hm) || (moc && hc) ? P.tvNotClose : P.tableClose;
      if (hc && hm) {
        text += P.holdBoth;
        actions = [1, 2, 3, 7, 8, 11, 12];
      } else if (hm) {
        text += handTable(hc, hm, coc, moc);
        actions = coc ? [1, 2, 3, 7, 8] : [1, 2, 3, 7, 8, 12];
      } else if (hc) {
        text += handTable(hc, hm, coc, moc);
        actions = moc ? [1, 2, 3, 7, 8] : [1, 2, 3, 7, 8, 11];
      } else {
        text += P.holdNone;
        actions = [1, 2, 3];
      }
    }
    if (ctv) {
      if (on) {
        text += P.sofaNotClose + handTv(hc, hm, coc, moc);
        actions = [1, 2, 3, 6, 8];
      } else {
        text += P.tvClose + handTable(hc, hm, coc, moc);
        actions = [1, 2, 3, 6, 8, 13, 14];
      }
    }
    if (csofa) {
      if (!sit) {
        text += P.sofaClose;
        if (on) {
          text += handTv(hc, hm, coc, moc);
          actions = [1, 2, 3, 6, 7, 15, 16];
        } else {
          text += handTable(hc, hm, coc, moc);
          actions = [1, 2, 3, 6, 7];
        }
      } else {
        text += P.sitting + (on ? handTv(hc, hm, coc, moc) : handTable(hc, hm, coc, moc));
        actions = [1, 2, 3];
      }
    }
  } else {
    const bedroom = (b & ENT.inBedroom) !== 0;
    text = (bedroom ? P.bedroom : P.bathroom) + P.noticeNothing + handPlain(hc, hm);
    actions = bedroom ? [0, 1, 2] : [0, 1, 3];
  }
  return { prompt: text + P.goal + P.next, actionIds: actions };
}
