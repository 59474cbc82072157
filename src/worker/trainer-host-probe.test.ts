// The training probe in the trainer host, with the fake TWOSOME actor and a fake paired scorer worked out by
// hand (capability-host.test.ts's: base -1 per token, the adapter always picks choice 0, KL the choice's index),
// on real ARC-Easy questions: the schedule, what is stored, a run's other numbers unchanged by its probe, a
// resume after a reload with and without the picked file, the hub as the source, and bad input refused before
// the run starts.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  benchmark,
  evaluateQuestions,
  loadBenchmark,
  memoryDataSource,
  memoryDatasetStore,
  pairedScorer,
  sampleQuestions,
  summarize,
  type PairTokenizer,
  type TokenLogprobScorer,
} from '../nlp-eval';
import { fakeHubFiles, fakeHubRoute } from '../nlp-eval/hub/testing';
import { NEEDS_DATA, NLP_EVAL_DATA } from '../nlp-eval/test-data';
import { IdbRunStore, type RunStore } from '../persist/run-store';
import type { PpoConfig } from '../rl/config';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { CpuCritic } from '../rl/twosome-model';
import { startHostileServer } from '../util/hostile-server';
import { Rng } from '../util/rng';
import type { CapabilityData } from './capability-protocol';
import { TrainerHost, type TrainerHostDeps } from './trainer-host';
import { checkProbeSpec, probeDue, type ProbeModel } from './training-probe';
import type { TrainEvent, TrainMetrics, TrainRequest } from './training-protocol';

let dbCount = 0;
const freshStore = () => IdbRunStore.open(`probe-runs-${++dbCount}`);
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

const chars: PairTokenizer = { bosId: 0, encode: (text) => [...text].map((c) => c.codePointAt(0)!) };
const constant =
  (perToken: (action: number) => number): TokenLogprobScorer =>
  async (requests) =>
    requests.map((r) => r.actionTokens.map((tokens, a) => Float32Array.from(tokens, () => perToken(a))));
const fakePaired = pairedScorer(
  constant(() => -1),
  constant((a) => (a === 0 ? -0.01 : -1)),
  constant((a) => a),
);

function deps(store: Promise<RunStore>): TrainerHostDeps & { log: string[] } {
  const log: string[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>, what = 'gpu') => {
    const run = queue.then(() => {
      log.push(what);
      return work();
    });
    queue = run.catch(() => {});
    return run;
  };
  const probeModel: ProbeModel = {
    async paired() {
      return { tokenizer: chars, contextWindow: 4096, scorer: fakePaired, release: () => log.push('released') };
    },
    exclusive: (work) => exclusive(work, 'probe'),
  };
  return {
    log,
    store,
    async twosomeModels(config: PpoConfig, seeds) {
      const actor = new FakeTwosomeActor();
      const critic = CpuCritic.init(actor.featureDim, config.critic.hiddenSizes, new Rng(seeds.critic), {
        ...ADAM,
        eps: config.adamEps,
      });
      return { models: { actor, critic }, modelId: 'fake' };
    },
    frozenScorer: async () => ({ scorer: (r) => new FakeTwosomeActor().score(r), modelId: 'fake' }),
    loadedModelId: async () => 'fake',
    exclusive: (work) => exclusive(work),
    probeModel,
    benchStore: memoryDatasetStore(),
  };
}

const arcBytes = () => readFileSync(join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl'));
const arcFiles = (): CapabilityData => ({
  kind: 'files',
  files: [{ path: '', file: new File([arcBytes()], 'ARC-Easy-Test.jsonl') }],
});
const RUN = { algo: 'twosome', taskId: 'tomato-salad', preset: 'quick', seed: 2, steps: 64 * 5 } as const;
const PROBE = { bench: 'arc-easy', size: 6, every: 2, seed: 0 };

/** Learning metrics only: timing, throughput and the probe differ between runs. */
const learning = (m: TrainMetrics) => {
  const { timing: _t, tokensPerSecond: _tps, tokens: _tok, probe: _p, ...rest } = m;
  return rest;
};

async function untilStatus(host: TrainerHost, status: string): Promise<void> {
  const start = Date.now();
  while (host.current?.status !== status) {
    if (Date.now() - start > 20_000) throw new Error(`timed out waiting for ${status}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The fake probe's expected result: its sample scored as the capability check scores. */
async function expectedProbe() {
  const source = memoryDataSource({ 'arc_easy/ARC-Easy-Test.jsonl': new Uint8Array(arcBytes()) });
  const questions = sampleQuestions(await loadBenchmark(source, 'arc-easy'), PROBE.size, PROBE.seed);
  const results = await evaluateQuestions(questions, chars, { paired: fakePaired }, { contextWindow: 4096 });
  const s = summarize('arc-easy', results, benchmark('arc-easy').metrics);
  return {
    bench: 'arc-easy',
    n: PROBE.size,
    acc: s.model.acc.mean,
    accNorm: s.model.accNorm!.mean,
    baseAcc: s.base!.acc.mean,
    baseAccNorm: s.base!.accNorm!.mean,
    meanKl: s.meanKl,
  };
}

describe('the probe schedule and its checks', () => {
  it('runs after updates N, 2N, 3N, ...', () => {
    const due = (every: number) => [1, 2, 3, 4, 5, 6, 7].filter((u) => probeDue(u, every));
    expect(due(1)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(due(3)).toEqual([3, 6]);
    expect(probeDue(0, 1)).toBe(false);
  });

  it('a probe request that cannot run is said to be so', () => {
    expect(checkProbeSpec(PROBE, 5)).toBeNull();
    expect(checkProbeSpec({ ...PROBE, bench: 'arc-hard' }, 5)).toMatch(/^the probe's benchmark: .*arc-hard/);
    expect(checkProbeSpec({ ...PROBE, size: 0 }, 5)).toBe(
      "the probe's sample size must be a whole number from 1 to 200, not 0",
    );
    expect(checkProbeSpec({ ...PROBE, every: 0 }, 5)).toMatch(/^the probe's interval must be a whole number/);
    expect(checkProbeSpec({ ...PROBE, every: 6 }, 5)).toBe(
      'a probe every 6 updates never runs: the run has 5 updates; choose 5 or fewer',
    );
  });
});

describe.skipIf(!NLP_EVAL_DATA)(`the training probe in the trainer host${NEEDS_DATA}`, () => {
  it('after updates 2 and 4 of 5, stored with them; the run is the run without a probe', async () => {
    const plain = new TrainerHost(deps(freshStore()));
    await plain.start(RUN);
    await untilStatus(plain, 'done');
    const without = await plain.pause();
    if (without.status !== 'ok') throw new Error(without.message);
    expect(without.metrics.every((m) => m.probe === undefined)).toBe(true);

    const store = freshStore();
    const d = deps(store);
    const host = new TrainerHost(d);
    const events: TrainEvent[] = [];
    const started = await host.start({ ...RUN, probe: { ...PROBE, data: arcFiles() } }, (e) => events.push(e));
    if (started.status !== 'ok') throw new Error(started.message);
    expect(started.run.probe).toEqual({ ...PROBE, title: 'ARC-Easy', source: { kind: 'files' } });
    await untilStatus(host, 'done');
    const reply = await host.pause();
    if (reply.status !== 'ok') throw new Error(reply.message);

    expect(reply.metrics.map(learning)).toEqual(without.metrics.map(learning));
    expect(reply.metrics.map((m) => (m.probe ? m.update : null)).filter((u) => u !== null)).toEqual([2, 4]);
    const expected = await expectedProbe();
    // Not a comparison of zeros: the two models differ on these questions.
    expect(expected.acc).not.toBe(expected.baseAcc);
    expect(expected.meanKl).toBeGreaterThan(0);
    for (const m of reply.metrics.filter((x) => x.probe)) {
      expect(m.probe).toMatchObject(expected);
      expect(m.probe!.seconds).toBeGreaterThanOrEqual(0);
    }
    // Reported with its update, and stored with it (a reload shows it).
    const reported = events.flatMap((e) => (e.type === 'update' && e.metrics.probe ? [e.metrics.update] : []));
    expect(reported).toEqual([2, 4]);
    const s = await store;
    const stored = await s.getMetrics(started.run.id);
    expect(stored.map((m) => m.probe?.acc ?? null)).toEqual([null, expected.acc, null, expected.acc, null]);
    expect((await s.getRun(started.run.id))?.probe).toEqual(started.run.probe);
    // Scored in the GPU queue (one call per batch of 8 questions: one call per probe here), its adapter released.
    expect(d.log.filter((x) => x === 'probe')).toHaveLength(2);
    expect(d.log.filter((x) => x === 'released')).toHaveLength(2);
  });

  it('resumed after a reload: goes on probing with the file picked again, or without it, saying why', async () => {
    for (const picked of [true, false]) {
      const store = freshStore();
      const first = new TrainerHost(deps(store));
      const started = await first.start({ ...RUN, probe: { ...PROBE, data: arcFiles() } });
      if (started.status !== 'ok') throw new Error(started.message);
      while ((first.current?.updates ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
      await first.pause();

      const second = new TrainerHost(deps(store));
      const events: TrainEvent[] = [];
      const resumed = await second.resume(started.run.id, (e) => events.push(e), picked ? arcFiles() : undefined);
      if (resumed.status !== 'ok') throw new Error(resumed.message);
      expect(resumed.metrics[1].probe).toBeDefined(); // the stored probe comes back with the run
      await untilStatus(second, 'done');
      const final = await second.pause();
      if (final.status !== 'ok') throw new Error(final.message);
      expect(final.metrics[3].probe !== undefined).toBe(picked);
      const notices = events.flatMap((e) => (e.type === 'error' ? [e.message] : []));
      expect(notices).toEqual(
        picked
          ? []
          : [
              'the run goes on without its probe: its ARC-Easy file is not picked in this tab. To probe again, ' +
                'pause, pick the file in the Capability check card and resume',
            ],
      );
    }
  });

  it('from the hub: the same probe as from the picked file, and read again from it after a reload', async () => {
    const hub = await startHostileServer(fakeHubRoute(fakeHubFiles(NLP_EVAL_DATA!)));
    try {
      const store = freshStore();
      const first = new TrainerHost(deps(store));
      const data: CapabilityData = { kind: 'hub', endpoint: hub.url };
      const started = await first.start({ ...RUN, probe: { ...PROBE, data } });
      if (started.status !== 'ok') throw new Error(started.message);
      expect(started.run.probe?.source).toEqual({ kind: 'hub', endpoint: hub.url });
      while ((first.current?.updates ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
      await first.pause();

      const second = new TrainerHost(deps(store));
      const events: TrainEvent[] = [];
      const resumed = await second.resume(started.run.id, (e) => events.push(e));
      if (resumed.status !== 'ok') throw new Error(resumed.message);
      await untilStatus(second, 'done');
      const final = await second.pause();
      if (final.status !== 'ok') throw new Error(final.message);
      const expected = await expectedProbe();
      expect(final.metrics.flatMap((m) => (m.probe ? [m.update] : []))).toEqual([2, 4]);
      for (const m of final.metrics.filter((x) => x.probe)) expect(m.probe).toMatchObject(expected);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('a probe without its data, with a bad file, too big, or for PPO-MLP: refused at start', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const start = (request: TrainRequest) => host.start(request);
    expect(await start({ ...RUN, probe: { ...PROBE, data: { kind: 'files', files: [] } } })).toEqual({
      status: 'error',
      message:
        'could not start training: the probe needs the ARC-Easy file: pick it in the Capability check card (or ' +
        'choose the hub there), or turn the probe off',
    });
    const piqa = readFileSync(join(NLP_EVAL_DATA!, 'piqa/valid.jsonl'), 'utf8').split('\n')[0];
    const bad: CapabilityData = {
      kind: 'files',
      files: [{ path: '', file: new File([`${piqa}\n`], 'ARC-Easy-Test.jsonl') }],
    };
    expect(await start({ ...RUN, probe: { ...PROBE, data: bad } })).toEqual({
      status: 'error',
      message:
        "could not start training: the probe's benchmark ARC-Easy could not be read: " +
        'ARC-Easy-Test.jsonl:1: field "id": missing; expected a string',
    });
    const piqaFile: CapabilityData = { kind: 'files', files: [{ path: '', file: new File([`${piqa}\n`], 'x') }] };
    expect(await start({ ...RUN, probe: { ...PROBE, bench: 'piqa', data: piqaFile } })).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^could not start training: the probe's benchmark PIQA could not be read: /),
    });
    const oneLine = new File([`${arcBytes()}`.split('\n')[0]], 'ARC-Easy-Test.jsonl');
    const few: CapabilityData = { kind: 'files', files: [{ path: '', file: oneLine }] };
    expect(await start({ ...RUN, probe: { ...PROBE, data: few } })).toEqual({
      status: 'error',
      message: 'could not start training: the probe asks for 6 questions; ARC-Easy has 1: ask for fewer',
    });
    expect(await start({ ...RUN, probe: { ...PROBE, every: 9, data: arcFiles() } })).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/never runs: the run has 5 updates/),
    });
    expect(await start({ ...RUN, algo: 'ppo-mlp', probe: { ...PROBE, data: arcFiles() } })).toEqual({
      status: 'error',
      message: "could not start training: a probe scores the language model's adapter, which only TWOSOME trains",
    });
    // Nothing started, nothing stored.
    expect(host.current).toBeNull();
    expect(await (await store).listRuns()).toEqual([]);
  });
});
