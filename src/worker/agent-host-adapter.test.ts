/** The worker's adapter slot (setAdapter / currentAdapter / loadAdapterWeights / probeAdapter) with a fake scorer. */
import { describe, expect, it } from 'vitest';
import type { GpuLora, LoraHandle } from '../llm/train/gpu-lora';
import { initLoraAdapter, type LoraAdapter } from '../llm/train/lora';
import { adapterWeightsOf, type AdapterModelShape } from '../share/adapter';
import { AdapterFormatError } from '../share/errors';
import { Rng } from '../util/rng';
import { AgentHost, type ScorerLoader } from './agent-host';
import { FAKE_MODEL_SHAPE, fakeLoader } from './fake-scorer';
import type { ScoresReply } from './protocol';

const MICRO = { id: 'micro', label: 'micro', url: 'http://localhost/models/micro/' };

function ok(reply: ScoresReply) {
  if (reply.status !== 'ok') throw new Error(`expected scores, got ${JSON.stringify(reply)}`);
  return reply.scores;
}

/** A trained-looking adapter: B nonzero (a fresh one has B = 0 and changes nothing). */
function trained(seed = 3, shape: AdapterModelShape = FAKE_MODEL_SHAPE): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initLoraAdapter(shape, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.next() - 0.5;
  return adapter;
}

async function readyHost(calls?: string[]) {
  const host = new AgentHost(fakeLoader({ calls }));
  await host.loadModel(MICRO);
  const view = host.reset('tomato-salad', 0);
  const frozen = ok(await host.scores(view.stepId));
  return { host, view, frozen };
}

describe('AgentHost adapter slot', () => {
  it('scores the current state again with the adapter, and later states too; null goes back to the frozen model', async () => {
    const { host, view, frozen } = await readyHost();
    expect(host.currentAdapter()).toBeNull();
    await host.setAdapter(trained(), 'run 1');
    const adapted = ok(await host.scores(view.stepId));
    expect(adapted.lora).toBe('run 1');
    expect(adapted.policy.word).not.toEqual(frozen.policy.word);
    expect(host.currentAdapter()?.label).toBe('run 1');
    expect(host.adapterInfo()).toMatchObject({
      label: 'run 1',
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj'],
      layers: 2,
      baseModel: null,
    });

    const next = host.step(0);
    expect(ok(await host.scores(next.stepId)).lora).toBe('run 1');

    await host.setAdapter(null, '');
    expect(host.currentAdapter()).toBeNull();
    const back = host.reset('tomato-salad', 0);
    const again = ok(await host.scores(back.stepId));
    expect(again.lora).toBeUndefined();
    expect(again.policy.word).toEqual(frozen.policy.word);
  });

  it('every swap gets a new version, also under the same label (training updates), and the scores carry it', async () => {
    const { host, view } = await readyHost();
    await host.setAdapter(trained(1), 'training');
    const first = host.adapterInfo()!.version;
    expect(ok(await host.scores(view.stepId)).loraVersion).toBe(first);
    await host.setAdapter(trained(2), 'training');
    const second = host.adapterInfo()!.version;
    expect(second).not.toBe(first);
    expect(ok(await host.scores(view.stepId)).loraVersion).toBe(second);
  });

  it("keeps a private copy: changing the caller's arrays afterwards changes nothing", async () => {
    const { host, view } = await readyHost();
    const adapter = trained();
    await host.setAdapter(adapter, 'copy');
    const before = ok(await host.scores(view.stepId)).policy.word;
    adapter.modules[0].b.fill(3);
    const held = host.currentAdapter()!;
    expect(held.adapter.modules[0].b[0]).not.toBe(3);
    held.adapter.modules[0].b.fill(5); // the returned copy is the caller's too
    expect(host.currentAdapter()!.adapter.modules[0].b[0]).not.toBe(5);
    await host.setAdapter(host.currentAdapter()!.adapter, 'copy');
    expect(ok(await host.scores(view.stepId)).policy.word).toEqual(before);
  });

  it('rejects adapters that do not fit the model, naming the problem, and changes nothing', async () => {
    const { host, view } = await readyHost();
    await host.setAdapter(trained(1), 'good');
    const good = ok(await host.scores(view.stepId));

    const wide = trained(2, { ...FAKE_MODEL_SHAPE, hidden: 96 });
    await expect(host.setAdapter(wide, 'wide.safetensors')).rejects.toThrow(
      /wide\.safetensors: .*q_proj is 64 x 96 in the adapter .* but 64 x 64 in micro/,
    );
    const deep = trained(2, { ...FAKE_MODEL_SHAPE, layers: 3 });
    await expect(host.setAdapter(deep, 'deep')).rejects.toThrow(/3 layers but micro has 2/);
    const nan = trained(2);
    nan.modules[1].a[5] = Number.NaN;
    await expect(host.setAdapter(nan, 'nan')).rejects.toThrow(/layer 0 v_proj lora_A element 5 is NaN/);
    const short = trained(2);
    short.modules[2] = { ...short.modules[2], b: new Float32Array(3) };
    await expect(host.setAdapter(short, 'short')).rejects.toBeInstanceOf(AdapterFormatError);
    await expect(host.setAdapter({} as LoraAdapter, 'junk')).rejects.toThrow(/junk: not a LoRA adapter/);

    expect(host.currentAdapter()?.label).toBe('good');
    const after = ok(await host.scores(view.stepId));
    expect(after.lora).toBe('good');
    expect(after.policy).toEqual(good.policy);
  });

  it('needs a loaded model, and a model change drops the adapter', async () => {
    const host = new AgentHost(fakeLoader());
    await expect(host.setAdapter(trained(), 'early')).rejects.toThrow(/no model is loaded/);
    await host.loadModel(MICRO);
    await host.setAdapter(trained(), 'a');
    await host.loadModel({ ...MICRO, id: 'other', label: 'other' });
    expect(host.currentAdapter()).toBeNull();
    const r = host.reset('tomato-salad', 0);
    expect(ok(await host.scores(r.stepId)).lora).toBeUndefined();
  });

  it('waits for a model that is still loading', async () => {
    const host = new AgentHost(fakeLoader({ delayMs: 10 }));
    void host.loadModel(MICRO);
    await host.setAdapter(trained(), 'after load');
    expect(host.currentAdapter()?.label).toBe('after load');
  });

  it('loads decoded weights, refusing a file trained on another base model', async () => {
    const { host, view } = await readyHost();
    const weights = adapterWeightsOf(trained());
    await expect(
      host.loadAdapterWeights(weights, 'adapter_model.safetensors', 'meta-llama/Llama-2-7b-chat-hf'),
    ).rejects.toThrow(/trained on "meta-llama\/Llama-2-7b-chat-hf" but the model in use is "micro"/);
    expect(host.currentAdapter()).toBeNull();
    // A link made for another model is refused on this one even though its shapes fit.
    await expect(
      host.loadAdapterWeights(weights, 'shared link (f32)', undefined, [], 'SmolLM2-135M-Instruct-q0f32-MLC'),
    ).rejects.toThrow(
      'shared link (f32) is for the model "SmolLM2-135M-Instruct-q0f32-MLC", but "micro" is loaded; ' +
        'it is only used on its own model',
    );
    expect(host.currentAdapter()).toBeNull();
    const info = await host.loadAdapterWeights(weights, 'adapter_model.safetensors', 'micro', [
      'lora_dropout 0.05 is ignored',
    ]);
    expect(info).toMatchObject({
      label: 'adapter_model.safetensors',
      baseModel: 'micro',
      warnings: ['lora_dropout 0.05 is ignored'],
      parameters: 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4),
    });
    expect(ok(await host.scores(view.stepId)).lora).toBe('adapter_model.safetensors');
  });

  it('probes other weights on the current state without changing what is in use', async () => {
    const { host, view, frozen } = await readyHost();
    const adapter = trained();
    await host.setAdapter(adapter, 'in use');
    const inUse = ok(await host.scores(view.stepId));
    const probedSame = await host.probeAdapter(view.stepId, adapterWeightsOf(adapter));
    expect(probedSame).toEqual(inUse.policy);
    expect(await host.probeAdapter(view.stepId, null)).toEqual(frozen.policy);
    expect(host.currentAdapter()?.label).toBe('in use');
    expect(ok(await host.scores(view.stepId)).policy).toEqual(inUse.policy);
    host.step(0);
    await expect(host.probeAdapter(view.stepId, null)).rejects.toThrow(/no longer current/);
  });

  it('a scoring call queued before the swap is answered with the adapter the scorer held, and the new state is re-scored', async () => {
    const calls: string[] = [];
    const { host } = await readyHost(calls);
    const r = host.step(0); // starts scoring in the background
    const before = host.scores(r.stepId);
    const swap = host.setAdapter(trained(), 'late');
    expect(ok(await before).lora).toBeUndefined(); // queued first: the frozen model's scores, labelled so
    await swap;
    expect(ok(await host.scores(r.stepId)).lora).toBe('late');
  });
});

describe("AgentHost with the trainer's adapter on the GPU (a live handle)", () => {
  /** A handle that counts its releases (the scorer's or the host's). */
  function handle(): LoraHandle & { released: number } {
    const h = { lora: {} as GpuLora, released: 0, release: () => void h.released++ };
    return h;
  }

  /** Fake scorers that record the handle each setAdapter hands them (and keep it: they stand for the engine's). */
  function recordingLoader(seen: (LoraHandle | undefined)[]): ScorerLoader {
    const load = fakeLoader();
    return async (spec, onProgress) => {
      const loaded = await load(spec, onProgress);
      const setAdapter = loaded.scorer.setAdapter.bind(loaded.scorer);
      loaded.scorer.setAdapter = async (adapter, live) => {
        seen.push(live);
        await setAdapter(adapter);
      };
      return loaded;
    };
  }

  it('goes to the scorer with the adapter: the host neither keeps nor releases it', async () => {
    const seen: (LoraHandle | undefined)[] = [];
    const host = new AgentHost(recordingLoader(seen));
    await host.loadModel(MICRO);
    const view = host.reset('tomato-salad', 0);
    const live = handle();
    await host.setAdapter(trained(), 'TWOSOME, update 1', live);
    expect(seen).toEqual([live]);
    expect(live.released).toBe(0);
    expect(ok(await host.scores(view.stepId)).lora).toBe('TWOSOME, update 1');
    // The page's calls never carry one.
    await host.setAdapter(trained(2), 'a file');
    expect(seen).toEqual([live, undefined]);
  });

  it('is released once where the swap does not happen: an adapter that does not fit, or no model', async () => {
    const seen: (LoraHandle | undefined)[] = [];
    const host = new AgentHost(recordingLoader(seen));
    const early = handle();
    await expect(host.setAdapter(trained(), 'early', early)).rejects.toThrow(/no model is loaded/);
    expect(early.released).toBe(1);
    await host.loadModel(MICRO);
    const wide = handle();
    const wider = trained(2, { ...FAKE_MODEL_SHAPE, hidden: 96 });
    await expect(host.setAdapter(wider, 'wide', wide)).rejects.toThrow(/q_proj/);
    expect(wide.released).toBe(1);
    expect(seen).toEqual([]);
  });
});
