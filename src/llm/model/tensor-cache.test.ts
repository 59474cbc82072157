import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { architectureConfig } from './catalog';
import type { LlamaConfig } from './config';
import { ModelFormatError } from './errors';
import { makeModelConfig, DEFAULT_MAKE_MODEL_OPTIONS } from './make-model';
import { md5Hex, md5HexJs } from './md5';
import { f32ToBf16Bits, f32ToF16Bits } from './quant';
import {
  checkLlamaTensors,
  checkShardBytes,
  decodeFloatTensor,
  decodeTensor,
  decodeU32Tensor,
  expectedLlamaTensors,
  parseTensorCache,
  parseTensorCacheText,
  type TensorCache,
} from './tensor-cache';
import { thrownBy } from '../../util/testing';

const MICRO = resolve(process.cwd(), 'public/models/micro');

const errorOf = (fn: () => unknown) => thrownBy(fn, ModelFormatError);

/** A one-shard cache with the given tensor records (offsets laid out in order unless given). */
function cacheJson(tensors: Record<string, unknown>[], shardBytes?: number): Record<string, any> {
  let offset = 0;
  const records = tensors.map((t) => {
    const r: Record<string, unknown> = { byteOffset: offset, format: 'raw', ...t };
    offset = (r.byteOffset as number) + (r.nbytes as number);
    return r;
  });
  return {
    metadata: { ParamSize: 0, ParamBytes: offset, BitsPerParam: 0 },
    records: [
      {
        dataPath: 'params_shard_0.bin',
        format: 'raw-shard',
        nbytes: shardBytes ?? offset,
        md5sum: '0'.repeat(32),
        records,
      },
    ],
  };
}

describe('md5', () => {
  it('matches node:crypto for lengths around the 64-byte block and padding boundaries (the JS version browsers run, and md5Hex)', () => {
    const rng = new Rng(3);
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
      const data = Uint8Array.from({ length: n }, () => rng.int(256));
      const want = createHash('md5').update(data).digest('hex');
      expect(md5HexJs(data), `length ${n}`).toBe(want);
      expect(md5Hex(data), `length ${n}`).toBe(want);
    }
    expect(md5HexJs(new TextEncoder().encode('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
  });
});

describe('parseTensorCache', () => {
  it('reads the micro model index; its shard passes the size and md5 checks', () => {
    const cache = parseTensorCacheText(readFileSync(resolve(MICRO, 'tensor-cache.json'), 'utf8'));
    expect(cache.shards).toHaveLength(1);
    const shard = cache.shards[0];
    expect(shard.dataPath).toBe('params_shard_0.bin');
    expect(shard.md5sum).toMatch(/^[0-9a-f]{32}$/);
    checkShardBytes(shard, new Uint8Array(readFileSync(resolve(MICRO, shard.dataPath))));
    expect(cache.tensors.get('model.embed_tokens.q_weight')).toMatchObject({
      dtype: 'uint32',
      shard: 0,
      byteOffset: 0,
    });
    expect(cache.metadata.ParamBytes).toBe(shard.nbytes);
  });

  it('decodes each dtype, f32-to-bf16 only on float32 records, at unaligned offsets', () => {
    const f32 = new Float32Array([1.5, -2.25]);
    const f16 = new Uint16Array([f32ToF16Bits(0.5), f32ToF16Bits(-3)]);
    const bf = new Uint16Array([f32ToBf16Bits(1.25), f32ToBf16Bits(-8)]);
    const u32 = new Uint32Array([0x76543210, 0xdeadbeef]);
    const parts: [string, Uint8Array][] = [
      ['pad', new Uint8Array(2)],
      ['f16 labeled bf16', new Uint8Array(f16.buffer)],
      ['f32 raw', new Uint8Array(f32.buffer)],
      ['f32 as bf16', new Uint8Array(bf.buffer)],
      ['u32 labeled bf16', new Uint8Array(u32.buffer)],
      ['bfloat16', new Uint8Array(bf.buffer)],
    ];
    const bytes = new Uint8Array(parts.reduce((s, [, b]) => s + b.length, 0));
    const offsets: number[] = [];
    parts.reduce((offset, [, b]) => {
      bytes.set(b, offset);
      offsets.push(offset);
      return offset + b.length;
    }, 0);
    const cache = parseTensorCache(
      cacheJson(
        [
          { name: 'a', shape: [2], dtype: 'float16', format: 'f32-to-bf16', nbytes: 4, byteOffset: offsets[1] },
          { name: 'b', shape: [2], dtype: 'float32', format: 'raw', nbytes: 8, byteOffset: offsets[2] },
          { name: 'c', shape: [2], dtype: 'float32', format: 'f32-to-bf16', nbytes: 4, byteOffset: offsets[3] },
          { name: 'd', shape: [1, 2], dtype: 'uint32', format: 'f32-to-bf16', nbytes: 8, byteOffset: offsets[4] },
          { name: 'e', shape: [2], dtype: 'bfloat16', nbytes: 4, byteOffset: offsets[5] },
        ],
        bytes.length,
      ),
    );
    const get = (name: string) => cache.tensors.get(name)!;
    expect(Array.from(decodeFloatTensor(get('a'), bytes))).toEqual([0.5, -3]);
    expect(Array.from(decodeFloatTensor(get('b'), bytes))).toEqual([1.5, -2.25]);
    expect(Array.from(decodeFloatTensor(get('c'), bytes))).toEqual([1.25, -8]);
    expect(Array.from(decodeU32Tensor(get('d'), bytes))).toEqual([0x76543210, 0xdeadbeef]);
    expect(decodeTensor(get('d'), bytes)).toBeInstanceOf(Uint32Array);
    expect(Array.from(decodeTensor(get('e'), bytes))).toEqual([1.25, -8]);
    expect(() => decodeU32Tensor(get('a'), bytes)).toThrow(/expected uint32/);
  });

  it('rejects a tensor whose nbytes does not match its shape and dtype (2 bytes per element for f32-to-bf16)', () => {
    const e = errorOf(() =>
      parseTensorCache(
        cacheJson([{ name: 'w', shape: [4, 8], dtype: 'float32', format: 'f32-to-bf16', nbytes: 128 }]),
        'm/tensor-cache.json',
      ),
    );
    expect(e.message).toBe(
      'm/tensor-cache.json: tensor "w": nbytes 128 does not match shape [4, 8] x 2 bytes (float32 stored as bf16) = 64',
    );
    expect(() =>
      parseTensorCache(cacheJson([{ name: 'w', shape: [4, 8], dtype: 'float32', format: 'f32-to-bf16', nbytes: 64 }])),
    ).not.toThrow();
  });

  it('rejects offsets past the shard end, overlaps, duplicate names, unknown dtypes and malformed records', () => {
    expect(
      errorOf(() => parseTensorCache(cacheJson([{ name: 'w', shape: [4], dtype: 'float32', nbytes: 16 }], 12))).message,
    ).toContain('run past the end of shard "params_shard_0.bin" (12 bytes)');
    expect(
      errorOf(() =>
        parseTensorCache(
          cacheJson([
            { name: 'a', shape: [4], dtype: 'float32', nbytes: 16, byteOffset: 0 },
            { name: 'b', shape: [4], dtype: 'float32', nbytes: 16, byteOffset: 8 },
          ]),
        ),
      ).message,
    ).toContain('overlap');
    const dup = cacheJson([{ name: 'a', shape: [1], dtype: 'float32', nbytes: 4 }]);
    dup.records.push({
      dataPath: 'params_shard_1.bin',
      format: 'raw-shard',
      nbytes: 4,
      records: [{ name: 'a', shape: [1], dtype: 'float32', format: 'raw', nbytes: 4, byteOffset: 0 }],
    });
    expect(errorOf(() => parseTensorCache(dup)).message).toContain('tensor "a" appears twice (duplicate name)');
    const twice = cacheJson([{ name: 'a', shape: [1], dtype: 'float32', nbytes: 4 }]);
    twice.records.push({ ...twice.records[0], records: [] });
    expect(errorOf(() => parseTensorCache(twice)).message).toContain('listed twice');
    expect(
      errorOf(() => parseTensorCache(cacheJson([{ name: 'a', shape: [1], dtype: 'float8', nbytes: 1 }]))).message,
    ).toContain('unsupported dtype "float8"');
    expect(
      errorOf(() => parseTensorCache(cacheJson([{ name: 'a', shape: [-1], dtype: 'float32', nbytes: 4 }]))).message,
    ).toContain('"shape" must be a list');
    expect(errorOf(() => parseTensorCache({ metadata: {} })).message).toContain('missing "records"');
    expect(
      errorOf(() => parseTensorCache({ records: [{ format: 'raw-shard', nbytes: 0, records: [] }] })).message,
    ).toContain('has no "dataPath"');
    expect(
      errorOf(() => parseTensorCache({ records: [{ dataPath: 'x', nbytes: 0, md5sum: 'zz', records: [] }] })).message,
    ).toContain('"md5sum" must be 32 hex digits');
    expect(errorOf(() => parseTensorCacheText('{', 'q/ndarray-cache.json')).message).toMatch(
      /^q\/ndarray-cache\.json: not valid JSON/,
    );
  });

  it('accepts only dataPaths inside the model directory', () => {
    const at = (dataPath: string) => ({ records: [{ dataPath, nbytes: 0, records: [] }] });
    for (const ok of ['params_shard_0.bin', 'shards/params_shard_0.bin']) {
      expect(parseTensorCache(at(ok)).shards[0].dataPath).toBe(ok);
    }
    const outside = ['../other/params_shard_0.bin', '/etc/passwd', 'https://elsewhere.example/x.bin', 'a/../../b'];
    for (const bad of [...outside, './x', 'a\\..\\b', '%2e%2e/x', 'C:x', 'a//b']) {
      const message = errorOf(() => parseTensorCache(at(bad))).message;
      expect(message, bad).toContain("is not a file name inside the model's directory");
    }
  });
});

describe('checkShardBytes', () => {
  const bytes = new TextEncoder().encode('some shard bytes');
  const shard = {
    dataPath: 'params_shard_0.bin',
    format: 'raw-shard',
    nbytes: bytes.length,
    md5sum: md5Hex(bytes),
    tensors: [],
  };

  it('accepts the right bytes', () => {
    expect(() => checkShardBytes(shard, bytes)).not.toThrow();
  });

  it('reports a truncated shard, a too-long one, and an md5 mismatch, naming the file', () => {
    expect(errorOf(() => checkShardBytes(shard, bytes.subarray(0, 10), '/m/params_shard_0.bin')).message).toBe(
      `/m/params_shard_0.bin: truncated: 10 bytes, tensor-cache.json says ${bytes.length}; the download is incomplete, fetch the file again`,
    );
    expect(errorOf(() => checkShardBytes(shard, new Uint8Array(bytes.length + 1))).message).toContain('size mismatch');
    const corrupt = bytes.slice();
    corrupt[3] ^= 1;
    expect(errorOf(() => checkShardBytes(shard, corrupt)).message).toContain(
      `md5 mismatch: got ${md5Hex(corrupt)}, tensor-cache.json says ${shard.md5sum}`,
    );
    expect(() => checkShardBytes(shard, corrupt, shard.dataPath, false)).not.toThrow();
  });
});

describe('expected Llama tensors', () => {
  // The catalog's Llama-3.2-1B (GQA 32/8 heads, head_dim 64, tied embeddings), in the quantization its id names.
  const llama32 = architectureConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC');

  it('lists MLC names, shapes and dtypes for a q4f16_1 Llama-3.2-1B-shaped config', () => {
    const list = expectedLlamaTensors(llama32);
    expect(list).toHaveLength(2 + 16 * 10 + 1); // embedding, 16 layers of 2 norms + 4 quantized linears, final norm; tied: no lm_head
    const byName = new Map(list.map((t) => [t.name, t]));
    expect(byName.get('model.embed_tokens.q_weight')).toEqual({
      name: 'model.embed_tokens.q_weight',
      shape: [128256, 256],
      dtype: 'uint32',
    });
    expect(byName.get('model.embed_tokens.q_scale')).toEqual({
      name: 'model.embed_tokens.q_scale',
      shape: [128256, 64],
      dtype: 'float16',
    });
    expect(byName.get('model.layers.3.self_attn.qkv_proj.q_weight')?.shape).toEqual([(32 + 2 * 8) * 64, 2048 / 8]);
    expect(byName.get('model.layers.3.self_attn.o_proj.q_scale')?.shape).toEqual([2048, (32 * 64) / 32]);
    expect(byName.get('model.layers.15.mlp.gate_up_proj.q_weight')?.shape).toEqual([2 * 8192, 256]);
    expect(byName.get('model.layers.15.mlp.down_proj.q_weight')?.shape).toEqual([2048, 8192 / 8]);
    expect(byName.get('model.norm.weight')).toEqual({ name: 'model.norm.weight', shape: [2048], dtype: 'float16' });
    expect(byName.has('lm_head.q_weight')).toBe(false);
  });

  it('uses .weight tensors without quantization, f32 scales and norms for q4f32_1, and lm_head when untied', () => {
    const q0 = expectedLlamaTensors({ ...llama32, quantization: 'q0f32', tieEmbeddings: false });
    expect(q0.find((t) => t.name === 'lm_head.weight')).toEqual({
      name: 'lm_head.weight',
      shape: [128256, 2048],
      dtype: 'float32',
    });
    expect(q0.find((t) => t.name === 'model.layers.0.self_attn.qkv_proj.weight')?.shape).toEqual([3072, 2048]);
    const q4f32 = expectedLlamaTensors({ ...llama32, quantization: 'q4f32_1' });
    expect(q4f32.find((t) => t.name === 'model.layers.0.mlp.down_proj.q_scale')?.dtype).toBe('float32');
    expect(q4f32.find((t) => t.name === 'model.layers.0.input_layernorm.weight')?.dtype).toBe('float32');
  });

  describe('checkLlamaTensors', () => {
    const config: LlamaConfig = makeModelConfig({ ...DEFAULT_MAKE_MODEL_OPTIONS, layers: 1 }, 100);
    const cacheFor = (mutate: (records: Record<string, unknown>[]) => Record<string, unknown>[]): TensorCache => {
      const records = expectedLlamaTensors(config).map((t) => ({
        name: t.name,
        shape: t.shape,
        dtype: t.dtype,
        nbytes: t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'float16' ? 2 : 4),
      }));
      return parseTensorCache(cacheJson(mutate(records)));
    };

    it('accepts exactly the expected tensors', () => {
      expect(() =>
        checkLlamaTensors(
          cacheFor((r) => r),
          config,
        ),
      ).not.toThrow();
    });

    it('names a missing tensor', () => {
      const e = errorOf(() =>
        checkLlamaTensors(
          cacheFor((r) => r.filter((t) => t.name !== 'model.layers.0.mlp.down_proj.q_scale')),
          config,
          'dir/tensor-cache.json',
        ),
      );
      expect(e.message).toContain(
        'dir/tensor-cache.json: missing tensor "model.layers.0.mlp.down_proj.q_scale" [64, 4] float16',
      );
      const lm = errorOf(() =>
        checkLlamaTensors(
          cacheFor((r) => r.filter((t) => !String(t.name).startsWith('lm_head'))),
          config,
        ),
      );
      expect(lm.message).toContain('tie_word_embeddings is false');
    });

    it('names a tensor with the wrong shape, with expected and found', () => {
      const e = errorOf(() =>
        checkLlamaTensors(
          cacheFor((r) =>
            r.map((t) =>
              t.name === 'model.layers.0.self_attn.qkv_proj.q_weight'
                ? { ...t, shape: [96, 8], nbytes: 96 * 8 * 4 }
                : t,
            ),
          ),
          config,
        ),
      );
      expect(e.message).toContain(
        'tensor "model.layers.0.self_attn.qkv_proj.q_weight" has shape [96, 8], expected [128, 8]',
      );
    });

    it('names a tensor with the wrong dtype', () => {
      const e = errorOf(() =>
        checkLlamaTensors(
          cacheFor((r) => r.map((t) => (t.name === 'model.norm.weight' ? { ...t, dtype: 'float32', nbytes: 256 } : t))),
          config,
        ),
      );
      expect(e.message).toContain('tensor "model.norm.weight" has dtype float32, expected float16 for q4f16_1');
    });

    it('rejects tensors the config does not use', () => {
      const e = errorOf(() =>
        checkLlamaTensors(
          cacheFor((r) => r),
          { ...config, tieEmbeddings: true },
        ),
      );
      expect(e.message).toContain(
        'unexpected tensor "lm_head.q_weight" (mlc-chat-config.json says tie_word_embeddings is true)',
      );
    });
  });
});
