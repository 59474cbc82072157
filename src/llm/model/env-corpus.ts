/**
 * Every text fragment the environments can put in a prompt or an action (spec environments.md A.6, A.7,
 * B.4, B.7, B.8, B.9), with the template slots filled in every way they can be. The micro model's tokenizer
 * gives each word of these texts a whole "▁word" token (or a fixed split into sub-words), so the random test
 * model reads the real prompts the way a LLaMA tokenizer would, without byte fallback.
 *
 * This is a vocabulary source, not a renderer: fragments need not be whole prompts.
 */

const OVERCOOKED_FOODS = ['tomato', 'lettuce', 'onion'];
const OVERCOOKED_BOARDS = ['first', 'second'];

function overcookedTexts(): string[] {
  const texts = [
    'There is a fixed cutting board in the room.',
    'There are two fixed cutting boards in the room.',
    'You notice a tomato, a lettuce, an onion and a bowl on the different tables.',
    'You notice a tomato and a bowl on the different tables.',
    'You notice a bowl on the table.',
    'A bowl is on the cutting board.',
    'A bowl containing a chopped tomato is on the cutting board.',
    'Currently you are standing in front of the cutting board without anything in hand.',
    'Currently you are standing in front of the cutting board, carrying a bowl in hand.',
    'Currently you are standing in front of the cutting board, carrying a bowl containing chopped tomato in hand.',
    "Currently you don't have anything in hand.",
    'Currently you are carrying a bowl in hand.',
    'Currently you are carrying a bowl containing chopped tomato.',
    'To serve the dish of a bowl only containing chopped tomato, you should first',
    'To serve the dish of a bowl only containing chopped tomato and lettuce, you should first',
    'take the bowl',
    'take the empty bowl',
    'walk to the cutting board',
    'put the bowl on the cutting board',
    'serve nothing',
    'serve the dish',
    'chop nothing',
    'A bowl containing chopped tomato, lettuce and onion is on the first cutting board.',
  ];
  for (const food of OVERCOOKED_FOODS) {
    const article = food === 'onion' ? 'an' : 'a';
    texts.push(
      `You notice ${article} ${food} on the table.`,
      `A chopped ${food} is on the cutting board.`,
      `An unchopped ${food} is on the cutting board.`,
      `Currently you are carrying a chopped ${food} in hand.`,
      `Currently you are carrying an unchopped ${food} in hand.`,
      `pick up the ${food}`,
      `put the ${food} in the bowl`,
      `put the ${food} on the cutting board`,
      `chop the ${food}`,
    );
    for (const board of OVERCOOKED_BOARDS) {
      texts.push(
        `A chopped ${food} is on the ${board} cutting board.`,
        `An unchopped ${food} is on the ${board} cutting board.`,
        `Currently you are standing in front of the ${board} cutting board, carrying a chopped ${food} in hand.`,
        `Currently you are standing in front of the ${board} cutting board, carrying an unchopped ${food} in hand.`,
        `put the ${food} on the ${board} cutting board`,
      );
    }
  }
  for (const board of OVERCOOKED_BOARDS) {
    texts.push(
      `A bowl is on the ${board} cutting board.`,
      `Currently you are standing in front of the ${board} cutting board without anything in hand.`,
      `Currently you are standing in front of the ${board} cutting board, carrying a bowl in hand.`,
      `walk to the ${board} cutting board`,
      `put the bowl on the ${board} cutting board`,
    );
  }
  return texts;
}

/** Food Preparation and its unseen variants: (object, container) word pairs (B.9). */
const FOOD_PREPARATION_OBJECTS: [string, string][] = [
  ['pancake', 'microwave'],
  ['cheese', 'microwave'],
  ['hamburger', 'microwave'],
  ['apple pie', 'microwave'],
  ['pizza', 'microwave'],
  ['dishes', 'dishwasher'],
  ['clothes', 'washing machine'],
];
const ROOMS = ['kitchen', 'bathroom', 'bedroom', 'living room'];

function virtualHomeTexts(): string[] {
  const texts: string[] = [];
  for (const room of ROOMS) {
    texts.push(
      `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${room}. `,
      `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${room} `,
      `walk to the ${room}`,
    );
  }
  for (const [obj, box] of FOOD_PREPARATION_OBJECTS) {
    texts.push(
      `You notice ${obj} and ${box}. `,
      `Currently, you have grabbed the ${obj} in hand. `,
      `The ${box} is close to you. `,
      `The ${box} is opened. `,
      `The ${box} is not opend. `,
      `The ${box} is not close to you. `,
      `Currently, you are not grabbing anything in hand. The ${obj} is close to you. `,
      `Currently, you are not grabbing anything in hand. The ${box} is close to you. `,
      `Currently, you are not grabbing anything in hand. The ${obj} and the ${box} are not close to you. `,
      `The ${obj} is in the ${box}. `,
      `The ${box} is closed. `,
      'and notice nothing useful. Currently, you have grabbed the pancake in hand. ',
      'and notice nothing useful. Currently, you are not grabbing anything in hand. ',
      `In order to heat up the ${obj} in the ${box}, your next step is to`,
      `walk to the ${obj}`,
      `walk to the ${box}`,
      `grab the ${obj}`,
      `put the ${obj} in the ${box}`,
      `open the ${box}`,
      `close the ${box}`,
    );
  }
  // Entertainment (B.4, B.8).
  texts.push(
    'and notice chips and milk. ',
    'Currently, you have grabbed the chips and the milk in hand. ',
    'The milk is close to you. But you have not grabbed the milk. Currently, you have grabbed the chips in hand. ',
    'The milk is not close to you. Currently, you have grabbed the chips in hand. ',
    'The chips are close to you. But you have not grabbed the chips. Currently, you have grabbed the milk in hand. ',
    'The chips are not close to you. Currently, you have grabbed the milk in hand. ',
    'They are close to you. But you have not grabbed the them. ',
    'Currently, you are not grabbing anything in hand. ',
    'But they are not close to you. ',
    'and only notice chips. ',
    'and notice milk. ',
    'and notice nothing. ',
    'and you notice a coffee table, a TV and a sofa. ',
    'They are not close to you. ',
    'The TV is not close to you. ',
    'The coffee table is close to you. ',
    'Currently, you have the chips on the coffee table and the milk in your hand. ',
    'Currently, you have the milk on the coffee table and the chips in your hand. ',
    'Currently, the TV is turned on, you have grabbed the chips and the milk in hand. ',
    'Currently, the TV is turned on, you have the chips on the coffee table and the milk in your hand. ',
    'The sofa is not close to you. ',
    'The TV is close to you. ',
    'The sofa is close to you. ',
    'You are sitting on the sofa. ',
    'In order to enjoy the chips and the milk while watching TV, your next step is to',
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
  );
  return texts;
}

/** All fragments, Overcooked first. */
export function environmentTexts(): string[] {
  return [...overcookedTexts(), ...virtualHomeTexts()];
}

/** The distinct words (maximal runs of ASCII letters) of `texts`, in first-seen order. */
export function wordsOf(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const match of text.matchAll(/[A-Za-z]+/g)) seen.add(match[0]);
  return [...seen];
}
