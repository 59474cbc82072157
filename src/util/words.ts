/**
 * TWOSOME's word count of an action text, Python's `len(text.split())`: runs of whitespace separate words and
 * leading/trailing whitespace is ignored (the W_k of word normalization, spec section 1.1).
 */
export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}
