// The page's side of the worker, with a stand-in Worker: what the user is shown when the worker
// hangs, crashes or reports a failed write, and what the page asks a fresh worker to do.
import { runSummaryFixture } from '../runs/summary-fixture';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FromWorker, ToWorker } from '../worker/protocol';
import type { RunSummary } from '../runs/store';
import { QUICK_CONFIG } from '../search/space';

class FakeWorker {
  static all: FakeWorker[] = [];
  sent: ToWorker[] = [];
  terminated = false;
  onmessage: ((e: { data: FromWorker }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  constructor() {
    FakeWorker.all.push(this);
  }
  postMessage(m: ToWorker) {
    this.sent.push(m);
  }
  terminate() {
    this.terminated = true;
  }
  receive(m: FromWorker) {
    this.onmessage!({ data: m });
  }
  types() {
    return this.sent.map((m) => m.type);
  }
}

type Controller = typeof import('./controller');
type Lab = typeof import('./lab');
let c: Controller;
let lab: Lab;

beforeEach(async () => {
  vi.resetModules();
  FakeWorker.all = [];
  vi.stubGlobal('Worker', FakeWorker);
  c = await import('./controller');
  lab = await import('./lab');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const state = () => lab.useLab.getState();

/** A search started and running in the (fake) worker, at `step`. */
async function running(step = 7): Promise<FakeWorker> {
  await c.startSearch();
  const w = FakeWorker.all[0]!;
  w.receive({ type: 'ready', backend: 'wasm', requested: 'wasm', adapterInfo: null });
  w.receive({ type: 'runStarted', runId: 'run-1', step: 0 });
  w.receive({
    type: 'progress',
    epoch: 0,
    step,
    stepsTotal: 300,
    stepsPerEpoch: 100,
    epochsTotal: 3,
    learningRate: 0.05,
    imagesPerSecond: 10,
    stepMilliseconds: 100,
    recordMilliseconds: 100,
    compiled: null,
    seconds: 1,
    trainLoss: 2,
    valLoss: 2,
    valAccuracy: 0.1,
  });
  w.receive({ type: 'checkpointSaved', step: 5, durable: true });
  return w;
}

describe('Stop always works', () => {
  it('a step that has not ended 10 s after Stop: the worker is replaced and the run marked interrupted', async () => {
    vi.useFakeTimers();
    const w = await running();
    c.stopSearch();
    expect(w.sent.at(-1)).toEqual({ type: 'stop' });
    expect(state().phase).toBe('stopping');
    vi.advanceTimersByTime(9_900);
    expect([w.terminated, state().phase]).toEqual([false, 'stopping']);
    vi.advanceTimersByTime(200);
    expect(w.terminated).toBe(true);
    expect(state().phase).toBe('error');
    expect(state().error).toEqual({
      code: 'worker-crash',
      message:
        'Stopped: the search did not stop within 10 s (its step hung), so its worker was stopped. The run is kept as interrupted at its last saved checkpoint: resume it (above), or start a new search.',
      recoverable: true,
    });
    expect(state().checkpointStep, 'the checkpoint the worker held went with it').toBeNull();
    // A fresh worker marks the run interrupted, then the page asks what can be resumed.
    const fresh = FakeWorker.all[1]!;
    expect(fresh.sent.slice(0, 3)).toEqual([
      {
        type: 'interruptRun',
        runId: 'run-1',
        reason: 'Interrupted at step 7: the search did not stop within 10 s (its step hung), so its worker was stopped',
      },
      { type: 'findResumable' },
      { type: 'listRuns' },
    ]);
    fresh.receive({
      type: 'resumable',
      run: {
        id: 'run-1',
        name: 'r',
        step: 5,
        config: QUICK_CONFIG,
        datasetKey: 'builtin',
        datasetName: 'f',
        backend: 'wasm',
      },
    });
    expect(state().resumable?.step).toBe(5);
  });

  it('a step that ends in time: the run ends as usual and the worker stays', async () => {
    vi.useFakeTimers();
    const w = await running();
    c.stopSearch();
    vi.advanceTimersByTime(3_000);
    w.receive({ type: 'checkpointSaved', step: 8, durable: true });
    w.receive({ type: 'done', reason: 'stopped', step: 8, seconds: 2 });
    vi.advanceTimersByTime(60_000);
    expect([w.terminated, FakeWorker.all.length, state().phase, state().error]).toEqual([false, 1, 'done', null]);
  });

  it('a crashed worker: its run is marked interrupted by a fresh one and offered to resume', async () => {
    const w = await running(12);
    w.onerror!({ message: 'out of memory', preventDefault() {} });
    expect(w.terminated).toBe(true);
    expect(state().phase).toBe('error');
    expect(state().error?.message).toMatch(/^The search worker crashed \(out of memory\)/);
    expect(FakeWorker.all[1]!.sent[0]).toEqual({
      type: 'interruptRun',
      runId: 'run-1',
      reason: 'Interrupted at step 12: the search worker crashed',
    });
    expect(FakeWorker.all[1]!.types()).toContain('findResumable');
  });
});

describe('Stop always works for a re-training too', () => {
  it('a re-training step still running 10 s after Stop: the worker is replaced and the run marked interrupted', async () => {
    vi.useFakeTimers();
    await c.startTraining('{"g": 1}', 'found.json');
    const w = FakeWorker.all[0]!;
    w.receive({
      type: 'trainingStarted',
      runId: 'train-1',
      backend: 'wasm',
      preset: 'quick',
      allRelu: false,
      source: 'found.json',
      datasetName: 'd',
      config: {} as never,
      stepsTotal: 10,
      stepsPerEpoch: 5,
      epochsTotal: 2,
      params: 1,
      auxiliaryParams: 0,
      auxiliary: false,
      cutout: false,
      darts: '',
    });
    c.stopTraining();
    vi.advanceTimersByTime(10_100);
    expect(w.terminated).toBe(true);
    expect(state().training?.phase).toBe('error');
    expect(state().error?.message).toMatch(/^Stopped: the re-training did not stop within 10 s/);
    expect(FakeWorker.all[1]!.sent[0]).toEqual({
      type: 'interruptRun',
      runId: 'train-1',
      reason:
        'Interrupted at step 0: the re-training did not stop within 10 s (its step hung), so its worker was stopped',
    });
  });
});

describe('what a stored run offers', () => {
  const summary = (over: Partial<RunSummary>): RunSummary =>
    runSummaryFixture('a', {
      name: 'a run',
      dataset: { name: 'fashion', source: 'built-in', key: 'builtin' },
      status: 'interrupted',
      message:
        'Interrupted at step 9 (the page was closed or reloaded, or its worker stopped); resume it from its checkpoint at step 8.',
      steps: 9,
      seconds: 3,
      stepsTotal: 300,
      checkpointStep: 8,
      checkpointAt: '2026-01-01T00:00:00.000Z',
      metricCount: 9,
      ...over,
    });

  it('resume from its checkpoint when it was interrupted, failed or stopped; not when live, done or without one', () => {
    expect(c.resumableOf(summary({}))).toMatchObject({ id: 'a', step: 8, datasetKey: 'builtin' });
    for (const status of ['failed', 'stopped'] as const) expect(c.resumableOf(summary({ status }))?.step).toBe(8);
    for (const status of ['running', 'paused', 'done'] as const) expect(c.resumableOf(summary({ status }))).toBeNull();
    expect(c.resumableOf(summary({ checkpointStep: null }))).toBeNull();
    expect(c.resumableOf(summary({ kind: 'train', config: null }))).toBeNull();
  });

  it('an opened interrupted run says so and offers to resume, instead of "Search done: stopped at step 0"', async () => {
    const { statusText } = await import('../ui/RunControls');
    c.openStoredRun('a');
    const worker = FakeWorker.all.at(-1)!;
    worker.receive({
      type: 'runRecord',
      record: { ...summary({}), metrics: [], trainMetrics: [], snapshots: [], problems: [] },
    });
    expect(state().resumable).toMatchObject({ id: 'a', step: 8 });
    expect(statusText(state())).toBe(
      'Stored run, interrupted at step 9: Interrupted at step 9 (the page was closed or reloaded, or its worker stopped); resume it from its checkpoint at step 8.',
    );
  });
});

describe('failed writes reach the user', () => {
  it('a re-training’s problems go to the Re-training region, a search’s under the run status', async () => {
    await c.startTraining('{"genotype": "a"}', 'found.json');
    const w = FakeWorker.all[0]!;
    expect(w.types()).toContain('startTraining');
    w.receive({ type: 'storageProblem', runId: null, message: 'This re-training could not be stored (no space)' });
    expect(state().training?.problems).toEqual(['This re-training could not be stored (no space)']);
    expect(state().storageProblems).toEqual([]);
    w.receive({
      type: 'trainingDone',
      reason: 'finished',
      step: 6,
      seconds: 1,
      testAccuracy: 0.5,
      testLoss: Infinity,
      testCount: 16,
    });
    w.receive({ type: 'storageProblem', runId: null, message: 'Could not mark interrupted runs' });
    expect(state().storageProblems).toEqual(['Could not mark interrupted runs']);
  });
});

describe('delete says what it deleted and can be undone', () => {
  it('shows the worker’s account with an undo, which asks the worker to put the run back', () => {
    c.deleteStoredRun('run-9');
    const w = FakeWorker.all[0]!;
    expect(w.sent.at(-1)).toEqual({ type: 'deleteRun', runId: 'run-9' });
    const message =
      'Deleted ‘a run’ (a search of 12 steps, interrupted) with 12 rows of history, 3 α/β snapshots and its checkpoint (step 10).';
    w.receive({ type: 'runDeleted', runId: 'run-9', message });
    expect(state().runsMessage).toEqual({ kind: 'info', text: message, undo: 'run-9' });
    c.undoDeleteRun('run-9');
    expect(w.sent.at(-1)).toEqual({ type: 'undoDelete', runId: 'run-9' });
    w.receive({ type: 'runRestored', runId: 'run-9', message: 'Put back ‘a run’' });
    expect(state().runsMessage).toEqual({ kind: 'info', text: 'Put back ‘a run’' });
    expect(w.sent.at(-1), 'and looks again for a run to resume').toEqual({ type: 'findResumable' });
  });
});
