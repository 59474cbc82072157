/**
 * Observation to text (spec A.6 for task 0, A.7 for task 3): the prompt and the action labels, computed
 * from the observation vector exactly as the official obs2text does, so the text only knows what the
 * vector reports (invisible items are at (0, 0) and match nothing).
 */
import {
  COL,
  FRONT1,
  FRONT2,
  INITIAL_POS,
  ITEM_NAMES,
  KNIFE1,
  KNIFE2,
  LAYOUTS,
  PLATE,
  ROW,
  type TaskLayout,
} from './layout';

export interface TextObservation {
  prompt: string;
  actions: readonly string[];
}

/** One text item (foods, then the bowl) as the vector reports it. */
interface ReportedItem {
  /** "a tomato", "an onion", "a bowl". */
  name: string;
  /** "tomato", "bowl". */
  raw: string;
  isBowl: boolean;
  x: number;
  y: number;
  chopped: boolean;
}

/** Per-task wording (A.6 / A.7). */
interface Wording {
  intro: string;
  goal: string;
  /** Board phrase per knife, as used after "on" / "in front of" / "walk to". */
  boards: readonly string[];
  /** What a bowl with food on a board is called (task 0 says "a chopped tomato", task 3 lists the foods). */
  bowlOnBoard: (foods: string) => string;
  /** Task 3 calls the bowl "empty" unless some hand/board location holds a filled bowl. */
  takeBowlEmpty: string | null;
}

const WORDING: Record<0 | 3, Wording> = {
  0: {
    intro: 'There is a fixed cutting board in the room.',
    goal: 'To serve the dish of a bowl only containing chopped tomato, you should first',
    boards: ['the cutting board'],
    bowlOnBoard: () => 'a bowl containing a chopped tomato',
    takeBowlEmpty: null,
  },
  3: {
    intro: 'There are two fixed cutting boards in the room.',
    goal: 'To serve the dish of a bowl only containing chopped tomato and lettuce, you should first',
    boards: ['the first cutting board', 'the second cutting board'],
    bowlOnBoard: (foods) => `a bowl containing chopped ${foods}`,
    takeBowlEmpty: 'take the empty bowl',
  },
};

const ARTICLE_NAME: Record<string, string> = {
  tomato: 'a tomato',
  lettuce: 'a lettuce',
  onion: 'an onion',
  bowl: 'a bowl',
};
const BOARD_CELLS = [KNIFE1, KNIFE2];
const FRONT_CELLS = [FRONT1, FRONT2];

/** Python's str.capitalize(): first character upper-cased, the rest lower-cased. */
export function capitalize(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1).toLowerCase();
}

/** "X", "X and Y", "X, Y and Z", ... */
export function joinList(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------------------
// The sentences and action labels, each written once: obsToText fills them in, overcookedTextPieces lists them.

/** What the vector reports one item as: "a bowl", "a chopped tomato", "an unchopped onion". */
const itemPhrase = (raw: string, isBowl: boolean, chopped: boolean): string =>
  isBowl ? 'a bowl' : `${chopped ? 'a chopped' : 'an unchopped'} ${raw}`;

/** The items at their initial places ("a tomato", ...: articles, not chop states). */
const noticeSentence = (names: readonly string[]): string =>
  capitalize(
    names.length === 1
      ? `you notice ${names[0]} on the table.`
      : `you notice ${joinList(names)} on the different tables.`,
  );

const onBoardSentence = (what: string, board: string): string => capitalize(`${what} is on ${board}.`);

/**
 * The hand sentence: standing in front of `front` (a board phrase) or not, with empty hands, one item (`held`)
 * or a bowl of chopped foods (`bowlOf`). Away from the boards the bowl's sentence has no "in hand" (sic).
 */
function handSentence(front: string | null, held: string | null, bowlOf: string | null): string {
  if (front !== null) {
    const standing = `currently you are standing in front of ${front}`;
    if (bowlOf !== null) return capitalize(`${standing}, carrying a bowl containing chopped ${bowlOf} in hand.`);
    return capitalize(
      held === null ? `${standing} without anything in hand.` : `${standing}, carrying ${held} in hand.`,
    );
  }
  if (bowlOf !== null) return capitalize(`currently you are carrying a bowl containing chopped ${bowlOf}.`);
  return capitalize(
    held === null ? "currently you don't have anything in hand." : `currently you are carrying ${held} in hand.`,
  );
}

const ACTION = {
  pickUp: (food: string) => `pick up the ${food}`,
  putInBowl: (food: string) => `put the ${food} in the bowl`,
  takeBowl: 'take the bowl',
  /** `thing`: "bowl" or a food. */
  putOn: (thing: string, board: string) => `put the ${thing} on ${board}`,
  walkTo: (board: string) => `walk to ${board}`,
  serve: (holding: boolean) => (holding ? 'serve the dish' : 'serve nothing'),
  chop: (food: string | null) => (food === null ? 'chop nothing' : `chop the ${food}`),
};

/**
 * Every sentence and action label obsToText writes, with every item, chop state and board they can name,
 * ordered by the words they first use: the micro model's tokenizer learns the environments' words from these,
 * in this order (src/llm/model/env-corpus.ts); the order keeps the shipped model's vocabulary.
 */
export function overcookedTextPieces(): string[] {
  const [one, two] = [WORDING[0], WORDING[3]];
  const board = one.boards[0];
  const foods = LAYOUTS['tomato-lettuce-salad'].foods.map((f) => ITEM_NAMES[f]);
  const pieces = [
    one.intro,
    two.intro,
    noticeSentence([...foods, 'bowl'].map((item) => ARTICLE_NAME[item])),
    noticeSentence(['a bowl']),
    onBoardSentence('a bowl', board),
    onBoardSentence(one.bowlOnBoard('tomato'), board),
    handSentence(board, null, null),
    handSentence(board, 'a bowl', null),
    handSentence(board, null, 'tomato'),
    handSentence(null, null, null),
    handSentence(null, 'a bowl', null),
    handSentence(null, null, 'tomato'),
    one.goal,
    two.goal,
    ACTION.takeBowl,
    two.takeBowlEmpty as string,
    ACTION.walkTo(board),
    ACTION.putOn('bowl', board),
    ACTION.serve(false),
    ACTION.serve(true),
    ACTION.chop(null),
    onBoardSentence(two.bowlOnBoard(joinList(foods)), two.boards[0]),
  ];
  for (const food of foods) {
    pieces.push(
      noticeSentence([ARTICLE_NAME[food]]),
      ...[true, false].flatMap((chopped) => [
        onBoardSentence(itemPhrase(food, false, chopped), board),
        handSentence(null, itemPhrase(food, false, chopped), null),
      ]),
      ACTION.pickUp(food),
      ACTION.putInBowl(food),
      ACTION.putOn(food, board),
      ACTION.chop(food),
    );
    for (const b of two.boards) {
      pieces.push(
        ...[true, false].flatMap((chopped) => [
          onBoardSentence(itemPhrase(food, false, chopped), b),
          handSentence(b, itemPhrase(food, false, chopped), null),
        ]),
      );
      pieces.push(ACTION.putOn(food, b));
    }
  }
  for (const b of two.boards) {
    pieces.push(onBoardSentence('a bowl', b), handSentence(b, null, null), handSentence(b, 'a bowl', null));
    pieces.push(ACTION.walkTo(b), ACTION.putOn('bowl', b));
  }
  return pieces;
}

/** Index of the agent's x in the vector (y follows): the last 2 entries before the 7-way one-hot. */
export const agentObsIndex = (layout: TaskLayout): number => layout.obsLength - 9;

/** The text items (foods, then the bowl) as the observation vector reports them. */
function reportedItems(obs: ArrayLike<number>, layout: TaskLayout): ReportedItem[] {
  const items: ReportedItem[] = layout.foods.map((food, i) => ({
    name: ARTICLE_NAME[ITEM_NAMES[food]],
    raw: ITEM_NAMES[food],
    isBowl: false,
    x: obs[3 * i],
    y: obs[3 * i + 1],
    chopped: obs[3 * i + 2] === 3,
  }));
  const p = 3 * layout.foods.length;
  items.push({ name: 'a bowl', raw: 'bowl', isBowl: true, x: obs[p], y: obs[p + 1], chopped: false });
  return items;
}

/** Builds the prompt and action labels from an observation vector (A.6 / A.7). */
export function obsToText(obs: ArrayLike<number>, layout: TaskLayout): TextObservation {
  const words = WORDING[layout.specTask];
  const items = reportedItems(obs, layout);
  const homes = [...layout.foods, PLATE].map((item) => INITIAL_POS[item]);
  const ai = agentObsIndex(layout);
  const ax = obs[ai];
  const ay = obs[ai + 1];
  const at = (item: ReportedItem, cell: number) => item.x === ROW[cell] && item.y === COL[cell];

  const notice = items.filter((item, i) => at(item, homes[i]));
  const hand = items.filter((item) => item.x === ax && item.y === ay);
  const boards = layout.knives.map((_, k) => items.filter((item) => at(item, BOARD_CELLS[k])));
  const agentAt = (cell: number) => ax === ROW[cell] && ay === COL[cell];
  // Task 0 quirk: (2,1) also counts as in front of its only board. Task 3: front of board k.
  const front =
    layout.specTask === 0
      ? agentAt(FRONT1) || agentAt(FRONT2)
        ? 0
        : -1
      : FRONT_CELLS.findIndex((cell) => agentAt(cell));
  const foodsIn = (list: ReportedItem[]) => joinList(list.slice(0, -1).map((item) => item.raw));
  const single = (item: ReportedItem) => itemPhrase(item.raw, item.isBowl, item.chopped);

  const sentences = [words.intro];
  if (notice.length > 0) sentences.push(noticeSentence(notice.map((item) => item.name)));
  boards.forEach((onBoard, k) => {
    if (onBoard.length === 0) return;
    sentences.push(
      onBoardSentence(onBoard.length === 1 ? single(onBoard[0]) : words.bowlOnBoard(foodsIn(onBoard)), words.boards[k]),
    );
  });
  const held = hand.length === 1 ? single(hand[0]) : null;
  sentences.push(handSentence(front >= 0 ? words.boards[front] : null, held, hand.length > 1 ? foodsIn(hand) : null));
  sentences.push(words.goal);

  const handHasBowl = hand.some((item) => item.isBowl);
  const handUnchoppedFood = hand.length === 1 && !hand[0].isBowl && !hand[0].chopped ? hand[0].raw : null;
  const actions: string[] = [];
  for (const item of items.slice(0, -1)) {
    actions.push(handHasBowl ? ACTION.putInBowl(item.raw) : ACTION.pickUp(item.raw));
  }
  const filledBowlSomewhere = hand.length > 1 || boards.some((onBoard) => onBoard.length > 1);
  actions.push(words.takeBowlEmpty !== null && !filledBowlSomewhere ? words.takeBowlEmpty : ACTION.takeBowl);
  for (const board of words.boards) {
    if (handHasBowl) actions.push(ACTION.putOn('bowl', board));
    else if (handUnchoppedFood !== null) actions.push(ACTION.putOn(handUnchoppedFood, board));
    else actions.push(ACTION.walkTo(board));
  }
  actions.push(ACTION.serve(hand.length > 0));
  let chop = ACTION.chop(null);
  boards.forEach((onBoard, k) => {
    if (onBoard.length === 1 && !onBoard[0].isBowl && agentAt(FRONT_CELLS[k])) chop = ACTION.chop(onBoard[0].raw);
  });
  actions.push(chop);
  return { prompt: sentences.join(' '), actions };
}
