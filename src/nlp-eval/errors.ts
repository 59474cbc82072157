/**
 * A benchmark file that cannot be used as it is: not UTF-8, a line that is not JSON, a missing or mistyped
 * field, a label outside its range, label and data files of different lengths. The message is one line that
 * names the file, the line (1-based, where there is one) and the field, and says what was expected, so the CLI
 * prints it as a user error and the app shows it as is. In a Parquet file (a download from the hub) the place
 * is a row, not a line: "file: row 12: ...".
 */
export class BenchDataError extends Error {
  constructor(
    /** The file as the user named it (path, or a File's name). */
    readonly file: string,
    /** 1-based line (or row) number, or null where the problem is the whole file. */
    readonly line: number | null,
    /** The field at fault (a JSON key, a CSV/TSV column), or null. */
    readonly field: string | null,
    detail: string,
    /** What `line` counts: lines of a text file, or rows of a Parquet file. */
    readonly unit: 'line' | 'row' = 'line',
  ) {
    const place = line === null ? '' : unit === 'row' ? `: row ${line}` : `:${line}`;
    super(`${file}${place}: ${field !== null ? `field "${field}": ` : ''}${detail}`);
    this.name = 'BenchDataError';
  }
}

/**
 * A benchmark download that cannot complete: an HTTP error, a server that keeps failing or stalls, a file of
 * the wrong size or checksum. One line naming the URL and what to do.
 */
export class BenchDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchDownloadError';
  }
}
