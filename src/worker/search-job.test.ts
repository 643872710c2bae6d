// The worker's search adapter with a stand-in host (Node, cpu backend, fake IndexedDB): what it
// tells the page about its stored run. A checkpoint is "saved" only once its write completed, a
// failed write is reported and retried, Stop keeps the last step, and no failed write is silent.
import * as tf from '@tensorflow/tfjs';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSyntheticDataset } from '../data/index';
import { makeConfig, type SearchConfig } from '../search/space';
import { openRunStore, type RunStore } from '../runs/store';
import type { FromWorker, StartMessage } from './protocol';
import { SearchJob, type SearchHost } from './search-job';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dataset = makeSyntheticDataset({
  seed: 1,
  height: 8,
  width: 8,
  channels: 1,
  classes: 3,
  trainCount: 48,
  testCount: 8,
});

function host(store: RunStore, onPost: (m: FromWorker, messages: FromWorker[]) => void = () => {}) {
  const messages: FromWorker[] = [];
  const h: SearchHost = {
    post: (m) => {
      messages.push(m);
      onPost(m, messages);
    },
    dataset: async () => dataset,
    backend: async (requested) => ({ backend: 'cpu', requested, adapterInfo: null }),
    store: async () => store,
    watchDevice: () => {},
  };
  return { h, messages };
}

function start(config: Partial<SearchConfig>, checkpointEverySteps = 1): StartMessage {
  return {
    type: 'start',
    config: makeConfig({ channels: 2, layers: 3, batchSize: 4, maxSteps: 3, seed: 5, ...config }),
    dataset: { kind: 'synthetic', seed: 1, size: 8, channels: 1, classes: 3 },
    backend: 'cpu',
    checkpointEverySteps,
  };
}

const of = <T extends FromWorker['type']>(list: FromWorker[], type: T) =>
  list.filter((m): m is Extract<FromWorker, { type: T }> => m.type === type);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('SearchJob and its stored run', () => {
  it('reports a checkpoint saved only after its write completed', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    // Hold every checkpoint write until the test lets it through.
    const pending: (() => void)[] = [];
    const save = store.saveCheckpoint.bind(store);
    store.saveCheckpoint = (id, cp) =>
      new Promise<void>((resolve, reject) => pending.push(() => save(id, cp).then(resolve, reject)));
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    const running = job.run(start({ maxSteps: 2 }));
    // A new run is resumable from its start: a checkpoint of step 0 before the first step.
    await expect.poll(() => pending.length, { timeout: 60_000 }).toBe(1);
    expect(of(messages, 'progress'), 'the first step waits for it').toEqual([]);
    pending.shift()!();
    await expect.poll(() => of(messages, 'checkpointSaved').length, { timeout: 60_000 }).toBe(1);
    await expect.poll(() => pending.length, { timeout: 60_000 }).toBe(1);
    expect(of(messages, 'checkpointSaved').length, 'nothing is reported while the write is in flight').toBe(1);
    expect(
      of(messages, 'progress').map((m) => m.step),
      'and the search waits for it',
    ).toEqual([1]);
    pending.shift()!();
    await expect.poll(() => of(messages, 'checkpointSaved').length, { timeout: 60_000 }).toBe(2);
    expect(of(messages, 'checkpointSaved')[1]).toEqual({ type: 'checkpointSaved', step: 1, durable: true });
    expect((await store.loadCheckpoint(job.runId!))!.step, 'the store holds it when the page is told').toBe(1);
    await expect.poll(() => pending.length, { timeout: 60_000 }).toBe(1);
    pending.shift()!();
    await running;
    expect(of(messages, 'checkpointSaved').map((m) => m.step)).toEqual([0, 1, 2]);
    expect(of(messages, 'done')).toHaveLength(1);
  });

  it('reports a failed checkpoint write at once, goes on, and stores the next checkpoint', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const save = store.saveCheckpoint.bind(store);
    let calls = 0;
    // The second checkpoint (step 1; step 0's is the first) is refused.
    store.saveCheckpoint = (id, cp) =>
      ++calls === 2 ? Promise.reject(new Error('QuotaExceededError: the disk is full')) : save(id, cp);
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    await job.run(start({ maxSteps: 3 }));
    const [failed] = of(messages, 'checkpointFailed');
    expect(failed).toMatchObject({ step: 1 });
    expect(failed!.message).toBe(
      'Checkpoint at step 1 could not be stored: QuotaExceededError: the disk is full. The search goes on and tries again at the next checkpoint.',
    );
    expect(
      of(messages, 'checkpointSaved').map((m) => m.step),
      'steps 0, 2 and 3 stored',
    ).toEqual([0, 2, 3]);
    expect(of(messages, 'error')).toEqual([]);
    expect((await store.loadCheckpoint(job.runId!))!.step).toBe(3);
    expect((await store.getRun(job.runId!)).status).toBe('done');
  });

  it('Stop ends the run at the end of its step and keeps a checkpoint of that step', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const running: { job?: SearchJob } = {};
    // Time-based checkpoints only (none within the test): Stop after the second step is reported.
    const { h, messages } = host(store, (m) => {
      if (m.type === 'progress' && m.step === 2) running.job!.stop();
    });
    const job = (running.job = new SearchJob(h, null));
    await job.run(start({ maxSteps: 10 }, 0));
    const [done] = of(messages, 'done');
    expect(done).toMatchObject({ reason: 'stopped', step: 2 });
    expect(of(messages, 'checkpointSaved').map((m) => m.step)).toEqual([0, 2]);
    expect(messages.indexOf(of(messages, 'checkpointSaved')[1]!)).toBeLessThan(messages.indexOf(done!));
    const run = await store.getRun(job.runId!);
    expect([run.status, run.checkpointStep]).toEqual(['stopped', 2]);
    expect(job.held?.checkpoint.step, '"Continue from checkpoint" continues from there').toBe(2);
  });

  it('tells the page, once per kind, when a write to the stored run fails; the search goes on', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    store.appendMetrics = () => Promise.reject(new Error('the metrics store is gone'));
    store.setStatus = () => Promise.reject(new Error('read-only'));
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    await job.run(start({ maxSteps: 3 }));
    expect(of(messages, 'progress').map((m) => m.step)).toEqual([1, 2, 3]);
    expect(of(messages, 'storageProblem').map((m) => m.message)).toEqual([
      "Could not store the step's metrics: the metrics store is gone.",
      'Could not mark the run done: read-only.',
    ]);
    expect(of(messages, 'storageProblem').every((m) => m.runId === job.runId)).toBe(true);
  });

  it('says so when the run cannot be stored at all, and still searches', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    store.createRun = () => Promise.reject(new Error('no space'));
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    await job.run(start({ maxSteps: 1 }));
    expect(of(messages, 'storageProblem').map((m) => m.message)).toEqual([
      'This run could not be stored (no space): it runs, but a reload will lose it. Export its genotype before closing the tab.',
    ]);
    expect(of(messages, 'checkpointFailed')[0]?.message).toMatch(
      /^Checkpoint at step 1 could not be stored: the run has no stored record/,
    );
    expect(of(messages, 'checkpointSaved'), 'no step-0 checkpoint without a stored run').toEqual([]);
    expect(of(messages, 'done')).toHaveLength(1);
  });

  it('stores every step when a coarse timer reads 0 ms (infinite images/s), and reports nothing wrong', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    vi.spyOn(performance, 'now').mockReturnValue(1000);
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    await job.run(start({ maxSteps: 3 }));
    expect(of(messages, 'progress').map((m) => m.imagesPerSecond)).toEqual([Infinity, Infinity, Infinity]);
    expect(of(messages, 'storageProblem')).toEqual([]);
    const run = await store.getRun(job.runId!);
    expect(run.metrics.map((m) => [m.step, m.imagesPerSecond])).toEqual([
      [1, Infinity],
      [2, Infinity],
      [3, Infinity],
    ]);
    expect(run.status).toBe('done');
  });

  it('settings that cannot run on this data set are refused before a run is stored, with a remedy that works', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    // 48 training images at Train portion 0.5: 24 a part, so a batch of 32 does not fit.
    const big = host(store);
    await new SearchJob(big.h, null).run(start({ batchSize: 32 }));
    const [tooBig] = of(big.messages, 'error');
    expect(tooBig).toMatchObject({ code: 'bad-config', recoverable: true });
    expect(tooBig!.message).toMatch(/batch size 32 is larger than the 24 images/);
    expect(tooBig!.message).toMatch(/lower Batch size \(or move Train portion toward 0\.5\) and start again\.$/);
    expect(tooBig!.message).not.toMatch(/backend/);
    const nothing = host(store);
    await new SearchJob(nothing.h, null).run(start({ epochs: 0, maxSteps: 0 }));
    expect(of(nothing.messages, 'error')[0]).toMatchObject({
      code: 'bad-config',
      message:
        'Epochs and Stop after steps are both 0, so there is nothing to search: set Epochs to at least 1 (or Stop after steps) and start again.',
    });
    expect(of(nothing.messages, 'done'), 'no empty "done" run').toEqual([]);
    expect((await store.listRuns()).runs).toEqual([]);
  });
  it('scores the held-out images at epoch ends and the run end, the same number everywhere, leaving the search unchanged', async () => {
    const searched = async (heldOutImages: number, heldOutEveryEpochs: number, seed: number) => {
      const store = await openRunStore({ indexedDB: new IDBFactory() });
      const { h, messages } = host(store);
      const job = new SearchJob(h, null);
      // 24 training images, batch 4: an epoch is 6 steps.
      await job.run({ ...start({ maxSteps: 7, seed }, 0), heldOutImages, heldOutEveryEpochs });
      return { messages, run: await store.getRun(job.runId!) };
    };
    const plain = await searched(0, 0, 5);
    const scored = await searched(100, 1, 5);
    const held = of(scored.messages, 'heldOut').map(({ type: _t, ...e }) => e);
    // At the end of epoch 1 (step 6) and of the run (step 7), on all 8 test images (100 asked).
    expect(held.map((e) => [e.step, e.epoch, e.testCount])).toEqual([
      [6, 1, 8],
      [7, 1, 8],
    ]);
    expect(of(scored.messages, 'storageProblem')).toEqual([]);
    for (const e of held) expect(e.testAccuracy * 8).toBe(Math.round(e.testAccuracy * 8));
    expect(scored.run.heldOut).toEqual(held);
    const metrics = JSON.parse(of(scored.messages, 'genotype').at(-1)!.json).run.metrics;
    expect([metrics.valAccuracy, metrics.valImages, metrics.valStep]).toEqual([held[1]!.testAccuracy, 8, 7]);
    expect(of(plain.messages, 'heldOut')).toEqual([]);
    expect(JSON.parse(of(plain.messages, 'genotype').at(-1)!.json).run.metrics.valAccuracy).toBeNull();
    // Scoring draws nothing from the search's random streams: every step's numbers are the same.
    const losses = (m: FromWorker[]) => of(m, 'progress').map((p) => [p.trainLoss, p.valLoss, p.valAccuracy]);
    expect(losses(scored.messages)).toEqual(losses(plain.messages));
    expect(scored.run.metrics.map((m) => m.learningRate)).toEqual(
      of(scored.messages, 'progress').map((p) => p.learningRate),
    );
    // Every 2 epochs (another seed): not after epoch 1, only at the run's end, on the 5 asked for.
    const sparse = await searched(5, 2, 11);
    expect(of(sparse.messages, 'heldOut').map((e) => [e.step, e.testCount])).toEqual([[7, 5]]);
  }, 240_000);
  it('refuses a step the memory budget cannot hold before storing anything, naming what to lower', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const { h, messages } = host(store);
    const job = new SearchJob(h, null);
    // The stand-in host runs on cpu, whose limit is the budget: 1 MB holds no step of this network.
    await job.run({ ...start({ maxSteps: 2 }), memoryBudget: 1e6 });
    const [error] = of(messages, 'error');
    expect(error?.code).toBe('out-of-memory');
    expect(error?.message).toMatch(
      /^A step needs about [\d.]+ (MB|kB) on cpu.*more than the memory budget \(1 MB\)\. /,
    );
    expect(of(messages, 'progress')).toEqual([]);
    expect((await store.listRuns()).runs).toEqual([]);
  });
});
