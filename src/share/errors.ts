/**
 * Typed errors of the adapter formats. Every message names the file (or "share link") and says what is wrong
 * and what to do, on one line, so the CLI can print it as is (exit 2) and the app can show it.
 */

/** One line: control characters (newlines included) become spaces, and very long messages are cut. */
export function oneLine(text: string, max = 600): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A value from a file, quoted for a message: JSON-quoted (no control characters) and cut short. */
export function quote(value: unknown, max = 60): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * An adapter file (adapter_config.json, a safetensors file, a bundle) that cannot be used: malformed,
 * truncated, inconsistent, too large, or not for the model in use. Nothing was loaded.
 */
export class AdapterFormatError extends Error {
  constructor(
    /** The file at fault, as the caller named it (e.g. "adapter_model.safetensors", "run.zip:critic.safetensors"). */
    readonly file: string,
    readonly detail: string,
  ) {
    super(oneLine(`${file}: ${detail}`));
    this.name = 'AdapterFormatError';
  }
}

/**
 * A `#share=` link that cannot be used (labelled "share link: ..."), or, as AdapterUrlError, an adapter URL
 * (`?adapter=`, the Adapter card's Load URL). Nothing was loaded.
 */
export class ShareLinkError extends Error {
  constructor(
    readonly detail: string,
    /** What the message names: the link, or the adapter URL. */
    readonly subject: 'share link' | 'adapter URL' = 'share link',
  ) {
    super(oneLine(`${subject}: ${detail}`));
    this.name = 'ShareLinkError';
  }
}

/** An adapter URL that is refused (scheme, origin, length) or whose download failed: "adapter URL: ...". */
export class AdapterUrlError extends ShareLinkError {
  constructor(detail: string) {
    super(detail, 'adapter URL');
    this.name = 'AdapterUrlError';
  }
}
