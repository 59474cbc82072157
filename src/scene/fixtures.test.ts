/** The hand-written scene fixtures stay faithful to what the environments really render. */
import { describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { overcookedInitial, tomatoPickedUp } from './overcooked.fixtures';
import { entertainmentInitial, foodPreparationInitial } from './virtualhome.fixtures';

function rendered(taskId: string, actions: number[] = []) {
  const env = createEnv(taskId);
  env.reset(0);
  for (const a of actions) env.step(a);
  return env.render();
}

describe('scene fixtures', () => {
  it('match the initial Overcooked renders', () => {
    expect(overcookedInitial('tomato-salad')).toEqual(rendered('tomato-salad'));
    expect(overcookedInitial('tomato-lettuce-salad')).toEqual(rendered('tomato-lettuce-salad'));
  });

  it('match Tomato Salad after "pick up the tomato"', () => {
    expect(tomatoPickedUp).toEqual(rendered('tomato-salad', [0]));
  });

  it('match the initial VirtualHome renders, variants included', () => {
    expect(foodPreparationInitial()).toEqual(rendered('food-preparation'));
    expect(foodPreparationInitial('washing-plate', 'dishes', 'dishwasher')).toEqual(rendered('washing-plate'));
    expect(foodPreparationInitial('laundry', 'clothes', 'washing machine')).toEqual(rendered('laundry'));
    expect(entertainmentInitial()).toEqual(rendered('entertainment'));
  });
});
