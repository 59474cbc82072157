// `twosome nlp-eval` as a user runs it: the real bin script, Dawn's WebGPU, the shipped micro model, the real
// benchmark files.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBenchmark } from '../nlp-eval';
import { directoryDataSource } from '../nlp-eval/data-source-node';
import { encodePair } from '../nlp-eval/encode';
import { NEEDS_DATA, NLP_EVAL_DATA } from '../nlp-eval/test-data';
import { scoreWithLora } from '../llm/reference/backward';
import { actionTokenKl } from '../llm/reference/kl-rows';
import { actionTokenLogprobs } from '../llm/reference/score';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { MICRO, QV, trainedAdapter } from '../share/testing';
import { fakeHubFiles, fakeHubRoute } from '../nlp-eval/hub/testing';
import { startHostileServer } from '../util/hostile-server';
import { peftAdapterDir, TWOSOME_BIN } from './testing';

const twosome = (args: string[]) =>
  spawnSync(process.execPath, [TWOSOME_BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
/** The CLI run without blocking this process (whose event loop serves the fake hub meanwhile). */
function twosomeAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [TWOSOME_BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

interface Choice {
  text: string;
  contextTokenIds?: number[];
  tokenIds: number[];
  logprob: number;
  nChars: number;
}
interface QuestionLine {
  bench: string;
  index: number;
  gold: number;
  pred: number;
  predNorm: number;
  contextTokenIds?: number[];
  choices: Choice[];
  base?: QuestionLine;
}

describe.skipIf(!NLP_EVAL_DATA)(`twosome nlp-eval${NEEDS_DATA}`, () => {
  it('--json: a line per question, then a summary per benchmark; log-probs of the CPU reference', async () => {
    const proc = twosome([
      'nlp-eval',
      '--model',
      'micro',
      '--bench',
      'arc-easy,winogrande',
      '--data',
      NLP_EVAL_DATA!,
      '--limit',
      '3',
      '--json',
    ]);
    expect(proc.status).toBe(0);
    expect(proc.stderr).toMatch(/^arc-easy 3\/3 questions, [\d.]+ questions\/s$/m); // progress, not a terminal
    const out = lines(proc.stdout);
    expect(out).toHaveLength(8);
    const [arc0] = out as QuestionLine[];
    expect(Object.keys(arc0)).toEqual(['bench', 'index', 'gold', 'pred', 'predNorm', 'contextTokenIds', 'choices']);
    expect(Object.keys(arc0.choices[0])).toEqual(['text', 'tokenIds', 'logprob', 'nChars']);
    expect(out[3]).toEqual({
      bench: 'arc-easy',
      n: 3,
      acc: expect.any(Number),
      accNorm: expect.any(Number),
      baseAcc: null,
      baseAccNorm: null,
      meanKl: null,
    });
    expect(out[7]).toMatchObject({ bench: 'winogrande', n: 3, accNorm: null, meanKl: null });
    const wino = out[4] as QuestionLine;
    expect(wino.contextTokenIds).toBeUndefined();
    expect(Object.keys(wino.choices[0])).toEqual(['text', 'contextTokenIds', 'tokenIds', 'logprob', 'nChars']);

    const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const source = directoryDataSource(NLP_EVAL_DATA!);
    const questions = [
      ...(await loadBenchmark(source, 'arc-easy', 3)),
      ...(await loadBenchmark(source, 'winogrande', 3)),
    ];
    const questionLines = out.filter((l) => 'choices' in l) as QuestionLine[];
    questionLines.forEach((line, i) => {
      const q = questions[i];
      expect([line.bench, line.index, line.gold]).toEqual([q.bench, q.index, q.gold]);
      const logprobs = q.choices.map(({ context, continuation }, k) => {
        const { contextIds, continuationIds } = encodePair(tokenizer, context, continuation);
        expect(line.choices[k].contextTokenIds ?? line.contextTokenIds).toEqual(contextIds);
        expect(line.choices[k].tokenIds).toEqual(continuationIds);
        expect(line.choices[k].text).toBe(q.choices[k].text);
        const reference = actionTokenLogprobs(weights, contextIds, continuationIds).reduce((s, v) => s + v, 0);
        expect(Math.abs(line.choices[k].logprob - reference)).toBeLessThan(1e-4);
        return reference;
      });
      expect(line.pred).toBe(logprobs.indexOf(Math.max(...logprobs)));
    });
    const arcCorrect = questionLines.slice(0, 3).filter((l) => l.pred === l.gold).length;
    expect(out[3].acc).toBeCloseTo(arcCorrect / 3, 12);
  });

  it('--adapter: the adapted model beside the base one, paired; the table without --json', async () => {
    const adapter = trainedAdapter(MICRO, QV, 3, 0.5);
    const dir = peftAdapterDir(adapter, 'twosome-nlp-eval-adapter-');
    const args = ['nlp-eval', '--bench', 'piqa', '--data', NLP_EVAL_DATA!, '--limit', '2', '--adapter', dir];
    const proc = twosome([...args, '--json']);
    expect(proc.status).toBe(0);
    const out = lines(proc.stdout);
    const [first] = out as QuestionLine[];
    expect(Object.keys(first)).toEqual([
      'bench',
      'index',
      'gold',
      'pred',
      'predNorm',
      'contextTokenIds',
      'choices',
      'base',
    ]);
    expect(first.base!.contextTokenIds).toEqual(first.contextTokenIds);
    const { weights } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const prompt = { promptIds: first.contextTokenIds!, actions: first.choices.map((c) => c.tokenIds) };
    const adapted = scoreWithLora(weights, adapter, [prompt], { layout: 'shared', precision: 'float32' }).logprobs[0];
    const base = scoreWithLora(weights, null, [prompt], { layout: 'shared', precision: 'float32' }).logprobs[0];
    first.choices.forEach((c, k) => {
      expect(Math.abs(c.logprob - adapted[k])).toBeLessThan(1e-4);
      expect(Math.abs(first.base!.choices[k].logprob - base[k])).toBeLessThan(1e-4);
    });
    const summary = out[2];
    expect(summary).toMatchObject({
      bench: 'piqa',
      n: 2,
      baseAcc: expect.any(Number),
      baseAccNorm: expect.any(Number),
      meanKl: expect.any(Number),
    });
    // meanKl: the mean over every scored token (each choice's continuation) of both questions of the CPU
    // reference's KL(base || adapted), within 1e-4 relative (llm/engine/kl-pass.gpu.test.ts says why).
    const tokenKl = (out.slice(0, 2) as QuestionLine[]).flatMap((q) =>
      q.choices.flatMap((c) =>
        actionTokenKl(weights, adapter, q.contextTokenIds!, c.tokenIds, { precision: 'float32' }),
      ),
    );
    const reference = tokenKl.reduce((a, b) => a + b, 0) / tokenKl.length;
    expect(reference).toBeGreaterThan(1e-3);
    expect(Math.abs(summary.meanKl - reference) / reference).toBeLessThanOrEqual(1e-4);

    const table = twosome(args);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^piqa: 2 questions/);
    expect(table.stdout).toMatch(/^ {2}adapter - base +acc [+-]\d/m);
    const kl = /mean KL\(base \|\| adapter\) per scored token, nats: (\S+)$/m.exec(table.stdout);
    expect(kl?.[1]).toBe(summary.meanKl.toPrecision(4)); // the same passes as the --json run, the same bits
  });

  for (const [name, args, message] of [
    ['no --bench', ['nlp-eval', '--data', '.'], /^twosome: --bench is required$/m],
    [
      'unknown benchmark',
      ['nlp-eval', '--bench', 'arc', '--data', '.'],
      /^twosome: --bench: unknown benchmark "arc": use one of arc-easy/,
    ],
    [
      '--data with --data-url',
      ['nlp-eval', '--bench', 'piqa', '--data', '.', '--data-url', 'https://example.com'],
      /^twosome: --data reads local files: give it alone, or --data-url \/ --cache-dir to download$/m,
    ],
    [
      'bad --data-url',
      ['nlp-eval', '--bench', 'piqa', '--data-url', 'ftp://example.com', '--cache-dir', '/tmp'],
      /^twosome: ftp:\/\/example.com: the hub's address must be http\(s\):\/\//m,
    ],
    [
      'missing data directory',
      ['nlp-eval', '--bench', 'piqa', '--data', '/no/such/dir'],
      /^twosome: --data \/no\/such\/dir: no such directory$/m,
    ],
    [
      'bad --limit',
      ['nlp-eval', '--bench', 'piqa', '--data', '.', '--limit', '0'],
      /^twosome: --limit: "0" must be an integer >= 1$/m,
    ],
  ] as const) {
    it(`bad input: ${name} -> one line, exit 2`, () => {
      const proc = twosome([...args]);
      expect(proc.status).toBe(2);
      expect(proc.stderr).toMatch(message);
      expect(proc.stdout).toBe('');
    });
  }

  it('without --data: downloads from the hub (--data-url), keeps the files, scores the same questions', async () => {
    const hub = await startHostileServer(fakeHubRoute(fakeHubFiles(NLP_EVAL_DATA!)));
    const cache = mkdtempSync(join(tmpdir(), 'twosome-nlp-eval-cache-'));
    try {
      const args = ['nlp-eval', '--bench', 'piqa,mmlu-anatomy', '--limit', '2', '--json'];
      const downloaded = await twosomeAsync([...args, '--data-url', hub.url, '--cache-dir', cache]);
      expect(downloaded.status).toBe(0);
      expect(downloaded.stderr).toMatch(/^downloading piqa: .* of .* \(0\/1 files\)$/m);
      expect(downloaded.stderr).toMatch(/^done mmlu-anatomy: (.*) of \1 \(1\/1 files\)$/m);
      const fromFiles = twosome([...args, '--data', NLP_EVAL_DATA!]);
      expect(fromFiles.status).toBe(0);
      expect(lines(downloaded.stdout)).toEqual(lines(fromFiles.stdout));
      // A second run reads the cache directory: no request reaches the hub.
      const requests = hub.requests.length;
      const again = await twosomeAsync([...args, '--data-url', hub.url, '--cache-dir', cache]);
      expect(again.status).toBe(0);
      expect(hub.requests.length).toBe(requests);
      expect(lines(again.stdout)).toEqual(lines(fromFiles.stdout));
    } finally {
      await hub.close();
    }
    // Nothing at that address: one line naming the URL, exit 2.
    const gone = await twosomeAsync([
      'nlp-eval',
      '--bench',
      'piqa',
      '--data-url',
      hub.url,
      '--cache-dir',
      cache + '-2',
    ]);
    expect(gone.status).toBe(2);
    expect(gone.stderr.trim().split('\n').at(-1)).toMatch(
      /^twosome: http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/baber\/piqa\/tree\/.* download failed after/,
    );
  });

  it('twosome bench nlp-eval --json: questions/s of both modes, which score the same log-likelihoods; paired', () => {
    const proc = twosome([
      'bench',
      'nlp-eval',
      '--bench',
      'winogrande',
      '--limit',
      '4',
      '--repeats',
      '1',
      '--data',
      NLP_EVAL_DATA!,
      '--json',
    ]);
    expect(proc.status).toBe(0);
    const [result] = lines(proc.stdout);
    expect(result).toMatchObject({ bench: 'winogrande', questions: 4, questionsPerPass: 8 });
    expect(result.sharedQps).toBeGreaterThan(0);
    expect(result.separateQps).toBeGreaterThan(0);
    expect(result.speedup).toBeCloseTo(result.sharedQps / result.separateQps, 9);
    expect(result.maxLogprobDiff).toBeLessThanOrEqual(1e-4);
    expect(result.adaptedMs).toBeGreaterThan(0);
    expect(result.pairedMs).toBeGreaterThan(0);
    expect(result.pairedRatio).toBeCloseTo(result.pairedMs / (result.sharedMs + result.adaptedMs), 9);
    expect(result.device).toHaveProperty('software');
  });

  it('a malformed or missing benchmark file: one line naming the file, line and field, before the model loads', () => {
    const data = mkdtempSync(join(tmpdir(), 'twosome-nlp-eval-data-'));
    mkdirSync(join(data, 'piqa'));
    cpSync(join(NLP_EVAL_DATA!, 'piqa', 'valid.jsonl'), join(data, 'piqa', 'valid.jsonl'));
    writeFileSync(join(data, 'piqa', 'valid-labels.lst'), '0\n1\n7\n');
    const bad = twosome(['nlp-eval', '--bench', 'piqa', '--data', data]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(
      `twosome: ${join(data, 'piqa', 'valid-labels.lst')}:3: field "label": "7" is not one of 0, 1`,
    );
    const missing = twosome(['nlp-eval', '--bench', 'siqa', '--data', data]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toMatch(/siqa\/dev\.jsonl: missing; the data directory must hold siqa\/dev\.jsonl/);
  });
});
