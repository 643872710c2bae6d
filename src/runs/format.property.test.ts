// Property tests of the run format (fast-check, seeded): every state the engine can produce —
// random-stream words of any sign, any float bits in the weights, extreme and non-finite
// measurements, every mode and option — is stored and read back unchanged, through IndexedDB and
// through an exported run file. Real engine states: checkpoint.test.ts. Set FC_SEED to explore
// other cases; a failure prints the seed and path that reproduce it.
import fc from 'fast-check';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchCheckpoint } from '../search/engine';
import type { OptimizerState } from '../search/optimizer';
import { DARTS_V2, toGenotypeFile } from '../search/genotype';
import { ACTIVATIONS, EDGES, NODES, OPS, SEARCH_MODES, type SearchConfig } from '../search/space';
import { QUICK_TRAIN_CONFIG } from '../retrain/train-config';
import { decodeRunFile, formatJson, RUN_STATUSES, type RunRecord, type RunStatus } from './format';
import { openRunStore, type RunStore } from './store';

const SEED = Number(process.env.FC_SEED ?? 20261128);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

/** A comparable form in which every number keeps its identity (NaN, -0, ±Infinity) and every
 * typed array its exact bytes (NaN payloads included). */
function exact(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (ArrayBuffer.isView(v))
    return { [v.constructor.name]: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  if (Array.isArray(v)) return v.map(exact);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, exact(x)]));
  return v;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Any double: NaN, ±Infinity, -0, subnormals and the extremes included. */
const anyNumber = fc.double();
/** A finite number ≥ 0 (-0 included), as large as a double goes. */
const nonNegative = fc.double({ min: -0, max: Number.MAX_VALUE, noNaN: true });
/** A random-stream word as any tool may store it: signed or unsigned 32-bit. */
const word = fc.integer({ min: -0x80000000, max: 0xffffffff });
const words = fc.array(word, { minLength: 4, maxLength: 4 });
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const betaRows = fc.array(
  fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 9, maxLength: 9 }),
  {
    minLength: EDGES,
    maxLength: EDGES,
  },
);

/** A search config the search accepts: every mode and option, numbers at their limits. */
const config: fc.Arbitrary<SearchConfig> = fc
  .record({
    mode: fc.constantFrom(...SEARCH_MODES),
    activation: fc.constantFrom(...ACTIVATIONS),
    fixedBeta: fc.option(fc.record({ betaNormal: betaRows, betaReduce: betaRows }), { nil: null }),
    // partialChannels divides channels (or is 1 = off).
    k: fc.integer({ min: 1, max: 16 }),
    m: fc.integer({ min: 1, max: 64 }),
    layers: fc.integer({ min: 3, max: 1000 }),
    stemMultiplier: fc.integer({ min: 1, max: 1000 }),
    order: fc.constantFrom(1 as const, 2 as const),
    archUpdate: fc.constantFrom('sequential' as const, 'joint' as const),
    batchSize: fc.integer({ min: 1, max: 2 ** 31 }),
    epochs: count,
    maxSteps: count,
    trainPortion: fc.double({ min: Number.MIN_VALUE, max: 1, maxExcluded: true, noNaN: true }),
    learningRate: nonNegative,
    learningRateMin: nonNegative,
    momentum: nonNegative,
    weightDecay: nonNegative,
    gradClip: nonNegative,
    archLearningRate: nonNegative,
    archWeightDecay: nonNegative,
    archBeta1: fc.double({ min: -0, max: 1, maxExcluded: true, noNaN: true }),
    archBeta2: fc.double({ min: -0, max: 1, maxExcluded: true, noNaN: true }),
    activationLearningRate: nonNegative,
    activationWeightDecay: nonNegative,
    warmupEpochs: count,
    seed: count,
  })
  .map(({ k, m, ...c }) => ({ ...c, channels: k * m, partialChannels: k, nodes: NODES }));

/** A tensor entry whose values are any float32 bit patterns. */
const tensor = fc
  .record({
    name: fc.string({ maxLength: 40 }),
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc
      .uint8Array({ minLength: n * 4, maxLength: n * 4 })
      .map((bytes) => ({ name, shape, values: new Float32Array(bytes.buffer) }));
  });

const optimizerState = (slotNames: string[]): fc.Arbitrary<OptimizerState> =>
  fc.record({
    step: count,
    slots: fc.record(Object.fromEntries(slotNames.map((s) => [s, fc.array(tensor, { maxLength: 3 })]))),
  });

const streamState = fc.record({
  order: words,
  augment: words,
  epoch: count,
  position: count,
  count,
  batchSize: fc.integer({ min: 1, max: 2 ** 31 }),
});

const checkpoint: fc.Arbitrary<SearchCheckpoint> = fc.record({
  format: fc.constant('factorized-nas-checkpoint' as const),
  version: fc.constantFrom(1 as const, 2 as const),
  config,
  input: fc.record({ height: count, width: count, channels: count, classes: count }),
  step: count,
  seconds: anyNumber,
  rng: words,
  data: fc.record({ train: streamState, val: streamState }),
  variables: fc.array(tensor, { maxLength: 6 }),
  optimizers: fc.record({
    weights: optimizerState(['momentum']),
    alpha: optimizerState(['m', 'v']),
    beta: fc.option(optimizerState(['m', 'v']), { nil: null }),
  }),
});

/** Steps in increasing order, each once. */
const steps = (max: number) =>
  fc.uniqueArray(fc.nat({ max: 100_000 }), { maxLength: max }).map((s) => s.sort((a, b) => a - b));

const searchRows = steps(12).chain((list) =>
  fc.tuple(
    ...list.map((step) =>
      fc.record({
        step: fc.constant(step),
        epoch: count,
        trainLoss: anyNumber,
        valLoss: anyNumber,
        valAccuracy: anyNumber,
        imagesPerSecond: anyNumber,
        seconds: anyNumber,
      }),
    ),
  ),
);

const trainRows = steps(12).chain((list) =>
  fc.tuple(
    ...list.map((step) =>
      fc.record({
        step: fc.constant(step),
        epoch: count,
        trainLoss: anyNumber,
        trainAccuracy: anyNumber,
        learningRate: anyNumber,
        imagesPerSecond: anyNumber,
        seconds: anyNumber,
      }),
    ),
  ),
);

/** α/β as stored: float32 values (any, NaN and ±Infinity included), 14 rows each. */
const f32rows = (cols: number) =>
  fc.array(fc.array(fc.float(), { minLength: cols, maxLength: cols }), { minLength: EDGES, maxLength: EDGES });
const snapshots = steps(4).chain((list) =>
  fc.tuple(
    ...list.map((step) =>
      fc
        .record({
          epoch: fc.option(count, { nil: null }),
          kind: fc.constantFrom('raw' as const, 'softmax' as const),
          wide: fc.boolean(),
          beta: fc.boolean(),
          edges: fc.boolean(),
        })
        .chain(({ wide, beta, edges, ...rest }) =>
          fc.record({
            step: fc.constant(step),
            epoch: fc.constant(rest.epoch),
            kind: fc.constant(rest.kind),
            alphaNormal: f32rows(wide ? 40 : OPS.length),
            alphaReduce: f32rows(wide ? 40 : OPS.length),
            betaNormal: beta ? f32rows(ACTIVATIONS.length) : fc.constant(null),
            betaReduce: beta ? f32rows(ACTIVATIONS.length) : fc.constant(null),
            edgeNormal: edges ? fc.array(fc.float(), { minLength: EDGES, maxLength: EDGES }) : fc.constant(null),
            edgeReduce: edges ? fc.array(fc.float(), { minLength: EDGES, maxLength: EDGES }) : fc.constant(null),
          }),
        ),
    ),
  ),
);

const evaluations = steps(4).chain((list) =>
  fc.tuple(
    ...list.map((step) =>
      fc.record({
        step: fc.constant(step),
        epoch: count,
        testLoss: anyNumber,
        testAccuracy: fc.double({ min: -0, max: 1, noNaN: true }),
        testCount: count,
      }),
    ),
  ),
);

const status = fc.constantFrom(...RUN_STATUSES);
const message = fc.option(fc.string({ maxLength: 30 }), { nil: null });

// ---------------------------------------------------------------------------------------------

let store: RunStore;
beforeAll(async () => {
  store = await openRunStore({ indexedDB: new IDBFactory() });
});
afterAll(async () => {
  await store.close();
});

const DATASET = { name: 'synthetic', source: 'synthetic:seed=1', classes: 4, trainCount: 96 };

/** What a run file read back says for a run stored with this status (nothing runs it there). */
function importedStatus(s: RunStatus, hasCheckpoint: boolean): RunStatus {
  if (s === 'running' || s === 'paused' || s === 'interrupted') return hasCheckpoint ? 'interrupted' : 'stopped';
  return s;
}

/** A run record without what an import changes (id, times, counts of a fresh store). */
function portable(r: RunRecord) {
  const { id: _id, updatedAt: _u, checkpointAt: _c, status: _s, ...rest } = r;
  void [_id, _u, _c, _s];
  return exact(rest);
}

describe('the run format accepts every state the engine can produce', () => {
  it('a checkpoint stores and loads unchanged, in IndexedDB and through a run file', async () => {
    await fc.assert(
      fc.asyncProperty(checkpoint, async (cp) => {
        const id = await store.createRun({ name: 'cp', config: cp.config, dataset: DATASET });
        await store.saveCheckpoint(id, cp);
        // Words are read back unsigned: a word and its signed form are the same stream.
        const expected = exact({ ...cp, rng: cp.rng.map((w) => w >>> 0) });
        expect(exact(await store.loadCheckpoint(id))).toEqual(expected);
        const file = decodeRunFile(await store.exportRun(id, { includeCheckpoint: true }), new Date().toISOString());
        expect(exact(file.checkpoint)).toEqual(expected);
        await store.deleteRun(id);
      }),
      params(60),
    );
  }, 120_000);

  it('a search run exports and imports unchanged: history, snapshots, genotype, status, checkpoint', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          config,
          metrics: searchRows,
          snapshots,
          status,
          message,
          genotype: fc.boolean(),
          checkpoint: fc.option(checkpoint, { nil: null }),
        }),
        async (r) => {
          const id = await store.createRun({ name: 'search', config: r.config, dataset: DATASET, stepsTotal: 7 });
          await store.appendMetrics(id, r.metrics);
          for (const s of r.snapshots) await store.appendSnapshot(id, s);
          if (r.genotype) await store.setGenotype(id, toGenotypeFile(DARTS_V2));
          if (r.checkpoint) await store.saveCheckpoint(id, { ...r.checkpoint, config: r.config });
          await store.setStatus(id, r.status, r.message);
          const before = await store.getRun(id);
          expect(before.metrics.map(exact), 'every row stored, non-finite ones too').toEqual(r.metrics.map(exact));
          const copy = await store.importRun(await store.exportRun(id, { includeCheckpoint: true }));
          const after = await store.getRun(copy);
          expect(portable(after)).toEqual(portable(before));
          expect(after.status).toBe(importedStatus(before.status, r.checkpoint !== null));
          expect(exact(await store.loadCheckpoint(copy))).toEqual(exact(await store.loadCheckpoint(id)));
          await store.deleteRun(id);
          await store.deleteRun(copy);
        },
      ),
      params(60),
    );
  }, 120_000);

  it('a re-training run exports and imports unchanged, its non-finite losses included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: trainRows,
          evaluations,
          status,
          testLoss: fc.option(anyNumber, { nil: null }),
          testAccuracy: fc.option(fc.double({ min: -0, max: 1, noNaN: true }), { nil: null }),
        }),
        async (r) => {
          const id = await store.createRun({
            name: 'train',
            kind: 'train',
            config: null,
            mode: 'darts',
            training: {
              preset: 'quick',
              allRelu: false,
              config: { ...QUICK_TRAIN_CONFIG },
              source: 'x.json',
              auxiliary: false,
              cutout: false,
              params: 1,
              auxiliaryParams: 0,
              evaluations: [],
              testAccuracy: null,
              testLoss: null,
              testCount: null,
            },
            dataset: DATASET,
          });
          await store.appendTrainMetrics(id, r.rows);
          for (const e of r.evaluations) await store.addEvaluation(id, e);
          await store.updateTraining(id, { testLoss: r.testLoss, testAccuracy: r.testAccuracy });
          await store.setStatus(id, r.status);
          const before = await store.getRun(id);
          expect(before.trainMetrics.map(exact)).toEqual(r.rows.map(exact));
          expect(exact(before.training!.evaluations)).toEqual(exact(r.evaluations));
          const copy = await store.importRun(await store.exportRun(id));
          const after = await store.getRun(copy);
          expect(portable(after)).toEqual(portable(before));
          await store.deleteRun(id);
          await store.deleteRun(copy);
        },
      ),
      params(60),
    );
  }, 120_000);

  it('a run file is plain JSON: non-finite numbers are strings, -0 the literal -0', () => {
    fc.assert(
      fc.property(fc.array(anyNumber, { maxLength: 20 }), (values) => {
        const text = formatJson({ values });
        const parsed = JSON.parse(text) as { values: unknown[] };
        expect(parsed.values.map((v) => (typeof v === 'string' ? v : Object.is(v, -0) ? '-0' : typeof v))).toEqual(
          values.map((v) =>
            Number.isNaN(v)
              ? 'NaN'
              : v === Infinity
                ? 'Infinity'
                : v === -Infinity
                  ? '-Infinity'
                  : Object.is(v, -0)
                    ? '-0'
                    : 'number',
          ),
        );
        expect(exact(parsed.values.map((v) => (typeof v === 'string' ? Number(v) : v)))).toEqual(exact(values));
      }),
      params(300),
    );
  });
});
