/**
 * The share slice against an in-process worker host (AgentHost with a fake scorer of the micro model's
 * shapes): loading files, the link and its precision, opening a link in a "fresh page", and mutated links
 * rejected with one notice and no state change.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeBundle, encodePeftAdapter, SHARE_FRAGMENT_PREFIX } from '../share';
import { MICRO, trainedAdapter } from '../share/testing';
import { Rng } from '../util/rng';
import { AgentHost } from '../worker/agent-host';
import { fakeLoader } from '../worker/fake-scorer';
import { localClient } from '../worker/client';
import type { FileLike } from './adapter-files';
import { fileLike, settledPolicy } from './testing';
import { createAppStore, type AppStore } from './store';

/** The page's store (a fresh one per page: freshPage). */
let app: AppStore;

/** A fresh worker + both stores attached to it: what a new browser context starts with. */
async function freshPage() {
  const host = new AgentHost(fakeLoader());
  const client = localClient({ agent: host }).api.agent;
  app = createAppStore();
  app.getState().playground.attach(client, { gpuCheck: async () => ({ ok: true }) });
  app.getState().share.attach(client, () => 'https://example.org/twosome/?task=tomato-salad');
  await app.getState().playground.open({ taskId: 'tomato-salad', seed: 0, modelId: 'micro', norm: 'word' });
  await settledPolicy(app);
  return host;
}

const adapter = () => trainedAdapter(MICRO, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 7, 0.5);
const peftFiles = (baseModel = 'micro') => {
  const { config, weights } = encodePeftAdapter(adapter(), { baseModel });
  return [fileLike('adapter_config.json', config), fileLike('adapter_model.safetensors', weights)];
};
const share = () => app.getState().share;
const playground = () => app.getState().playground;
const snapshot = () => ({ taskId: playground().taskId, seed: playground().seed, modelId: playground().modelId, norm: playground().norm, adapter: share().adapter?.label ?? null });

describe('share store', () => {
  beforeEach(async () => {
    await freshPage();
  });

  it('loads a PEFT pair: the probabilities change and the panel shows the adapter', async () => {
    const frozen = await settledPolicy(app);
    await share().loadFiles(peftFiles());
    expect(share().error).toBeNull();
    expect(share().adapter).toMatchObject({ label: 'adapter_model.safetensors', r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], layers: 2, baseModel: 'micro' });
    const adapted = await settledPolicy(app);
    expect(playground().timeline.at(-1)?.scores.status === 'ok' && playground().timeline.at(-1)?.scores).toMatchObject({ scores: { lora: 'adapter_model.safetensors' } });
    expect(adapted).not.toEqual(frozen);
    await share().remove();
    expect(share().adapter).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
  });

  it('rejects bad files with a message and keeps the adapter in use', async () => {
    await share().loadFiles(peftFiles());
    const before = await settledPolicy(app);
    const wrongShape = encodePeftAdapter(trainedAdapter({ ...MICRO, hidden: 32, headDim: 8 }, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }), { baseModel: 'micro' });
    const cases: [FileLike[], RegExp][] = [
      [[fileLike('adapter_model.safetensors', wrongShape.weights), fileLike('adapter_config.json', wrongShape.config)], /q_proj is 32 x 32 in the adapter .* but 64 x 64 in micro/],
      [peftFiles('meta-llama/Llama-2-7b-chat-hf'), /trained on "meta-llama\/Llama-2-7b-chat-hf" but the model in use is "micro"/],
      [[fileLike('adapter_model.safetensors', new Uint8Array([1, 2, 3]))], /adapter_model\.safetensors: /],
      [[fileLike('adapter_model.bin', new Uint8Array(10))], /pickled PyTorch files are never loaded/],
      [[fileLike('notes.txt', 'hi')], /not an adapter file/],
      [[fileLike('adapter_config.json', '{}')], /no adapter_model\.safetensors/],
      [[{ name: 'huge.zip', size: 2 ** 40, arrayBuffer: async () => { throw new Error('must not be read'); } }], /over the limit of \d+ for a bundle/],
    ];
    for (const [files, message] of cases) {
      await share().loadFiles(files);
      expect(share().error).toMatch(message);
      expect(share().adapter?.label).toBe('adapter_model.safetensors');
      expect(await settledPolicy(app)).toEqual(before);
    }
  });

  it('a bundle restores its setup with the adapter', async () => {
    const bytes = encodeBundle({ modelId: 'micro', task: 'entertainment', normalization: 'token', seed: 4, adapter: adapter() });
    await share().loadFiles([fileLike('run.zip', bytes)]);
    expect(share().error).toBeNull();
    expect(snapshot()).toEqual({ taskId: 'entertainment', seed: 4, modelId: 'micro', norm: 'token', adapter: 'run.zip' });
  });

  it('the link reopens the setup and the same probabilities on a fresh page; f16/int8 report their error', async () => {
    await playground().selectSeed(3);
    playground().selectNorm('sum');
    await share().loadFiles(peftFiles());
    const sharer = (await settledPolicy(app)).slice();
    const sharerSum = (playground().timeline.at(-1)!.scores as { scores: { policy: { sum: number[] } } }).scores.policy.sum.slice();
    await share().refreshLink();
    const link = share().link;
    if (link.status !== 'ok') throw new Error(`no link: ${JSON.stringify(link)}`);
    expect(link.url.startsWith(`https://example.org/twosome/${SHARE_FRAGMENT_PREFIX}`)).toBe(true);
    expect(link.precision).toBe('f32');
    expect(link.probError).toBe(0);

    share().setPrecision('int8');
    await until(() => share().link.status === 'ok' && (share().link as { probError: number | null }).probError !== null);
    const int8 = share().link as Extract<ReturnType<typeof share>['link'], { status: 'ok' }>;
    expect(int8.chars).toBeLessThan(link.chars);
    expect(int8.maxAbsError).toBeGreaterThan(0);
    expect(int8.probError).toBeGreaterThan(0);
    expect(int8.probError).toBeLessThan(0.05);

    await freshPage();
    expect(snapshot()).toEqual({ taskId: 'tomato-salad', seed: 0, modelId: 'micro', norm: 'word', adapter: null });
    const url = new URL(link.url);
    await share().openFromLocation({ href: url.href, hash: url.hash, search: url.search });
    expect(share().notice).toBeNull();
    expect(snapshot()).toEqual({ taskId: 'tomato-salad', seed: 3, modelId: 'micro', norm: 'sum', adapter: 'shared link (f32)' });
    await settledPolicy(app);
    const opened = (playground().timeline.at(-1)!.scores as { scores: { policy: { sum: number[]; word: number[] } } }).scores.policy;
    expect(opened.sum).toEqual(sharerSum);
    expect(opened.word).toEqual(sharer);
  });

  it('copy: the clipboard gets the link; a refused permission says what to do instead', async () => {
    await share().loadFiles(peftFiles());
    await share().refreshLink();
    const written: string[] = [];
    await share().copyLink({ writeText: async (t: string) => void written.push(t) });
    expect(share().copy.status).toBe('copied');
    expect(written).toEqual([(share().link as { url: string }).url]);
    await share().copyLink({ writeText: async () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')) });
    expect(share().copy).toEqual({ status: 'failed', message: expect.stringMatching(/permission denied.*copy it by hand/) });
    await share().copyLink(null);
    expect(share().copy.status).toBe('failed');
  });

  it('fuzz: mutated links are each rejected with one notice and change nothing', async () => {
    await share().loadFiles(peftFiles());
    await share().refreshLink();
    const link = share().link;
    if (link.status !== 'ok') throw new Error('no link');
    const fragment = new URL(link.url).hash;
    await freshPage();
    const before = snapshot();
    const frozen = await settledPolicy(app);
    const rng = new Rng(11);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/%#';
    const mutants = new Set<string>(['#share=', '#share=A', '#share=%%%', `${fragment}${fragment}`, fragment.slice(0, 40), `#share=${'A'.repeat(40_000)}`]);
    while (mutants.size < 150) {
      const chars = fragment.split('');
      const at = SHARE_FRAGMENT_PREFIX.length + Math.floor(rng.next() * (chars.length - SHARE_FRAGMENT_PREFIX.length));
      const kind = Math.floor(rng.next() * 4);
      const c = alphabet[Math.floor(rng.next() * alphabet.length)];
      if (kind === 0) chars[at] = c;
      else if (kind === 1) chars.splice(at, 1);
      else if (kind === 2) chars.splice(at, 0, c);
      else chars.length = at;
      const mutant = chars.join('');
      if (mutant !== fragment) mutants.add(mutant);
    }
    for (const hash of mutants) {
      share().dismissNotice();
      await expect(share().openFromLocation({ href: `https://example.org/twosome/${hash}`, hash, search: '' })).resolves.toBeUndefined();
      expect(share().notice, hash.slice(0, 80)).toMatch(/^This share link cannot be used: .*\. The setup and the adapter in use are as they were\.$/);
      expect(snapshot()).toEqual(before);
    }
    expect(await settledPolicy(app)).toEqual(frozen);
  });

  it('?adapter= URLs: only https or this site; the download is capped; a fetched pair loads', async () => {
    await share().openFromLocation({ href: 'https://example.org/twosome/?adapter=http://evil.example/a.safetensors', hash: '', search: '?adapter=http://evil.example/a.safetensors' });
    // Named as what it is (not "share link"), and without the label twice.
    expect(share().notice).toMatch(/^This adapter URL cannot be used: adapter URLs must be https:\/\/ or on this site/);
    expect(share().notice).not.toMatch(/share link/);
    share().dismissNotice();
    // A download that fails (nothing listens at this address) is an adapter URL's failure too.
    const offline = 'https://127.0.0.1:9/adapter_model.safetensors';
    await share().openFromLocation({ href: `https://example.org/?adapter=${offline}`, hash: '', search: `?adapter=${offline}` });
    expect(share().notice).toMatch(/^This adapter URL cannot be used: could not download https:\/\/127\.0\.0\.1:9\/adapter_model\.safetensors: /);
    expect(share().notice).not.toMatch(/share link/);
    share().dismissNotice();
    await share().loadUrl(offline);
    expect(share().error).toMatch(/^adapter URL: could not download /);
    await share().openFromLocation({ href: 'https://example.org/?adapter=javascript:alert(1)', hash: '', search: '?adapter=javascript:alert(1)' });
    expect(share().notice).toMatch(/must be https:\/\//);
    expect(snapshot().adapter).toBeNull();
  });
});

function until(predicate: () => boolean, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out'));
      else setTimeout(poll, 2);
    };
    poll();
  });
}
