/**
 * Text from a file, a URL, a server or a checkpoint, made safe to print on a terminal. Bidirectional
 * overrides and isolates (U+202A-202E, U+2066-2069) are removed: they make a line display differently from
 * what it holds ("Trojan Source"), e.g. a file name that reads as another. Other control characters (an
 * escape sequence could move the cursor or retitle the window) are shown as \xNN. Platform-neutral.
 */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string, options: { keepNewlines?: boolean } = {}): string {
  const hex = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const flat = options.keepNewlines ? text : text.replace(/\n/g, ' ');
  return flat.replace(BIDI, '').replace(CONTROL, hex);
}

/** JSON for a terminal: bidirectional controls escaped as \uXXXX (the same JSON value, displayed as it is). */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
