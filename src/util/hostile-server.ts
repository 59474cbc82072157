/**
 * Test helper (Node): a local HTTP server whose routes misbehave on purpose, for the tests of every client
 * that reads from a server: one that stalls (no headers, or half a body and then nothing), lies about the
 * length (Content-Length far from the body), sends an endless body, or serves a web page. Listens on
 * 127.0.0.1 at a port the OS picks; every connection is torn down on close().
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export interface HostileRoute {
  status?: number;
  headers?: Record<string, string>;
  /** The body (default empty). */
  body?: Uint8Array | string;
  /** Content-Length to announce: a number (true or not), or null for none (chunked). Default: the body's. */
  contentLength?: number | null;
  /** Never send the headers. */
  stallHeaders?: boolean;
  /** Send the headers and this many body bytes, then nothing more (the connection stays open). */
  stallAfter?: number;
  /** After the body, keep sending zeros until the client goes away. */
  endless?: boolean;
}

export interface HostileServer {
  /** "http://127.0.0.1:PORT/" */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  /** Body bytes written, over all requests (an endless body stops growing once the client hangs up). */
  bytesSent(): number;
  close(): Promise<void>;
}

export async function startHostileServer(
  route: (path: string, req: IncomingMessage) => HostileRoute | undefined,
): Promise<HostileServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let sent = 0;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    requests.push(path);
    const r = route(path, req);
    if (!r) {
      res.writeHead(404).end('not found');
      return;
    }
    if (r.stallHeaders) return;
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(r.body ?? new Uint8Array(0));
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    const length = r.contentLength === undefined ? (r.endless ? null : body.length) : r.contentLength;
    if (length !== null) headers['Content-Length'] = String(length);
    res.writeHead(r.status ?? 200, headers);
    const part = r.stallAfter === undefined ? body : body.subarray(0, r.stallAfter);
    if (length === body.length && r.stallAfter === undefined && !r.endless) {
      sent += body.length;
      res.end(body);
      return;
    }
    if (length !== null) {
      // A length that is not the body's (or a body cut short): Node's response would refuse to write it, so the
      // bytes go to the socket as they are, and the connection stays open (the client waits for the rest).
      res.flushHeaders();
      sent += part.length;
      res.socket?.write(part);
      return;
    }
    sent += part.length;
    res.write(part);
    if (r.stallAfter !== undefined) return;
    if (!r.endless) {
      res.end();
      return;
    }
    const zeros = Buffer.alloc(64 * 1024);
    const pump = () => {
      while (!res.destroyed && res.socket && !res.socket.destroyed) {
        sent += zeros.length;
        if (!res.write(zeros)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    bytesSent: () => sent,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A hostile server for the tests of one describe block: started before them and closed after; before each test
 * its routes are cleared and its request log emptied, and the test sets the routes it needs. `server` reads
 * the running server (inside the tests).
 */
export function hostileServerPerTest(): { server: HostileServer; routes: Map<string, HostileRoute> } {
  const routes = new Map<string, HostileRoute>();
  let started: HostileServer | undefined;
  beforeAll(async () => {
    started = await startHostileServer((path) => routes.get(path));
  });
  afterAll(() => started?.close());
  beforeEach(() => {
    routes.clear();
    if (started) started.requests.length = 0;
  });
  const running = () => {
    if (!started) throw new Error('the hostile server runs only during the tests of the describe block that made it');
    return started;
  };
  const server: HostileServer = {
    get url() {
      return running().url;
    },
    get requests() {
      return running().requests;
    },
    bytesSent: () => running().bytesSent(),
    close: () => running().close(),
  };
  return { server, routes };
}
