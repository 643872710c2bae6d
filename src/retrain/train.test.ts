import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalBatches, makeSyntheticDataset } from '../data/index';
import type { Batch } from '../data/types';
import type { Genotype, GenotypeEdge } from '../search/genotype';
import { Random } from '../util/random';
import type { ActivationName, OpName } from '../search/space';
import {
  FULL_TRAIN_CONFIG,
  GenotypeTrainer,
  QUICK_TRAIN_CONFIG,
  TrainDivergedError,
  applyCutout,
  makeTrainConfig,
  trainGenotype,
} from './train';

beforeAll(async () => {
  await tf.setBackend('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

const e = (op: OpName, from: number, activation: ActivationName | null = null): GenotypeEdge => ({
  op,
  from,
  activation,
});

/** Every op and every activation, so each of them is trained on wasm. */
const ALL_OPS: Genotype = {
  normal: [
    e('sep_conv_3x3', 0, 'prelu'),
    e('sep_conv_5x5', 1, 'relu6'),
    e('dil_conv_3x3', 0, 'leaky_relu'),
    e('dil_conv_5x5', 2, 'swish'),
    e('sep_conv_3x3', 3, 'rrelu'),
    e('skip_connect', 1),
    e('max_pool_3x3', 4),
    e('avg_pool_3x3', 0),
  ],
  normalConcat: [2, 3, 4, 5],
  reduce: [
    e('dil_conv_3x3', 0, 'celu'),
    e('sep_conv_3x3', 1, 'selu'),
    e('skip_connect', 0),
    e('max_pool_3x3', 1),
    e('avg_pool_3x3', 1),
    e('sep_conv_5x5', 3, 'elu'),
    e('dil_conv_5x5', 0, 'relu'),
    e('skip_connect', 4),
  ],
  reduceConcat: [2, 3, 4, 5],
};

describe('presets and cutout', () => {
  it('full is DARTS’s train.py recipe; quick is smaller', () => {
    expect(FULL_TRAIN_CONFIG).toMatchObject({
      channels: 36,
      layers: 20,
      epochs: 600,
      batchSize: 96,
      learningRate: 0.025,
      learningRateMin: 0,
      momentum: 0.9,
      weightDecay: 3e-4,
      gradClip: 5,
      auxiliary: true,
      auxiliaryWeight: 0.4,
      cutout: true,
      cutoutLength: 16,
      dropPathProb: 0.2,
    });
    expect(QUICK_TRAIN_CONFIG).toMatchObject({ channels: 16, layers: 8, batchSize: 64 });
    expect(() => makeTrainConfig({ channels: 5 })).toThrow('train config.channels');
    expect(() => makeTrainConfig({ dropPathProb: 1 })).toThrow('train config.dropPathProb');
  });

  it('cutout zeroes one clipped length×length square per image, in every channel', () => {
    const n = 50;
    const batch: Batch = { x: new Float32Array(n * 32 * 32 * 3).fill(1), y: new Int32Array(n), shape: [n, 32, 32, 3] };
    applyCutout(batch, 16, new Random(1));
    for (let b = 0; b < n; b++) {
      const img = batch.x.subarray(b * 3072, (b + 1) * 3072);
      const zeros = img.reduce((k, v) => k + (v === 0 ? 1 : 0), 0);
      expect(zeros % 3).toBe(0);
      expect(zeros).toBeGreaterThan(0);
      expect(zeros).toBeLessThanOrEqual(16 * 16 * 3);
      // the zeroed pixels form a rectangle
      let y1 = 99,
        y2 = -1,
        x1 = 99,
        x2 = -1;
      for (let p = 0; p < 1024; p++)
        if (img[p * 3] === 0)
          [y1, y2, x1, x2] = [Math.min(y1, p >> 5), Math.max(y2, p >> 5), Math.min(x1, p & 31), Math.max(x2, p & 31)];
      expect((y2 - y1 + 1) * (x2 - x1 + 1) * 3).toBe(zeros);
    }
  });
});

describe('GenotypeTrainer (wasm)', () => {
  it('learns a tiny synthetic task well above chance, with a stable tensor count', async () => {
    const dataset = makeSyntheticDataset({
      seed: 1,
      height: 16,
      width: 16,
      channels: 3,
      classes: 4,
      trainCount: 512,
      testCount: 200,
    });
    const trainer = new GenotypeTrainer(ALL_OPS, dataset, {
      channels: 4,
      layers: 3,
      batchSize: 16,
      maxSteps: 60,
      learningRate: 0.05,
      seed: 1,
    });
    // 16x16 images: no auxiliary head (its pool needs 21..32 pixels), no cutout (not 32x32 colour).
    expect(trainer.auxiliary).toBe(false);
    expect(trainer.cutout).toBe(false);
    expect(trainer.stepsPerEpoch).toBe(32);
    expect(trainer.epochsPlanned).toBe(2);
    const chance = await trainer.evaluate(evalBatches(dataset, 'test', 100));
    let at10 = 0;
    const seen: { lr: number; drop: number }[] = [];
    const summary = await trainGenotype(
      trainer,
      () => evalBatches(dataset, 'test', 100),
      (p) => {
        if (p.step === 10) at10 = tf.memory().numTensors;
        seen.push({ lr: p.learningRate, drop: p.dropPathProb });
        expect(Number.isFinite(p.loss) && p.imagesPerSecond > 0).toBe(true);
      },
    );
    expect(tf.memory().numTensors).toBe(at10);
    // 2 epochs (< 10): the rate anneals per step, from 0.05 to half at step 30 and ~0 at the
    // last; drop path 0.1 · epoch / 2.
    expect(seen[0]).toEqual({ lr: 0.05, drop: 0 });
    expect(seen[30].lr).toBeCloseTo(0.025, 10);
    expect(seen[59].lr).toBeCloseTo((0.05 * (1 + Math.cos((Math.PI * 59) / 60))) / 2, 10);
    expect(seen[59].lr).toBeLessThan(1e-4);
    expect(seen[59].drop).toBeCloseTo(0.05, 10);
    expect(summary.steps).toBe(60);
    // Measured: 1.00 test accuracy after 60 steps (0.25 = chance before training).
    console.log(
      `train: test accuracy ${chance.accuracy.toFixed(3)} → ${summary.testAccuracy.toFixed(3)}, loss ${summary.testLoss.toFixed(4)}`,
    );
    expect(chance.accuracy).toBeLessThan(0.45);
    expect(summary.testAccuracy).toBeGreaterThan(0.8);
    trainer.dispose();
  });

  it('uses the auxiliary head, cutout and drop path on 32x32 colour data', async () => {
    const dataset = makeSyntheticDataset({
      seed: 2,
      height: 32,
      width: 32,
      channels: 3,
      classes: 4,
      trainCount: 16,
      testCount: 8,
    });
    const trainer = new GenotypeTrainer(ALL_OPS, dataset, {
      channels: 4,
      layers: 3,
      batchSize: 8,
      epochs: 3,
      seed: 2,
      dropPathProb: 0.3,
    });
    expect(trainer.auxiliary).toBe(true);
    expect(trainer.cutout).toBe(true);
    expect(trainer.net.countParams().auxiliaryParams).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const p = await trainer.runStep();
      expect(Number.isFinite(p.loss)).toBe(true);
    }
    expect(trainer.dropPathProb()).toBeCloseTo(0.1, 10); // epoch 1 of 3
    const r = await trainer.evaluate(evalBatches(dataset, 'test', 8));
    expect(r.count).toBe(8);
    expect(Number.isFinite(r.loss)).toBe(true);
    trainer.dispose();
  });

  it('a NaN loss throws a clear error', async () => {
    const dataset = makeSyntheticDataset({
      seed: 3,
      height: 8,
      width: 8,
      channels: 1,
      classes: 2,
      trainCount: 8,
      testCount: 4,
    });
    const trainer = new GenotypeTrainer(ALL_OPS, dataset, { channels: 4, layers: 3, batchSize: 4, epochs: 1, seed: 3 });
    await trainer.runStep();
    trainer.injectNaN = true;
    const error = await trainer.runStep().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TrainDivergedError);
    expect((error as Error).message).toMatch(/^The training loss became NaN at step 2 .*diverged.*lower learning rate/);
    expect(trainer.step).toBe(1);
    trainer.dispose();
  });
});
