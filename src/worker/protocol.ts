// Every message between the page and the search worker. Messages carry plain arrays, strings,
// numbers and ArrayBuffers only (never tensors), so structured cloning is all they need.
// The worker runs one job at a time: a search (`start`) or a re-training (`startTraining`);
// `pause`, `resume`, `stop` and `injectNaN` go to whichever runs.
import type { SearchConfig } from '../search/space';
import type { TrainConfig, TrainPresetName } from '../retrain/train-config';
import type {
  ArchSnapshot,
  HeldOutEvaluation,
  MetricRow,
  RunOverview,
  RunProblem,
  RunRecord,
  RunSummary,
} from '../runs/store';
import type { RawArchWeights } from '../search/supernet';
import type { CsvTable } from '../runs/csv';
import type { CompiledStepStatus } from '../search/engine';
import type { AdapterInfo, BackendChoice } from '../platform/backends';

export type { AdapterInfo, BackendChoice, CsvTable };

/** Which data set a run uses. Own files travel once with loadDataset; later messages name them. */
export type DatasetSpec =
  | { kind: 'builtin' }
  | { kind: 'synthetic'; seed: number; size: number; channels: number; classes: number }
  | { kind: 'files'; names: string[] };

/** What the page shows about a loaded data set (the images stay in the worker). */
export interface DatasetInfo {
  key: string;
  name: string;
  source: string;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  trainCount: number;
  testCount: number;
}

export interface FileBytes {
  name: string;
  bytes: ArrayBuffer;
}

/** Raw (pre-softmax) architecture weights, 14 rows each (DARTS edge order), as the engine reads them. */
export type RawWeights = RawArchWeights;

// ---------------------------------------------------------------------------------------------
// UI → worker

export interface LoadDatasetMessage {
  type: 'loadDataset';
  requestId: number;
  spec: DatasetSpec;
  /** Only for spec.kind === 'files'. */
  files?: FileBytes[];
}
export interface StartMessage {
  type: 'start';
  config: SearchConfig;
  dataset: DatasetSpec;
  backend: BackendChoice;
  /** Continue from the worker's last checkpoint (same architecture; other settings may change). */
  fromCheckpoint?: boolean;
  /** Continue a stored run (after a reload) from its stored checkpoint. */
  resumeRunId?: string;
  /** Take a checkpoint every this many steps; 0 or absent: every minute. */
  checkpointEverySteps?: number;
  /** webgpu: record one step and replay it (the default); false runs every step's code. */
  compiledStep?: boolean;
  /** Score the supernet on this many of the data set's test images (the same ones each time); 0 or absent: never. */
  heldOutImages?: number;
  /** ...at the end of every this many epochs, and at the run's end; 0 or absent: at the end only. */
  heldOutEveryEpochs?: number;
  /** Recompute cells in the backward pass: true, false, or 'auto' (absent: only when a step would not fit). */
  recompute?: boolean | 'auto';
  /** Bytes a step may hold on a GPU (absent: 4 GiB); wasm's limit is its heap. */
  memoryBudget?: number;
}

/** Re-trains a genotype's discrete network from scratch (DARTS's train.py recipe, by preset). */
export interface StartTrainingMessage {
  type: 'startTraining';
  /** The genotype: a genotype file's JSON text, or a DARTS `Genotype(...)` string. */
  genotype: string;
  /** Where the genotype came from (a run's or a file's name), kept with the stored run. */
  source: string;
  dataset: DatasetSpec;
  backend: BackendChoice;
  preset: TrainPresetName;
  /** Train the same cells with every activation ReLU (the paper's Table 2 baseline). */
  allRelu: boolean;
  /** Changes to the preset (e.g. a smaller network, a step limit, the seed). */
  config: Partial<TrainConfig>;
  /** Score the test images every this many steps; 0: at the end of each epoch. */
  evalEvery: number;
  /** Test images per scoring; 0: all of them. */
  testImages: number;
}

/** What a resumed run stored before its checkpoint (the page after a reload has none of it). */
export interface RunHistory {
  metrics: MetricRow[];
  snapshots: ArchSnapshot[];
  heldOut: HeldOutEvaluation[];
}

/** The stored run a reload interrupted (running or paused, with a checkpoint). */
export interface ResumableRun {
  id: string;
  name: string;
  step: number;
  config: SearchConfig;
  /** The stored data set key (see datasetKey). */
  datasetKey: string | null;
  datasetName: string;
  backend: string | null;
}

/** A stored search's resume offer, from its checkpoint; null for a run without one. */
export function resumableRunOf(r: RunSummary): ResumableRun | null {
  if (r.kind !== 'search' || !r.config || r.checkpointStep === null) return null;
  return {
    id: r.id,
    name: r.name,
    step: r.checkpointStep,
    config: r.config,
    datasetKey: r.dataset.key ?? null,
    datasetName: r.dataset.name,
    backend: r.backend,
  };
}

export type ToWorker =
  | LoadDatasetMessage
  | StartMessage
  | StartTrainingMessage
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'derive' }
  | { type: 'checkpoint' }
  /** Test hook: the next step's loss becomes NaN (engine.injectNaN, or the trainer's). */
  | { type: 'injectNaN' }
  /** Test hook: the search's next step never ends (as a GPU read that never returns). */
  | { type: 'hangNextStep' }
  /** Test hook: the next wasm allocation of at least `bytes` fails, as a full heap's would. */
  | { type: 'refuseNextAllocation'; bytes: number }
  /** Test hook: the write of the checkpoint at `step` stays in flight (uncommitted) `ms` longer. */
  | { type: 'holdCheckpointWrite'; step: number; ms: number }
  /** The page gave up on a worker (it hung or crashed) running this run: mark it interrupted. */
  | { type: 'interruptRun'; runId: string; reason: string }
  /** Asks for the stored run a reload interrupted (answered with `resumable`). */
  | { type: 'findResumable' }
  /** Marks a resumable stored run as stopped, so it is not offered again. */
  | { type: 'discardRun'; runId: string }
  /** The stored runs (answered with `runList`). */
  | { type: 'listRuns' }
  /** One stored run with its history (answered with `runRecord`). */
  | { type: 'getRun'; runId: string }
  /** Stored runs (2 to 8) for the comparison view (answered with `runComparison`). */
  | { type: 'compareRuns'; runIds: string[] }
  /** Sets a stored run's note ('' removes it; answered with `runList`). */
  | { type: 'setRunNote'; runId: string; note: string }
  /** Deletes a stored run (answered with `runDeleted`, which says what went). */
  | { type: 'deleteRun'; runId: string }
  /** Puts back a run deleted in this worker (answered with `runRestored`). */
  | { type: 'undoDelete'; runId: string }
  /** The run file's text (answered with `runExported`). */
  | { type: 'exportRun'; runId: string }
  /** One of the run's tables as CSV, from its whole stored history (answered with `csvExported`). */
  | { type: 'exportCsv'; runId: string; table: CsvTable }
  /** A run file, genotype file or DARTS string (answered with `runImported` or `runStoreError`). */
  | { type: 'importRun'; text: string };

// ---------------------------------------------------------------------------------------------
// Worker → UI

export interface ReadyMessage {
  type: 'ready';
  /** The tfjs backend that runs the search. */
  backend: string;
  requested: BackendChoice;
  adapterInfo: AdapterInfo | null;
  /** Why the backend is not the one asked for (or, for auto, not hardware WebGPU). */
  fallbackReason?: string;
}
export interface ProgressMessage {
  type: 'progress';
  epoch: number;
  step: number;
  stepsTotal: number;
  stepsPerEpoch: number;
  epochsTotal: number;
  learningRate: number;
  imagesPerSecond: number;
  stepMilliseconds: number;
  /** The step's synchronous part (SearchProgress.recordMilliseconds): on webgpu and webgl, its CPU side. */
  recordMilliseconds: number;
  /** webgpu: whether the step was replayed from a record (and why not, or why recorded again). */
  compiled: CompiledStepStatus | null;
  seconds: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
}
/** A search's scoring on its held-out test images: the run's validation accuracy from now on. */
export interface HeldOutMessage extends HeldOutEvaluation {
  type: 'heldOut';
}
export interface WeightsMessage {
  type: 'weights';
  step: number;
  epoch: number;
  /** Softmaxed rows (what the heatmaps show). β is null where the mode has none. */
  alphaNormal: number[][];
  alphaReduce: number[][];
  betaNormal: number[][] | null;
  betaReduce: number[][] | null;
  /** The same weights before softmax, plus PC-DARTS edge weights. */
  raw: RawWeights;
}
export interface GenotypeMessage {
  type: 'genotype';
  step: number;
  /** The genotype file (format version 1) as text, ready to save. */
  json: string;
  darts: string;
}
export type ErrorCode =
  | 'nan-loss'
  | 'bad-config'
  | 'bad-checkpoint'
  | 'no-checkpoint'
  | 'device-lost'
  | 'gpu-error'
  | 'backend'
  | 'dataset'
  | 'out-of-memory'
  | 'busy'
  | 'internal'
  | 'worker-crash';
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  /** What happened and what the user can do. */
  message: string;
  /** true: the page and worker are fine, the user can change settings and start again. */
  recoverable: boolean;
  /** The worker's backend is unusable (lost GPU device): the page starts a fresh worker. */
  restartWorker?: boolean;
  /** The job that stopped: a re-training says so; absent means the search (or no job). */
  job?: 'search' | 'training';
}

/** A re-training has started (its network is built; `runId` is the stored run, if stored). */
export interface TrainingStartedMessage {
  type: 'trainingStarted';
  runId: string | null;
  /** The tfjs backend that trains, and why it is not the one asked for. */
  backend: string;
  fallbackReason?: string;
  preset: TrainPresetName;
  allRelu: boolean;
  source: string;
  datasetName: string;
  /** The preset with the changes applied. */
  config: TrainConfig;
  stepsTotal: number;
  stepsPerEpoch: number;
  epochsTotal: number;
  params: number;
  auxiliaryParams: number;
  /** The auxiliary head and cutout as used (configured, and fitting the data). */
  auxiliary: boolean;
  cutout: boolean;
  /** The DARTS string of the genotype as trained (after any all-ReLU change). */
  darts: string;
}
export interface TrainingProgressMessage {
  type: 'trainingProgress';
  step: number;
  stepsTotal: number;
  epoch: number;
  epochsTotal: number;
  stepsPerEpoch: number;
  learningRate: number;
  dropPathProb: number;
  trainLoss: number;
  trainAccuracy: number;
  imagesPerSecond: number;
  stepMilliseconds: number;
  seconds: number;
}
/** One scoring on the test images (main logits, eval mode). */
export interface TrainingEvaluationMessage {
  type: 'trainingEvaluation';
  step: number;
  epoch: number;
  testLoss: number;
  testAccuracy: number;
  testCount: number;
}
export interface TrainingDoneMessage {
  type: 'trainingDone';
  reason: 'finished' | 'stopped';
  step: number;
  seconds: number;
  /** The test accuracy after the last step (finished), or of the last scoring (stopped; null if none). */
  testAccuracy: number | null;
  testLoss: number | null;
  testCount: number | null;
}
export type FromWorker =
  | ReadyMessage
  | TrainingStartedMessage
  | TrainingProgressMessage
  | TrainingEvaluationMessage
  | TrainingDoneMessage
  | { type: 'trainingPaused'; step: number }
  | { type: 'trainingResumed'; step: number }
  | ProgressMessage
  | HeldOutMessage
  | WeightsMessage
  | GenotypeMessage
  /** The checkpoint at `step` is stored (its write completed); durable: in IndexedDB, not memory only. */
  | { type: 'checkpointSaved'; step: number; durable: boolean }
  /** The checkpoint at `step` was taken (the worker keeps it) but storing it failed: why. */
  | { type: 'checkpointFailed'; step: number; message: string }
  /** The run being searched is stored under this id (resumed: from the checkpoint at `step`,
   * with the stored history up to it, so the curves and replay show the whole run). */
  | { type: 'runStarted'; runId: string; step: number; history?: RunHistory }
  /** The stored run a reload interrupted (null: none); `problem`: looking for it failed, and why. */
  | { type: 'resumable'; run: ResumableRun | null; problem?: string }
  /** A write to the stored run failed (the job goes on): what the user is told. */
  | { type: 'storageProblem'; runId: string | null; message: string }
  /** Runs are not being stored (kept in memory only): why. */
  | { type: 'storageWarning'; message: string }
  | { type: 'runList'; runs: RunSummary[]; problems: RunProblem[] }
  | { type: 'runRecord'; record: RunRecord }
  /** The runs asked for by `compareRuns`, in that order: what the view draws of each (its last
   * snapshot and its curve thinned), not the whole record. */
  | { type: 'runComparison'; runIds: string[]; runs: RunOverview[] }
  | { type: 'runExported'; runId: string; name: string; text: string }
  | { type: 'csvExported'; runId: string; name: string; table: CsvTable; text: string }
  /** `updated`: the file was of a run imported before (the same origin), which it replaced. */
  | { type: 'runImported'; runId: string; updated: boolean }
  /** A run was deleted: `message` says what (its history, snapshots, checkpoint); undo is possible. */
  | { type: 'runDeleted'; runId: string; message: string }
  | { type: 'runRestored'; runId: string; message: string }
  /** A request to the run store failed (the store's message, naming the field when a file is malformed). */
  | { type: 'runStoreError'; message: string }
  | ErrorMessage
  | { type: 'done'; reason: 'finished' | 'stopped'; step: number; seconds: number }
  | { type: 'paused'; step: number }
  | { type: 'resumed'; step: number }
  | { type: 'datasetProgress'; requestId: number; fraction: number; phase: string }
  | { type: 'datasetLoaded'; requestId: number; info: DatasetInfo }
  | { type: 'datasetError'; requestId: number; message: string };

export function datasetKey(spec: DatasetSpec): string {
  switch (spec.kind) {
    case 'builtin':
      return 'builtin';
    case 'synthetic':
      return `synthetic:seed=${spec.seed},size=${spec.size},channels=${spec.channels},classes=${spec.classes}`;
    case 'files':
      return `files:${spec.names.join('|')}`;
  }
}

/** The DatasetSpec a stored data set key names, or null (own files cannot be rebuilt from a key). */
export function datasetSpecOfKey(key: string | null): DatasetSpec | null {
  if (key === 'builtin') return { kind: 'builtin' };
  const m = key?.match(/^synthetic:seed=(\d+),size=(\d+),channels=(\d+),classes=(\d+)$/);
  if (m)
    return { kind: 'synthetic', seed: Number(m[1]), size: Number(m[2]), channels: Number(m[3]), classes: Number(m[4]) };
  return null;
}
