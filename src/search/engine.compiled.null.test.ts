// The compiled step (kernels/compiled-step.ts) on Dawn's null adapter, which validates every
// command and runs none: values are meaningless, but what a step issues is exact. A replayed
// step k must issue exactly what a freshly recorded step k issues — the same pipelines, buffers
// (named by what they hold), uniform bytes, per-step values and inputs, workgroup counts — in
// every mode, over steps that cross epoch boundaries (the learning rate moves there).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNullWebGpu } from '../platform/node';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';
import { SearchEngine, type EngineOptions } from './engine';
import { ACTIVATIONS, EDGES, makeConfig, type SearchConfig } from './space';
import type { StepDescription } from '../kernels/compiled-step';

let gpuFailure: () => unknown = () => null;
beforeAll(async () => {
  gpuFailure = (await useNullWebGpu()).failure;
});
afterAll(() => {
  const failure = gpuFailure() as { message?: string } | null;
  expect(failure?.message ?? null, 'Dawn reported an error').toBeNull();
});

const SHAPE = { height: 8, width: 8, channels: 3, classes: 4 };
// 16 training images, half of them for ω: batches of 2 give 4 steps an epoch.
const dataset = makeSyntheticDataset({ seed: 2, ...SHAPE, trainCount: 16, testCount: 4 });
// COMPILED_CHECK_STEPS=40 (say) checks longer runs; the suite runs 22 steps (5 epoch boundaries),
// non-factorized 10 (2 boundaries: its 40 ops an edge make an uncompiled step ten times slower).
const STEPS = Number(process.env.COMPILED_CHECK_STEPS ?? 22);
const HEAVY_STEPS = process.env.COMPILED_CHECK_STEPS ? STEPS : 10;

function engineFor(overrides: Partial<SearchConfig>, options: Partial<EngineOptions>): SearchEngine {
  const config = makeConfig({ channels: 2, layers: 3, batchSize: 2, epochs: 6, seed: 5, ...overrides });
  const streams = makeSearchStreams(dataset, { batchSize: 2, seed: config.seed, trainPortion: config.trainPortion });
  return new SearchEngine(config, SHAPE, streams, options);
}

/** The first difference between two step descriptions, or null. */
function firstDifference(a: StepDescription, b: StepDescription): string | null {
  if (a.dispatches.length !== b.dispatches.length)
    return `${a.dispatches.length} dispatches, fresh ${b.dispatches.length}`;
  for (const [i, d] of a.dispatches.entries()) {
    const f = b.dispatches[i]!;
    if (d.shaderKey !== f.shaderKey)
      return `dispatch ${i}: pipeline ${d.shaderKey.slice(0, 60)} vs ${f.shaderKey.slice(0, 60)}`;
    if (d.workgroups.join() !== f.workgroups.join())
      return `dispatch ${i} (${d.shaderKey.slice(0, 40)}): workgroups ${d.workgroups} vs ${f.workgroups}`;
    if (d.uniform !== f.uniform) return `dispatch ${i} (${d.shaderKey.slice(0, 40)}): uniforms differ`;
    if (d.buffers.join() !== f.buffers.join())
      return `dispatch ${i} (${d.shaderKey.slice(0, 40)}): buffers ${d.buffers} vs ${f.buffers}`;
  }
  if (a.events.length !== b.events.length) return `${a.events.length} per-step values, fresh ${b.events.length}`;
  for (const [i, e] of a.events.entries())
    if (e !== b.events[i]) return `per-step value ${i}: ${e.slice(0, 80)} vs ${b.events[i]!.slice(0, 80)}`;
  if (a.moved.join() !== b.moved.join()) return `moved variables ${a.moved} vs ${b.moved}`;
  return null;
}

/**
 * Runs a compiled engine and an uncompiled one of the same config and seed side by side, and at
 * each of `at` compares what the compiled one replayed with what the other issued, recorded fresh.
 */
async function compareReplays(
  overrides: Partial<SearchConfig>,
  at: number[],
  tamper?: (engine: SearchEngine) => void,
  steps = STEPS,
) {
  const compiled = engineFor(overrides, { compiledStep: true });
  const fresh = engineFor(overrides, { compiledStep: false });
  tamper?.(compiled);
  const differences: string[] = [];
  let replays = 0;
  try {
    for (let k = 0; k < steps; k++) {
      const check = at.includes(k);
      if (check) {
        compiled.describeNextStep();
        fresh.describeNextStep();
      }
      const p = await compiled.runStep();
      await fresh.runStep();
      if (p.compiled?.state === 'compiled' && k >= 2) replays++;
      if (!check) continue;
      expect(p.compiled?.state, `step ${k} replayed (${p.compiled?.reason})`).toBe('compiled');
      const difference = firstDifference(compiled.lastStepDescription!, fresh.lastStepDescription!);
      if (difference) differences.push(`step ${k} (epoch ${p.epoch}): ${difference}`);
    }
  } finally {
    compiled.dispose();
    fresh.dispose();
  }
  return { differences, replays };
}

const fixedBeta = (seed: number) =>
  Array.from({ length: EDGES }, (_, e) => ACTIVATIONS.map((_, a) => Math.sin(seed + 3 * e + a)));

const MODES: [string, Partial<SearchConfig>, number?][] = [
  ['factorized', { mode: 'factorized' }],
  ['darts, selu', { mode: 'darts', activation: 'selu' }],
  ['darts, rrelu (random slopes)', { mode: 'darts', activation: 'rrelu' }],
  ['nonfactorized', { mode: 'nonfactorized' }, HEAVY_STEPS],
  [
    'fixed-beta (non-uniform β)',
    { mode: 'fixed-beta', fixedBeta: { betaNormal: fixedBeta(1), betaReduce: fixedBeta(2) } },
  ],
  ['factorized, partial channels K=2', { mode: 'factorized', partialChannels: 2 }],
  ['factorized, second order', { mode: 'factorized', order: 2 }],
  ['factorized, sequential α then β', { mode: 'factorized', archUpdate: 'sequential' }],
];

describe("a replayed step issues what a freshly recorded one does (Dawn's null adapter)", () => {
  for (const [label, overrides, steps = STEPS] of MODES) {
    const at = [3, 9, steps - 1].filter((k, i, all) => k < steps && all.indexOf(k) === i);
    it(`${label}: ${steps} steps, checked at steps ${at.join(', ')}`, async () => {
      const { differences, replays } = await compareReplays(overrides, at, undefined, steps);
      expect(differences).toEqual([]);
      expect(replays).toBe(steps - 2);
    }, 300_000);
  }

  it('warm-up epochs: the record of a step without the architecture update is replaced when it starts', async () => {
    const { differences } = await compareReplays({ mode: 'factorized', warmupEpochs: 1 }, [2, 3, 6, 9]);
    expect(differences).toEqual([]);
  }, 300_000);

  it('a learning rate frozen at the recorded step is caught at the first epoch boundary', async () => {
    const { differences } = await compareReplays({ mode: 'factorized' }, [3, 9], (engine) => {
      // The bug this test exists for: a per-step value computed once, when the step was recorded.
      const step = engine.optimizer.step.bind(engine.optimizer);
      let frozen: number | null = null;
      engine.optimizer.step = (train, val, learningRate, ctx, update) =>
        step(train, val, () => (frozen ??= learningRate()), ctx, update);
    });
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatch(/^step 9 \(epoch 2\): per-step value \d+: value:/);
  }, 300_000);
});

describe('the compiled step on webgpu', () => {
  it('replays from the second step, says so, and holds its memory constant', async () => {
    const engine = engineFor({ mode: 'factorized', maxSteps: 30 }, {});
    try {
      const first = await engine.runStep();
      expect(first.compiled).toBeNull();
      const recorded = await engine.runStep();
      expect(recorded.compiled).toMatchObject({ state: 'compiled', reason: null });
      expect(recorded.compiled!.dispatches).toBeGreaterThan(1000);
      expect(recorded.compiled!.recordMilliseconds).toBeGreaterThan(0);
      await engine.runStep();
      const tensors = tf.memory().numTensors;
      const gpu = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU;
      for (let i = 0; i < 20; i++) expect((await engine.runStep()).compiled?.state).toBe('compiled');
      expect(tf.memory().numTensors).toBe(tensors);
      expect((tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU).toBe(gpu);
    } finally {
      engine.dispose();
    }
  }, 300_000);

  it('records again after a checkpoint is restored, and says why', async () => {
    const engine = engineFor({ mode: 'darts', maxSteps: 30 }, {});
    try {
      for (let i = 0; i < 3; i++) await engine.runStep();
      const checkpoint = await engine.checkpoint();
      engine.restore(checkpoint);
      const p = await engine.runStep();
      expect(p.compiled).toMatchObject({ state: 'compiled', reason: 'recorded again: a checkpoint was restored' });
      expect((await engine.runStep()).compiled?.state).toBe('compiled');
    } finally {
      engine.dispose();
    }
  }, 300_000);

  it('turned off, steps run their code, and the status says so', async () => {
    const engine = engineFor({ mode: 'factorized', maxSteps: 30 }, { compiledStep: false });
    try {
      await engine.runStep();
      const p = await engine.runStep();
      expect(p.compiled).toEqual({
        state: 'uncompiled',
        dispatches: 0,
        recordMilliseconds: 0,
        reason: 'the compiled step is turned off',
      });
    } finally {
      engine.dispose();
    }
  }, 300_000);
});
