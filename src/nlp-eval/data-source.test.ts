import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBenchmark, mmluSubjects } from './benchmarks';
import { memoryDataSource, pickedFilesSource, type PickedFile } from './data-source';
import { directoryDataSource } from './data-source-node';

const picked = (name: string, text: string, webkitRelativePath = ''): PickedFile => ({
  name,
  webkitRelativePath,
  arrayBuffer: async () => new TextEncoder().encode(text).buffer as ArrayBuffer,
});

const PIQA_ROW = `${JSON.stringify({ goal: 'g', sol1: 'a', sol2: 'b' })}\n`;

describe('benchmark data sources', () => {
  it('browser files from a picked folder: found by their path below the folder; MMLU subjects listed', async () => {
    const source = pickedFilesSource([
      picked('valid.jsonl', PIQA_ROW, 'nlp-eval/piqa/valid.jsonl'),
      picked('valid-labels.lst', '1\n', 'nlp-eval/piqa/valid-labels.lst'),
      picked('anatomy_test.csv', 'Q,a,b,c,d,B\n', 'nlp-eval/mmlu/test/anatomy_test.csv'),
      picked('anatomy_dev.csv', 'Q,a,b,c,d,B\n', 'nlp-eval/mmlu/dev/anatomy_dev.csv'),
    ]);
    const [q] = await loadBenchmark(source, 'piqa');
    expect(q.gold).toBe(1);
    expect(source.describe('piqa/valid.jsonl')).toBe('nlp-eval/piqa/valid.jsonl');
    expect(await mmluSubjects(source)).toEqual(['anatomy']);
    expect(await loadBenchmark(source, 'mmlu')).toHaveLength(1);
  });

  it('single browser files: found by name when the name is unique; two of one name are found at no path', async () => {
    const single = pickedFilesSource([picked('valid.jsonl', PIQA_ROW), picked('valid-labels.lst', '0\n')]);
    expect((await loadBenchmark(single, 'piqa'))[0].gold).toBe(0);
    const twice = pickedFilesSource([picked('dev.jsonl', '{}\n'), picked('dev.jsonl', '{}\n')]);
    expect(await twice.read('siqa/dev.jsonl')).toBeNull();
  });

  it('a directory on disk and files in memory list the files of a folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nlp-eval-data-'));
    mkdirSync(join(root, 'mmlu', 'test'), { recursive: true });
    mkdirSync(join(root, 'mmlu', 'test', 'not_a_file_test.csv'));
    writeFileSync(join(root, 'mmlu', 'test', 'college_physics_test.csv'), 'Q,a,b,c,d,C\n');
    writeFileSync(join(root, 'mmlu', 'test', 'anatomy_test.csv'), 'Q,a,b,c,d,A\n');
    const disk = directoryDataSource(root);
    expect(await mmluSubjects(disk)).toEqual(['anatomy', 'college_physics']);
    expect((await loadBenchmark(disk, 'mmlu')).map((q) => q.gold)).toEqual([0, 2]);
    expect(await disk.read('mmlu/test/not_a_file_test.csv')).toBeNull();
    expect(await disk.list('nowhere')).toEqual([]);
    const memory = memoryDataSource({ 'a/x.csv': '', 'a/b/y.csv': '', 'z.txt': '' });
    expect(await memory.list('a')).toEqual(['x.csv']);
    expect(await memory.list('')).toEqual(['z.txt']);
  });
});
