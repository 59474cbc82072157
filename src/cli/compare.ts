/**
 * `twosome compare --task ID --model M [--steps N] [--seeds 1,2,3] [--out DIR]`: TWOSOME, PPO-MLP and SayCan on
 * the same seeds, each run in DIR/{algo}-seed{S}/ (as `twosome train` writes it), then
 *   DIR/curves.csv      every update of every run: algorithm, seed, env steps, episodic return
 *   DIR/aggregate.csv   mean and min/max over seeds per algorithm and env step
 *   DIR/compare.svg     return against environment steps, mean line and min-max band per algorithm, with the
 *                       task's optimal return as a dashed line (the paper's figure layout)
 * SayCan does not learn: its greedy return over --episodes is a horizontal line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getTask } from '../envs/registry';
import { aggregateCsv, curvesCsv, learningCurveSvg, type AlgorithmCurves } from '../rl/compare';
import { parseFlags, parseIndexList, parseIntFlag } from './args';
import { UsageError } from './errors';
import { MODEL_FLAG, resolveModelSource } from './model-source';
import {
  BACKEND_FLAG,
  checkBackend,
  checkPreset,
  checkTask,
  EngineHost,
  interruptSignal,
  OVERRIDE_FLAGS,
  parseOverrides,
  Progress,
  runConfig,
  runTraining,
  type Algo,
  type RunOutcome,
} from './train';

const USAGE =
  'twosome compare --task ID --model DIR|URL|micro [--steps N] [--seeds 1,2,3] [--out DIR] [--preset paper|quick] [--episodes N] [--algos twosome,ppo-mlp,saycan] [--backend webgpu|cpu] [training overrides as in `twosome train`]';

const NAMES: Record<Algo, string> = { twosome: 'TWOSOME', 'ppo-mlp': 'PPO (MLP)', saycan: 'SayCan' };

export async function compareCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      task: { type: 'string', arg: 'ID', help: 'the task to train on' },
      model: MODEL_FLAG,
      steps: { type: 'string', arg: 'N', help: "environment steps per run (default: the preset's)" },
      seeds: { type: 'string', arg: 'LIST', help: 'seeds, each a run per algorithm (default 1,2,3)' },
      out: { type: 'string', arg: 'DIR', help: 'where the runs, curves.csv, aggregate.csv and compare.svg go' },
      preset: { type: 'string', arg: 'paper|quick', help: "TWOSOME's configuration (default quick)" },
      episodes: { type: 'string', arg: 'N', help: "SayCan's evaluation episodes (default 10)" },
      algos: { type: 'string', arg: 'LIST', help: 'algorithms to run (default twosome,ppo-mlp,saycan)' },
      backend: BACKEND_FLAG,
      ...OVERRIDE_FLAGS,
    },
    USAGE,
  );
  const task = checkTask(values.task);
  const preset = checkPreset(values.preset);
  const steps = values.steps === undefined ? undefined : parseIntFlag(values.steps, 'steps', 0, 1);
  const seeds = parseIndexList(values.seeds ?? '1,2,3', '--seeds');
  if (seeds.length === 0) throw new UsageError('--seeds: give at least one seed');
  if (new Set(seeds).size !== seeds.length) throw new UsageError('--seeds: a seed is listed twice');
  const episodes = parseIntFlag(values.episodes, 'episodes', 10, 1);
  const algos = (values.algos ?? 'twosome,ppo-mlp,saycan').split(',').map((a) => a.trim()) as Algo[];
  for (const a of algos)
    if (!(a in NAMES)) throw new UsageError(`--algos: unknown algorithm "${a}" (use twosome, ppo-mlp, saycan)`);
  const { overrides, promptsPerPass } = parseOverrides(values);
  const model = values.model ?? 'micro';
  const backend = checkBackend(values.backend);
  if (algos.some((a) => a !== 'ppo-mlp')) resolveModelSource(model);
  // Validate every config before any run starts.
  for (const seed of seeds) {
    for (const algo of algos) if (algo !== 'saycan') runConfig(algo, task, preset, { seed, steps, overrides });
  }
  const out = resolve(values.out ?? join('runs', `compare-${task}`));
  mkdirSync(out, { recursive: true });

  const progress = new Progress();
  const host = new EngineHost();
  const interrupt = interruptSignal(progress);
  const outcomes: { algo: Algo; seed: number; outcome: RunOutcome }[] = [];
  try {
    for (const algo of algos) {
      for (const seed of seeds) {
        if (interrupt.signal.aborted) break;
        const outcome = await runTraining(
          {
            algo,
            task,
            model,
            preset,
            backend,
            seed,
            steps,
            overrides,
            promptsPerPass,
            episodes,
            out: join(out, `${algo}-seed${seed}`),
            label: `${algo} seed ${seed}`,
          },
          host,
          progress,
          interrupt.signal,
        );
        outcomes.push({ algo, seed, outcome });
      }
    }
  } finally {
    interrupt.release();
    host.dispose();
  }

  const curves: AlgorithmCurves[] = algos.map((algo) => {
    const runs = outcomes.filter((o) => o.algo === algo);
    if (algo === 'saycan')
      return {
        name: NAMES[algo],
        seeds: [],
        constant: runs.map((r) => ({ seed: r.seed, value: r.outcome.evaluation?.meanReturn ?? 0 })),
      };
    return {
      name: NAMES[algo],
      seeds: runs.map((r) => ({
        seed: r.seed,
        points: r.outcome.metrics.map((m) => ({ x: m.globalStep, y: m.episodicReturn })),
      })),
    };
  });
  const info = getTask(task);
  writeFileSync(join(out, 'curves.csv'), curvesCsv(curves));
  writeFileSync(join(out, 'aggregate.csv'), aggregateCsv(curves));
  writeFileSync(
    join(out, 'compare.svg'),
    learningCurveSvg(curves, {
      title: `${info.title}: episodic return`,
      references: [{ label: `optimal ${info.optimalReturn.toFixed(3)}`, value: info.optimalReturn }],
    }),
  );
  for (const c of curves) {
    const final = c.constant?.length
      ? c.constant.map((x) => x.value)
      : c.seeds.map((s) => [...s.points].reverse().find((p) => p.y !== null)?.y ?? NaN);
    const finite = final.filter(Number.isFinite);
    const mean = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
    process.stdout.write(
      `${c.name.padEnd(10)} final return ${Number.isFinite(mean) ? mean.toFixed(3) : '-'} (${finite.length} seeds)\n`,
    );
  }
  process.stdout.write(`wrote ${join(out, 'compare.svg')}, curves.csv, aggregate.csv\n`);
  return interrupt.signal.aborted ? 130 : 0;
}
