// Runs that survive a reload: every run's config, data set, metrics, α/β snapshots, genotype,
// status and latest checkpoint, in IndexedDB. Pure TypeScript for the page and the Web Worker
// (only `indexedDB` from globalThis; no React, no DOM).
//
// Storage layout (database "factorized-nas-lab-runs", version 1):
//   runs         key "id"              StoredRun: the summary listRuns reads (small; no history)
//   metrics      key ["runId","step"]  StoredMetric, index "runId"
//   snapshots    key ["runId","step"]  StoredSnapshot (α/β packed as Float32Array), index "runId"
//   checkpoints  key "runId"           StoredCheckpoint: the latest SearchCheckpoint only
// Appends write only the new rows plus the small run record; appends that arrive while a write
// is in flight are merged into one transaction. When IndexedDB is missing, refuses to open,
// stays blocked, or a write fails (quota), the store carries on in memory and says so once
// (`warning`, `onWarning`): storage trouble never rejects a call or stops a search.
import type { SearchCheckpoint } from '../search/engine';
import { parseGenotypeFile, validateGenotypeFile, GenotypeError, type GenotypeFile } from '../search/genotype';
import { SEARCH_MODES, type SearchConfig, type SearchMode } from '../search/space';
import {
  LIVE_STATUSES,
  RESUMABLE_STATUSES,
  RUN_KINDS,
  RUN_SCHEMA,
  RUN_STATUSES,
  RunStoreError,
  checkCheckpoint,
  checkDataset,
  checkMetricRow,
  checkNote,
  checkSnapshot,
  checkStoredMetric,
  checkStoredRun,
  checkStoredSnapshot,
  checkStoredTrainMetric,
  checkTrainEvaluation,
  checkTrainMetricRow,
  checkTraining,
  compactTypedArrays,
  decodeRunFile,
  encodeRunFile,
  packSnapshot,
  type ArchSnapshot,
  type ArchSnapshotInput,
  type MetricRow,
  type RunDataset,
  type RunKind,
  type RunRecord,
  type RunTraining,
  type RunStatus,
  type RunSummary,
  type StoredCheckpoint,
  type StoredMetric,
  type StoredRun,
  type StoredSnapshot,
  type TrainEvaluation,
  type TrainMetricRow,
  type HeldOutEvaluation,
} from './format';

export * from './format';

export const DEFAULT_DB_NAME = 'factorized-nas-lab-runs';
export const DB_VERSION = 1;
/** Snapshots kept per run; beyond this every other older one is dropped (first and last stay). */
export const DEFAULT_MAX_SNAPSHOTS = 400;
/** Metric rows kept per run, thinned the same way (a paper-length search has ~10k steps). */
export const DEFAULT_MAX_METRICS = 20000;
export const DEFAULT_OPEN_TIMEOUT_MS = 4000;

export interface RunStoreOptions {
  dbName?: string;
  /** The IndexedDB to use; null = none (memory only). Default: globalThis.indexedDB. */
  indexedDB?: IDBFactory | null;
  maxSnapshots?: number;
  maxMetrics?: number;
  /** How long to wait for a blocked or slow open before going on in memory. */
  openTimeoutMs?: number;
  /** Called once, when the store starts keeping runs in memory only. */
  onWarning?: (message: string) => void;
}

export interface NewRun {
  name: string;
  /** Defaults to 'search'. */
  kind?: RunKind;
  /** A search's config (null for a re-training). */
  config: SearchConfig | null;
  /** A re-training's settings (required for kind 'train'). */
  training?: RunTraining;
  /** The genotype a re-training trains (as trained: after any all-ReLU change). */
  genotype?: GenotypeFile | string;
  dataset: RunDataset;
  /** Defaults to config.mode (required when there is no config). */
  mode?: SearchMode;
  backend?: string | null;
  stepsTotal?: number | null;
  /** Defaults to 'running'. */
  status?: RunStatus;
}

/** A deleted run's stored records, as they were (deleteRun's result; restoreRun puts them back). */
export interface DeletedRun {
  id: string;
  run: unknown;
  metrics: unknown[];
  snapshots: unknown[];
  checkpoint: unknown;
}

export interface RunProblem {
  id: string;
  message: string;
}

/** What the comparison view draws of a stored run (getRunOverviews): its summary, its last α/β
 * snapshot, and its curve thinned to a few hundred rows. A long run's whole history and every
 * snapshot would cross to the page only to be thrown away there. */
export interface RunOverview extends RunSummary {
  /** A search's curve points, thinned (first, last, best and `keepStep`'s kept); empty for a re-training. */
  metrics: MetricRow[];
  /** The last stored α/β snapshot, or null when the run stored none. */
  finalSnapshot: ArchSnapshot | null;
  /** Damaged rows that were skipped, one message each. */
  problems: string[];
}

/** Metric rows per run that getRunOverviews sends at most (a chart draws 400 of them). */
export const OVERVIEW_MAX_METRICS = 800;

export interface RunList {
  /** Newest first (by updatedAt). */
  runs: RunSummary[];
  /** Stored runs that could not be read (damaged, or from another version); skipped above. */
  problems: RunProblem[];
}

type StoreName = 'runs' | 'metrics' | 'snapshots' | 'checkpoints';
type RowStore = 'metrics' | 'snapshots';
const ALL_STORES: StoreName[] = ['runs', 'metrics', 'snapshots', 'checkpoints'];

/** What a storage transaction can do. Values read are `unknown`: they are checked by the caller. */
interface Tx {
  getRun(id: string): Promise<unknown>;
  allRuns(): Promise<{ id: string; value: unknown }[]>;
  putRun(row: StoredRun): Promise<void>;
  deleteRun(id: string): Promise<void>;
  putRows(store: RowStore, rows: (StoredMetric | StoredSnapshot)[]): Promise<void>;
  /** Steps stored for a run, ascending. */
  rowSteps(store: RowStore, id: string): Promise<number[]>;
  /** Rows stored for a run, ascending by step. */
  getRows(store: RowStore, id: string): Promise<unknown[]>;
  /** The row with the run's highest step, or undefined when it has none. */
  lastRow(store: RowStore, id: string): Promise<unknown>;
  deleteRows(store: RowStore, id: string, steps: number[]): Promise<void>;
  getCheckpoint(id: string): Promise<unknown>;
  putCheckpoint(rec: StoredCheckpoint): Promise<void>;
  deleteCheckpoint(id: string): Promise<void>;
  /** Keeps the transaction open, uncommitted, for `ms` (a test hook: a write in flight). */
  hold(ms: number): Promise<void>;
}

interface Backend {
  transact<T>(stores: StoreName[], mode: IDBTransactionMode, body: (tx: Tx) => Promise<T>): Promise<T>;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// IndexedDB

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? namedError('UnknownError', 'an IndexedDB request failed'));
  });
}

function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

class IdbBackend implements Backend {
  constructor(private readonly db: IDBDatabase) {}

  transact<T>(stores: StoreName[], mode: IDBTransactionMode, body: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let t: IDBTransaction;
      try {
        t = this.db.transaction(stores, mode);
      } catch (e) {
        reject(e);
        return;
      }
      const done = body(this.wrap(t));
      done.catch(() => {
        try {
          t.abort();
        } catch {
          // already finished
        }
      });
      t.oncomplete = () => done.then(resolve, reject);
      t.onabort = () =>
        done.then(() => reject(t.error ?? namedError('AbortError', 'the IndexedDB transaction was aborted')), reject);
    });
  }

  private wrap(t: IDBTransaction): Tx {
    const s = (name: StoreName) => t.objectStore(name);
    return {
      getRun: (id) => request(s('runs').get(id)),
      allRuns: async () => {
        const store = s('runs');
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        return keys.map((k, i) => ({ id: String(k), value: values[i] }));
      },
      putRun: async (row) => {
        await request(s('runs').put(row));
      },
      deleteRun: async (id) => {
        await request(s('runs').delete(id));
      },
      putRows: async (store, rows) => {
        const os = s(store);
        await Promise.all(rows.map((r) => request(os.put(r))));
      },
      rowSteps: async (store, id) => {
        const keys = await request(s(store).index('runId').getAllKeys(id));
        return keys.map((k) => (k as [string, number])[1]).sort((a, b) => a - b);
      },
      getRows: async (store, id) => request(s(store).index('runId').getAll(id)),
      lastRow: async (store, id) => {
        // Within one runId the index orders rows by their key [runId, step]: 'prev' opens at the last step.
        const cursor = await request(s(store).index('runId').openCursor(id, 'prev'));
        return cursor?.value;
      },
      deleteRows: async (store, id, steps) => {
        const os = s(store);
        await Promise.all(steps.map((step) => request(os.delete([id, step]))));
      },
      getCheckpoint: (id) => request(s('checkpoints').get(id)),
      putCheckpoint: async (rec) => {
        await request(s('checkpoints').put(rec));
      },
      deleteCheckpoint: async (id) => {
        await request(s('checkpoints').delete(id));
      },
      hold: async (ms) => {
        // A transaction commits once no request is pending: keep one pending until the time is up.
        const end = Date.now() + ms;
        while (Date.now() < end) await request(s('runs').count());
      },
    };
  }

  /** Everything needed to go on in memory (checkpoints only of runs that can be resumed). */
  async dump(): Promise<MemoryBackend> {
    const mem = new MemoryBackend();
    await this.transact(ALL_STORES, 'readonly', async (tx) => {
      const runs = await tx.allRuns();
      for (const { id, value } of runs) {
        mem.runs.set(id, value);
        for (const store of ['metrics', 'snapshots'] as const) {
          const rows = await tx.getRows(store, id);
          const m = new Map<number, unknown>();
          for (const r of rows) m.set((r as { step: number }).step, r);
          mem[store].set(id, m);
        }
        const status = (value as { status?: unknown } | null)?.status;
        if (RESUMABLE_STATUSES.includes(status as RunStatus)) {
          const cp = await tx.getCheckpoint(id);
          if (cp !== undefined) mem.checkpoints.set(id, cp);
        }
      }
    });
    return mem;
  }

  close(): void {
    this.db.close();
  }
}

function openDatabase(factory: IDBFactory, name: string, timeoutMs: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let blocked = false;
    let req: IDBOpenDBRequest;
    try {
      req = factory.open(name, DB_VERSION);
    } catch (e) {
      reject(e);
      return;
    }
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(
        blocked
          ? namedError(
              'BlockedError',
              'the run database is held open by another tab of this lab with an older version; close it and reload',
            )
          : namedError('TimeoutError', `opening the run database took longer than ${timeoutMs} ms`),
      );
    }, timeoutMs);
    req.onupgradeneeded = () => {
      const db = req.result;
      const have = new Set(Array.from(db.objectStoreNames));
      if (!have.has('runs')) db.createObjectStore('runs', { keyPath: 'id' });
      for (const store of ['metrics', 'snapshots'] as const)
        if (!have.has(store)) db.createObjectStore(store, { keyPath: ['runId', 'step'] }).createIndex('runId', 'runId');
      if (!have.has('checkpoints')) db.createObjectStore('checkpoints', { keyPath: 'runId' });
    };
    req.onblocked = () => {
      blocked = true;
    };
    req.onsuccess = () => {
      clearTimeout(timer);
      const db = req.result;
      if (settled) {
        db.close(); // too late: we went on in memory; don't hold the database open
        return;
      }
      settled = true;
      // Let another tab upgrade the database: later writes here then fail and fall back.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = (ev) => {
      clearTimeout(timer);
      ev.preventDefault?.();
      if (settled) return;
      settled = true;
      reject(req.error ?? namedError('UnknownError', 'IndexedDB refused to open the run database'));
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Memory (the fallback, with the same copy-on-write semantics as IndexedDB)

class MemoryBackend implements Backend {
  readonly runs = new Map<string, unknown>();
  readonly metrics = new Map<string, Map<number, unknown>>();
  readonly snapshots = new Map<string, Map<number, unknown>>();
  readonly checkpoints = new Map<string, unknown>();
  private readonly tx: Tx;

  constructor() {
    const clone = <T>(v: T): T => structuredClone(v);
    const rows = (store: RowStore, id: string) => {
      let m = this[store].get(id);
      if (!m) this[store].set(id, (m = new Map()));
      return m;
    };
    this.tx = {
      getRun: async (id) => clone(this.runs.get(id)),
      allRuns: async () =>
        [...this.runs.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([id, value]) => ({ id, value: clone(value) })),
      putRun: async (row) => void this.runs.set(row.id, clone(row)),
      deleteRun: async (id) => void this.runs.delete(id),
      putRows: async (store, list) => {
        for (const r of list) rows(store, r.runId).set(r.step, clone(r));
      },
      rowSteps: async (store, id) => [...rows(store, id).keys()].sort((a, b) => a - b),
      getRows: async (store, id) => [...rows(store, id).entries()].sort(([a], [b]) => a - b).map(([, v]) => clone(v)),
      lastRow: async (store, id) => {
        const steps = [...rows(store, id).keys()];
        return steps.length ? clone(rows(store, id).get(Math.max(...steps))) : undefined;
      },
      deleteRows: async (store, id, steps) => {
        const m = rows(store, id);
        for (const s of steps) m.delete(s);
      },
      getCheckpoint: async (id) => clone(this.checkpoints.get(id)),
      putCheckpoint: async (rec) => void this.checkpoints.set(rec.runId, clone(rec)),
      deleteCheckpoint: async (id) => void this.checkpoints.delete(id),
      hold: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
  }

  transact<T>(_stores: StoreName[], _mode: IDBTransactionMode, body: (tx: Tx) => Promise<T>): Promise<T> {
    return body(this.tx);
  }

  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// The store

/** Which rows to drop so that at most `max` (≥ 2) remain: every other older one, as often as
 * needed (many appends may arrive in one write); first and last stay. */
export function thinnedSteps(steps: readonly number[], max: number): number[] {
  const drop: number[] = [];
  let kept = steps.slice();
  while (kept.length > Math.max(2, max)) {
    const next: number[] = [];
    kept.forEach((s, i) => (i % 2 === 1 && i < kept.length - 1 ? drop : next).push(s));
    kept = next;
  }
  return drop;
}

/**
 * At most about `max` rows, evenly spaced by index, plus the first, the last, the best validation
 * accuracy, and for each step of `keepAt` the last row at or before it: what a chart of a long
 * run needs, with the rows a summary names kept exact.
 */
export function thinMetricRows(rows: readonly MetricRow[], max: number, keepAt: readonly number[] = []): MetricRow[] {
  if (rows.length <= max) return rows.slice();
  const keep = new Set<number>([0, rows.length - 1]);
  const stride = (rows.length - 1) / Math.max(1, max - 1);
  for (let i = 0; i < max; i++) keep.add(Math.round(i * stride));
  let best = -1;
  rows.forEach((r, i) => {
    if (beats(r.valAccuracy, best < 0 ? null : rows[best]!.valAccuracy)) best = i;
  });
  if (best >= 0) keep.add(best);
  for (const step of keepAt) {
    let at = -1;
    rows.forEach((r, i) => (at = r.step <= step ? i : at));
    if (at >= 0) keep.add(at);
  }
  return [...keep].sort((a, b) => a - b).map((i) => rows[i]!);
}

/** A validation accuracy beats the best so far (NaN never does). */
function beats(accuracy: number, best: number | null): boolean {
  return !Number.isNaN(accuracy) && (best === null || accuracy > best);
}

/** A run's best validation accuracy if it was reached by `step`; undefined when not known. */
function bestOf(row: StoredRun, step: number): StoredRun['bestAtCheckpoint'] {
  if (row.bestStep === null || row.bestValAccuracy === null) return row.lastMetrics ? undefined : null;
  return row.bestStep <= step ? { step: row.bestStep, valAccuracy: row.bestValAccuracy } : undefined;
}

/** The best row (the first of equals), or null. */
function bestRow(rows: readonly MetricRow[]): { step: number; valAccuracy: number } | null {
  let best: MetricRow | null = null;
  for (const m of rows) if (beats(m.valAccuracy, best?.valAccuracy ?? null)) best = m;
  return best && { step: best.step, valAccuracy: best.valAccuracy };
}

/** Errors that mean the browser refused or lost the storage itself (quota, a closed, deleted or
 * newer database, an aborted transaction): then the store goes on in memory. Anything else (a
 * value that cannot be stored, such as a DataCloneError, or a bug) rejects the call that met it,
 * and its caller reports it; the store keeps storing. */
const STORAGE_FAILURES = new Set([
  'QuotaExceededError',
  'UnknownError',
  'InvalidStateError',
  'AbortError',
  'NotReadableError',
  'NotFoundError',
  'VersionError',
  'TimeoutError',
]);

export function isStorageFailure(e: unknown): boolean {
  return typeof e === 'object' && e !== null && STORAGE_FAILURES.has(String((e as { name?: unknown }).name));
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'name' in e) {
    const { name, message } = e as { name: string; message?: string };
    return message ? `${name}: ${message}` : name;
  }
  return String(e);
}

/** The stored rows that read as valid (getRun names the others; here they are only skipped). */
function readable<T>(rows: unknown[], check: (v: unknown, path: string) => T): T[] {
  return rows.flatMap((r, i) => {
    try {
      return [check(r, `row[${i}]`)];
    } catch (e) {
      if (e instanceof RunStoreError) return [];
      throw e;
    }
  });
}

function summaryOf(row: StoredRun): RunSummary {
  const { schema: _schema, bestAtCheckpoint: _best, ...summary } = row;
  void [_schema, _best];
  return summary;
}

interface PendingAppends {
  metrics: MetricRow[];
  trainMetrics: TrainMetricRow[];
  snapshots: ArchSnapshot[];
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

export class RunStore {
  /** false once runs are kept in memory only (see `warning`). */
  persistent: boolean;
  /** Why runs are kept in memory only; null while they are stored. */
  warning: string | null = null;
  readonly maxSnapshots: number;
  readonly maxMetrics: number;
  /** Test hook: the write of the checkpoint at `step` keeps its transaction open (uncommitted)
   * for `ms` after writing, so that a test can close the tab while a checkpoint is being written. */
  holdCheckpointWrite: { step: number; ms: number } | null = null;

  private backend: Backend;
  private queue: Promise<unknown> = Promise.resolve();
  /** Appends not yet written, per run; merged into one transaction while another write runs. */
  private pending: Map<string, PendingAppends> | null = null;
  /** The last good record of each run seen here: enough to go on if storage fails unreadably. */
  private readonly known = new Map<string, StoredRun>();
  private lastStamp = 0;

  /** Use openRunStore. */
  constructor(
    backend: Backend,
    persistent: boolean,
    private readonly options: RunStoreOptions,
  ) {
    this.backend = backend;
    this.persistent = persistent;
    this.maxSnapshots = Math.max(2, options.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS);
    this.maxMetrics = Math.max(2, options.maxMetrics ?? DEFAULT_MAX_METRICS);
  }

  // --- writing a run -------------------------------------------------------------------------

  /** Starts a record for a new run (status 'running' unless given); returns its id. */
  async createRun(meta: NewRun): Promise<string> {
    const v = this.checkNewRun(meta);
    const id = newId();
    const now = this.stamp();
    const row: StoredRun = {
      schema: RUN_SCHEMA,
      id,
      name: v.name,
      kind: v.kind,
      mode: v.mode,
      config: structuredClone(v.config),
      training: v.training,
      dataset: v.dataset,
      backend: v.backend,
      status: v.status,
      message: null,
      createdAt: now,
      updatedAt: now,
      steps: 0,
      epoch: 0,
      seconds: 0,
      stepsTotal: v.stepsTotal,
      bestValAccuracy: null,
      bestStep: null,
      lastMetrics: null,
      heldOut: [],
      genotype: v.genotype,
      checkpointStep: null,
      checkpointAt: null,
      metricCount: 0,
      snapshotCount: 0,
    };
    await this.exec(['runs'], 'readwrite', async (tx) => {
      await tx.putRun(row);
      this.known.set(id, row);
    });
    return id;
  }

  /** Adds curve points (extra fields, e.g. a whole progress message, are ignored). */
  appendMetrics(id: string, rows: readonly MetricRow[] | MetricRow): Promise<void> {
    let list: MetricRow[];
    try {
      list = (Array.isArray(rows) ? rows : [rows as MetricRow]).map((r, i) => checkMetricRow(r, `metrics[${i}]`));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueueAppend(id, list, [], []);
  }

  /** Adds a re-training's step rows (extra fields, e.g. a whole progress message, are ignored). */
  appendTrainMetrics(id: string, rows: readonly TrainMetricRow[] | TrainMetricRow): Promise<void> {
    let list: TrainMetricRow[];
    try {
      list = (Array.isArray(rows) ? rows : [rows as TrainMetricRow]).map((r, i) =>
        checkTrainMetricRow(r, `metrics[${i}]`),
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueueAppend(id, [], list, []);
  }

  /** Adds a re-training's scoring on the test images (kept in step order, one per step). */
  async addEvaluation(id: string, evaluation: TrainEvaluation): Promise<void> {
    const e = checkTrainEvaluation(evaluation, 'evaluation');
    await this.update(id, (row) => {
      const training = this.trainingOf(row);
      const evaluations = training.evaluations.filter((x) => x.step < e.step).concat([e]);
      return { ...row, training: { ...training, evaluations } };
    });
  }

  /** Adds a search's scoring on the held-out test images (kept in step order, one per step). */
  async addHeldOut(id: string, evaluation: HeldOutEvaluation): Promise<void> {
    const e = checkTrainEvaluation(evaluation, 'evaluation');
    await this.update(id, (row) => {
      if (row.kind !== 'search') throw new RunStoreError('invalid', `run ${row.id}: not a search`);
      return { ...row, heldOut: row.heldOut.filter((x) => x.step < e.step).concat([e]) };
    });
  }

  /** Records what a re-training measured: parameter counts as it starts, the final test score at the end. */
  async updateTraining(
    id: string,
    result: Partial<Pick<RunTraining, 'params' | 'auxiliaryParams' | 'testAccuracy' | 'testLoss' | 'testCount'>>,
  ): Promise<void> {
    await this.update(id, (row) => {
      const training = checkTraining({ ...this.trainingOf(row), ...result }, 'training');
      return { ...row, training };
    });
  }

  /**
   * Marks the runs left 'running' or 'paused' that no job runs (`live`: the ids some job still
   * runs, in this tab or another) as 'interrupted': their tab was closed or reloaded, or their
   * worker died or hung. A search stands at its stored checkpoint, to resume; a re-training has
   * none. Returns the runs marked.
   */
  async markInterrupted(live: ReadonlySet<string> = new Set()): Promise<RunSummary[]> {
    const { runs } = await this.listRuns();
    const stale = runs.filter((r) => LIVE_STATUSES.includes(r.status) && !live.has(r.id));
    for (const r of stale)
      await this.interruptRun(
        r.id,
        `Interrupted at step ${r.steps} (the page was closed or reloaded, or its worker stopped)`,
      );
    return stale;
  }

  /** Marks one run interrupted (`why`: what ended it) if a job had it running or paused (or it
   * was marked interrupted already: `why` is then the better reason); the message adds where it
   * can go on from. */
  async interruptRun(id: string, why: string): Promise<void> {
    await this.update(id, (row) => {
      if (!LIVE_STATUSES.includes(row.status) && row.status !== 'interrupted') return row;
      const next =
        row.kind === 'train'
          ? 'a re-training has no checkpoint: start it again'
          : row.checkpointStep !== null
            ? `resume it from its checkpoint at step ${row.checkpointStep}`
            : 'it has no checkpoint to resume from';
      return { ...row, status: 'interrupted', message: `${why}; ${next}.` };
    });
  }

  /**
   * Adds an α/β snapshot (number[][] rows, as the worker's `weights` message carries them:
   * pass `raw` with kind 'raw', the default, or the softmaxed rows with kind 'softmax').
   */
  appendSnapshot(id: string, snapshot: ArchSnapshotInput): Promise<void> {
    let s: ArchSnapshot;
    try {
      s = checkSnapshot(snapshot, 'snapshot');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueueAppend(id, [], [], [s]);
  }

  /** The current genotype (a GenotypeFile, or its JSON text as the worker's message carries it). */
  async setGenotype(id: string, genotype: GenotypeFile | string): Promise<void> {
    let file: GenotypeFile;
    try {
      file = typeof genotype === 'string' ? parseGenotypeFile(genotype) : validateGenotypeFile(genotype);
    } catch (e) {
      if (e instanceof GenotypeError) throw new RunStoreError('invalid', e.message);
      throw e;
    }
    await this.update(id, (row) => ({ ...row, genotype: file }));
  }

  async setStatus(id: string, status: RunStatus, message?: string | null): Promise<void> {
    if (!RUN_STATUSES.includes(status))
      throw new RunStoreError(
        'invalid',
        `status: unknown status ${JSON.stringify(status)} (expected one of ${RUN_STATUSES.join(', ')})`,
      );
    await this.update(id, (row) => ({ ...row, status, message: message ?? null }));
  }

  async renameRun(id: string, name: string): Promise<void> {
    if (typeof name !== 'string' || !name.trim())
      throw new RunStoreError('invalid', 'name: expected a non-empty string');
    await this.update(id, (row) => ({ ...row, name: name.trim() }));
  }

  /**
   * The run's free-text note (trimmed; '' removes it). A note is about the run, not part of it:
   * updatedAt stays, so the list's order does not jump as a note is typed.
   */
  async setNote(id: string, note: string): Promise<void> {
    const text = checkNote(note, 'note');
    await this.exec(['runs'], 'readwrite', async (tx) => {
      const { note: _old, ...row } = await this.readRow(tx, id);
      void _old;
      const next: StoredRun = text ? { ...row, note: text } : row;
      await tx.putRun(next);
      this.known.set(id, next);
    });
  }

  /** Keeps this checkpoint as the run's only one (typed arrays stored as they are). */
  async saveCheckpoint(id: string, checkpoint: SearchCheckpoint): Promise<void> {
    const cp = compactTypedArrays(checkCheckpoint(checkpoint, 'checkpoint'));
    const savedAt = this.stamp();
    await this.exec(['runs', 'checkpoints'], 'readwrite', async (tx) => {
      const row = await this.readRow(tx, id);
      await tx.putCheckpoint({ runId: id, step: cp.step, savedAt, checkpoint: cp });
      const next: StoredRun = {
        ...row,
        steps: Math.max(row.steps, cp.step),
        seconds: Math.max(row.seconds, cp.seconds),
        checkpointStep: cp.step,
        checkpointAt: savedAt,
        // Metrics arrive in step order and are written before this: the best so far is the best
        // up to the checkpoint, which a resume from it needs (thinning may drop its row).
        bestAtCheckpoint: bestOf(row, cp.step),
        updatedAt: savedAt,
      };
      await tx.putRun(next);
      const hold = this.holdCheckpointWrite;
      if (hold && hold.step === cp.step) await tx.hold(hold.ms);
      this.known.set(id, next);
    });
  }

  /** The run's latest checkpoint, or null when it has none. */
  async loadCheckpoint(id: string): Promise<SearchCheckpoint | null> {
    return this.exec(['runs', 'checkpoints'], 'readonly', async (tx) => {
      await this.readRow(tx, id);
      const rec = await tx.getCheckpoint(id);
      if (rec === undefined) return null;
      const r = rec as Partial<StoredCheckpoint> | null;
      return checkCheckpoint(r?.checkpoint, `checkpoint of run ${id}`, 'corrupt');
    });
  }

  /** Frees the space of a checkpoint that is no longer needed (e.g. a finished run). */
  async deleteCheckpoint(id: string): Promise<void> {
    await this.exec(['runs', 'checkpoints'], 'readwrite', async (tx) => {
      const row = await this.readRow(tx, id);
      await tx.deleteCheckpoint(id);
      const next = { ...row, checkpointStep: null, checkpointAt: null, bestAtCheckpoint: undefined };
      await tx.putRun(next);
      this.known.set(id, next);
    });
  }

  /**
   * Drops metrics and snapshots after `step` (call when a run resumes from a checkpoint at that
   * step, so the steps it re-runs don't leave a second, stale history behind).
   */
  async truncateAfter(id: string, step: number): Promise<void> {
    await this.exec(['runs', 'metrics', 'snapshots'], 'readwrite', async (tx) => {
      const row = await this.readRow(tx, id);
      const counts: Record<RowStore, number> = { metrics: 0, snapshots: 0 };
      for (const store of ['metrics', 'snapshots'] as const) {
        const steps = await tx.rowSteps(store, id);
        const drop = steps.filter((s) => s > step);
        if (drop.length) await tx.deleteRows(store, id, drop);
        counts[store] = steps.length - drop.length;
      }
      const metrics = readable(await tx.getRows('metrics', id), checkStoredMetric);
      // The rows may have been thinned, so the best is not read from them where it is known: the
      // best so far when it came before the truncation, else the best as of the checkpoint a
      // resume truncates at (kept with it); only otherwise from the rows left.
      const best =
        row.bestStep !== null && row.bestStep <= step && row.bestValAccuracy !== null
          ? { step: row.bestStep, valAccuracy: row.bestValAccuracy }
          : row.checkpointStep === step && row.bestAtCheckpoint !== undefined
            ? row.bestAtCheckpoint
            : bestRow(metrics);
      const last = metrics[metrics.length - 1] ?? null;
      const next: StoredRun = {
        ...row,
        steps: Math.min(row.steps, Math.max(step, row.checkpointStep ?? 0)),
        epoch: last ? last.epoch : row.epoch,
        seconds: last ? last.seconds : row.seconds,
        bestValAccuracy: best ? best.valAccuracy : null,
        bestStep: best ? best.step : null,
        lastMetrics: last,
        // A resumed search scores again from the step it resumes at.
        heldOut: row.heldOut.filter((e) => e.step <= step),
        metricCount: counts.metrics,
        snapshotCount: counts.snapshots,
        updatedAt: this.stamp(),
      };
      await tx.putRun(next);
      this.known.set(id, next);
    });
  }

  /**
   * Deletes a run with its history and checkpoint. Returns everything deleted, as stored, for
   * restoreRun (undo) and to say what went.
   */
  async deleteRun(id: string): Promise<DeletedRun> {
    return this.exec(ALL_STORES, 'readwrite', async (tx) => {
      const run = await tx.getRun(id);
      if (run === undefined) throw new RunStoreError('not-found', `run ${id}: not found`);
      const deleted: DeletedRun = {
        id,
        run,
        metrics: await tx.getRows('metrics', id),
        snapshots: await tx.getRows('snapshots', id),
        checkpoint: (await tx.getCheckpoint(id)) ?? null,
      };
      for (const store of ['metrics', 'snapshots'] as const)
        await tx.deleteRows(store, id, await tx.rowSteps(store, id));
      await tx.deleteCheckpoint(id);
      await tx.deleteRun(id);
      this.known.delete(id);
      return deleted;
    });
  }

  /** Puts a deleted run back exactly as it was (same id, history and checkpoint): undo. */
  async restoreRun(deleted: DeletedRun): Promise<void> {
    await this.exec(ALL_STORES, 'readwrite', async (tx) => {
      if ((await tx.getRun(deleted.id)) !== undefined)
        throw new RunStoreError('invalid', `run ${deleted.id}: is stored already (restored before?)`);
      await tx.putRows('metrics', deleted.metrics as StoredMetric[]);
      await tx.putRows('snapshots', deleted.snapshots as StoredSnapshot[]);
      if (deleted.checkpoint !== null) await tx.putCheckpoint(deleted.checkpoint as StoredCheckpoint);
      await tx.putRun(deleted.run as StoredRun);
      this.known.delete(deleted.id);
    });
  }

  // --- reading -------------------------------------------------------------------------------

  /** Every run, newest first; damaged records are skipped and reported in `problems`. */
  async listRuns(): Promise<RunList> {
    return this.exec(['runs'], 'readonly', async (tx) => {
      const runs: RunSummary[] = [];
      const problems: RunProblem[] = [];
      for (const { id, value } of await tx.allRuns()) {
        try {
          const row = checkStoredRun(value);
          if (row.id !== id)
            throw new RunStoreError('corrupt', `run.id: ${JSON.stringify(row.id)} differs from its key`);
          runs.push(summaryOf(row));
        } catch (e) {
          if (!(e instanceof RunStoreError)) throw e;
          problems.push({ id, message: `Run ${id} could not be read and is skipped: ${e.message}` });
        }
      }
      runs.sort((a, b) =>
        a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.createdAt < b.createdAt ? 1 : -1,
      );
      return { runs, problems };
    });
  }

  /** The run with its whole history (not the checkpoint). Damaged history rows are skipped and
   * named in `problems`; a damaged run record throws RunStoreError('corrupt'). */
  async getRun(id: string): Promise<RunRecord> {
    return this.exec(['runs', 'metrics', 'snapshots'], 'readonly', async (tx) => {
      const row = await this.readRow(tx, id);
      const problems: string[] = [];
      const read = <T>(rows: unknown[], what: string, check: (v: unknown, path: string) => T): T[] =>
        rows.flatMap((r, i) => {
          try {
            return [check(r, `${what}[${i}]`)];
          } catch (e) {
            if (!(e instanceof RunStoreError)) throw e;
            problems.push(`${e.message} (skipped)`);
            return [];
          }
        });
      const rows = await tx.getRows('metrics', id);
      const metrics = row.kind === 'train' ? [] : read(rows, 'metrics', checkStoredMetric);
      const trainMetrics = row.kind === 'train' ? read(rows, 'metrics', checkStoredTrainMetric) : [];
      const snapshots = read(await tx.getRows('snapshots', id), 'snapshots', checkStoredSnapshot);
      return { ...summaryOf(row), metrics, trainMetrics, snapshots, problems };
    });
  }

  /**
   * What the comparison view draws of each run, in the order asked: the summary, the last α/β
   * snapshot (read alone, not the whole series) and the curve thinned to `maxMetrics` rows.
   * Each run keeps its row at the last step every run reached, so a head-to-head there is exact.
   */
  async getRunOverviews(ids: readonly string[], maxMetrics = OVERVIEW_MAX_METRICS): Promise<RunOverview[]> {
    const read = await this.exec(['runs', 'metrics', 'snapshots'], 'readonly', async (tx) => {
      const out: { row: StoredRun; metrics: MetricRow[]; finalSnapshot: ArchSnapshot | null; problems: string[] }[] =
        [];
      for (const id of ids) {
        const row = await this.readRow(tx, id);
        const problems: string[] = [];
        const metrics: MetricRow[] = [];
        if (row.kind === 'search')
          (await tx.getRows('metrics', id)).forEach((r, i) => {
            try {
              metrics.push(checkStoredMetric(r, `metrics[${i}]`));
            } catch (e) {
              if (!(e instanceof RunStoreError)) throw e;
              problems.push(`${e.message} (skipped)`);
            }
          });
        let finalSnapshot: ArchSnapshot | null = null;
        const last = await tx.lastRow('snapshots', id);
        if (last !== undefined)
          try {
            finalSnapshot = checkStoredSnapshot(last, 'snapshots[last]');
          } catch (e) {
            if (!(e instanceof RunStoreError)) throw e;
            problems.push(`${e.message} (skipped)`);
          }
        out.push({ row, metrics, finalSnapshot, problems });
      }
      return out;
    });
    const lastSteps = read.filter((r) => r.metrics.length).map((r) => r.metrics[r.metrics.length - 1]!.step);
    const common = lastSteps.length ? [Math.min(...lastSteps)] : [];
    return read.map(({ row, metrics, finalSnapshot, problems }) => ({
      ...summaryOf(row),
      metrics: thinMetricRows(metrics, maxMetrics, common),
      finalSnapshot,
      problems,
    }));
  }

  /** The newest search that was interrupted, failed, or left running or paused (unless in
   * `live`: a job still runs it), and has a checkpoint (after a reload: the interrupted one). */
  async findResumable(live: ReadonlySet<string> = new Set()): Promise<RunSummary | null> {
    const { runs } = await this.listRuns();
    return (
      runs.find(
        (r) =>
          r.kind === 'search' &&
          RESUMABLE_STATUSES.includes(r.status) &&
          r.checkpointStep !== null &&
          !(LIVE_STATUSES.includes(r.status) && live.has(r.id)),
      ) ?? null
    );
  }

  // --- files ---------------------------------------------------------------------------------

  /** The run as a "factorized-nas-run" file (version 1); the checkpoint only when asked for. */
  async exportRun(id: string, options: { includeCheckpoint?: boolean } = {}): Promise<string> {
    const run = await this.getRun(id);
    const checkpoint = options.includeCheckpoint ? await this.loadCheckpoint(id) : null;
    return encodeRunFile(run, checkpoint, new Date().toISOString());
  }

  /**
   * Stores a run file (or a genotype file / DARTS string, as a finished run with only a
   * genotype) under a new id; a file whose origin is a stored run's (search.py's file, imported
   * again as it grows) replaces that run's history under its id. A malformed file throws
   * RunStoreError('invalid') naming the first thing wrong, and stores nothing.
   */
  async importRun(text: string): Promise<string> {
    if (typeof text !== 'string') throw new RunStoreError('invalid', 'run: expected the text of a run file');
    const imported = decodeRunFile(text, this.stamp());
    // A file of a run imported before (search.py's, still growing) updates that run, note kept.
    const origin = imported.summary.origin;
    const earlier = origin ? (await this.listRuns()).runs.find((r) => r.origin === origin) : undefined;
    const id = earlier?.id ?? newId();
    if (earlier?.note) imported.summary.note = earlier.note;
    const cp = imported.checkpoint;
    const row: StoredRun = {
      schema: RUN_SCHEMA,
      id,
      ...imported.summary,
      ...(cp ? { bestAtCheckpoint: bestRow(imported.metrics.filter((m) => m.step <= cp.step)) } : {}),
    };
    await this.exec(ALL_STORES, 'readwrite', async (tx) => {
      if (earlier) {
        for (const store of ['metrics', 'snapshots'] as const)
          await tx.deleteRows(store, id, await tx.rowSteps(store, id));
        await tx.deleteCheckpoint(id);
      }
      await tx.putRows(
        'metrics',
        [...imported.metrics, ...imported.trainMetrics].map((m) => ({ runId: id, ...m })),
      );
      await tx.putRows(
        'snapshots',
        imported.snapshots.map((s) => packSnapshot(id, s)),
      );
      if (imported.checkpoint)
        await tx.putCheckpoint({
          runId: id,
          step: imported.checkpoint.step,
          savedAt: row.updatedAt,
          checkpoint: imported.checkpoint,
        });
      await tx.putRun(row);
      this.known.set(id, row);
    });
    return id;
  }

  /** Waits for every write asked for so far. */
  async flush(): Promise<void> {
    this.pending = null;
    await this.queue.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.flush();
    this.backend.close();
  }

  // --- internals -----------------------------------------------------------------------------

  private checkNewRun(meta: NewRun) {
    const fail = (why: string): never => {
      throw new RunStoreError('invalid', why);
    };
    if (!meta || typeof meta !== 'object') fail('run: expected {name, config, dataset, mode}');
    if (typeof meta.name !== 'string') fail(`name: expected a string, got ${typeof meta.name}`);
    const kind = meta.kind ?? 'search';
    if (!RUN_KINDS.includes(kind))
      fail(`kind: unknown kind ${JSON.stringify(kind)} (expected one of ${RUN_KINDS.join(', ')})`);
    let training: RunTraining | null = null;
    let genotype: GenotypeFile | null = null;
    if (kind === 'train') {
      if (meta.config) fail('config: a re-training has no search config (its settings go in training)');
      training = checkTraining(meta.training, 'training');
    } else if (!meta.config || typeof meta.config !== 'object') fail('config: expected a search config');
    if (meta.genotype !== undefined) {
      try {
        genotype =
          typeof meta.genotype === 'string' ? parseGenotypeFile(meta.genotype) : validateGenotypeFile(meta.genotype);
      } catch (e) {
        if (e instanceof GenotypeError) fail(e.message);
        throw e;
      }
    }
    const mode = meta.mode ?? meta.config?.mode;
    if (mode === undefined || !SEARCH_MODES.includes(mode))
      fail(`mode: unknown mode ${JSON.stringify(mode)} (expected one of ${SEARCH_MODES.join(', ')})`);
    const status = meta.status ?? 'running';
    if (!RUN_STATUSES.includes(status)) fail(`status: unknown status ${JSON.stringify(status)}`);
    const stepsTotal = meta.stepsTotal ?? null;
    if (stepsTotal !== null && !(Number.isInteger(stepsTotal) && stepsTotal >= 0))
      fail(`stepsTotal: expected a non-negative integer, got ${stepsTotal}`);
    return {
      name: meta.name.trim() || 'Untitled run',
      kind,
      config: meta.config ?? null,
      training,
      genotype,
      mode: mode as SearchMode,
      dataset: checkDataset(meta.dataset, 'dataset'),
      backend: meta.backend ?? null,
      status,
      stepsTotal,
    };
  }

  /** An ISO time, strictly increasing within this store (so "newest first" is well defined). */
  private stamp(): string {
    const t = Math.max(Date.now(), this.lastStamp + 1);
    this.lastStamp = t;
    return new Date(t).toISOString();
  }

  private async readRow(tx: Tx, id: string): Promise<StoredRun> {
    const value = await tx.getRun(id);
    if (value === undefined) throw new RunStoreError('not-found', `run ${id}: not found`);
    let row: StoredRun;
    try {
      row = checkStoredRun(value);
    } catch (e) {
      if (e instanceof RunStoreError) throw new RunStoreError('corrupt', `Run ${id} could not be read: ${e.message}`);
      throw e;
    }
    this.known.set(id, row);
    return row;
  }

  private trainingOf(row: StoredRun): RunTraining {
    if (row.kind !== 'train' || !row.training) throw new RunStoreError('invalid', `run ${row.id}: not a re-training`);
    return row.training;
  }

  private async update(id: string, change: (row: StoredRun) => StoredRun): Promise<void> {
    await this.exec(['runs'], 'readwrite', async (tx) => {
      const next = { ...change(await this.readRow(tx, id)), updatedAt: this.stamp() };
      await tx.putRun(next);
      this.known.set(id, next);
    });
  }

  private enqueueAppend(
    id: string,
    metrics: MetricRow[],
    trainMetrics: TrainMetricRow[],
    snapshots: ArchSnapshot[],
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let batch = this.pending;
      if (!batch) {
        batch = this.pending = new Map();
        const mine = batch;
        void this.enqueue(async () => {
          if (this.pending === mine) this.pending = null; // later appends start a new batch
          for (const [runId, p] of mine) {
            try {
              await this.attempt(['runs', 'metrics', 'snapshots'], 'readwrite', (tx) =>
                this.writeAppends(tx, runId, p),
              );
              p.waiters.forEach((w) => w.resolve());
            } catch (e) {
              p.waiters.forEach((w) => w.reject(e));
            }
          }
        });
      }
      let p = batch.get(id);
      if (!p) batch.set(id, (p = { metrics: [], trainMetrics: [], snapshots: [], waiters: [] }));
      p.metrics.push(...metrics);
      p.trainMetrics.push(...trainMetrics);
      p.snapshots.push(...snapshots);
      p.waiters.push({ resolve, reject });
    });
  }

  private async writeAppends(tx: Tx, id: string, p: PendingAppends): Promise<void> {
    const row = await this.readRow(tx, id);
    const next: StoredRun = { ...row, updatedAt: this.stamp() };
    const rows: (MetricRow | TrainMetricRow)[] = [...p.metrics, ...p.trainMetrics];
    if (rows.length) {
      await tx.putRows(
        'metrics',
        rows.map((m) => ({ runId: id, ...m })),
      );
      next.metricCount = row.metricCount + rows.length; // an upper bound (a step may repeat)
      if (next.metricCount > this.maxMetrics) {
        const steps = await tx.rowSteps('metrics', id);
        const drop = thinnedSteps(steps, this.maxMetrics);
        if (drop.length) await tx.deleteRows('metrics', id, drop);
        next.metricCount = steps.length - drop.length;
      }
    }
    if (p.trainMetrics.length) {
      const last = p.trainMetrics.reduce((a, b) => (b.step >= a.step ? b : a));
      next.steps = Math.max(row.steps, last.step);
      next.epoch = last.epoch;
      next.seconds = last.seconds;
    }
    if (p.metrics.length) {
      let last = row.lastMetrics;
      for (const m of p.metrics) {
        if (!last || m.step >= last.step) last = m;
        if (beats(m.valAccuracy, next.bestValAccuracy)) {
          next.bestValAccuracy = m.valAccuracy;
          next.bestStep = m.step;
        }
      }
      next.lastMetrics = last;
      if (last) {
        next.steps = Math.max(row.steps, last.step);
        next.epoch = last.epoch;
        next.seconds = last.seconds;
      }
    }
    if (p.snapshots.length) {
      await tx.putRows(
        'snapshots',
        p.snapshots.map((s) => packSnapshot(id, s)),
      );
      next.snapshotCount = row.snapshotCount + p.snapshots.length;
      if (next.snapshotCount > this.maxSnapshots) {
        const steps = await tx.rowSteps('snapshots', id);
        const drop = thinnedSteps(steps, this.maxSnapshots);
        if (drop.length) await tx.deleteRows('snapshots', id, drop);
        next.snapshotCount = steps.length - drop.length;
      }
    }
    await tx.putRun(next);
    this.known.set(id, next);
  }

  /** Runs an operation after every earlier one (one at a time keeps writes in call order). */
  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op, op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private exec<T>(stores: StoreName[], mode: IDBTransactionMode, body: (tx: Tx) => Promise<T>): Promise<T> {
    this.pending = null; // appends after this call must not be written before it
    return this.enqueue(() => this.attempt(stores, mode, body));
  }

  /** One transaction; if the storage itself fails (isStorageFailure), go on in memory and retry.
   * Any other error (a damaged record, a value that cannot be stored, a bug) rejects this call
   * only. */
  private async attempt<T>(stores: StoreName[], mode: IDBTransactionMode, body: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.backend.transact(stores, mode, body);
    } catch (e) {
      if (!isStorageFailure(e) || !(this.backend instanceof IdbBackend)) throw e;
      await this.fallBack(e);
      return this.backend.transact(stores, mode, body);
    }
  }

  private async fallBack(cause: unknown): Promise<void> {
    const idb = this.backend as IdbBackend;
    let mem: MemoryBackend;
    let unread = '';
    try {
      mem = await idb.dump();
    } catch (e) {
      // Unreadable too: go on with what this store has seen (records, without their history).
      mem = new MemoryBackend();
      for (const [id, row] of this.known) mem.runs.set(id, structuredClone(row));
      unread = ` Their history and checkpoints could not be read back (${errorText(e)}): this tab shows runs without them.`;
    }
    try {
      idb.close();
    } catch {
      // already closed
    }
    this.backend = mem;
    this.persistent = false;
    this.warn(
      `Runs are kept in memory only from now on: this browser refused to store more (${errorText(cause)}). ` +
        `Runs saved before stay in the browser; export a run to keep it.${unread}`,
    );
  }

  /** @internal */
  warn(message: string): void {
    if (this.warning !== null) return;
    this.warning = message;
    try {
      this.options.onWarning?.(message);
    } catch {
      // a listener's failure is not the store's
    }
  }
}

/**
 * Opens the run store: IndexedDB when the browser allows it, else memory (with `warning` set).
 * Never rejects for storage reasons.
 */
export async function openRunStore(options: RunStoreOptions = {}): Promise<RunStore> {
  const factory =
    options.indexedDB === undefined ? (globalThis as { indexedDB?: IDBFactory }).indexedDB : options.indexedDB;
  const memoryOnly = (why: string) => {
    const store = new RunStore(new MemoryBackend(), false, options);
    store.warn(`Runs are kept in memory only: ${why}. Export a run to keep it.`);
    return store;
  };
  if (!factory) return memoryOnly('this browser has no IndexedDB (a private window, or storage is turned off)');
  try {
    const db = await openDatabase(
      factory,
      options.dbName ?? DEFAULT_DB_NAME,
      options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
    );
    return new RunStore(new IdbBackend(db), true, options);
  } catch (e) {
    return memoryOnly(`this browser refused storage (${errorText(e)})`);
  }
}
