/**
 * Observation to text (spec A.6 for task 0, A.7 for task 3): the prompt and the action labels, computed
 * from the observation vector exactly as the official obs2text does, so the text only knows what the
 * vector reports (invisible items are at (0, 0) and match nothing).
 */
import { COL, FRONT1, FRONT2, INITIAL_POS, ITEM_NAMES, KNIFE1, KNIFE2, PLATE, ROW, type TaskLayout } from './layout';

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

const ARTICLE_NAME: Record<string, string> = { tomato: 'a tomato', lettuce: 'a lettuce', onion: 'an onion', bowl: 'a bowl' };
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
  const single = (item: ReportedItem) => (item.isBowl ? 'a bowl' : `${item.chopped ? 'a chopped' : 'an unchopped'} ${item.raw}`);

  const sentences = [words.intro];
  if (notice.length === 1) sentences.push(capitalize(`you notice ${notice[0].name} on the table.`));
  else if (notice.length > 1) {
    sentences.push(capitalize(`you notice ${joinList(notice.map((item) => item.name))} on the different tables.`));
  }
  boards.forEach((onBoard, k) => {
    if (onBoard.length === 0) return;
    const what = onBoard.length === 1 ? single(onBoard[0]) : words.bowlOnBoard(foodsIn(onBoard));
    sentences.push(capitalize(`${what} is on ${words.boards[k]}.`));
  });
  if (front >= 0) {
    const standing = `currently you are standing in front of ${words.boards[front]}`;
    if (hand.length === 0) sentences.push(capitalize(`${standing} without anything in hand.`));
    else if (hand.length === 1) sentences.push(capitalize(`${standing}, carrying ${single(hand[0])} in hand.`));
    else sentences.push(capitalize(`${standing}, carrying a bowl containing chopped ${foodsIn(hand)} in hand.`));
  } else if (hand.length === 0) sentences.push(capitalize("currently you don't have anything in hand."));
  else if (hand.length === 1) sentences.push(capitalize(`currently you are carrying ${single(hand[0])} in hand.`));
  else sentences.push(capitalize(`currently you are carrying a bowl containing chopped ${foodsIn(hand)}.`));
  sentences.push(words.goal);

  const handHasBowl = hand.some((item) => item.isBowl);
  const handUnchoppedFood = hand.length === 1 && !hand[0].isBowl && !hand[0].chopped ? hand[0].raw : null;
  const actions: string[] = [];
  for (const item of items.slice(0, -1)) actions.push(handHasBowl ? `put the ${item.raw} in the bowl` : `pick up the ${item.raw}`);
  const filledBowlSomewhere = hand.length > 1 || boards.some((onBoard) => onBoard.length > 1);
  actions.push(words.takeBowlEmpty !== null && !filledBowlSomewhere ? words.takeBowlEmpty : 'take the bowl');
  for (const board of words.boards) {
    if (handHasBowl) actions.push(`put the bowl on ${board}`);
    else if (handUnchoppedFood !== null) actions.push(`put the ${handUnchoppedFood} on ${board}`);
    else actions.push(`walk to ${board}`);
  }
  actions.push(hand.length > 0 ? 'serve the dish' : 'serve nothing');
  let chop = 'chop nothing';
  boards.forEach((onBoard, k) => {
    if (onBoard.length === 1 && !onBoard[0].isBowl && agentAt(FRONT_CELLS[k])) chop = `chop the ${onBoard[0].raw}`;
  });
  actions.push(chop);
  return { prompt: sentences.join(' '), actions };
}
