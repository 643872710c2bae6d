// The worker's re-training adapter with a stand-in host (Node, cpu backend, fake IndexedDB): the
// messages it posts, the run it stores, stop, and the NaN error path.
import * as tf from '@tensorflow/tfjs';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSyntheticDataset } from '../data/index';
import { DARTS_V2, stringifyGenotypeFile, toGenotypeFile } from '../search/genotype';
import { openRunStore, type RunStore } from '../runs/store';
import type { FromWorker, StartTrainingMessage } from './protocol';
import { TrainingJob, type TrainingHost } from './training-job';
import { GenotypeTrainer } from '../retrain/train';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dataset = makeSyntheticDataset({
  seed: 1,
  height: 8,
  width: 8,
  channels: 1,
  classes: 3,
  trainCount: 64,
  testCount: 24,
});

function host(store: RunStore) {
  const messages: FromWorker[] = [];
  const h: TrainingHost = {
    post: (m) => messages.push(m),
    dataset: async () => dataset,
    backend: async (requested) => ({ backend: 'cpu', requested, adapterInfo: null }),
    store: async () => store,
  };
  return { h, messages };
}

const SELU_V2 = toGenotypeFile(
  { ...DARTS_V2, normal: DARTS_V2.normal.map((e) => (e.activation ? { ...e, activation: 'selu' as const } : e)) },
  { run: { mode: 'factorized' } },
);

function message(over: Partial<StartTrainingMessage> = {}): StartTrainingMessage {
  return {
    type: 'startTraining',
    genotype: stringifyGenotypeFile(SELU_V2),
    source: 'selu.json',
    dataset: { kind: 'synthetic', seed: 1, size: 8, channels: 1, classes: 3 },
    backend: 'cpu',
    preset: 'quick',
    allRelu: false,
    config: { channels: 4, layers: 3, batchSize: 8, maxSteps: 6, seed: 1 },
    evalEvery: 3,
    testImages: 16,
    ...over,
  };
}

const of = <T extends FromWorker['type']>(list: FromWorker[], type: T) =>
  list.filter((m): m is Extract<FromWorker, { type: T }> => m.type === type);

describe('TrainingJob', () => {
  it('trains, scores the test images on schedule, and stores the run with the final test accuracy', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const { h, messages } = host(store);
    const job = new TrainingJob(h);
    await job.run(message({ allRelu: true }));
    expect(of(messages, 'error')).toEqual([]);
    const [started] = of(messages, 'trainingStarted');
    expect(started).toMatchObject({
      backend: 'cpu',
      preset: 'quick',
      allRelu: true,
      stepsTotal: 6,
      auxiliary: false,
      cutout: false,
    });
    expect(started!.config).toMatchObject({
      channels: 4,
      layers: 3,
      batchSize: 8,
      maxSteps: 6,
      learningRate: 0.025,
      weightDecay: 3e-4,
    });
    expect(started!.darts).not.toMatch(/selu/);
    expect(of(messages, 'trainingProgress').map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    const evaluations = of(messages, 'trainingEvaluation');
    expect(evaluations.map((e) => [e.step, e.testCount])).toEqual([
      [3, 16],
      [6, 16],
    ]);
    const [done] = of(messages, 'trainingDone');
    expect(done).toMatchObject({ reason: 'finished', step: 6, testCount: 16 });
    expect(done!.testAccuracy).toBe(evaluations[1]!.testAccuracy);
    expect(done!.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(done!.testAccuracy).toBeLessThanOrEqual(1);

    const run = await store.getRun(job.runId!);
    expect(run).toMatchObject({
      kind: 'train',
      status: 'done',
      steps: 6,
      config: null,
      mode: 'factorized',
      backend: 'cpu',
    });
    expect(run.training).toMatchObject({
      allRelu: true,
      source: 'selu.json',
      testAccuracy: done!.testAccuracy,
      testCount: 16,
    });
    expect(run.training!.evaluations).toEqual(evaluations.map(({ type: _t, ...e }) => e));
    expect(run.trainMetrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // Stored as trained: every conv op on relu, and no β that would say otherwise.
    expect(
      [...run.genotype!.normal, ...run.genotype!.reduce].every((e) => e.activation === null || e.activation === 'relu'),
    ).toBe(true);
    expect(run.genotype!.weights).toBeUndefined();
    await store.close();
  });

  it('stops when asked (keeping the last scoring), pauses and resumes; a NaN loss fails with a clear message', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const a = host(store);
    const stopped = new TrainingJob({
      ...a.h,
      post: (m) => (a.messages.push(m), m.type === 'trainingEvaluation' && stopped.stop()),
    });
    await stopped.run(
      message({ config: { channels: 4, layers: 3, batchSize: 8, maxSteps: 40, seed: 1 }, evalEvery: 2 }),
    );
    const [done] = of(a.messages, 'trainingDone');
    expect(done).toMatchObject({ reason: 'stopped', step: 2 });
    expect(done!.testAccuracy).toBe(of(a.messages, 'trainingEvaluation')[0]!.testAccuracy);
    const stoppedRun = await store.getRun(stopped.runId!);
    expect(stoppedRun.status).toBe('stopped');
    expect(stoppedRun.training!.testAccuracy).toBeNull(); // only a finished run has a final score

    // Pause after the first step, resume when paused: it goes on to the end.
    const p = host(store);
    const paused = new TrainingJob({
      ...p.h,
      post: (m) => {
        p.messages.push(m);
        if (m.type === 'trainingProgress' && m.step === 1) paused.pause();
        if (m.type === 'trainingPaused') setTimeout(() => paused.resume(), 10);
      },
    });
    await paused.run(message({ evalEvery: 0 }));
    expect(p.messages.filter((m) => m.type === 'trainingPaused' || m.type === 'trainingResumed')).toEqual([
      { type: 'trainingPaused', step: 1 },
      { type: 'trainingResumed', step: 1 },
    ]);
    expect(of(p.messages, 'trainingDone')[0]).toMatchObject({ reason: 'finished', step: 6 });
    expect((await store.getRun(paused.runId!)).status).toBe('done');

    const b = host(store);
    const diverging = new TrainingJob({
      ...b.h,
      post: (m) => (b.messages.push(m), m.type === 'trainingProgress' && diverging.injectNaN()),
    });
    await diverging.run(message());
    const [error] = of(b.messages, 'error');
    expect(error).toMatchObject({ code: 'nan-loss', job: 'training', recoverable: true });
    expect(error!.message).toMatch(/training loss became NaN at step 2.*learning rate/);
    expect(of(b.messages, 'trainingDone')).toEqual([]);
    expect((await store.getRun(diverging.runId!)).status).toBe('failed');

    const c = host(store);
    await new TrainingJob(c.h).run(message({ genotype: '{"format": "factorized-nas-genotype"}' }));
    expect(of(c.messages, 'error')[0]).toMatchObject({ code: 'bad-config', job: 'training' });
    expect(of(c.messages, 'error')[0]!.message).toMatch(/^The genotype cannot be read: .*genotype\.version/);
    await store.close();
  });

  describe('every failed write reaches the user, and the stored status stays true', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('a run that cannot be stored at all is reported, and the re-training still finishes', async () => {
      const store = await openRunStore({ indexedDB: new IDBFactory() });
      store.createRun = () => Promise.reject(new Error('QuotaExceededError: no space'));
      const { h, messages } = host(store);
      await new TrainingJob(h).run(message());
      expect(of(messages, 'storageProblem')).toEqual([
        {
          type: 'storageProblem',
          runId: null,
          message:
            'This re-training could not be stored (QuotaExceededError: no space): it runs, but its curves and test accuracy will not be in the Runs list. Note the result before closing the tab.',
        },
      ]);
      expect(of(messages, 'trainingDone')[0]).toMatchObject({ reason: 'finished', step: 6 });
      await store.close();
    });

    it('a result that cannot be stored is reported, and the run is still marked done', async () => {
      const store = await openRunStore({ indexedDB: new IDBFactory() });
      const update = store.updateTraining.bind(store);
      // The parameter counts go in as it starts; the final score is refused.
      store.updateTraining = (id, result) =>
        'testAccuracy' in result ? Promise.reject(new Error('DataCloneError: refused')) : update(id, result);
      const { h, messages } = host(store);
      const job = new TrainingJob(h);
      await job.run(message());
      expect(of(messages, 'storageProblem').map((m) => [m.runId, m.message])).toEqual([
        [job.runId, 'Could not store the test accuracy: DataCloneError: refused.'],
      ]);
      const run = await store.getRun(job.runId!);
      expect(run.status).toBe('done');
      // A reload does not relabel it interrupted: it is over.
      expect(await store.markInterrupted()).toEqual([]);
      expect((await store.getRun(job.runId!)).status).toBe('done');
      await store.close();
    });

    it('a test loss that is not finite is stored as it is, with the accuracy and the status', async () => {
      const store = await openRunStore({ indexedDB: new IDBFactory() });
      const evaluate = GenotypeTrainer.prototype.evaluate;
      vi.spyOn(GenotypeTrainer.prototype, 'evaluate').mockImplementation(async function (
        this: GenotypeTrainer,
        batches,
      ) {
        const r = await evaluate.call(this, batches);
        return { ...r, loss: this.step === 6 ? Infinity : NaN };
      });
      const { h, messages } = host(store);
      const job = new TrainingJob(h);
      await job.run(message());
      expect(of(messages, 'storageProblem')).toEqual([]);
      const [done] = of(messages, 'trainingDone');
      expect(done).toMatchObject({ reason: 'finished', testLoss: Infinity });
      const run = await store.getRun(job.runId!);
      expect(run.status).toBe('done');
      expect(run.training!.evaluations.map((e) => e.testLoss)).toEqual([NaN, Infinity]);
      expect([run.training!.testLoss, run.training!.testAccuracy]).toEqual([Infinity, done!.testAccuracy]);
      expect(done!.testAccuracy).toBeGreaterThanOrEqual(0);
      await store.close();
    });
  });
});
