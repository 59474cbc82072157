import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { paperPpoConfig } from '../rl/config';
import { adapterWeightsOf } from './adapter';
import {
  BUNDLE_CRITIC_FILE,
  BUNDLE_MANIFEST_FILE,
  BUNDLE_METRICS_FILE,
  bindBundle,
  decodeBundle,
  encodeBundle,
  type BundleInput,
} from './bundle';
import { encodeUtf8, float32ToBytes } from './bytes';
import { AdapterFormatError } from './errors';
import { encodePeftAdapter, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from './peft';
import { readSafetensors } from './safetensors';
import { MICRO, QV, randomCritic, TINY, trainedAdapter } from './testing';
import { readZip, writeZip } from './zip';

const input = (): BundleInput => ({
  modelId: 'micro',
  task: 'tomato-salad',
  normalization: 'word',
  seed: 3,
  training: paperPpoConfig('tomato-salad'),
  adapter: trainedAdapter(MICRO, QV, 4),
  critic: randomCritic([64, 32, 16, 1]),
  metrics: [
    { update: 1, return: 0.5, loss: -0.1 },
    { update: 2, return: 0.75, note: 'ok' },
  ],
});

describe('zip', () => {
  it('round trips, and agrees with an independent implementation (fflate) both ways', () => {
    const entries = [
      { name: 'a.json', data: encodeUtf8('{"x": 1}'.repeat(50)) },
      { name: 'b.bin', data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 255), compress: false },
      { name: 'empty', data: new Uint8Array(0) },
    ];
    const caps = { maxEntries: 8, maxEntryBytes: () => 1 << 20, maxTotalBytes: 1 << 20 };
    const zip = writeZip(entries);
    const mine = readZip(zip, 'z', caps);
    const theirs = unzipSync(zip);
    for (const e of entries) {
      expect(mine.get(e.name)).toEqual(e.data);
      expect(theirs[e.name]).toEqual(e.data);
    }
    const fromFflate = zipSync({
      'a.json': entries[0].data,
      'b.bin': [entries[1].data, { level: 0 }],
      empty: entries[2].data,
    });
    const read = readZip(fromFflate, 'z', caps);
    for (const e of entries) expect(read.get(e.name)).toEqual(e.data);
    // Deterministic bytes.
    expect(writeZip(entries)).toEqual(zip);
  });

  it('rejects unknown names, paths, oversize entries and corrupt data', () => {
    const zip = writeZip([{ name: 'a.txt', data: encodeUtf8('hello hello hello hello') }]);
    expect(() => readZip(zip, 'z', { maxEntries: 8, maxEntryBytes: () => 0, maxTotalBytes: 1e6 })).toThrow(
      /unexpected file "a.txt"/,
    );
    expect(() => readZip(zip, 'z', { maxEntries: 8, maxEntryBytes: () => 5, maxTotalBytes: 1e6 })).toThrow(
      /over the limit of 5/,
    );
    expect(() =>
      readZip(zipSync({ '../evil': new Uint8Array(1) }), 'z', {
        maxEntries: 8,
        maxEntryBytes: () => 100,
        maxTotalBytes: 1e6,
      }),
    ).toThrow(/unacceptable name/);
    const bad = zip.slice();
    bad[40] ^= 0xff; // inside the deflated data
    expect(() => readZip(bad, 'z', { maxEntries: 8, maxEntryBytes: () => 100, maxTotalBytes: 1e6 })).toThrow(
      AdapterFormatError,
    );
    expect(() =>
      readZip(zip.subarray(0, zip.length - 1), 'z', { maxEntries: 8, maxEntryBytes: () => 100, maxTotalBytes: 1e6 }),
    ).toThrow(/no end-of-central-directory/);
  });

  it('stops a deflate bomb at the declared size', () => {
    const bomb = zipSync({ 'x.json': new Uint8Array(5_000_000) });
    // Lie: declare 100 bytes in both headers (fix the CRC to the first 100 zeros' CRC doesn't matter: size check comes first).
    const view = new DataView(bomb.buffer);
    const cd = view.getUint32(bomb.length - 6, true);
    view.setUint32(22, 100, true);
    view.setUint32(cd + 24, 100, true);
    const started = Date.now();
    expect(() => readZip(bomb, 'z', { maxEntries: 8, maxEntryBytes: () => 1000, maxTotalBytes: 1e6 })).toThrow(
      /decompresses to more than the 100 bytes its header says/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('bundles', () => {
  it('round trip: every field back, tensors bit-identical', () => {
    const src = input();
    const bytes = encodeBundle(src);
    const b = decodeBundle(bytes, { file: 'run.zip' });
    expect(b).toMatchObject({
      modelId: 'micro',
      baseModel: 'micro',
      task: 'tomato-salad',
      normalization: 'word',
      seed: 3,
      dtype: 'F32',
      warnings: [],
    });
    expect(JSON.parse(JSON.stringify(b.training))).toEqual(JSON.parse(JSON.stringify(src.training)));
    expect(b.metrics.map((m) => ({ ...m }))).toEqual(src.metrics);
    const w = adapterWeightsOf(src.adapter as never);
    b.weights.modules.forEach((m, i) => {
      expect(float32ToBytes(m.a)).toEqual(float32ToBytes(w.modules[i].a));
      expect(float32ToBytes(m.b)).toEqual(float32ToBytes(w.modules[i].b));
    });
    expect(b.critic!.sizes).toEqual([64, 32, 16, 1]);
    b.critic!.weights.forEach((x, l) => expect(float32ToBytes(x)).toEqual(float32ToBytes(src.critic!.weights[l])));
    const bound = bindBundle(b, MICRO, 'micro');
    expect(bound.warnings).toEqual([]);
    expect(bound.adapter.scale).toBe(2);
  });

  it('unzips to a PEFT directory plus twosome files (torch.nn.Sequential critic names)', () => {
    const src = input();
    const files = unzipSync(encodeBundle(src));
    expect(Object.keys(files).sort()).toEqual(
      [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, BUNDLE_CRITIC_FILE, BUNDLE_METRICS_FILE, BUNDLE_MANIFEST_FILE].sort(),
    );
    const peft = encodePeftAdapter(src.adapter, { baseModel: 'micro' });
    expect(new TextDecoder().decode(files[PEFT_CONFIG_FILE])).toBe(peft.config);
    expect(files[PEFT_WEIGHTS_FILE]).toEqual(peft.weights);
    const critic = readSafetensors(files[BUNDLE_CRITIC_FILE], 'c');
    expect(critic.header.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['0.weight', [32, 64]],
      ['2.weight', [16, 32]],
      ['4.weight', [1, 16]],
    ]);
    expect(critic.header.metadata).toEqual({ format: 'pt', sizes: '64,32,16,1' });
    const manifest = JSON.parse(new TextDecoder().decode(files[BUNDLE_MANIFEST_FILE]));
    expect(Object.keys(manifest)).toEqual([
      'format',
      'version',
      'modelId',
      'baseModel',
      'task',
      'normalization',
      'seed',
      'training',
      'critic',
    ]);
    expect(new TextDecoder().decode(files[BUNDLE_METRICS_FILE]).split('\n')).toHaveLength(3);
  });

  it('minimal bundle: no critic, task, training or metrics', () => {
    const b = decodeBundle(
      encodeBundle({ modelId: 'micro', task: null, normalization: 'sum', seed: 0, adapter: trainedAdapter(MICRO, QV) }),
    );
    expect(b).toMatchObject({ task: null, training: null, critic: null, metrics: [] });
  });

  const rezip = (bytes: Uint8Array, change: (files: Record<string, Uint8Array>) => void) => {
    const files = unzipSync(bytes);
    change(files);
    return writeZip(Object.entries(files).map(([name, data]) => ({ name, data })));
  };
  const manifestPatch = (patch: Record<string, unknown>) =>
    rezip(encodeBundle(input()), (f) => {
      f[BUNDLE_MANIFEST_FILE] = encodeUtf8(
        JSON.stringify({ ...JSON.parse(new TextDecoder().decode(f[BUNDLE_MANIFEST_FILE])), ...patch }),
      );
    });

  it.each([
    [{ format: 'zip' }, /not a twosome bundle/],
    [{ version: 2 }, /newer than this twosome reads/],
    [{ version: '1' }, /"version" must be an integer/],
    [{ modelId: '' }, /"modelId"/],
    [{ task: 'chess' }, /unknown task "chess"/],
    [{ normalization: 'max' }, /"normalization"/],
    [{ seed: -1 }, /"seed"/],
    [{ training: [1] }, /"training"/],
    [{ baseModel: 'other' }, /differs from base_model_name_or_path/],
    [{ critic: null }, /present but "critic" is null/],
    [{ critic: { sizes: [64, 32, 8, 1] } }, /expected \[8, 32\]/],
    [{ critic: { sizes: [64, 32, 16, 2] } }, /ending in 1/],
  ])('rejects manifest %j', (patch, message) => {
    expect(() => decodeBundle(manifestPatch(patch), { file: 'run.zip' })).toThrow(message);
  });

  it('rejects missing and extra entries, bad metrics, a critic for another model', () => {
    const bytes = encodeBundle(input());
    expect(() => decodeBundle(rezip(bytes, (f) => delete f[PEFT_WEIGHTS_FILE]))).toThrow(
      /missing adapter_model.safetensors/,
    );
    expect(() => decodeBundle(rezip(bytes, (f) => (f['notes.txt'] = new Uint8Array(1))))).toThrow(
      /unexpected file "notes.txt"/,
    );
    expect(() => decodeBundle(rezip(bytes, (f) => delete f[BUNDLE_CRITIC_FILE]))).toThrow(
      /critic.safetensors is missing/,
    );
    expect(() => decodeBundle(rezip(bytes, (f) => (f[BUNDLE_METRICS_FILE] = encodeUtf8('{"a":1}\n[2]\n'))))).toThrow(
      /metrics.jsonl: line 2 must be a JSON object/,
    );
    expect(() =>
      decodeBundle(rezip(bytes, (f) => (f[BUNDLE_METRICS_FILE] = encodeUtf8('{"a":1}\n{"a":NaN}\n')))),
    ).toThrow(/line 2 is not valid JSON/);
    const tinyCritic = encodeBundle({ ...input(), critic: randomCritic([16, 8, 1]) });
    expect(() => decodeBundle(tinyCritic)).toThrow(
      /critic reads 16 features but the adapter's model has hidden size 64/,
    );
    expect(() => decodeBundle(new Uint8Array(100))).toThrow(/not a zip archive/);
  });

  describe('checked before its large entries are inflated', () => {
    /** The bundle's entries, with `edit` applied, zipped again (deflated unless stored). */
    const large = [PEFT_WEIGHTS_FILE, BUNDLE_CRITIC_FILE];
    const rezip = (edit: (entries: Map<string, Uint8Array>) => void, stored: string[] = large) => {
      const entries = new Map(Object.entries(unzipSync(encodeBundle(input()))));
      edit(entries);
      return writeZip([...entries].map(([name, data]) => ({ name, data, compress: !stored.includes(name) })));
    };
    /** Replaces an entry's compressed data by garbage of the same length: inflating it fails. */
    const corruptData = (zip: Uint8Array, name: string) => {
      const view = new DataView(zip.buffer, zip.byteOffset);
      for (let at = 0; at + 30 < zip.length;) {
        const nameLen = view.getUint16(at + 26, true);
        const size = view.getUint32(at + 18, true);
        const start = at + 30 + nameLen + view.getUint16(at + 28, true);
        if (new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLen)) === name) {
          zip.fill(0xff, start, start + size);
          return zip;
        }
        at = start + size;
      }
      throw new Error(`no entry ${name}`);
    };
    const error = (zip: Uint8Array) => {
      try {
        decodeBundle(zip, { file: 'b.zip' });
      } catch (e) {
        expect(e).toBeInstanceOf(AdapterFormatError);
        return (e as Error).message;
      }
      throw new Error('expected the bundle to be refused');
    };

    it('an entry the manifest does not call for is refused before it is inflated', () => {
      const manifest = JSON.parse(new TextDecoder().decode(unzipSync(encodeBundle(input()))[BUNDLE_MANIFEST_FILE]));
      manifest.critic = null;
      const patched = rezip((e) => {
        e.set(BUNDLE_MANIFEST_FILE, encodeUtf8(JSON.stringify(manifest)));
        e.set(BUNDLE_CRITIC_FILE, new Uint8Array(4096)); // compressible: deflated, then its data corrupted
      }, []);
      expect(error(corruptData(patched, BUNDLE_CRITIC_FILE))).toBe(
        `b.zip:${BUNDLE_MANIFEST_FILE}: ${BUNDLE_CRITIC_FILE} is present but "critic" is null`,
      );
      // Called for, the same corrupt entry is inflated, and refused for what it is.
      expect(
        error(
          corruptData(
            rezip(() => undefined, []),
            BUNDLE_CRITIC_FILE,
          ),
        ),
      ).toMatch(/critic.safetensors.*corrupt/);
    });

    it('a bad manifest is found before the weights are inflated', () => {
      const zip = rezip((e) => {
        e.set(BUNDLE_MANIFEST_FILE, encodeUtf8('{"format": "twosome-bundle", "version": 7}'));
        e.set(PEFT_WEIGHTS_FILE, new Uint8Array(1 << 16));
      }, []);
      expect(error(corruptData(zip, PEFT_WEIGHTS_FILE))).toBe(
        `b.zip:${BUNDLE_MANIFEST_FILE}: bundle version 7 is newer than this twosome reads (1); update twosome`,
      );
    });

    it("the weights' declared size must be what their header's tensors fill, and their shapes LoRA's", () => {
      const longer = rezip(
        (e) => {
          const w = e.get(PEFT_WEIGHTS_FILE)!;
          const padded = new Uint8Array(w.length + (64 << 20)); // 64 MiB of zeros after the tensors
          padded.set(w);
          e.set(PEFT_WEIGHTS_FILE, padded);
        },
        [BUNDLE_CRITIC_FILE],
      );
      expect(error(longer)).toBe(
        `b.zip:${PEFT_WEIGHTS_FILE}: 67108864 unexpected bytes after the last tensor: ` +
          'the file is corrupt (or another file was appended)',
      );

      const criticTooBig = rezip(
        (e) => {
          const c = e.get(BUNDLE_CRITIC_FILE)!;
          const padded = new Uint8Array(c.length + (16 << 20));
          padded.set(c);
          e.set(BUNDLE_CRITIC_FILE, padded);
        },
        [PEFT_WEIGHTS_FILE],
      );
      expect(error(criticTooBig)).toMatch(
        /^b\.zip:critic\.safetensors: declares \d+ bytes, but a critic of sizes \[64,32,16,1\] takes \d+ to \d+: the/,
      );
    });
  });

  it('binds to the model in use: shapes must fit; another base model warns or refuses', () => {
    const b = decodeBundle(encodeBundle(input()));
    expect(() => bindBundle(b, TINY, 'tiny')).toThrow(AdapterFormatError);
    const other = { ...b, modelId: 'x', baseModel: 'someone/other-model' };
    expect(bindBundle(other, MICRO, 'micro').warnings[0]).toMatch(/trained on "someone\/other-model"/);
    expect(() => bindBundle(other, MICRO, 'micro', 'refuse')).toThrow(/trained on "someone\/other-model"/);
  });
});
