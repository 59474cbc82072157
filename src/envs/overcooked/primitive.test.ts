/** One case per row of the A.3 primitive table and of the delivery table (spec environments.md A.3). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERCOOKED_OPTIONS } from './index';
import {
  COUNTER,
  DOWN,
  FLOOR,
  AGENT,
  KNIFE,
  LAYOUTS,
  LEFT,
  NO_ITEM,
  ONION,
  PLATE,
  RIGHT,
  STAY,
  TOMATO,
  UP,
  cellOf,
  LETTUCE,
} from './layout';
import { applyPrimitive, isTerminal } from './primitive';
import { buildState, type Scenario } from './testing';

const rewards = DEFAULT_OVERCOOKED_OPTIONS.rewards;
const STEP = -0.001;

function step(scenario: Scenario, action: number) {
  const s = buildState(scenario);
  const layout = LAYOUTS[scenario.task ?? 'tomato-salad'];
  const reward = applyPrimitive(s, layout, rewards, action);
  return { s, reward };
}

describe('A.3 primitive step', () => {
  it('stay: nothing happens, the step costs the penalty and counts', () => {
    const { s, reward } = step({ envStep: 5 }, STAY);
    expect(reward).toBeCloseTo(STEP, 12);
    expect(s.agent).toBe(cellOf(1, 4));
    expect(s.envStep).toBe(6);
  });

  it('row 1: moving onto floor carries the held plate and its contents', () => {
    const { s, reward } = step({ agent: [2, 2], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }, DOWN);
    expect(reward).toBeCloseTo(STEP, 12);
    expect(s.agent).toBe(cellOf(3, 2));
    expect(s.grid[cellOf(2, 2)]).toBe(FLOOR);
    expect(s.grid[cellOf(3, 2)]).toBe(AGENT);
    expect(s.itemPos[PLATE]).toBe(cellOf(3, 2));
    expect(s.itemPos[TOMATO]).toBe(cellOf(3, 2));
  });

  it('row 2: empty hands take a food or the plate (with its contents); the cell becomes a counter', () => {
    const food = step({ agent: [1, 5] }, UP).s;
    expect(food.holding).toBe(TOMATO);
    expect(food.itemPos[TOMATO]).toBe(cellOf(1, 5));
    expect(food.grid[cellOf(0, 5)]).toBe(COUNTER);
    const plate = step({ agent: [5, 5], plate: ['tomato'], chop: { tomato: 3 } }, DOWN).s;
    expect(plate.holding).toBe(PLATE);
    expect(plate.itemPos[TOMATO]).toBe(cellOf(5, 5));
    expect(plate.grid[cellOf(6, 5)]).toBe(COUNTER);
  });

  describe('row 3: empty hands into a knife', () => {
    it('takes the plate from the knife', () => {
      const { s } = step({ agent: [1, 1], at: { plate: [1, 0] } }, LEFT);
      expect(s.holding).toBe(PLATE);
      expect(s.slot[cellOf(1, 0)]).toBe(NO_ITEM);
      expect(s.grid[cellOf(1, 0)]).toBe(KNIFE);
    });
    it('takes a chopped food', () => {
      const { s } = step({ agent: [1, 1], at: { tomato: [1, 0] }, chop: { tomato: 3 } }, LEFT);
      expect(s.holding).toBe(TOMATO);
      expect(s.itemPos[TOMATO]).toBe(cellOf(1, 1));
    });
    it('chops an unchopped food; the third chop of a task food pays the subtask reward', () => {
      const first = step({ agent: [1, 1], at: { tomato: [1, 0] } }, LEFT);
      expect(first.s.chopCount[TOMATO]).toBe(1);
      expect(first.s.holding).toBe(NO_ITEM);
      expect(first.reward).toBeCloseTo(STEP, 12);
      const third = step({ agent: [1, 1], at: { tomato: [1, 0] }, chop: { tomato: 2 } }, LEFT);
      expect(third.s.isChopped(TOMATO)).toBe(true);
      expect(third.reward).toBeCloseTo(0.2 + STEP, 12);
    });
    it('the onion is not in the task string, so chopping it pays nothing; lettuce does', () => {
      const onion = step(
        { task: 'tomato-lettuce-salad', agent: [2, 1], at: { onion: [2, 0] }, chop: { onion: 2 } },
        LEFT,
      );
      expect(onion.s.chopCount[ONION]).toBe(3);
      expect(onion.reward).toBeCloseTo(STEP, 12);
      const lettuce = step(
        { task: 'tomato-lettuce-salad', agent: [2, 1], at: { lettuce: [2, 0] }, chop: { lettuce: 2 } },
        LEFT,
      );
      expect(lettuce.reward).toBeCloseTo(0.2 + STEP, 12);
    });
    it('an empty knife does nothing', () => {
      const { s, reward } = step({ agent: [1, 1] }, LEFT);
      expect(s.holding).toBe(NO_ITEM);
      expect(reward).toBeCloseTo(STEP, 12);
    });
  });

  it('row 4: empty hands into a counter or the delivery do nothing', () => {
    const counter = step({ agent: [2, 1] }, LEFT).s;
    expect(counter.holding).toBe(NO_ITEM);
    expect(counter.agent).toBe(cellOf(2, 1));
    const delivery = step({ agent: [3, 1] }, LEFT);
    expect(delivery.s.holding).toBe(NO_ITEM);
    expect(delivery.reward).toBeCloseTo(STEP, 12);
  });

  it('row 5: a held item is put on a plain counter, which shows its code', () => {
    const { s } = step({ agent: [2, 1], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }, LEFT);
    expect(s.holding).toBe(NO_ITEM);
    expect(s.grid[cellOf(2, 0)]).toBe(5);
    expect(s.itemPos[PLATE]).toBe(cellOf(2, 0));
    expect(s.itemPos[TOMATO]).toBe(cellOf(2, 0));
  });

  it('row 6: a chopped food goes into the plate lying there; an unchopped one does not', () => {
    const chopped = step({ agent: [5, 5], holding: 'tomato', chop: { tomato: 3 } }, DOWN).s;
    expect(chopped.holding).toBe(NO_ITEM);
    expect(Array.from(chopped.contents.subarray(0, chopped.contentsLen))).toEqual([TOMATO]);
    expect(chopped.itemPos[TOMATO]).toBe(cellOf(6, 5));
    expect(chopped.grid[cellOf(6, 5)]).toBe(5);
    const unchopped = step({ agent: [5, 5], holding: 'tomato', chop: { tomato: 2 } }, DOWN).s;
    expect(unchopped.holding).toBe(TOMATO);
    expect(unchopped.contentsLen).toBe(0);
  });

  describe('row 7: holding an item into a knife', () => {
    it('an empty knife takes the item', () => {
      const { s } = step({ agent: [1, 1], holding: 'tomato' }, LEFT);
      expect(s.slot[cellOf(1, 0)]).toBe(TOMATO);
      expect(s.itemPos[TOMATO]).toBe(cellOf(1, 0));
      expect(s.holding).toBe(NO_ITEM);
    });
    it('a chopped food on the knife goes into the held plate', () => {
      const { s } = step({ agent: [1, 1], holding: 'plate', at: { tomato: [1, 0] }, chop: { tomato: 3 } }, LEFT);
      expect(s.holding).toBe(PLATE);
      expect(s.contentsLen).toBe(1);
      expect(s.itemPos[TOMATO]).toBe(cellOf(1, 1));
      expect(s.slot[cellOf(1, 0)]).toBe(NO_ITEM);
    });
    it('an unchopped food on the knife stays, the plate stays in hand', () => {
      const { s } = step({ agent: [1, 1], holding: 'plate', at: { tomato: [1, 0] }, chop: { tomato: 1 } }, LEFT);
      expect(s.holding).toBe(PLATE);
      expect(s.contentsLen).toBe(0);
      expect(s.slot[cellOf(1, 0)]).toBe(TOMATO);
    });
    it('a held chopped food goes into the plate on the knife and the agent takes the plate', () => {
      const { s } = step({ agent: [1, 1], holding: 'tomato', chop: { tomato: 3 }, at: { plate: [1, 0] } }, LEFT);
      expect(s.holding).toBe(PLATE);
      expect(s.slot[cellOf(1, 0)]).toBe(NO_ITEM);
      expect(s.itemPos[PLATE]).toBe(cellOf(1, 1));
      expect(s.itemPos[TOMATO]).toBe(cellOf(1, 1));
      expect(s.contentsLen).toBe(1);
    });
    it('other combinations do nothing', () => {
      const unchoppedOnPlate = step({ agent: [1, 1], holding: 'tomato', at: { plate: [1, 0] } }, LEFT).s;
      expect(unchoppedOnPlate.holding).toBe(TOMATO);
      expect(unchoppedOnPlate.slot[cellOf(1, 0)]).toBe(PLATE);
      const foodOnFood = step(
        {
          task: 'tomato-lettuce-salad',
          agent: [1, 1],
          holding: 'lettuce',
          chop: { lettuce: 3 },
          at: { tomato: [1, 0] },
        },
        LEFT,
      ).s;
      expect(foodOnFood.holding).toBe(LETTUCE);
      expect(foodOnFood.slot[cellOf(1, 0)]).toBe(TOMATO);
    });
  });

  describe('row 8: delivery table', () => {
    it('the right dish is delivered: +1, terminal, the plate lies on the delivery', () => {
      const { s, reward } = step({ agent: [3, 1], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }, LEFT);
      expect(reward).toBeCloseTo(1 + STEP, 12);
      expect(s.delivered).toBe(true);
      expect(isTerminal(s, 200)).toBe(true);
      expect(s.holding).toBe(NO_ITEM);
      expect(s.itemPos[PLATE]).toBe(cellOf(3, 0));
      expect(s.itemPos[TOMATO]).toBe(cellOf(3, 0));
    });
    it('a wrong dish: -0.1, plate and foods go home, foods unchopped', () => {
      const { s, reward } = step(
        { task: 'tomato-lettuce-salad', agent: [3, 1], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } },
        LEFT,
      );
      expect(reward).toBeCloseTo(-0.1 + STEP, 12);
      expect(s.delivered).toBe(false);
      expect(s.holding).toBe(NO_ITEM);
      expect(s.contentsLen).toBe(0);
      expect(s.itemPos[PLATE]).toBe(cellOf(6, 5));
      expect(s.grid[cellOf(6, 5)]).toBe(5);
      expect(s.itemPos[TOMATO]).toBe(cellOf(0, 5));
      expect(s.grid[cellOf(0, 5)]).toBe(3);
      expect(s.chopCount[TOMATO]).toBe(0);
    });
    it('three foods in the plate make a wrong dish too', () => {
      const { s, reward } = step(
        {
          task: 'tomato-lettuce-salad',
          agent: [3, 1],
          holding: 'plate',
          plate: ['lettuce', 'onion', 'tomato'],
          chop: { tomato: 3, lettuce: 3, onion: 3 },
        },
        LEFT,
      );
      expect(reward).toBeCloseTo(-0.1 + STEP, 12);
      expect(s.itemPos[ONION]).toBe(cellOf(2, 6));
      expect(s.grid[cellOf(2, 6)]).toBe(8);
      expect(s.grid[cellOf(1, 6)]).toBe(4);
    });
    it('an empty plate: -0.1, the plate goes home', () => {
      const { s, reward } = step({ agent: [3, 1], holding: 'plate' }, LEFT);
      expect(reward).toBeCloseTo(-0.1 + STEP, 12);
      expect(s.itemPos[PLATE]).toBe(cellOf(6, 5));
      expect(s.holding).toBe(NO_ITEM);
    });
    it('a bare food: -0.1, it goes home unchopped', () => {
      const { s, reward } = step({ agent: [3, 1], holding: 'tomato', chop: { tomato: 3 } }, LEFT);
      expect(reward).toBeCloseTo(-0.1 + STEP, 12);
      expect(s.itemPos[TOMATO]).toBe(cellOf(0, 5));
      expect(s.chopCount[TOMATO]).toBe(0);
      expect(s.grid[cellOf(0, 5)]).toBe(3);
    });
    it('resets overwrite the code of the home cell whatever lies there', () => {
      // The plate sits on the tomato's home; delivering the tomato writes the tomato code over it.
      const { s } = step({ agent: [3, 1], holding: 'tomato', at: { plate: [0, 5] } }, LEFT);
      expect(s.grid[cellOf(0, 5)]).toBe(3);
      expect(s.itemPos[PLATE]).toBe(cellOf(0, 5));
    });
  });

  describe('row 9: holding an item into a food cell', () => {
    it('a held plate takes a chopped food from a counter; the counter empties', () => {
      const { s } = step({ agent: [1, 5], holding: 'plate', chop: { tomato: 3 } }, UP);
      expect(s.contentsLen).toBe(1);
      expect(s.itemPos[TOMATO]).toBe(cellOf(1, 5));
      expect(s.grid[cellOf(0, 5)]).toBe(COUNTER);
    });
    it('an unchopped food is left alone, and a held food never takes one', () => {
      const unchopped = step({ agent: [1, 5], holding: 'plate' }, UP).s;
      expect(unchopped.contentsLen).toBe(0);
      expect(unchopped.grid[cellOf(0, 5)]).toBe(3);
      const food = step({ task: 'tomato-lettuce-salad', agent: [1, 5], holding: 'lettuce', chop: { tomato: 3 } }, UP).s;
      expect(food.holding).toBe(LETTUCE);
      expect(food.itemPos[TOMATO]).toBe(cellOf(0, 5));
    });
  });

  it('the step is terminal once envStep reaches the horizon', () => {
    const { s } = step({ envStep: 199 }, RIGHT);
    expect(s.envStep).toBe(200);
    expect(isTerminal(s, 200)).toBe(true);
    expect(isTerminal(s, 201)).toBe(false);
  });
});
