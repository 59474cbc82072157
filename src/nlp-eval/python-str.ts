/**
 * The few Python `str` operations the harness's templates use, with Python's semantics where JavaScript's
 * differ: `strip`/`rstrip`/`lstrip` without arguments remove the characters for which `str.isspace()` is true
 * (JavaScript's trim also removes U+FEFF and keeps U+001C..U+001F), `len` counts code points (JavaScript's
 * `length` counts UTF-16 units, 2 for a character outside the BMP), and `capitalize` upper-cases the first
 * character and lower-cases the rest.
 */

// Python's whitespace (str.isspace: bidirectional class WS, B or S, or category Zs), as of Python 3.12.
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING = new RegExp(`[${PY_SPACE}]+$`);

/** Python's `s.strip()`. */
export function pyStrip(s: string): string {
  return pyRstrip(pyLstrip(s));
}

/** Python's `s.lstrip()`. */
export function pyLstrip(s: string): string {
  return s.replace(LEADING, '');
}

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(TRAILING, '');
}

/** Python's `len(s)`: the number of code points. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Python's `s.capitalize()`: the first character upper-cased (Python title-cases it, which differs from upper
 * case only for the four digraph letters such as U+01C6), the rest lower-cased. Note that this lower-cases
 * every later letter: HellaSwag's `ctx_b.capitalize()` turns "the man in the Red shirt" into "The man in the
 * red shirt".
 */
export function pyCapitalize(s: string): string {
  const [first, ...rest] = s;
  return first === undefined ? '' : first.toUpperCase() + rest.join('').toLowerCase();
}
