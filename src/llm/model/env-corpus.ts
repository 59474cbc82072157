/**
 * Every text fragment the environments can put in a prompt or an action, as the environments list them
 * (Overcooked: the sentences and labels of obs2text filled in every way; VirtualHome: the prompt pieces and
 * action tables of each task). The micro model's tokenizer gives each word of these texts a whole "▁word"
 * token (or a fixed split into sub-words), so the random test model reads the real prompts the way a LLaMA
 * tokenizer would, without byte fallback.
 *
 * The words' first-seen order is the tokenizer's vocabulary order, and with it the shipped micro model
 * (public/models/micro, reproduced byte for byte by make-model.test.ts): a task whose words are new, or come
 * first at another place, changes that model (regenerate it: public/models/micro/README.md).
 */
import { overcookedTextPieces } from '../../envs/overcooked';
import { virtualHomeTextPieces } from '../../envs/virtualhome';

/** All fragments, Overcooked first. */
export function environmentTexts(): string[] {
  return [...overcookedTextPieces(), ...virtualHomeTextPieces()];
}

/** The distinct words (maximal runs of ASCII letters) of `texts`, in first-seen order. */
export function wordsOf(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const match of text.matchAll(/[A-Za-z]+/g)) seen.add(match[0]);
  return [...seen];
}
