/**
 * Saved adapters through the share slice, against an in-process worker host (fake scorer of the micro
 * model's shapes) and fake-indexeddb: a loaded adapter is kept and comes back after a "reload" with the same
 * probabilities; Remove stops using it, Delete deletes it; a damaged stored copy is refused with a message in
 * the card and nothing else changes; training replacing the adapter and a browser without storage are handled.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdbAdapterStore } from '../persist/adapter-store';
import { encodeBundle, encodePeftAdapter, encodeShareLink, adapterWeightsOf } from '../share';
import { MICRO, trainedAdapter } from '../share/testing';
import { FRESH_SETUP, fileLike, microAdapter, openFreshPage, pageSnapshot, peftFiles, settledPolicy } from './testing';
import type { AppStore } from './store';

/** The page's store (a fresh one per page: freshPage). */
let app: AppStore;
let dbCount = 0;
let dbName = '';

/**
 * A fresh worker and stores on the same database: what a reload of the page starts with. `restore` runs the
 * page-start restore as App does (after the setup is open).
 */
async function freshPage(options: { restore?: boolean; openStore?: () => Promise<IdbAdapterStore> } = {}) {
  const page = await openFreshPage({ openStore: options.openStore ?? (() => IdbAdapterStore.open(dbName)) });
  app = page.app;
  // The list is read as the page starts (App renders it when it arrives).
  for (let i = 0; i < 500 && share().saved.status === 'opening'; i++) await new Promise((r) => setTimeout(r, 1));
  if (options.restore !== false) await share().restoreSaved();
  await settledPolicy(app);
  return page.host;
}

const share = () => app.getState().share;
const playground = () => app.getState().playground;
const saved = () => share().saved;
const snapshot = () => pageSnapshot(app);

describe('saved adapters', () => {
  beforeEach(async () => {
    dbName = `saved-adapters-${++dbCount}`;
    await freshPage();
  });

  it('a loaded adapter is kept and, after a reload, is in use again with the same probabilities', async () => {
    const frozen = await settledPolicy(app);
    expect(saved()).toMatchObject({
      status: 'ready',
      list: [],
      inUse: null,
      caps: { maxAdapters: 16, maxBytes: 256 * 1024 * 1024 },
    });
    const files = peftFiles();
    await share().loadFiles(files);
    expect(share().error).toBeNull();
    const adapted = (await settledPolicy(app)).slice();
    expect(adapted).not.toEqual(frozen);
    expect(saved().list).toEqual([
      {
        id: expect.any(String),
        label: 'adapter_model.safetensors',
        source: 'file',
        modelId: 'micro',
        savedAt: expect.any(String),
        bytes: files[0].size + files[1].size,
      },
    ]);
    expect(saved().inUse).toBe(saved().list[0].id);

    await freshPage({ restore: false });
    expect(share().adapter).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
    await share().restoreSaved();
    expect(share().error).toBeNull();
    expect(share().adapter).toMatchObject({ label: 'adapter_model.safetensors', r: 4, alpha: 8, baseModel: 'micro' });
    expect(await settledPolicy(app)).toEqual(adapted);
    expect(saved().list).toHaveLength(1);
  });

  it('Remove stops using it (kept in the list, not restored); Use puts it back; Delete deletes it', async () => {
    const frozen = await settledPolicy(app);
    await share().loadFiles(peftFiles());
    const adapted = (await settledPolicy(app)).slice();
    const id = saved().list[0].id;

    await share().remove();
    expect(saved()).toMatchObject({ inUse: null, list: [{ id }] });
    await freshPage();
    expect(share().adapter).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);

    await share().applySaved(id);
    expect(share().error).toBeNull();
    expect(share().adapter?.label).toBe('adapter_model.safetensors');
    expect(saved().inUse).toBe(id);
    expect(await settledPolicy(app)).toEqual(adapted);
    await freshPage();
    expect(share().adapter?.label).toBe('adapter_model.safetensors');

    // Delete: gone from the list; the adapter stays in use for this visit (said so), and the next start has none.
    await share().deleteSaved(id);
    expect(saved()).toMatchObject({
      list: [],
      inUse: null,
      error: null,
      note: expect.stringMatching(
        /^Deleted "adapter_model\.safetensors" from this browser: it stays in use on this page/,
      ),
    });
    expect(share().adapter?.label).toBe('adapter_model.safetensors');
    await freshPage();
    expect(share().adapter).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
    await share().applySaved(id);
    expect(share().error).toMatch(/saved adapter "[^"]+": it is not in this browser/);
    expect(share().adapter).toBeNull();
  });

  it('a damaged stored copy is refused on restore with a message in the card; the entry stays, nothing else changes', async () => {
    const frozen = await settledPolicy(app);
    await share().loadFiles(peftFiles());
    const entry = saved().list[0];
    const raw = await openDB(dbName);
    const row = await raw.get('payloads', entry.id);
    // One flipped byte in the safetensors header: same size, so only decoding can tell.
    const bytes = Uint8Array.from(row.payload.main.bytes as Uint8Array);
    bytes[9] ^= 0x7f;
    await raw.put('payloads', { id: entry.id, payload: { ...row.payload, main: { ...row.payload.main, bytes } } });
    raw.close();

    await freshPage({ restore: false });
    const before = snapshot();
    await expect(share().restoreSaved()).resolves.toBeUndefined();
    expect(share().error).toMatch(
      /^The saved adapter "adapter_model\.safetensors" was not restored, so no adapter is in use: saved adapter "adapter_model\.safetensors": it no longer decodes \(adapter_model\.safetensors: .+\); the stored copy is damaged: delete it and load the adapter again\. It is still listed under Saved adapters\.$/,
    );
    expect(snapshot()).toEqual(before);
    expect(share().adapter).toBeNull();
    expect(share().loading).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
    // Kept (the user decides), but no longer pointed at, so the next start does not fail the same way.
    expect(saved().list).toEqual([entry]);
    expect(saved().inUse).toBeNull();
    // The page still works: a good adapter loads over it.
    await share().loadFiles(peftFiles({ seed: 8 }));
    expect(share().error).toBeNull();
    expect(share().adapter?.label).toBe('adapter_model.safetensors');
  });

  it('a damaged record (not just bad bytes) is refused on Use with a message, and can be deleted', async () => {
    await share().loadFiles(peftFiles());
    const id = saved().list[0].id;
    await share().remove();
    const raw = await openDB(dbName);
    await raw.put('payloads', {
      id,
      payload: { kind: 'files', main: { name: 'adapter_model.safetensors', bytes: 'AAAA' }, config: null },
    });
    raw.close();
    await share().applySaved(id);
    expect(share().error).toMatch(
      /^saved adapter "adapter_model\.safetensors": its adapter file's bytes are "AAAA", not bytes; the stored copy is damaged/,
    );
    expect(share().adapter).toBeNull();
    await share().deleteSaved(id);
    expect(saved().list).toEqual([]);
  });

  it("a share link and a bundle are kept too; Use restores a bundle's setup, a restore keeps the address's setup", async () => {
    const hash = encodeShareLink(
      {
        modelId: 'micro',
        task: 'tomato-salad',
        normalization: 'sum',
        seed: 3,
        weights: adapterWeightsOf(microAdapter()),
      },
      { precision: 'f32' },
    ).fragment;
    await share().openFromLocation({ href: `https://example.org/twosome/${hash}`, hash, search: '' });
    expect(share().notice).toBeNull();
    expect(saved().list).toMatchObject([
      { label: 'shared link (f32)', source: 'link', modelId: 'micro', bytes: hash.length },
    ]);
    const linked = (await settledPolicy(app)).slice();

    // Reloaded without the fragment (the address still has the link's setup): the link's adapter comes back.
    await freshPage({ restore: false });
    await playground().selectSeed(3);
    playground().selectNorm('sum');
    await share().restoreSaved();
    expect(share().adapter?.label).toBe('shared link (f32)');
    expect(await settledPolicy(app)).toEqual(linked);

    const bundle = encodeBundle({
      modelId: 'micro',
      task: 'entertainment',
      normalization: 'token',
      seed: 4,
      adapter: microAdapter(9),
    });
    await share().loadFiles([fileLike('run.zip', bundle)]);
    expect(saved().list.map((m) => m.label)).toEqual(['shared link (f32)', 'run.zip']);
    await freshPage();
    expect(snapshot()).toEqual({ ...FRESH_SETUP, adapter: 'run.zip' });
    await share().applySaved(saved().list[0].id);
    expect(snapshot()).toEqual({ ...FRESH_SETUP, seed: 3, norm: 'sum', adapter: 'shared link (f32)' });
    await share().applySaved(saved().list[1].id);
    expect(snapshot()).toEqual({ ...FRESH_SETUP, taskId: 'entertainment', seed: 4, norm: 'token', adapter: 'run.zip' });
  });

  it('an address naming an adapter wins over the saved one; loading the same files again keeps one entry', async () => {
    await share().loadFiles(peftFiles());
    await share().loadFiles(peftFiles());
    expect(saved().list).toHaveLength(1);
    await freshPage({ restore: false });
    const hash = encodeShareLink(
      {
        modelId: 'micro',
        task: 'tomato-salad',
        normalization: 'word',
        seed: 0,
        weights: adapterWeightsOf(microAdapter(9)),
      },
      { precision: 'f32' },
    ).fragment;
    await share().openFromLocation({ href: `https://example.org/twosome/${hash}`, hash, search: '' });
    await share().restoreSaved();
    expect(share().adapter?.label).toBe('shared link (f32)');
    expect(saved().inUse).toBe(saved().list[1].id);
  });

  it('a refused link or adapter URL in the address leaves the saved adapter in use, as its notice says', async () => {
    await share().loadFiles(peftFiles());
    const adapted = (await settledPolicy(app)).slice();
    const addresses = [
      { href: 'https://example.org/twosome/#share=AAAA', hash: '#share=AAAA', search: '' },
      {
        href: 'https://example.org/twosome/?adapter=http%3A%2F%2Fevil.example%2Fa.zip',
        hash: '',
        search: '?adapter=http%3A%2F%2Fevil.example%2Fa.zip',
      },
    ];
    for (const address of addresses) {
      // A new tab opened with the bad address: the link is refused, then the page-start restore runs.
      await freshPage({ restore: false });
      await share().openFromLocation(address);
      expect(share().notice).toMatch(/ cannot be used: .*\. The setup and the adapter in use are as they were\.$/);
      await share().restoreSaved();
      expect(share().error).toBeNull();
      expect(snapshot()).toEqual({ ...FRESH_SETUP, adapter: 'adapter_model.safetensors' });
      expect(await settledPolicy(app)).toEqual(adapted);
      expect(saved().inUse).toBe(saved().list[0].id);
    }
  });

  it('training replacing the adapter un-points the saved one (its run keeps it); nothing is saved for it', async () => {
    const host = await freshPage();
    await share().loadFiles(peftFiles());
    const id = saved().inUse;
    expect(id).not.toBeNull();
    // Scores naming the adapter the page loaded change nothing.
    await share().syncAdapter();
    expect(saved().inUse).toBe(id);
    await host.setAdapter(microAdapter(3), 'training');
    await share().syncAdapter();
    expect(share().adapter?.label).toBe('training');
    expect(saved().inUse).toBeNull();
    expect(saved().list.map((m) => m.label)).toEqual(['adapter_model.safetensors']);
    await freshPage();
    expect(share().adapter).toBeNull();
  });

  it('without storage, loading still works and the card says why nothing is kept', async () => {
    await freshPage({
      openStore: () =>
        Promise.reject(
          new Error('this browser has no IndexedDB (private mode?): loaded adapters are not kept after a reload'),
        ),
    });
    expect(saved()).toMatchObject({ status: 'unavailable', error: expect.stringMatching(/no IndexedDB/) });
    await share().loadFiles(peftFiles());
    expect(share().error).toBeNull();
    expect(share().adapter?.label).toBe('adapter_model.safetensors');
    expect(saved().list).toEqual([]);
  });

  it('an adapter over the byte cap stays in use, with a message that it is not kept; the earlier one is not restored instead', async () => {
    await share().loadFiles(peftFiles());
    await freshPage({ openStore: () => IdbAdapterStore.open(dbName, { maxBytes: 4096 }) });
    expect(share().adapter?.label).toBe('adapter_model.safetensors');
    const { config, weights } = encodePeftAdapter(
      trainedAdapter(MICRO, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, 5, 0.5),
      { baseModel: 'micro' },
    );
    await share().loadFiles([fileLike('adapter_config.json', config), fileLike('big.safetensors', weights)]);
    expect(share().error).toBeNull();
    expect(share().adapter?.label).toBe('big.safetensors');
    expect(saved().error).toMatch(
      /^"big\.safetensors" is in use but not kept for the next visit: big\.safetensors is \d+ bytes, over the 4096 bytes kept for saved adapters/,
    );
    expect(saved().inUse).toBeNull();
    expect(saved().list.map((m) => m.label)).toEqual(['adapter_model.safetensors']);
    await freshPage();
    expect(share().adapter).toBeNull();
  });
});
