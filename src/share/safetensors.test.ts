import { describe, expect, it } from 'vitest';
import { encodeUtf8, float32ToBytes } from './bytes';
import { AdapterFormatError } from './errors';
import { readSafetensors, tensorData, writeSafetensors, type SafetensorsEntry } from './safetensors';

const f32 = (...v: number[]) => float32ToBytes(Float32Array.from(v));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A safetensors file from a header string and a data length (bytes 0, 1, 2, ...). */
function fileOf(header: string, dataBytes: number, lengthField?: number): Uint8Array {
  const h = encodeUtf8(header);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthField ?? h.length), true);
  out.set(h, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + h.length + i] = i & 255;
  return out;
}

const reject = (bytes: Uint8Array, message: RegExp) => {
  expect(() => readSafetensors(bytes, 'x.safetensors')).toThrow(AdapterFormatError);
  expect(() => readSafetensors(bytes, 'x.safetensors')).toThrow(message);
};

describe('safetensors writer', () => {
  it('writes what the reference library writes: header length, compact JSON, data', () => {
    // safetensors' own serialization test: one F32 tensor "attn.0" [1, 2, 3] = 0..5, no metadata.
    const out = writeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(Array.from(out.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(text(out.subarray(8, 72))).toBe(header);
    expect(out.subarray(72)).toEqual(f32(0, 1, 2, 3, 4, 5));
    expect(out.length).toBe(96);
  });

  it('pads the header with spaces to a multiple of 8 (forced alignment)', () => {
    const out = writeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]);
    expect(out[0]).toBe(72);
    expect(text(out.subarray(8, 80))).toBe(
      `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${' '.repeat(7)}`,
    );
  });

  it('writes an empty file as "{}" plus padding, and metadata first', () => {
    expect(Array.from(writeSafetensors([]))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMeta = writeSafetensors([], { framework: 'pt' });
    expect(withMeta[0]).toBe(40);
    expect(text(withMeta.subarray(8))).toBe(`{"__metadata__":{"framework":"pt"}}${' '.repeat(5)}`);
  });

  it('orders tensors by dtype alignment (largest first), then name bytes', () => {
    const entries: SafetensorsEntry[] = [
      { name: 'b', dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      { name: 'layers.10', dtype: 'F32', shape: [1], data: f32(10) },
      { name: 'layers.2', dtype: 'F32', shape: [1], data: f32(2) },
      { name: 'a', dtype: 'F16', shape: [1], data: new Uint8Array([0, 0x3c]) },
      { name: 'z', dtype: 'F64', shape: [0], data: new Uint8Array(0) },
    ];
    const file = readSafetensors(writeSafetensors(entries), 'x');
    expect(file.header.tensors.map((t) => t.name)).toEqual(['z', 'layers.10', 'layers.2', 'a', 'b']);
    expect(file.header.tensors.map((t) => [t.begin, t.end])).toEqual([
      [0, 0],
      [0, 4],
      [4, 8],
      [8, 10],
      [10, 11],
    ]);
  });

  it('round trips tensors and metadata bit for bit', () => {
    const values = Float32Array.from([NaN, -0, Infinity, 1e-45, 3.4e38, -1.5]);
    const bytes = writeSafetensors(
      [
        { name: 'w', dtype: 'F32', shape: [2, 3], data: float32ToBytes(values) },
        { name: 'i', dtype: 'I64', shape: [1], data: new Uint8Array(8).fill(255) },
      ],
      { format: 'pt', note: 'é "quoted"' },
    );
    const file = readSafetensors(bytes, 'x');
    expect(file.header.metadata).toEqual({ format: 'pt', note: 'é "quoted"' });
    const w = file.header.tensors.find((t) => t.name === 'w')!;
    expect(w).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(tensorData(file, w)).toEqual(float32ToBytes(values));
    expect(file.header.dataStart % 8).toBe(0);
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(4) }])).toThrow(
      /needs 8 bytes/,
    );
    expect(() =>
      writeSafetensors([
        { name: 'w', dtype: 'F32', shape: [1], data: f32(1) },
        { name: 'w', dtype: 'F32', shape: [1], data: f32(1) },
      ]),
    ).toThrow(/twice/);
    expect(() => writeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: f32(1) }])).toThrow(
      /invalid tensor name/,
    );
  });
});

describe('safetensors reader rejects', () => {
  const ok =
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';

  it('accepts the valid base case, with the reference padding or none', () => {
    expect(readSafetensors(fileOf(ok, 11), 'x').header.tensors).toHaveLength(2);
    expect(readSafetensors(fileOf(`${ok}   `, 11), 'x').header.tensors).toHaveLength(2);
  });

  it('short files and header-length lies', () => {
    reject(new Uint8Array(5), /too short/);
    reject(fileOf(ok, 11, 2 ** 40), /exceeds the limit/);
    reject(fileOf(ok, 11, 2 ** 63 - 1), /exceeds the limit/);
    reject(fileOf(ok, 11, 0), /too small/);
    reject(fileOf(ok, 11, ok.length + 100), /runs past the end/);
    reject(fileOf(ok, 11, ok.length - 1), /not valid JSON/);
  });

  it('bad headers: not UTF-8, not "{", not JSON, duplicates, unknown fields', () => {
    const bytes = fileOf(ok, 11);
    bytes[10] = 0xff;
    reject(bytes, /UTF-8/);
    reject(fileOf(` ${ok}`, 11), /does not start with "\{"/);
    reject(fileOf('[1,2]', 0), /does not start/);
    reject(fileOf('{"a":1,}', 0), /not valid JSON/);
    reject(
      fileOf(
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        1,
      ),
      /duplicate key "a"/,
    );
    reject(fileOf('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}', 1), /unexpected field "x"/);
    reject(fileOf('{"a":{"dtype":"U8","shape":[1]}}', 1), /missing "data_offsets"/);
    reject(fileOf('{"__metadata__":{"format":1}}', 0), /must be a string/);
    reject(fileOf('{"a":[]}', 0), /expected \{"dtype"/);
  });

  it('bad dtypes, shapes and offsets', () => {
    reject(fileOf('{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', 4), /unknown dtype "F33"/);
    reject(fileOf('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /non-negative integers/);
    reject(fileOf('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 4), /non-negative integers/);
    reject(fileOf('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', 4), /non-negative integers/);
    reject(
      fileOf('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', 4),
      /more elements than can be addressed/,
    );
    reject(
      fileOf('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4),
      /takes 8 bytes but data_offsets \[0, 4\] span 4/,
    );
    reject(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4), /end before they begin/);
    reject(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 4), /two non-negative integers/);
    reject(
      fileOf(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}',
        6,
      ),
      /overlaps/,
    );
    reject(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /hole in the data/);
    reject(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 3), /truncated/);
    reject(
      fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 9),
      /5 unexpected bytes after the last tensor/,
    );
    reject(fileOf('{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}', 4), /9 dimensions/);
  });

  it('caps the tensor count and the header size', () => {
    const many = `{${Array.from({ length: 20 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`).join(',')}}`;
    expect(() => readSafetensors(fileOf(many, 20), 'x', { maxTensors: 10 })).toThrow(/more than 10 tensors/);
    expect(() => readSafetensors(fileOf(many, 20), 'x', { maxHeaderBytes: 100 })).toThrow(/exceeds the limit of 100/);
    expect(readSafetensors(fileOf(many, 20), 'x').header.tensors).toHaveLength(20);
  });
});
