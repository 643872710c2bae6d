// The compiled step (kernels/compiled-step.ts) on Dawn's null adapter, which validates every
// command and runs none: values are meaningless, but what a step issues is exact. A replayed
// step k must issue exactly what a freshly recorded step k issues — the same pipelines, buffers
// (named by what they hold), uniform bytes, per-step values and inputs, workgroup counts — in
// every mode, over steps that cross epoch boundaries (the learning rate moves there).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNullWebGpu } from '../platform/node';
import type { SearchEngine } from './engine';
import type { SearchConfig } from './space';
import { CHECKED_MODES, checkEngine, compareCompiled } from '../bench/compiled-check';

let gpuFailure: () => unknown = () => null;
beforeAll(async () => {
  gpuFailure = (await useNullWebGpu()).failure;
});
afterAll(() => {
  const failure = gpuFailure() as { message?: string } | null;
  expect(failure?.message ?? null, 'Dawn reported an error').toBeNull();
});

// COMPILED_CHECK_STEPS=40 (say) checks longer runs; the suite runs 22 steps (5 epoch boundaries),
// non-factorized 10 (2 boundaries: its 40 ops an edge make an uncompiled step ten times slower).
// `lab -- compiled-check` runs the same on a GPU machine, numbers too.
const STEPS = Number(process.env.COMPILED_CHECK_STEPS ?? 22);
const HEAVY_STEPS = process.env.COMPILED_CHECK_STEPS ? STEPS : 10;

describe("a replayed step issues what a freshly recorded one does (Dawn's null adapter)", () => {
  for (const [label, overrides] of CHECKED_MODES) {
    const steps = overrides.mode === 'nonfactorized' ? HEAVY_STEPS : STEPS;
    const at = [3, 9, steps - 1].filter((k, i, all) => k < steps && all.indexOf(k) === i);
    it(`${label}: ${steps} steps, checked at steps ${at.join(', ')}`, async () => {
      const { differences, replays } = await compareCompiled(overrides, { steps, at });
      expect(differences).toEqual([]);
      expect(replays).toBe(steps - 2);
    }, 300_000);
  }

  it('warm-up epochs: the record of a step without the architecture update is replaced when it starts', async () => {
    const { differences } = await compareCompiled(
      { mode: 'factorized', warmupEpochs: 1 },
      { steps: 10, at: [2, 3, 6, 9] },
    );
    expect(differences).toEqual([]);
  }, 300_000);

  it('a learning rate frozen at the recorded step is caught at the first epoch boundary', async () => {
    const tamper = (engine: SearchEngine) => {
      // The bug this test exists for: a per-step value computed once, when the step was recorded.
      const step = engine.optimizer.step.bind(engine.optimizer);
      let frozen: number | null = null;
      engine.optimizer.step = (train, val, learningRate, ctx, update) =>
        step(train, val, () => (frozen ??= learningRate()), ctx, update);
    };
    const { differences } = await compareCompiled({ mode: 'factorized' }, { steps: 10, at: [3, 9], tamper });
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatch(/^step 9 \(epoch 2\): per-step value \d+: value:/);
  }, 300_000);
});

describe("with cells recomputed (checkpoint.ts), a replayed step still issues what a fresh one does (Dawn's null adapter)", () => {
  // A recomputation reads the random values its forward pass drew (RReLU's windows) instead of
  // drawing again, so each is one per-step value of the record, computed once a replay.
  const cases: [string, Partial<SearchConfig>][] = [
    ['factorized (grouped edges, RReLU windows per state)', { mode: 'factorized' }],
    ['fixed-beta (its 9-term activation recomputed inside the recomputed cell)', { mode: 'fixed-beta' }],
  ];
  for (const [label, overrides] of cases)
    it(
      label,
      async () => {
        const { differences, replays } = await compareCompiled(overrides, {
          steps: 6,
          at: [3, 5],
          engine: { recompute: true },
        });
        expect(differences).toEqual([]);
        expect(replays).toBe(4);
      },
      300_000,
    );
});

describe('the compiled step on webgpu', () => {
  it('replays from the second step, says so, and holds its memory constant', async () => {
    const engine = checkEngine({ mode: 'factorized', maxSteps: 30 }, {});
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
    const engine = checkEngine({ mode: 'darts', maxSteps: 30 }, {});
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
    const engine = checkEngine({ mode: 'factorized', maxSteps: 30 }, { compiledStep: false });
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
