/**
 * Food Preparation observation-to-text (spec environments.md B.7; TWOSOME policy_v1.py `obs2text`, HEAD wording).
 * The prompt and the offered action ids are a pure function of the 11 observation bits. All texts are written
 * here with the original words "pancake" and "microwave"; the unseen variants (B.9) substitute them in every
 * piece and action text (variants.ts), which is what `makeFoodPreparationText` takes as `words`.
 *
 * Byte-exact data, sic included: "The microwave is not opend. ", the room sentence's period before
 * "and notice nothing useful." in the other rooms, and the kitchen's hand-written action subsets.
 */
import { FP } from './observation';

/** Global action table of Food Preparation (B.4), ids 0..9. */
export const FOOD_PREPARATION_ACTION_TEXTS: readonly string[] = [
  'walk to the living room',
  'walk to the kitchen',
  'walk to the bathroom',
  'walk to the bedroom',
  'walk to the pancake',
  'walk to the microwave',
  'grab the pancake',
  'put the pancake in the microwave',
  'open the microwave',
  'close the microwave',
];

export interface FoodWords {
  /** Replaces "pancake" (B.9). */
  food: string;
  /** Replaces "microwave" (B.9). */
  appliance: string;
}

export const PANCAKE_WORDS: FoodWords = { food: 'pancake', appliance: 'microwave' };

/** B.9: a plain substitution of the two words in a Food Preparation piece or action text. */
export function substituteFoodWords(text: string, words: FoodWords): string {
  return text.replaceAll('pancake', words.food).replaceAll('microwave', words.appliance);
}

export interface TextView {
  prompt: string;
  /** Offered global action ids, in the order obs2text lists them. */
  actionIds: readonly number[];
}

const ROOM_SENTENCE = (room: string) =>
  `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${room}. `;

/**
 * Every piece a Food Preparation prompt is made of, with `words` substituted: with the action table, the
 * whole of its text (the micro model's tokenizer learns its words from these, src/llm/model/env-corpus.ts, in
 * this order).
 */
export function foodPreparationPieces(words: FoodWords) {
  const w = (t: string) => substituteFoodWords(t, words);
  return {
    kitchen: ROOM_SENTENCE('kitchen'),
    bathroom: ROOM_SENTENCE('bathroom'),
    bedroom: ROOM_SENTENCE('bedroom'),
    livingRoom: ROOM_SENTENCE('living room'),
    notice: w('You notice pancake and microwave. '),
    holding: w('Currently, you have grabbed the pancake in hand. '),
    mwClose: w('The microwave is close to you. '),
    opened: w('The microwave is opened. '),
    notOpened: w('The microwave is not opend. '), // sic
    mwNotClose: w('The microwave is not close to you. '),
    emptyPancakeClose: w('Currently, you are not grabbing anything in hand. The pancake is close to you. '),
    emptyMwClose: w('Currently, you are not grabbing anything in hand. The microwave is close to you. '),
    emptyNoneClose: w(
      'Currently, you are not grabbing anything in hand. The pancake and the microwave are not close to you. ',
    ),
    inMicrowave: w('The pancake is in the microwave. '),
    closed: w('The microwave is closed. '),
    // sic: follows the room sentence's period ("You are in the bathroom. and notice nothing useful. ...").
    elsewhereHolding: w('and notice nothing useful. Currently, you have grabbed the pancake in hand. '),
    elsewhereEmpty: w('and notice nothing useful. Currently, you are not grabbing anything in hand. '),
    goal: w('In order to heat up the pancake in the microwave, '),
    next: 'your next step is to',
  };
}

/** Builds the obs2text function for one set of words; pieces are substituted once, up front. */
export function makeFoodPreparationText(words: FoodWords): (bits: number) => TextView {
  const P = foodPreparationPieces(words);

  return (b: number): TextView => {
    let text: string;
    let actions: readonly number[];
    if (b & FP.inKitchen) {
      const see = (b & FP.seePancake) !== 0;
      const hold = (b & FP.holdPancake) !== 0;
      const cp = (b & FP.closeToPancake) !== 0;
      const cm = (b & FP.closeToMicrowave) !== 0;
      const open = (b & FP.microwaveOpen) !== 0;
      text = P.kitchen + (see ? P.notice : P.inMicrowave);
      if (hold) {
        text += P.holding;
        if (cm) {
          text += P.mwClose;
          actions = [0, 2, 3, 4, 7, 8, 9];
        } else {
          text += P.mwNotClose;
          actions = [0, 2, 3, 4, 5];
        }
      } else if (cp && !cm) {
        text += P.emptyPancakeClose;
        actions = [0, 2, 3, 5, 6];
      } else if (cm && !cp) {
        text += P.emptyMwClose;
        actions = [0, 2, 3, 4, 8, 9];
      } else if (!cp && !cm) {
        text += P.emptyNoneClose;
        actions = [0, 2, 3, 4, 5];
      } else {
        // Close to both: no hand or closeness sentence at all.
        actions = open ? [0, 2, 3, 8, 9] : [0, 2, 3, 9];
      }
      if (see) {
        text += open ? P.opened : P.notOpened;
      } else {
        // The pancake is unseen (inside the closed microwave): this overrides the action subset.
        text += P.closed;
        actions = [0, 2, 3];
      }
    } else {
      const room = b & FP.inBathroom ? P.bathroom : b & FP.inBedroom ? P.bedroom : P.livingRoom;
      text = room + (b & FP.holdPancake ? P.elsewhereHolding : P.elsewhereEmpty);
      actions = b & FP.inBathroom ? [0, 1, 3] : b & FP.inBedroom ? [0, 1, 2] : [1, 2, 3];
    }
    return { prompt: text + P.goal + P.next, actionIds: actions };
  };
}
