// Property tests of the run store (fast-check, seeded; FC_SEED explores other cases): the best
// validation accuracy of a run stays exact however its history is thinned and truncated.
import fc from 'fast-check';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUICK_CONFIG } from '../search/space';
import type { SearchCheckpoint } from '../search/engine';
import { openRunStore, type MetricRow, type RunStore } from './store';

const SEED = Number(process.env.FC_SEED ?? 20261128);

let store: RunStore;
const maxMetrics = 6;
beforeAll(async () => {
  store = await openRunStore({ indexedDB: new IDBFactory(), maxMetrics });
});
afterAll(async () => {
  await store.close();
});

/** The best row up to `step` (the first of equals; NaN never best), from the whole history. */
function bestUpTo(rows: MetricRow[], step: number): [number | null, number | null] {
  let best: MetricRow | null = null;
  for (const m of rows)
    if (m.step <= step && !Number.isNaN(m.valAccuracy) && (!best || m.valAccuracy > best.valAccuracy)) best = m;
  return [best?.valAccuracy ?? null, best?.step ?? null];
}

const checkpointAt = (step: number): SearchCheckpoint => ({
  format: 'factorized-nas-checkpoint',
  version: 2,
  config: QUICK_CONFIG,
  input: { height: 1, width: 1, channels: 1, classes: 2 },
  step,
  seconds: 0,
  rng: [1, 2, 3, 4],
  data: { train: {}, val: {} },
  variables: [],
  optimizers: { weights: { step: 0, slots: {} }, alpha: { step: 0, slots: {} }, beta: null },
});

describe('the best validation accuracy', () => {
  it('stays exact when the history is thinned and a resume truncates it at its checkpoint', async () => {
    // Accuracies as a search measures them (k of a batch of 8), or any float, with a NaN now and then.
    const accuracy = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 0, max: 8 }).map((k) => k / 8) },
      { weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.constant(NaN) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          accuracies: fc.array(accuracy, { minLength: 1, maxLength: 40 }),
          batch: fc.integer({ min: 1, max: 5 }),
          // After which batches a checkpoint is taken (as a search does, after its step's metrics).
          checkpoints: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        }),
        async ({ accuracies, batch, checkpoints }) => {
          const id = await store.createRun({ name: 'best', config: QUICK_CONFIG, dataset: { name: 'd', source: 's' } });
          const rows: MetricRow[] = accuracies.map((valAccuracy, i) => ({
            step: i + 1,
            epoch: 0,
            trainLoss: 1,
            valLoss: 1,
            valAccuracy,
            imagesPerSecond: 1,
            seconds: i,
          }));
          let checkpoint = 0;
          for (let i = 0, b = 0; i < rows.length; i += batch, b++) {
            const list = rows.slice(i, i + batch);
            void store.appendMetrics(id, list); // as the search does: not awaited
            if (checkpoints[b]) {
              checkpoint = list[list.length - 1]!.step;
              await store.saveCheckpoint(id, checkpointAt(checkpoint));
            }
          }
          await store.flush();
          const all = await store.getRun(id);
          expect(all.metrics.length, 'the history was thinned').toBeLessThanOrEqual(maxMetrics);
          expect([all.bestValAccuracy, all.bestStep]).toEqual(bestUpTo(rows, Infinity));
          // A resume from the stored checkpoint drops the steps after it.
          await store.truncateAfter(id, checkpoint);
          const cut = await store.getRun(id);
          expect([cut.bestValAccuracy, cut.bestStep]).toEqual(bestUpTo(rows, checkpoint));
          await store.deleteRun(id);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  }, 120_000);
});
