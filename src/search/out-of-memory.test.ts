// A search whose backend runs out of memory stops at once with an OutOfMemoryError that says so
// and names what to lower, instead of computing on (tfjs-backend-wasm takes a failed malloc's
// null pointer for an address) and crashing later. The allocation failure is forced by a wasm
// malloc that refuses large requests, as a full heap does.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutOfMemoryError, SearchEngine, isOutOfMemory } from './engine';
import { makeConfig } from './space';
import { AllocationFailed, installAllocationCheck, installSafeAddN, installSharedIdentity } from '../kernels/safety';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';

const SHAPE = { height: 8, width: 8, channels: 3, classes: 4 };
/** Requests of at least this many bytes fail, as they would once the heap is full (Infinity: none). */
let refuseFrom = Infinity;

beforeAll(async () => {
  await tf.setBackend('wasm');
  installSafeAddN('wasm');
  installSharedIdentity('wasm');
  const wasm = (
    tf.backend() as unknown as { wasm: { _malloc(bytes: number): number; asm: { malloc(bytes: number): number } } }
  ).wasm;
  const malloc = wasm.asm.malloc;
  // What emscripten's malloc does when the heap cannot grow: it returns 0.
  wasm._malloc = (bytes: number) => (bytes >= refuseFrom ? 0 : malloc(bytes));
  installAllocationCheck('wasm');
});

function engine(recompute: boolean): SearchEngine {
  const dataset = makeSyntheticDataset({ seed: 1, ...SHAPE, trainCount: 32, testCount: 4 });
  const config = makeConfig({ mode: 'factorized', channels: 4, layers: 3, batchSize: 8, maxSteps: 10, seed: 1 });
  return new SearchEngine(config, SHAPE, makeSearchStreams(dataset, { batchSize: 8, seed: 1 }), { recompute });
}

describe('out of memory', () => {
  it('a failed wasm allocation ends the step at once with a message naming what to lower', async () => {
    const e = engine(false);
    try {
      await e.runStep();
      const tensors = tf.memory().numTensors;
      // The stem's output (8 images of 8·8·12 floats) no longer fits.
      refuseFrom = 16 * 1024;
      const started = performance.now();
      const failure = await e.runStep().then(
        () => null,
        (error: unknown) => error,
      );
      refuseFrom = Infinity;
      expect(failure).toBeInstanceOf(OutOfMemoryError);
      const oom = failure as OutOfMemoryError;
      expect(oom.code).toBe('out-of-memory');
      expect(performance.now() - started).toBeLessThan(5000);
      expect(oom.message).toMatch(/^The search ran out of memory: a step needs about \d+ (kB|MB) /);
      // Recomputation is off: turning it on is the first thing to try.
      expect(oom.message).toMatch(/Turn "Recompute cells" on .*or lower the batch size/);
      expect(oom.detail).toMatch(/AllocationFailed: wasm could not allocate \d+ bytes/);
      expect(oom.check.recompute).toBe(false);
      // The heap stayed sound: the step's tensors were freed, and the next step runs.
      expect(tf.memory().numTensors).toBe(tensors);
      expect(Number.isFinite((await e.runStep()).trainLoss)).toBe(true);
    } finally {
      refuseFrom = Infinity;
      e.dispose();
    }
  }, 60_000);

  it('the backend errors that mean memory ran out, and others that do not', () => {
    expect(isOutOfMemory(new AllocationFailed(1 << 30, 'wasm'))).toBe(true);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('memory access out of bounds'))).toBe(true);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('Aborted(OOM)'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(new Error('Error in gradient for op Conv2D: shapes differ'))).toBe(false);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('unreachable'))).toBe(false);
  });
});
