/** The page's share link: the URL it makes, and what it says when an adapter is too large for a link. */
import { describe, expect, it } from 'vitest';
import { adapterWeightsOf, decodeShareLink, SHARE_LINK_MAX_CHARS } from '../share';
import { ALL_TARGETS, MICRO, trainedAdapter } from '../share/testing';
import { buildShareLink, probabilityError, shareUrl } from './share-link';

const setup = { modelId: 'micro', taskId: 'entertainment' as const, norm: 'sum' as const, seed: 12 };

describe('buildShareLink', () => {
  it('makes a link on the page path (query dropped: the link carries the setup) that decodes to the same setup', () => {
    const weights = adapterWeightsOf(
      trainedAdapter(MICRO, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }),
    );
    const { result, roundTrip } = buildShareLink(
      weights,
      setup,
      'f16',
      'https://me.example/twosome/?task=pizza&seed=1#old',
    );
    if (result.status !== 'ok') throw new Error(result.message);
    expect(result.url.startsWith('https://me.example/twosome/#share=')).toBe(true);
    expect(result.chars).toBeLessThanOrEqual(SHARE_LINK_MAX_CHARS);
    expect(result.maxAbsError).toBeGreaterThan(0);
    const decoded = decodeShareLink(result.url);
    expect(decoded).toMatchObject({
      modelId: 'micro',
      task: 'entertainment',
      normalization: 'sum',
      seed: 12,
      precision: 'f16',
    });
    expect(decoded.weights.modules[0].a).toEqual(roundTrip!.modules[0].a);
  });

  it('an adapter too large for any link says so and how to share it instead', () => {
    const big = { hidden: 256, intermediate: 512, heads: 8, kvHeads: 8, headDim: 32, layers: 4 };
    const weights = adapterWeightsOf(trainedAdapter(big, ALL_TARGETS));
    const { result, roundTrip } = buildShareLink(weights, setup, 'int8', 'https://me.example/');
    expect(roundTrip).toBeNull();
    expect(result).toEqual({
      status: 'too-big',
      message: expect.stringMatching(
        /^As int8 the adapter does not fit a link \(limit 32768 characters\): the adapter needs about \d+ characters/,
      ),
    });
  });

  it('shareUrl keeps the sub-path and drops query and fragment', () => {
    expect(shareUrl('http://localhost:5173/a/b/?x=1#y', '#share=AB')).toBe('http://localhost:5173/a/b/#share=AB');
  });

  it('probabilityError is the largest change over all three normalizations', async () => {
    const weights = adapterWeightsOf(trainedAdapter(MICRO, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }));
    const probe = async (w: typeof weights) =>
      w === weights
        ? { word: [0.5, 0.5], token: [0.2, 0.8], sum: [1, 0] }
        : { word: [0.5, 0.5], token: [0.25, 0.75], sum: [0.99, 0.01] };
    expect(await probabilityError(weights, { ...weights }, probe)).toBeCloseTo(0.05, 12);
  });
});
