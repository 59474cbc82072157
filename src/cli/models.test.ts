// `twosome models`, called as main.ts will call it (argv after "models"), against a model served on 127.0.0.1.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeModel } from '../llm/model/make-model';
import { ModelUrlError } from '../llm/model/url-source';
import { readModelIndex } from '../llm/model/weights';
import { directorySource } from '../llm/model/weights-node';
import { startHostileServer, type HostileServer } from '../util/hostile-server';
import { captureOutput, tempDir } from '../util/testing';
import { UsageError } from './errors';
import { directoryStore, modelsCommand } from './models';

const model = makeModel({ maxShardBytes: 16 * 1024 });
const work = tempDir('twosome-models-');
let server: HostileServer;
let base = '';

beforeAll(async () => {
  server = await startHostileServer((path) => {
    const file = model.files.find((f) => path === `/m/${f.name}`);
    return file && { body: file.bytes };
  });
  base = `${server.url}m/`;
});
afterAll(() => server.close());

const output = captureOutput({ stderr: true });
// server.requests: what this test's commands asked for.
beforeEach(() => void (server.requests.length = 0));

describe('twosome models list', () => {
  it('prints the catalog as a table and as JSON', async () => {
    expect(await modelsCommand(['list'])).toBe(0);
    expect(output.stdout.split('\n')[0]).toMatch(/^id\s+download\s+VRAM MB\s+context\s+features$/);
    expect(output.stdout).toMatch(/\nLlama-3\.2-1B-Instruct-q4f16_1-MLC\s+~\d+(\.\d)? MiB\s+880\s+4096\s+-\n/);
    expect(output.stdout).toMatch(
      /\nTinyLlama-1\.1B-Chat-v1\.0-q4f16_1-MLC\s+~\d+(\.\d)? MiB\s+698\s+2048\s+shader-f16\n/,
    );

    output.stdout = '';
    expect(await modelsCommand(['list', '--json'])).toBe(0);
    const rows = JSON.parse(output.stdout) as {
      id: string;
      baseUrl: string;
      downloadBytes: number;
      architecture: { layers: number };
    }[];
    expect(rows).toHaveLength(45);
    const llama = rows.find((r) => r.id === 'Llama-3.2-1B-Instruct-q4f16_1-MLC')!;
    expect(llama.baseUrl).toBe('https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC/resolve/main/');
    expect(llama.architecture.layers).toBe(16);
  });

  it("--fit adds whether this machine's WebGPU adapter can run each model, and why not", async () => {
    expect(await modelsCommand(['list', '--fit', '--json'])).toBe(0);
    const { adapter, models } = JSON.parse(output.stdout) as {
      adapter: { software: boolean };
      models: { id: string; fit: { canRun: string; reason: string; notes: string[] } }[];
    };
    const fit = (id: string) => models.find((m) => m.id === id)!.fit;
    expect(models).toHaveLength(45);
    if (adapter.software) {
      // SwiftShader (this project's machines): the 13B model is ruled out; the smallest runs, slowly.
      expect(fit('Llama-2-13b-chat-hf-q4f16_1-MLC')).toMatchObject({
        canRun: 'no',
        reason: expect.stringMatching(/GiB to train|to score one environment step/),
      });
      expect(fit('SmolLM2-135M-Instruct-q0f32-MLC').canRun).toBe('yes');
      expect(fit('SmolLM2-135M-Instruct-q0f32-MLC').notes.join('\n')).toMatch(/software adapter/);
    }
    expect(fit('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC').notes[0]).toMatch(/^f(16|32) path/);

    output.stdout = '';
    expect(await modelsCommand(['list', '--fit', '--memory-gib', '1'])).toBe(0);
    expect(output.stdout).toMatch(
      /\nLlama-3\.2-1B-Instruct-q4f16_1-MLC .* no: needs about 1\.\d GiB to train .* but the budget is 1\.0 GiB: the budget given\n/,
    );
    await expect(modelsCommand(['list', '--memory-gib', '4'])).rejects.toThrow(
      /--memory-gib: "4" must be a positive number of GiB, with --fit/,
    );
    await expect(modelsCommand(['list', '--fit', '--memory-gib', 'lots'])).rejects.toThrow(UsageError);
  });
});

describe('twosome models download', () => {
  it('downloads into a directory that works as --model DIR, and a second run fetches nothing', async () => {
    const out = join(work, 'a');
    expect(await modelsCommand(['download', base, '--out', out, '--parallel', '2'])).toBe(0);
    expect(readdirSync(out).sort()).toEqual(model.files.map((f) => f.name).sort());
    const n = model.files.length;
    expect(output.stdout).toMatch(
      new RegExp(
        `^downloaded ${base} to ${out}: ${n} files, .* \\(${n} fetched, 0 already there\\); ` +
          `use it with --model ${out}\\n$`,
      ),
    );
    expect(output.stderr).toBe(''); // not a terminal: no progress line
    expect((await readModelIndex(directorySource(out))).config).toEqual(model.config);

    output.stdout = '';
    server.requests.length = 0;
    expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    expect(server.requests).toEqual([]);
    expect(output.stdout).toMatch(/\(0 fetched, \d+ already there\)/);
  });

  it('continues a partial directory and shows progress on a terminal', async () => {
    const out = join(work, 'b');
    expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    rmSync(join(out, 'params_shard_1.bin'));
    writeFileSync(join(out, 'params_shard_2.bin.part'), 'junk');
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = true;
    try {
      server.requests.length = 0;
      expect(await modelsCommand(['download', base, '--out', out])).toBe(0);
    } finally {
      process.stderr.isTTY = tty;
    }
    expect(server.requests).toEqual(['/m/params_shard_1.bin']);
    expect(output.stderr).toMatch(/\r100\.0%\s+\S+ \S+ \/ \S+ \S+\s+\d+\/\d+ files\s+.*\/s\s*\n$/);
    expect(Buffer.compare(readFileSync(join(out, 'params_shard_1.bin')), model.files[1].bytes)).toBe(0);
  });

  it('turns bad arguments into usage errors and unknown models into a one-line hint', async () => {
    await expect(modelsCommand([])).rejects.toThrow(UsageError);
    await expect(modelsCommand(['fetch'])).rejects.toThrow(/unknown subcommand "models fetch"/);
    await expect(modelsCommand(['download', '--out', work])).rejects.toThrow(/give one model/);
    await expect(modelsCommand(['download', base])).rejects.toThrow(/--out DIR is required/);
    await expect(modelsCommand(['download', base, '--out', work, '--parallel', '0'])).rejects.toThrow(
      /--parallel: "0" must be an integer >= 1/,
    );
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
