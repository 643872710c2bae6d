// The search as a user runs it: learning, determinism, resuming, every mode, and failures.
// Runs on the wasm backend (the fastest CPU backend; its convs use the portable formulation).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SearchEngine, SearchError, type EngineOptions, type SearchCheckpoint } from './engine';
import { EDGE_LIST, makeConfig, type SearchConfig } from './space';
import { installSafeAddN } from '../kernels/safety';
import { makeSearchStreams, makeSyntheticDataset, type Dataset } from '../data/index';
import { validateGenotype } from './genotype';

let dataset: Dataset;

beforeAll(async () => {
  await tf.setBackend('wasm');
  installSafeAddN('wasm');
  dataset = makeSyntheticDataset({
    seed: 5,
    height: 8,
    width: 8,
    channels: 3,
    classes: 4,
    trainCount: 640,
    testCount: 64,
  });
});

const input = () => ({
  height: dataset.height,
  width: dataset.width,
  channels: dataset.channels,
  classes: dataset.classNames.length,
});

function engineFor(overrides: Partial<SearchConfig>, options: Partial<EngineOptions> = {}): SearchEngine {
  const config = makeConfig({ channels: 4, layers: 3, batchSize: 16, maxSteps: 1000, seed: 3, ...overrides });
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  return new SearchEngine(config, input(), streams, options);
}

/** Runs `steps` steps with finite losses, and checks that no step after the first holds more tensors. */
async function expectStepsHoldNoMoreTensors(engine: SearchEngine, steps: number): Promise<void> {
  let tensorsAfterFirstStep = -1;
  for (let i = 0; i < steps; i++) {
    const p = await engine.runStep();
    expect(Number.isFinite(p.trainLoss) && Number.isFinite(p.valLoss)).toBe(true);
    // On a CPU backend the kernels run as they are recorded: the synchronous part is the step
    // but for the losses' readback.
    expect(p.recordMilliseconds).toBeGreaterThan(0.5 * p.stepMilliseconds);
    expect(p.recordMilliseconds).toBeLessThanOrEqual(p.stepMilliseconds);
    if (i === 0) tensorsAfterFirstStep = tf.memory().numTensors;
  }
  expect(tf.memory().numTensors, 'tensors leaked by a step').toBe(tensorsAfterFirstStep);
}

describe('reproducibility and resuming', () => {
  it('the same seed gives the same α/β trajectory exactly; another seed does not', async () => {
    const run = async (seed: number) => {
      const engine = engineFor({ mode: 'factorized', seed, archLearningRate: 0.01 });
      for (let i = 0; i < 3; i++) await engine.runStep();
      const w = await engine.archWeights();
      engine.dispose();
      return [...w.alphaNormal.flat(), ...w.betaReduce!.flat()];
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  }, 300_000);

  it('a run restored from a checkpoint continues exactly as one that never stopped', async () => {
    const uninterrupted = engineFor({ mode: 'factorized', archLearningRate: 0.01 });
    for (let i = 0; i < 2; i++) await uninterrupted.runStep();
    const checkpoint = await uninterrupted.checkpoint();
    for (let i = 0; i < 2; i++) await uninterrupted.runStep();
    const expected = await uninterrupted.archWeights();
    uninterrupted.dispose();

    const tensorsBefore = tf.memory().numTensors;
    const resumed = engineFor({ mode: 'factorized', archLearningRate: 0.01 });
    resumed.restore(structuredClone(checkpoint));
    expect(resumed.step).toBe(2);
    for (let i = 0; i < 2; i++) await resumed.runStep();
    const got = await resumed.archWeights();
    resumed.dispose();
    expect(tf.memory().numTensors, 'tensors left by a restored run once disposed').toBe(tensorsBefore);
    expect(got.alphaNormal).toEqual(expected.alphaNormal);
    expect(got.betaNormal).toEqual(expected.betaNormal);
  }, 300_000);

  it('a checkpoint of version 1 (weights per edge) resumes exactly, its weights and their momentum regrouped per state', async () => {
    const uninterrupted = engineFor({ mode: 'factorized', archLearningRate: 0.01 });
    for (let i = 0; i < 2; i++) await uninterrupted.runStep();
    const checkpoint = await uninterrupted.checkpoint();
    expect(checkpoint.version).toBe(2);
    for (let i = 0; i < 2; i++) await uninterrupted.runStep();
    const expected = await uninterrupted.archWeights();
    uninterrupted.dispose();

    const version1 = toVersion1(checkpoint);
    expect(version1.variables.some((v) => v.name === 'cells.0.edges.9.sep_conv_5x5.dw2')).toBe(true);
    expect(version1.variables.length).toBeGreaterThan(checkpoint.variables.length);
    const resumed = engineFor({ mode: 'factorized', archLearningRate: 0.01 });
    resumed.restore(version1);
    const regrouped = await resumed.checkpoint();
    expect(regrouped.variables.map((v) => [v.name, Array.from(v.values)])).toEqual(
      checkpoint.variables.map((v) => [v.name, Array.from(v.values)]),
    );
    for (let i = 0; i < 2; i++) await resumed.runStep();
    const got = await resumed.archWeights();
    resumed.dispose();
    expect(got.alphaNormal).toEqual(expected.alphaNormal);
    expect(got.betaNormal).toEqual(expected.betaNormal);
  }, 300_000);

  it('a checkpoint of another network is refused with a message', async () => {
    const a = engineFor({ mode: 'factorized' });
    const cp = await a.checkpoint();
    a.dispose();
    const b = engineFor({ mode: 'darts' });
    expect(() => b.restore(cp)).toThrow(/checkpoint: .*variables/);
    b.dispose();
  });
});

describe('every mode runs and learns its architecture weights', () => {
  const cases: [string, Partial<SearchConfig>][] = [
    ['darts with a fixed PReLU', { mode: 'darts', activation: 'prelu' }],
    ['nonfactorized (40 ops)', { mode: 'nonfactorized' }],
    ['fixed-beta', { mode: 'fixed-beta' }],
    ['factorized + partial channels K=2', { mode: 'factorized', partialChannels: 2 }],
    ['factorized, second order', { mode: 'factorized', order: 2 }],
    ['factorized, sequential α then β', { mode: 'factorized', archUpdate: 'sequential' }],
  ];
  for (const [name, overrides] of cases) {
    it(
      name,
      async () => {
        const engine = engineFor({ ...overrides, archLearningRate: 0.01, activationLearningRate: 0.01 });
        const start = await engine.archWeights();
        await expectStepsHoldNoMoreTensors(engine, 2);
        const end = await engine.archWeights();
        expect(end.alphaNormal).not.toEqual(start.alphaNormal);
        expect(end.alphaNormal[0].length).toBe(overrides.mode === 'nonfactorized' ? 40 : 8);
        if (overrides.mode === 'factorized') expect(end.betaNormal).not.toEqual(start.betaNormal);
        if (overrides.partialChannels) expect(end.edgeNormal).not.toEqual(start.edgeNormal);
        const genotype = await engine.genotype();
        validateGenotype(genotype);
        if (overrides.mode === 'darts')
          for (const e of genotype.normal) expect(e.activation === null || e.activation === 'prelu').toBe(true);
        engine.dispose();
      },
      300_000,
    );
  }
});

describe("webgl's formulation (tfjs's own ops, no fused kernels, native convs)", () => {
  // webgl has no fused kernels: its step runs the composite batch norm, mixed activation, edge
  // sum and SGD, and tfjs's own conv and pool kernels. Those paths must not leak either (a leak
  // there grows webgl's memory per step). cpu runs the same formulation.
  for (const mode of ['factorized', 'darts'] as const) {
    it(`${mode}: steps learn and hold no more tensors after the first`, async () => {
      await tf.setBackend('cpu');
      installSafeAddN('cpu');
      const engine = engineFor({ mode, archLearningRate: 0.01, batchSize: 4 }, { fused: false });
      try {
        const start = await engine.archWeights();
        await expectStepsHoldNoMoreTensors(engine, 3);
        expect((await engine.archWeights()).alphaNormal).not.toEqual(start.alphaNormal);
      } finally {
        engine.dispose();
        await tf.setBackend('wasm');
      }
    }, 300_000);
  }
});

describe('failures the user sees', () => {
  it('a NaN loss stops the step with a message saying what happened and what to do', async () => {
    const engine = engineFor({ mode: 'factorized' });
    await engine.runStep();
    engine.injectNaN = true;
    const error = await engine.runStep().catch((e) => e);
    expect(error).toBeInstanceOf(SearchError);
    expect(error.code).toBe('nan-loss');
    expect(error.message).toMatch(/loss became NaN at step 2.*Resume from the last checkpoint/);
    expect(engine.step).toBe(1);
    engine.dispose();
  }, 120_000);

  it('a bad config names the field', () => {
    expect(() => engineFor({ channels: 0 })).toThrow('config.channels: must be a positive integer, got 0');
    expect(() => engineFor({ partialChannels: 3 })).toThrow(/config.partialChannels: channels \(4\) must be divisible/);
    expect(() => engineFor({ mode: 'dart' as never })).toThrow(/config.mode: must be one of factorized, darts/);
  });
});

/**
 * A checkpoint as version 1 saved it: each edge's conv weights and activation parameters on their
 * own (cells.i.edges.e.…), in the weights' momentum too (named by tfjs variable, with a number).
 */
function toVersion1(cp: SearchCheckpoint): SearchCheckpoint {
  const split = (e: { name: string; shape: number[]; values: Float32Array }) => {
    const m = /^(cells\.\d+)\.from(\d+)\.(.+)$/.exec(e.name);
    if (!m) return [e];
    const [, cell, from, part] = m;
    const edges = EDGE_LIST.filter((x) => x.from === Number(from));
    const k = edges.length;
    const named = (index: number) => `${cell}.edges.${index}.${part}`;
    if (part === 'prelu' || part === 'swish') {
      const n = e.values.length / k;
      return edges.map((edge, j) => ({
        name: named(edge.index),
        shape: part === 'swish' ? [] : [n],
        values: e.values.slice(j * n, (j + 1) * n),
      }));
    }
    if (/pw\d$/.test(part)) {
      const [, cin, cout] = e.shape;
      return edges.map((edge, j) => ({
        name: named(edge.index),
        shape: [cin, cout],
        values: e.values.slice(j * cin * cout, (j + 1) * cin * cout),
      }));
    }
    const [kh, kw, channels] = e.shape;
    const c = channels / k;
    return edges.map((edge, j) => {
      const values = new Float32Array(kh * kw * c);
      for (let t = 0; t < kh * kw; t++)
        values.set(e.values.subarray(t * channels + j * c, t * channels + (j + 1) * c), t * c);
      return { name: named(edge.index), shape: [kh, kw, c, 1], values };
    });
  };
  const slots = Object.fromEntries(
    Object.entries(cp.optimizers.weights.slots).map(([slot, entries]) => [
      slot,
      entries.flatMap((e) =>
        split({ ...e, name: e.name.replace(/_\d+$/, '') }).map((x) => ({ ...x, name: `${x.name}_7` })),
      ),
    ]),
  );
  return {
    ...cp,
    version: 1,
    variables: cp.variables.flatMap(split),
    optimizers: { ...cp.optimizers, weights: { ...cp.optimizers.weights, slots } },
  };
}
