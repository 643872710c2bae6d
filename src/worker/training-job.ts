// Re-training in the search worker: a thin adapter between `startTraining` and the engine's
// GenotypeTrainer. It builds the network, runs the step loop (yielding between steps so pause
// and stop arrive), scores the test images on schedule, stores the run as it goes, and reports
// failures (NaN loss, lost device) as the search does: one `error` message, the run marked failed.
import {
  genotypeOf,
  parseGenotypeInput,
  toDartsString,
  toGenotypeFile,
  withAllRelu,
  type GenotypeFile,
} from '../search/genotype';
import { watchWebGpuDevice } from '../kernels/safety';
import { SEARCH_MODES, type SearchMode } from '../search/space';
import { GenotypeTrainer, TrainDivergedError, evaluationDue } from '../retrain/train';
import { evalBatches, type Dataset } from '../data/index';
import { datasetIdentity, type RunStore } from '../runs/store';
import type { BackendSelection } from '../platform/browser';
import { errorText } from '../util/errors';
import {
  datasetKey,
  type BackendChoice,
  type DatasetSpec,
  type ErrorCode,
  type FromWorker,
  type StartTrainingMessage,
} from './protocol';

/** What the worker lends a re-training: its data sets, backend, run store and message port. */
export interface TrainingHost {
  post(msg: FromWorker): void;
  dataset(spec: DatasetSpec): Promise<Dataset>;
  backend(choice: BackendChoice): Promise<BackendSelection>;
  store(): Promise<RunStore>;
  /** Marks the stored run as the one this job runs (other tabs then see it live). */
  claim?(runId: string): void;
}

/** The training cannot start or go on; `code` is the protocol's error code. */
class TrainingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly restartWorker = false,
  ) {
    super(message);
  }
}

const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The search mode a genotype came from: its file says, else all-ReLU cells look like DARTS's. */
function searchModeOf(file: GenotypeFile): SearchMode {
  const mode = file.run?.mode;
  if (mode && SEARCH_MODES.includes(mode)) return mode;
  return [...file.normal, ...file.reduce].every((e) => e.activation === null || e.activation === 'relu')
    ? 'darts'
    : 'factorized';
}

export class TrainingJob {
  /** The stored run (null until created, or when it could not be stored). */
  runId: string | null = null;
  private paused = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private trainer: GenotypeTrainer | null = null;
  private nanRequested = false;
  private deviceFailure: TrainingError | null = null;
  private backendName: string | null = null;
  /** Problems already reported for this run (each kind once, so a failing store does not flood the page). */
  private readonly reported = new Set<string>();

  constructor(private readonly host: TrainingHost) {}

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

  /** Test hook: the next step's loss becomes NaN. */
  injectNaN(): void {
    if (this.trainer) this.trainer.injectNaN = true;
    else this.nanRequested = true;
  }

  /** Trains to the end (or a stop); every failure ends as an `error` message. */
  async run(msg: StartTrainingMessage): Promise<void> {
    try {
      await this.train(msg);
    } catch (e) {
      await this.fail(e);
    } finally {
      try {
        this.trainer?.dispose();
      } catch {
        // the backend may be gone with the device
      }
      this.trainer = null;
    }
  }

  private async train(msg: StartTrainingMessage): Promise<void> {
    const { post } = this.host;
    let file: GenotypeFile;
    try {
      file = parseGenotypeInput(msg.genotype);
    } catch (e) {
      throw new TrainingError('bad-config', `The genotype cannot be read: ${errorText(e)}`);
    }
    const genotype = msg.allRelu ? withAllRelu(genotypeOf(file)) : genotypeOf(file);
    // Stored as trained: the all-ReLU copy keeps the search's run info but not its β.
    const trainedFile = msg.allRelu ? toGenotypeFile(genotype, file.run ? { run: file.run } : {}) : file;
    let dataset: Dataset;
    try {
      dataset = await this.host.dataset(msg.dataset);
    } catch (e) {
      throw new TrainingError('dataset', errorText(e));
    }
    let sel: BackendSelection;
    try {
      sel = await this.host.backend(msg.backend);
    } catch (e) {
      throw new TrainingError('backend', `${errorText(e)}. Try another backend or another browser.`);
    }
    this.backendName = sel.backend;
    let trainer: GenotypeTrainer;
    try {
      trainer = new GenotypeTrainer(genotype, dataset, msg.config, msg.preset);
    } catch (e) {
      throw new TrainingError('bad-config', `${errorText(e)}. Fix this re-training setting and start again.`);
    }
    this.trainer = trainer;
    if (this.nanRequested) trainer.injectNaN = true;
    const { params, auxiliaryParams } = trainer.net.countParams();
    const config = trainer.config;
    try {
      const store = await this.host.store();
      this.runId = await store.createRun({
        name: `re-train ${msg.preset}${msg.allRelu ? ' · all ReLU' : ''} · ${msg.source} · ${dataset.name} · seed ${config.seed} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
        kind: 'train',
        config: null,
        mode: searchModeOf(file),
        training: {
          preset: msg.preset,
          allRelu: msg.allRelu,
          config: { ...config },
          source: msg.source,
          auxiliary: trainer.auxiliary,
          cutout: trainer.cutout,
          params,
          auxiliaryParams,
          evaluations: [],
          testAccuracy: null,
          testLoss: null,
          testCount: null,
        },
        genotype: trainedFile,
        dataset: { ...datasetIdentity(dataset), key: datasetKey(msg.dataset) },
        backend: sel.backend,
        stepsTotal: trainer.stepsTotal,
      });
    } catch (e) {
      this.report(
        'create',
        `This re-training could not be stored (${errorText(e)}): it runs, but its curves and test accuracy will not be in the Runs list. Note the result before closing the tab.`,
      );
    }
    if (this.runId) this.host.claim?.(this.runId);
    post({
      type: 'trainingStarted',
      runId: this.runId,
      backend: sel.backend,
      fallbackReason: sel.fallbackReason,
      preset: msg.preset,
      allRelu: msg.allRelu,
      source: msg.source,
      datasetName: dataset.name,
      config: { ...config },
      stepsTotal: trainer.stepsTotal,
      stepsPerEpoch: trainer.stepsPerEpoch,
      epochsTotal: trainer.epochsPlanned,
      params,
      auxiliaryParams,
      auxiliary: trainer.auxiliary,
      cutout: trainer.cutout,
      darts: toDartsString(genotype),
    });
    if (sel.backend === 'webgpu') {
      watchWebGpuDevice((f) => {
        const what = f.message.replace(/ (Results after|Resume from).*$/s, '');
        this.deviceFailure = new TrainingError(
          f.kind === 'device-lost' ? 'device-lost' : 'gpu-error',
          `${what} The re-training stopped: start it again, on this or another backend.`,
          true,
        );
        this.wake?.();
      });
    }

    const testImages = Math.max(0, Math.floor(msg.testImages));
    const evaluate = async () => {
      const r = await trainer.evaluate(
        evalBatches(dataset, 'test', config.batchSize, testImages > 0 ? { limit: testImages } : {}),
      );
      this.checkDevice();
      const evaluation = {
        step: trainer.step,
        epoch: trainer.epoch,
        testLoss: r.loss,
        testAccuracy: r.accuracy,
        testCount: r.count,
      };
      post({ type: 'trainingEvaluation', ...evaluation });
      await this.write('store the test scoring', (store, id) => store.addEvaluation(id, evaluation));
      return evaluation;
    };
    let last: Awaited<ReturnType<typeof evaluate>> | null = null;
    while (!trainer.done && !this.stopRequested) {
      this.checkDevice();
      if (this.paused) {
        await this.pausePoint(trainer.step);
        continue;
      }
      const p = await trainer.runStep();
      this.checkDevice();
      post({
        type: 'trainingProgress',
        step: p.step,
        stepsTotal: p.stepsTotal,
        epoch: p.epoch,
        epochsTotal: trainer.epochsPlanned,
        stepsPerEpoch: p.stepsPerEpoch,
        learningRate: p.learningRate,
        dropPathProb: p.dropPathProb,
        trainLoss: p.loss,
        trainAccuracy: p.accuracy,
        imagesPerSecond: p.imagesPerSecond,
        stepMilliseconds: p.stepMilliseconds,
        seconds: p.seconds,
      });
      void this.write("store the step's metrics", (store, id) =>
        store.appendTrainMetrics(id, {
          step: p.step,
          epoch: p.epoch,
          trainLoss: p.loss,
          trainAccuracy: p.accuracy,
          learningRate: p.learningRate,
          imagesPerSecond: p.imagesPerSecond,
          seconds: p.seconds,
        }),
      );
      if (evaluationDue(p.step, p.stepsTotal, p.stepsPerEpoch, msg.evalEvery)) last = await evaluate();
      await yieldToEvents();
    }
    this.checkDevice();
    const finished = trainer.done;
    // Finished: the scoring after the last step is the result. Stopped: the last scoring, if any.
    const result = {
      testAccuracy: last?.testAccuracy ?? null,
      testLoss: last?.testLoss ?? null,
      testCount: last?.testCount ?? null,
    };
    // Two writes: a result that cannot be stored must not leave the run marked running.
    if (finished) await this.write('store the test accuracy', (store, id) => store.updateTraining(id, result));
    await this.write(`mark the re-training ${finished ? 'done' : 'stopped'}`, (store, id) =>
      store.setStatus(
        id,
        finished ? 'done' : 'stopped',
        finished || !last ? null : `Stopped at step ${trainer.step}; the test accuracy is from step ${last.step}`,
      ),
    );
    post({
      type: 'trainingDone',
      reason: finished ? 'finished' : 'stopped',
      step: trainer.step,
      seconds: trainer.seconds,
      ...result,
    });
  }

  private checkDevice(): void {
    if (this.deviceFailure) throw this.deviceFailure;
  }

  /** A write to the stored run. It never stops the training; a failure reaches the page as a
   * `storageProblem` (once per kind of write). */
  private async write(what: string, body: (store: RunStore, id: string) => Promise<unknown>): Promise<void> {
    if (!this.runId) return;
    try {
      await body(await this.host.store(), this.runId);
    } catch (e) {
      this.report(what, `Could not ${what}: ${errorText(e)}.`);
    }
  }

  private report(kind: string, message: string): void {
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    this.host.post({ type: 'storageProblem', runId: this.runId, message });
  }

  private async pausePoint(step: number): Promise<void> {
    await this.write('mark the re-training paused', (store, id) => store.setStatus(id, 'paused'));
    this.host.post({ type: 'trainingPaused', step });
    while (this.paused && !this.stopRequested && !this.deviceFailure) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
    if (!this.stopRequested && !this.deviceFailure) {
      await this.write('mark the re-training running', (store, id) => store.setStatus(id, 'running'));
      this.host.post({ type: 'trainingResumed', step });
    }
  }

  private async fail(e: unknown): Promise<void> {
    let code: ErrorCode;
    let message: string;
    let restartWorker = false;
    if (e instanceof TrainingError) {
      ({ code, message, restartWorker } = e);
    } else if (e instanceof TrainDivergedError) {
      code = 'nan-loss';
      message = `${e.message.replace(/ Start again with a lower learning rate\.$/, '')} Lower the re-training's learning rate and start again.`;
    } else {
      const gpu = this.backendName === 'webgpu';
      code = 'internal';
      message = `The re-training stopped with an error: ${errorText(e)}. ${gpu ? 'WebGPU may have failed: start again, or choose the wasm backend.' : 'Start again, or choose another backend.'}`;
      restartWorker = gpu;
    }
    await this.write('mark the re-training failed', (store, id) => store.setStatus(id, 'failed', message));
    this.host.post({ type: 'error', code, message, recoverable: true, restartWorker, job: 'training' });
  }
}
