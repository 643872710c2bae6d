// The fused kernels' WGSL programs (fused.ts) against the composite ops, on WebGPU under Node.
// `npm run test:gpu` points Dawn at a Vulkan driver (SwiftShader here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../cli/backend';
import { FUSED_SHAPES, checkBatchNorm, checkBatchNormRelu, checkMixedActivation, checkSgd, checkWeightedSum } from './fused.cases';
import { batchNorm } from './ops';
import { jsBatchNormStats } from './fused-js';

let available = true;
let failure: () => unknown = () => null;
beforeAll(async () => {
  try {
    failure = (await useBackend('webgpu')).failure;
  } catch (e) {
    available = false;
    console.warn(`skipped: no WebGPU adapter (${(e as Error).message})`);
  }
});
afterAll(() => {
  expect((failure() as { message?: string } | null)?.message ?? null, 'a WebGPU error was reported').toBeNull();
});

describe('fused kernels on webgpu', () => {
  it('batch norm (non-affine, affine, and non-affine with its ReLU fused) matches the composite ops', async (t) => {
    if (!available) return t.skip();
    for (const shape of FUSED_SHAPES) {
      await checkBatchNorm(shape, false);
      await checkBatchNorm(shape, true);
      await checkBatchNormRelu(shape);
    }
  });

  it('the mixed activation matches the composite op, with per-element RReLU slopes and with the mean slope', async (t) => {
    if (!available) return t.skip();
    for (const shape of FUSED_SHAPES) {
      await checkMixedActivation(shape, true);
      await checkMixedActivation(shape, false);
    }
  });

  it('SGD with momentum and gradient clipping (3 steps) matches the composite optimiser', async (t) => {
    if (!available) return t.skip();
    await checkSgd();
  });

  it("a mixed edge's weighted sum (7 of 8 ops, 39 of 40) matches multiply-and-add", async (t) => {
    if (!available) return t.skip();
    await checkWeightedSum([2, 5, 5, 3], 7, 8);
    await checkWeightedSum([4, 16, 16, 8], 7, 8);
    await checkWeightedSum([1, 3, 3, 2], 39, 40);
  });

  it('a paper-size tensor (64·32·32·65) is normalised everywhere: the affine kernels (over 65535 workgroups of 64) and the non-affine one (65 workgroups striding over 65,536 rows)', async (t) => {
    if (!available) return t.skip();
    const shape = [64, 32, 32, 65];
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 100 - 3);
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const stats = jsBatchNormStats(values, 65);
    for (const affine of [true, false]) {
      const y = await (affine ? batchNorm(x, tf.ones([65]) as tf.Tensor1D, tf.zeros([65]) as tf.Tensor1D) : batchNorm(x, null, null)).data();
      // The last elements lie in the second row of the elementwise kernel's workgroups.
      for (const i of [0, size - 1, size - 65, 64 * 65535 + 3]) {
        const k = i % 65;
        expect(y[i], `affine=${affine}, element ${i}`).toBeCloseTo((values[i] - stats[k]) / Math.sqrt(stats[65 + k] + 1e-5), 4);
      }
    }
  });
});
