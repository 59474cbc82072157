// Keeps docs/adding-a-task.md true: applies its VirtualHome-variant steps, as the document writes them, to a
// copy of the environments (and of the modules that follow them: the tokenizer corpus, the presets), then
// checks that the new task exists everywhere the document says, and that the type of task ids knows it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentTexts, wordsOf } from '../llm/model/env-corpus';
import { TASK_IDS } from './registry';

const ROOT = process.cwd();
const DOC = readFileSync(resolve(ROOT, 'docs/adding-a-task.md'), 'utf8');

/** The walkthrough's steps: "In `FILE`, at the end of `NAME`:" followed by a ts block to insert there. */
function steps(section: string): { file: string; name: string; code: string }[] {
  const pattern = /In `([^`]+)`, at the end of `([^`]+)`:\n\n```ts\n([\s\S]*?)```/g;
  return [...section.matchAll(pattern)].map(([, file, name, code]) => ({ file, name, code }));
}

/** Inserts `code` before the line that closes `export const NAME` (the first later line starting with } or ]). */
function insertAtEnd(source: string, name: string, code: string): string {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`export const ${name}`));
  if (start < 0) throw new Error(`no "export const ${name}"`);
  const end = lines.findIndex((l, i) => i > start && /^[}\]]/.test(l));
  lines.splice(end, 0, ...code.replace(/\n$/, '').split('\n'));
  return lines.join('\n');
}

const section = DOC.slice(DOC.indexOf('## A new VirtualHome variant'), DOC.indexOf('## A new training task'));
const walkthrough = steps(section);
const COPIED = [
  'src/envs',
  'src/util',
  'src/llm/model/env-corpus.ts',
  'src/rl/config.ts',
  'src/rl/policy.ts',
  'src/rl/categorical.ts',
];
let work = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'twosome-add-task-'));
  for (const path of COPIED) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    cpSync(resolve(ROOT, path), join(work, path), { recursive: true });
  }
  for (const { file, name, code } of walkthrough) {
    const path = join(work, file);
    writeFileSync(path, insertAtEnd(readFileSync(path, 'utf8'), name, code));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const load = (path: string) => import(pathToFileURL(join(work, path)).href);

describe('docs/adding-a-task.md: a new VirtualHome variant', () => {
  const id = /'([a-z-]+)': \{ food: '([^']+)', appliance: '([^']+)' \}/.exec(walkthrough[0]?.code ?? '');

  it('names at most three files, each step once, and says how many', () => {
    expect(walkthrough.map((s) => s.file)).toEqual(['src/envs/virtualhome/variants.ts', 'src/envs/registry.ts']);
    expect(section).toMatch(/^## A new VirtualHome variant: two files/);
    expect(id).not.toBeNull();
    expect(TASK_IDS, "the walkthrough's example is a real task now: give the example another id").not.toContain(
      id?.[1],
    );
  });

  it('registers the task: the registry, its family, the VirtualHome ids, an environment that plays it', async () => {
    const [, taskId, food, appliance] = id as RegExpExecArray;
    const registry = await load('src/envs/registry.ts');
    const vh = await load('src/envs/virtualhome/index.ts');
    const task = registry.getTask(taskId);
    expect([task.family, task.split, task.variantOf, task.macroActions, task.actionMask]).toEqual([
      'virtualhome',
      'unseen',
      'food-preparation',
      false,
      true,
    ]);
    expect(registry.tasksOfFamily('virtualhome').map((t: { id: string }) => t.id)).toContain(taskId);
    expect(vh.VIRTUALHOME_TASK_IDS).toContain(taskId);
    const env = registry.createEnv(taskId);
    expect(env.reset(0).prompt).toContain(`You notice ${food} and ${appliance}.`);
    expect(vh.globalActionTexts(taskId)).toContain(`put the ${food} in the ${appliance}`);
    // the registry's optimal return is the one its state graph reaches
    const graph = vh.exploreStateGraph(taskId);
    expect(task.optimalReturn).toBeCloseTo(task.discount ** (graph.shortestSuccess - 1), 12);
    expect(graph.deadEnds).toBe(vh.exploreStateGraph('food-preparation').deadEnds);
  });

  it("takes Food Preparation's presets, and leaves the tokenizer's vocabulary (the micro model) as it is", async () => {
    const [, taskId] = id as RegExpExecArray;
    const config = await load('src/rl/config.ts');
    for (const preset of ['quick', 'paper']) {
      const { taskId: _a, ...ours } = config.presetConfig('twosome', taskId, preset);
      const { taskId: _b, ...theirs } = config.presetConfig('twosome', 'food-preparation', preset);
      expect(ours).toEqual(theirs);
    }
    expect(config.presetConfig('ppo-mlp', taskId, 'paper').learningRate).toBe(
      config.presetConfig('ppo-mlp', 'food-preparation', 'paper').learningRate,
    );
    const corpus = await load('src/llm/model/env-corpus.ts');
    expect(corpus.wordsOf(corpus.environmentTexts())).toEqual(wordsOf(environmentTexts()));
  });

  it('gives the id its type: TaskId includes it', () => {
    const [, taskId] = id as RegExpExecArray;
    const check = `import { getTask } from './src/envs/registry';\nimport type { TaskId } from './src/envs/types';\n`;
    writeFileSync(
      join(work, 'check.ts'),
      `${check}const id: TaskId = '${taskId}';\nexport const task = getTask(id);\n`,
    );
    const options = {
      strict: true,
      noEmit: true,
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'bundler',
      lib: ['ES2023'],
      types: [],
    };
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['check.ts'] }));
    const tsc = (): string => {
      try {
        return execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', work], {
          encoding: 'utf8',
        });
      } catch (error) {
        return String((error as { stdout?: string }).stdout ?? error);
      }
    };
    expect(tsc()).toBe('');
    // and the check can fail: an id nobody registered is not a TaskId
    writeFileSync(
      join(work, 'check.ts'),
      `${check}const id: TaskId = 'no-such-task';\nexport const task = getTask(id);\n`,
    );
    expect(tsc()).toMatch(/'"no-such-task"' is not assignable to type 'TaskId'/);
  }, 180_000);
});
