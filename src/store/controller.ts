// Owns the search worker: sends the UI's commands, turns the worker's messages into store
// updates, keeps the user's file bytes (to re-send to a fresh worker), and keeps the setup
// and the URL hash in step.
import { genotypeOf, softmax, stringifyGenotypeFile, toDartsString } from '../search/genotype';
import { compareAgainst, comparedRuns, MAX_COMPARED_RUNS, type ComparedRun } from './compare';
import { useComparison } from './compare-state';
import { averageStepTime, rememberStepTime, type StepShape } from './step-times';
import type { SearchConfig } from '../search/space';
import type { ArchSnapshot, MetricRow, RunOverview, RunRecord, RunSummary } from '../runs/store';
import {
  datasetKey,
  datasetSpecOfKey,
  type DatasetInfo,
  type FileBytes,
  type FromWorker,
  resumableRunOf,
  type ResumableRun,
  type CsvTable,
  type ToWorker,
} from '../worker/protocol';
import {
  appendThinned,
  isActive,
  isTraining,
  MAX_CURVE_POINTS,
  MAX_SNAPSHOTS,
  thinEvenly,
  useLab,
  type CurvePoint,
  type Snapshot,
  type TrainingState,
} from './lab';
import {
  datasetSpecOf,
  decodeSetup,
  encodeSetup,
  fieldProblems,
  memoryOptions,
  retrainConfig,
  retrainProblems,
  setupMemoryChecks,
  setupProblems,
  type DatasetChoice,
  type Setup,
} from './setup';

let worker: Worker | null = null;
/** The user's files of the current "files" data set, kept to re-send to a fresh worker. */
let ownFiles: FileBytes[] | null = null;
let ownFilesSentTo: Worker | null = null;
let nextRequestId = 1;
const pendingLoads = new Map<number, { choice: DatasetChoice; names: string[]; resolve: (ok: boolean) => void }>();
let deriveWaiters: ((json: string | null) => void)[] = [];

function createWorker(): Worker {
  const w = new Worker(new URL('../worker/search.worker.ts', import.meta.url), { type: 'module', name: 'search' });
  w.onmessage = (e: MessageEvent<FromWorker>) => handleMessage(e.data);
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    const detail = e.message || 'the worker script failed to load or threw an uncaught error';
    crashed(
      `The search worker crashed (${detail}). Your settings are kept: press "Start search" to start a fresh worker, or choose another backend.`,
    );
  };
  w.onmessageerror = () =>
    crashed('A message from the search worker could not be read. Press "Start search" to start again.');
  return w;
}

function crashed(message: string): void {
  const s = useLab.getState();
  const step = s.progress?.step ?? 0;
  abandonWorker();
  useLab.setState((s) => ({
    training: isTraining(s.training) ? { ...s.training!, phase: 'error' } : s.training,
    phase: s.phase === 'idle' || s.phase === 'done' ? s.phase : 'error',
    error: { code: 'worker-crash', message, recoverable: true },
  }));
  // Its run was left 'running': a fresh worker marks it interrupted and offers it to resume.
  const runId = isActive(s.phase) ? s.runId : isTraining(s.training) ? s.training!.runId : null;
  if (runId) interruptRun(runId, `Interrupted at step ${step}: the search worker crashed`);
}

/** Stops the worker for good (its state, held checkpoint and loaded data go with it). */
function abandonWorker(): void {
  clearStopTimer();
  worker?.terminate();
  worker = null;
  ownFilesSentTo = null;
  for (const [, p] of pendingLoads) p.resolve(false);
  pendingLoads.clear();
  flushDeriveWaiters(null);
  useLab.setState({ datasetLoad: null, checkpointStep: null }); // the checkpoint lived in the worker
}

/** Has a fresh worker mark a run whose worker was given up as interrupted, then offers it. */
function interruptRun(runId: string, reason: string): void {
  send({ type: 'interruptRun', runId, reason });
  findResumable();
  refreshRuns();
}

// ---------------------------------------------------------------------------------------------
// Stop always works: a step that has not ended this long after Stop is taken as hung.

const STOP_TIMEOUT_MS = 10_000;
let stopTimeoutMs = STOP_TIMEOUT_MS;
let stopTimer: ReturnType<typeof setTimeout> | null = null;

function clearStopTimer(): void {
  if (stopTimer !== null) clearTimeout(stopTimer);
  stopTimer = null;
}

/** Test hook: how long Stop waits for the step to end (the default is 10 s). */
export function setStopTimeout(ms: number | null): void {
  stopTimeoutMs = ms ?? STOP_TIMEOUT_MS;
}

function stopTimedOut(): void {
  stopTimer = null;
  const s = useLab.getState();
  if (s.phase !== 'stopping') return;
  const seconds = Math.round(stopTimeoutMs / 100) / 10;
  const why = `the search did not stop within ${seconds} s (its step hung), so its worker was stopped`;
  abandonWorker();
  useLab.setState({
    phase: 'error',
    error: {
      code: 'worker-crash',
      message: s.runId
        ? `Stopped: ${why}. The run is kept as interrupted at its last saved checkpoint: resume it (above), or start a new search.`
        : `Stopped: ${why}. Start the search again.`,
      recoverable: true,
    },
  });
  if (s.runId) interruptRun(s.runId, `Interrupted at step ${s.progress?.step ?? 0}: ${why}`);
}

function stopTrainingTimedOut(): void {
  stopTimer = null;
  const t = useLab.getState().training;
  if (t?.phase !== 'stopping') return;
  const seconds = Math.round(stopTimeoutMs / 100) / 10;
  const why = `the re-training did not stop within ${seconds} s (its step hung), so its worker was stopped`;
  abandonWorker();
  updateTraining({ phase: 'error' });
  useLab.setState({
    error: {
      code: 'worker-crash',
      message: `Stopped: ${why}. The run is kept as interrupted (a re-training has no checkpoint): start it again.`,
      recoverable: true,
    },
  });
  if (t.runId) interruptRun(t.runId, `Interrupted at step ${t.progress?.step ?? 0}: ${why}`);
}

function getWorker(): Worker {
  if (!worker) worker = createWorker();
  return worker;
}

function send(msg: ToWorker, transfer: Transferable[] = []): void {
  getWorker().postMessage(msg, transfer);
}

function flushDeriveWaiters(json: string | null): void {
  const waiters = deriveWaiters;
  deriveWaiters = [];
  for (const w of waiters) w(json);
}

// ---------------------------------------------------------------------------------------------
// Worker → store

/** What the page does with each worker message: a missing message type fails to compile. */
type Handlers = { [K in FromWorker['type']]: (msg: Extract<FromWorker, { type: K }>) => void };

const set = useLab.setState;

const handlers: Handlers = {
  ready: (msg) => {
    const a = msg.adapterInfo;
    const adapter = a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || null : null;
    set({
      backend: { backend: msg.backend, requested: msg.requested, fallbackReason: msg.fallbackReason, adapter },
      phase: 'running',
    });
  },
  progress: (msg) => {
    const point = { step: msg.step, trainLoss: msg.trainLoss, valLoss: msg.valLoss, valAccuracy: msg.valAccuracy };
    set((s) => ({ progress: msg, curve: appendThinned(s.curve, point, MAX_CURVE_POINTS) }));
    measuredStepMs = averageStepTime(measuredStepMs, msg.stepMilliseconds, msg.step);
    if (msg.step % 20 === 0) rememberRunStepTime();
  },
  heldOut: ({ type: _type, ...e }) => {
    void _type;
    set((s) => ({ heldOut: s.heldOut.filter((x) => x.step < e.step).concat([e]) }));
  },
  weights: (msg) => {
    const snap: Snapshot = {
      step: msg.step,
      epoch: msg.epoch,
      alphaNormal: msg.alphaNormal,
      alphaReduce: msg.alphaReduce,
      betaNormal: msg.betaNormal,
      betaReduce: msg.betaReduce,
      raw: msg.raw,
    };
    set((s) => {
      const last = s.snapshots[s.snapshots.length - 1];
      // Same step again (pause, derive): replace rather than add.
      const base = last && last.step === snap.step ? s.snapshots.slice(0, -1) : s.snapshots;
      const snapshots = appendThinned(base, snap, MAX_SNAPSHOTS);
      let viewIndex = s.viewIndex;
      if (viewIndex !== null && snapshots.length < base.length + 1) {
        const step = s.snapshots[viewIndex]?.step ?? 0;
        viewIndex = nearestIndex(snapshots, step);
      }
      return { snapshots, viewIndex };
    });
  },
  genotype: (msg) => {
    set({ genotype: { step: msg.step, json: msg.json, darts: msg.darts } });
    flushDeriveWaiters(msg.json);
  },
  checkpointSaved: (msg) => {
    set({ checkpointStep: msg.step, checkpointProblem: null });
  },
  checkpointFailed: (msg) => {
    // The worker still holds it ("Continue from checkpoint"), but a reload would lose it.
    set({ checkpointStep: msg.step, checkpointProblem: msg.message });
  },
  runStarted: (msg) => {
    const history = msg.history;
    if (!history) set({ runId: msg.runId, openedRun: null });
    else
      // A stored run resumed after a reload: its steps up to the checkpoint come first.
      set((s) => ({
        runId: msg.runId,
        openedRun: null,
        curve: thinEvenly(
          history.metrics
            .filter((m) => m.step <= msg.step)
            .map(curvePointOf)
            .concat(s.curve.filter((p) => p.step > msg.step)),
          MAX_CURVE_POINTS,
        ),
        snapshots: thinEvenly(
          history.snapshots
            .filter((h) => h.step <= msg.step)
            .map(snapshotOfStored)
            .concat(s.snapshots.filter((p) => p.step > msg.step)),
          MAX_SNAPSHOTS,
        ),
        heldOut: history.heldOut.filter((e) => e.step <= msg.step).concat(s.heldOut.filter((e) => e.step > msg.step)),
        viewIndex: null,
      }));
    refreshRuns();
  },
  runList: (msg) => {
    set({ runs: msg.runs, runProblems: msg.problems });
    if (showLastRunPending) {
      showLastRunPending = false;
      const s = useLab.getState();
      // The newest run, finished or stopped, comes back after a reload (an interrupted one is offered instead).
      const last = msg.runs.find((r) => r.kind === 'search' && (r.status === 'done' || r.status === 'stopped'));
      const newest = msg.runs[0];
      if (last && newest?.id === last.id && s.phase === 'idle' && !s.openedRun && !s.resumable && !s.training)
        send({ type: 'getRun', runId: last.id });
    }
  },
  runRecord: (msg) => {
    showRecord(msg.record);
  },
  runComparison: (msg) => {
    showComparison(msg.runIds, msg.runs);
  },
  runExported: (msg) => {
    downloadText(msg.text, `run-${fileStem(msg.name, msg.runId)}.json`, 'application/json');
  },
  csvExported: (msg) => {
    downloadText(msg.text, `run-${fileStem(msg.name, msg.runId)}-${msg.table}.csv`, 'text/csv');
  },
  runImported: (msg) => {
    const text = msg.updated
      ? 'Updated: the run imported before from the same search now shows its latest state.'
      : 'Imported: the run is in the list.';
    set({ runsMessage: { kind: 'info', text } });
  },
  runDeleted: (msg) => {
    set((s) => ({
      runsMessage: { kind: 'info', text: msg.message, undo: msg.runId },
      resumable: s.resumable?.id === msg.runId ? null : s.resumable,
    }));
  },
  runRestored: (msg) => {
    set({ runsMessage: { kind: 'info', text: msg.message } });
    findResumable();
  },
  runStoreError: (msg) => {
    set({ runsMessage: { kind: 'error', text: msg.message } });
    // A comparison still being read will not arrive: close it (the message says why).
    if (useComparison.getState().comparison?.result === null) closeComparison();
  },
  resumable: (msg) => {
    set((s) => ({
      resumable: isActive(s.phase) ? null : msg.run,
      storageProblems:
        msg.problem && !s.storageProblems.includes(msg.problem)
          ? [...s.storageProblems, msg.problem]
          : s.storageProblems,
    }));
  },
  storageWarning: (msg) => {
    set({ storageWarning: msg.message });
  },
  storageProblem: (msg) => {
    const add = (list: string[]) => (list.includes(msg.message) ? list : [...list, msg.message]);
    set((s) =>
      // The worker runs one job at a time: a problem during a re-training (or of its run) is its.
      s.training && (isTraining(s.training) || (msg.runId !== null && msg.runId === s.training.runId))
        ? { training: { ...s.training, problems: add(s.training.problems) } }
        : { storageProblems: add(s.storageProblems) },
    );
  },
  paused: () => {
    set({ phase: 'paused' });
  },
  resumed: () => {
    set({ phase: 'running' });
  },
  done: (msg) => {
    clearStopTimer();
    rememberRunStepTime();
    set({ phase: 'done', done: { reason: msg.reason, step: msg.step, seconds: msg.seconds } });
    refreshRuns();
  },
  error: (msg) => {
    if (msg.code !== 'busy') clearStopTimer();
    set((s) =>
      msg.job === 'training'
        ? {
            error: { code: msg.code, message: msg.message, recoverable: msg.recoverable },
            training: s.training && msg.code !== 'busy' ? { ...s.training, phase: 'error' } : s.training,
          }
        : {
            error: { code: msg.code, message: msg.message, recoverable: msg.recoverable },
            phase: msg.code === 'busy' ? s.phase : 'error',
          },
    );
    if (msg.code !== 'busy') refreshRuns();
    flushDeriveWaiters(null);
    // A run that ran out of memory is offered to resume, after the change the message names.
    if (msg.code === 'out-of-memory' && !msg.restartWorker) findResumable();
    if (msg.restartWorker) {
      abandonWorker();
      // The checkpoint went with the worker, but the stored one did not: offer it (the user
      // may pick another backend before "Resume run").
      findResumable();
    }
  },
  trainingStarted: (msg) => {
    const { type: _type, ...started } = msg;
    void _type;
    updateTraining({ phase: 'running', runId: msg.runId, started });
    refreshRuns();
  },
  trainingProgress: (msg) => {
    const point = { step: msg.step, trainLoss: msg.trainLoss, trainAccuracy: msg.trainAccuracy };
    set((s) =>
      s.training
        ? {
            training: { ...s.training, progress: msg, curve: appendThinned(s.training.curve, point, MAX_CURVE_POINTS) },
          }
        : {},
    );
  },
  trainingEvaluation: (msg) => {
    const { type: _type, ...evaluation } = msg;
    void _type;
    set((s) =>
      s.training ? { training: { ...s.training, evaluations: [...s.training.evaluations, evaluation] } } : {},
    );
  },
  trainingPaused: () => {
    updateTraining({ phase: 'paused' });
  },
  trainingResumed: () => {
    updateTraining({ phase: 'running' });
  },
  trainingDone: (msg) => {
    clearStopTimer();
    updateTraining({
      phase: 'done',
      result: {
        reason: msg.reason,
        step: msg.step,
        seconds: msg.seconds,
        testAccuracy: msg.testAccuracy,
        testCount: msg.testCount,
      },
    });
    refreshRuns();
  },
  datasetProgress: (msg) => {
    const p = pendingLoads.get(msg.requestId);
    if (p) set({ datasetLoad: { name: p.names.join(', '), fraction: msg.fraction, phase: msg.phase } });
  },
  datasetLoaded: (msg) => {
    const p = pendingLoads.get(msg.requestId);
    if (!p) return;
    pendingLoads.delete(msg.requestId);
    loaded(p.choice, msg.info);
    p.resolve(true);
  },
  datasetError: (msg) => {
    const p = pendingLoads.get(msg.requestId);
    if (!p) return;
    pendingLoads.delete(msg.requestId);
    set({ datasetLoad: null, datasetError: msg.message });
    p.resolve(false);
  },
};

function handleMessage(msg: FromWorker): void {
  (handlers[msg.type] as (m: FromWorker) => void)(msg);
}

function updateTraining(change: Partial<TrainingState>): void {
  useLab.setState((s) => (s.training ? { training: { ...s.training, ...change } } : {}));
}

function nearestIndex(snaps: Snapshot[], step: number): number {
  let best = 0;
  for (let i = 0; i < snaps.length; i++)
    if (Math.abs(snaps[i]!.step - step) < Math.abs(snaps[best]!.step - step)) best = i;
  return best;
}

function loaded(choice: DatasetChoice, info: DatasetInfo): void {
  useLab.setState((s) => ({
    datasets: { ...s.datasets, [choice]: info },
    datasetLoad: null,
    // A search started before its data set's description arrived takes it now.
    runDataset: s.runDataset ?? (isActive(s.phase) && info.key === runDatasetKey ? info : null),
  }));
}

/** The data set key of the search last started (its description may arrive after Start). */
let runDatasetKey: string | null = null;

/** The running search's average step time after its warm-up steps (for estimates before Start). */
let measuredStepMs: number | null = null;

/** Where step times are remembered (null where the page may not use localStorage). */
export function stepTimeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The step's shape of the search on screen (its backend, settings and image size), or null. */
export function runStepShape(
  backend: string | null,
  config: SearchConfig | null,
  dataset: Pick<DatasetInfo, 'height' | 'width' | 'channels'> | null,
): StepShape | null {
  if (!backend || !config || !dataset) return null;
  return {
    backend,
    mode: config.mode,
    channels: config.channels,
    layers: config.layers,
    batchSize: config.batchSize,
    partialChannels: config.partialChannels,
    order: config.order,
    height: dataset.height,
    width: dataset.width,
    imageChannels: dataset.channels,
  };
}

function rememberRunStepTime(): void {
  const s = useLab.getState();
  const shape = runStepShape(s.backend?.backend ?? null, s.runConfig, s.runDataset);
  if (!shape || measuredStepMs === null) return;
  rememberStepTime(stepTimeStorage(), { shape, ms: measuredStepMs, at: new Date().toISOString() });
}

// ---------------------------------------------------------------------------------------------
// Data sets

function requestLoad(choice: DatasetChoice, setup: Setup, files?: FileBytes[]): Promise<boolean> {
  const requestId = nextRequestId++;
  const spec = datasetSpecOf(setup);
  const names = spec.kind === 'files' ? spec.names : [choice === 'builtin' ? 'Fashion-MNIST subset' : 'synthetic'];
  return new Promise<boolean>((resolve) => {
    pendingLoads.set(requestId, { choice, names, resolve });
    useLab.setState({ datasetLoad: { name: names.join(', '), fraction: 0, phase: 'Starting' } });
    send({ type: 'loadDataset', requestId, spec, files });
  });
}

/** Loads the setup's built-in or synthetic data set in the worker (to show its classes). */
export function loadSelectedDataset(): Promise<boolean> {
  const { setup } = useLab.getState();
  if (setup.dataset === 'files') return ensureOwnFilesSent();
  useLab.setState({ datasetError: null });
  return requestLoad(setup.dataset, setup);
}

async function ensureOwnFilesSent(): Promise<boolean> {
  const { setup } = useLab.getState();
  if (!ownFiles) return false;
  const w = getWorker();
  if (ownFilesSentTo === w) return true;
  const ok = await requestLoad('files', setup, ownFiles);
  if (ok) ownFilesSentTo = w;
  return ok;
}

/**
 * Reads the user's files in the worker. On success the data set becomes the selected one; on
 * failure the message (naming the file) is shown and the previous selection stays.
 */
export async function loadOwnFiles(files: File[]): Promise<boolean> {
  if (!files.length) return false;
  useLab.setState({
    datasetError: null,
    datasetLoad: { name: files.map((f) => f.name).join(', '), fraction: 0, phase: 'Reading files' },
  });
  let bytes: FileBytes[];
  try {
    bytes = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
  } catch (e) {
    useLab.setState({ datasetLoad: null, datasetError: `Could not read the files: ${(e as Error).message}` });
    return false;
  }
  const names = bytes.map((b) => b.name);
  const previous = useLab.getState().setup;
  const candidate: Setup = { ...previous, dataset: 'files', files: names };
  const ok = await requestLoad('files', candidate, bytes);
  if (!ok) return false;
  ownFiles = bytes;
  ownFilesSentTo = worker;
  useLab.getState().setSetup((s) => ({ ...s, dataset: 'files', files: names }));
  return true;
}

export function hasOwnFiles(): boolean {
  return ownFiles !== null;
}

// ---------------------------------------------------------------------------------------------
// Commands

export async function startSearch(options: { fromCheckpoint?: boolean; resumeRunId?: string } = {}): Promise<void> {
  const state = useLab.getState();
  if (isActive(state.phase)) return;
  if (isTraining(state.training)) {
    useLab.setState({
      error: {
        code: 'busy',
        message: 'A re-training is running: stop it before starting a search.',
        recoverable: true,
      },
    });
    return;
  }
  useLab.setState({ resumable: null });
  const data = state.datasets[state.setup.dataset];
  const memory = setupMemoryChecks(state.setup, data, state.backend);
  const problems = setupProblems(state.setup, data, memory.refusal);
  if (problems.length) {
    useLab.setState({
      error: { code: 'bad-config', message: `Fix the setup first: ${problems.join('; ')}`, recoverable: true },
    });
    return;
  }
  const setup = state.setup;
  const keepHistory = options.fromCheckpoint === true;
  runDatasetKey = datasetKey(datasetSpecOf(setup));
  measuredStepMs = null;
  useLab.setState((s) => ({
    phase: 'starting',
    error: null,
    done: null,
    runConfig: { ...setup.config },
    runDataset: s.datasets[setup.dataset]?.key === runDatasetKey ? s.datasets[setup.dataset]! : null,
    backend: null,
    progress: keepHistory ? s.progress : null,
    curve: keepHistory ? s.curve.filter((p) => p.step <= (s.checkpointStep ?? 0)) : [],
    snapshots: keepHistory ? s.snapshots.filter((p) => p.step <= (s.checkpointStep ?? 0)) : [],
    heldOut: keepHistory ? s.heldOut.filter((e) => e.step <= (s.checkpointStep ?? 0)) : [],
    viewIndex: null,
    genotype: keepHistory ? s.genotype : null,
    checkpointStep: keepHistory || options.resumeRunId ? s.checkpointStep : null,
    checkpointProblem: null,
    storageProblems: [],
  }));
  if (setup.dataset === 'files') {
    const ok = await ensureOwnFilesSent();
    if (!ok) {
      useLab.setState({
        phase: 'error',
        error: {
          code: 'dataset',
          message: 'Your data set files are not loaded: choose or drop them again.',
          recoverable: true,
        },
      });
      return;
    }
  }
  send({
    type: 'start',
    config: { ...setup.config },
    dataset: datasetSpecOf(setup),
    backend: setup.backend,
    fromCheckpoint: options.fromCheckpoint,
    resumeRunId: options.resumeRunId,
    checkpointEverySteps: setup.checkpointEvery,
    compiledStep: setup.compiledStep,
    ...memoryOptions(setup),
    heldOutImages: setup.heldOutImages,
    heldOutEveryEpochs: setup.heldOutEvery,
  });
}

// ---------------------------------------------------------------------------------------------
// Re-training a genotype (in the same worker: it runs a search or a re-training, not both)

/**
 * Re-trains a genotype (a genotype file's JSON or a DARTS string) with the setup's re-training
 * settings, on the setup's data set and backend. `source` names where the genotype came from.
 */
export async function startTraining(genotype: string, source: string): Promise<void> {
  const state = useLab.getState();
  if (isTraining(state.training)) return;
  if (isActive(state.phase)) {
    useLab.setState({
      error: {
        code: 'busy',
        message: 'A search is running: stop it before re-training a genotype.',
        recoverable: true,
      },
    });
    return;
  }
  const setup = state.setup;
  const problems = retrainProblems(setup);
  if (problems.length) {
    useLab.setState({
      error: {
        code: 'bad-config',
        message: `Fix the re-training settings first: ${problems.join('; ')}`,
        recoverable: true,
      },
    });
    return;
  }
  useLab.setState({
    error: null,
    training: {
      phase: 'starting',
      runId: null,
      source,
      started: null,
      progress: null,
      curve: [],
      evaluations: [],
      result: null,
      stored: false,
      problems: [],
    },
  });
  if (setup.dataset === 'files' && !(await ensureOwnFilesSent())) {
    updateTraining({ phase: 'error' });
    useLab.setState({
      error: {
        code: 'dataset',
        message: 'Your data set files are not loaded: choose or drop them again.',
        recoverable: true,
      },
    });
    return;
  }
  const r = setup.retrain;
  send({
    type: 'startTraining',
    genotype,
    source,
    dataset: datasetSpecOf(setup),
    backend: setup.backend,
    preset: r.preset,
    allRelu: r.allRelu,
    config: retrainConfig(r),
    evalEvery: r.evalEvery,
    testImages: r.testImages,
  });
}

export function pauseTraining(): void {
  if (useLab.getState().training?.phase !== 'running') return;
  updateTraining({ phase: 'pausing' });
  send({ type: 'pause' });
}

export function resumeTraining(): void {
  const phase = useLab.getState().training?.phase;
  if (phase !== 'paused' && phase !== 'pausing') return;
  updateTraining({ phase: 'running' });
  send({ type: 'resume' });
}

export function stopTraining(): void {
  if (!isTraining(useLab.getState().training)) return;
  updateTraining({ phase: 'stopping' });
  send({ type: 'stop' });
  clearStopTimer();
  stopTimer = setTimeout(stopTrainingTimedOut, stopTimeoutMs);
}

/** Asks the worker for a stored run that a reload interrupted (shown as a notice). */
export function findResumable(): void {
  send({ type: 'findResumable' });
}

/**
 * Continues the interrupted stored run: the setup takes its settings and data set, and the
 * worker rebuilds the engine from its stored checkpoint (so the steps continue exactly).
 */
export async function resumeStoredRun(run?: ResumableRun): Promise<void> {
  const r = run ?? useLab.getState().resumable;
  if (!r || isActive(useLab.getState().phase)) return;
  const spec = datasetSpecOfKey(r.datasetKey);
  if (!spec) {
    useLab.setState({
      error: {
        code: 'dataset',
        message: `The run ‘${r.name}’ used your own files (${r.datasetName}), which are not kept: it cannot be resumed here.`,
        recoverable: true,
      },
    });
    return;
  }
  useLab.getState().setSetup((s) => ({
    ...s,
    // The run's own settings: nothing typed before stands in their way.
    drafts: Object.fromEntries(
      Object.entries(s.drafts).filter(([id]) => id === 'checkpointEvery' || id.startsWith('retrain.')),
    ),
    dataset: spec.kind === 'synthetic' ? 'synthetic' : 'builtin',
    synthetic:
      spec.kind === 'synthetic'
        ? { seed: spec.seed, size: spec.size, channels: spec.channels, classes: spec.classes }
        : s.synthetic,
    config: { ...r.config },
  }));
  useLab.setState({ checkpointStep: r.step });
  await startSearch({ resumeRunId: r.id });
}

/**
 * What "Resume" needs of a stored search that can go on from its checkpoint (stopped, failed or
 * interrupted; a run still 'running' or 'paused' is live in some tab), or null.
 */
export function resumableOf(r: RunSummary): ResumableRun | null {
  if (r.status !== 'stopped' && r.status !== 'failed' && r.status !== 'interrupted') return null;
  return resumableRunOf(r);
}

// ---------------------------------------------------------------------------------------------
// Stored runs (the worker owns the run store; the page asks by message)

export function refreshRuns(): void {
  send({ type: 'listRuns' });
}

/** Set at page load: the first run list shows the newest run if it is a finished search. */
let showLastRunPending = false;

/** After a reload the page shows the run it showed last: the newest stored search, when it ended. */
export function showLastRunOnLoad(): void {
  showLastRunPending = true;
}

/** Shows a stored run read-only (its heatmaps, cells, curves and genotype). */
export function openStoredRun(runId: string): void {
  if (isActive(useLab.getState().phase)) {
    useLab.setState({ runsMessage: { kind: 'error', text: 'Stop the search first to open a stored run.' } });
    return;
  }
  if (isTraining(useLab.getState().training)) {
    useLab.setState({ runsMessage: { kind: 'error', text: 'Stop the re-training first to open a stored run.' } });
    return;
  }
  useLab.setState({ runsMessage: null });
  send({ type: 'getRun', runId });
}

// ---------------------------------------------------------------------------------------------
// Comparing stored runs (state in compare-state.ts)

/** The compared runs, read once from the run store; a new reference reuses them. */
let comparedRunsShown: ComparedRun[] | null = null;

/** Opens the comparison of 2 to 8 stored runs (in the order given; the first is the reference);
 * works during a search too. */
export function compareStoredRuns(runIds: readonly string[]): void {
  comparedRunsShown = null;
  if (runIds.length < 2 || runIds.length > MAX_COMPARED_RUNS) {
    set({ runsMessage: { kind: 'error', text: `Tick 2 to ${MAX_COMPARED_RUNS} runs to compare them.` } });
    return;
  }
  set({ runsMessage: null });
  useComparison.setState({ comparison: { runIds: [...runIds], referenceId: runIds[0]!, result: null } });
  send({ type: 'compareRuns', runIds: [...runIds] });
}

function showComparison(runIds: string[], runs: RunOverview[]): void {
  const asked = useComparison.getState().comparison;
  // Closed, or other runs asked for since: not wanted any more.
  if (!asked || asked.runIds.join('\n') !== runIds.join('\n')) return;
  try {
    comparedRunsShown = comparedRuns(runs);
    useComparison.setState({ comparison: { ...asked, result: compareAgainst(comparedRunsShown, asked.referenceId) } });
  } catch (e) {
    closeComparison();
    set({ runsMessage: { kind: 'error', text: `The runs could not be compared: ${(e as Error).message}` } });
  }
}

/** Every other run's difference maps are taken against this run; nothing is read again. */
export function setComparisonReference(runId: string): void {
  const asked = useComparison.getState().comparison;
  if (!asked || !comparedRunsShown || !asked.runIds.includes(runId)) return;
  useComparison.setState({
    comparison: { ...asked, referenceId: runId, result: compareAgainst(comparedRunsShown, runId) },
  });
}

export function closeComparison(): void {
  comparedRunsShown = null;
  useComparison.setState({ comparison: null });
}

/** The run's free-text note ('' removes it); the worker stores it and sends the list back. */
export function setRunNote(runId: string, note: string): void {
  send({ type: 'setRunNote', runId, note });
}

export function deleteStoredRun(runId: string): void {
  useLab.setState((s) => ({ runsMessage: null, openedRun: s.openedRun?.id === runId ? null : s.openedRun }));
  send({ type: 'deleteRun', runId });
}

/** Puts back a run just deleted (the worker keeps a few until the page is reloaded). */
export function undoDeleteRun(runId: string): void {
  useLab.setState({ runsMessage: null });
  send({ type: 'undoDelete', runId });
}

export function exportStoredRun(runId: string): void {
  useLab.setState({ runsMessage: null });
  send({ type: 'exportRun', runId });
}

/** Imports a run file, genotype file or DARTS string; a malformed file changes nothing. */
export async function importRunFile(file: File): Promise<void> {
  let text: string;
  try {
    text = await file.text();
  } catch (e) {
    useLab.setState({ runsMessage: { kind: 'error', text: `Could not read ${file.name}: ${(e as Error).message}` } });
    return;
  }
  useLab.setState({ runsMessage: null });
  send({ type: 'importRun', text });
}

/** One of a stored run's tables as a CSV download, from its whole stored history. */
export function downloadRunCsv(runId: string, table: CsvTable): void {
  send({ type: 'exportCsv', runId, table });
}

/** A run's name as part of a file name. */
function fileStem(name: string, runId: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || runId;
}

function downloadText(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A stored snapshot as the visuals take it (softmaxed rows, plus the stored ones as raw). */
function snapshotOfStored(s: ArchSnapshot): Snapshot {
  const sm = (rows: number[][] | null) => (rows ? rows.map((r) => softmax(r)) : null);
  const raw = s.kind === 'raw';
  return {
    step: s.step,
    epoch: s.epoch ?? 0,
    alphaNormal: raw ? sm(s.alphaNormal)! : s.alphaNormal,
    alphaReduce: raw ? sm(s.alphaReduce)! : s.alphaReduce,
    betaNormal: raw ? sm(s.betaNormal) : s.betaNormal,
    betaReduce: raw ? sm(s.betaReduce) : s.betaReduce,
    raw: {
      alphaNormal: s.alphaNormal,
      alphaReduce: s.alphaReduce,
      betaNormal: s.betaNormal,
      betaReduce: s.betaReduce,
      edgeNormal: s.edgeNormal,
      edgeReduce: s.edgeReduce,
    },
  };
}

function curvePointOf(m: MetricRow): CurvePoint {
  return { step: m.step, trainLoss: m.trainLoss, valLoss: m.valLoss, valAccuracy: m.valAccuracy };
}

function showRecord(record: RunRecord): void {
  if (isActive(useLab.getState().phase)) return;
  const snapshots: Snapshot[] = record.snapshots.map(snapshotOfStored);
  let genotype: LabGenotype = null;
  if (record.genotype) {
    try {
      genotype = {
        step: record.steps,
        json: stringifyGenotypeFile(record.genotype),
        darts: toDartsString(genotypeOf(record.genotype)),
      };
    } catch {
      genotype = null;
    }
  }
  const d = record.dataset;
  if (record.kind === 'train') {
    showTrainingRecord(record, genotype);
    return;
  }
  useLab.setState({
    training: null,
    phase: 'done',
    openedRun: { id: record.id, name: record.name },
    runsMessage: record.problems.length
      ? { kind: 'info', text: `Some stored history could not be read: ${record.problems.join('; ')}` }
      : null,
    runConfig: record.config,
    runDataset: {
      key: d.key ?? d.source,
      name: d.name,
      source: d.source,
      height: d.height ?? 0,
      width: d.width ?? 0,
      channels: d.channels ?? 0,
      classNames: [],
      trainCount: d.trainCount ?? 0,
      testCount: d.testCount ?? 0,
    },
    backend: null,
    progress: null,
    error: null,
    curve: record.metrics.map(curvePointOf),
    snapshots,
    heldOut: record.heldOut,
    viewIndex: null,
    genotype,
    checkpointStep: null,
    checkpointProblem: null,
    done: {
      reason: record.status === 'done' ? 'finished' : 'stopped',
      step: record.steps,
      seconds: record.seconds,
      stored: { status: record.status, message: record.message },
    },
    // An interrupted or failed run offers to go on from its checkpoint, as after a reload.
    resumable: record.status === 'interrupted' || record.status === 'failed' ? resumableOf(record) : null,
  });
}

type LabGenotype = ReturnType<typeof useLab.getState>['genotype'];

/** A stored re-training: its curves, scorings and result in the "Re-training" region, and its
 * genotype in the genotype panel (to re-train again); the search views are cleared. */
function showTrainingRecord(record: RunRecord, genotype: LabGenotype): void {
  const t = record.training;
  const d = record.dataset;
  const last = record.trainMetrics[record.trainMetrics.length - 1];
  const finished = record.status === 'done';
  useLab.setState({
    phase: 'idle',
    openedRun: { id: record.id, name: record.name },
    runsMessage: record.problems.length
      ? { kind: 'info', text: `Some stored history could not be read: ${record.problems.join('; ')}` }
      : null,
    runConfig: null,
    runDataset: null,
    backend: null,
    progress: null,
    error: null,
    curve: [],
    snapshots: [],
    viewIndex: null,
    genotype,
    checkpointStep: null,
    checkpointProblem: null,
    done: null,
    training: {
      phase: 'done',
      runId: record.id,
      source: t?.source ?? record.name,
      started: t
        ? {
            runId: record.id,
            backend: record.backend ?? '',
            preset: t.preset,
            allRelu: t.allRelu,
            source: t.source,
            datasetName: d.name,
            config: t.config,
            stepsTotal: record.stepsTotal ?? record.steps,
            stepsPerEpoch: 0,
            epochsTotal: 0,
            params: t.params ?? 0,
            auxiliaryParams: t.auxiliaryParams ?? 0,
            auxiliary: t.auxiliary,
            cutout: t.cutout,
            darts: genotype?.darts ?? '',
          }
        : null,
      progress: null,
      curve: record.trainMetrics.map((m) => ({ step: m.step, trainLoss: m.trainLoss, trainAccuracy: m.trainAccuracy })),
      evaluations: t?.evaluations ?? [],
      result: {
        reason: finished ? 'finished' : 'stopped',
        step: record.steps,
        seconds: last?.seconds ?? record.seconds,
        testAccuracy: finished
          ? (t?.testAccuracy ?? null)
          : (t?.evaluations[t.evaluations.length - 1]?.testAccuracy ?? null),
        testCount: finished ? (t?.testCount ?? null) : (t?.evaluations[t.evaluations.length - 1]?.testCount ?? null),
      },
      stored: true,
      problems: [],
    },
  });
}

/** Keeps the interrupted run stored but stops offering it. */
export function discardResumable(): void {
  const r = useLab.getState().resumable;
  if (!r) return;
  useLab.setState({ resumable: null });
  send({ type: 'discardRun', runId: r.id });
}

export function pauseSearch(): void {
  if (useLab.getState().phase !== 'running') return;
  useLab.setState({ phase: 'pausing' });
  send({ type: 'pause' });
}

export function resumeSearch(): void {
  const phase = useLab.getState().phase;
  if (phase !== 'paused' && phase !== 'pausing') return;
  useLab.setState({ phase: 'running' });
  send({ type: 'resume' });
}

export function stopSearch(): void {
  if (!isActive(useLab.getState().phase)) return;
  useLab.setState({ phase: 'stopping' });
  send({ type: 'stop' });
  clearStopTimer();
  stopTimer = setTimeout(stopTimedOut, stopTimeoutMs);
}

export function requestCheckpoint(): void {
  send({ type: 'checkpoint' });
}

/**
 * The genotype file of the current state: asks a live run to derive it now (so the file and
 * the cells on the page come from the same step); otherwise the last one.
 */
export function currentGenotypeJson(): Promise<string | null> {
  const { phase, genotype } = useLab.getState();
  if (!worker || !isActive(phase) || phase === 'starting') return Promise.resolve(genotype?.json ?? null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      deriveWaiters = deriveWaiters.filter((w) => w !== waiter);
      resolve(useLab.getState().genotype?.json ?? null);
    }, 15_000);
    const waiter = (json: string | null) => {
      clearTimeout(timer);
      resolve(json ?? useLab.getState().genotype?.json ?? null);
    };
    deriveWaiters.push(waiter);
    send({ type: 'derive' });
  });
}

/** Test hook: the next step's loss becomes NaN. */
export function injectNaN(): void {
  send({ type: 'injectNaN' });
}

/**
 * Test hook: the page handles these messages as if its worker had sent them (the soak test
 * feeds a 10,000-step run's progress, weights and genotypes to measure the page alone).
 */
export function feedMessages(messages: FromWorker[]): void {
  for (const m of messages) handleMessage(m);
}

/** Test hook: the worker's next wasm allocation of at least `bytes` fails, as a full heap's would. */
export function refuseNextAllocation(bytes: number): void {
  send({ type: 'refuseNextAllocation', bytes });
}

/** Test hook: the search's next step never ends (Stop must then give up on the worker). */
export function hangNextStep(): void {
  send({ type: 'hangNextStep' });
}

/** Test hook: the write of the checkpoint at `step` stays in flight (uncommitted) `ms` longer. */
export function holdCheckpointWrite(step: number, ms: number): void {
  send({ type: 'holdCheckpointWrite', step, ms });
}

// ---------------------------------------------------------------------------------------------
// Setup ↔ URL hash

let writingHash = false;

export function initSetupFromHash(): void {
  if (location.hash.length > 1) {
    const { setup, warnings } = decodeSetup(location.hash);
    useLab.getState().replaceSetup(setup, warnings);
  }
  writeHash(useLab.getState().setup);
  useLab.subscribe((s, prev) => {
    if (s.setup !== prev.setup) writeHash(s.setup);
    const datasetChanged =
      s.setup.dataset !== prev.setup.dataset ||
      (s.setup.dataset === 'synthetic' && s.setup.synthetic !== prev.setup.synthetic);
    if (
      datasetChanged &&
      s.setup.dataset !== 'files' &&
      !Object.keys(fieldProblems(s.setup)).some((id) => id.startsWith('synthetic.'))
    )
      void loadSelectedDataset();
  });
  window.addEventListener('hashchange', () => {
    if (writingHash) return;
    const { setup, warnings } = decodeSetup(location.hash);
    useLab.getState().replaceSetup(setup, warnings);
  });
}

function writeHash(setup: Setup): void {
  const hash = '#' + encodeSetup(setup);
  if (location.hash === hash) return;
  writingHash = true;
  history.replaceState(null, '', hash);
  writingHash = false;
}
