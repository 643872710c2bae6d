/// <reference lib="webworker" />
// The search worker: a thin adapter between the page's messages and the jobs. It keeps what
// outlives a job — the loaded data sets, the backend, the run store, the last checkpoint — and
// runs one job at a time: a search (search-job.ts) or a re-training (training-job.ts).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { refuseNextAllocation, watchWebGpuDevice } from '../kernels/safety';
import {
  DatasetError,
  loadBuiltinDataset,
  loadDatasetFromFiles,
  makeSyntheticDataset,
  type Dataset,
} from '../data/index';
import { checkStoredRun, openRunStore, type DeletedRun, type RunStore, type RunSummary } from '../runs/store';
import { selectBackend, type BackendSelection } from '../platform/browser';
import { errorText } from '../util/errors';
import { metricsCsv, weightsCsv } from '../runs/csv';
import { holdRunLock, liveRunIds } from './run-locks';
import { SearchJob, type HeldCheckpoint, type SearchHost } from './search-job';
import { TrainingJob, type TrainingHost } from './training-job';
import {
  datasetKey,
  resumableRunOf,
  type DatasetInfo,
  type DatasetSpec,
  type FromWorker,
  type LoadDatasetMessage,
  type ToWorker,
} from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (msg: FromWorker) => scope.postMessage(msg);

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
  throw new DatasetError(
    spec.names.join(', '),
    'these files are no longer loaded in the search worker: load them again',
  );
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
// The run store (the worker owns the only one) and the backend

let storePromise: Promise<RunStore> | null = null;
/** How long a run's lock may take to be let go by a reloaded or closed tab's worker. */
const RELOAD_GRACE_MS = 3_000;
function getStore(): Promise<RunStore> {
  storePromise ??= openRunStore({ onWarning: (message) => post({ type: 'storageWarning', message }) }).then(
    async (store) => {
      // A run left running or paused whose job is gone (a closed tab, a dead or hung worker) is
      // interrupted, not running: so the list says, and a search offers to resume.
      try {
        await store.markInterrupted(await liveRunIds({ graceMs: RELOAD_GRACE_MS }));
      } catch (e) {
        post({
          type: 'storageProblem',
          runId: null,
          message: `Could not mark interrupted runs (the Runs list may show them as running): ${errorText(e)}.`,
        });
      }
      return store;
    },
  );
  return storePromise;
}

/** Answers a page request to the run store; a failure reaches the page as runStoreError. */
async function storeRequest(body: (store: RunStore) => Promise<void>): Promise<void> {
  try {
    await body(await getStore());
  } catch (e) {
    post({ type: 'runStoreError', message: errorText(e) });
  }
}

/** Runs deleted in this worker, newest last, for undo (a few; a reload forgets them). */
const recentlyDeleted = new Map<string, DeletedRun>();
const UNDO_KEPT = 5;

function keepDeleted(deleted: DeletedRun): void {
  recentlyDeleted.delete(deleted.id);
  recentlyDeleted.set(deleted.id, deleted);
  for (const id of [...recentlyDeleted.keys()].slice(0, -UNDO_KEPT)) recentlyDeleted.delete(id);
}

/** "‘name’ (a search of 120 steps) with 120 rows of history, 30 α/β snapshots and its checkpoint (step 100)". */
function describeDeleted(d: DeletedRun): string {
  let run: RunSummary | null = null;
  try {
    run = checkStoredRun(d.run);
  } catch {
    // a damaged record: named by its id below
  }
  const cp = (d.checkpoint as { step?: unknown } | null)?.step;
  const parts = [
    `${d.metrics.length} ${d.metrics.length === 1 ? 'row' : 'rows'} of history`,
    `${d.snapshots.length} α/β ${d.snapshots.length === 1 ? 'snapshot' : 'snapshots'}`,
  ];
  if (d.checkpoint !== null) parts.push(`its checkpoint${typeof cp === 'number' ? ` (step ${cp})` : ''}`);
  const what = run
    ? `‘${run.name}’ (${run.kind === 'train' ? 'a re-training' : 'a search'} of ${run.steps} ${run.steps === 1 ? 'step' : 'steps'}, ${run.status})`
    : `run ${d.id}`;
  return `${what} with ${parts.slice(0, -1).join(', ')}${parts.length > 1 ? ' and ' : ''}${parts.at(-1)}`;
}

async function postRunList(store: RunStore): Promise<void> {
  const { runs, problems } = await store.listRuns();
  post({ type: 'runList', runs, problems });
}

async function findResumable(): Promise<void> {
  try {
    const store = await getStore();
    const live = await liveRunIds();
    // This worker's own run is live even between its steps (its lock may still be being taken).
    if (search?.active && search.runId) live.add(search.runId);
    const r = await store.findResumable(live);
    post({
      type: 'resumable',
      run: r && resumableRunOf(r),
    });
  } catch (e) {
    post({ type: 'resumable', run: null, problem: `Could not look for an interrupted run: ${errorText(e)}` });
  }
}

let backendSel: BackendSelection | null = null;
async function ensureBackend(requested: BackendSelection['requested']): Promise<BackendSelection> {
  if (backendSel && backendSel.requested === requested) return backendSel;
  backendSel = await selectBackend(requested);
  return backendSel;
}

// ---------------------------------------------------------------------------------------------
// Jobs: one at a time

/** The search shown (running, or finished and still answering derive/checkpoint). */
let search: SearchJob | null = null;
/** The re-training in progress. */
let training: TrainingJob | null = null;
/** A job is running. */
let busy = false;
/** The last checkpoint taken in this worker ("Continue from checkpoint"). */
let held: HeldCheckpoint | null = null;
/** Lets go of the running job's run lock (run-locks.ts). */
let releaseRun: (() => void) | null = null;

/** The running job's stored run: other tabs see it live until the job ends. */
function claimRun(runId: string): void {
  releaseRun?.();
  releaseRun = holdRunLock(runId);
}

const searchHost: SearchHost = {
  post,
  dataset: getDataset,
  backend: ensureBackend,
  store: getStore,
  claim: claimRun,
  watchDevice: (onFailure) =>
    watchWebGpuDevice((f) =>
      onFailure({ code: f.kind === 'device-lost' ? 'device-lost' : 'gpu-error', message: f.message }),
    ),
};

const trainingHost: TrainingHost = {
  post,
  dataset: getDataset,
  backend: ensureBackend,
  store: getStore,
  claim: claimRun,
};

/** Runs a job if none is running; the worker's network is freed first (one at a time on the device). */
async function runJob(kind: 'search' | 'training', body: () => Promise<void>): Promise<void> {
  if (busy) {
    const message =
      kind === 'search'
        ? 'A search is already running: stop it first.'
        : 'The worker is busy with a search or a re-training: stop it first.';
    post({
      type: 'error',
      code: 'busy',
      message,
      recoverable: true,
      job: kind === 'training' ? 'training' : undefined,
    });
    return;
  }
  busy = true;
  try {
    search?.dispose();
    search = null;
    await body();
  } catch (e) {
    post({
      type: 'error',
      code: 'internal',
      message: `The worker stopped with an error: ${errorText(e)}. Start again.`,
      recoverable: true,
    });
  } finally {
    busy = false;
    releaseRun?.();
    releaseRun = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

type Handlers = { [K in ToWorker['type']]: (msg: Extract<ToWorker, { type: K }>) => void };

const handlers: Handlers = {
  loadDataset: (msg) => void loadDataset(msg),
  start: (msg) =>
    void runJob('search', async () => {
      const job = new SearchJob(searchHost, held);
      search = job;
      await job.run(msg);
      held = job.held;
    }),
  startTraining: (msg) =>
    void runJob('training', async () => {
      const job = new TrainingJob(trainingHost);
      training = job;
      try {
        await job.run(msg);
      } finally {
        training = null;
      }
    }),
  pause: () => (training ?? search)?.pause(),
  resume: () => (training ?? search)?.resume(),
  stop: () => (training ?? search)?.stop(),
  derive: () => {
    if (search?.active) search.requestDerive();
    else if (search?.engine) void search.answerIdle('derive');
  },
  checkpoint: () => {
    if (search?.active) search.requestCheckpoint();
    else if (search?.engine) void search.answerIdle('checkpoint').then(() => (held = search?.held ?? held));
  },
  injectNaN: () => (training ?? search)?.injectNaN(),
  hangNextStep: () => search?.hangNextStep(),
  refuseNextAllocation: (msg) => refuseNextAllocation(msg.bytes),
  holdCheckpointWrite: (msg) =>
    void storeRequest(async (store) => {
      store.holdCheckpointWrite = { step: msg.step, ms: msg.ms };
    }),
  interruptRun: (msg) => void storeRequest((store) => store.interruptRun(msg.runId, msg.reason)),
  findResumable: () => void findResumable(),
  listRuns: () => void storeRequest(postRunList),
  getRun: (msg) =>
    void storeRequest(async (store) => post({ type: 'runRecord', record: await store.getRun(msg.runId) })),
  compareRuns: (msg) =>
    void storeRequest(async (store) =>
      post({ type: 'runComparison', runIds: msg.runIds, runs: await store.getRunOverviews(msg.runIds) }),
    ),
  setRunNote: (msg) =>
    void storeRequest(async (store) => {
      await store.setNote(msg.runId, msg.note);
      await postRunList(store);
    }),
  deleteRun: (msg) => {
    if ((search?.active && search.runId === msg.runId) || training?.runId === msg.runId) {
      post({ type: 'runStoreError', message: 'This run is in progress: stop it before deleting it.' });
      return;
    }
    void storeRequest(async (store) => {
      const deleted = await store.deleteRun(msg.runId);
      keepDeleted(deleted);
      post({ type: 'runDeleted', runId: msg.runId, message: `Deleted ${describeDeleted(deleted)}.` });
      await postRunList(store);
    });
  },
  undoDelete: (msg) =>
    void storeRequest(async (store) => {
      const deleted = recentlyDeleted.get(msg.runId);
      if (!deleted)
        throw new Error(
          'This run can no longer be put back: deleted runs are kept for undo until the page is reloaded',
        );
      await store.restoreRun(deleted);
      recentlyDeleted.delete(msg.runId);
      post({ type: 'runRestored', runId: msg.runId, message: `Put back ${describeDeleted(deleted)}.` });
      await postRunList(store);
    }),
  exportRun: (msg) =>
    void storeRequest(async (store) => {
      const text = await store.exportRun(msg.runId);
      const name = (await store.listRuns()).runs.find((r) => r.id === msg.runId)?.name ?? msg.runId;
      post({ type: 'runExported', runId: msg.runId, name, text });
    }),
  exportCsv: (msg) =>
    void storeRequest(async (store) => {
      const run = await store.getRun(msg.runId);
      const text = msg.table === 'metrics' ? metricsCsv(run) : weightsCsv(run);
      post({ type: 'csvExported', runId: msg.runId, name: run.name, table: msg.table, text });
    }),
  importRun: (msg) =>
    void storeRequest(async (store) => {
      const before = new Set((await store.listRuns()).runs.map((r) => r.id));
      const runId = await store.importRun(msg.text);
      post({ type: 'runImported', runId, updated: before.has(runId) });
      await postRunList(store);
    }),
  discardRun: (msg) => {
    if (search?.runId === msg.runId && search.active) return;
    void storeRequest((store) => store.setStatus(msg.runId, 'stopped', 'Discarded after a reload'));
  },
};

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  (handlers[msg.type] as (m: ToWorker) => void)(msg);
};

// Errors that escape every handler still reach the page as an error message.
scope.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  post({
    type: 'error',
    code: 'internal',
    message: `The worker stopped with an error: ${errorText(event.reason)}. Start again.`,
    recoverable: true,
  });
});
