/**
 * The training part of the playground worker's API (TrainingApi, api.ts), without the GPU and with no Comlink
 * beyond releasing the page's listeners (unit-tested in Node with PPO-MLP and the fake TWOSOME actor):
 *
 * - One run at a time. start() builds its trainer and begins the update loop; the loop runs one update, saves
 *   meta + metrics + checkpoint in one store transaction, reports the update, lets the event loop run (so a
 *   pause message gets through), and goes on.
 * - pause()/stop() take effect between updates: they resolve once the update in progress has been made and
 *   saved, so a paused run's store record is always its latest state. stop() keeps the run (resumable later).
 * - resume() continues the run in memory, or a stored run from its checkpoint after a reload: exactly (same
 *   trainer state, RNG streams and envs), with its stored metrics before the new ones.
 * - A checkpoint that does not read back is reported with a message and left in place (never deleted here).
 * - The stored record counts only saved updates: an update whose saving fails (storage full) stops the run with
 *   the cause, stays in memory, and is saved first when the run is resumed. A failed update (the GPU lost)
 *   stops the run with what happened; resuming continues from the last saved update, on a new GPU device.
 * - After every TWOSOME update the adapter goes to the playground's scorer, so its probabilities are the
 *   trained policy's: on the GPU the scorer uses the trainer's own adapter buffers (no copy).
 */
import { getTask } from '../envs/registry';
import type { TaskId } from '../envs/types';
import type { PolicyRequest } from '../llm/scores';
import type { LoraHandle } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import type { RunStore } from '../persist/run-store';
import { checkCheckpoint, type Checkpoint, type RunInfo } from '../rl/checkpoint';
import { derivePpo, derivePpoMlp, presetConfig, type PpoConfig } from '../rl/config';
import { measurePpoMlpUpdate, measureTwosomeUpdate } from '../rl/update-time';
import { evaluatePolicy, type BatchScorer } from '../rl/evaluate';
import { PpoMlpTrainer } from '../rl/ppo-mlp';
import { twosomeSeeds, type TwosomeModels } from '../rl/twosome-trainer';
import type { TrainingApi } from './api';
import { releaseCallback } from './link';
import {
  PpoMlpRunTrainer,
  queuedModels,
  TwosomeRunTrainer,
  type Exclusive,
  type RunTrainer,
  type UpdateProbe,
} from './run-trainers';
import {
  ALGO_LABELS,
  type CriticValueReply,
  type DeleteRunReply,
  type ProbeMeta,
  type ProbeSpec,
  type EstimateReply,
  type EvalReply,
  type EvalRow,
  type RunMeta,
  type StorageReply,
  type TrainEvent,
  type TrainMetrics,
  type TrainReply,
  type TrainRequest,
} from './training-protocol';
import { describeError } from '../util/errors';
import { describeStorageError } from '../persist/storage-errors';
import { cacheDatasetStore, memoryDatasetStore, type DatasetStore } from '../nlp-eval';
import type { CapabilityData } from './capability-protocol';
import { checkProbeSpec, loadProbe, scoreProbe, type LoadedProbe, type ProbeModel } from './training-probe';

export interface TrainerHostDeps {
  /** Where runs are saved; a promise that rejects when this browser cannot store them (the message is shown). */
  store: Promise<RunStore>;
  /** The id of the model loaded for training (waits for one still loading), or null: none is. */
  loadedModelId?(): Promise<string | null>;
  /** TWOSOME's actor and critic on the loaded model, from the run's seeds; rejects when no model is ready. */
  twosomeModels(
    config: PpoConfig,
    seeds: { lora: number; critic: number },
  ): Promise<{ models: TwosomeModels; modelId: string }>;
  /** The loaded model without an adapter (SayCan). */
  frozenScorer(): Promise<{ scorer: BatchScorer; modelId: string }>;
  exclusive: Exclusive;
  /**
   * Puts the trained adapter into the playground's scorer; `live` is the same adapter on the engine's GPU (the
   * trainer's buffers, scored with in place), which the callee takes over: it releases it when done with it.
   */
  publishAdapter?(adapter: LoraAdapter | null, label: string, live?: LoraHandle): Promise<void>;
  /** The prompt and actions of the playground's state `stepId` while it is current (the critic values it). */
  currentRequest?(stepId: number): PolicyRequest | null;
  /** navigator.storage.estimate where the platform has it. */
  estimate?(): Promise<{ usage?: number; quota?: number }>;
  /**
   * Why the GPU device of the loaded model was lost, or null while it works; asked after an update failed. It
   * may wait a moment: a loss is reported shortly after the failure it causes (a read-back that rejects).
   */
  gpuLost?(): Promise<string | null>;
  now?(): Date;
  /** Lets queued messages in between updates (default: a macrotask). */
  yieldToEvents?(): Promise<void>;
  /** The loaded model as the training probe scores with it; without it a run with a probe is refused. */
  probeModel?: ProbeModel;
  /** Where the probe's benchmark downloads are kept (default: the Cache API, else memory). */
  benchStore?: DatasetStore;
  fetchImpl?: typeof fetch;
}

type Listener = (event: TrainEvent) => void;

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The record of a run that starts now: nothing done yet of its `numUpdates` updates (SayCan: episodes). */
function startingMeta(
  request: TrainRequest,
  id: string,
  modelId: RunMeta['modelId'],
  now: string,
  numUpdates: number,
): RunMeta {
  return {
    id,
    algo: request.algo,
    taskId: request.taskId,
    modelId,
    preset: request.preset,
    seed: request.seed,
    startedAt: now,
    updates: 0,
    numUpdates,
    globalStep: 0,
    status: 'running',
  };
}

interface Active {
  meta: RunMeta;
  trainer: RunTrainer;
  run: RunInfo;
  /** An update made but not saved (its saving failed): saved first when the run resumes. */
  unsaved?: { metrics: TrainMetrics; checkpoint: Checkpoint; adapter: LoraAdapter | null } | null;
}

export class TrainerHost implements TrainingApi {
  private active: Active | null = null;
  private listener: Listener | null = null;
  /** The update loop while it runs. */
  private loop: Promise<void> | null = null;
  /** What the loop does after the update in progress. */
  private stopAs: 'paused' | 'stopped' | null = null;
  /** A start/resume in progress (a second one is refused). */
  private starting = false;
  /** Where probe benchmarks downloaded from the hub are kept (made on first use). */
  private benchStore: DatasetStore | null = null;

  constructor(private readonly deps: TrainerHostDeps) {}

  /** The run in memory (null before any). */
  get current(): RunMeta | null {
    return this.active ? { ...this.active.meta } : null;
  }

  async start(request: TrainRequest, onEvent?: Listener): Promise<TrainReply> {
    return this.releaseUnheard(onEvent, await this.begin(request, onEvent));
  }

  private async begin(request: TrainRequest, onEvent?: Listener): Promise<TrainReply> {
    await this.failedLoopEnded();
    if (this.loop || this.starting)
      return { status: 'error', message: 'a run is training: pause or stop it before starting another' };
    this.starting = true;
    try {
      const { store, problem } = await this.storeOrProblem();
      const now = (this.deps.now?.() ?? new Date()).toISOString();
      const id = `${request.algo}-${request.taskId}-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
      if (request.probe && request.algo !== 'twosome') {
        const message =
          "could not start training: a probe scores the language model's adapter, which only TWOSOME trains";
        return { status: 'error', message };
      }
      if (request.algo === 'saycan') return await this.sayCan(request, id, now, store, onEvent, problem);
      let trainer: RunTrainer;
      let modelId: string | null = null;
      let probe: LoadedProbe | null = null;
      if (request.algo === 'ppo-mlp') {
        const config = presetConfig('ppo-mlp', request.taskId, request.preset, {
          seed: request.seed,
          steps: request.steps,
        });
        trainer = new PpoMlpRunTrainer(new PpoMlpTrainer(config));
      } else {
        const config = presetConfig('twosome', request.taskId, request.preset, {
          seed: request.seed,
          steps: request.steps,
        });
        if (request.probe) {
          // Read and checked before any GPU work: a probe without its data stops the start, saying why.
          const loaded = await this.probeOf(request.probe, request.probe.data, derivePpo(config).numUpdates);
          if ('error' in loaded) return { status: 'error', message: `could not start training: ${loaded.error}` };
          probe = loaded;
        }
        const built = await this.deps.twosomeModels(config, twosomeSeeds(config.seed));
        modelId = built.modelId;
        trainer = await TwosomeRunTrainer.create(
          config,
          built.models,
          this.deps.exclusive,
          undefined,
          this.updateProbe(probe),
        );
      }
      const meta: RunMeta = {
        ...startingMeta(request, id, modelId, now, trainer.numUpdates),
        ...(probe ? { probe: probe.meta } : {}),
      };
      this.replace(
        { meta, trainer, run: { task: request.taskId, model: modelId, preset: request.preset, startedAt: now } },
        onEvent,
      );
      if (problem) this.emit({ type: 'error', run: null, message: problem });
      if (store) await store.putRun(meta);
      this.runLoop();
      return { status: 'ok', run: { ...meta }, metrics: [] };
    } catch (error) {
      return { status: 'error', message: `could not start training: ${describeError(error)}` };
    } finally {
      this.starting = false;
    }
  }

  async estimate(request: TrainRequest): Promise<EstimateReply> {
    const unavailable = (reason: string): EstimateReply => ({ status: 'unavailable', reason });
    if (request.algo === 'saycan') return unavailable('SayCan trains nothing: it plays its episodes once');
    if (this.loop || this.starting) return unavailable('a run is training: its time left is shown below');
    const options = { seed: request.seed, steps: request.steps };
    try {
      if (request.algo === 'ppo-mlp') {
        const config = presetConfig('ppo-mlp', request.taskId, request.preset, options);
        const { numUpdates } = derivePpoMlp(config);
        const stored = await this.storedRate(request, null);
        if (stored) {
          const secondsPerUpdate = stored.secondsPerStep * config.numEnvs * config.numSteps;
          return { status: 'ok', secondsPerUpdate, numUpdates, source: stored.source };
        }
        const { secondsPerUpdate } = measurePpoMlpUpdate(config);
        return { status: 'ok', secondsPerUpdate, numUpdates, source: { kind: 'measured', parts: null } };
      }
      const config = presetConfig('twosome', request.taskId, request.preset, options);
      const { numUpdates, batchSize } = derivePpo(config);
      const modelId = (await this.deps.loadedModelId?.()) ?? null;
      if (modelId === null) return unavailable('no model is loaded');
      const stored = await this.storedRate(request, modelId);
      if (stored) {
        return { status: 'ok', secondsPerUpdate: stored.secondsPerStep * batchSize, numUpdates, source: stored.source };
      }
      const { models } = await this.deps.twosomeModels(config, twosomeSeeds(config.seed));
      try {
        const t = await measureTwosomeUpdate(config, queuedModels(models, this.deps.exclusive));
        const ms = (x: number) => `${Math.round(1000 * x)} ms`;
        const parts =
          `a rollout step ${ms(t.rolloutStep)}, a policy pass ${ms(t.policyPass)}, ` +
          `a value pass ${ms(t.valuePass)}`;
        return { status: 'ok', secondsPerUpdate: t.secondsPerUpdate, numUpdates, source: { kind: 'measured', parts } };
      } finally {
        models.actor.dispose?.();
        models.critic.dispose?.();
      }
    } catch (error) {
      return unavailable(describeError(error));
    }
  }

  /** Seconds per env step of the latest stored run like `request` (its last five updates), or null. */
  private async storedRate(request: TrainRequest, modelId: string | null) {
    const store = await this.deps.store.catch(() => null);
    if (!store) return null;
    const runs = await store.listRuns();
    const like = runs.filter(
      (r) =>
        r.algo === request.algo &&
        r.taskId === request.taskId &&
        r.preset === request.preset &&
        r.modelId === modelId &&
        r.updates > 0,
    );
    const run = like.sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1);
    if (!run) return null;
    const recent = (await store.getMetrics(run.id, run.updates)).slice(-5);
    if (recent.length === 0) return null;
    const seconds = recent.reduce((sum, m) => sum + m.timing.rolloutSeconds + m.timing.updateSeconds, 0);
    const steps = recent.length * (recent[0].globalStep / recent[0].update);
    if (!(seconds > 0 && steps > 0)) return null;
    const source = { kind: 'run' as const, runId: run.id, startedAt: run.startedAt };
    return { secondsPerStep: seconds / steps, source };
  }

  /** Stops after the update in progress; resolves when it is saved. */
  pause(): Promise<TrainReply> {
    return this.halt('paused');
  }

  stop(): Promise<TrainReply> {
    return this.halt('stopped');
  }

  async resume(runId: string | null, onEvent?: Listener, probeData?: CapabilityData): Promise<TrainReply> {
    return this.releaseUnheard(onEvent, await this.continueRun(runId, onEvent, probeData));
  }

  private async continueRun(runId: string | null, onEvent?: Listener, probeData?: CapabilityData): Promise<TrainReply> {
    await this.failedLoopEnded();
    if (this.loop || this.starting) return { status: 'error', message: 'the run is already training' };
    const active = this.active;
    const inMemory = active && (runId === null || runId === active.meta.id);
    // An update made but not saved (storage full): save it now, then go on from there.
    if (inMemory && active.meta.status === 'error' && active.unsaved) return this.saveAndContinue(active, onEvent);
    // After a failed update the trainer in memory may be half-way through it: continue from the checkpoint.
    if (active && active.meta.status === 'error' && (runId === null || runId === active.meta.id))
      runId = active.meta.id;
    else if (active && (runId === null || runId === active.meta.id)) {
      if (active.trainer.done) return { status: 'error', message: 'the run is complete: nothing to resume' };
      if (onEvent) this.setListener(onEvent);
      // A probe that lost its data (a reload with picked files) is read again from files picked since.
      const { trainer } = active;
      if (active.meta.probe && trainer instanceof TwosomeRunTrainer && !trainer.probing && probeData) {
        await this.restoreProbe(trainer, active.meta.probe, probeData);
      }
      this.runLoop();
      return this.ok();
    }
    if (runId === null) return { status: 'error', message: 'there is no run to resume' };
    this.starting = true;
    try {
      return await this.restore(runId, onEvent, probeData);
    } finally {
      this.starting = false;
    }
  }

  /** One update of a paused (or stopped) run; the run stays paused. */
  async singleUpdate(): Promise<TrainReply> {
    if (this.loop || this.starting) return { status: 'error', message: 'pause the run first: it is training' };
    const active = this.active;
    if (!active) return { status: 'error', message: 'there is no run: start one first' };
    if (active.trainer.done) return { status: 'error', message: 'the run is complete' };
    this.stopAs = 'paused';
    this.loop = this.updateOnce(active).then(async (ok) => {
      if (ok) await this.settle(active, 'paused');
    });
    await this.loop;
    this.loop = null;
    return this.ok();
  }

  async evaluate(tasks: TaskId[], episodes: number, greedy: boolean): Promise<EvalReply> {
    if (!Number.isInteger(episodes) || episodes < 1 || episodes > 1000)
      return { status: 'error', message: `episodes must be a whole number from 1 to 1000, not ${episodes}` };
    const active = this.active;
    const rows: EvalRow[] = [];
    const skipped: { taskId: TaskId; reason: string }[] = [];
    try {
      for (const taskId of tasks) {
        getTask(taskId); // throws for an unknown id
        // Seen: the task the run trained on (the frozen model was trained on none of them).
        const seen = active !== null && active.meta.algo !== 'saycan' && active.meta.taskId === taskId;
        let result;
        if (!active || active.meta.algo === 'saycan') {
          const { scorer } = await this.deps.frozenScorer();
          const serial: BatchScorer = (requests) => this.deps.exclusive(() => scorer(requests));
          result = await evaluatePolicy(taskId, serial, { episodes, greedy });
        } else {
          result = await active.trainer.evaluate(taskId, episodes, greedy);
        }
        if ('skipped' in result) skipped.push({ taskId, reason: result.skipped });
        else
          rows.push({
            taskId,
            seen,
            episodes: result.episodes,
            greedy,
            successRate: result.successRate,
            meanReturn: result.meanReturn,
            meanLength: result.meanLength,
          });
      }
    } catch (error) {
      return { status: 'error', message: `evaluation failed: ${describeError(error)}` };
    }
    return { status: 'ok', runId: active?.meta.id ?? null, rows, skipped };
  }

  async storage(): Promise<StorageReply> {
    let store: RunStore;
    try {
      store = await this.deps.store;
    } catch (error) {
      return { status: 'unavailable', reason: describeError(error) };
    }
    try {
      const runs = await store.listRuns();
      // The run in memory is fresher than its record while an update is being saved.
      const live = this.active?.meta;
      const merged = runs.map((r) => (live && r.id === live.id ? { ...live } : r));
      const estimate = await this.deps.estimate?.().catch(() => undefined);
      return {
        status: 'ok',
        storage: { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, runs: merged },
      };
    } catch (error) {
      return { status: 'unavailable', reason: `reading the stored runs failed: ${describeError(error)}` };
    }
  }

  async runMetrics(runId: string): Promise<TrainReply> {
    if (this.active?.meta.id === runId) return this.ok();
    try {
      const store = await this.deps.store;
      const meta = await store.getRun(runId);
      if (!meta) return { status: 'error', message: `no stored run ${runId}` };
      return {
        status: 'ok',
        run: meta,
        metrics: await store.getMetrics(runId, meta.algo === 'saycan' ? undefined : meta.updates),
      };
    } catch (error) {
      return { status: 'error', message: `reading run ${runId} failed: ${describeError(error)}` };
    }
  }

  async deleteRun(runId: string): Promise<DeleteRunReply> {
    if (this.active?.meta.id === runId && (this.loop || this.starting))
      return { status: 'error', message: 'that run is training: pause or stop it first' };
    try {
      const store = await this.deps.store;
      await store.deleteRun(runId);
      if (this.active?.meta.id === runId) this.replace(null);
      return { status: 'ok' };
    } catch (error) {
      return { status: 'error', message: `deleting run ${runId} failed: ${describeError(error)}` };
    }
  }

  async criticValue(stepId: number): Promise<CriticValueReply> {
    const active = this.active;
    if (!active || active.meta.algo !== 'twosome') return { status: 'none', reason: 'no TWOSOME run in this tab' };
    if (active.meta.updates === 0) return { status: 'none', reason: 'the critic has not been trained yet' };
    const request = this.deps.currentRequest?.(stepId) ?? null;
    if (!request) return { status: 'none', reason: 'no current state' };
    try {
      const value = await active.trainer.criticValue(request);
      return value === null ? { status: 'none', reason: 'no critic' } : { status: 'ok', value, runId: active.meta.id };
    } catch (error) {
      return { status: 'none', reason: `the critic failed: ${describeError(error)}` };
    }
  }

  /**
   * The engine a TWOSOME run trains on is going away (another model is being loaded): pause after the update
   * in progress and drop the trainer. The run stays stored and can be resumed once its model is loaded again.
   */
  async releaseEngine(): Promise<void> {
    const active = this.active;
    if (!active || active.meta.algo !== 'twosome') return;
    if (this.loop) await this.halt('paused');
    this.replace(null);
  }

  // -------------------------------------------------------------------------------------------------------

  /** A loop whose update failed is still recording the failure: wait for it to end. */
  private async failedLoopEnded(): Promise<void> {
    if (this.loop && this.active?.meta.status === 'error') await this.loop;
  }

  /** A probe request checked and its questions read, or what is wrong. */
  private async probeOf(
    spec: ProbeSpec,
    data: CapabilityData,
    numUpdates: number,
  ): Promise<LoadedProbe | { error: string }> {
    if (!this.deps.probeModel) return { error: 'the training probe is not available here' };
    const problem = checkProbeSpec(spec, numUpdates);
    if (problem) return { error: problem };
    this.benchStore ??= this.deps.benchStore ?? cacheDatasetStore() ?? memoryDatasetStore();
    try {
      return await loadProbe(spec, data, { store: this.benchStore, fetchImpl: this.deps.fetchImpl });
    } catch (error) {
      return { error: describeError(error) };
    }
  }

  /** The trainer's side of a loaded probe (null: none). */
  private updateProbe(probe: LoadedProbe | null): UpdateProbe | null {
    const model = this.deps.probeModel;
    if (!probe || !model) return null;
    return { every: probe.meta.every, score: (adapter) => scoreProbe(probe, model, adapter) };
  }

  /**
   * A stored run's probe, read again: from the hub as before, or from the files picked in this tab. Without its
   * data the run trains on without probing, and the page is told why (the probes it has stay in its metrics).
   */
  private async restoreProbe(trainer: TwosomeRunTrainer, meta: ProbeMeta, data?: CapabilityData): Promise<void> {
    const source: CapabilityData | null =
      meta.source.kind === 'hub'
        ? { kind: 'hub', endpoint: meta.source.endpoint }
        : data?.kind === 'files'
          ? data
          : null;
    const loaded = source
      ? await this.probeOf(meta, source, trainer.numUpdates)
      : { error: `its ${meta.title} file is not picked in this tab` };
    if ('error' in loaded) {
      const message =
        `the run goes on without its probe: ${loaded.error}. To probe again, pause, pick the file in the ` +
        'Capability check card and resume';
      this.emit({ type: 'error', run: null, message });
      return;
    }
    trainer.setProbe(this.updateProbe(loaded));
  }

  private ok(): TrainReply {
    const a = this.active;
    if (!a) return { status: 'error', message: 'there is no run' };
    // The saved updates (an update whose saving failed is not the run's yet).
    return { status: 'ok', run: { ...a.meta }, metrics: a.trainer.history.slice(0, a.meta.updates) };
  }

  /** Saves the update that could not be saved, then trains on (or settles a run it completed). */
  private async saveAndContinue(active: Active, onEvent?: Listener): Promise<TrainReply> {
    const unsaved = active.unsaved!;
    if (onEvent) this.setListener(onEvent);
    if (!(await this.save(active, unsaved.metrics, unsaved.checkpoint))) {
      return { status: 'error', message: active.meta.message ?? 'saving the update failed again' };
    }
    active.meta.message = undefined;
    await this.reportSaved(active, unsaved.metrics, unsaved.adapter);
    if (active.trainer.done) await this.settle(active, 'done');
    else this.runLoop();
    return this.ok();
  }

  /** The store, or null and why not (training still works; the user is told the run is not kept). */
  private async storeOrProblem(): Promise<{ store: RunStore | null; problem: string | null }> {
    try {
      return { store: await this.deps.store, problem: null };
    } catch (error) {
      const problem = `this run is not saved (it cannot be resumed after a reload): ${describeError(error)}`;
      return { store: null, problem };
    }
  }

  private async halt(as: 'paused' | 'stopped'): Promise<TrainReply> {
    const active = this.active;
    if (!active) return { status: 'error', message: 'there is no run' };
    if (this.loop) {
      this.stopAs = as;
      await this.loop;
    } else if (active.meta.status !== 'done' && active.meta.status !== as) {
      await this.settle(active, as);
    }
    return this.ok();
  }

  private setListener(listener: Listener | undefined): void {
    if (this.listener && this.listener !== listener) releaseCallback(this.listener);
    this.listener = listener ?? null;
  }

  /** A listener that start or resume did not take (a refused call) is released with the reply. */
  private releaseUnheard(listener: Listener | undefined, reply: TrainReply): TrainReply {
    if (listener && this.listener !== listener) releaseCallback(listener);
    return reply;
  }

  /** Makes `next` the run in memory, freeing the previous trainer. */
  private replace(next: Active | null, listener?: Listener): void {
    if (this.active && this.active !== next) this.active.trainer.dispose();
    this.active = next;
    this.setListener(listener);
  }

  private emit(event: TrainEvent): void {
    const listener = this.listener;
    if (!listener) return;
    try {
      // Through Comlink a listener returns a promise; a page that went away must not stop training.
      const returned: unknown = listener(event);
      if (returned instanceof Promise) returned.catch(() => {});
    } catch {
      // as above
    }
  }

  private runLoop(): void {
    const active = this.active as Active;
    this.stopAs = null;
    active.meta.status = 'running';
    this.emit({ type: 'status', run: { ...active.meta } });
    const yieldToEvents = this.deps.yieldToEvents ?? macrotask;
    this.loop = (async () => {
      while (this.active === active && !active.trainer.done && this.stopAs === null) {
        if (!(await this.updateOnce(active))) return;
        await yieldToEvents();
      }
      await this.settle(active, active.trainer.done ? 'done' : (this.stopAs ?? 'paused'));
    })().finally(() => {
      this.loop = null;
    });
  }

  /** One update, saved and reported; false (status error, reported) when it or its saving failed. */
  private async updateOnce(active: Active): Promise<boolean> {
    const update = active.trainer.update + 1;
    let metrics: TrainMetrics;
    let saved: { checkpoint: Checkpoint; adapter: LoraAdapter | null };
    try {
      metrics = await active.trainer.runUpdate();
      saved = await active.trainer.checkpoint(active.run);
    } catch (error) {
      await this.fail(active, await this.updateFailure(active, update, error));
      return false;
    }
    if (!(await this.save(active, metrics, saved.checkpoint, saved.adapter))) return false;
    await this.reportSaved(active, metrics, saved.adapter);
    return true;
  }

  /**
   * Saves the update just made (meta, metrics and checkpoint in one transaction); only then does the run count
   * it. When saving fails the update stays in memory for resume() and the run stops, saying why (a full
   * storage with the site's usage and quota); the stored record still agrees with what was saved.
   */
  private async save(
    active: Active,
    metrics: TrainMetrics,
    checkpoint: Checkpoint,
    adapter: LoraAdapter | null = null,
  ): Promise<boolean> {
    const next = { ...active.meta, updates: active.trainer.update, globalStep: metrics.globalStep };
    try {
      const store = await this.deps.store.catch(() => null);
      // The record of the last update says 'done' in the same transaction (settle() reports it after).
      await store?.saveUpdate({ ...next, status: active.trainer.done ? 'done' : next.status }, metrics, checkpoint);
    } catch (error) {
      active.unsaved = { metrics, checkpoint, adapter };
      const cause = await describeStorageError(error, this.deps.estimate);
      const saved = active.meta.updates;
      const kept = saved > 0 ? `the stored run stays at update ${saved}` : 'nothing of it is stored yet';
      const message =
        `update ${metrics.update} was not saved: ${cause}. Training stopped and ${kept}; free some space ` +
        `(delete stored runs or cached models), then resume: update ${metrics.update} is saved first`;
      await this.fail(active, message);
      return false;
    }
    active.unsaved = null;
    active.meta.updates = next.updates;
    active.meta.globalStep = next.globalStep;
    return true;
  }

  /** A saved update to the page: the adapter to the playground first, so its re-scoring on the report sees it. */
  private async reportSaved(active: Active, metrics: TrainMetrics, adapter: LoraAdapter | null): Promise<void> {
    const label = `${ALGO_LABELS.twosome} ${active.meta.taskId}, update ${metrics.update}`;
    if (adapter) await this.publish(active.trainer, adapter, label);
    this.emit({ type: 'update', run: { ...active.meta }, metrics });
  }

  /** Why update `update` failed: the GPU lost, said as such (its own error is a read-back's), or the error. */
  private async updateFailure(active: Active, update: number, error: unknown): Promise<string> {
    const lost = this.deps.gpuLost ? await this.deps.gpuLost().catch(() => null) : null;
    if (lost === null) return `update ${update} failed: ${describeError(error)}`;
    const kept =
      active.meta.updates > 0 ? `the run is kept at update ${active.meta.updates}` : 'no update of it was saved yet';
    return (
      `the GPU was lost during update ${update} (${lost}), so training stopped and ${kept}. ` +
      'Resume training starts the GPU again and continues from the last saved update'
    );
  }

  /** The trainer's adapter to the playground's scorer: its values, and its GPU buffers to score with in place. */
  private async publish(trainer: RunTrainer, adapter: LoraAdapter, label: string): Promise<void> {
    if (!this.deps.publishAdapter) return;
    try {
      await this.deps.publishAdapter(adapter, label, trainer.holdAdapter() ?? undefined);
    } catch (error) {
      const message = `the playground could not switch to the trained adapter: ${describeError(error)}`;
      this.emit({ type: 'error', run: this.current, message });
    }
  }

  private async fail(active: Active, message: string): Promise<void> {
    active.meta.status = 'error';
    active.meta.message = message;
    this.emit({ type: 'error', run: { ...active.meta }, message });
    try {
      const store = await this.deps.store;
      await store.putRun({ ...active.meta });
    } catch {
      // Reported above; the stored record keeps its last good update.
    }
  }

  private async settle(active: Active, status: 'paused' | 'stopped' | 'done'): Promise<void> {
    if (active.meta.status === 'error') return;
    active.meta.status = status;
    try {
      const store = await this.deps.store;
      await store.putRun({ ...active.meta });
    } catch {
      // Not stored (no IndexedDB, reported at start): the run still pauses.
    }
    this.emit({ type: 'status', run: { ...active.meta } });
  }

  /**
   * SayCan trains nothing: it is an evaluation of the frozen model (greedy, `episodes` episodes), run as a "run"
   * so that it is stored and drawn with the others. Its meta counts episodes as its updates (progress per
   * episode), and its one metrics record holds the mean return, success and length, the env steps it played
   * (globalStep) and how fast (timing).
   */
  private async sayCan(
    request: TrainRequest,
    id: string,
    now: string,
    store: RunStore | null,
    onEvent: Listener | undefined,
    problem: string | null,
  ): Promise<TrainReply> {
    const { scorer, modelId } = await this.deps.frozenScorer();
    const episodes = request.episodes ?? 10;
    const serial: BatchScorer = (requests) => this.deps.exclusive(() => scorer(requests));
    const meta = startingMeta(request, id, modelId, now, episodes);
    this.replace(null, onEvent);
    if (problem) this.emit({ type: 'error', run: null, message: problem });
    this.emit({ type: 'status', run: { ...meta } });
    const started = performance.now();
    let reported = started;
    const onEpisode = (episode: { length: number }, done: number) => {
      meta.updates = done;
      meta.globalStep += episode.length;
      // At most a few reports a second: a fast model finishes dozens of episodes in one.
      if (performance.now() - reported < 250) return;
      reported = performance.now();
      this.emit({ type: 'status', run: { ...meta } });
    };
    let evaluation;
    try {
      evaluation = await evaluatePolicy(request.taskId, serial, {
        episodes,
        greedy: true,
        seed: request.seed,
        onEpisode,
      });
    } catch (error) {
      const message = `the SayCan evaluation failed: ${describeError(error)}`;
      this.emit({ type: 'error', run: { ...meta, status: 'error', message }, message });
      this.setListener(undefined);
      return { status: 'error', message };
    }
    const seconds = (performance.now() - started) / 1000;
    const steps = meta.globalStep;
    const metrics: TrainMetrics = {
      update: 1,
      numUpdates: 1,
      globalStep: steps,
      primitiveSteps: 0,
      episodes: evaluation.episodes,
      episodesTotal: evaluation.episodes,
      episodicReturn: evaluation.meanReturn,
      successRate: evaluation.successRate,
      episodeLength: evaluation.meanLength,
      policyLr: 0,
      valueLr: 0,
      valueLoss: null,
      policyLoss: null,
      entropy: null,
      approxKl: null,
      oldApproxKl: null,
      clipFrac: null,
      explainedVariance: null,
      policySteps: 0,
      valueSteps: 0,
      klStopped: false,
      timing: { sps: seconds > 0 ? steps / seconds : 0, rolloutSeconds: seconds, updateSeconds: 0 },
    };
    const done: RunMeta = { ...meta, updates: evaluation.episodes, status: 'done' };
    await store?.saveUpdate(done, metrics, null);
    this.emit({ type: 'update', run: done, metrics });
    this.emit({ type: 'status', run: done });
    this.setListener(undefined);
    return { status: 'ok', run: done, metrics: [metrics] };
  }

  /** A stored run back in memory from its checkpoint, then training. */
  private async restore(runId: string, onEvent?: Listener, probeData?: CapabilityData): Promise<TrainReply> {
    let store: RunStore;
    try {
      store = await this.deps.store;
    } catch (error) {
      return { status: 'error', message: `runs cannot be read in this browser: ${describeError(error)}` };
    }
    const meta = await store.getRun(runId).catch(() => undefined);
    if (!meta) return { status: 'error', message: `no stored run ${runId}` };
    const damaged = (why: string): TrainReply => ({
      status: 'error',
      message: `run ${runId} cannot be resumed: ${why}. It is kept as it is; delete it under Stored runs if you no longer need it`,
    });
    if (meta.algo === 'saycan') return damaged('a SayCan run trains nothing');
    if (meta.updates === 0) {
      const message = `run ${runId} stopped before its first update was saved: nothing to continue; start a new run`;
      return { status: 'error', message };
    }
    let checkpoint: Checkpoint;
    let history: TrainMetrics[];
    try {
      checkpoint = checkCheckpoint(await store.getCheckpoint(runId), 'its checkpoint');
      if (checkpoint.algo !== meta.algo)
        throw new Error(`its checkpoint is of ${checkpoint.algo}, the run of ${meta.algo}`);
      history = await store.getMetrics(runId, checkpoint.state.update);
      if (history.length !== checkpoint.state.update)
        throw new Error(`${history.length} stored metrics for ${checkpoint.state.update} updates`);
    } catch (error) {
      return damaged(describeError(error));
    }
    let trainer: RunTrainer;
    try {
      if (checkpoint.algo === 'ppo-mlp') {
        trainer = PpoMlpRunTrainer.fromState(checkpoint.state, history);
      } else {
        const config = checkpoint.state.config;
        const built = await this.deps.twosomeModels(config, twosomeSeeds(config.seed));
        if (meta.modelId !== null && built.modelId !== meta.modelId) {
          built.models.actor.dispose?.();
          built.models.critic.dispose?.();
          return {
            status: 'error',
            message: `run ${runId} was trained on the model "${meta.modelId}"; load that model to resume it (now loaded: "${built.modelId}")`,
          };
        }
        trainer = await TwosomeRunTrainer.create(config, built.models, this.deps.exclusive, checkpoint.state);
      }
    } catch (error) {
      return damaged(`its checkpoint does not restore (${describeError(error)})`);
    }
    const restored: RunMeta = {
      ...meta,
      updates: trainer.update,
      globalStep: trainer.globalStep,
      numUpdates: trainer.numUpdates,
      message: undefined,
    };
    this.replace({ meta: restored, trainer, run: checkpoint.run }, onEvent);
    if (trainer instanceof TwosomeRunTrainer && meta.probe) await this.restoreProbe(trainer, meta.probe, probeData);
    if (trainer.algo === 'twosome') {
      const { adapter } = await trainer.checkpoint(checkpoint.run);
      const label = `${ALGO_LABELS.twosome} ${meta.taskId}, update ${trainer.update}`;
      if (adapter) await this.publish(trainer, adapter, label);
    }
    if (trainer.done) {
      await this.settle(this.active as Active, 'done');
      return this.ok();
    }
    this.runLoop();
    return this.ok();
  }
}
