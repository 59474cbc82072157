// The capability check's host with a fake model whose scores are worked out by hand (one token per character,
// every token's log-prob fixed per choice), on real ARC-Easy questions: picked files and a download from a
// local hub give the same results; progress, cancel, no model, a model replaced meanwhile, a bad file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDatasetStore, type PairTokenizer, type TokenLogprobScorer } from '../nlp-eval';
import { fakeHubFiles, fakeHubRoute } from '../nlp-eval/hub/testing';
import { NEEDS_DATA, NLP_EVAL_DATA } from '../nlp-eval/test-data';
import { startHostileServer, type HostileServer } from '../util/hostile-server';
import { CapabilityHost, type CapabilityModel, type CapabilityScorers } from './capability-host';
import type { CapabilityEvent, CapabilityRequest } from './capability-protocol';

const chars: PairTokenizer = { bosId: 0, encode: (text) => [...text].map((c) => c.codePointAt(0)!) };

/** Every token of choice `a` has log-prob perToken(a). */
const constant =
  (perToken: (action: number) => number): TokenLogprobScorer =>
  async (requests) =>
    requests.map((r) => r.actionTokens.map((tokens, a) => Float32Array.from(tokens, () => perToken(a))));

function fakeModel(patch: Partial<CapabilityScorers> = {}): CapabilityModel & { released: number } {
  const model = {
    released: 0,
    scorers: async () => ({
      modelId: 'fake',
      tokenizer: chars,
      contextWindow: 4096,
      // Base: -1 per character, so the shortest choice wins. Adapter: choice 0 always wins.
      base: constant(() => -1),
      adapted: constant((a) => (a === 0 ? -0.01 : -1)),
      adapterLabel: 'fake adapter',
      isCurrent: () => true,
      release: () => void model.released++,
      ...patch,
    }),
    exclusive: <T>(work: () => Promise<T>) => work(),
  };
  return model;
}

const arcFile = () => {
  const bytes = readFileSync(join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl'));
  return new File([bytes], 'ARC-Easy-Test.jsonl');
};
const fromFiles = (limit = 4): CapabilityRequest => ({
  benches: ['arc-easy'],
  limit,
  data: { kind: 'files', files: [{ path: '', file: arcFile() }] },
});

describe.skipIf(!NLP_EVAL_DATA)(`the capability check in the worker${NEEDS_DATA}`, () => {
  let hub: HostileServer;
  beforeAll(async () => {
    hub = await startHostileServer(fakeHubRoute(fakeHubFiles(NLP_EVAL_DATA!)));
  });
  afterAll(() => hub?.close());

  it('base beside the adapter, paired; the questions they answer differently; progress', async () => {
    const model = fakeModel();
    const events: CapabilityEvent[] = [];
    const reply = await new CapabilityHost(model, memoryDatasetStore()).run(fromFiles(), (e) => events.push(e));
    if (reply.status !== 'done') throw new Error(JSON.stringify(reply));
    expect(reply.adapter).toBe('fake adapter');
    const [arc] = reply.results;
    // ARC-Easy 0-3: gold 0, 1, 3, 3; the shortest choices are 3, 3, 1, 0 (evaluate.test.ts works them out).
    expect(arc).toMatchObject({ bench: 'arc-easy', title: 'ARC-Easy', n: 4, meanKl: null, disagreeing: 3 });
    expect(arc.base.acc.mean).toBe(0);
    expect(arc.adapted!.acc.mean).toBe(0.25);
    expect(arc.difference!.acc.mean).toBe(0.25);
    expect(arc.base.accNorm).not.toBeNull();
    expect(arc.disagreements.map((d) => [d.index, d.gold, d.base, d.adapted])).toEqual([
      [0, 0, 3, 0],
      [1, 1, 3, 0],
      [2, 3, 1, 0],
    ]);
    expect(arc.disagreements[0].context).toMatch(/^Question: .*\nAnswer:$/s);
    expect(arc.disagreements[0].choices).toHaveLength(4);
    expect(events).toEqual([
      { type: 'scoring', bench: 'arc-easy', done: 0, total: 4 },
      { type: 'scoring', bench: 'arc-easy', done: 4, total: 4 },
    ]);
    expect(model.released).toBe(1);
  });

  it('without an adapter: the base model alone', async () => {
    const reply = await new CapabilityHost(fakeModel({ adapted: null, adapterLabel: null })).run(fromFiles());
    if (reply.status !== 'done') throw new Error(JSON.stringify(reply));
    expect(reply.adapter).toBeNull();
    expect(reply.results[0]).toMatchObject({ adapted: null, difference: null, disagreeing: 0, disagreements: [] });
  });

  it('downloaded from the hub: the same results as from the picked file, with download progress', async () => {
    const events: CapabilityEvent[] = [];
    const host = new CapabilityHost(fakeModel(), memoryDatasetStore());
    const request: CapabilityRequest = { benches: ['arc-easy'], limit: 4, data: { kind: 'hub', endpoint: hub.url } };
    const downloaded = await host.run(request, (e) => events.push(e));
    const picked = await host.run(fromFiles());
    if (downloaded.status !== 'done' || picked.status !== 'done') throw new Error('not done');
    expect(downloaded.results).toEqual(picked.results);
    const last = events.filter((e) => e.type === 'download').at(-1);
    expect(last).toMatchObject({ bench: 'arc-easy', filesDone: 2, filesTotal: 2 });
  });

  it('Cancel stops between passes; a second check waits for the first to end', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow: TokenLogprobScorer = async (requests) => {
      await gate;
      return constant(() => -1)(requests);
    };
    const host = new CapabilityHost(fakeModel({ base: slow }));
    const first = host.run(fromFiles(40));
    await new Promise((r) => setTimeout(r, 50));
    expect(await host.run(fromFiles())).toEqual({
      status: 'error',
      message: 'a capability check is already running: cancel it first',
    });
    host.cancel();
    release();
    expect(await first).toEqual({ status: 'cancelled' });
    expect((await host.run(fromFiles())).status).toBe('done');
  });

  it('no model, a model replaced meanwhile, a bad file, a bad request: one-line errors', async () => {
    const none: CapabilityModel = {
      scorers: async () => ({ unavailable: 'no model is loaded; load one first' }),
      exclusive: (work) => work(),
    };
    expect(await new CapabilityHost(none).run(fromFiles())).toEqual({
      status: 'error',
      message: 'no model is loaded; load one first',
    });
    const replaced = await new CapabilityHost(fakeModel({ isCurrent: () => false })).run(fromFiles());
    expect(replaced).toEqual({ status: 'error', message: 'the model changed during the check; run it again' });

    const bad = new File(['{"id": "x"}\n'], 'ARC-Easy-Test.jsonl');
    const request: CapabilityRequest = { ...fromFiles(), data: { kind: 'files', files: [{ path: '', file: bad }] } };
    expect(await new CapabilityHost(fakeModel()).run(request)).toEqual({
      status: 'error',
      message: 'ARC-Easy-Test.jsonl:1: field "question": missing; expected an object',
    });
    const missing = await new CapabilityHost(fakeModel()).run({ ...fromFiles(), benches: ['piqa'] });
    expect(missing).toMatchObject({ status: 'error', message: expect.stringMatching(/piqa\/valid\.jsonl: missing;/) });
    expect(await new CapabilityHost(fakeModel()).run({ ...fromFiles(), limit: 0 })).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^the sample size must be a whole number from 1 to/),
    });
  });
});
