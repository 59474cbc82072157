/**
 * Statistical sanity against twosome.md 3.5 and 3.7: a seeded uniform-random macro policy. Spec figures from
 * 300 episodes: Tomato Salad 142/300 successes, mean logged return -0.089; Tomato-Lettuce 2/300, -0.224.
 * Reachable text inventory: 17 sentences / 6 action lists (task 0), 81 / 39 (task 3) in 400 episodes.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import type { OvercookedRender, OvercookedTaskId } from '../types';
import { createOvercookedEnv } from './index';

function randomEpisodes(taskId: OvercookedTaskId, episodes: number, seed: number) {
  const env = createOvercookedEnv(taskId);
  const rng = new Rng(seed);
  const sentences = new Set<string>();
  const actionLists = new Set<string>();
  let successes = 0;
  let returnSum = 0;
  let longest = 0;
  for (let e = 0; e < episodes; e++) {
    env.reset();
    for (;;) {
      const obs = env.observe();
      for (const sentence of obs.prompt.split(/(?<=\.) /)) sentences.add(sentence);
      actionLists.add(obs.actions.join('\n'));
      if (env.done) break;
      const result = env.step(rng.int(env.actionCount()));
      if (result.done) {
        if (result.success) successes++;
        returnSum += result.episodeReturn;
        longest = Math.max(longest, (env.render() as OvercookedRender).primitiveStep);
      }
    }
  }
  return { successRate: successes / episodes, meanReturn: returnSum / episodes, sentences, actionLists, longest };
}

describe('uniform-random macro policy', () => {
  it('Tomato Salad: success about 47%, mean return about -0.089', () => {
    const stats = randomEpisodes('tomato-salad', 600, 2024);
    expect(stats.successRate).toBeGreaterThan(0.35);
    expect(stats.successRate).toBeLessThan(0.6);
    expect(stats.meanReturn).toBeGreaterThan(-0.16);
    expect(stats.meanReturn).toBeLessThan(-0.03);
    // A running macro is never interrupted: failures end a few steps past 200 (a macro takes at most 10).
    expect(stats.longest).toBeGreaterThan(200);
    expect(stats.longest).toBeLessThanOrEqual(209);
  });

  it('Tomato-Lettuce Salad: success under 5%, mean return about -0.224', () => {
    const stats = randomEpisodes('tomato-lettuce-salad', 600, 2024);
    expect(stats.successRate).toBeLessThan(0.05);
    expect(stats.meanReturn).toBeGreaterThan(-0.28);
    expect(stats.meanReturn).toBeLessThan(-0.17);
  });

  it('reaches exactly 17 sentences and 6 action lists in Tomato Salad', () => {
    const stats = randomEpisodes('tomato-salad', 400, 1);
    expect(stats.sentences.size).toBe(17);
    expect(stats.actionLists.size).toBe(6);
  });

  it('reaches 39 action lists and about 81 sentences in Tomato-Lettuce Salad', () => {
    const small = randomEpisodes('tomato-lettuce-salad', 400, 1);
    expect(small.actionLists.size).toBe(39);
    // 400-episode samples find 75 to 82 sentences depending on the seed (81 in the spec's sample).
    expect(small.sentences.size).toBeGreaterThanOrEqual(74);
    expect(small.sentences.size).toBeLessThanOrEqual(82);
    // With many episodes the inventory saturates at 82 sentences (the spec's 400-episode sample found 81).
    const large = randomEpisodes('tomato-lettuce-salad', 5000, 2);
    expect(large.actionLists.size).toBe(39);
    expect(large.sentences.size).toBe(82);
  });
});
