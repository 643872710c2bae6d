// The compiled step computes what the uncompiled step computes, bit for bit, on a WebGPU device
// that runs the work (SwiftShader here: `npm run test:gpu`): two searches from one seed, one
// replaying a recorded step, the other running the step's code every time.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../platform/node';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';
import { SearchEngine } from './engine';
import { makeConfig } from './space';

let gpuFailure: () => unknown = () => null;
beforeAll(async () => {
  gpuFailure = (await useBackend('webgpu')).failure;
});
afterAll(() => {
  const failure = gpuFailure() as { message?: string } | null;
  expect(failure?.message ?? null, 'WebGPU reported an error').toBeNull();
});

const SHAPE = { height: 8, width: 8, channels: 3, classes: 4 };
const STEPS = 4;

/** float32 bits, so that -0 and every rounding difference count. */
const bits = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

async function search(compiledStep: boolean) {
  const dataset = makeSyntheticDataset({ seed: 3, ...SHAPE, trainCount: 8, testCount: 4 });
  // RReLU in the mixed activation draws random windows every step: per-step values the replay computes again.
  const config = makeConfig({
    mode: 'factorized',
    channels: 2,
    layers: 3,
    batchSize: 2,
    maxSteps: STEPS,
    seed: 9,
    archLearningRate: 0.05,
    activationLearningRate: 0.05,
  });
  const engine = new SearchEngine(config, SHAPE, makeSearchStreams(dataset, { batchSize: 2, seed: 9 }), {
    compiledStep,
  });
  try {
    const losses: number[] = [];
    const states: (string | undefined)[] = [];
    while (!engine.done) {
      const p = await engine.runStep();
      losses.push(p.trainLoss, p.valLoss, p.valAccuracy);
      states.push(p.compiled?.state);
    }
    const weights: number[] = [];
    for (const v of engine.net.namedVariables()) weights.push(...bits((await v.variable.data()) as Float32Array));
    return { losses: bits(losses), weights, states };
  } finally {
    engine.dispose();
  }
}

describe('the compiled step on a WebGPU device', () => {
  it('gives bit for bit the losses, α, β and weights of the uncompiled step (factorized, 4 steps)', async () => {
    const plain = await search(false);
    const compiled = await search(true);
    expect(plain.states).toEqual(['uncompiled', 'uncompiled', 'uncompiled', 'uncompiled']);
    expect(compiled.states).toEqual([undefined, 'compiled', 'compiled', 'compiled']);
    expect(compiled.losses).toEqual(plain.losses);
    expect(compiled.weights.length).toBe(plain.weights.length);
    const first = compiled.weights.findIndex((b, i) => b !== plain.weights[i]);
    expect(first, 'the first variable word that differs').toBe(-1);
    // The two runs did move: a step that changed nothing would also agree.
    expect(new Set(plain.losses.filter((_, i) => i % 3 === 0)).size).toBe(STEPS);
    expect(tf.getBackend()).toBe('webgpu');
  }, 600_000);
});
