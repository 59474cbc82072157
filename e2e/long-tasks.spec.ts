/**
 * Main-thread responsiveness over a whole visit: the page loads, scores its first state, trains PPO-MLP for a
 * few dozen updates, pauses, resumes and stops, and the agent steps again. No main-thread task may keep the
 * main thread busy for more than 200 ms.
 *
 * "Busy" is the task's thread (CPU) time from a Chrome trace, not its wall-clock duration: on the test machine
 * (two cores shared by several browsers, load averages above 20 seen) a 10 ms task can take a second of wall
 * time while its thread waits for a core, and a task that waits on the GPU process (a WebGL context created on
 * SwiftShader) spends its wall time there, not running our code. The wall-clock long tasks
 * (PerformanceObserver 'longtask', installed before the app loads) and the trace's tasks over the bound in wall
 * time are reported beside them as annotations. On this machine those are all at load, with little thread time:
 * the WebGPU adapter request and the WebGL context creation waiting on the GPU process, and the scene's first
 * frames waiting for its shaders to link; none of them is our JavaScript running.
 */
import type { Browser, Page } from '@playwright/test';
import { expect, test, waitForTask } from './fixtures';

declare global {
  interface Window {
    /** Pairs of (start time, duration) in ms of the page's long tasks. */
    __longTasks: number[];
  }
}

/** The bound on one main-thread task's thread time: more is a stall of input and drawing. */
const TASK_BOUND_MS = 200;

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string; data?: { functionName?: string; url?: string; lineNumber?: number; type?: string } };
}

/** One top-level main-thread task: wall and thread time (ms), start (ms from the trace's first task). */
interface MainTask {
  start: number;
  wall: number;
  thread: number;
  /** The longest script calls and events in it: "180 ms FunctionCall index.js:4236 draw". */
  inside: string[];
}

async function observeLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.startTime), Math.round(e.duration));
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** The renderer main thread's top-level tasks in a trace of one page (browser.startTracing). */
function mainThreadTasks(trace: Buffer): MainTask[] {
  const { traceEvents } = JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] };
  const main = traceEvents.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  if (!main) throw new Error('the trace has no renderer main thread');
  const own = traceEvents.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X');
  const tasks = own.filter((e) => e.name === 'ThreadControllerImpl::RunTask');
  const t0 = tasks[0]?.ts ?? 0;
  return tasks.map((task) => {
    const end = task.ts + (task.dur ?? 0);
    const inside = own
      .filter((e) => e !== task && e.ts >= task.ts && e.ts < end && (e.dur ?? 0) > 20_000)
      .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))
      .slice(0, 5)
      .map((e) => {
        const d = e.args?.data;
        const where = d?.url ? ` ${d.url.split('/').pop()}:${d.lineNumber ?? ''} ${d.functionName ?? ''}` : '';
        return `${Math.round((e.dur ?? 0) / 1000)} ms ${e.name}${d?.type ? ` ${d.type}` : ''}${where}`;
      });
    return {
      start: Math.round((task.ts - t0) / 1000),
      wall: Math.round((task.dur ?? 0) / 1000),
      thread: Math.round((task.tdur ?? 0) / 1000),
      inside,
    };
  });
}

const describe = (t: MainTask) =>
  `${t.thread} ms thread time (${t.wall} ms wall) at ${t.start} ms [${t.inside.join('; ')}]`;

const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute'];

const envSteps = async (page: Page) => Number(await page.getByTestId('env-steps').textContent());

async function visit(page: Page): Promise<void> {
  await page.goto('./?task=food-preparation&seed=0');
  await waitForTask(page, 'food-preparation');
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.getByTestId('nav-training').click();
  await page.getByTestId('train-algo').selectOption('ppo-mlp');
  await page.getByTestId('train-task').selectOption('food-preparation');
  await page.getByTestId('train-steps').fill(String(512 * 400));
  await expect(page.getByTestId('train-estimate')).toContainText('(400 updates of ', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Start training', exact: true }).click();
  // A few dozen updates: the charts hold that many points per series when they are redrawn.
  await expect.poll(() => envSteps(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(512 * 30);
  await page.getByRole('button', { name: 'Pause training', exact: true }).click();
  await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'paused');
  const pausedAt = await envSteps(page);
  await page.getByRole('button', { name: 'Resume training', exact: true }).click();
  await expect.poll(() => envSteps(page), { timeout: 30_000 }).toBeGreaterThan(pausedAt + 512 * 5);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'stopped');
  // The agent steps after the run: the scene redraws and the new state is scored.
  await page.getByTestId('nav-agent').click();
  await page.getByTestId('actions').getByRole('button').first().click();
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.waitForTimeout(1000);
}

async function traced(browser: Browser, page: Page, run: () => Promise<void>): Promise<MainTask[]> {
  await browser.startTracing(page, { categories: TRACE_CATEGORIES });
  let trace: Buffer;
  try {
    await run();
  } finally {
    trace = await browser.stopTracing();
  }
  return mainThreadTasks(trace);
}

test(`no main-thread task busy over ${TASK_BOUND_MS} ms from load through a PPO-MLP run and steps after`, async ({
  browser,
  page,
}) => {
  test.setTimeout(240_000);
  await observeLongTasks(page);
  const tasks = await traced(browser, page, () => visit(page));
  expect(tasks.length, 'main-thread tasks in the trace').toBeGreaterThan(100);

  const longest = [...tasks].sort((a, b) => b.thread - a.thread).slice(0, 3);
  const flat = await page.evaluate(() => window.__longTasks);
  const wall: string[] = [];
  for (let i = 0; i < flat.length; i += 2)
    if (flat[i + 1] > TASK_BOUND_MS) wall.push(`${flat[i + 1]} ms at ${flat[i]} ms`);
  const wallOver = tasks.filter((t) => t.wall > TASK_BOUND_MS);
  test
    .info()
    .annotations.push(
      { type: 'longest main-thread tasks (thread time)', description: longest.map(describe).join(' | ') },
      { type: `tasks over ${TASK_BOUND_MS} ms wall time (trace)`, description: wallOver.map(describe).join(' | ') },
      { type: `long tasks over ${TASK_BOUND_MS} ms wall time (observer)`, description: wall.join(', ') || 'none' },
    );
  expect(tasks.filter((t) => t.thread > TASK_BOUND_MS).map(describe)).toEqual([]);
});
