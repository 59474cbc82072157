/** Number formatting for the panels and the CLI. */

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** A reward or return with enough digits to show Overcooked's -0.001 step penalties. */
export function formatReward(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  const text = value.toFixed(4);
  return value > 0 ? `+${text}` : text === '-0.0000' ? '0.0000' : text;
}

/** A probability as a percentage with one decimal ("36.3%"). */
export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return '–';
  return `${(100 * p).toFixed(1)}%`;
}
