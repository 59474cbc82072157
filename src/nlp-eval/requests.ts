/**
 * Questions to scoring requests for LlamaEngine.forwardScores (src/llm/scoring-layout.ts): one request per
 * distinct context of a question, with the continuations of the choices that share it as its "actions". So a
 * standard question is one request (the context runs once and every choice attends to it, as TWOSOME's actions
 * attend to their prompt); a Winogrande question, whose two choices are two contexts with one shared
 * continuation, is two requests of one action each; and a choice whose context had to be truncated differently
 * (encode.ts) gets a request of its own. Several questions go into one call.
 */
import type { ScoringRequest } from '../llm/engine/scoring-layout';
import { encodePair, RequestTokenError, type EncodedPair, type PairTokenizer } from './encode';
import type { Question } from './question';

export interface EncodedQuestion {
  question: Question;
  /** Per choice, its context and continuation tokens. */
  choices: EncodedPair[];
}

export function encodeQuestion(
  tokenizer: PairTokenizer,
  question: Question,
  contextWindow = Infinity,
): EncodedQuestion {
  return {
    question,
    choices: question.choices.map(({ context, continuation }, k) => {
      try {
        return encodePair(tokenizer, context, continuation, contextWindow);
      } catch (error) {
        if (error instanceof RequestTokenError) {
          throw new RequestTokenError(`${question.bench} question ${question.index}, choice ${k}: ${error.message}`);
        }
        throw error;
      }
    }),
  };
}

/** The requests of a batch of questions, and for each request's action the (question, choice) it scores. */
export interface RequestPlan {
  requests: ScoringRequest[];
  /** owners[r][a]: position in the batch of the question, and the choice, that request r's action a scores. */
  owners: { question: number; choice: number }[][];
}

export function planRequests(batch: readonly EncodedQuestion[]): RequestPlan {
  const requests: ScoringRequest[] = [];
  const owners: RequestPlan['owners'] = [];
  batch.forEach(({ choices }, q) => {
    const byContext = new Map<string, number>();
    choices.forEach(({ contextIds, continuationIds }, k) => {
      const key = contextIds.join(',');
      let r = byContext.get(key);
      if (r === undefined) {
        r = requests.length;
        byContext.set(key, r);
        requests.push({ promptTokens: contextIds, actionTokens: [] });
        owners.push([]);
      }
      requests[r].actionTokens.push(continuationIds);
      owners[r].push({ question: q, choice: k });
    });
  });
  return { requests, owners };
}

/** Per request, per action values (token log-probs, token KLs) regrouped per question, per choice. */
export function perChoice<T>(plan: RequestPlan, values: readonly (readonly T[])[], questions: number): T[][] {
  const out: T[][] = Array.from({ length: questions }, () => []);
  plan.owners.forEach((actions, r) => {
    if (values[r]?.length !== actions.length) {
      const got = values[r]?.length ?? 0;
      throw new Error(`scoring returned ${got} actions for request ${r}, expected ${actions.length}`);
    }
    actions.forEach(({ question, choice }, a) => (out[question][choice] = values[r][a]));
  });
  return out;
}
