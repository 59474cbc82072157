/**
 * The page's end of a worker, for every API of api.ts: `link.api.<part>.<method>(...)` goes to the host by the
 * method's path (Comlink.wrap<Api> for a Web Worker, a direct call for a host in this thread), so no method is
 * written here. A worker that fails to load, throws an uncaught error or sends an unreadable message rejects
 * every call, pending or later, with a WorkerFailedError that says so, instead of leaving calls hanging; the
 * page hears it through onFailure and can start a fresh worker with restart().
 */
import * as Comlink from 'comlink';
import type { Calls } from './api';

/** Why every call to a worker rejects: it died, failed to load, or was restarted or closed by the page. */
export class WorkerFailedError extends Error {
  constructor(
    readonly worker: string,
    readonly reason: string,
  ) {
    super(`the ${worker} worker stopped: ${reason}`);
    this.name = 'WorkerFailedError';
  }
}

export interface WorkerLink<Api> {
  /** The API: every method returns a promise (see Calls); the object stays the same across restarts. */
  readonly api: Calls<Api>;
  /** Why the current worker failed, or null while it runs. */
  readonly failure: WorkerFailedError | null;
  /** `listener` hears the failure of the current worker and of later ones; returns the unsubscribe. */
  onFailure(listener: (error: WorkerFailedError) => void): () => void;
  /** Marks the worker failed as a crash would (a watchdog, a device lost) and ends it. */
  fail(reason: string): void;
  /**
   * Ends the worker and starts a fresh one: its state is gone (the episode, the loaded model, a run in memory;
   * stored runs stay), calls still pending reject, and calls from now on go to the new one.
   */
  restart(): void;
  /** Ends the worker; every call rejects from now on. */
  dispose(): void;
}

/** What a link needs of a Web Worker (a Worker, or a stand-in over a MessagePort in tests). */
export type WorkerLike = Comlink.Endpoint & { terminate(): void };

/** One started worker: how to call a method by its path, and how to end it. */
interface Connection {
  invoke(path: readonly string[], args: unknown[]): unknown;
  close(): void;
}

/**
 * A link to the worker `start` makes (`name` is for messages: "the playground worker stopped: ..."). Function
 * arguments are passed as Comlink proxies; the host releases them (releaseCallback).
 */
export function connectWorker<Api>(name: string, start: () => WorkerLike): WorkerLink<Api> {
  return createLink<Api>(name, (fail) => {
    const worker = start();
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      const message = (event as Partial<ErrorEvent>).message;
      fail(`${message || 'it could not be loaded'}; reload the page to start it again`);
    });
    worker.addEventListener('messageerror', () => {
      fail('it sent a message that could not be read; reload the page to start it again');
    });
    const remote = Comlink.wrap<Api>(worker);
    return {
      invoke(path, args) {
        // Comlink's proxy forwards any property path; the host resolves it (and rejects an unknown one).
        let method = remote as unknown as Record<string, unknown>;
        for (const key of path) method = method[key] as Record<string, unknown>;
        const wired = args.map((arg) => (typeof arg === 'function' ? Comlink.proxy(arg) : arg));
        return (method as unknown as (...a: unknown[]) => Promise<unknown>)(...wired);
      },
      close() {
        remote[Comlink.releaseProxy]();
        worker.terminate();
      },
    };
  });
}

/**
 * A link to a host in this thread, with the same promises and failure rules as a worker's (tests of the page's
 * stores run the worker's hosts in-process). Arguments and replies are not cloned; restart() reconnects `host`.
 */
export function localLink<Api extends object>(name: string, host: Api): WorkerLink<Api> {
  return createLink<Api>(name, () => ({
    invoke(path, args) {
      let parent: unknown = host;
      for (const key of path.slice(0, -1)) parent = (parent as Record<string, unknown> | undefined)?.[key];
      const method = (parent as Record<string, unknown> | undefined)?.[path[path.length - 1]];
      if (typeof method !== 'function') throw new TypeError(`the ${name} host has no method ${path.join('.')}`);
      return (method as (...a: unknown[]) => unknown).apply(parent, args);
    },
    close() {},
  }));
}

/**
 * The host's end of a callback argument: closes its Comlink channel once the host will not call it again. A
 * plain function (an in-process call) and an already released proxy are left as they are.
 */
export function releaseCallback(callback: unknown): void {
  if (typeof callback !== 'function') return;
  try {
    (callback as Partial<Comlink.Remote<unknown>>)[Comlink.releaseProxy]?.();
  } catch {
    // A released proxy throws on any use: it was released before.
  }
}

function createLink<Api>(name: string, open: (fail: (reason: string) => void) => Connection): WorkerLink<Api> {
  interface Generation {
    connection: Connection | null;
    failure: WorkerFailedError | null;
    /** Rejects with the failure: raced against every call of this generation. */
    failed: Promise<never>;
    reject: (error: WorkerFailedError) => void;
  }
  const listeners = new Set<(error: WorkerFailedError) => void>();
  let current = generation();

  function generation(): Generation {
    let reject: (error: WorkerFailedError) => void = () => {};
    const failed = new Promise<never>((_, r) => (reject = r));
    failed.catch(() => {}); // observed through the races in call()
    const g: Generation = { connection: null, failure: null, failed, reject };
    g.connection = open((reason) => fail(g, reason, true));
    return g;
  }

  function fail(g: Generation, reason: string, notify: boolean): void {
    if (g.failure) return;
    g.failure = new WorkerFailedError(name, reason);
    g.reject(g.failure);
    g.connection?.close();
    if (notify && g === current) for (const listener of [...listeners]) listener(g.failure);
  }

  function call(path: readonly string[], args: unknown[]): Promise<unknown> {
    const g = current;
    if (g.failure) return Promise.reject(g.failure);
    let reply: Promise<unknown>;
    try {
      reply = Promise.resolve(g.connection!.invoke(path, args));
    } catch (error) {
      reply = Promise.reject(error);
    }
    return Promise.race([reply, g.failed]);
  }

  return {
    api: callProxy<Api>(call),
    get failure() {
      return current.failure;
    },
    onFailure(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fail: (reason) => fail(current, reason, true),
    restart() {
      fail(current, 'it was restarted, so this call was not answered', false);
      current = generation();
    },
    dispose: () => fail(current, 'the page closed it', false),
  };
}

/** An object whose every property path, called, is `call(path, args)` (like Comlink's own proxy). */
function callProxy<Api>(call: (path: readonly string[], args: unknown[]) => Promise<unknown>): Calls<Api> {
  const at = (path: readonly string[]): unknown =>
    new Proxy(function () {}, {
      // `then` is not a method: without this, awaiting a part would call the host.
      get: (_, key) => (typeof key === 'string' && key !== 'then' ? at([...path, key]) : undefined),
      apply: (_, __, args: unknown[]) => call(path, args),
    });
  return at([]) as Calls<Api>;
}
