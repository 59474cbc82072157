/** Helpers for the tests that play the environments (src/envs, and rl's tests of whole episodes). */

/**
 * The shortest successful episodes, by action text: Tomato Salad's from shared/spec/data/overcooked-optimal.json
 * (spec 3.5), Food Preparation's and Entertainment's from spec 4.6.
 */
export const OPTIMAL_PLANS: Readonly<Record<'tomato-salad' | 'food-preparation' | 'entertainment', string[]>> = {
  'tomato-salad': [
    'pick up the tomato',
    'put the tomato on the cutting board',
    'chop the tomato',
    'pick up the tomato',
    'take the bowl',
    'serve the dish',
  ],
  'food-preparation': [
    'walk to the pancake',
    'grab the pancake',
    'walk to the microwave',
    'open the microwave',
    'put the pancake in the microwave',
    'close the microwave',
  ],
  entertainment: [
    'walk to the living room',
    'walk to the TV',
    'turn on the TV',
    'walk to the kitchen',
    'walk to the chips',
    'grab the chips',
    'walk to the milk',
    'grab the milk',
    'walk to the living room',
    'walk to the sofa',
    'sit on the sofa',
  ],
};
