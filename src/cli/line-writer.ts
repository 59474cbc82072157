import { writeSync } from 'node:fs';

/** Buffers output lines and writes them in large chunks: replaying many episodes prints millions of lines. */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { fd?: number }) {}

  line(text: string): void {
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (this.size > 1 << 20) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    writeAllSync(this.stream, text);
  }
}

/** Writes synchronously where the stream is a file descriptor, so no output is lost at process exit. */
function writeAllSync(stream: NodeJS.WritableStream & { fd?: number }, text: string): void {
  if (typeof stream.fd === 'number') {
    const buffer = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < buffer.length) {
      try {
        offset += writeSync(stream.fd, buffer, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue; // non-blocking pipe full: retry
        if (code === 'EPIPE') return; // reader went away (e.g. `| head`)
        throw error;
      }
    }
    return;
  }
  stream.write(text);
}
