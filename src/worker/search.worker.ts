/// <reference lib="webworker" />
// The search worker: a thin adapter between the page's messages and the engine. It loads data
// sets, picks the backend, runs the step loop (yielding between steps so pause/stop arrive),
// and reports progress, architecture weights and genotypes. Reads are always async (t.data()).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SearchEngine, SearchError, type SearchCheckpoint } from '../search/engine';
import { deriveGenotype, softmax, stringifyGenotypeFile, toDartsString, toGenotypeFile } from '../search/genotype';
import { watchWebGpuDevice } from '../kernels/safety';
import { validateConfig, type SearchConfig } from '../search/space';
import {
  DatasetError,
  loadBuiltinDataset,
  loadDatasetFromFiles,
  makeSearchStreams,
  makeSyntheticDataset,
  type Dataset,
} from '../data/index';
import { openRunStore, type ArchSnapshot, type MetricRow, type RunStore } from '../runs/store';
import { errorText, selectBackend, type BackendSelection } from '../platform/browser';
import { TrainingJob, type TrainingHost } from './training-job';
import {
  datasetKey,
  type DatasetInfo,
  type DatasetSpec,
  type ErrorCode,
  type FromWorker,
  type LoadDatasetMessage,
  type RawWeights,
  type StartMessage,
  type StartTrainingMessage,
  type ToWorker,
} from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (msg: FromWorker) => scope.postMessage(msg);

const WEIGHTS_EVERY_MS = 250;
const GENOTYPE_EVERY_MS = 1000;
const CHECKPOINT_EVERY_MS = 60_000;
const ACCURACY_WINDOW = 20;

// ---------------------------------------------------------------------------------------------
// Data sets (cached by key; own files: only the latest set is kept)

const datasets = new Map<string, Dataset>();

function infoOf(key: string, d: Dataset): DatasetInfo {
  return {
    key,
    name: d.name,
    source: d.source,
    height: d.height,
    width: d.width,
    channels: d.channels,
    classNames: d.classNames.slice(),
    trainCount: d.train.count,
    testCount: d.test.count,
  };
}

async function loadDataset(msg: LoadDatasetMessage): Promise<void> {
  const { requestId, spec } = msg;
  const key = datasetKey(spec);
  let lastPost = 0;
  const onProgress = (fraction: number, phase: string) => {
    const t = performance.now();
    if (t - lastPost < 100 && fraction < 1) return;
    lastPost = t;
    post({ type: 'datasetProgress', requestId, fraction, phase });
  };
  try {
    let dataset = datasets.get(key);
    if (!dataset) {
      if (spec.kind === 'files') {
        if (!msg.files?.length) throw new DatasetError(null, 'no files given');
        dataset = await loadDatasetFromFiles(
          msg.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })),
          { onProgress },
        );
        for (const k of [...datasets.keys()]) if (k.startsWith('files:')) datasets.delete(k);
      } else {
        dataset = await makeDataset(spec, onProgress);
      }
      datasets.set(key, dataset);
    }
    post({ type: 'datasetProgress', requestId, fraction: 1, phase: 'Done' });
    post({ type: 'datasetLoaded', requestId, info: infoOf(key, dataset) });
  } catch (e) {
    post({ type: 'datasetError', requestId, message: errorText(e) });
  }
}

async function makeDataset(spec: DatasetSpec, onProgress?: (f: number, phase: string) => void): Promise<Dataset> {
  if (spec.kind === 'builtin') {
    const base = new URL(`${import.meta.env.BASE_URL}data/`, self.location.href).href;
    return loadBuiltinDataset(base, undefined, { onProgress });
  }
  if (spec.kind === 'synthetic') {
    onProgress?.(0, 'Generating synthetic images');
    return makeSyntheticDataset({
      seed: spec.seed,
      height: spec.size,
      width: spec.size,
      channels: spec.channels,
      classes: spec.classes,
    });
  }
  throw new DatasetError(spec.names.join(', '), 'these files are no longer loaded in the search worker: load them again');
}

async function getDataset(spec: DatasetSpec): Promise<Dataset> {
  const key = datasetKey(spec);
  let d = datasets.get(key);
  if (!d) {
    d = await makeDataset(spec);
    datasets.set(key, d);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// The run store: the worker owns the only one; every run is persisted as it goes.

let storePromise: Promise<RunStore> | null = null;
function getStore(): Promise<RunStore> {
  storePromise ??= openRunStore({ onWarning: (message) => post({ type: 'storageWarning', message }) }).then(async (store) => {
    // Re-trainings have no checkpoint: one a reload or crash cut short is over, not 'running'.
    await store.stopInterruptedTrainings().catch((e: unknown) => console.warn(`Could not tidy interrupted re-trainings: ${errorText(e)}`));
    return store;
  });
  return storePromise;
}

/** Writes to the stored run; a failed write is logged and never stops the search. */
async function persist(runId: string | null, write: (store: RunStore, id: string) => Promise<unknown>): Promise<void> {
  if (!runId) return;
  try {
    await write(await getStore(), runId);
  } catch (e) {
    console.warn(`Could not store run ${runId}: ${errorText(e)}`);
  }
}

/** Answers a page request to the run store; a failure reaches the page as runStoreError. */
async function storeRequest(body: (store: RunStore) => Promise<void>): Promise<void> {
  try {
    await body(await getStore());
  } catch (e) {
    post({ type: 'runStoreError', message: errorText(e) });
  }
}

async function postRunList(store: RunStore): Promise<void> {
  const { runs, problems } = await store.listRuns();
  post({ type: 'runList', runs, problems });
}

async function findResumable(): Promise<void> {
  try {
    const r = await (await getStore()).findResumable();
    post({
      type: 'resumable',
      run:
        r && r.config && r.checkpointStep !== null
          ? { id: r.id, name: r.name, step: r.checkpointStep, config: r.config, datasetKey: r.dataset.key ?? null, datasetName: r.dataset.name, backend: r.backend }
          : null,
    });
  } catch (e) {
    console.warn(`Could not look for an interrupted run: ${errorText(e)}`);
    post({ type: 'resumable', run: null });
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

interface Run {
  /** The stored run's id (null when it could not be stored). */
  runId: string | null;
  /** Checkpoint every this many steps (0: by time only). */
  checkpointEvery: number;
  engine: SearchEngine;
  config: SearchConfig;
  dataset: Dataset;
  backend: string;
  paused: boolean;
  stopRequested: boolean;
  deriveRequested: boolean;
  checkpointRequested: boolean;
  resume: (() => void) | null;
  deviceFailure: { code: ErrorCode; message: string } | null;
  accuracies: number[];
  lastLosses: { trainLoss: number; valLoss: number };
  finished: boolean;
}

let run: Run | null = null;
/** The re-training in progress (the worker runs one job at a time: a search or a re-training). */
let training: TrainingJob | null = null;
/** A job (search or re-training) is running. */
let looping = false;
let backendSel: BackendSelection | null = null;
let lastCheckpoint: SearchCheckpoint | null = null;
/** The stored run lastCheckpoint belongs to. */
let lastRunId: string | null = null;

async function ensureBackend(requested: StartMessage['backend']): Promise<BackendSelection> {
  if (backendSel && backendSel.requested === requested) return backendSel;
  backendSel = await selectBackend(requested);
  return backendSel;
}

async function start(msg: StartMessage): Promise<void> {
  if (looping) {
    post({ type: 'error', code: 'busy', message: 'A search is already running: stop it first.', recoverable: true });
    return;
  }
  looping = true;
  try {
    if (run) {
      run.engine.dispose();
      run = null;
    }
    try {
      validateConfig(msg.config);
    } catch (e) {
      throw new SearchError('bad-config', `${errorText(e)}. Fix this field and start again.`);
    }
    let dataset: Dataset;
    try {
      dataset = await getDataset(msg.dataset);
    } catch (e) {
      fail('dataset', `${errorText(e)}`, true);
      return;
    }
    let sel: BackendSelection;
    try {
      sel = await ensureBackend(msg.backend);
    } catch (e) {
      fail('backend', `${errorText(e)}. Try another backend or another browser.`, true);
      return;
    }
    post({ type: 'ready', backend: sel.backend, requested: sel.requested, adapterInfo: sel.adapterInfo, fallbackReason: sel.fallbackReason });

    const config = msg.config;
    const streams = makeSearchStreams(dataset, { batchSize: config.batchSize, seed: config.seed, trainPortion: config.trainPortion });
    const engine = new SearchEngine(
      config,
      { height: dataset.height, width: dataset.width, channels: dataset.channels, classes: dataset.classNames.length },
      { train: streams.train, val: streams.val },
    );
    const r: Run = {
      runId: null,
      checkpointEvery: Math.max(0, Math.floor(msg.checkpointEverySteps ?? 0)),
      engine,
      config,
      dataset,
      backend: sel.backend,
      paused: false,
      stopRequested: false,
      deriveRequested: false,
      checkpointRequested: false,
      resume: null,
      deviceFailure: null,
      accuracies: [],
      lastLosses: { trainLoss: NaN, valLoss: NaN },
      finished: false,
    };
    run = r;
    let history: { metrics: MetricRow[]; snapshots: ArchSnapshot[] } | undefined;
    if (msg.resumeRunId) {
      let cp: SearchCheckpoint | null;
      try {
        cp = await (await getStore()).loadCheckpoint(msg.resumeRunId);
      } catch (e) {
        fail('bad-checkpoint', `The stored run could not be read: ${errorText(e)}`, true);
        return;
      }
      if (!cp) {
        fail('no-checkpoint', 'The stored run has no checkpoint to resume from.', true);
        return;
      }
      try {
        engine.restore(cp);
      } catch (e) {
        fail('bad-checkpoint', `${errorText(e)}. The stored checkpoint does not fit this run's network.`, true);
        return;
      }
      lastCheckpoint = cp;
      lastRunId = msg.resumeRunId;
      r.runId = msg.resumeRunId;
      await persist(r.runId, async (store, id) => {
        await store.truncateAfter(id, cp.step);
        await store.setStatus(id, 'running');
        // After a reload the page has nothing of this run: send what it stored before the checkpoint.
        const stored = await store.getRun(id);
        history = { metrics: stored.metrics, snapshots: stored.snapshots };
      });
    } else if (msg.fromCheckpoint) {
      if (!lastCheckpoint) {
        fail('no-checkpoint', 'There is no checkpoint to resume from yet (one is taken every minute, on pause and on request).', true);
        return;
      }
      try {
        engine.restore(lastCheckpoint);
      } catch (e) {
        fail(
          'bad-checkpoint',
          `${errorText(e)}. The checkpoint only fits the same network: keep mode, channels, layers, partial channels and batch size as they were.`,
          true,
        );
        return;
      }
      const cp = lastCheckpoint;
      if (lastRunId) {
        r.runId = lastRunId;
        await persist(r.runId, async (store, id) => {
          await store.truncateAfter(id, cp.step);
          await store.setStatus(id, 'running');
        });
      }
    } else {
      lastCheckpoint = null;
      lastRunId = null;
    }
    if (!r.runId) {
      try {
        const store = await getStore();
        r.runId = await store.createRun({
          name: `${config.mode} · ${dataset.name} · seed ${config.seed} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
          config,
          dataset: {
            name: dataset.name,
            source: dataset.source,
            key: datasetKey(msg.dataset),
            height: dataset.height,
            width: dataset.width,
            channels: dataset.channels,
            classes: dataset.classNames.length,
            trainCount: dataset.train.count,
            testCount: dataset.test.count,
          },
          backend: sel.backend,
          stepsTotal: engine.stepsTotal,
        });
        if (msg.fromCheckpoint && lastCheckpoint) await store.saveCheckpoint(r.runId, lastCheckpoint);
      } catch (e) {
        console.warn(`Could not store the run: ${errorText(e)}`);
      }
      lastRunId = r.runId;
    }
    if (r.runId) post({ type: 'runStarted', runId: r.runId, step: engine.step, history });
    if (sel.backend === 'webgpu') {
      watchWebGpuDevice((f) => {
        r.deviceFailure = { code: f.kind === 'device-lost' ? 'device-lost' : 'gpu-error', message: f.message };
        r.resume?.();
      });
    }
    // First picture before the first step (the uniform start).
    await sendWeights(r, true);
    await loop(r);
  } catch (e) {
    reportError(e);
  } finally {
    looping = false;
  }
}

function fail(code: ErrorCode, message: string, recoverable: boolean): void {
  post({ type: 'error', code, message, recoverable });
  if (run) {
    void persist(run.runId, (store, id) => store.setStatus(id, 'failed', message));
    run.engine.dispose();
    run = null;
  }
}

function reportError(e: unknown): void {
  if (e instanceof DeviceFailureError) {
    post({ type: 'error', code: e.code, message: e.message, recoverable: true, restartWorker: true });
    if (run) void persist(run.runId, (store, id) => store.setStatus(id, 'failed', e.message));
    if (run) run = null; // its tensors went with the device
    return;
  }
  if (e instanceof SearchError) {
    const hint =
      e.code === 'nan-loss'
        ? lastCheckpoint
          ? ` A checkpoint from step ${lastCheckpoint.step} is available: lower the learning rates and use "Continue from checkpoint".`
          : ' No checkpoint was taken yet: lower the learning rates and start again.'
        : '';
    fail(e.code, e.message + hint, true);
    return;
  }
  const text = errorText(e);
  const gpu = backendSel?.backend === 'webgpu';
  post({
    type: 'error',
    code: 'internal',
    message: `The search stopped with an error: ${text}. ${gpu ? 'WebGPU may have failed: start again, or choose the wasm backend.' : 'Start again, or choose another backend.'}`,
    recoverable: true,
    restartWorker: gpu,
  });
  if (run) {
    void persist(run.runId, (store, id) => store.setStatus(id, 'failed', text));
    try {
      run.engine.dispose();
    } catch {
      // the backend may be gone already
    }
    run = null;
  }
}

const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function loop(r: Run): Promise<void> {
  const { engine } = r;
  let lastWeights = performance.now();
  let lastGenotype = performance.now();
  let lastCheckpointAt = performance.now();
  while (!engine.done && !r.stopRequested) {
    checkDevice(r);
    if (r.paused) {
      await pausePoint(r);
      continue;
    }
    const p = await engine.runStep();
    checkDevice(r);
    r.accuracies.push(p.valAccuracy);
    if (r.accuracies.length > ACCURACY_WINDOW) r.accuracies.shift();
    r.lastLosses = { trainLoss: p.trainLoss, valLoss: p.valLoss };
    post({
      type: 'progress',
      epoch: p.epoch,
      step: p.step,
      stepsTotal: p.stepsTotal,
      stepsPerEpoch: p.stepsPerEpoch,
      epochsTotal: engine.epochsPlanned,
      learningRate: p.learningRate,
      imagesPerSecond: p.imagesPerSecond,
      stepMilliseconds: p.stepMilliseconds,
      recordMilliseconds: p.recordMilliseconds,
      seconds: p.seconds,
      trainLoss: p.trainLoss,
      valLoss: p.valLoss,
      valAccuracy: p.valAccuracy,
    });
    void persist(r.runId, (store, id) =>
      store.appendMetrics(id, {
        step: p.step,
        epoch: p.epoch,
        trainLoss: p.trainLoss,
        valLoss: p.valLoss,
        valAccuracy: p.valAccuracy,
        imagesPerSecond: p.imagesPerSecond,
        seconds: p.seconds,
      }),
    );
    const t = performance.now();
    const wantGenotype = t - lastGenotype >= GENOTYPE_EVERY_MS || r.deriveRequested;
    if (t - lastWeights >= WEIGHTS_EVERY_MS || wantGenotype) {
      await sendWeights(r, wantGenotype);
      lastWeights = performance.now();
      if (wantGenotype) lastGenotype = lastWeights;
      r.deriveRequested = false;
    }
    const dueBySteps = r.checkpointEvery > 0 && engine.step % r.checkpointEvery === 0;
    if (r.checkpointRequested || dueBySteps || t - lastCheckpointAt >= CHECKPOINT_EVERY_MS) {
      await takeCheckpoint(r);
      lastCheckpointAt = performance.now();
    }
    await yieldToEvents();
  }
  checkDevice(r);
  await sendWeights(r, true);
  r.finished = true;
  await persist(r.runId, (store, id) => store.setStatus(id, engine.done ? 'done' : 'stopped'));
  post({ type: 'done', reason: engine.done ? 'finished' : 'stopped', step: engine.step, seconds: engine.seconds });
}

function checkDevice(r: Run): void {
  const f = r.deviceFailure;
  if (f) throw new DeviceFailureError(f.code, f.message);
}

/** The GPU device was lost or reported an error: this worker's webgpu backend is unusable. */
class DeviceFailureError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function pausePoint(r: Run): Promise<void> {
  await sendWeights(r, true);
  await takeCheckpoint(r);
  await persist(r.runId, (store, id) => store.setStatus(id, 'paused'));
  post({ type: 'paused', step: r.engine.step });
  while (r.paused && !r.stopRequested && !r.deviceFailure) {
    await new Promise<void>((resolve) => {
      r.resume = resolve;
    });
    r.resume = null;
    // derive/checkpoint requests while paused
    if (r.deriveRequested) {
      r.deriveRequested = false;
      await sendWeights(r, true);
    }
    if (r.checkpointRequested) await takeCheckpoint(r);
  }
  if (!r.stopRequested && !r.deviceFailure) {
    await persist(r.runId, (store, id) => store.setStatus(id, 'running'));
    post({ type: 'resumed', step: r.engine.step });
  }
}

/**
 * Takes a checkpoint and stores it. `checkpointSaved` is posted only once the write has
 * completed (durable when the store is IndexedDB); a failed write is reported at once as
 * `checkpointFailed`, and the run goes on and tries again at its next checkpoint.
 */
async function takeCheckpoint(r: Run): Promise<void> {
  r.checkpointRequested = false;
  const cp = await r.engine.checkpoint();
  lastCheckpoint = cp;
  lastRunId = r.runId;
  if (!r.runId) {
    post({ type: 'checkpointFailed', step: cp.step, message: `Checkpoint at step ${cp.step} could not be stored: the run has no stored record (storing it failed when it started). It is kept in this tab for "Continue from checkpoint".` });
    return;
  }
  try {
    const store = await getStore();
    await store.saveCheckpoint(r.runId, cp);
    post({ type: 'checkpointSaved', step: cp.step, durable: store.persistent });
  } catch (e) {
    post({ type: 'checkpointFailed', step: cp.step, message: `Checkpoint at step ${cp.step} could not be stored: ${errorText(e)}. The search goes on and tries again at the next checkpoint.` });
  }
}

/** Reads α/β once and posts the softmaxed and raw weights (and, if asked, the genotype). */
async function sendWeights(r: Run, withGenotype: boolean): Promise<void> {
  const w = await r.engine.archWeights();
  const raw: RawWeights = {
    alphaNormal: w.alphaNormal,
    alphaReduce: w.alphaReduce,
    betaNormal: w.betaNormal,
    betaReduce: w.betaReduce,
    edgeNormal: w.edgeNormal,
    edgeReduce: w.edgeReduce,
  };
  void persist(r.runId, (store, id) => store.appendSnapshot(id, { step: r.engine.step, epoch: r.engine.epoch, kind: 'raw', ...raw }));
  const sm = (rows: number[][] | null) => (rows ? rows.map((row) => softmax(row)) : null);
  post({
    type: 'weights',
    step: r.engine.step,
    epoch: r.engine.epoch,
    alphaNormal: sm(raw.alphaNormal)!,
    alphaReduce: sm(raw.alphaReduce)!,
    betaNormal: sm(raw.betaNormal),
    betaReduce: sm(raw.betaReduce),
    raw,
  });
  if (!withGenotype) return;
  const genotype = deriveGenotype(raw, r.config.mode, { fixedActivation: r.config.activation });
  const acc = r.accuracies;
  const file = toGenotypeFile(genotype, {
    weights: raw,
    run: {
      mode: r.config.mode,
      dataset: r.dataset.name,
      datasetSource: r.dataset.source,
      config: { ...r.config } as unknown as Record<string, unknown>,
      backend: r.backend,
      steps: r.engine.step,
      epochs: r.engine.step / r.engine.stepsPerEpoch,
      seconds: r.engine.seconds,
      metrics: {
        valAccuracy: acc.length ? acc.reduce((a, b) => a + b, 0) / acc.length : 0,
        valAccuracySteps: acc.length,
        trainLoss: r.lastLosses.trainLoss,
        valLoss: r.lastLosses.valLoss,
      },
      createdAt: new Date().toISOString(),
    },
  });
  const json = stringifyGenotypeFile(file);
  void persist(r.runId, (store, id) => store.setGenotype(id, json));
  post({ type: 'genotype', step: r.engine.step, json, darts: toDartsString(genotype) });
}

// ---------------------------------------------------------------------------------------------
// Re-training (src/worker/training-job.ts), with this worker's data sets, backend and run store

const trainingHost: TrainingHost = {
  post,
  dataset: getDataset,
  backend: ensureBackend,
  store: getStore,
  persist,
};

async function startTraining(msg: StartTrainingMessage): Promise<void> {
  if (looping) {
    post({ type: 'error', code: 'busy', message: 'The worker is busy with a search or a re-training: stop it first.', recoverable: true, job: 'training' });
    return;
  }
  looping = true;
  if (run) {
    run.engine.dispose(); // one network at a time on the device
    run = null;
  }
  const job = new TrainingJob(trainingHost);
  training = job;
  try {
    await job.run(msg);
  } finally {
    training = null;
    looping = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

async function handleIdleRequest(r: Run, what: 'derive' | 'checkpoint'): Promise<void> {
  try {
    if (what === 'derive') await sendWeights(r, true);
    else await takeCheckpoint(r);
  } catch (e) {
    reportError(e);
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'loadDataset':
      void loadDataset(msg);
      break;
    case 'start':
      void start(msg).catch(reportError);
      break;
    case 'startTraining':
      void startTraining(msg);
      break;
    case 'pause':
      if (training) training.pause();
      else if (run && looping) run.paused = true;
      break;
    case 'resume':
      if (training) training.resume();
      else if (run && run.paused) {
        run.paused = false;
        run.resume?.();
      }
      break;
    case 'stop':
      if (training) training.stop();
      else if (run && looping) {
        run.stopRequested = true;
        run.resume?.();
      }
      break;
    case 'derive':
      if (!run) break;
      if (looping && !run.paused) run.deriveRequested = true;
      else if (looping) {
        run.deriveRequested = true;
        run.resume?.();
      } else void handleIdleRequest(run, 'derive');
      break;
    case 'checkpoint':
      if (!run) break;
      if (looping && !run.paused) run.checkpointRequested = true;
      else if (looping) {
        run.checkpointRequested = true;
        run.resume?.();
      } else if (run.finished) void handleIdleRequest(run, 'checkpoint');
      break;
    case 'injectNaN':
      if (training) training.injectNaN();
      else if (run) run.engine.injectNaN = true;
      break;
    case 'findResumable':
      void findResumable();
      break;
    case 'listRuns':
      void storeRequest(postRunList);
      break;
    case 'getRun':
      void storeRequest(async (store) => post({ type: 'runRecord', record: await store.getRun(msg.runId) }));
      break;
    case 'compareRuns':
      void storeRequest(async (store) => {
        // The view shows final weights only: the older snapshots need not cross to the page.
        const read = async (id: string) => {
          const r = await store.getRun(id);
          return { ...r, snapshots: r.snapshots.slice(-1) };
        };
        post({ type: 'runComparison', records: [await read(msg.runIds[0]), await read(msg.runIds[1])] });
      });
      break;
    case 'deleteRun':
      if ((run && looping && run.runId === msg.runId) || training?.runId === msg.runId) {
        post({ type: 'runStoreError', message: 'This run is in progress: stop it before deleting it.' });
        break;
      }
      void storeRequest(async (store) => {
        await store.deleteRun(msg.runId);
        await postRunList(store);
      });
      break;
    case 'exportRun':
      void storeRequest(async (store) => {
        const text = await store.exportRun(msg.runId);
        const name = (await store.listRuns()).runs.find((r) => r.id === msg.runId)?.name ?? msg.runId;
        post({ type: 'runExported', runId: msg.runId, name, text });
      });
      break;
    case 'importRun':
      void storeRequest(async (store) => {
        const runId = await store.importRun(msg.text);
        post({ type: 'runImported', runId });
        await postRunList(store);
      });
      break;
    case 'discardRun':
      if (run?.runId !== msg.runId) void persist(msg.runId, (store, id) => store.setStatus(id, 'stopped', 'Discarded after a reload'));
      break;
  }
};

// Errors that escape every handler still reach the page as an error message.
scope.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  reportError(event.reason);
});
