/**
 * A memo over obsToText: the text depends on the vector only through a few features (where each text item
 * is relative to its home, the boards and the agent; which foods are chopped; which board the agent
 * faces), so those features form a small integer key and each distinct text is built once per process.
 * This keeps observe() and the action label of step() allocation-free after warm-up.
 */
import { COL, FRONT1, FRONT2, INITIAL_POS, KNIFE1, KNIFE2, PLATE, ROW, type TaskLayout } from './layout';
import { agentObsIndex, obsToText, type TextObservation } from './text';

// Where a text item is reported, as far as the text can tell.
const ELSEWHERE = 0;
const AT_HOME = 1;
const ON_BOARD1 = 2;
const ON_BOARD2 = 3;
const IN_HAND = 4;
const LOCATIONS = 5;

const caches = new Map<TaskLayout, (TextObservation | undefined)[]>();

/** The feature key of an observation vector; equal keys give equal obsToText results. */
export function textKey(obs: Float32Array, layout: TaskLayout): number {
  const ai = agentObsIndex(layout);
  const ax = obs[ai];
  const ay = obs[ai + 1];
  // 0 none, 1 in front of (1,1), 2 in front of (2,1).
  let key = ax === ROW[FRONT1] && ay === COL[FRONT1] ? 1 : ax === ROW[FRONT2] && ay === COL[FRONT2] ? 2 : 0;
  let scale = 3;
  const foods = layout.foods;
  for (let i = 0; i <= foods.length; i++) {
    const p = 3 * i;
    const home = INITIAL_POS[i < foods.length ? foods[i] : PLATE];
    const x = obs[p];
    const y = obs[p + 1];
    let where = ELSEWHERE;
    if (x === ax && y === ay) where = IN_HAND;
    else if (x === ROW[home] && y === COL[home]) where = AT_HOME;
    else if (y === COL[KNIFE1] && x === ROW[KNIFE1]) where = ON_BOARD1;
    else if (y === COL[KNIFE2] && x === ROW[KNIFE2]) where = ON_BOARD2;
    key += where * scale;
    scale *= LOCATIONS;
    if (i < foods.length) {
      if (obs[p + 2] === 3) key += scale;
      scale *= 2;
    }
  }
  return key;
}

/** obsToText through the memo. */
export function cachedText(obs: Float32Array, layout: TaskLayout): TextObservation {
  let cache = caches.get(layout);
  if (cache === undefined) {
    const keyCount = 3 * LOCATIONS ** (layout.foods.length + 1) * 2 ** layout.foods.length;
    cache = new Array<TextObservation | undefined>(keyCount).fill(undefined);
    caches.set(layout, cache);
  }
  const key = textKey(obs, layout);
  let text = cache[key];
  if (text === undefined) {
    const built = obsToText(obs, layout);
    text = { prompt: built.prompt, actions: Object.freeze(built.actions.slice()) };
    cache[key] = text;
  }
  return text;
}
