import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from './errors';
import { makeModel, type MadeFile } from './make-model';
import { md5Hex } from './md5';
import { loadLlamaModel, memorySource } from './weights';
import { loadLlamaModelAndTokenizer, loadLlamaModelFromDir } from './weights-node';
import { rejectedBy } from '../../util/testing';

const base = makeModel({ layers: 1 });
const text = (files: MadeFile[], name: string) => new TextDecoder().decode(files.find((f) => f.name === name)!.bytes);

/** The model's files with one replaced (or removed when `bytes` is undefined). */
function withFile(name: string, bytes: Uint8Array | string | undefined, files: MadeFile[] = base.files): MadeFile[] {
  const rest = files.filter((f) => f.name !== name);
  if (bytes === undefined) return rest;
  return [...rest, { name, bytes: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes }];
}

/** The files with tensor-cache.json edited (and nothing else). */
function withCache(edit: (cache: any) => void): MadeFile[] {
  const cache = JSON.parse(text(base.files, 'tensor-cache.json'));
  edit(cache);
  return withFile('tensor-cache.json', JSON.stringify(cache));
}

const loadError = (files: MadeFile[]) => rejectedBy(() => loadLlamaModel(memorySource(files, 'm')), ModelFormatError);

describe('loadLlamaModel', () => {
  it('loads a made model; an ndarray-cache.json index works the same', async () => {
    const loaded = await loadLlamaModel(memorySource(base.files));
    expect(loaded.cacheFile).toBe('tensor-cache.json');
    expect(loaded.weights.layers).toHaveLength(1);
    const renamed = withFile(
      'ndarray-cache.json',
      text(base.files, 'tensor-cache.json'),
      withFile('tensor-cache.json', undefined),
    );
    const again = await loadLlamaModel(memorySource(renamed));
    expect(again.cacheFile).toBe('ndarray-cache.json');
    expect(again.weights.embed).toEqual(loaded.weights.embed);
  });

  it('names a missing file', async () => {
    expect((await loadError(withFile('mlc-chat-config.json', undefined))).message).toBe(
      "m/mlc-chat-config.json: missing (the model's architecture and quantization); is this an MLC model directory?",
    );
    expect((await loadError(withFile('tensor-cache.json', undefined))).message).toContain(
      'm/tensor-cache.json: missing (nor is there an ndarray-cache.json)',
    );
    expect((await loadError(withFile('params_shard_0.bin', undefined))).message).toContain(
      'm/params_shard_0.bin: missing (a weight shard listed in the tensor cache)',
    );
  });

  it('refuses a non-Llama architecture', async () => {
    const config = JSON.parse(text(base.files, 'mlc-chat-config.json'));
    config.model_type = 'qwen2';
    expect((await loadError(withFile('mlc-chat-config.json', JSON.stringify(config)))).message).toBe(
      'm/mlc-chat-config.json: only Llama-architecture models are supported (got qwen2); pick a Llama model such as Llama-3.2-1B-Instruct-q4f16_1-MLC',
    );
  });

  it('reports a truncated shard', async () => {
    const shard = base.files.find((f) => f.name === 'params_shard_0.bin')!.bytes;
    const e = await loadError(withFile('params_shard_0.bin', shard.subarray(0, shard.length - 100)));
    expect(e.message).toBe(
      `m/params_shard_0.bin: truncated: ${shard.length - 100} bytes, tensor-cache.json says ${shard.length}; the download is incomplete, fetch the file again`,
    );
  });

  it('reports an md5 mismatch (and can skip the check)', async () => {
    const corrupt = base.files.find((f) => f.name === 'params_shard_0.bin')!.bytes.slice();
    corrupt[1000] ^= 0xff;
    const files = withFile('params_shard_0.bin', corrupt);
    expect((await loadError(files)).message).toContain(`m/params_shard_0.bin: md5 mismatch: got ${md5Hex(corrupt)}`);
    await expect(loadLlamaModel(memorySource(files), { verifyMd5: false })).resolves.toBeDefined();
  });

  it('reports a wrong shape and a wrong dtype against mlc-chat-config.json', async () => {
    const shape = await loadError(
      withCache((cache) => {
        const r = cache.records[0].records.find((t: any) => t.name === 'model.layers.0.mlp.gate_up_proj.q_weight');
        r.shape = [128, 16]; // same byte count, wrong shape
      }),
    );
    expect(shape.message).toBe(
      'm/tensor-cache.json: tensor "model.layers.0.mlp.gate_up_proj.q_weight" has shape [128, 16], expected [256, 8] from mlc-chat-config.json',
    );
    const dtype = await loadError(
      withCache((cache) => {
        const r = cache.records[0].records.find((t: any) => t.name === 'model.norm.weight');
        r.dtype = 'bfloat16'; // same byte count, wrong dtype
      }),
    );
    expect(dtype.message).toBe(
      'm/tensor-cache.json: tensor "model.norm.weight" has dtype bfloat16, expected float16 for q4f16_1',
    );
  });

  it('reports a duplicate tensor name and a missing tensor', async () => {
    const dup = await loadError(
      withCache((cache) => {
        const records = cache.records[0].records;
        records.push({ ...records[records.length - 1] });
      }),
    );
    expect(dup.message).toContain('appears twice (duplicate name)');
    const missing = await loadError(
      withCache(
        (cache) =>
          (cache.records[0].records = cache.records[0].records.filter((t: any) => t.name !== 'lm_head.q_scale')),
      ),
    );
    expect(missing.message).toContain('missing tensor "lm_head.q_scale"');
  });
});

describe('non-finite weights', () => {
  it('names the tensor holding a NaN or an infinity (a norm weight, a q4 scale)', async () => {
    const cache = JSON.parse(text(base.files, 'tensor-cache.json'));
    for (const [name, bits] of [
      ['model.layers.0.input_layernorm.weight', 0x7c00],
      ['model.layers.0.self_attn.qkv_proj.q_scale', 0x7e00],
    ] as const) {
      const shard = cache.records.find((r: any) => r.records.some((t: any) => t.name === name));
      const record = shard.records.find((t: any) => t.name === name);
      const bytes = base.files.find((f) => f.name === shard.dataPath)!.bytes.slice();
      new DataView(bytes.buffer).setUint16(record.byteOffset + 2 * 3, bits, true); // element 3
      const edited = structuredClone(cache);
      edited.records.find((r: any) => r.dataPath === shard.dataPath).md5sum = md5Hex(bytes);
      const files = withFile(shard.dataPath, bytes, withFile('tensor-cache.json', JSON.stringify(edited)));
      const error = await loadError(files);
      expect(error.message).toBe(
        `m/${shard.dataPath}: tensor "${name}" holds a non-finite value (NaN or infinity) at element 3; ` +
          'the weights are corrupt: download or convert the model again',
      );
    }
  });

  it('reports a web page where mlc-chat-config.json or the index should be', async () => {
    const page = '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>...</body></html>';
    for (const name of ['mlc-chat-config.json', 'tensor-cache.json']) {
      const message = (await loadError(withFile(name, page))).message;
      expect(message).toMatch(new RegExp(`^m/${name}: is a web page \\(HTML\\), not JSON: the URL returned a page`));
    }
  });
});

describe('loading from a directory (Node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twosome-weights-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads weights and tokenizer, and names missing files by their full path', async () => {
    for (const f of base.files) writeFileSync(join(dir, f.name), f.bytes);
    const model = await loadLlamaModelAndTokenizer(dir);
    expect(model.tokenizer.vocabSize).toBe(model.config.vocabSize);
    expect(model.tokenizer.bosId).toBe(model.config.bosTokenId);
    rmSync(join(dir, 'params_shard_0.bin'));
    await expect(loadLlamaModelFromDir(dir)).rejects.toThrow(`${join(dir, 'params_shard_0.bin')}: missing`);
    await expect(loadLlamaModelFromDir(join(dir, 'nope'))).rejects.toThrow(
      `${join(dir, 'nope', 'mlc-chat-config.json')}: missing`,
    );
    for (const f of base.files) writeFileSync(join(dir, f.name), f.bytes);
    rmSync(join(dir, 'tokenizer.json'));
    await expect(loadLlamaModelAndTokenizer(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: missing`);
  });
});

describe('a model directory read without trusting it (Node)', () => {
  const root = mkdtempSync(join(tmpdir(), 'twosome-contained-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A fresh copy of the made model in root/<name>, with tensor-cache.json edited by `edit`. */
  function modelDir(name: string, edit?: (cache: any) => void): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    for (const f of base.files) writeFileSync(join(dir, f.name), f.bytes);
    if (edit) {
      const cache = JSON.parse(text(base.files, 'tensor-cache.json'));
      edit(cache);
      writeFileSync(join(dir, 'tensor-cache.json'), JSON.stringify(cache));
    }
    return dir;
  }

  it('refuses a shard dataPath outside the model (../other-model, /etc/passwd, a URL) without opening it', async () => {
    modelDir('other');
    const outside = ['../other/params_shard_0.bin', '../../../../../etc/passwd', '/etc/passwd'];
    for (const dataPath of [...outside, 'https://elsewhere.example/x.bin', 'a/../../other/params_shard_0.bin']) {
      const dir = modelDir('escape', (c) => (c.records[0].dataPath = dataPath));
      const error = await loadLlamaModelFromDir(dir).catch((e: unknown) => e);
      expect(error, dataPath).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message).toMatch(/records\[0\] "dataPath" .* is not a file name inside the model's/);
      // Nothing about the target (its existence, its size) is in the message.
      expect((error as Error).message).not.toMatch(/bytes|missing|truncated/);
    }
  });

  it('refuses FIFOs, devices, directories and oversized files by their size before reading them', async () => {
    const dir = modelDir('special');
    rmSync(join(dir, 'mlc-chat-config.json'));
    symlinkSync('/dev/zero', join(dir, 'mlc-chat-config.json'));
    const config = join(dir, 'mlc-chat-config.json');
    await expect(loadLlamaModelFromDir(dir)).rejects.toThrow(`${config}: is a device, not a regular file`);
    rmSync(join(dir, 'mlc-chat-config.json'));
    execFileSync('mkfifo', [join(dir, 'mlc-chat-config.json')]);
    await expect(loadLlamaModelFromDir(dir)).rejects.toThrow(`${config}: is a FIFO (named pipe), not a regular file`);
    rmSync(join(dir, 'mlc-chat-config.json'));
    mkdirSync(join(dir, 'mlc-chat-config.json'));
    await expect(loadLlamaModelFromDir(dir)).rejects.toThrow(`${config}: is a directory, not a regular file`);

    const big = modelDir('big');
    truncateSync(join(big, 'tokenizer.json'), 1 << 30); // sparse: 1 GiB that costs no disk
    await expect(loadLlamaModelAndTokenizer(big)).rejects.toThrow(
      `${join(big, 'tokenizer.json')}: 1073741824 bytes, over the limit of 67108864 for tokenizer.json`,
    );
    const shard = join(big, 'params_shard_0.bin');
    const nbytes = base.files.find((f) => f.name === 'params_shard_0.bin')!.bytes.length;
    truncateSync(shard, 5_000_000_000);
    await expect(loadLlamaModelFromDir(big)).rejects.toThrow(
      `${shard}: 5000000000 bytes, over the limit of ${nbytes} for this weight shard`,
    );
  });
});
