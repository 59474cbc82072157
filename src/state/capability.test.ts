// The capability slice against a worker host run in-process (a fake CapabilityApi): the form, picked files, the
// request it sends, progress, the results, Cancel and errors.
import { describe, expect, it } from 'vitest';
import type { CapabilityApi } from '../worker/api';
import type { CapabilityEvent, CapabilityReply, CapabilityRequest } from '../worker/capability-protocol';
import { localLink } from '../worker/link';
import { createAppStore } from './store';

const DONE: CapabilityReply = { status: 'done', modelId: 'micro', adapter: null, results: [], ms: 5 };

/** A host that answers with `reply` after reporting `events`; `hold` keeps it running until cancel(). */
function fakeHost(reply: CapabilityReply, events: CapabilityEvent[] = [], hold = false) {
  const requests: CapabilityRequest[] = [];
  let stop: () => void = () => {};
  const host: CapabilityApi = {
    async run(request, onEvent) {
      requests.push(request);
      events.forEach((e) => onEvent?.(e));
      if (hold) await new Promise<void>((resolve) => (stop = resolve));
      return hold ? { status: 'cancelled' } : reply;
    },
    cancel: () => stop(),
  };
  return { host, requests };
}

function storeWith(host: CapabilityApi) {
  const app = createAppStore();
  app.getState().capability.attach(localLink<CapabilityApi>('capability', host).api);
  return () => app.getState().capability;
}

describe('capability slice', () => {
  it('sends the form as a request; the results and the last progress come back', async () => {
    const scoring: CapabilityEvent = { type: 'scoring', bench: 'piqa', done: 8, total: 8 };
    const { host, requests } = fakeHost(DONE, [scoring]);
    const state = storeWith(host);
    state().toggleBench('piqa');
    state().toggleBench('arc-easy');
    state().toggleBench('mmlu');
    state().setForm({ limit: 20, endpoint: ' http://127.0.0.1:9/ ' });
    await state().run();
    expect(requests).toEqual([
      { benches: ['piqa', 'mmlu'], limit: 20, data: { kind: 'hub', endpoint: 'http://127.0.0.1:9/' } },
    ]);
    expect(state()).toMatchObject({ phase: 'done', result: DONE, error: null, progress: null });
  });

  it('picked files go with their folder paths, and switch the source to them', async () => {
    const { host, requests } = fakeHost(DONE);
    const state = storeWith(host);
    const single = new File(['x'], 'ARC-Easy-Test.jsonl');
    state().pickFiles([single]);
    expect(state().form.source).toBe('files');
    await state().run();
    expect(requests[0].data).toEqual({ kind: 'files', files: [{ path: '', file: single }] });
  });

  it('Cancel: phase cancelling, then cancelled; errors are shown as they come', async () => {
    const held = fakeHost(DONE, [], true);
    const state = storeWith(held.host);
    const running = state().run();
    await Promise.resolve();
    expect(state().phase).toBe('running');
    await state().cancel();
    await running;
    expect(state().phase).toBe('cancelled');

    const failing = storeWith(fakeHost({ status: 'error', message: 'no model is loaded' }).host);
    await failing().run();
    expect(failing()).toMatchObject({ phase: 'error', error: 'no model is loaded' });

    const app = createAppStore();
    await app.getState().capability.run();
    expect(app.getState().capability.error).toMatch(/the worker did not start/);
  });
});
