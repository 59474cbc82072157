// `twosome models`, called as main.ts will call it (argv after "models"), against a model served on 127.0.0.1.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeModel } from '../llm/model/make-model';
import { ModelUrlError } from '../llm/model/url-source';
import { readModelIndex } from '../llm/model/weights';
import { directorySource } from '../llm/model/weights-node';
import { UsageError } from './errors';
import { directoryStore, modelsCommand } from './models';

const model = makeModel({ maxShardBytes: 16 * 1024 });
const work = mkdtempSync(join(tmpdir(), 'twosome-models-'));
let server: Server;
let base = '';
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = model.files.find((f) => req.url === `/m/${f.name}`);
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': String(file.bytes.length) }).end(file.bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/`;
  setTimeout(() => server.close(), 120_000).unref();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = '';
  stderr = '';
  requests = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe('twosome models list', () => {
  it('prints the catalog as a table and as JSON', async () => {
    expect(await modelsCommand(['list'])).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^id\s+download\s+VRAM MB\s+context\s+features$/);
    expect(stdout).toMatch(/\nLlama-3\.2-1B-Instruct-q4f16_1-MLC\s+~\d+(\.\d)? MiB\s+880\s+4096\s+-\n/);
    expect(stdout).toMatch(/\nTinyLlama-1\.1B-Chat-v1\.0-q4f16_1-MLC\s+~\d+(\.\d)? MiB\s+698\s+2048\s+shader-f16\n/);

    stdout = '';
    expect(await modelsCommand(['list', '--json'])).toBe(0);
    const rows = JSON.parse(stdout) as { id: string; baseUrl: string; downloadBytes: number; architecture: { layers: number } }[];
    expect(rows).toHaveLength(45);
    const llama = rows.find((r) => r.id === 'Llama-3.2-1B-Instruct-q4f16_1-MLC')!;
    expect(llama.baseUrl).toBe('https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC/resolve/main/');
    expect(llama.architecture.layers).toBe(16);
  });

  it('--fit adds whether this machine\'s WebGPU adapter can run each model, and why not', async () => {
    expect(await modelsCommand(['list', '--fit', '--json'])).toBe(0);
    const { adapter, models } = JSON.parse(stdout) as { adapter: { software: boolean }; models: { id: string; fit: { canRun: string; reason: string; notes: string[] } }[] };
    const fit = (id: string) => models.find((m) => m.id === id)!.fit;
    expect(models).toHaveLength(45);
    if (adapter.software) {
      // SwiftShader (this project's machines): the 13B model is ruled out; the smallest runs, slowly.
      expect(fit('Llama-2-13b-chat-hf-q4f16_1-MLC')).toMatchObject({ canRun: 'no', reason: expect.stringMatching(/GiB to train|to score one environment step/) });
      expect(fit('SmolLM2-135M-Instruct-q0f32-MLC').canRun).toBe('yes');
      expect(fit('SmolLM2-135M-Instruct-q0f32-MLC').notes.join('\n')).toMatch(/software adapter/);
    }
    expect(fit('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC').notes[0]).toMatch(/^f(16|32) path/);

    stdout = '';
    expect(await modelsCommand(['list', '--fit', '--memory-gib', '1'])).toBe(0);
    expect(stdout).toMatch(/\nLlama-3\.2-1B-Instruct-q4f16_1-MLC .* no: needs about 1\.\d GiB to train .* but the budget is 1\.0 GiB: the budget given\n/);
    await expect(modelsCommand(['list', '--memory-gib', '4'])).rejects.toThrow(/--memory-gib: "4" must be a positive number of GiB, with --fit/);
    await expect(modelsCommand(['list', '--fit', '--memory-gib', 'lots'])).rejects.toThrow(UsageError);
  });
});

describe('twosome models download', () => {
  it('downloads into a directory that works as --model DIR, and a second run fetches nothing', async () => {
    const out = join(work, 'a');
    expect(await modelsCommand(['download', base, '--out', out, '--parallel', '2'])).toBe(0);
    expect(readdirSync(out).sort()).toEqual(model.files.map((f) => f.name).sort());
    expect(stdout).toMatch(new RegExp(`^downloaded ${base} to ${out}: ${model.files.length} files, .* \\(${model.files.length} fetched, 0 already there\\); use it with --model ${out}\\n$`));
    expect(stderr).toBe(''); // not a terminal: no progress line
    expect((await readModelIndex(directorySource(out))).config).toEqual(model.config);

    stdout = '';
    requests = [];
    expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    expect(requests).toEqual([]);
    expect(stdout).toMatch(/\(0 fetched, \d+ already there\)/);
  });

  it('continues a partial directory and shows progress on a terminal', async () => {
    const out = join(work, 'b');
    expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    rmSync(join(out, 'params_shard_1.bin'));
    writeFileSync(join(out, 'params_shard_2.bin.part'), 'junk');
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = true;
    try {
      requests = [];
      expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    } finally {
      process.stderr.isTTY = tty;
    }
    expect(requests).toEqual(['/m/params_shard_1.bin']);
    expect(stderr).toMatch(/\r100\.0%\s+\S+ \S+ \/ \S+ \S+\s+\d+\/\d+ files\s+.*\/s\s*\n$/);
    expect(Buffer.compare(readFileSync(join(out, 'params_shard_1.bin')), model.files[1].bytes)).toBe(0);
  });

  it('turns bad arguments into usage errors and unknown models into a one-line hint', async () => {
    await expect(modelsCommand([])).rejects.toThrow(UsageError);
    await expect(modelsCommand(['fetch'])).rejects.toThrow(/unknown subcommand "models fetch"/);
    await expect(modelsCommand(['download', '--out', work])).rejects.toThrow(/give one model/);
    await expect(modelsCommand(['download', base])).rejects.toThrow(/--out DIR is required/);
    await expect(modelsCommand(['download', base, '--out', work, '--parallel', '0'])).rejects.toThrow(/--parallel: "0" must be an integer >= 1/);
    await expect(modelsCommand(['download', base, '--out', work, '--bogus'])).rejects.toThrow(UsageError);
    await expect(modelsCommand(['download', 'Llama-9', '--out', work])).rejects.toThrow(ModelUrlError);
    await expect(modelsCommand(['download', 'http://example.com/m/', '--out', work])).rejects.toThrow(/only https/);
    expect(existsSync(join(work, 'mlc-chat-config.json'))).toBe(false);
  });

  it('keeps the directory store inside its directory', async () => {
    const store = directoryStore(join(work, 'c'), base);
    await expect(store.put(`${base}..%2F..%2Fevil`, new Uint8Array(1))).rejects.toThrow(/would be written outside/);
    await expect(store.has('https://elsewhere/x')).rejects.toThrow(/is not under/);
  });
});
