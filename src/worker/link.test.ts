/**
 * The generic link (link.ts) over a real Comlink channel (a MessageChannel standing in for the Worker) and in
 * process: calls by path, union replies, callbacks, thrown errors, and a worker that fails or is restarted.
 */
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { connectWorker, localLink, releaseCallback, WorkerFailedError, type WorkerLike, type WorkerLink } from './link';

/** A small API of the shape api.ts declares: parts, sync and async methods, a callback, a union reply. */
interface TestApi {
  math: {
    add(a: number, b: number): number;
    slowly(ms: number): Promise<string>;
    count(to: number, onTick: (n: number) => void): Promise<number>;
  };
  lookup(key: string): { status: 'ok'; value: number } | { status: 'missing'; reason: string };
  fail(message: string): void;
}

class TestHost implements TestApi {
  readonly generation: number;
  constructor(generation: number) {
    this.generation = generation;
  }
  math = {
    add: (a: number, b: number) => a + b,
    slowly: (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('late'), ms)),
    count: async (to: number, onTick: (n: number) => void) => {
      for (let n = 1; n <= to; n++) await onTick(n);
      releaseCallback(onTick);
      return to;
    },
  };
  lookup(key: string): ReturnType<TestApi['lookup']> {
    return key === 'one' ? { status: 'ok', value: this.generation } : { status: 'missing', reason: `no ${key}` };
  }
  fail(message: string): void {
    throw new Error(message);
  }
}

/** A Worker stand-in: the page's end of a MessageChannel whose other end exposes a fresh TestHost. */
function fakeWorker(generation: number, started: FakeWorker[]): WorkerLike {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(new TestHost(generation), port2);
  const worker = Object.assign(port1, {
    terminated: false,
    terminate() {
      worker.terminated = true;
      port1.close();
      port2.close();
    },
  });
  started.push(worker);
  return worker;
}
type FakeWorker = MessagePort & { terminated: boolean };

/** An uncaught error in the worker, as the page's Worker object reports it. */
function crash(worker: FakeWorker, message?: string): void {
  const event = new Event('error', { cancelable: true });
  if (message !== undefined) Object.assign(event, { message });
  worker.dispatchEvent(event);
}

describe('connectWorker', () => {
  const links: WorkerLink<TestApi>[] = [];
  afterEach(() => {
    for (const link of links.splice(0)) link.dispose();
  });
  const connect = () => {
    const started: FakeWorker[] = [];
    let generation = 0;
    const link = connectWorker<TestApi>('test', () => fakeWorker(++generation, started));
    links.push(link);
    return { link, started };
  };
  /** A link whose worker crashes with `message` while a slow call is pending; the failures its listener heard. */
  const crashedWhileCalled = (message: string) => {
    const { link, started } = connect();
    const heard: WorkerFailedError[] = [];
    link.onFailure((error) => heard.push(error));
    const pending = link.api.math.slowly(60_000);
    crash(started[0], message);
    return { link, started, heard, pending };
  };

  it('calls methods by path, sync and async, and keeps union replies as they are', async () => {
    const { link } = connect();
    expect(await link.api.math.add(2, 3)).toBe(5);
    expect(await link.api.lookup('one')).toEqual({ status: 'ok', value: 1 });
    const missing = await link.api.lookup('two');
    expect(missing.status === 'missing' && missing.reason).toBe('no two');
  });

  it('passes function arguments as callbacks the host can call and release', async () => {
    const { link } = connect();
    const ticks: number[] = [];
    expect(await link.api.math.count(3, (n) => void ticks.push(n))).toBe(3);
    expect(ticks).toEqual([1, 2, 3]);
  });

  it('rejects with the host error for a throwing method, and the link goes on', async () => {
    const { link } = connect();
    await expect(link.api.fail('bad input: give a number')).rejects.toThrow('bad input: give a number');
    expect(await link.api.math.add(1, 1)).toBe(2);
    expect(link.failure).toBeNull();
  });

  it('a worker error rejects pending and later calls with a clear message, tells listeners, ends it', async () => {
    const { link, started, heard, pending } = crashedWhileCalled('Uncaught Error: device lost');
    const message = 'the test worker stopped: Uncaught Error: device lost; reload the page to start it again';
    await expect(pending).rejects.toThrow(message);
    await expect(link.api.math.add(1, 2)).rejects.toBeInstanceOf(WorkerFailedError);
    expect(link.failure?.message).toBe(message);
    expect(heard.map((e) => e.message)).toEqual([message]);
    expect(started[0].terminated).toBe(true);
  });

  it('a worker that could not be loaded says so', async () => {
    const { link, started } = connect();
    crash(started[0]);
    await expect(link.api.math.add(1, 2)).rejects.toThrow('the test worker stopped: it could not be loaded');
  });

  it('restart() ends the worker and calls go to a fresh one', async () => {
    const { link, started, heard, pending } = crashedWhileCalled('boom');
    await expect(pending).rejects.toThrow(/boom/);
    const api = link.api;
    link.restart();
    expect(link.failure).toBeNull();
    expect(link.api).toBe(api); // stores keep the object they were given
    expect(await api.lookup('one')).toEqual({ status: 'ok', value: 2 });
    expect(started).toHaveLength(2);
    const cut = api.math.slowly(60_000);
    link.restart();
    await expect(cut).rejects.toThrow('the test worker stopped: it was restarted, so this call was not answered');
    expect(started[1].terminated).toBe(true);
    expect(await api.lookup('one')).toEqual({ status: 'ok', value: 3 });
    crash(started[2], 'again');
    expect(heard.map((e) => e.reason)).toEqual([
      'boom; reload the page to start it again',
      'again; reload the page to start it again',
    ]);
  });

  it('dispose() ends the worker; calls reject', async () => {
    const { link, started } = connect();
    link.dispose();
    expect(started[0].terminated).toBe(true);
    await expect(link.api.math.add(1, 2)).rejects.toThrow('the test worker stopped: the page closed it');
  });
});

describe('localLink', () => {
  it('answers in this thread with the same promises and failure rules', async () => {
    const host = new TestHost(7);
    const link = localLink<TestApi>('test', host);
    expect(await link.api.math.add(2, 3)).toBe(5);
    expect(await link.api.lookup('one')).toEqual({ status: 'ok', value: 7 });
    const ticks: number[] = [];
    expect(await link.api.math.count(2, (n) => void ticks.push(n))).toBe(2);
    expect(ticks).toEqual([1, 2]);
    await expect(link.api.fail('no')).rejects.toThrow('no');
    await expect((link.api as unknown as { nothing(): Promise<void> }).nothing()).rejects.toThrow(
      'the test host has no method nothing',
    );
    const pending = link.api.math.slowly(60_000);
    link.fail('it crashed');
    await expect(pending).rejects.toThrow('the test worker stopped: it crashed');
    await expect(link.api.math.add(1, 1)).rejects.toThrow('the test worker stopped: it crashed');
    link.restart();
    expect(await link.api.math.add(1, 1)).toBe(2);
  });

  it('awaiting a part does not call the host', async () => {
    const link = localLink<TestApi>('test', new TestHost(1));
    const part = await Promise.resolve(link.api.math);
    expect(await part.add(1, 2)).toBe(3);
  });
});
