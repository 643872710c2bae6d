// The fused kernels' WGSL programs (fused.ts) against the composite ops, on WebGPU under Node.
// `npm run test:gpu` points Dawn at a Vulkan driver (SwiftShader here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../platform/node';
import {
  FUSED_SHAPES,
  checkBatchNorm,
  checkBatchNormRelu,
  checkDepthwise,
  checkMixedActivation,
  checkSgd,
  checkPackedSgd,
  checkFanOut,
  checkSumsKeepNothing,
  checkWeightedSum,
  checkGroupedPointwise,
  checkGroupedMixedActivation,
  checkWeightedSumViews,
  NODE_SUM_INDICES,
} from './fused.cases';
import { KERNELS, fusedKernelsActive, fusedWeightedSum } from './fused';
import { batchNorm, depthwiseConv } from '../search/ops';
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

  it("the depthwise convs' gradient kernels match tfjs's kernels: 3x3 and 5x5, stride 1 and 2, dilation 1 and 2, even and odd sizes", async (t) => {
    if (!available) return t.skip();
    for (const shape of [
      [2, 8, 8, 3],
      [1, 7, 9, 4],
      [3, 5, 5, 2],
    ])
      for (const k of [3, 5])
        for (const stride of [1, 2] as const)
          for (const dilation of [1, 2]) await checkDepthwise(shape, k, stride, dilation);
  });

  it('the 256-lane reductions of large tensors (4,096 rows and more) match too: batch norm, its gradients, the mixed activation, the filter gradient', async (t) => {
    if (!available) return t.skip();
    const shape = [8, 32, 32, 2];
    await checkBatchNorm(shape, false);
    await checkBatchNormRelu(shape);
    await checkMixedActivation(shape, true);
    await checkDepthwise([4, 32, 32, 2], 3, 1, 2);
  });

  it('a dilated depthwise conv runs 1 kernel forward and 2 backward (spaceToBatchND and back: 7), and no filter gradient when only dx is asked for', async (t) => {
    if (!available) return t.skip();
    const x = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 4, 1]) as tf.Tensor4D;
    const convKernels = async (grads: () => tf.TensorContainer) =>
      (await tf.profile(grads)).kernels
        .map((k) => k.name)
        .filter((n) => /Depthwise|Space|Batch/.test(n))
        .sort();
    expect(
      await convKernels(() =>
        tf.grads((xi: tf.Tensor, wi: tf.Tensor) => depthwiseConv(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, 2))([x, w]),
      ),
    ).toEqual([KERNELS.depthwise, KERNELS.depthwiseGradFilter, KERNELS.depthwiseGradInput].sort());
    // The architecture step differentiates with respect to α and β only: no filter gradient.
    expect(await convKernels(() => tf.grad((xi: tf.Tensor) => depthwiseConv(xi as tf.Tensor4D, w, 1, 2))(x))).toEqual(
      [KERNELS.depthwise, KERNELS.depthwiseGradInput].sort(),
    );
  });

  it('SGD with momentum and gradient clipping (3 steps) matches the composite optimiser', async (t) => {
    if (!available) return t.skip();
    await checkSgd();
  });

  it('SGD with ω and its momentum in one buffer: one dispatch per variable, the two-kernel results, through a checkpoint restore and reassigned weights', async (t) => {
    if (!available) return t.skip();
    await checkPackedSgd();
  });

  it("a weighted sum (an edge's 7 of 8 ops, 39 of 40; a node's 35 of 14 × 8, indices past 64; the α gradient by one workgroup and by 32) matches multiply-and-add", async (t) => {
    if (!available) return t.skip();
    await checkWeightedSum([2, 5, 5, 3], 7, 8);
    await checkWeightedSum([4, 16, 16, 8], 7, 8);
    await checkWeightedSum([4, 16, 16, 32], 7, 8);
    await checkWeightedSum([1, 3, 3, 2], 39, 40);
    await checkWeightedSum([2, 4, 4, 3], 35, 112, 33, NODE_SUM_INDICES);
  });

  it("a weighted sum reads a grouped conv's output in place: one slot of its channels, with a zero gradient elsewhere", async (t) => {
    if (!available) return t.skip();
    await checkWeightedSumViews();
  });

  it("the mixed activations of the edges leaving one state in one kernel match each edge's, side by side; their parameter sums by 64 lanes and by 256", async (t) => {
    if (!available) return t.skip();
    for (const training of [true, false]) {
      await checkGroupedMixedActivation([2, 5, 5, 3], 4, training);
      await checkGroupedMixedActivation([4, 32, 32, 4], 3, training);
    }
  });

  it('grouped 1×1 convs (the convs of the edges leaving one state) match one conv per group; the weight gradient by 64 lanes and by 256, and over 65,535 workgroups', async (t) => {
    if (!available) return t.skip();
    await checkGroupedPointwise([2, 3, 3], 4, 5, 3);
    await checkGroupedPointwise([4, 8, 8], 3, 8, 8);
    await checkGroupedPointwise([4, 32, 32], 2, 4, 4);
    // 4 × 130 × 130 = 67,600 weights: more workgroups than one dimension of a dispatch holds.
    await checkGroupedPointwise([1, 2, 2], 4, 130, 130);
  });

  it("the weights' indices are uniforms: a node's weighted sum and its gradients compile one program per number of terms, whatever the indices", async (t) => {
    if (!available) return t.skip();
    expect(fusedKernelsActive()).toBe(true);
    const cached = () =>
      Object.keys((tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache).length;
    const weights = tf.softmax(tf.randomNormal([112], 0, 1, 'float32', 5)) as tf.Tensor1D;
    const outputs = Array.from(
      { length: 6 },
      (_, j) => tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 10 + j) as tf.Tensor4D,
    );
    const sumAndGrads = async (indices: number[]) => {
      const grads = tf.grads((w: tf.Tensor, ...outs: tf.Tensor[]) =>
        tf.sum(fusedWeightedSum(outs as tf.Tensor4D[], w as tf.Tensor1D, indices)),
      )([weights, ...outputs]);
      await Promise.all(grads.map((g) => g.data()));
      tf.dispose(grads);
    };
    await sumAndGrads([9, 10, 11, 12, 13, 14]);
    const programs = cached();
    await sumAndGrads([73, 74, 75, 105, 110, 111]);
    await sumAndGrads([1, 2, 3, 4, 5, 6]);
    expect(cached(), 'programs compiled for other indices').toBe(programs);
    tf.dispose([weights, ...outputs]);
  });

  it("a tensor's readers read it through handles sharing its buffer, and its gradient is their sum in AddN kernels", async (t) => {
    if (!available) return t.skip();
    await checkFanOut();
  });

  it("sums keep nothing for the backward pass: not the edges summed into a node, not a weighted sum's partial sums", async (t) => {
    if (!available) return t.skip();
    await checkSumsKeepNothing();
  });

  it('a paper-size tensor (64·32·32·65) is normalised everywhere: the affine kernels (over 65535 workgroups of 64) and the non-affine one (65 workgroups striding over 65,536 rows)', async (t) => {
    if (!available) return t.skip();
    const shape = [64, 32, 32, 65];
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 100 - 3);
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const stats = jsBatchNormStats(values, 65);
    for (const affine of [true, false]) {
      const y = await (
        affine ? batchNorm(x, tf.ones([65]) as tf.Tensor1D, tf.zeros([65]) as tf.Tensor1D) : batchNorm(x, null, null)
      ).data();
      // The last elements lie in the second row of the elementwise kernel's workgroups.
      for (const i of [0, size - 1, size - 65, 64 * 65535 + 3]) {
        const k = i % 65;
        expect(y[i], `affine=${affine}, element ${i}`).toBeCloseTo(
          (values[i] - stats[k]) / Math.sqrt(stats[65 + k] + 1e-5),
          4,
        );
      }
    }
  });
});
