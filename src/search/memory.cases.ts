// A search step leaks no tensors and no GPU memory on webgpu: the check shared by the Node tests
// on a real adapter (memory.gpu.test.ts: SwiftShader here) and on Dawn's null adapter
// (memory.null.test.ts: every dispatch recorded and validated, none run).
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { SearchEngine, type EngineOptions } from './engine';
import { makeConfig, type SearchMode } from './space';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';

/** What tf.memory() says on webgpu: tensors, and the buffers in use and in the backend's pool. */
export function memory() {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  return {
    numTensors: m.numTensors,
    numDataBuffers: m.numDataBuffers,
    numBytes: m.numBytes,
    numBytesInGPU: m.numBytesInGPU ?? -1,
    numBytesAllocatedInGPU: m.numBytesAllocatedInGPU ?? -1,
  };
}

const SIZE = 8;

/**
 * Runs totalSteps search steps (at least 3) of the smallest supernet with every op (C=2, 3 cells so 2 are
 * reduction cells, batch 2, 8x8x3 images) and checks that tensors and GPU bytes stay what they
 * were after the first step. `logEvery`: print every n-th step's memory; `options`: how the engine
 * computes (cells recomputed, say).
 */
export async function expectNoGrowth(
  mode: SearchMode,
  totalSteps: number,
  logEvery = 1,
  options: Partial<EngineOptions> = {},
): Promise<void> {
  const dataset = makeSyntheticDataset({
    seed: 1,
    height: SIZE,
    width: SIZE,
    channels: 3,
    classes: 4,
    trainCount: 4,
    testCount: 4,
  });
  // The real tri-level step from step 1 (no warm-up epochs): ω by SGD, then α and β by Adam.
  const config = makeConfig({
    mode,
    channels: 2,
    layers: 3,
    batchSize: 2,
    maxSteps: totalSteps,
    warmupEpochs: 0,
    seed: 3,
  });
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  const engine = new SearchEngine(config, { height: SIZE, width: SIZE, channels: 3, classes: 4 }, streams, options);
  expect(engine.stepsPerEpoch).toBe(1);
  const started = performance.now();
  // Warm-up: the first step compiles the shaders; on webgpu the second is recorded (the compiled
  // step: kernels/compiled-step.ts), and its record then holds the scratch buffers and, outside
  // tfjs's count, the new homes of α, β and Adam's moments. From then on nothing may grow.
  await engine.runStep();
  if ((await engine.runStep()).compiled?.state === 'compiled') expect(engine.compiledBytes).toBeGreaterThan(0);
  const warm = memory();
  const recordBytes = engine.compiledBytes;
  // The packed SGD buffers (webgpu) are outside tfjs's count: made once, on the first update.
  const packedBytes = engine.optimizer.weightOptimizer.packedBytes;
  let poolAfterFirstChecked = -1;
  while (!engine.done) {
    const p = await engine.runStep();
    const now = memory();
    if (poolAfterFirstChecked < 0) poolAfterFirstChecked = now.numBytesAllocatedInGPU;
    if (p.step % logEvery === 0)
      console.log(
        `${mode} step ${p.step} (epoch ${p.epoch}): ${p.stepMilliseconds.toFixed(0)} ms (CPU side ${p.recordMilliseconds.toFixed(0)} ms), ${JSON.stringify(now)}`,
      );
    expect(p.recordMilliseconds).toBeGreaterThan(0);
    expect(p.recordMilliseconds).toBeLessThanOrEqual(p.stepMilliseconds);
    expect(now.numTensors, `tensors leaked by step ${p.step}`).toBe(warm.numTensors);
    expect(now.numDataBuffers, `data buffers leaked by step ${p.step}`).toBe(warm.numDataBuffers);
    expect(now.numBytes, `bytes leaked by step ${p.step}`).toBe(warm.numBytes);
    expect(now.numBytesInGPU, `GPU bytes in use grew by step ${p.step}`).toBe(warm.numBytesInGPU);
    expect(engine.optimizer.weightOptimizer.packedBytes, `packed SGD buffers grew by step ${p.step}`).toBe(packedBytes);
    expect(engine.compiledBytes, `the compiled step's buffers changed by step ${p.step}`).toBe(recordBytes);
    // The backend's pool (buffers in use or free for reuse) no longer grows.
    expect(now.numBytesAllocatedInGPU, `GPU buffer pool grew by step ${p.step}`).toBe(poolAfterFirstChecked);
  }
  console.log(
    `${mode}: ${engine.step} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; after the warm-up step ${JSON.stringify(warm)}`,
  );
  expect(warm.numBytesInGPU, 'the webgpu backend reports GPU bytes').toBeGreaterThan(0);
  const weights = engine.optimizer.weightVars.reduce((n, v) => n + v.size, 0);
  expect(packedBytes, 'ω and its momentum packed: 8 bytes a weight').toBe(8 * weights);
  engine.dispose();
}
