import { IDBDatabase as FakeIDBDatabase, IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SearchCheckpoint } from '../search/engine';
import { DARTS_V2, toDartsString, toGenotypeFile, type GenotypeFile } from '../search/genotype';
import { ACTIVATIONS, EDGES, OPS, QUICK_CONFIG } from '../search/space';
import { QUICK_TRAIN_CONFIG } from '../retrain/train-config';
import {
  DEFAULT_DB_NAME,
  NOTE_MAX_LENGTH,
  openRunStore,
  thinMetricRows,
  thinnedSteps,
  type ArchSnapshotInput,
  type MetricRow,
  type RunDataset,
  type RunStore,
  type RunTraining,
  type TrainMetricRow,
} from './store';

const DATASET: RunDataset = {
  name: 'fashion-mnist-subset',
  source: 'built-in',
  height: 28,
  width: 28,
  channels: 1,
  classes: 10,
  trainCount: 2000,
  testCount: 500,
};

/** A deterministic generator, so values are real but reproducible. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** float32-exact values, so stored snapshots compare equal. */
function rows(n: number, cols: number, r: () => number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: cols }, () => Math.fround(r() * 2 - 1)));
}

function snapshot(step: number, seed = step): ArchSnapshotInput {
  const r = rng(seed + 1);
  return {
    step,
    epoch: Math.floor(step / 10),
    kind: 'raw',
    alphaNormal: rows(EDGES, OPS.length, r),
    alphaReduce: rows(EDGES, OPS.length, r),
    betaNormal: rows(EDGES, ACTIVATIONS.length, r),
    betaReduce: rows(EDGES, ACTIVATIONS.length, r),
  };
}

function metric(step: number): MetricRow {
  return {
    step,
    epoch: Math.floor(step / 10),
    trainLoss: 2.3 - step * 0.01,
    valLoss: 2.31 - step * 0.009,
    valAccuracy: Math.min(0.95, 0.1 + step * 0.007 + (step % 3) * 0.001),
    imagesPerSecond: 150 + step,
    seconds: step * 0.42,
  };
}

function genotypeFile(): GenotypeFile {
  const g = {
    ...DARTS_V2,
    normal: DARTS_V2.normal.map((e) => (e.activation ? { ...e, activation: 'selu' as const } : e)),
  };
  return toGenotypeFile(g, {
    run: { mode: 'factorized', dataset: DATASET.name, steps: 30, metrics: { valAccuracy: 0.31 } },
  });
}

function floats(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function fakeCheckpoint(step: number): SearchCheckpoint {
  const variables = [
    { name: 'stem/conv', shape: [3, 3, 1, 24], values: floats(216, step) },
    { name: 'cell0/edge0/sep_conv_3x3/dw', shape: [3, 3, 8, 1], values: floats(72, step + 1) },
    { name: 'alpha_normal', shape: [14, 8], values: floats(112, step + 2) },
  ];
  const slots = (k: number) =>
    variables.map((v, i) => ({ name: v.name, shape: v.shape, values: floats(v.values.length, step * 10 + k + i) }));
  return {
    format: 'factorized-nas-checkpoint',
    version: 1,
    config: QUICK_CONFIG,
    input: { height: 28, width: 28, channels: 1, classes: 10 },
    step,
    seconds: step * 0.4,
    rng: [1, 2, 3, step],
    data: {
      train: {
        order: [11, 12, 13, 14],
        augment: [1, 2, 3, 4],
        epoch: 0,
        position: step % 7,
        count: 1000,
        batchSize: 8,
      },
      val: { order: [21, 22, 23, 24], augment: [5, 6, 7, 8], epoch: 0, position: step % 7, count: 1000, batchSize: 8 },
    },
    variables,
    optimizers: {
      weights: { step, slots: { momentum: slots(1) } },
      alpha: { step, slots: { m: slots(2), v: slots(3) } },
      beta: { step, slots: { m: slots(4), v: slots(5) } },
    },
  };
}

/** The same structure with every typed array turned into a plain array (for exact comparisons). */
function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return { typed: v.constructor.name, values: Array.from(v as Float32Array) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const stores: RunStore[] = [];
async function open(factory: IDBFactory, extra: Parameters<typeof openRunStore>[0] = {}): Promise<RunStore> {
  const s = await openRunStore({ indexedDB: factory, ...extra });
  stores.push(s);
  return s;
}
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
});

async function newRun(store: RunStore, name = 'quick factorized'): Promise<string> {
  return store.createRun({
    name,
    config: QUICK_CONFIG,
    dataset: DATASET,
    mode: 'factorized',
    backend: 'webgpu',
    stepsTotal: 100,
  });
}

describe('run store round trip', () => {
  it('stores config, data set, metrics, snapshots, genotype and status, and lists them', async () => {
    const store = await open(new IDBFactory());
    expect(store.persistent).toBe(true);
    expect(store.warning).toBeNull();
    const id = await newRun(store);
    await store.appendMetrics(id, [metric(1), metric(2), metric(3)]);
    await store.appendMetrics(id, metric(4));
    await store.appendSnapshot(id, snapshot(2));
    await store.appendSnapshot(id, snapshot(4));
    const g = genotypeFile();
    await store.setGenotype(id, JSON.stringify(g)); // as the worker's genotype message carries it
    await store.setStatus(id, 'paused');

    const { runs, problems } = await store.listRuns();
    expect(problems).toEqual([]);
    expect(runs).toHaveLength(1);
    const s = runs[0]!;
    expect(s).toMatchObject({
      id,
      name: 'quick factorized',
      mode: 'factorized',
      dataset: DATASET,
      backend: 'webgpu',
      status: 'paused',
      message: null,
      steps: 4,
      epoch: 0,
      stepsTotal: 100,
      metricCount: 4,
      snapshotCount: 2,
      checkpointStep: null,
      lastMetrics: metric(4),
    });
    const best = [1, 2, 3, 4].map(metric).reduce((a, b) => (b.valAccuracy > a.valAccuracy ? b : a));
    expect(s.bestValAccuracy).toBe(best.valAccuracy);
    expect(s.bestStep).toBe(best.step);
    expect(s.genotype?.darts).toBe(toDartsString(g));
    expect(s.genotype?.normal).toEqual(g.normal);
    expect(Date.parse(s.updatedAt)).toBeGreaterThanOrEqual(Date.parse(s.createdAt));

    const run = await store.getRun(id);
    expect(run.config).toEqual(QUICK_CONFIG);
    expect(run.metrics).toEqual([1, 2, 3, 4].map(metric));
    expect(run.snapshots.map((x) => x.step)).toEqual([2, 4]);
    const want = snapshot(4);
    expect(run.snapshots[1]).toEqual({ ...want, edgeNormal: null, edgeReduce: null });
    expect(run.problems).toEqual([]);

    await store.setStatus(id, 'failed', 'The loss became NaN at step 5');
    expect((await store.getRun(id)).message).toBe('The loss became NaN at step 5');
  });

  it('lists newest first and deletes a run with its history', async () => {
    const store = await open(new IDBFactory());
    const a = await newRun(store, 'a');
    const b = await newRun(store, 'b');
    await store.appendMetrics(a, metric(1)); // a is now the most recently updated
    expect((await store.listRuns()).runs.map((r) => r.name)).toEqual(['a', 'b']);
    await store.saveCheckpoint(a, fakeCheckpoint(1));
    await store.deleteRun(a);
    expect((await store.listRuns()).runs.map((r) => r.id)).toEqual([b]);
    await expect(store.getRun(a)).rejects.toThrow(/not found/);
    await expect(store.appendMetrics(a, metric(2))).rejects.toThrow(/not found/);
  });

  it('a deleted run can be put back exactly as it was (undo), once', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store, 'to delete');
    await store.appendMetrics(id, [metric(1), metric(2), metric(3)]);
    await store.appendSnapshot(id, snapshot(3));
    await store.saveCheckpoint(id, fakeCheckpoint(3));
    await store.setStatus(id, 'interrupted', 'Interrupted at step 3');
    const before = await store.getRun(id);
    const deleted = await store.deleteRun(id);
    expect([deleted.metrics.length, deleted.snapshots.length]).toEqual([3, 1]);
    expect((deleted.checkpoint as { step: number }).step).toBe(3);
    expect((await store.listRuns()).runs).toEqual([]);
    await expect(store.getRun(id)).rejects.toThrow('not found');
    await store.restoreRun(deleted);
    expect(await store.getRun(id)).toEqual(before);
    expect(plain(await store.loadCheckpoint(id))).toEqual(plain(fakeCheckpoint(3)));
    expect((await store.findResumable())?.id).toBe(id);
    await expect(store.restoreRun(deleted)).rejects.toThrow(`run ${id}: is stored already`);
  });

  it('thins snapshots to at most maxSnapshots, keeping the first and the last', async () => {
    const store = await open(new IDBFactory(), { maxSnapshots: 10, maxMetrics: 25 });
    const id = await newRun(store);
    for (let step = 1; step <= 57; step++) {
      await store.appendSnapshot(id, snapshot(step));
      await store.appendMetrics(id, metric(step));
    }
    const run = await store.getRun(id);
    const steps = run.snapshots.map((s) => s.step);
    expect(steps.length).toBeLessThanOrEqual(10);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    expect(steps[0]).toBe(1);
    expect(steps[steps.length - 1]).toBe(57);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
    expect(run.snapshotCount).toBe(steps.length);
    // Each kept snapshot is still the one written at its step.
    for (const s of run.snapshots) expect(s.alphaNormal).toEqual(snapshot(s.step).alphaNormal);
    const msteps = run.metrics.map((m) => m.step);
    expect(msteps.length).toBeLessThanOrEqual(25);
    expect(msteps[0]).toBe(1);
    expect(msteps[msteps.length - 1]).toBe(57);
    // The best accuracy is remembered even when its row was thinned away.
    expect(run.bestValAccuracy).toBe(Math.max(...Array.from({ length: 57 }, (_, i) => metric(i + 1).valAccuracy)));
  });

  it('thins like the page does', () => {
    expect(thinnedSteps([1, 2, 3], 3)).toEqual([]);
    expect(thinnedSteps([1, 2, 3, 4, 5], 4)).toEqual([2, 4]);
    expect(thinnedSteps([1, 2, 3, 4, 5, 6], 5)).toEqual([2, 4]);
  });

  it('writes appends made without waiting, in order, merged into few transactions', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store);
    const transactions = vi.spyOn(FakeIDBDatabase.prototype, 'transaction');
    const writes: Promise<void>[] = [];
    for (let step = 1; step <= 10; step++) writes.push(store.appendMetrics(id, metric(step)));
    await Promise.all(writes);
    expect(transactions).toHaveBeenCalledTimes(1); // ten appends, one transaction
    // A resume from step 5 drops what came after it; later appends land after the truncation.
    writes.push(store.truncateAfter(id, 5));
    for (let step = 6; step <= 8; step++) writes.push(store.appendMetrics(id, { ...metric(step), trainLoss: 9 }));
    writes.push(store.appendSnapshot(id, snapshot(8)));
    await Promise.all(writes);
    const run = await store.getRun(id);
    expect(run.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.metrics.slice(5).every((m) => m.trainLoss === 9)).toBe(true);
    expect(run.steps).toBe(8);
    expect(run.metricCount).toBe(8);
  });

  it('rejects bad input naming the field, without storing it', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store);
    await expect(store.appendMetrics(id, [{ ...metric(1), valLoss: 'x' as unknown as number }])).rejects.toThrow(
      'metrics[0].valLoss: expected a number',
    );
    await expect(store.appendSnapshot(id, { ...snapshot(1), alphaReduce: rows(13, 8, rng(1)) })).rejects.toThrow(
      'snapshot.alphaReduce: expected 14 rows, got 13',
    );
    await expect(store.appendSnapshot(id, { ...snapshot(1), betaReduce: null })).rejects.toThrow(
      'snapshot.betaReduce: betaNormal and betaReduce go together',
    );
    await expect(store.setGenotype(id, { ...genotypeFile(), normal: [] })).rejects.toThrow(
      'genotype.normal: expected 8 entries',
    );
    await expect(
      store.createRun({ name: 'x', config: QUICK_CONFIG, dataset: { name: 'd' } as RunDataset }),
    ).rejects.toThrow('dataset.source: expected a string');
    expect((await store.getRun(id)).metrics).toEqual([]);
  });
});

describe('checkpoints', () => {
  it('round-trips typed arrays exactly and keeps only the latest', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store);
    const first = fakeCheckpoint(40);
    await store.saveCheckpoint(id, first);
    const back = await store.loadCheckpoint(id);
    expect(back!.variables[0]!.values).toBeInstanceOf(Float32Array);
    expect(plain(back)).toEqual(plain(first));

    const second = fakeCheckpoint(80);
    await store.saveCheckpoint(id, second);
    const latest = await store.loadCheckpoint(id);
    expect(latest!.step).toBe(80);
    expect(plain(latest)).toEqual(plain(second));
    const s = (await store.listRuns()).runs[0]!;
    expect(s.checkpointStep).toBe(80);
    expect(s.steps).toBe(80);
    // listRuns and getRun never carry the checkpoint
    expect(JSON.stringify(s)).not.toContain('variables');
    expect(Object.keys(await store.getRun(id))).not.toContain('checkpoint');

    await store.deleteCheckpoint(id);
    expect(await store.loadCheckpoint(id)).toBeNull();
    expect((await store.listRuns()).runs[0]!.checkpointStep).toBeNull();
  });

  it('stores a view on a larger buffer as a compact array', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store);
    const cp = fakeCheckpoint(3);
    const big = new Float32Array(10_000);
    big.set(cp.variables[2]!.values, 500);
    cp.variables[2]!.values = big.subarray(500, 500 + 112);
    await store.saveCheckpoint(id, cp);
    const back = await store.loadCheckpoint(id);
    expect(back!.variables[2]!.values.buffer.byteLength).toBe(112 * 4);
    expect(Array.from(back!.variables[2]!.values)).toEqual(Array.from(cp.variables[2]!.values));
  });

  it('a checkpoint write can be held in flight (the crash test’s hook), then commits', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store);
    await store.saveCheckpoint(id, fakeCheckpoint(2));
    store.holdCheckpointWrite = { step: 4, ms: 300 };
    const started = Date.now();
    let settled = false;
    const writing = store.saveCheckpoint(id, fakeCheckpoint(4)).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled, 'still being written').toBe(false);
    await writing;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await store.loadCheckpoint(id))!.step).toBe(4);
  });

  it('finds the interrupted run after a reload, not a finished one', async () => {
    const factory = new IDBFactory();
    const before = await open(factory);
    const interrupted = await newRun(before, 'interrupted');
    await before.appendMetrics(interrupted, [metric(1), metric(2)]);
    await before.saveCheckpoint(interrupted, fakeCheckpoint(2));
    const pausedNoCheckpoint = await newRun(before, 'paused without checkpoint');
    await before.setStatus(pausedNoCheckpoint, 'paused');
    const finished = await newRun(before, 'finished');
    await before.saveCheckpoint(finished, fakeCheckpoint(5));
    await before.setStatus(finished, 'done'); // the newest run, but not resumable
    // The tab dies here: nothing is closed or flushed beyond what was awaited.

    const after = await open(factory);
    expect(after.persistent).toBe(true);
    const found = await after.findResumable();
    expect(found).not.toBeNull();
    expect(found!.id).toBe(interrupted);
    expect(found!.status).toBe('running');
    expect(found!.checkpointStep).toBe(2);
    expect(plain(await after.loadCheckpoint(found!.id))).toEqual(plain(fakeCheckpoint(2)));
    expect((await after.getRun(interrupted)).metrics).toEqual([metric(1), metric(2)]);

    await after.setStatus(interrupted, 'stopped');
    expect(await after.findResumable()).toBeNull();
  });

  it('offers a failed run (NaN, lost GPU) that has a checkpoint, to go on, e.g. on another backend', async () => {
    const store = await open(new IDBFactory());
    const failed = await newRun(store, 'lost its GPU');
    await store.saveCheckpoint(failed, fakeCheckpoint(3));
    await store.setStatus(failed, 'failed', 'The GPU device was lost');
    const failedEarly = await newRun(store, 'failed before any checkpoint');
    await store.setStatus(failedEarly, 'failed', 'The loss became NaN at step 1'); // newer, but nothing to resume
    const found = await store.findResumable();
    expect(found?.id).toBe(failed);
    expect(found?.status).toBe('failed');
    expect(found?.checkpointStep).toBe(3);
  });
});

describe('export and import', () => {
  async function storedRun(store: RunStore): Promise<string> {
    const id = await newRun(store, 'exported');
    await store.appendMetrics(id, [1, 2, 3, 4, 5].map(metric));
    await store.appendSnapshot(id, {
      ...snapshot(1),
      edgeNormal: Array.from({ length: 14 }, (_, i) => Math.fround(i / 7)),
      edgeReduce: Array(14).fill(0.5),
    });
    await store.appendSnapshot(id, snapshot(5));
    await store.setGenotype(id, genotypeFile());
    await store.saveCheckpoint(id, fakeCheckpoint(5));
    return id;
  }

  it('round-trips a run to a new id with the same history and genotype', async () => {
    const store = await open(new IDBFactory());
    const id = await storedRun(store);
    const text = await store.exportRun(id);
    const file = JSON.parse(text);
    expect(file.format).toBe('factorized-nas-run');
    expect(file.version).toBe(1);
    expect(file.checkpoint).toBeUndefined();
    expect(Array.isArray(file.snapshots[0].alphaNormal[0])).toBe(true);

    const copy = await store.importRun(text);
    expect(copy).not.toBe(id);
    const a = await store.getRun(id);
    const b = await store.getRun(copy);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.snapshots).toEqual(a.snapshots);
    expect(b.genotype).toEqual(a.genotype);
    expect(b.config).toEqual(a.config);
    expect(b.dataset).toEqual(a.dataset);
    expect(b.bestValAccuracy).toBe(a.bestValAccuracy);
    expect(b.name).toBe('exported');
    // It was exported mid-search without a checkpoint: here nothing can continue it.
    expect(b.status).toBe('stopped');
    expect(b.checkpointStep).toBeNull();
    expect((await store.listRuns()).runs).toHaveLength(2);
  });

  it('a file of the same origin imported again updates that run (a growing search.py file)', async () => {
    const store = await open(new IDBFactory());
    const source = await storedRun(store);
    const file = JSON.parse(await store.exportRun(source));
    const early = { ...file, origin: 'search.py:1234', metrics: file.metrics.slice(0, 2), status: 'running' };
    const id = await store.importRun(JSON.stringify(early));
    await store.setNote(id, 'cluster run');
    const later = { ...file, origin: 'search.py:1234', status: 'done' };
    expect(await store.importRun(JSON.stringify(later))).toBe(id);
    const run = await store.getRun(id);
    expect(run.metrics).toEqual((await store.getRun(source)).metrics);
    expect([run.status, run.note, run.origin]).toEqual(['done', 'cluster run', 'search.py:1234']);
    expect((await store.listRuns()).runs).toHaveLength(2);
    // Another origin, or none, adds a run as before.
    expect(await store.importRun(JSON.stringify({ ...later, origin: 'search.py:5678' }))).not.toBe(id);
    expect(await store.importRun(JSON.stringify(file))).not.toBe(id);
    expect((await store.listRuns()).runs).toHaveLength(4);
    await expect(store.importRun(JSON.stringify({ ...file, origin: 7 }))).rejects.toThrow(
      /run\.origin: expected a string/,
    );
  });

  it('carries the checkpoint as base64 when asked, exactly', async () => {
    const store = await open(new IDBFactory());
    const id = await storedRun(store);
    const text = await store.exportRun(id, { includeCheckpoint: true });
    expect(JSON.parse(text).checkpoint.variables[0].values.$typed).toBe('Float32Array');
    const other = await open(new IDBFactory());
    const copy = await other.importRun(text);
    expect(plain(await other.loadCheckpoint(copy))).toEqual(plain(fakeCheckpoint(5)));
    // Exported mid-search: nothing runs it here, and it can go on from its checkpoint.
    const found = await other.findResumable();
    expect(found?.id).toBe(copy);
    expect(found?.status).toBe('interrupted');
  });

  it('refuses malformed files naming the first thing wrong, and stores nothing', async () => {
    const store = await open(new IDBFactory());
    const id = await storedRun(store);
    const good = JSON.parse(await store.exportRun(id, { includeCheckpoint: true }));
    const edit = (f: (x: any) => void): string => {
      const copy = structuredClone(good);
      f(copy);
      return JSON.stringify(copy);
    };
    const cases: [string, string | RegExp][] = [
      [edit((x) => (x.metrics[3].step = 'four')), 'run.metrics[3].step: expected a number, got "four"'],
      [edit((x) => delete x.metrics[1].valAccuracy), 'run.metrics[1].valAccuracy: expected a number, got nothing'],
      [edit((x) => (x.metrics[2].step = 1)), 'run.metrics[2].step: steps must increase'],
      [edit((x) => (x.format = 'something-else')), 'run.format: expected "factorized-nas-run"'],
      [edit((x) => delete x.version), 'run.version: missing'],
      [edit((x) => (x.version = 2)), 'run.version: unsupported version 2'],
      [edit((x) => (x.status = 'exploded')), 'run.status: unknown status "exploded"'],
      [edit((x) => (x.dataset = 'mnist')), 'run.dataset: expected an object'],
      [edit((x) => (x.config.channels = -3)), 'run.config.channels: must be a positive integer'],
      [edit((x) => (x.genotype.normal[0].op = 'conv_7x7')), 'run.genotype.normal[0].op: unknown op "conv_7x7"'],
      [edit((x) => x.snapshots[1].alphaNormal[3].pop()), 'run.snapshots[1].alphaNormal[3]: expected 8 numbers'],
      [
        edit((x) => (x.snapshots[0].betaNormal[0][2] = null)),
        'run.snapshots[0].betaNormal[0][2]: expected a number, got null',
      ],
      [
        edit((x) => (x.checkpoint.variables[1].values.base64 = 'AAAAAAAAAAAAAAAA')),
        'run.checkpoint.variables[1].values: expected 72 values, got 3',
      ],
      [
        edit((x) => (x.checkpoint.variables[1].values.base64 = 'AAAA')),
        'run.checkpoint.variables[1].values.base64: 3 bytes is not a whole number of Float32Array elements',
      ],
      [
        edit((x) => (x.checkpoint.variables[0].values.base64 = '%%%')),
        'run.checkpoint.variables[0].values.base64: not valid base64',
      ],
      [edit((x) => (x.checkpoint.rng = [1, 2])), 'run.checkpoint.rng: expected 4 32-bit integers'],
      ['{"format": "factorized-nas-run", ', /^run: not JSON/],
      ['[1, 2, 3]', 'run: expected an object, got an array'],
    ];
    for (const [text, message] of cases) {
      await expect(store.importRun(text), String(message)).rejects.toThrow(message);
    }
    const { runs } = await store.listRuns();
    expect(runs.map((r) => r.id)).toEqual([id]);
  });

  it('imports a bare genotype file or DARTS string as a finished run with only a genotype', async () => {
    const store = await open(new IDBFactory());
    const g = toGenotypeFile(DARTS_V2, {
      weights: {
        alphaNormal: rows(14, 8, rng(3)),
        alphaReduce: rows(14, 8, rng(4)),
        betaNormal: rows(14, 9, rng(5)),
        betaReduce: rows(14, 9, rng(6)),
      },
      // As the search writes it: epochs a fraction (steps / steps an epoch).
      run: { mode: 'factorized', dataset: 'cifar10', steps: 200, epochs: 2.5, metrics: { valAccuracy: 0.62 } },
    });
    const id = await store.importRun(JSON.stringify(g));
    const run = await store.getRun(id);
    expect(run.status).toBe('done');
    expect([run.steps, run.epoch], 'the epoch it was in, as the engine counts').toEqual([200, 2]);
    expect(run.genotype?.darts).toBe(g.darts);
    expect(run.mode).toBe('factorized');
    expect(run.dataset.name).toBe('cifar10');
    expect(run.bestValAccuracy).toBe(0.62);
    expect(run.metrics).toEqual([]);
    expect(run.snapshots).toHaveLength(1);
    expect(run.snapshots[0]!.alphaNormal).toEqual(g.weights!.alphaNormal);
    expect(run.config).toBeNull();

    const fromString = await store.importRun(toDartsString(DARTS_V2));
    expect((await store.getRun(fromString)).genotype?.normal.map((e) => e.op)).toEqual(
      DARTS_V2.normal.map((e) => e.op),
    );

    // It exports and imports again like any run.
    const again = await store.importRun(await store.exportRun(id));
    expect((await store.getRun(again)).genotype).toEqual(run.genotype);

    await expect(store.importRun(JSON.stringify({ ...g, normalConcat: [2, 3] }))).rejects.toThrow(
      'genotype.normalConcat: expected [2, 3, 4, 5]',
    );
    expect((await store.listRuns()).runs).toHaveLength(3);
  });
});

describe('re-training runs', () => {
  const training = (): RunTraining => ({
    preset: 'quick',
    allRelu: true,
    config: { ...QUICK_TRAIN_CONFIG, channels: 4, layers: 3, batchSize: 8, maxSteps: 6 },
    source: 'found.json',
    auxiliary: false,
    cutout: false,
    params: null,
    auxiliaryParams: null,
    evaluations: [],
    testAccuracy: null,
    testLoss: null,
    testCount: null,
  });
  const trainRow = (step: number): TrainMetricRow => ({
    step,
    epoch: Math.floor(step / 4),
    trainLoss: 2 - step * 0.1,
    trainAccuracy: Math.fround(0.1 * step),
    learningRate: 0.025,
    imagesPerSecond: 30 + step,
    seconds: step * 0.5,
  });

  async function trainedRun(store: RunStore): Promise<string> {
    const id = await store.createRun({
      name: 're-train found.json',
      kind: 'train',
      config: null,
      mode: 'factorized',
      training: training(),
      genotype: genotypeFile(),
      dataset: DATASET,
      backend: 'wasm',
      stepsTotal: 6,
    });
    await store.updateTraining(id, { params: 12345, auxiliaryParams: 0 });
    await store.appendTrainMetrics(id, [1, 2, 3].map(trainRow));
    await store.addEvaluation(id, { step: 3, epoch: 0, testLoss: 1.5, testAccuracy: 0.375, testCount: 200 });
    await store.appendTrainMetrics(id, [4, 5, 6].map(trainRow));
    await store.addEvaluation(id, { step: 6, epoch: 1, testLoss: 1.2, testAccuracy: 0.5, testCount: 200 });
    await store.updateTraining(id, { testAccuracy: 0.5, testLoss: 1.2, testCount: 200 });
    await store.setStatus(id, 'done');
    return id;
  }

  it('stores its kind, settings, genotype, step rows, evaluations and final test accuracy', async () => {
    const store = await open(new IDBFactory());
    const search = await newRun(store, 'a search');
    const id = await trainedRun(store);
    const run = await store.getRun(id);
    expect(run.kind).toBe('train');
    expect(run.config).toBeNull();
    expect(run.training).toMatchObject({
      preset: 'quick',
      allRelu: true,
      source: 'found.json',
      params: 12345,
      testAccuracy: 0.5,
      testCount: 200,
    });
    expect(run.training!.config.channels).toBe(4);
    expect(run.training!.evaluations.map((e) => [e.step, e.testAccuracy])).toEqual([
      [3, 0.375],
      [6, 0.5],
    ]);
    expect(run.trainMetrics).toEqual([1, 2, 3, 4, 5, 6].map(trainRow));
    expect(run.metrics).toEqual([]);
    expect(run.genotype?.darts).toBe(genotypeFile().darts);
    expect([run.steps, run.epoch, run.seconds, run.status]).toEqual([6, 1, 3, 'done']);
    expect(run.bestValAccuracy).toBeNull();
    const { runs } = await store.listRuns();
    expect(runs.map((r) => [r.id, r.kind])).toEqual([
      [id, 'train'],
      [search, 'search'],
    ]);
    // Never offered for resuming (it has no checkpoint).
    expect(await store.findResumable()).toBeNull();
  });

  it('exports and imports like any run, and refuses malformed re-training files naming the field', async () => {
    const store = await open(new IDBFactory());
    const id = await trainedRun(store);
    const text = await store.exportRun(id);
    const file = JSON.parse(text);
    expect(file.kind).toBe('train');
    expect(file.training.testAccuracy).toBe(0.5);
    expect(file.metrics[0]).toEqual({
      step: 1,
      epoch: 0,
      trainLoss: 1.9,
      trainAccuracy: Math.fround(0.1),
      learningRate: 0.025,
      imagesPerSecond: 31,
      seconds: 0.5,
    });
    const copy = await store.importRun(text);
    const a = await store.getRun(id);
    const b = await store.getRun(copy);
    expect(b.kind).toBe('train');
    expect(b.training).toEqual(a.training);
    expect(b.trainMetrics).toEqual(a.trainMetrics);
    expect(b.genotype).toEqual(a.genotype);
    expect(b.status).toBe('done');

    const edit = (f: (x: any) => void): string => {
      const c = structuredClone(file);
      f(c);
      return JSON.stringify(c);
    };
    const cases: [string, string][] = [
      [edit((x) => (x.kind = 'finetune')), 'run.kind: unknown kind "finetune" (expected one of search, train)'],
      [edit((x) => delete x.training), 'run.training: expected an object, got nothing'],
      [edit((x) => (x.training.preset = 'huge')), 'run.training.preset: unknown preset "huge"'],
      [edit((x) => (x.training.allRelu = 'yes')), 'run.training.allRelu: expected true or false, got "yes"'],
      [edit((x) => (x.training.config.channels = 5)), 'run.training.config.channels: must be even, got 5'],
      [
        edit((x) => (x.training.testAccuracy = 1.5)),
        'run.training.testAccuracy: expected an accuracy in [0, 1], got 1.5',
      ],
      [edit((x) => (x.training.evaluations[1].step = 2)), 'run.training.evaluations[1].step: steps must increase'],
      [edit((x) => delete x.metrics[2].trainAccuracy), 'run.metrics[2].trainAccuracy: expected a number, got nothing'],
      [edit((x) => (x.config = QUICK_CONFIG)), 'run.config: a re-training has no search config'],
      [edit((x) => (x.kind = 'search')), 'run.training: only a re-training (kind "train") has training settings'],
    ];
    for (const [bad, message] of cases) await expect(store.importRun(bad), message).rejects.toThrow(message);
    expect((await store.listRuns()).runs).toHaveLength(2);
  });

  it('marks runs a closed tab or a dead worker left running or paused as interrupted, and only those', async () => {
    const store = await open(new IDBFactory());
    const done = await trainedRun(store);
    const failed = await trainedRun(store);
    await store.setStatus(failed, 'failed', 'The training loss became NaN at step 2');
    const interrupted = await store.createRun({
      name: 'cut short',
      kind: 'train',
      config: null,
      mode: 'darts',
      training: training(),
      dataset: DATASET,
    });
    const live = await store.createRun({
      name: 'live',
      kind: 'train',
      config: null,
      mode: 'darts',
      training: training(),
      dataset: DATASET,
    });
    const search = await newRun(store, 'a search');
    await store.appendMetrics(search, [metric(1), metric(2), metric(3)]);
    await store.saveCheckpoint(search, fakeCheckpoint(2));
    const paused = await newRun(store, 'paused, no checkpoint');
    await store.setStatus(paused, 'paused');
    // While a job (another tab) runs the search, it is not offered to resume.
    expect(await store.findResumable(new Set([search]))).toBeNull();
    const marked = await store.markInterrupted(new Set([live]));
    expect(marked.map((r) => r.name).sort()).toEqual(['a search', 'cut short', 'paused, no checkpoint']);
    const of = async (id: string) => {
      const r = await store.getRun(id);
      return [r.status, r.message];
    };
    expect(await of(done)).toEqual(['done', null]);
    expect(await of(failed)).toEqual(['failed', 'The training loss became NaN at step 2']);
    expect(await of(live)).toEqual(['running', null]);
    expect(await of(interrupted)).toEqual([
      'interrupted',
      'Interrupted at step 0 (the page was closed or reloaded, or its worker stopped); a re-training has no checkpoint: start it again.',
    ]);
    expect(await of(search)).toEqual([
      'interrupted',
      'Interrupted at step 3 (the page was closed or reloaded, or its worker stopped); resume it from its checkpoint at step 2.',
    ]);
    expect(await of(paused)).toEqual([
      'interrupted',
      'Interrupted at step 0 (the page was closed or reloaded, or its worker stopped); it has no checkpoint to resume from.',
    ]);
    // The interrupted search is the one a reload offers.
    expect((await store.findResumable())?.id).toBe(search);
    // Marking again changes nothing.
    expect(await store.markInterrupted(new Set([live]))).toEqual([]);
  });

  it('refuses a re-training without its settings, or with a search config', async () => {
    const store = await open(new IDBFactory());
    await expect(
      store.createRun({ name: 'x', kind: 'train', config: null, mode: 'factorized', dataset: DATASET }),
    ).rejects.toThrow('training: expected an object');
    await expect(
      store.createRun({ name: 'x', kind: 'train', config: QUICK_CONFIG, training: training(), dataset: DATASET }),
    ).rejects.toThrow('config: a re-training has no search config');
    const search = await newRun(store);
    await expect(
      store.addEvaluation(search, { step: 1, epoch: 0, testLoss: 1, testAccuracy: 0.5, testCount: 10 }),
    ).rejects.toThrow('not a re-training');
  });
});

describe('damaged records', () => {
  function rawPut(factory: IDBFactory, store: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = factory.open(DEFAULT_DB_NAME);
      req.onsuccess = () => {
        const db = req.result;
        const t = db.transaction(store, 'readwrite');
        t.objectStore(store).put(value);
        t.oncomplete = () => {
          db.close();
          resolve();
        };
        t.onerror = () => reject(t.error);
      };
      req.onerror = () => reject(req.error);
    });
  }

  it('skips a damaged run with a problem message; the others still list and open', async () => {
    const factory = new IDBFactory();
    const store = await open(factory);
    const good = await newRun(store, 'good');
    await store.appendMetrics(good, [metric(1), metric(2)]);
    const other = await newRun(store, 'other');
    await rawPut(factory, 'runs', { id: 'garbage', schema: 1, name: 42, mode: 'factorized' });
    await rawPut(factory, 'runs', { id: 'older', name: 'from an older lab', status: 'done' });
    await rawPut(factory, 'metrics', { runId: good, step: 7, epoch: 0, trainLoss: 'lots' });

    const { runs, problems } = await store.listRuns();
    expect(runs.map((r) => r.id).sort()).toEqual([good, other].sort());
    expect(problems).toHaveLength(2);
    const byId = Object.fromEntries(problems.map((p) => [p.id, p.message]));
    expect(byId.garbage).toMatch(/Run garbage could not be read.*run\.name: expected a string, got 42/);
    expect(byId.older).toMatch(/run\.schema: expected 1, got nothing \(written by another version/);

    await expect(store.getRun('garbage')).rejects.toThrow(/run\.name: expected a string/);
    const run = await store.getRun(good);
    expect(run.metrics).toEqual([metric(1), metric(2)]);
    expect(run.problems).toEqual([
      expect.stringMatching(/metrics\[2\]\.trainLoss: expected a number, got "lots" \(skipped\)/),
    ]);
    expect(await store.findResumable()).toBeNull();

    await store.deleteRun('garbage');
    expect((await store.listRuns()).problems.map((p) => p.id)).toEqual(['older']);
  });

  it('keeps held-out scorings in step order, cut back on resume, through export and import', async () => {
    const factory = new IDBFactory();
    const store = await open(factory);
    const id = await newRun(store, 'held out');
    await store.appendMetrics(id, [metric(1), { ...metric(2), learningRate: 0.025 }]);
    const e = (step: number, testAccuracy: number) => ({
      step,
      epoch: step >> 1,
      testLoss: 1 / step,
      testAccuracy,
      testCount: 500,
    });
    await store.addHeldOut(id, e(2, 0.25));
    await store.addHeldOut(id, e(4, 0.5));
    await store.addHeldOut(id, e(4, 0.75)); // the same step again replaces it
    expect((await store.getRun(id)).heldOut).toEqual([e(2, 0.25), e(4, 0.75)]);
    await expect(store.addHeldOut(id, { ...e(6, 1.5) })).rejects.toThrow(
      /testAccuracy: expected an accuracy in \[0, 1\]/,
    );
    const copy = await store.importRun(await store.exportRun(id));
    const imported = await store.getRun(copy);
    expect(imported.heldOut).toEqual([e(2, 0.25), e(4, 0.75)]);
    expect(imported.metrics.map((m) => m.learningRate)).toEqual([undefined, 0.025]);
    await store.truncateAfter(id, 3);
    expect((await store.getRun(id)).heldOut).toEqual([e(2, 0.25)]);
    // A record stored before held-out scoring reads as having none.
    const { runs } = await store.listRuns();
    const { heldOut: _h, ...old } = { ...runs.find((r) => r.id === id)!, schema: 1 };
    void _h;
    await rawPut(factory, 'runs', { ...old, id: 'old-run' });
    expect((await store.getRun('old-run')).heldOut).toEqual([]);
    // A genotype file says on how many held-out images its valAccuracy was scored: that is kept.
    const file = genotypeFile();
    const scored = { ...file, run: { ...file.run, metrics: { valAccuracy: 0.375, valImages: 200 } } };
    const fromGenotype = await store.getRun(await store.importRun(JSON.stringify(scored)));
    expect(fromGenotype.heldOut).toEqual([{ step: 30, epoch: 0, testLoss: NaN, testAccuracy: 0.375, testCount: 200 }]);
    expect(fromGenotype.bestValAccuracy).toBeNull();
    // An older file's valAccuracy (a batch average) is not taken for one.
    const older = await store.getRun(await store.importRun(JSON.stringify(file)));
    expect([older.heldOut, older.bestValAccuracy]).toEqual([[], 0.31]);
  });

  it('reads a record stored before runs had a kind as a search', async () => {
    const factory = new IDBFactory();
    const store = await open(factory);
    const id = await newRun(store, 'before kinds');
    await store.appendMetrics(id, [metric(1)]);
    const { runs } = await store.listRuns();
    const { kind: _kind, training: _training, ...old } = { ...runs[0]!, schema: 1 };
    void _kind;
    void _training;
    await rawPut(factory, 'runs', { ...old, id: 'old-run' });
    const run = await store.getRun('old-run');
    expect(run.kind).toBe('search');
    expect(run.training).toBeNull();
    expect(run.name).toBe('before kinds');
    expect((await store.listRuns()).problems).toEqual([]);
    const file = JSON.parse(await store.exportRun('old-run'));
    delete file.kind;
    const copy = await store.importRun(JSON.stringify(file));
    expect((await store.getRun(copy)).kind).toBe('search');
  });
});

describe('a note per run', () => {
  it('is stored trimmed, listed, removed with an empty note, and leaves updatedAt (the order) alone', async () => {
    const store = await open(new IDBFactory());
    const older = await newRun(store, 'older');
    const newer = await newRun(store, 'newer');
    const before = (await store.listRuns()).runs;
    expect(before.map((r) => r.name)).toEqual(['newer', 'older']);
    expect(before[1]!.note).toBeUndefined();
    await store.setNote(older, '  lr 3e-3 diverged after step 40 \n');
    const after = (await store.listRuns()).runs;
    expect(after.map((r) => r.name)).toEqual(['newer', 'older']);
    expect(after[1]!.note).toBe('lr 3e-3 diverged after step 40');
    expect(after[1]!.updatedAt).toBe(before[1]!.updatedAt);
    expect((await store.getRun(older)).note).toBe('lr 3e-3 diverged after step 40');
    await store.setNote(older, '   ');
    expect((await store.getRun(older)).note).toBeUndefined();
    expect('note' in (await store.getRun(older))).toBe(false);
    await expect(store.setNote(newer, 'x'.repeat(NOTE_MAX_LENGTH + 1))).rejects.toThrow(
      `note: expected at most ${NOTE_MAX_LENGTH} characters, got ${NOTE_MAX_LENGTH + 1}`,
    );
    await expect(store.setNote('no-such-run', 'x')).rejects.toThrow('run no-such-run: not found');
  });

  it('travels in the run file; a file without one (older) imports without one; a bad one is named', async () => {
    const store = await open(new IDBFactory());
    const id = await newRun(store, 'noted');
    await store.appendMetrics(id, [1, 2].map(metric));
    await store.setNote(id, 'baseline for the K=4 runs');
    const text = await store.exportRun(id);
    const file = JSON.parse(text);
    expect(file.note).toBe('baseline for the K=4 runs');
    expect(Object.keys(file).slice(3, 6)).toEqual(['name', 'note', 'kind']);
    const copy = await store.importRun(text);
    expect((await store.getRun(copy)).note).toBe('baseline for the K=4 runs');

    delete file.note;
    const old = await store.importRun(JSON.stringify(file));
    expect((await store.getRun(old)).note).toBeUndefined();
    expect(JSON.parse(await store.exportRun(old)).note).toBeUndefined();
    const runs = (await store.listRuns()).runs.length;
    await expect(store.importRun(JSON.stringify({ ...file, note: 42 }))).rejects.toThrow(
      'run.note: expected a string, got 42',
    );
    await expect(store.importRun(JSON.stringify({ ...file, note: 'n'.repeat(NOTE_MAX_LENGTH + 5) }))).rejects.toThrow(
      `run.note: expected at most ${NOTE_MAX_LENGTH} characters`,
    );
    expect((await store.listRuns()).runs).toHaveLength(runs);
  });
});

describe('what the comparison reads of a run', () => {
  it('thinMetricRows keeps about max rows evenly, with the first, the last, the best and the row at a step', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => metric(i + 1));
    rows[3210]!.valAccuracy = 0.99; // the best, at step 3211
    const thinned = thinMetricRows(rows, 100, [4444.5]);
    expect(thinned.length).toBeGreaterThanOrEqual(100);
    expect(thinned.length).toBeLessThanOrEqual(103);
    expect(thinned[0]!.step).toBe(1);
    expect(thinned.at(-1)!.step).toBe(5000);
    expect(thinned.map((r) => r.step)).toContain(3211);
    expect(thinned.map((r) => r.step)).toContain(4444); // the last row at or before 4444.5
    expect(thinned.every((r, i) => i === 0 || r.step > thinned[i - 1]!.step)).toBe(true);
    // Evenly spread: no gap is much wider than 5000 / 100 steps.
    const gaps = thinned.slice(1).map((r, i) => r.step - thinned[i]!.step);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(51);
    expect(thinMetricRows(rows.slice(0, 40), 100)).toEqual(rows.slice(0, 40));
  });

  it('getRunOverviews: each run’s last snapshot only, and its curve thinned but exact where it is compared', async () => {
    const store = await open(new IDBFactory(), { maxMetrics: 50_000 });
    const long = await newRun(store, 'long');
    const short = await newRun(store, 'short');
    await store.appendMetrics(
      long,
      Array.from({ length: 3000 }, (_, i) => metric(i + 1)),
    );
    await store.appendMetrics(
      short,
      Array.from({ length: 1233 }, (_, i) => metric(i + 1)),
    );
    for (const step of [10, 700, 2999]) await store.appendSnapshot(long, snapshot(step));
    const [l, s] = await store.getRunOverviews([long, short], 200);
    expect(l!.name).toBe('long');
    expect(l!.finalSnapshot!.step).toBe(2999);
    expect(l!.finalSnapshot!.alphaNormal).toEqual(snapshot(2999).alphaNormal);
    expect(s!.finalSnapshot).toBeNull();
    expect(l!.metrics.length).toBeLessThanOrEqual(203);
    expect(l!.metrics.at(-1)).toEqual(metric(3000));
    // The last step both reached is 1233: the long run keeps its row there.
    expect(l!.metrics.find((m) => m.step === 1233)).toEqual(metric(1233));
    expect(s!.metrics.at(-1)).toEqual(metric(1233));
    expect(l!.metricCount).toBe(3000);
    await expect(store.getRunOverviews([long, 'gone'])).rejects.toThrow('run gone: not found');
  });

  it('reads the last snapshot in memory too (no IndexedDB)', async () => {
    const store = await open(undefined as never);
    expect(store.persistent).toBe(false);
    const id = await newRun(store);
    for (const step of [3, 9, 6]) await store.appendSnapshot(id, snapshot(step));
    const [o] = await store.getRunOverviews([id]);
    expect(o!.finalSnapshot!.step).toBe(9);
    expect(o!.finalSnapshot!.betaNormal).toEqual(snapshot(9).betaNormal);
  });
});

describe('when storage fails', () => {
  async function exercise(store: RunStore) {
    const id = await newRun(store);
    await store.appendMetrics(id, [metric(1), metric(2)]);
    await store.appendSnapshot(id, snapshot(2));
    await store.setGenotype(id, genotypeFile());
    await store.saveCheckpoint(id, fakeCheckpoint(2));
    const run = await store.getRun(id);
    expect(run.metrics).toEqual([metric(1), metric(2)]);
    expect(run.snapshots[0]!.betaReduce).toEqual(snapshot(2).betaReduce);
    expect(plain(await store.loadCheckpoint(id))).toEqual(plain(fakeCheckpoint(2)));
    expect((await store.findResumable())?.id).toBe(id);
    const copy = await store.importRun(await store.exportRun(id, { includeCheckpoint: true }));
    expect((await store.getRun(copy)).metrics).toEqual(run.metrics);
    await store.deleteRun(copy);
    expect((await store.listRuns()).runs.map((r) => r.id)).toEqual([id]);
    return id;
  }

  it('goes on in memory when open() throws (e.g. a private window), with a clear message once', async () => {
    const onWarning = vi.fn();
    const refusing = {
      open() {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const store = await open(refusing as never, { onWarning });
    expect(store.persistent).toBe(false);
    expect(store.warning).toBe(
      'Runs are kept in memory only: this browser refused storage (SecurityError: The operation is insecure.). Export a run to keep it.',
    );
    await exercise(store);
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning).toHaveBeenCalledWith(store.warning);
  });

  it('goes on in memory when the open request fails, is blocked, or IndexedDB is missing', async () => {
    const failing = {
      open() {
        const req: Record<string, unknown> = { error: new DOMException('Quota exceeded', 'QuotaExceededError') };
        setTimeout(() => (req.onerror as (e: Event) => void)?.({ preventDefault() {} } as Event), 1);
        return req;
      },
    } as unknown as IDBFactory;
    const a = await open(failing);
    expect(a.persistent).toBe(false);
    expect(a.warning).toMatch(
      /^Runs are kept in memory only: this browser refused storage \(QuotaExceededError: Quota exceeded\)\. Export a run to keep it\.$/,
    );
    await exercise(a);

    const blocked = {
      open() {
        const req: Record<string, unknown> = {};
        setTimeout(() => (req.onblocked as () => void)?.(), 1);
        return req;
      },
    } as unknown as IDBFactory;
    const b = await open(blocked, { openTimeoutMs: 30 });
    expect(b.persistent).toBe(false);
    expect(b.warning).toMatch(/BlockedError: the run database is held open by another tab/);
    await exercise(b);

    const c = await open(null as never);
    expect(c.persistent).toBe(false);
    expect(c.warning).toMatch(/^Runs are kept in memory only: this browser has no IndexedDB/);
    await exercise(c);
  });

  it('moves to memory when a write fails mid-run (quota), keeping what was stored and saying so once', async () => {
    const onWarning = vi.fn();
    const factory = new IDBFactory();
    const store = await open(factory, { onWarning });
    const id = await newRun(store);
    await store.appendMetrics(id, [metric(1), metric(2)]);
    await store.appendSnapshot(id, snapshot(2));
    const finished = await newRun(store, 'finished earlier');
    await store.setStatus(finished, 'done');

    const realPut = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (this.name === 'checkpoints') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    await store.saveCheckpoint(id, fakeCheckpoint(2)); // does not reject
    expect(store.persistent).toBe(false);
    expect(store.warning).toMatch(
      /^Runs are kept in memory only from now on: this browser refused to store more \(QuotaExceededError: The quota has been exceeded\.\)/,
    );
    expect(plain(await store.loadCheckpoint(id))).toEqual(plain(fakeCheckpoint(2)));
    await store.appendMetrics(id, metric(3));
    await store.saveCheckpoint(id, fakeCheckpoint(3));
    const run = await store.getRun(id);
    expect(run.metrics).toEqual([metric(1), metric(2), metric(3)]);
    expect(run.snapshots.map((s) => s.step)).toEqual([2]);
    expect((await store.listRuns()).runs.map((r) => r.name).sort()).toEqual(['finished earlier', 'quick factorized']);
    expect(onWarning).toHaveBeenCalledTimes(1);

    // What was stored before the failure is still in IndexedDB for the next page load.
    vi.restoreAllMocks();
    const later = await open(factory);
    expect((await later.getRun(id)).metrics).toEqual([metric(1), metric(2)]);
  });

  it('a value that cannot be stored (DataCloneError) fails that write only: the store keeps storing', async () => {
    const onWarning = vi.fn();
    const factory = new IDBFactory();
    const store = await open(factory, { onWarning });
    const id = await newRun(store);
    const realPut = IDBObjectStore.prototype.put;
    let refuse = true;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (this.name === 'metrics' && refuse) {
        refuse = false;
        throw new DOMException('#<Object> could not be cloned.', 'DataCloneError');
      }
      return realPut.apply(this, args);
    });
    await expect(store.appendMetrics(id, metric(1))).rejects.toThrow('could not be cloned');
    await store.appendMetrics(id, metric(2));
    await store.saveCheckpoint(id, fakeCheckpoint(2));
    expect([store.persistent, store.warning]).toEqual([true, null]);
    expect(onWarning).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    const later = await open(factory);
    const run = await later.getRun(id);
    expect(run.metrics).toEqual([metric(2)]);
    expect(run.checkpointStep).toBe(2);
  });

  it('goes on when the database is closed under it (storage cleared), from what it has seen', async () => {
    const { forceCloseDatabase } = await import('fake-indexeddb');
    const factory = new IDBFactory();
    const store = await open(factory);
    const id = await newRun(store);
    await store.appendMetrics(id, metric(1));
    // Reach the connection the store holds: open a second one and force-close every connection.
    const db = await new Promise<IDBDatabase>((resolve) => {
      const req = factory.open(DEFAULT_DB_NAME);
      req.onsuccess = () => resolve(req.result);
    });
    const all = (db as unknown as { _rawDatabase: { connections: IDBDatabase[] } })._rawDatabase.connections;
    expect(all.length).toBe(2);
    for (const c of [...all]) forceCloseDatabase(c as never);
    await store.appendMetrics(id, metric(2));
    expect(store.persistent).toBe(false);
    expect(store.warning).toMatch(/^Runs are kept in memory only from now on/);
    const run = await store.getRun(id);
    expect(run.id).toBe(id);
    expect(run.metrics.map((m) => m.step)).toContain(2);
  });
});
