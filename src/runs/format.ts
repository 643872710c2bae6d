// The shapes of stored runs and of the run export file ("factorized-nas-run", version 1), with
// validators that name the first thing wrong (e.g. `run.metrics[3].step: expected a number`).
// Pure TypeScript: no DOM, React or worker APIs, so the page, the worker and Node tests share it.
import type { SearchCheckpoint } from '../search/engine';
import type { RawArchWeights } from '../search/supernet';
import {
  GENOTYPE_FORMAT,
  GenotypeError,
  formatCompactJson,
  parseGenotypeInput,
  validateGenotypeFile,
  type ArchWeights,
  type GenotypeFile,
} from '../search/genotype';
import { EDGES, SEARCH_MODES, validateConfig, type SearchConfig, type SearchMode } from '../search/space';
import {
  TRAIN_PRESET_NAMES,
  validateTrainConfig,
  type TrainConfig,
  type TrainPresetName,
} from '../retrain/train-config';

// ---------------------------------------------------------------------------------------------
// Types

export const RUN_FILE_FORMAT = 'factorized-nas-run' as const;
export const RUN_FILE_VERSION = 1 as const;
/** Version of the records in IndexedDB (a record without it was written by something else). */
export const RUN_SCHEMA = 1 as const;

/** 'interrupted': its job ended without saying so (the tab was closed or reloaded, the worker
 * died or hung); the run stands at its last stored checkpoint. */
export const RUN_STATUSES = ['running', 'paused', 'done', 'stopped', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A run with one of these statuses and a checkpoint can be continued (after a reload too). A
 * failed run (NaN loss, lost GPU) is too: its checkpoint is plain arrays, so it can go on with
 * other settings or on another backend. ('running' and 'paused' only where no job runs it.) */
export const RESUMABLE_STATUSES: readonly RunStatus[] = ['running', 'paused', 'failed', 'interrupted'];
/** A job is (or says it is) running the run: after its tab or worker is gone, it is interrupted. */
export const LIVE_STATUSES: readonly RunStatus[] = ['running', 'paused'];

/** What a run did: search an architecture, or re-train a genotype's network from scratch.
 * Records and files without a kind were written before re-training existed: searches. */
export const RUN_KINDS = ['search', 'train'] as const;

/** A run's note is a line or two, not a document (a run file stays readable). */
export const NOTE_MAX_LENGTH = 1000;
export type RunKind = (typeof RUN_KINDS)[number];

/** Which data set a run used: its identity and sizes (never the images). */
export interface RunDataset {
  name: string;
  /** "built-in", "synthetic:seed=1", or the file name(s). */
  source: string;
  /** The worker's dataset key (protocol.ts datasetKey), when known. */
  key?: string;
  height?: number;
  width?: number;
  channels?: number;
  classes?: number;
  trainCount?: number;
  testCount?: number;
}

/** One point of the training curves. */
export interface MetricRow {
  step: number;
  epoch: number;
  trainLoss: number;
  valLoss: number;
  /** Accuracy on the step's validation batch (the "batch accuracy"; the run's held-out accuracy is RunSummary.heldOut). */
  valAccuracy: number;
  imagesPerSecond: number;
  seconds: number;
  /** The step's learning rate for ω (absent in rows stored before it was kept). */
  learningRate?: number;
}

/** One step of a re-training run (its metric rows; a search's are MetricRow). */
export interface TrainMetricRow {
  step: number;
  epoch: number;
  /** The step's training loss (with the auxiliary term when the head is on). */
  trainLoss: number;
  /** Accuracy of the main logits on the step's batch. */
  trainAccuracy: number;
  learningRate: number;
  imagesPerSecond: number;
  seconds: number;
}

/** One scoring of a re-training run on the test images. */
export interface TrainEvaluation {
  step: number;
  epoch: number;
  testLoss: number;
  testAccuracy: number;
  /** Test images scored. */
  testCount: number;
}

/** A search's scoring of its supernet on the data set's held-out test images (RunSummary.heldOut). */
export type HeldOutEvaluation = TrainEvaluation;

/** Held-out test images a search scores on unless told otherwise (the page and the CLI alike). */
export const DEFAULT_HELD_OUT_IMAGES = 500;

/** A search's validation accuracy: its latest held-out scoring (by step), or null before the first. */
export function validationOf(run: Pick<RunSummary, 'heldOut'>): HeldOutEvaluation | null {
  return run.heldOut.reduce<HeldOutEvaluation | null>(
    (latest, e) => (!latest || e.step >= latest.step ? e : latest),
    null,
  );
}

/** What a re-training run trained and what it scored (RunSummary.training; null for searches). */
export interface RunTraining {
  preset: TrainPresetName;
  /** The genotype's activations were all set to ReLU (the paper's Table 2 baseline). */
  allRelu: boolean;
  /** The whole config (the preset with the user's overrides). */
  config: TrainConfig;
  /** Where the genotype came from: a run's name or a file's name. */
  source: string;
  /** The auxiliary head and cutout as used (configured, and fitting the data). */
  auxiliary: boolean;
  cutout: boolean;
  params: number | null;
  auxiliaryParams: number | null;
  /** Every scoring on the test images, in step order (few: one per epoch or per N steps). */
  evaluations: TrainEvaluation[];
  /** The test accuracy after the last step; null until the run has finished. */
  testAccuracy: number | null;
  testLoss: number | null;
  testCount: number | null;
}

/** α/β at one step, as the worker's `weights` message carries them (14 rows each). */
export interface ArchSnapshotInput extends ArchWeights {
  step: number;
  epoch?: number | null;
  /** 'raw' (pre-softmax; the default, and what re-deriving a genotype needs) or 'softmax'. */
  kind?: 'raw' | 'softmax';
}

/** A stored snapshot read back (values are float32-rounded). */
export interface ArchSnapshot extends RawArchWeights {
  step: number;
  epoch: number | null;
  kind: 'raw' | 'softmax';
}

/** What listRuns gives per run: everything but the history and the checkpoint. */
export interface RunSummary {
  id: string;
  name: string;
  /** The user's free-text note on the run (trimmed, at most NOTE_MAX_LENGTH characters); absent
   * when there is none. Written by setNote, kept in run files. */
  note?: string;
  /** Where the run was made, when its file says (search.py's runs): importing a file of the same
   * origin again updates this run instead of adding another. Absent for the lab's own runs. */
  origin?: string;
  kind: RunKind;
  /** The search mode (a re-training: the mode of the search that found the genotype, if known). */
  mode: SearchMode;
  /** The search config; null for a re-training and for a run imported from a bare genotype
   * file without a usable config. */
  config: SearchConfig | null;
  /** A re-training's settings and scores; null for a search. */
  training: RunTraining | null;
  dataset: RunDataset;
  /** The tfjs backend that ran it, when known. */
  backend: string | null;
  status: RunStatus;
  /** Why it failed (or any note that goes with the status). */
  message: string | null;
  createdAt: string;
  updatedAt: string;
  /** Last step reached (metrics or checkpoint). */
  steps: number;
  epoch: number;
  seconds: number;
  stepsTotal: number | null;
  bestValAccuracy: number | null;
  bestStep: number | null;
  lastMetrics: MetricRow | null;
  /**
   * A search's scorings on a fixed set of the data set's test images (at the end of each epoch
   * and of the run), in step order: its validation accuracy, the one the page, the genotype file
   * and comparisons show. Empty for a re-training (its scorings are training.evaluations).
   */
  heldOut: HeldOutEvaluation[];
  genotype: GenotypeFile | null;
  /** Step of the stored checkpoint; null when there is none. */
  checkpointStep: number | null;
  checkpointAt: string | null;
  /** Rows stored (after thinning). */
  metricCount: number;
  snapshotCount: number;
}

/** getRun: the summary, the whole history, and any stored rows that could not be read. */
export interface RunRecord extends RunSummary {
  /** A search's curve points (empty for a re-training). */
  metrics: MetricRow[];
  /** A re-training's steps (empty for a search). */
  trainMetrics: TrainMetricRow[];
  snapshots: ArchSnapshot[];
  /** Damaged history rows that were skipped, one message each. */
  problems: string[];
}

/** The record in the `runs` object store. */
export interface StoredRun extends RunSummary {
  schema: typeof RUN_SCHEMA;
  /** The best validation accuracy up to the stored checkpoint (null: none yet), which a resume
   * from it keeps although thinning may have dropped its row; absent when not known. */
  bestAtCheckpoint?: { step: number; valAccuracy: number } | null;
}

/** A matrix of float32 values, as stored in IndexedDB. */
export interface PackedRows {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** The record in the `snapshots` object store (key [runId, step]). */
export interface StoredSnapshot {
  runId: string;
  step: number;
  epoch: number | null;
  kind: 'raw' | 'softmax';
  alphaNormal: PackedRows;
  alphaReduce: PackedRows;
  betaNormal: PackedRows | null;
  betaReduce: PackedRows | null;
  edgeNormal: Float32Array | null;
  edgeReduce: Float32Array | null;
}

/** The record in the `metrics` object store (key [runId, step]): a search's or a re-training's row. */
export type StoredMetric = (MetricRow | TrainMetricRow) & { runId: string };

/** The record in the `checkpoints` object store (key runId): only the latest per run. */
export interface StoredCheckpoint {
  runId: string;
  step: number;
  savedAt: string;
  checkpoint: SearchCheckpoint;
}

/** A run file (or a bare genotype) read and checked, ready to store under a new id. */
export interface ImportedRun {
  summary: Omit<RunSummary, 'id'>;
  metrics: MetricRow[];
  trainMetrics: TrainMetricRow[];
  snapshots: ArchSnapshot[];
  checkpoint: SearchCheckpoint | null;
}

/** Something the caller passed or a file holds is wrong (`code` 'invalid'), a stored record is
 * damaged ('corrupt'), or no run has that id ('not-found'). Messages name the field. */
export class RunStoreError extends Error {
  constructor(
    readonly code: 'invalid' | 'corrupt' | 'not-found',
    message: string,
  ) {
    super(message);
    this.name = 'RunStoreError';
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  if (s === undefined) return typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

type Code = RunStoreError['code'];

/** Validation helpers bound to an error code ('invalid' for input, 'corrupt' for stored data). */
function checks(code: Code) {
  const fail = (path: string, why: string): never => {
    throw new RunStoreError(code, `${path}: ${why}`);
  };
  const num = (v: unknown, path: string): number => {
    if (typeof v !== 'number') return fail(path, `expected a number, got ${describe(v)}`);
    if (!Number.isFinite(v)) return fail(path, `expected a finite number, got ${describe(v)}`);
    return v;
  };
  /** A measured number (a loss, a rate, seconds): any float, NaN and ±Infinity included. A run
   * file writes those three as the strings "NaN", "Infinity" and "-Infinity" (JSON has no
   * literal for them); they are read back as numbers here. */
  const real = (v: unknown, path: string): number => {
    if (typeof v === 'number') return v;
    const n = typeof v === 'string' ? NON_FINITE_TEXT[v] : undefined;
    if (n !== undefined) return n;
    return fail(path, `expected a number, got ${describe(v)}`);
  };
  const int = (v: unknown, path: string): number => {
    const n = num(v, path);
    if (!Number.isInteger(n) || n < 0) return fail(path, `expected a non-negative integer, got ${n}`);
    return n;
  };
  const str = (v: unknown, path: string): string =>
    typeof v === 'string' ? v : fail(path, `expected a string, got ${describe(v)}`);
  const obj = (v: unknown, path: string): Record<string, unknown> =>
    isPlainObject(v) ? v : fail(path, `expected an object, got ${describe(v)}`);
  const optInt = (v: unknown, path: string): number | undefined => (v === undefined ? undefined : int(v, path));
  const nullable = <T>(v: unknown, path: string, f: (v: unknown, path: string) => T): T | null =>
    v === null ? null : f(v, path);
  const oneOf = <T extends string>(v: unknown, list: readonly T[], path: string, what: string): T =>
    typeof v === 'string' && (list as readonly string[]).includes(v)
      ? (v as T)
      : fail(path, `unknown ${what} ${describe(v)} (expected one of ${list.join(', ')})`);
  const date = (v: unknown, path: string): string => {
    const s = str(v, path);
    if (Number.isNaN(Date.parse(s))) fail(path, `expected an ISO-8601 date, got ${describe(s)}`);
    return s;
  };
  const floats = (v: unknown, path: string, length?: number): Float32Array => {
    if (!(v instanceof Float32Array)) return fail(path, `expected a Float32Array, got ${describe(v)}`);
    if (length !== undefined && v.length !== length) fail(path, `expected ${length} values, got ${v.length}`);
    return v;
  };
  const ints = (v: unknown, path: string): number[] => {
    if (!Array.isArray(v)) return fail(path, `expected an array of integers, got ${describe(v)}`);
    return v.map((x, i) => int(x, `${path}[${i}]`));
  };
  /** A random-stream state word: any 32-bit integer, signed or not (read back unsigned). */
  const word = (v: unknown, path: string): number => {
    const n = num(v, path);
    if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff)
      return fail(path, `expected a 32-bit integer, got ${n}`);
    return n >>> 0;
  };
  const words = (v: unknown, path: string, count: number): number[] => {
    if (!Array.isArray(v)) return fail(path, `expected ${count} 32-bit integers, got ${describe(v)}`);
    if (v.length !== count) fail(path, `expected ${count} 32-bit integers, got ${v.length}`);
    return v.map((x, i) => word(x, `${path}[${i}]`));
  };
  return { fail, num, real, int, str, obj, optInt, nullable, oneOf, date, floats, ints, words };
}

type NumberKind = 'int' | 'real';

/** How a run file spells the numbers JSON has no literal for (see `real` and `formatJson`). */
const NON_FINITE_TEXT: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

// Every field of a row, in the order it is checked (the first wrong one is named).
const METRIC_ROW_FIELDS: Record<Exclude<keyof MetricRow, 'learningRate'>, NumberKind> = {
  step: 'int',
  epoch: 'int',
  trainLoss: 'real',
  valLoss: 'real',
  valAccuracy: 'real',
  imagesPerSecond: 'real',
  seconds: 'real',
};
const TRAIN_METRIC_ROW_FIELDS: Record<keyof TrainMetricRow, NumberKind> = {
  step: 'int',
  epoch: 'int',
  trainLoss: 'real',
  trainAccuracy: 'real',
  learningRate: 'real',
  imagesPerSecond: 'real',
  seconds: 'real',
};

/** One curve point; extra fields (e.g. a whole progress message) are dropped. */
export function checkMetricRow(v: unknown, path: string, code: Code = 'invalid'): MetricRow {
  const row: MetricRow = checkNumberRow(v, path, code, METRIC_ROW_FIELDS);
  const lr = (v as { learningRate?: unknown }).learningRate;
  if (lr !== undefined) row.learningRate = checks(code).real(lr, `${path}.learningRate`);
  return row;
}

/** Metric rows in increasing step order (a file's history; each step once). */
export function checkMetricRows(v: unknown, path: string, code: Code = 'invalid'): MetricRow[] {
  return checkIncreasing(v, path, code, checkMetricRow);
}

/** One step of a re-training; extra fields are dropped. */
export function checkTrainMetricRow(v: unknown, path: string, code: Code = 'invalid'): TrainMetricRow {
  return checkNumberRow(v, path, code, TRAIN_METRIC_ROW_FIELDS);
}

/** An object of named numbers (non-negative integers or measured numbers); other fields are dropped. */
function checkNumberRow<K extends string>(
  v: unknown,
  path: string,
  code: Code,
  fields: Record<K, NumberKind>,
): Record<K, number> {
  const c = checks(code);
  const o = c.obj(v, path);
  const row = {} as Record<K, number>;
  for (const key of Object.keys(fields) as K[]) row[key] = c[fields[key]](o[key], `${path}.${key}`);
  return row;
}

/** Rows in increasing step order, each step once (a file's history). */
function checkIncreasing<T extends { step: number }>(
  v: unknown,
  path: string,
  code: Code,
  check: (v: unknown, path: string, code: Code) => T,
): T[] {
  const c = checks(code);
  if (!Array.isArray(v)) return c.fail(path, `expected an array, got ${describe(v)}`);
  const rows = v.map((r, i) => check(r, `${path}[${i}]`, code));
  for (let i = 1; i < rows.length; i++)
    if (rows[i]!.step <= rows[i - 1]!.step)
      c.fail(`${path}[${i}].step`, `steps must increase (got ${rows[i]!.step} after ${rows[i - 1]!.step})`);
  return rows;
}

export function checkTrainEvaluation(v: unknown, path: string, code: Code = 'invalid'): TrainEvaluation {
  const c = checks(code);
  const o = c.obj(v, path);
  const fraction = (x: unknown, p: string) => {
    const n = c.num(x, p);
    if (n < 0 || n > 1) c.fail(p, `expected an accuracy in [0, 1], got ${n}`);
    return n;
  };
  return {
    step: c.int(o.step, `${path}.step`),
    epoch: c.int(o.epoch, `${path}.epoch`),
    testLoss: c.real(o.testLoss, `${path}.testLoss`),
    testAccuracy: fraction(o.testAccuracy, `${path}.testAccuracy`),
    testCount: c.int(o.testCount, `${path}.testCount`),
  };
}

/** A re-training's settings and scores (RunTraining). */
export function checkTraining(v: unknown, path: string, code: Code = 'invalid'): RunTraining {
  const c = checks(code);
  const o = c.obj(v, path);
  const bool = (x: unknown, p: string): boolean =>
    typeof x === 'boolean' ? x : c.fail(p, `expected true or false, got ${describe(x)}`);
  const preset = c.oneOf(o.preset, TRAIN_PRESET_NAMES, `${path}.preset`, 'preset');
  const allRelu = bool(o.allRelu, `${path}.allRelu`);
  const config = c.obj(o.config, `${path}.config`) as unknown as TrainConfig;
  try {
    validateTrainConfig(config);
  } catch (e) {
    // validateTrainConfig names fields as `train config.channels: ...`; put them under `path`.
    const m = (e as Error).message;
    const field = /^train config\.([A-Za-z]+): (.*)$/s.exec(m);
    if (field) c.fail(`${path}.config.${field[1]}`, field[2]!);
    c.fail(`${path}.config`, m);
  }
  const optional = (key: string, f: (x: unknown, p: string) => number): number | null =>
    o[key] === undefined || o[key] === null ? null : f(o[key], `${path}.${key}`);
  const source = c.str(o.source, `${path}.source`);
  const auxiliary = bool(o.auxiliary, `${path}.auxiliary`);
  const cutout = bool(o.cutout, `${path}.cutout`);
  const params = optional('params', c.int);
  const auxiliaryParams = optional('auxiliaryParams', c.int);
  const evaluations = checkIncreasing(o.evaluations, `${path}.evaluations`, code, checkTrainEvaluation);
  const testAccuracy = optional('testAccuracy', (x, p) => {
    const n = c.num(x, p);
    return n >= 0 && n <= 1 ? n : c.fail(p, `expected an accuracy in [0, 1], got ${n}`);
  });
  return {
    preset,
    allRelu,
    config: { ...config },
    source,
    auxiliary,
    cutout,
    params,
    auxiliaryParams,
    evaluations,
    testAccuracy,
    testLoss: optional('testLoss', c.real),
    testCount: optional('testCount', c.int),
  };
}

function checkRows(v: unknown, path: string, code: Code, width?: number): number[][] {
  const c = checks(code);
  if (!Array.isArray(v)) return c.fail(path, `expected ${EDGES} rows, got ${describe(v)}`);
  if (v.length !== EDGES) c.fail(path, `expected ${EDGES} rows, got ${v.length}`);
  let w = width;
  return v.map((row, r) => {
    if (!Array.isArray(row)) return c.fail(`${path}[${r}]`, `expected an array of numbers, got ${describe(row)}`);
    if (w === undefined) {
      if (row.length === 0) c.fail(`${path}[${r}]`, 'expected at least one number');
      w = row.length;
    } else if (row.length !== w)
      c.fail(`${path}[${r}]`, `expected ${w} numbers (as the other rows), got ${row.length}`);
    return row.map((x, k) => c.real(x, `${path}[${r}][${k}]`));
  });
}

function checkVector(v: unknown, path: string, code: Code): number[] {
  const c = checks(code);
  if (!Array.isArray(v)) return c.fail(path, `expected ${EDGES} numbers, got ${describe(v)}`);
  if (v.length !== EDGES) c.fail(path, `expected ${EDGES} numbers, got ${v.length}`);
  return v.map((x, k) => c.real(x, `${path}[${k}]`));
}

/** α/β of one step; β and edge weights may be missing (null). */
export function checkSnapshot(v: unknown, path: string, code: Code = 'invalid'): ArchSnapshot {
  const c = checks(code);
  const o = c.obj(v, path);
  const kind = o.kind === undefined ? 'raw' : c.oneOf(o.kind, ['raw', 'softmax'] as const, `${path}.kind`, 'kind');
  const alphaNormal = checkRows(o.alphaNormal, `${path}.alphaNormal`, code);
  const alphaReduce = checkRows(o.alphaReduce, `${path}.alphaReduce`, code, alphaNormal[0]!.length);
  const opt = <T>(key: string, f: (v: unknown, p: string) => T): T | null =>
    o[key] === undefined || o[key] === null ? null : f(o[key], `${path}.${key}`);
  const betaNormal = opt('betaNormal', (x, p) => checkRows(x, p, code));
  const betaReduce = opt('betaReduce', (x, p) => checkRows(x, p, code, betaNormal?.[0]?.length));
  if ((betaNormal === null) !== (betaReduce === null))
    c.fail(
      `${path}.${betaNormal === null ? 'betaNormal' : 'betaReduce'}`,
      'betaNormal and betaReduce go together (both rows, or both null)',
    );
  return {
    step: c.int(o.step, `${path}.step`),
    epoch: o.epoch === undefined ? null : c.nullable(o.epoch, `${path}.epoch`, c.int),
    kind,
    alphaNormal,
    alphaReduce,
    betaNormal,
    betaReduce,
    edgeNormal: opt('edgeNormal', (x, p) => checkVector(x, p, code)),
    edgeReduce: opt('edgeReduce', (x, p) => checkVector(x, p, code)),
  };
}

export function checkDataset(v: unknown, path: string, code: Code = 'invalid'): RunDataset {
  const c = checks(code);
  const o = c.obj(v, path);
  const out: RunDataset = { name: c.str(o.name, `${path}.name`), source: c.str(o.source, `${path}.source`) };
  if (o.key !== undefined) out.key = c.str(o.key, `${path}.key`);
  for (const k of ['height', 'width', 'channels', 'classes', 'trainCount', 'testCount'] as const) {
    const n = c.optInt(o[k], `${path}.${k}`);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** The identity of a data set from the worker's DatasetInfo (or a Dataset): no images. */
export function datasetIdentity(info: {
  name: string;
  source: string;
  key?: string;
  height?: number;
  width?: number;
  channels?: number;
  classNames?: string[];
  trainCount?: number;
  testCount?: number;
  train?: { count: number };
  test?: { count: number };
}): RunDataset {
  const out: RunDataset = { name: info.name, source: info.source };
  if (info.key !== undefined) out.key = info.key;
  if (info.height !== undefined) out.height = info.height;
  if (info.width !== undefined) out.width = info.width;
  if (info.channels !== undefined) out.channels = info.channels;
  if (info.classNames) out.classes = info.classNames.length;
  const train = info.trainCount ?? info.train?.count;
  const test = info.testCount ?? info.test?.count;
  if (train !== undefined) out.trainCount = train;
  if (test !== undefined) out.testCount = test;
  return out;
}

/** validateConfig, with the path under `path` (e.g. run.config.channels). */
function checkConfig(v: unknown, path: string, code: Code): SearchConfig {
  const c = checks(code);
  const o = c.obj(v, path);
  try {
    validateConfig(o as unknown as SearchConfig);
  } catch (e) {
    const m = (e as Error).message;
    // validateConfig names fields as `config.channels: ...`; put them under `path`.
    if (m.startsWith('config.')) throw new RunStoreError(code, path + m.slice('config'.length));
    c.fail(path, m);
  }
  return o as unknown as SearchConfig;
}

/** A stored config: a plain object with a known mode (older ones may lack newer fields). */
function checkStoredConfig(v: unknown, path: string, code: Code): SearchConfig {
  const c = checks(code);
  const o = c.obj(v, path);
  c.oneOf(o.mode, SEARCH_MODES, `${path}.mode`, 'mode');
  return o as unknown as SearchConfig;
}

function checkGenotype(v: unknown, path: string, code: Code): GenotypeFile {
  try {
    return validateGenotypeFile(v);
  } catch (e) {
    if (!(e instanceof GenotypeError)) throw e;
    throw new RunStoreError(
      code,
      e.message.startsWith('genotype') ? path + e.message.slice('genotype'.length) : `${path}: ${e.message}`,
    );
  }
}

/** Where a run was made, as its file names it (search.py writes "search.py:<uuid>"): at most 200 characters. */
function checkOrigin(v: unknown, path: string, code: Code): string {
  const c = checks(code);
  const origin = c.str(v, path);
  if (origin.length > 200) c.fail(path, `expected at most 200 characters, got ${origin.length}`);
  return origin;
}

/** A run's note: a string of at most NOTE_MAX_LENGTH characters once trimmed; '' means none. */
export function checkNote(v: unknown, path: string, code: Code = 'invalid'): string {
  const c = checks(code);
  const note = c.str(v, path).trim();
  if (note.length > NOTE_MAX_LENGTH) c.fail(path, `expected at most ${NOTE_MAX_LENGTH} characters, got ${note.length}`);
  return note;
}

/** The summary fields shared by stored records and run files (everything but id and counts). */
function checkSummaryFields(o: Record<string, unknown>, path: string, code: Code, strictConfig: boolean) {
  const c = checks(code);
  const optional = <T>(key: string, f: (v: unknown, p: string) => T): T | null =>
    o[key] === undefined ? null : c.nullable(o[key], `${path}.${key}`, f);
  // In the order a file lists them, so the first thing wrong is the one named.
  const name = c.str(o.name, `${path}.name`);
  // Optional (runs and files from before notes have none); an empty note is no note.
  const note = o.note === undefined || o.note === null ? '' : checkNote(o.note, `${path}.note`, code);
  const origin = o.origin === undefined || o.origin === null ? '' : checkOrigin(o.origin, `${path}.origin`, code);
  const kind: RunKind = o.kind === undefined ? 'search' : c.oneOf(o.kind, RUN_KINDS, `${path}.kind`, 'kind');
  const mode = c.oneOf(o.mode, SEARCH_MODES, `${path}.mode`, 'mode');
  const status = c.oneOf(o.status, RUN_STATUSES, `${path}.status`, 'status');
  const message = optional('message', c.str);
  const createdAt = c.date(o.createdAt, `${path}.createdAt`);
  const updatedAt = c.date(o.updatedAt, `${path}.updatedAt`);
  const backend = optional('backend', c.str);
  const dataset = checkDataset(o.dataset, `${path}.dataset`, code);
  const config = c.nullable(o.config, `${path}.config`, (x, p) =>
    strictConfig ? checkConfig(x, p, code) : checkStoredConfig(x, p, code),
  );
  if (kind === 'train' && config !== null)
    c.fail(`${path}.config`, 'a re-training has no search config (expected null; its settings are in training.config)');
  let training: RunTraining | null = null;
  if (kind === 'train') training = checkTraining(o.training, `${path}.training`, code);
  else if (o.training !== undefined && o.training !== null)
    c.fail(`${path}.training`, 'only a re-training (kind "train") has training settings');
  const steps = c.int(o.steps, `${path}.steps`);
  const epoch = c.int(o.epoch, `${path}.epoch`);
  const seconds = c.real(o.seconds, `${path}.seconds`);
  const stepsTotal = optional('stepsTotal', c.int);
  const bestValAccuracy = optional('bestValAccuracy', c.real);
  const bestStep = optional('bestStep', c.int);
  const lastMetrics = optional('lastMetrics', (x, p) => checkMetricRow(x, p, code));
  const heldOut =
    o.heldOut === undefined ? [] : checkIncreasing(o.heldOut, `${path}.heldOut`, code, checkTrainEvaluation);
  if (kind === 'train' && heldOut.length)
    c.fail(`${path}.heldOut`, 'a re-training keeps its scorings in training.evaluations');
  const genotype = optional('genotype', (x, p) => checkGenotype(x, p, code));
  return {
    name,
    ...(note ? { note } : {}),
    ...(origin ? { origin } : {}),
    kind,
    mode,
    config,
    training,
    dataset,
    backend,
    status,
    message,
    createdAt,
    updatedAt,
    steps,
    epoch,
    seconds,
    stepsTotal,
    bestValAccuracy,
    bestStep,
    lastMetrics,
    heldOut,
    genotype,
  };
}

/** A record read from the `runs` store; throws RunStoreError('corrupt') naming the first problem. */
export function checkStoredRun(v: unknown, path = 'run'): StoredRun {
  const c = checks('corrupt');
  const o = c.obj(v, path);
  if (o.schema !== RUN_SCHEMA)
    c.fail(
      `${path}.schema`,
      `expected ${RUN_SCHEMA}, got ${describe(o.schema)} (written by another version of the lab, or damaged)`,
    );
  return {
    schema: RUN_SCHEMA,
    id: c.str(o.id, `${path}.id`),
    ...checkSummaryFields(o, path, 'corrupt', false),
    checkpointStep: c.nullable(o.checkpointStep, `${path}.checkpointStep`, c.int),
    checkpointAt: c.nullable(o.checkpointAt, `${path}.checkpointAt`, c.date),
    metricCount: c.int(o.metricCount, `${path}.metricCount`),
    snapshotCount: c.int(o.snapshotCount, `${path}.snapshotCount`),
    ...(o.bestAtCheckpoint === undefined
      ? {}
      : {
          bestAtCheckpoint: c.nullable(o.bestAtCheckpoint, `${path}.bestAtCheckpoint`, (x, p) => {
            const b = c.obj(x, p);
            return { step: c.int(b.step, `${p}.step`), valAccuracy: c.real(b.valAccuracy, `${p}.valAccuracy`) };
          }),
        }),
  };
}

export function checkStoredMetric(v: unknown, path: string): MetricRow {
  return checkMetricRow(v, path, 'corrupt');
}

export function checkStoredTrainMetric(v: unknown, path: string): TrainMetricRow {
  return checkTrainMetricRow(v, path, 'corrupt');
}

function checkPacked(v: unknown, path: string): PackedRows {
  const c = checks('corrupt');
  const o = c.obj(v, path);
  const rows = c.int(o.rows, `${path}.rows`);
  const cols = c.int(o.cols, `${path}.cols`);
  return { rows, cols, data: c.floats(o.data, `${path}.data`, rows * cols) };
}

export function checkStoredSnapshot(v: unknown, path: string): ArchSnapshot {
  const c = checks('corrupt');
  const o = c.obj(v, path);
  const packed = (key: string, optional: boolean): number[][] | null => {
    if (optional && o[key] === null) return null;
    return unpackRows(checkPacked(o[key], `${path}.${key}`));
  };
  const vector = (key: string): number[] | null =>
    o[key] === null ? null : Array.from(c.floats(o[key], `${path}.${key}`, EDGES));
  return {
    step: c.int(o.step, `${path}.step`),
    epoch: c.nullable(o.epoch, `${path}.epoch`, c.int),
    kind: c.oneOf(o.kind, ['raw', 'softmax'] as const, `${path}.kind`, 'kind'),
    alphaNormal: packed('alphaNormal', false)!,
    alphaReduce: packed('alphaReduce', false)!,
    betaNormal: packed('betaNormal', true),
    betaReduce: packed('betaReduce', true),
    edgeNormal: vector('edgeNormal'),
    edgeReduce: vector('edgeReduce'),
  };
}

function checkOptimizerState(v: unknown, path: string, code: Code): void {
  const c = checks(code);
  const o = c.obj(v, path);
  c.int(o.step, `${path}.step`);
  const slots = c.obj(o.slots, `${path}.slots`);
  for (const [slot, list] of Object.entries(slots)) {
    if (!Array.isArray(list)) c.fail(`${path}.slots.${slot}`, `expected an array, got ${describe(list)}`);
    (list as unknown[]).forEach((e, i) => checkTensorEntry(e, `${path}.slots.${slot}[${i}]`, code));
  }
}

function checkTensorEntry(v: unknown, path: string, code: Code): void {
  const c = checks(code);
  const o = c.obj(v, path);
  c.str(o.name, `${path}.name`);
  const shape = c.ints(o.shape, `${path}.shape`);
  c.floats(
    o.values,
    `${path}.values`,
    shape.reduce((a, b) => a * b, 1),
  );
}

/** The shape of a SearchCheckpoint (the engine's restore checks that it fits the network). */
export function checkCheckpoint(v: unknown, path: string, code: Code = 'invalid'): SearchCheckpoint {
  const c = checks(code);
  const o = c.obj(v, path);
  if (o.format !== 'factorized-nas-checkpoint')
    c.fail(`${path}.format`, `expected "factorized-nas-checkpoint", got ${describe(o.format)}`);
  if (o.version !== 1 && o.version !== 2) c.fail(`${path}.version`, `expected 1 or 2, got ${describe(o.version)}`);
  if (code === 'invalid') checkConfig(o.config, `${path}.config`, code);
  else checkStoredConfig(o.config, `${path}.config`, code);
  const input = c.obj(o.input, `${path}.input`);
  for (const k of ['height', 'width', 'channels', 'classes']) c.int(input[k], `${path}.input.${k}`);
  c.int(o.step, `${path}.step`);
  const seconds = c.real(o.seconds, `${path}.seconds`);
  const rng = c.words(o.rng, `${path}.rng`, 4);
  const data = c.obj(o.data, `${path}.data`);
  if (!('train' in data) || !('val' in data)) c.fail(`${path}.data`, 'expected {train, val} stream states');
  if (!Array.isArray(o.variables)) c.fail(`${path}.variables`, `expected an array, got ${describe(o.variables)}`);
  (o.variables as unknown[]).forEach((e, i) => checkTensorEntry(e, `${path}.variables[${i}]`, code));
  const opt = c.obj(o.optimizers, `${path}.optimizers`);
  checkOptimizerState(opt.weights, `${path}.optimizers.weights`, code);
  checkOptimizerState(opt.alpha, `${path}.optimizers.alpha`, code);
  if (opt.beta !== null) checkOptimizerState(opt.beta, `${path}.optimizers.beta`, code);
  return { ...o, seconds, rng } as unknown as SearchCheckpoint;
}

// ---------------------------------------------------------------------------------------------
// Packing

export function packRows(rows: number[][]): PackedRows {
  const cols = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, r) => data.set(row, r * cols));
  return { rows: rows.length, cols, data };
}

export function unpackRows(p: PackedRows): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < p.rows; r++) out.push(Array.from(p.data.subarray(r * p.cols, (r + 1) * p.cols)));
  return out;
}

export function packSnapshot(runId: string, s: ArchSnapshot): StoredSnapshot {
  return {
    runId,
    step: s.step,
    epoch: s.epoch,
    kind: s.kind,
    alphaNormal: packRows(s.alphaNormal),
    alphaReduce: packRows(s.alphaReduce),
    betaNormal: s.betaNormal && packRows(s.betaNormal),
    betaReduce: s.betaReduce && packRows(s.betaReduce),
    edgeNormal: s.edgeNormal && Float32Array.from(s.edgeNormal),
    edgeReduce: s.edgeReduce && Float32Array.from(s.edgeReduce),
  };
}

/**
 * A copy of a value where every typed array that is a view on part of a larger buffer becomes a
 * compact copy: structured cloning (IndexedDB, postMessage) copies a view's whole buffer.
 */
export function compactTypedArrays<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) {
      if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return v;
      return (v as unknown as { slice(): unknown }).slice();
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

// ---------------------------------------------------------------------------------------------
// Base64 typed arrays (the optional checkpoint in a run file)

const TYPED = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
} as const;
type TypedName = keyof typeof TYPED;

function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(s);
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Typed arrays become {"$typed": "Float32Array", "base64": "..."} (little-endian bytes). */
export function encodeTyped(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name;
    if (!(name in TYPED)) throw new RunStoreError('invalid', `cannot encode a ${name}`);
    return { $typed: name, base64: bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (Array.isArray(value)) return value.map(encodeTyped);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) out[k] = encodeTyped(x);
    return out;
  }
  return value;
}

/** The inverse of encodeTyped; names the first bad entry. */
export function decodeTyped(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((x, i) => decodeTyped(x, `${path}[${i}]`));
  if (!isPlainObject(value)) return value;
  if ('$typed' in value) {
    const c = checks('invalid');
    const name = c.str(value.$typed, `${path}.$typed`);
    if (!(name in TYPED)) c.fail(`${path}.$typed`, `unknown typed array ${describe(name)}`);
    const b64 = c.str(value.base64, `${path}.base64`);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = base64ToBytes(b64);
    } catch {
      return c.fail(`${path}.base64`, 'not valid base64');
    }
    const Ctor = TYPED[name as TypedName];
    if (bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0)
      c.fail(`${path}.base64`, `${bytes.byteLength} bytes is not a whole number of ${name} elements`);
    return new Ctor(bytes.buffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) out[k] = decodeTyped(x, `${path}.${k}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run file

/** The shortest decimal that reads back as the same float32 (keeps files small). */
function shortFloat32(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

const shortRows = (rows: number[][] | null) => rows && rows.map((r) => r.map(shortFloat32));

// JSON has no literal for NaN and ±Infinity (JSON.stringify writes null) and writes -0 as 0, so
// a run file spells them out: NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"
// (read back wherever a measured number may be: `real` above), -0 as the literal -0.
const NEGATIVE_ZERO = '\u0000-0';

function jsonSafeNumbers(v: unknown): unknown {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    return Object.is(v, -0) ? NEGATIVE_ZERO : v;
  }
  if (Array.isArray(v)) return v.map(jsonSafeNumbers);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafeNumbers(x);
    return out;
  }
  return v;
}

/** JSON of a run file: weight rows and metrics rows (objects of ≤ 10 plain values) on one line;
 * non-finite numbers and -0 written so that they read back as themselves. */
export function formatJson(value: unknown): string {
  return formatCompactJson(jsonSafeNumbers(value), (_obj, size) => size <= 10).replaceAll(
    JSON.stringify(NEGATIVE_ZERO),
    '-0',
  );
}

/** The export file of a run: history, snapshots as plain arrays, genotype, optional checkpoint. */
export function encodeRunFile(run: RunRecord, checkpoint: SearchCheckpoint | null, exportedAt: string): string {
  const file: Record<string, unknown> = {
    format: RUN_FILE_FORMAT,
    version: RUN_FILE_VERSION,
    exportedAt,
    name: run.name,
    ...(run.note ? { note: run.note } : {}),
    ...(run.origin ? { origin: run.origin } : {}),
    kind: run.kind,
    mode: run.mode,
    status: run.status,
    message: run.message,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    backend: run.backend,
    dataset: run.dataset,
    config: run.config,
    ...(run.kind === 'train' ? { training: run.training } : {}),
    steps: run.steps,
    epoch: run.epoch,
    seconds: run.seconds,
    stepsTotal: run.stepsTotal,
    bestValAccuracy: run.bestValAccuracy,
    bestStep: run.bestStep,
    ...(run.kind === 'search' ? { heldOut: run.heldOut } : {}),
    genotype: run.genotype,
    metrics: run.kind === 'train' ? run.trainMetrics : run.metrics,
    snapshots: run.snapshots.map((s) => ({
      step: s.step,
      epoch: s.epoch,
      kind: s.kind,
      alphaNormal: shortRows(s.alphaNormal),
      alphaReduce: shortRows(s.alphaReduce),
      betaNormal: shortRows(s.betaNormal),
      betaReduce: shortRows(s.betaReduce),
      edgeNormal: s.edgeNormal && s.edgeNormal.map(shortFloat32),
      edgeReduce: s.edgeReduce && s.edgeReduce.map(shortFloat32),
    })),
  };
  if (checkpoint) file.checkpoint = encodeTyped(checkpoint);
  return formatJson(file);
}

/** A run from a bare genotype file: finished, no history, the file's weights as one snapshot. */
function runFromGenotype(g: GenotypeFile, now: string): ImportedRun {
  const info = g.run ?? {};
  const mode = info.mode ?? (g.weights?.betaNormal ? 'factorized' : 'darts');
  let config: SearchConfig | null = null;
  if (isPlainObject(info.config)) {
    try {
      validateConfig(info.config as unknown as SearchConfig);
      config = info.config as unknown as SearchConfig;
    } catch {
      config = null;
    }
  }
  const steps = typeof info.steps === 'number' && Number.isInteger(info.steps) && info.steps >= 0 ? info.steps : 0;
  // The genotype says how far the search went in epochs, a fraction (steps / steps an epoch); a
  // run's epoch is the epoch it was in, as the engine counts (whole epochs done).
  const epoch =
    typeof info.epochs === 'number' && Number.isFinite(info.epochs) && info.epochs >= 0 ? Math.floor(info.epochs) : 0;
  const acc = info.metrics?.valAccuracy;
  // A genotype the lab wrote says on how many held-out images its valAccuracy was scored.
  const valImages = info.metrics?.valImages;
  const heldOut =
    typeof acc === 'number' &&
    acc >= 0 &&
    acc <= 1 &&
    typeof valImages === 'number' &&
    Number.isInteger(valImages) &&
    valImages > 0
      ? [{ step: steps, epoch, testLoss: NaN, testAccuracy: acc, testCount: valImages }]
      : [];
  const createdAt =
    typeof info.createdAt === 'string' && !Number.isNaN(Date.parse(info.createdAt)) ? info.createdAt : now;
  const dataset = typeof info.dataset === 'string' ? info.dataset : 'unknown';
  const snapshots: ArchSnapshot[] = [];
  if (g.weights)
    snapshots.push({
      step: steps,
      epoch: null,
      kind: 'raw',
      alphaNormal: g.weights.alphaNormal,
      alphaReduce: g.weights.alphaReduce,
      betaNormal: g.weights.betaNormal ?? null,
      betaReduce: g.weights.betaReduce ?? null,
      edgeNormal: g.weights.edgeNormal ?? null,
      edgeReduce: g.weights.edgeReduce ?? null,
    });
  return {
    summary: {
      name: `Imported genotype (${mode}${dataset !== 'unknown' ? `, ${dataset}` : ''})`,
      kind: 'search',
      mode,
      config,
      training: null,
      heldOut,
      dataset: { name: dataset, source: 'imported genotype' },
      backend: typeof info.backend === 'string' ? info.backend : null,
      status: 'done',
      message: null,
      createdAt,
      updatedAt: now,
      steps,
      epoch,
      seconds: typeof info.seconds === 'number' && Number.isFinite(info.seconds) ? info.seconds : 0,
      stepsTotal: null,
      bestValAccuracy: typeof acc === 'number' && Number.isFinite(acc) && !heldOut.length ? acc : null,
      bestStep: null,
      lastMetrics: null,
      genotype: g,
      checkpointStep: null,
      checkpointAt: null,
      metricCount: 0,
      snapshotCount: snapshots.length,
    },
    metrics: [],
    trainMetrics: [],
    snapshots,
    checkpoint: null,
  };
}

/**
 * Reads a run file, a genotype JSON file or a bare DARTS `Genotype(...)` string. Throws a
 * RunStoreError('invalid') that names the first thing wrong (paths start at `run`).
 */
export function decodeRunFile(text: string, now: string): ImportedRun {
  const P = 'run';
  const c = checks('invalid');
  const t = text.trim();
  const asGenotype = (data: unknown): ImportedRun => {
    let g: GenotypeFile;
    try {
      g = validateGenotypeFile(data);
    } catch (e) {
      if (e instanceof GenotypeError) throw new RunStoreError('invalid', e.message);
      throw e;
    }
    return runFromGenotype(g, now);
  };
  if (t.startsWith('Genotype')) return importGenotypeInput(t, now);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return c.fail(P, `not JSON and not a DARTS Genotype(...) string: ${(e as Error).message}`);
  }
  const o = c.obj(data, P);
  if (o.format === GENOTYPE_FORMAT) return asGenotype(o);
  if (o.format !== RUN_FILE_FORMAT)
    c.fail(
      `${P}.format`,
      `expected "${RUN_FILE_FORMAT}" (or a genotype file, "${GENOTYPE_FORMAT}")${o.format === undefined ? ' (field missing)' : `, got ${describe(o.format)}`}`,
    );
  if (o.version === undefined) c.fail(`${P}.version`, `missing (this lab reads version ${RUN_FILE_VERSION})`);
  if (o.version !== RUN_FILE_VERSION)
    c.fail(`${P}.version`, `unsupported version ${describe(o.version)} (this lab reads version ${RUN_FILE_VERSION})`);
  const fields = checkSummaryFields(o, P, 'invalid', true);
  if (fields.config && fields.config.mode !== fields.mode)
    c.fail(`${P}.config.mode`, `is ${describe(fields.config.mode)} but the run's mode is ${describe(fields.mode)}`);
  const train = fields.kind === 'train';
  const metrics = train ? [] : checkMetricRows(o.metrics, `${P}.metrics`);
  const trainMetrics = train ? checkIncreasing(o.metrics, `${P}.metrics`, 'invalid', checkTrainMetricRow) : [];
  if (!Array.isArray(o.snapshots)) c.fail(`${P}.snapshots`, `expected an array, got ${describe(o.snapshots)}`);
  const snapshots = (o.snapshots as unknown[]).map((s, i) => checkSnapshot(s, `${P}.snapshots[${i}]`));
  for (let i = 1; i < snapshots.length; i++)
    if (snapshots[i]!.step <= snapshots[i - 1]!.step)
      c.fail(
        `${P}.snapshots[${i}].step`,
        `steps must increase (got ${snapshots[i]!.step} after ${snapshots[i - 1]!.step})`,
      );
  let checkpoint: SearchCheckpoint | null = null;
  if (o.checkpoint !== undefined && o.checkpoint !== null) {
    if (train) c.fail(`${P}.checkpoint`, 'a re-training has no checkpoint (expected none)');
    checkpoint = checkCheckpoint(decodeTyped(o.checkpoint, `${P}.checkpoint`), `${P}.checkpoint`);
  }
  // A file says "running" or "paused" for a run exported mid-search; here nothing runs it.
  let status = fields.status;
  if (LIVE_STATUSES.includes(status) || status === 'interrupted') status = checkpoint ? 'interrupted' : 'stopped';
  const last = metrics[metrics.length - 1] ?? null;
  return {
    summary: {
      ...fields,
      status,
      updatedAt: now,
      lastMetrics: last,
      checkpointStep: checkpoint ? checkpoint.step : null,
      checkpointAt: checkpoint ? now : null,
      metricCount: train ? trainMetrics.length : metrics.length,
      snapshotCount: snapshots.length,
    },
    metrics,
    trainMetrics,
    snapshots,
    checkpoint,
  };
}

/** A bare DARTS `Genotype(...)` string (conv ops get 'relu', as in plain DARTS). */
function importGenotypeInput(text: string, now: string): ImportedRun {
  try {
    return runFromGenotype(parseGenotypeInput(text), now);
  } catch (e) {
    if (e instanceof GenotypeError) throw new RunStoreError('invalid', e.message);
    throw e;
  }
}
