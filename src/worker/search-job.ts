// One search in the worker: a thin adapter between the page's messages and the SearchEngine. It
// builds the engine (fresh, from the worker's last checkpoint, or from a stored run's), runs the
// step loop (yielding between steps so pause and stop arrive), reports progress, α/β and
// genotypes, and stores the run as it goes. Every store write is awaited where the user is told
// it happened (a checkpoint, the final status); a write that fails is reported, never swallowed.
import {
  OutOfMemoryError,
  SearchEngine,
  SearchError,
  type SearchCheckpoint,
  type SearchProgress,
} from '../search/engine';
import { checkFits, memoryBackendOf } from '../search/memory-estimate';
import { deriveGenotype, softmax, stringifyGenotypeFile, toDartsString, toGenotypeFile } from '../search/genotype';
import { validateConfig, type SearchConfig } from '../search/space';
import { evalBatches, makeSearchStreams, type Dataset } from '../data/index';
import type { HeldOutEvaluation, RunStore } from '../runs/store';
import type { BackendSelection } from '../platform/browser';
import { errorText } from '../util/errors';
import {
  datasetKey,
  type BackendChoice,
  type DatasetSpec,
  type ErrorCode,
  type FromWorker,
  type RawWeights,
  type StartMessage,
} from './protocol';

const WEIGHTS_EVERY_MS = 250;
const GENOTYPE_EVERY_MS = 1000;
export const CHECKPOINT_EVERY_MS = 60_000;
const ACCURACY_WINDOW = 20;

/** What the worker lends a search: its data sets, backend, run store, message port and device watcher. */
export interface SearchHost {
  post(msg: FromWorker): void;
  dataset(spec: DatasetSpec): Promise<Dataset>;
  backend(choice: BackendChoice): Promise<BackendSelection>;
  store(): Promise<RunStore>;
  /** Marks the stored run as the one this job runs (other tabs then see it live). */
  claim?(runId: string): void;
  /** Calls `onFailure` once if the GPU device is lost or reports an error (webgpu only). */
  watchDevice(onFailure: (failure: { code: ErrorCode; message: string }) => void): void;
  /** Milliseconds since some fixed point (tests pass a clock they move). */
  now?(): number;
}

/** The last checkpoint the worker holds, and the stored run it belongs to ("Continue from checkpoint"). */
export interface HeldCheckpoint {
  checkpoint: SearchCheckpoint;
  runId: string | null;
}

/** The search cannot start or go on; `code` is the protocol's error code. */
class JobError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly restartWorker = false,
  ) {
    super(message);
  }
}

const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class SearchJob {
  /** The stored run (null until created, or when it could not be stored). */
  runId: string | null = null;
  engine: SearchEngine | null = null;
  /** The step loop has ended (finished or stopped); derive and checkpoint requests are answered directly. */
  finished = false;
  private config: SearchConfig | null = null;
  private dataset: Dataset | null = null;
  private backendName = '';
  private checkpointEvery = 0;
  /** Held-out scoring: how many test images, every how many epochs (0: at the run's end only). */
  private heldOutImages = 0;
  private heldOutEvery = 0;
  /** The latest held-out scoring (the run's validation accuracy), or null before the first. */
  private heldOut: HeldOutEvaluation | null = null;
  private paused = false;
  private stopRequested = false;
  private deriveRequested = false;
  private checkpointRequested = false;
  private hang = false;
  private wake: (() => void) | null = null;
  private deviceFailure: JobError | null = null;
  private readonly accuracies: number[] = [];
  private lastLosses = { trainLoss: NaN, valLoss: NaN };
  /** Problems already reported for this run (each kind once, so a failing store does not flood the page). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly host: SearchHost,
    /** The worker's last checkpoint; this job replaces it as it takes new ones. */
    public held: HeldCheckpoint | null,
  ) {}

  get active(): boolean {
    return this.engine !== null && !this.finished;
  }

  pause(): void {
    if (!this.stopRequested) this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wake?.();
  }

  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  requestDerive(): void {
    this.deriveRequested = true;
    this.wake?.();
  }

  requestCheckpoint(): void {
    this.checkpointRequested = true;
    this.wake?.();
  }

  injectNaN(): void {
    if (this.engine) this.engine.injectNaN = true;
  }

  /** Test hook: the next step never ends (as a GPU read that never returns), so Stop cannot
   * end the run and the page must give up on the worker. */
  hangNextStep(): void {
    this.hang = true;
  }

  /** Searches to the end (or a stop); every failure ends as one `error` message and the run marked failed. */
  async run(msg: StartMessage): Promise<void> {
    try {
      await this.search(msg);
    } catch (e) {
      await this.fail(e);
    }
  }

  /** Answers a derive or checkpoint request after the loop ended. */
  async answerIdle(what: 'derive' | 'checkpoint'): Promise<void> {
    try {
      if (what === 'derive') await this.sendWeights(true);
      else await this.takeCheckpoint();
    } catch (e) {
      await this.fail(e);
    }
  }

  dispose(): void {
    try {
      this.engine?.dispose();
    } catch {
      // the backend may be gone with the device
    }
    this.engine = null;
  }

  private async search(msg: StartMessage): Promise<void> {
    const { post } = this.host;
    try {
      validateConfig(msg.config);
    } catch (e) {
      throw new JobError('bad-config', `${errorText(e)}. Fix this field and start again.`);
    }
    const config = msg.config;
    if (config.epochs === 0 && config.maxSteps === 0)
      throw new JobError(
        'bad-config',
        'Epochs and Stop after steps are both 0, so there is nothing to search: set Epochs to at least 1 (or Stop after steps) and start again.',
      );
    let dataset: Dataset;
    try {
      dataset = await this.host.dataset(msg.dataset);
    } catch (e) {
      throw new JobError('dataset', errorText(e));
    }
    let sel: BackendSelection;
    try {
      sel = await this.host.backend(msg.backend);
    } catch (e) {
      throw new JobError('backend', `${errorText(e)}. Try another backend or another browser.`);
    }
    post({
      type: 'ready',
      backend: sel.backend,
      requested: sel.requested,
      adapterInfo: sel.adapterInfo,
      fallbackReason: sel.fallbackReason,
    });
    this.config = config;
    this.dataset = dataset;
    this.backendName = sel.backend;
    this.checkpointEvery = Math.max(0, Math.floor(msg.checkpointEverySteps ?? 0));
    this.heldOutImages = Math.min(dataset.test.count, Math.max(0, Math.floor(msg.heldOutImages ?? 0)));
    this.heldOutEvery = Math.max(0, Math.floor(msg.heldOutEveryEpochs ?? 0));

    let streams: ReturnType<typeof makeSearchStreams>;
    try {
      streams = makeSearchStreams(dataset, {
        batchSize: config.batchSize,
        seed: config.seed,
        trainPortion: config.trainPortion,
      });
    } catch (e) {
      // The settings do not fit this data set: no backend would help.
      throw new JobError(
        'bad-config',
        `${errorText(e)}. Train portion splits the ${dataset.train.count} training images in two, and a batch must fit in each part: lower Batch size (or move Train portion toward 0.5) and start again.`,
      );
    }
    const input = {
      height: dataset.height,
      width: dataset.width,
      channels: dataset.channels,
      classes: dataset.classNames.length,
    };
    const memory = { recompute: msg.recompute ?? 'auto', memoryBudget: msg.memoryBudget ?? null };
    // A step that cannot fit is refused before anything is allocated (the page checks too, when
    // it knows the backend; "auto" learns it only here).
    const backend = memoryBackendOf(sel.backend);
    const fit = checkFits(config, input, backend, {
      recompute: memory.recompute,
      budget: backend === 'wasm' ? null : memory.memoryBudget,
    });
    if (!fit.fits) throw new JobError('out-of-memory', fit.message);
    const engine = new SearchEngine(
      config,
      input,
      { train: streams.train, val: streams.val },
      { compiledStep: msg.compiledStep ?? true, ...memory },
    );
    this.engine = engine;
    const history = await this.startFrom(msg, engine);
    if (!this.runId) await this.createRun(msg, engine, sel.backend);
    if (this.runId) {
      this.host.claim?.(this.runId);
      post({ type: 'runStarted', runId: this.runId, step: engine.step, history });
    }
    if (sel.backend === 'webgpu')
      this.host.watchDevice((f) => {
        this.deviceFailure = new JobError(f.code, f.message, true);
        this.wake?.();
      });
    // First picture before the first step (the uniform start).
    await this.sendWeights(true);
    // A new run is resumable from the start: a tab closed before its first timed checkpoint
    // still offers it (a checkpoint of step 0 is small and quick).
    if (engine.step === 0 && this.runId && !msg.resumeRunId) await this.takeCheckpoint();
    await this.loop(engine);
  }

  /** Restores a checkpoint when asked to continue; returns the stored history a reload lost. */
  private async startFrom(msg: StartMessage, engine: SearchEngine): Promise<RunHistory> {
    if (msg.resumeRunId) {
      const store = await this.host.store();
      let cp: SearchCheckpoint | null;
      try {
        cp = await store.loadCheckpoint(msg.resumeRunId);
      } catch (e) {
        throw new JobError('bad-checkpoint', `The stored run could not be read: ${errorText(e)}`);
      }
      if (!cp) throw new JobError('no-checkpoint', 'The stored run has no checkpoint to resume from.');
      this.restore(engine, cp, "The stored checkpoint does not fit this run's network.");
      this.held = { checkpoint: cp, runId: msg.resumeRunId };
      this.runId = msg.resumeRunId;
      let history: RunHistory | undefined;
      await this.write('resume the stored run', async (s, id) => {
        await s.truncateAfter(id, cp.step);
        await s.setStatus(id, 'running');
        // After a reload the page has nothing of this run: send what it stored before the checkpoint.
        const stored = await s.getRun(id);
        history = { metrics: stored.metrics, snapshots: stored.snapshots, heldOut: stored.heldOut };
        this.heldOut = stored.heldOut.at(-1) ?? null;
      });
      return history;
    }
    if (msg.fromCheckpoint) {
      const held = this.held;
      if (!held)
        throw new JobError(
          'no-checkpoint',
          'There is no checkpoint to resume from yet (one is taken every minute, on pause and on request).',
        );
      this.restore(
        engine,
        held.checkpoint,
        'The checkpoint only fits the same network: keep mode, channels, layers, partial channels and batch size as they were.',
      );
      if (held.runId) {
        this.runId = held.runId;
        await this.write('continue the stored run', async (s, id) => {
          await s.truncateAfter(id, held.checkpoint.step);
          await s.setStatus(id, 'running');
        });
      }
      return undefined;
    }
    this.held = null;
    return undefined;
  }

  private restore(engine: SearchEngine, cp: SearchCheckpoint, remedy: string): void {
    try {
      engine.restore(cp);
    } catch (e) {
      throw new JobError('bad-checkpoint', `${errorText(e)}. ${remedy}`);
    }
  }

  private async createRun(msg: StartMessage, engine: SearchEngine, backend: string): Promise<void> {
    const { config, dataset } = this;
    try {
      const store = await this.host.store();
      this.runId = await store.createRun({
        name: `${config!.mode} · ${dataset!.name} · seed ${config!.seed} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
        config: config!,
        dataset: {
          name: dataset!.name,
          source: dataset!.source,
          key: datasetKey(msg.dataset),
          height: dataset!.height,
          width: dataset!.width,
          channels: dataset!.channels,
          classes: dataset!.classNames.length,
          trainCount: dataset!.train.count,
          testCount: dataset!.test.count,
        },
        backend,
        stepsTotal: engine.stepsTotal,
      });
      // "Continue from checkpoint" of a run that was never stored: its checkpoint starts the record.
      if (msg.fromCheckpoint && this.held) await store.saveCheckpoint(this.runId, this.held.checkpoint);
    } catch (e) {
      this.report(
        'create',
        `This run could not be stored (${errorText(e)}): it runs, but a reload will lose it. Export its genotype before closing the tab.`,
      );
    }
    if (this.held) this.held = { ...this.held, runId: this.runId };
  }

  private async loop(engine: SearchEngine): Promise<void> {
    const now = () => this.host.now?.() ?? performance.now();
    let lastWeights = now();
    let lastGenotype = now();
    let lastCheckpointAt = now();
    while (!engine.done && !this.stopRequested) {
      this.checkDevice();
      if (this.paused) {
        await this.pausePoint();
        continue;
      }
      if (this.hang) await new Promise<never>(() => {});
      const p = await engine.runStep();
      this.checkDevice();
      this.accuracies.push(p.valAccuracy);
      if (this.accuracies.length > ACCURACY_WINDOW) this.accuracies.shift();
      this.lastLosses = { trainLoss: p.trainLoss, valLoss: p.valLoss };
      this.host.post({ type: 'progress', ...progressFields(p), epochsTotal: engine.epochsPlanned });
      void this.write("store the step's metrics", (s, id) => s.appendMetrics(id, metricRow(p)));
      if (this.heldOutDue(engine)) await this.scoreHeldOut();
      const t = now();
      const wantGenotype = t - lastGenotype >= GENOTYPE_EVERY_MS || this.deriveRequested;
      if (t - lastWeights >= WEIGHTS_EVERY_MS || wantGenotype) {
        await this.sendWeights(wantGenotype);
        lastWeights = now();
        if (wantGenotype) lastGenotype = lastWeights;
        this.deriveRequested = false;
      }
      const dueBySteps = this.checkpointEvery > 0 && engine.step % this.checkpointEvery === 0;
      if (this.checkpointRequested || dueBySteps || t - lastCheckpointAt >= CHECKPOINT_EVERY_MS) {
        await this.takeCheckpoint();
        lastCheckpointAt = now();
      }
      await yieldToEvents();
    }
    this.checkDevice();
    // The run's end is scored too (finished or stopped), so its validation accuracy is its last step's.
    if (this.heldOutImages > 0 && engine.step > 0 && this.heldOut?.step !== engine.step) await this.scoreHeldOut();
    this.checkDevice();
    await this.sendWeights(true);
    // A stopped run keeps its last step: a checkpoint there (unless one was just taken).
    if (!engine.done && this.held?.checkpoint.step !== engine.step) await this.takeCheckpoint();
    this.finished = true;
    const status = engine.done ? 'done' : 'stopped';
    await this.write(`mark the run ${status}`, (s, id) => s.setStatus(id, status));
    this.host.post({
      type: 'done',
      reason: engine.done ? 'finished' : 'stopped',
      step: engine.step,
      seconds: engine.seconds,
    });
  }

  private heldOutDue(engine: SearchEngine): boolean {
    if (this.heldOutImages === 0 || this.heldOutEvery === 0 || engine.done) return false;
    const epochs = engine.step / engine.stepsPerEpoch;
    return Number.isInteger(epochs) && epochs % this.heldOutEvery === 0;
  }

  /**
   * Scores the supernet on the first `heldOutImages` test images (the same ones every time, no
   * augmentation, no updates, no draw from the search's random streams: a resumed run stays
   * exact). This is the run's validation accuracy everywhere it is shown.
   */
  private async scoreHeldOut(): Promise<void> {
    const engine = this.engine!;
    const r = await engine.evaluate(
      evalBatches(this.dataset!, 'test', this.config!.batchSize, { limit: this.heldOutImages }),
    );
    const e: HeldOutEvaluation = {
      step: engine.step,
      epoch: engine.epoch,
      testLoss: r.loss,
      testAccuracy: r.accuracy,
      testCount: r.count,
    };
    this.heldOut = e;
    this.host.post({ type: 'heldOut', ...e });
    await this.write('store the held-out accuracy', (s, id) => s.addHeldOut(id, e));
  }

  private checkDevice(): void {
    if (this.deviceFailure) throw this.deviceFailure;
  }

  private async pausePoint(): Promise<void> {
    const engine = this.engine!;
    await this.sendWeights(true);
    await this.takeCheckpoint();
    await this.write('mark the run paused', (s, id) => s.setStatus(id, 'paused'));
    this.host.post({ type: 'paused', step: engine.step });
    while (this.paused && !this.stopRequested && !this.deviceFailure) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
      if (this.deriveRequested) {
        this.deriveRequested = false;
        await this.sendWeights(true);
      }
      if (this.checkpointRequested) await this.takeCheckpoint();
    }
    if (!this.stopRequested && !this.deviceFailure) {
      await this.write('mark the run running', (s, id) => s.setStatus(id, 'running'));
      this.host.post({ type: 'resumed', step: engine.step });
    }
  }

  /**
   * Takes a checkpoint and stores it. `checkpointSaved` is posted only once the write has
   * completed (durable when the store is IndexedDB); a failed write is reported at once as
   * `checkpointFailed`, and the run goes on and tries again at its next checkpoint.
   */
  private async takeCheckpoint(): Promise<void> {
    this.checkpointRequested = false;
    const cp = await this.engine!.checkpoint();
    this.held = { checkpoint: cp, runId: this.runId };
    if (!this.runId) {
      this.host.post({
        type: 'checkpointFailed',
        step: cp.step,
        message: `Checkpoint at step ${cp.step} could not be stored: the run has no stored record (storing it failed when it started). It is kept in this tab for "Continue from checkpoint".`,
      });
      return;
    }
    try {
      const store = await this.host.store();
      await store.saveCheckpoint(this.runId, cp);
      this.host.post({ type: 'checkpointSaved', step: cp.step, durable: store.persistent });
    } catch (e) {
      this.host.post({
        type: 'checkpointFailed',
        step: cp.step,
        message: `Checkpoint at step ${cp.step} could not be stored: ${errorText(e)}. The search goes on and tries again at the next checkpoint.`,
      });
    }
  }

  /** Reads α/β once and posts the softmaxed and raw weights (and, if asked, the genotype). */
  private async sendWeights(withGenotype: boolean): Promise<void> {
    const engine = this.engine!;
    const config = this.config!;
    const w = await engine.archWeights();
    const raw: RawWeights = {
      alphaNormal: w.alphaNormal,
      alphaReduce: w.alphaReduce,
      betaNormal: w.betaNormal,
      betaReduce: w.betaReduce,
      edgeNormal: w.edgeNormal,
      edgeReduce: w.edgeReduce,
    };
    const step = engine.step;
    const epoch = engine.epoch;
    void this.write('store α/β', (s, id) => s.appendSnapshot(id, { step, epoch, kind: 'raw', ...raw }));
    const sm = (rows: number[][] | null) => (rows ? rows.map((row) => softmax(row)) : null);
    this.host.post({
      type: 'weights',
      step,
      epoch,
      alphaNormal: sm(raw.alphaNormal)!,
      alphaReduce: sm(raw.alphaReduce)!,
      betaNormal: sm(raw.betaNormal),
      betaReduce: sm(raw.betaReduce),
      raw,
    });
    if (!withGenotype) return;
    const genotype = deriveGenotype(raw, config.mode, { fixedActivation: config.activation });
    const acc = this.accuracies;
    const file = toGenotypeFile(genotype, {
      weights: raw,
      run: {
        mode: config.mode,
        dataset: this.dataset!.name,
        datasetSource: this.dataset!.source,
        config: { ...config } as unknown as Record<string, unknown>,
        backend: this.backendName,
        steps: step,
        epochs: step / engine.stepsPerEpoch,
        seconds: engine.seconds,
        metrics: {
          valAccuracy: this.heldOut?.testAccuracy ?? null,
          valImages: this.heldOut?.testCount ?? 0,
          valStep: this.heldOut?.step ?? null,
          batchAccuracy: acc.length ? acc.reduce((a, b) => a + b, 0) / acc.length : null,
          batchAccuracySteps: acc.length,
          trainLoss: this.lastLosses.trainLoss,
          valLoss: this.lastLosses.valLoss,
        },
        createdAt: new Date().toISOString(),
      },
    });
    const json = stringifyGenotypeFile(file);
    void this.write('store the genotype', (s, id) => s.setGenotype(id, json));
    this.host.post({ type: 'genotype', step, json, darts: toDartsString(genotype) });
  }

  /**
   * A write to the stored run. It never stops the search; a failure reaches the page as a
   * `storageProblem` (once per kind of write), so what the page shows and what is stored never
   * silently part.
   */
  private async write(what: string, body: (store: RunStore, id: string) => Promise<unknown>): Promise<boolean> {
    if (!this.runId) return false;
    try {
      await body(await this.host.store(), this.runId);
      return true;
    } catch (e) {
      this.report(what, `Could not ${what}: ${errorText(e)}.`);
      return false;
    }
  }

  private report(kind: string, message: string): void {
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    this.host.post({ type: 'storageProblem', runId: this.runId, message });
  }

  private async fail(e: unknown): Promise<void> {
    let code: ErrorCode;
    let message: string;
    let restartWorker = false;
    if (e instanceof JobError) {
      ({ code, message, restartWorker } = e);
    } else if (e instanceof OutOfMemoryError) {
      // Before any GPU error that followed it (a refused allocation leaves invalid buffers behind).
      code = 'out-of-memory';
      const step = this.held?.checkpoint.step;
      message = `${e.message}${step !== undefined ? ` The run keeps its checkpoint of step ${step}: after the change, resume it from Runs (or on another backend).` : ''}`;
      restartWorker = this.backendName === 'webgpu';
    } else if (e instanceof SearchError) {
      code = e.code;
      const step = this.held?.checkpoint.step;
      const hint =
        e.code === 'nan-loss'
          ? step !== undefined
            ? ` A checkpoint from step ${step} is available: lower the learning rates and use "Continue from checkpoint".`
            : ' No checkpoint was taken yet: lower the learning rates and start again.'
          : '';
      message = e.message + hint;
    } else {
      const gpu = this.backendName === 'webgpu';
      code = 'internal';
      message = `The search stopped with an error: ${errorText(e)}. ${gpu ? 'WebGPU may have failed: start again, or choose the wasm backend.' : 'Start again, or choose another backend.'}`;
      restartWorker = gpu;
    }
    this.finished = true;
    // Stored first: the page lists the run as failed when it is told.
    await this.write('mark the run failed', (s, id) => s.setStatus(id, 'failed', message));
    this.host.post({ type: 'error', code, message, recoverable: true, restartWorker });
    // After a device failure its tensors went with the device; otherwise free them now.
    if (!restartWorker) this.dispose();
    else this.engine = null;
  }
}

type RunHistory = Extract<FromWorker, { type: 'runStarted' }>['history'];

function progressFields(p: SearchProgress) {
  return {
    epoch: p.epoch,
    step: p.step,
    stepsTotal: p.stepsTotal,
    stepsPerEpoch: p.stepsPerEpoch,
    learningRate: p.learningRate,
    imagesPerSecond: p.imagesPerSecond,
    stepMilliseconds: p.stepMilliseconds,
    recordMilliseconds: p.recordMilliseconds,
    compiled: p.compiled,
    seconds: p.seconds,
    trainLoss: p.trainLoss,
    valLoss: p.valLoss,
    valAccuracy: p.valAccuracy,
  };
}

function metricRow(p: SearchProgress) {
  return {
    step: p.step,
    epoch: p.epoch,
    trainLoss: p.trainLoss,
    valLoss: p.valLoss,
    valAccuracy: p.valAccuracy,
    imagesPerSecond: p.imagesPerSecond,
    seconds: p.seconds,
    learningRate: p.learningRate,
  };
}
