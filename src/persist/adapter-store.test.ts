/**
 * The saved-adapters database: entries round-trip (bytes intact, the view's bytes only), the in-use pointer,
 * the same adapter saved twice is one entry, the caps drop the oldest only when a new one is saved, bad input
 * and damaged records are refused with a message, and nothing else changes when they are.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { encodePeftAdapter } from '../share';
import { MICRO, trainedAdapter } from '../share/testing';
import {
  checkSavedAdapter,
  IdbAdapterStore,
  SavedAdapterError,
  type AdapterPayload,
  type SavedAdapterInput,
} from './adapter-store';

let dbCount = 0;
const dbName = () => `adapter-store-test-${++dbCount}`;

function pair(seed = 1) {
  return encodePeftAdapter(
    trainedAdapter(MICRO, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, seed, 0.5),
    { baseModel: 'micro' },
  );
}

function filesInput(
  label = 'adapter_model.safetensors',
  seed = 1,
  source: SavedAdapterInput['source'] = 'file',
): SavedAdapterInput {
  const { config, weights } = pair(seed);
  return {
    label,
    source,
    modelId: 'micro',
    payload: {
      kind: 'files',
      main: { name: label, bytes: weights },
      config: { name: 'adapter_config.json', bytes: new TextEncoder().encode(config) },
    },
  };
}

function bytesInput(label: string, size: number): SavedAdapterInput {
  return {
    label,
    source: 'file',
    modelId: 'micro',
    payload: { kind: 'files', main: { name: label, bytes: new Uint8Array(size).fill(7) }, config: null },
  };
}

const linkInput: SavedAdapterInput = {
  label: 'shared link (f16)',
  source: 'link',
  modelId: 'micro',
  payload: { kind: 'link', fragment: '#share=AQEAAAA' },
};

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe('IdbAdapterStore', () => {
  it('keeps meta and payload apart, reads them back intact, and deletes one entry with its pointer', async () => {
    const store = await IdbAdapterStore.open(dbName());
    const files = filesInput();
    const a = await store.put(files, { use: true, now: at(1) });
    const b = await store.put(linkInput, { now: at(2) });
    expect(a).toMatchObject({ dropped: [], replaced: false });
    const main = files.payload.kind === 'files' ? files.payload.main.bytes : new Uint8Array();
    const config = files.payload.kind === 'files' ? files.payload.config!.bytes : new Uint8Array();
    expect(a.saved).toEqual({
      id: expect.stringMatching(/^adapter-/),
      label: 'adapter_model.safetensors',
      source: 'file',
      modelId: 'micro',
      savedAt: at(1).toISOString(),
      bytes: main.length + config.length,
    });
    expect(b.saved).toMatchObject({ source: 'link', bytes: '#share=AQEAAAA'.length });

    expect(await store.list()).toEqual([a.saved, b.saved]);
    expect(await store.getInUse()).toBe(a.saved.id);
    const back = checkSavedAdapter(await store.get(a.saved.id), a.saved.id);
    expect(back).toMatchObject(a.saved);
    if (back.payload.kind !== 'files') throw new Error('expected files');
    expect(back.payload.main.bytes).toBeInstanceOf(Uint8Array);
    expect(back.payload.main.bytes).toEqual(main);
    expect(back.payload.config?.bytes).toEqual(config);
    expect(checkSavedAdapter(await store.get(b.saved.id), b.saved.id).payload).toEqual(linkInput.payload);

    await store.delete(a.saved.id);
    expect(await store.list()).toEqual([b.saved]);
    expect(await store.get(a.saved.id)).toBeUndefined();
    expect(await store.getInUse()).toBeNull();
    await store.setInUse(b.saved.id);
    await store.delete('no-such-entry');
    expect(await store.getInUse()).toBe(b.saved.id);
    store.close();
  });

  it('stores only the bytes a view covers, not the whole buffer behind it', async () => {
    const store = await IdbAdapterStore.open(dbName());
    const big = new Uint8Array(1000).map((_, i) => i % 251);
    const view = big.subarray(100, 110);
    const { saved } = await store.put({
      label: 'view.safetensors',
      source: 'file',
      modelId: 'micro',
      payload: { kind: 'files', main: { name: 'view.safetensors', bytes: view }, config: null },
    });
    expect(saved.bytes).toBe(10);
    const back = checkSavedAdapter(await store.get(saved.id), saved.id);
    if (back.payload.kind !== 'files') throw new Error('expected files');
    expect(back.payload.main.bytes.buffer.byteLength).toBe(10);
    expect(Array.from(back.payload.main.bytes)).toEqual(Array.from(view));
    store.close();
  });

  it('the same adapter saved again refreshes its entry (newest, same id); different bytes are a new entry', async () => {
    const store = await IdbAdapterStore.open(dbName());
    const first = await store.put(filesInput(), { now: at(1) });
    await store.put(linkInput, { now: at(2) });
    const again = await store.put(filesInput(), { use: true, now: at(3) });
    expect(again).toMatchObject({
      replaced: true,
      dropped: [],
      saved: { id: first.saved.id, savedAt: at(3).toISOString() },
    });
    expect((await store.list()).map((m) => m.label)).toEqual(['shared link (f16)', 'adapter_model.safetensors']);
    expect(await store.getInUse()).toBe(first.saved.id);
    const other = await store.put(filesInput('adapter_model.safetensors', 2), { now: at(4) });
    expect(other.replaced).toBe(false);
    expect(other.saved.id).not.toBe(first.saved.id);
    expect(await store.list()).toHaveLength(3);
    store.close();
  });

  it('saves get strictly increasing times, so "oldest" is defined even within one millisecond or with a clock set back', async () => {
    const store = await IdbAdapterStore.open(dbName());
    const a = await store.put(bytesInput('a', 1), { now: at(5) });
    const b = await store.put(bytesInput('b', 1), { now: at(5) });
    const c = await store.put(bytesInput('c', 1), { now: at(1) });
    expect(Date.parse(b.saved.savedAt)).toBeGreaterThan(Date.parse(a.saved.savedAt));
    expect(Date.parse(c.saved.savedAt)).toBeGreaterThan(Date.parse(b.saved.savedAt));
    expect((await store.list()).map((m) => m.label)).toEqual(['a', 'b', 'c']);
    store.close();
  });

  it('caps: the oldest entries go first, only when a new one is saved; one over the byte cap alone is refused', async () => {
    const store = await IdbAdapterStore.open(dbName(), { maxAdapters: 3, maxBytes: 100 });
    expect(store.caps).toEqual({ maxAdapters: 3, maxBytes: 100 });
    for (const [i, name] of ['a', 'b', 'c'].entries())
      await store.put(bytesInput(name, 20), { now: at(i + 1), use: name === 'a' });
    expect((await store.list()).map((m) => m.label)).toEqual(['a', 'b', 'c']);

    // The count cap: a fourth drops the oldest. Dropping the entry in use clears the pointer.
    const d = await store.put(bytesInput('d', 20), { now: at(4) });
    expect(d.dropped.map((m) => m.label)).toEqual(['a']);
    expect((await store.list()).map((m) => m.label)).toEqual(['b', 'c', 'd']);
    expect(await store.getInUse()).toBeNull();

    // The byte cap: b + c + d + 70 = 130 > 100; dropping b leaves 110, still over; dropping c too leaves 90.
    await store.setInUse(d.saved.id);
    const e = await store.put(bytesInput('e', 70), { now: at(5) });
    expect(e.dropped.map((m) => m.label)).toEqual(['b', 'c']);
    expect((await store.list()).map((m) => [m.label, m.bytes])).toEqual([
      ['d', 20],
      ['e', 70],
    ]);
    expect(await store.getInUse()).toBe(d.saved.id);

    // Larger than the whole cap: refused, and nothing is dropped for it.
    await expect(store.put(bytesInput('huge', 101), { use: true })).rejects.toThrow(
      /huge is 101 bytes, over the 100 bytes kept for saved adapters, so it is not kept after a reload; use Save bundle/,
    );
    expect((await store.list()).map((m) => m.label)).toEqual(['d', 'e']);
    expect(await store.getInUse()).toBe(d.saved.id);
    store.close();
  });

  it('refuses bad input with a message, storing nothing', async () => {
    const store = await IdbAdapterStore.open(dbName());
    const good = filesInput();
    const cases: [SavedAdapterInput, RegExp][] = [
      [{ ...good, label: '' }, /label of 1 to 2048 characters, not ""/],
      [{ ...good, source: 'ftp' as never }, /unknown adapter source "ftp" \(use file, url, link\)/],
      [{ ...good, modelId: '' }, /the model id "" is not valid/],
      [
        { ...good, payload: { kind: 'link', fragment: 'https://example.org/' } },
        /the link is "https:\/\/example\.org\/", not a "#share=\.\.\." fragment/,
      ],
      [
        { ...good, payload: { kind: 'link', fragment: `#share=${'A'.repeat(40_000)}` } },
        /over the link limit of 32768/,
      ],
      [
        { ...good, payload: { kind: 'files', main: { name: 'x', bytes: [1, 2] as never }, config: null } },
        /the adapter file's bytes are a list, not bytes/,
      ],
      [{ ...good, payload: { kind: 'zip' } as unknown as AdapterPayload }, /payload kind is "zip"/],
    ];
    for (const [input, message] of cases) await expect(store.put(input)).rejects.toThrow(message);
    expect(await store.list()).toEqual([]);
    expect(await store.getInUse()).toBeNull();
    await expect(IdbAdapterStore.open(dbName(), { maxAdapters: 0 })).rejects.toThrow(/caps must be positive integers/);
    store.close();
  });

  it('damaged records: get + checkSavedAdapter refuse them with a message; list marks a bad meta and Delete removes it', async () => {
    const name = dbName();
    const store = await IdbAdapterStore.open(name);
    const { saved } = await store.put(filesInput(), { use: true });
    const raw = await openDB(name);
    const good = await raw.get('payloads', saved.id);
    const damage = async (payload: unknown) => raw.put('payloads', { id: saved.id, payload });
    const cases: [unknown, RegExp][] = [
      [
        { ...good.payload, main: { name: 'adapter_model.safetensors', bytes: 'not bytes' } },
        /its adapter file's bytes are "not bytes", not bytes/,
      ],
      [
        { ...good.payload, main: { ...good.payload.main, bytes: good.payload.main.bytes.subarray(0, 10) } },
        /its payload has \d+ bytes but \d+ were saved/,
      ],
      [{ kind: 'files', main: good.payload.main, config: 42 }, /its adapter_config\.json is number, not a file/],
      [null, /its payload is null/],
    ];
    for (const [payload, message] of cases) {
      await damage(payload);
      const read = await store.get(saved.id);
      expect(() => checkSavedAdapter(read, saved.id)).toThrow(SavedAdapterError);
      expect(() => checkSavedAdapter(read, saved.id)).toThrow(message);
      expect(() => checkSavedAdapter(read, saved.id)).toThrow(
        /^saved adapter "adapter_model\.safetensors": .*; the stored copy is damaged: delete it and load the adapter again$/,
      );
    }
    expect(() => checkSavedAdapter(undefined, 'gone')).toThrow(/saved adapter "gone": it is not in this browser/);
    const stored = await store.get(saved.id);
    expect(() => checkSavedAdapter(stored, 'other-id')).toThrow(/stored as "adapter-.*", not "other-id"/);

    // A meta another writer mangled is listed as damaged (not hidden, not crashing the list) and can be deleted.
    await raw.put('adapters', { id: 'junk', label: { html: '<b>' }, bytes: -1 });
    const listed = await store.list();
    expect(listed.find((m) => m.id === 'junk')).toMatchObject({ label: 'entry junk', damaged: 'its label is object' });
    expect(listed.find((m) => m.id === saved.id)).toEqual(saved);
    await store.delete('junk');
    expect((await store.list()).map((m) => m.id)).toEqual([saved.id]);
    expect(await store.getInUse()).toBe(saved.id);
    raw.close();
    store.close();
  });
});
