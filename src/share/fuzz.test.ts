/**
 * Fuzz tests: thousands of mutated adapter files, bundles and share links, seeded. Every input must be either
 * accepted as a fully valid adapter or rejected with the format's typed error (AdapterFormatError /
 * ShareLinkError) carrying a one-line message: no other exception type, no case inflating more than a bound
 * set by its content (inflateBound: the work and memory a small input can cost), and no change to the live
 * adapter the load would replace.
 */
import { inflateSync, unzipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import type { LoraAdapter } from '../llm/train/lora';
import { Rng } from '../util/rng';
import { adapterWeightsOf, bindAdapter, checkAdapterWeights, replaceAdapterWeights } from './adapter';
import { bindBundle, decodeBundle, encodeBundle } from './bundle';
import { crc32, decodeBase64Url, encodeBase64Url, encodeUtf8 } from './bytes';
import { deflateRaw } from './deflate';
import { AdapterFormatError, ShareLinkError } from './errors';
import { decodeShareLink, encodeShareLink, type SharePayload } from './link';
import { decodePeftAdapter, encodePeftAdapter } from './peft';
import { ALL_TARGETS, QV, randomCritic, TINY, trainedAdapter } from './testing';
import { writeZip } from './zip';

const SEED = 0x5eed;

/**
 * Bytes inflated by every DEFLATE stream the decoders open (fflate's Inflate, which src/share/deflate.ts uses
 * for all of them), counted per case: decompression is the one way a small input makes these decoders do
 * much more work or allocate much more memory than its size.
 */
const inflated = vi.hoisted(() => ({ bytes: 0 }));

/**
 * The most a case may inflate: three times the bytes its archive or link holds uncompressed. A bundle reads
 * the weights' safetensors header twice (its length, then the header) before inflating the entry into its
 * buffer, and fflate hands an entry as small as these whole to each read, so a valid bundle here inflates
 * 2.5 times its entries; a link inflates its body once. A decompression bomb, an entry inflated once per
 * tensor, or a corrupt stream inflated past the size its archive declares goes over.
 */
const inflateBound = (uncompressedBytes: number) => 3 * uncompressedBytes;
vi.mock('fflate', async (importOriginal) => {
  const fflate = await importOriginal<typeof import('fflate')>();
  class CountingInflate extends fflate.Inflate {
    constructor(...args: ConstructorParameters<typeof fflate.Inflate>) {
      super(...args);
      const ondata = this.ondata;
      this.ondata = (chunk, final) => {
        inflated.bytes += chunk.length;
        ondata.call(this, chunk, final);
      };
    }
  }
  return { ...fflate, Inflate: CountingInflate };
});

// ---------------------------------------------------------------------------------------------------------
// Outcome bookkeeping.

interface Tally {
  accepted: number;
  rejected: number;
  mostInflated: number;
  messages: Set<string>;
}
const newTally = (): Tally => ({ accepted: 0, rejected: 0, mostInflated: 0, messages: new Set() });

/**
 * Runs one case: returns true if accepted; throws (failing the test) on an escaped exception type, a bad
 * message, or more than `maxInflated` bytes inflated (see inflateBound).
 */
function runCase(
  tally: Tally,
  label: string,
  expected: new (...args: never[]) => Error,
  fn: () => void,
  maxInflated = 0,
): boolean {
  inflated.bytes = 0;
  let ok = false;
  try {
    fn();
    ok = true;
    tally.accepted++;
  } catch (error) {
    if (!(error instanceof expected)) {
      const e = error as Error;
      throw new Error(`${label}: escaped ${e?.name ?? typeof error}: ${e?.message ?? String(error)}`, { cause: error });
    }
    const message = error.message;
    if (!message || /[\n\r]/.test(message) || message.length > 700) {
      throw new Error(`${label}: bad message ${JSON.stringify(message)}`, { cause: error });
    }
    tally.rejected++;
    tally.messages.add(message.replace(/\d+/g, 'N').slice(0, 80));
  }
  tally.mostInflated = Math.max(tally.mostInflated, inflated.bytes);
  if (inflated.bytes > maxInflated) {
    throw new Error(`${label}: inflated ${inflated.bytes} bytes, over its bound of ${maxInflated}`);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------------------
// Mutators.

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

function flipBytes(rng: Rng, bytes: Uint8Array, from = 0, to = bytes.length): Uint8Array {
  const out = bytes.slice();
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && to > from; i++) out[from + rng.int(to - from)] = rng.int(256);
  return out;
}

function flipBit(rng: Rng, bytes: Uint8Array, from = 0, to = bytes.length): Uint8Array {
  const out = bytes.slice();
  const at = from + rng.int(Math.max(1, to - from));
  out[at] ^= 1 << rng.int(8);
  return out;
}

function truncate(rng: Rng, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, rng.int(bytes.length));
}

function extend(rng: Rng, bytes: Uint8Array): Uint8Array {
  const extra = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes);
  out.set(extra, bytes.length);
  return out;
}

function spliceBytes(rng: Rng, bytes: Uint8Array, from: number, to: number): Uint8Array {
  const at = from + rng.int(Math.max(1, to - from));
  const del = rng.int(4);
  const ins = Uint8Array.from({ length: rng.int(4) }, () => rng.int(256));
  const out = new Uint8Array(bytes.length - Math.min(del, bytes.length - at) + ins.length);
  out.set(bytes.subarray(0, at));
  out.set(ins, at);
  out.set(bytes.subarray(Math.min(bytes.length, at + del)), at + ins.length);
  return out;
}

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2,
  3.5,
  -0.5,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 64,
  '',
  'F32',
  'F16',
  'BF16',
  'F64',
  'I8',
  'x'.repeat(2000),
  '\u0000\u001b[31m',
  [],
  [1],
  [-1, 2],
  [1, 2, 3],
  [8, 16],
  [16, 4],
  [4, 16],
  [0, 0],
  [1e20, 1],
  [[1]],
  {},
  { a: 1 },
];

/** Splits a safetensors file into its header JSON (parsed loosely) and data. */
function splitSafetensors(bytes: Uint8Array): { header: Record<string, Record<string, unknown>>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function joinSafetensors(headerText: string, data: Uint8Array, lengthLie?: bigint): Uint8Array {
  const h = encodeUtf8(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthLie ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Structured header mutations: dtype/shape/offset lies, duplicates, removals, renames, metadata. */
function mutateHeader(rng: Rng, bytes: Uint8Array): Uint8Array {
  const { header, data } = splitSafetensors(bytes);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rng, names);
  const entry = { ...header[name] } as Record<string, unknown>;
  let text: string | undefined;
  let newData = data;
  switch (rng.int(14)) {
    case 0:
      entry.dtype = pick(rng, ['F16', 'BF16', 'F64', 'I32', 'U8', 'BOOL', 'F8_E4M3', 'f32', 'float32', 'Q4', '']);
      break;
    case 1:
      entry.shape = pick(rng, WEIRD_VALUES);
      break;
    case 2: {
      const shape = (entry.shape as number[]).slice();
      shape[rng.int(shape.length)] += pick(rng, [-1, 1, 2, -2, 1000, 2 ** 32]);
      entry.shape = shape;
      break;
    }
    case 3:
      entry.data_offsets = pick(rng, WEIRD_VALUES);
      break;
    case 4: {
      const [b, e] = entry.data_offsets as number[];
      const d = pick(rng, [-4, 4, 1, -1, 2 ** 31, 2 ** 53, -b]);
      entry.data_offsets = rng.int(2) ? [b + d, e + d] : [b, e + d];
      break;
    }
    case 5:
      delete header[name];
      break;
    case 6:
      header[`${name.replace(/layers\.\d+/, `layers.${pick(rng, [2, 7, 99, 100000])}`)}`] = entry;
      break;
    case 7:
      header[name.replace(/\.(q|k|v|o|gate|up|down)_proj/, `.${pick(rng, ['q', 'gate', 'lm', 'x'])}_proj`)] = entry;
      delete header[name];
      break;
    case 8:
      header.__metadata__ = pick(rng, [
        { format: 1 },
        { format: 'np' },
        'pt',
        [],
        null,
        { a: { b: 1 } },
        { format: 'pt', x: 'y' },
      ]) as Record<string, unknown>;
      break;
    case 9: {
      // Duplicate the entry textually (JSON.parse would keep only the last).
      const body = JSON.stringify(header);
      const dup = `${JSON.stringify(name)}:${JSON.stringify(entry)}`;
      text = `{${dup},${body.slice(1)}`;
      break;
    }
    case 10:
      entry[pick(rng, ['extra', 'dtype2', '__proto__'])] = pick(rng, WEIRD_VALUES);
      break;
    case 11: {
      // Deep nesting or a long key.
      text = rng.int(2) ? `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}` : `{${JSON.stringify('k'.repeat(100_000))}:1}`;
      break;
    }
    case 12: {
      // Swap two tensors' offsets (valid tiling, wrong shapes).
      const other = pick(rng, names);
      const o = header[other];
      header[other] = { ...o, data_offsets: entry.data_offsets };
      entry.data_offsets = o.data_offsets;
      break;
    }
    default:
      newData = data.subarray(0, Math.max(0, data.length - 1 - rng.int(16)));
  }
  if (header[name] && !(rng.int(14) === 5)) header[name] = entry;
  text ??= JSON.stringify(header);
  return joinSafetensors(text, newData);
}

function lieHeaderLength(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const n = view.getBigUint64(0, true);
  view.setBigUint64(
    0,
    pick(rng, [
      0n,
      1n,
      2n,
      7n,
      n - 1n,
      n + 1n,
      n + 8n,
      BigInt(bytes.length),
      BigInt(bytes.length - 8),
      2n ** 32n,
      2n ** 53n + 1n,
      2n ** 64n - 1n,
      n * 2n,
    ]),
    true,
  );
  return out;
}

/** Writes NaN, +-Infinity or a huge finite number at an aligned float in the data. */
function injectValue(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const { data } = splitSafetensors(bytes);
  const start = bytes.length - data.length;
  const at = start + 4 * rng.int(data.length / 4);
  new DataView(out.buffer).setFloat32(at, pick(rng, [NaN, Infinity, -Infinity, 3e38, -1e30, 1e5]), true);
  return out;
}

function mutateSafetensors(rng: Rng, bytes: Uint8Array): { kind: string; bytes: Uint8Array } {
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  switch (rng.int(9)) {
    case 0:
      return { kind: 'byte flips', bytes: flipBytes(rng, bytes) };
    case 1:
      return { kind: 'header byte flips', bytes: flipBytes(rng, bytes, 0, headerEnd) };
    case 2:
      return { kind: 'bit flip', bytes: flipBit(rng, bytes) };
    case 3:
      return { kind: 'truncation', bytes: truncate(rng, bytes) };
    case 4:
      return { kind: 'extension', bytes: extend(rng, bytes) };
    case 5:
      return { kind: 'header length lie', bytes: lieHeaderLength(rng, bytes) };
    case 6:
      return { kind: 'header splice', bytes: spliceBytes(rng, bytes, 8, headerEnd) };
    case 7:
      return { kind: 'NaN/Inf/huge injection', bytes: injectValue(rng, bytes) };
    default:
      return { kind: 'header JSON mutation', bytes: mutateHeader(rng, bytes) };
  }
}

function mutateConfig(rng: Rng, text: string): string {
  const json = JSON.parse(text) as Record<string, unknown>;
  const keys = Object.keys(json);
  switch (rng.int(6)) {
    case 0:
      json[pick(rng, keys)] = pick(rng, WEIRD_VALUES);
      return JSON.stringify(json);
    case 1:
      delete json[pick(rng, keys)];
      return JSON.stringify(json);
    case 2:
      json[
        pick(rng, ['r', 'lora_alpha', 'target_modules', 'peft_type', 'use_dora', 'bias', 'task_type', 'lora_dropout'])
      ] = pick(rng, [
        ...WEIRD_VALUES,
        'LORA',
        'CAUSAL_LM',
        ['q_proj'],
        ['q_proj', 'v_proj', 'k_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        ['v_proj', 'q_proj', 'k_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        4,
        8,
        16,
        'all-linear',
        '.*',
      ]);
      return JSON.stringify(json);
    case 3: {
      const bytes = encodeUtf8(text);
      return new TextDecoder().decode(flipBytes(rng, bytes));
    }
    case 4:
      return text.slice(0, rng.int(text.length));
    default:
      return text.replace('"r":', `"r": 4, "r":`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures.

const shape = TINY;
const source = trainedAdapter(shape, ALL_TARGETS, 21);
const files = encodePeftAdapter(source, { baseModel: 'micro' });

function fingerprint(adapter: LoraAdapter): number {
  let h = crc32(encodeUtf8(JSON.stringify(adapter.config)));
  for (const m of adapter.modules) {
    h = crc32(new Uint8Array(m.a.buffer, m.a.byteOffset, m.a.byteLength), h);
    h = crc32(new Uint8Array(m.b.buffer, m.b.byteOffset, m.b.byteLength), h);
  }
  return (h ^ crc32(encodeUtf8(String(adapter.scale)))) >>> 0;
}

/** Load into a live adapter as the app would: decode, bind, replace. */
function loadPeftInto(live: LoraAdapter, config: string | Uint8Array | null, weights: Uint8Array): void {
  const decoded = decodePeftAdapter({ config, weights });
  const bound = bindAdapter(decoded.weights, shape, 'adapter');
  checkAdapterWeights(adapterWeightsOf(bound), 'adapter');
  replaceAdapterWeights(live, bound);
}

describe('fuzz (seeded)', () => {
  it('4000 mutated adapter_model.safetensors files: clean rejection or a valid adapter, live state untouched', () => {
    const rng = new Rng(SEED);
    const tally = newTally();
    const kinds = new Map<string, { accepted: number; rejected: number }>();
    const live = trainedAdapter(shape, ALL_TARGETS, 99);
    for (let i = 0; i < 4000; i++) {
      const { kind, bytes } = mutateSafetensors(rng, files.weights);
      const before = fingerprint(live);
      const copy = bytes.slice();
      const ok = runCase(tally, `safetensors case ${i} (${kind})`, AdapterFormatError, () =>
        loadPeftInto(live, files.config, bytes),
      );
      if (!ok && fingerprint(live) !== before) throw new Error(`case ${i} (${kind}) changed the live adapter`);
      if (crc32(bytes) !== crc32(copy)) throw new Error(`case ${i} mutated its input`);
      const k = kinds.get(kind) ?? { accepted: 0, rejected: 0 };
      k[ok ? 'accepted' : 'rejected']++;
      kinds.set(kind, k);
      if (ok) replaceAdapterWeights(live, trainedAdapter(shape, ALL_TARGETS, 99)); // reset
    }
    // Mutations that can never leave a valid file are always rejected.
    for (const kind of ['truncation', 'extension', 'NaN/Inf/huge injection', 'header splice'])
      expect(kinds.get(kind)?.accepted ?? 0, kind).toBeLessThanOrEqual(kind === 'header splice' ? 40 : 0);
    expect(kinds.get('header length lie')!.accepted).toBe(0);
    expect(tally.rejected).toBeGreaterThan(3000);
    expect(tally.messages.size).toBeGreaterThan(40);
    if (process.env.FUZZ_VERBOSE) console.log(kinds, [...tally.messages].sort().join('\n'));
  });

  it('1500 mutated adapter_config.json files', () => {
    const rng = new Rng(SEED + 1);
    const tally = newTally();
    const live = trainedAdapter(shape, ALL_TARGETS, 99);
    for (let i = 0; i < 1500; i++) {
      const config = mutateConfig(rng, files.config);
      const before = fingerprint(live);
      const ok = runCase(tally, `config case ${i}`, AdapterFormatError, () =>
        loadPeftInto(live, config, files.weights),
      );
      if (!ok && fingerprint(live) !== before) throw new Error(`config case ${i} changed the live adapter`);
      else replaceAdapterWeights(live, trainedAdapter(shape, ALL_TARGETS, 99));
    }
    expect(tally.rejected).toBeGreaterThan(800);
    expect(tally.messages.size).toBeGreaterThan(25);
    if (process.env.FUZZ_VERBOSE) console.log(tally.accepted, [...tally.messages].sort().join('\n'));
  });

  it('2000 mutated bundles (zip structure, entries, manifest, inner safetensors)', () => {
    const rng = new Rng(SEED + 2);
    const tally = newTally();
    const bundle = encodeBundle({
      modelId: 'tiny',
      baseModel: 'tiny',
      task: 'pizza',
      normalization: 'word',
      seed: 5,
      training: { lr: 1e-4, epochs: 1 },
      adapter: trainedAdapter(shape, QV, 3),
      critic: randomCritic([16, 8, 1]),
      metrics: [{ update: 1, value: 0.5 }],
    });
    const entries = unzipSync(bundle);
    const names = Object.keys(entries);
    const eocd = bundle.length - 22;
    const cd = new DataView(bundle.buffer).getUint32(eocd + 16, true);
    const contentOf = (files: Record<string, Uint8Array>) => Object.values(files).reduce((n, e) => n + e.length, 0);
    for (let i = 0; i < 2000; i++) {
      let bytes: Uint8Array;
      let content = contentOf(entries);
      const which = rng.int(8);
      if (which === 0) bytes = flipBytes(rng, bundle);
      else if (which === 1)
        bytes = flipBytes(rng, bundle, cd, bundle.length); // central directory and end record
      else if (which === 2) bytes = truncate(rng, bundle);
      else if (which === 3) bytes = spliceBytes(rng, bundle, 0, bundle.length);
      else {
        // Rebuild the zip with one entry mutated (valid zip, bad content) or added/removed.
        const copy: Record<string, Uint8Array> = { ...entries };
        const name = pick(rng, names);
        if (which === 4 && name.endsWith('.safetensors')) copy[name] = mutateSafetensors(rng, copy[name]).bytes;
        else if (which === 5 && name.endsWith('.json'))
          copy[name] = encodeUtf8(mutateConfig(rng, new TextDecoder().decode(copy[name])));
        else if (which === 6) {
          if (rng.int(2)) delete copy[name];
          else copy[pick(rng, ['extra.txt', 'adapter_model.bin', 'twosome.json.bak'])] = new Uint8Array(3);
        } else copy[name] = flipBytes(rng, copy[name]);
        bytes = writeZip(Object.entries(copy).map(([n, data]) => ({ name: n, data })));
        content = contentOf(copy);
      }
      runCase(
        tally,
        `bundle case ${i}`,
        AdapterFormatError,
        () => {
          const b = decodeBundle(bytes, { file: 'run.zip' });
          bindBundle(b, shape, 'tiny');
        },
        inflateBound(content),
      );
    }
    // The count sees the decoders' streams (the mock is in effect), and the bound is within a factor of two.
    expect(tally.mostInflated).toBeGreaterThan(inflateBound(contentOf(entries)) / 2);
    expect(tally.rejected).toBeGreaterThan(1500);
    expect(tally.messages.size).toBeGreaterThan(40);
    if (process.env.FUZZ_VERBOSE) console.log(tally.accepted, [...tally.messages].sort().join('\n'));
  });

  it('3000 mutated share links (text edits, and byte edits behind a re-computed checksum)', () => {
    const rng = new Rng(SEED + 3);
    const tally = newTally();
    const payload: SharePayload = {
      modelId: 'micro',
      task: 'cheese',
      normalization: 'sum',
      seed: 9,
      weights: adapterWeightsOf(trainedAdapter(shape, QV, 4)),
    };
    const link = encodeShareLink(payload, { precision: 'f16' });
    const int8 = encodeShareLink(payload, { precision: 'int8' });
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const reframe = (bytes: Uint8Array) => {
      const out = bytes.slice();
      new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
      return `#share=${encodeBase64Url(out)}`;
    };
    for (let i = 0; i < 3000; i++) {
      const base = rng.int(2) ? link.fragment : int8.fragment;
      const value = base.slice(7);
      const bytes = decodeBase64Url(value) as Uint8Array;
      let content = new DataView(bytes.buffer, bytes.byteOffset).getUint32(2, true); // the body's length
      let candidate: string;
      switch (rng.int(8)) {
        case 0: {
          const at = rng.int(value.length);
          candidate = `#share=${value.slice(0, at)}${pick(rng, [...B64, '=', '+', '/', '%', ' ', 'é'])}${value.slice(at + 1)}`;
          break;
        }
        case 1:
          candidate = base.slice(0, rng.int(base.length));
          break;
        case 2:
          candidate = `${base}${B64[rng.int(64)].repeat(1 + rng.int(8))}`;
          break;
        case 3:
          candidate = reframe(flipBytes(rng, bytes, 0, bytes.length - 4)); // header and compressed stream
          break;
        case 4: {
          const out = bytes.slice();
          out[rng.int(2)] = rng.int(256); // version or precision
          candidate = reframe(out);
          break;
        }
        case 5: {
          const out = bytes.slice();
          new DataView(out.buffer).setUint32(
            2,
            pick(rng, [
              0,
              1,
              100,
              2 ** 20 + 1,
              2 ** 32 - 1,
              new DataView(bytes.buffer).getUint32(2, true) + pick(rng, [-1, 1]),
            ]),
            true,
          );
          candidate = reframe(out);
          break;
        }
        case 6: {
          // Mutate the body itself, then compress and frame it validly.
          const body = inflateSync(bytes.subarray(6, bytes.length - 4));
          const mutated =
            rng.int(3) === 0 ? truncate(rng, body) : rng.int(2) ? flipBytes(rng, body, 0, 40) : flipBytes(rng, body);
          const compressed = deflateRaw(mutated);
          content = mutated.length;
          const out = new Uint8Array(6 + compressed.length + 4);
          out[0] = bytes[0];
          out[1] = bytes[1];
          new DataView(out.buffer).setUint32(2, mutated.length, true);
          out.set(compressed, 6);
          candidate = reframe(out);
          break;
        }
        default:
          candidate = pick(rng, [
            '',
            '#',
            '#share',
            '#share=',
            'share=A',
            `#share=${'A'.repeat(40_000)}`,
            `https://x.org/#share=${value}#share=${value}`,
            `#share=${value}&x=1`,
            '#share=\u0000\u0001',
          ]);
      }
      runCase(
        tally,
        `link case ${i}`,
        ShareLinkError,
        () => {
          const decoded = decodeShareLink(candidate);
          bindAdapter(decoded.weights, shape, 'link');
        },
        inflateBound(content),
      );
    }
    expect(tally.mostInflated).toBeGreaterThan(0);
    expect(tally.rejected).toBeGreaterThan(2500);
    expect(tally.messages.size).toBeGreaterThan(25);
    if (process.env.FUZZ_VERBOSE) console.log(tally.accepted, [...tally.messages].sort().join('\n'));
  });
});
