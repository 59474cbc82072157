/**
 * Building the page's share link for the adapter in use: the `#share=` fragment at a chosen precision (f32,
 * f16, int8), its length against the limit, and what the rounding does to the policy on the current state
 * (scored on the engine with the rounded adapter vs the exact one). When the adapter does not fit, the
 * result says so and how to share it instead (`?adapter=https://...`).
 */
import type { TaskId } from '../envs/types';
import type { Normalization } from '../rl/policy';
import {
  encodeShareLink,
  SHARE_LINK_MAX_CHARS,
  ShareLinkError,
  shareProbabilityError,
  type AdapterWeights,
  type SharePrecision,
} from '../share';

export type ShareLinkResult =
  | {
      status: 'ok';
      url: string;
      chars: number;
      precision: SharePrecision;
      /** Largest |w - w'| of the stored values (0 for f32). */
      maxAbsError: number;
    }
  | { status: 'too-big'; message: string };

/** The page's own address (no query: the link carries the setup) with the fragment. */
export function shareUrl(pageUrl: string, fragment: string): string {
  const url = new URL(pageUrl);
  return `${url.origin}${url.pathname}${fragment}`;
}

export const TOO_BIG_HELP =
  'Share it as a file instead: download the bundle (or adapter_model.safetensors with adapter_config.json), upload it to an https:// host that allows CORS (a Hugging Face model repo works: https://huggingface.co/USER/REPO/resolve/main/adapter_model.safetensors), and share this page with ?adapter=THAT_URL.';

export function buildShareLink(
  weights: AdapterWeights,
  setup: { modelId: string; taskId: TaskId; norm: Normalization; seed: number },
  precision: SharePrecision,
  pageUrl: string,
): { result: ShareLinkResult; roundTrip: AdapterWeights | null } {
  try {
    const encoded = encodeShareLink(
      { modelId: setup.modelId, task: setup.taskId, normalization: setup.norm, seed: setup.seed, weights },
      { precision },
    );
    return {
      result: {
        status: 'ok',
        url: shareUrl(pageUrl, encoded.fragment),
        chars: encoded.chars,
        precision: encoded.precision,
        maxAbsError: encoded.maxAbsError,
      },
      roundTrip: encoded.roundTrip,
    };
  } catch (error) {
    if (!(error instanceof ShareLinkError)) throw error;
    return {
      result: {
        status: 'too-big',
        message: `As ${precision} the adapter does not fit a link (limit ${SHARE_LINK_MAX_CHARS} characters): ${error.detail}.`,
      },
      roundTrip: null,
    };
  }
}

/** Largest change of any action probability (all three normalizations) from exact to rounded weights. */
export async function probabilityError(
  exact: AdapterWeights,
  roundTrip: AdapterWeights,
  probe: (weights: AdapterWeights) => Promise<Record<Normalization, number[]>>,
): Promise<number> {
  return shareProbabilityError(exact, roundTrip, async (w) => {
    const p = await probe(w);
    return [p.word, p.token, p.sum];
  });
}
