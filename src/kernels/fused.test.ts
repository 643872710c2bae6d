// The fused batch norm and mixed activation kernels (fused.ts) equal the composite ops in value
// and every gradient, on cpu and on wasm (the JavaScript kernels work on each backend's memory).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../platform/node';
import {
  FUSED_SHAPES,
  checkBatchNorm,
  checkBatchNormRelu,
  checkMaxPoolAgainstCpu,
  checkMaxPoolGrad,
  checkMixedActivation,
  checkSgd,
  checkFanOut,
  checkSumsKeepNothing,
  checkWeightedSum,
  checkGroupedPointwise,
  checkGroupedMixedActivation,
  checkWeightedSumViews,
  NODE_SUM_INDICES,
} from './fused.cases';
import { KERNELS } from './fused';
import { withKernelOptions } from './options';
import { decodeIndices, encodeIndices } from './fused-names';
import { batchNorm, mixedActivationAll } from '../search/ops';
import { Random } from '../util/random';

describe("a weighted sum's weight indices as one attribute", () => {
  it('round-trips up to a non-factorized cell (14 × 41 columns) and refuses anything else', () => {
    const indices = [0, 63, 64, 111, 573, 9];
    expect(decodeIndices(encodeIndices(indices))).toEqual(indices);
    expect(() => decodeIndices(131 as unknown as string)).toThrow(/expected indices like "3_11_40", got 131/);
    expect(() => decodeIndices('')).toThrow(/got ""/);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused kernels on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    it('batch norm (non-affine, affine, and non-affine with its ReLU fused) matches the composite ops', async () => {
      for (const shape of FUSED_SHAPES) {
        await checkBatchNorm(shape, false);
        await checkBatchNorm(shape, true);
        await checkBatchNormRelu(shape);
      }
    });

    it('the mixed activation matches the composite op, with per-element RReLU slopes and with the mean slope', async () => {
      for (const shape of FUSED_SHAPES) {
        await checkMixedActivation(shape, true);
        await checkMixedActivation(shape, false);
      }
    });

    it("the mixed activations of the edges leaving one state in one kernel match each edge's, side by side", async () => {
      for (const training of [true, false]) {
        await checkGroupedMixedActivation([2, 5, 5, 3], 4, training);
        await checkGroupedMixedActivation([4, 8, 8, 8], 3, training);
        await checkGroupedMixedActivation([1, 2, 2, 2], 2, training);
      }
    });

    it('SGD with momentum and gradient clipping (3 steps) matches the composite optimiser', async () => {
      await checkSgd();
    });

    it("a weighted sum (an edge's 7 of 8 ops, 39 of 40; a node's 35 of 14 × 8, indices past 64) matches multiply-and-add", async () => {
      await checkWeightedSum([2, 5, 5, 3], 7, 8);
      await checkWeightedSum([4, 16, 16, 8], 7, 8);
      await checkWeightedSum([1, 3, 3, 2], 39, 40);
      await checkWeightedSum([2, 4, 4, 3], 35, 112, 33, NODE_SUM_INDICES);
    });

    it("a weighted sum reads a grouped conv's output in place: one slot of its channels, with a zero gradient elsewhere", async () => {
      await checkWeightedSumViews();
    });

    it('grouped 1×1 convs (the convs of the edges leaving one state) match one conv per group', async () => {
      await checkGroupedPointwise([2, 3, 3], 4, 5, 3);
      await checkGroupedPointwise([4, 8, 8], 3, 8, 8);
      await checkGroupedPointwise([1, 2, 2], 2, 1, 2);
    });

    it("a tensor's readers read it through handles sharing its buffer, and its gradient is their sum in AddN kernels", async () => {
      await checkFanOut();
    });

    it("sums keep nothing for the backward pass: not the edges summed into a node, not a weighted sum's partial sums", async () => {
      await checkSumsKeepNothing();
    });

    it("the portable max pools' gradient (wasm's) routes to the first maximum of each window, as the composite routing", async () => {
      for (const shape of [...FUSED_SHAPES, [2, 8, 8, 4]]) {
        await checkMaxPoolGrad(shape, 3, 1);
        await checkMaxPoolGrad(shape, 3, 2);
        await checkMaxPoolGrad(shape, 2, 2);
      }
    });

    it("the max pools' gradients equal cpu's own (3x3 stride 1 and 2, PC-DARTS's 2x2 bypass; even and odd sizes)", async () => {
      for (const shape of [
        [2, 6, 6, 3],
        [1, 7, 7, 2],
        [2, 9, 5, 4],
      ]) {
        await checkMaxPoolAgainstCpu(shape, 3, 1);
        await checkMaxPoolAgainstCpu(shape, 3, 2);
        await checkMaxPoolAgainstCpu(shape, 2, 2);
      }
    });

    it('a non-affine batch norm runs 1 kernel forward and 1 backward, an affine one 2 and 2 (the composite ran ~34)', async () => {
      const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
      const ones = tf.ones([3]) as tf.Tensor1D;
      const zeros = tf.zeros([3]) as tf.Tensor1D;
      const count = async (fused: boolean, affine: boolean) => {
        const info = await tf.profile(() =>
          withKernelOptions({ fused }, () =>
            tf.grad((xi: tf.Tensor) => batchNorm(xi as tf.Tensor4D, affine ? ones : null, affine ? zeros : null))(x),
          ),
        );
        return info.kernels.map((k) => k.name);
      };
      const nonAffine = await count(true, false);
      expect(nonAffine.filter((n) => n.startsWith('LabBatchNorm')).sort()).toEqual(
        [KERNELS.bnNonAffine, KERNELS.bnNonAffineGrad].sort(),
      );
      expect(nonAffine.length).toBeLessThan((await count(false, false)).length / 5);
      const affine = await count(true, true);
      expect(affine.filter((n) => n.startsWith('LabBatchNorm')).sort()).toEqual(
        [KERNELS.bnApply, KERNELS.bnGradApply, KERNELS.bnGradStats, KERNELS.bnStats].sort(),
      );
    });

    it('the one-kernel non-affine batch norm gives bitwise the values and gradients of the two-kernel pair', async () => {
      // The JavaScript kernel composes the pair's functions: any difference is a wiring bug.
      const x = tf.randomNormal([3, 5, 5, 4], 0.3, 2, 'float32', 9) as tf.Tensor4D;
      const dy = tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 10);
      const ones = tf.ones([4]);
      const zeros = tf.zeros([4]);
      for (const relu of [0, 1]) {
        const attrs = { epsilon: 1e-5, relu } as unknown as tf.NamedAttrMap;
        const run = (name: string, inputs: Record<string, tf.Tensor>) =>
          tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor;
        const stats = run(KERNELS.bnStats, { x });
        const pairValue = run(KERNELS.bnApply, { x, stats, gamma: ones, beta: zeros });
        const gradStats = run(KERNELS.bnGradStats, { dy, x });
        const pairGrad = run(KERNELS.bnGradApply, { dy, x, gradStats, gamma: ones });
        expect(Array.from(await run(KERNELS.bnNonAffine, { x }).data()), `value, relu=${relu}`).toEqual(
          Array.from(await pairValue.data()),
        );
        expect(Array.from(await run(KERNELS.bnNonAffineGrad, { dy, x }).data()), `dx, relu=${relu}`).toEqual(
          Array.from(await pairGrad.data()),
        );
      }
    });

    it("a training mixed activation's forward and backward run 3 kernels for x and β (the PReLU and Swish parameters' gradients are not asked for): no slice of the RReLU slopes, no zero gradient for them", async () => {
      const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
      const beta = tf.randomNormal([9]);
      const params = { preluSlope: tf.fill([3], 0.25) as tf.Tensor1D, swishBeta: tf.scalar(1) };
      const info = await tf.profile(() =>
        tf.grads((xi: tf.Tensor, b: tf.Tensor) =>
          mixedActivationAll(xi as tf.Tensor4D, b as tf.Tensor1D, params, { training: true, rng: new Random(3) }),
        )([x, beta]),
      );
      const lab = info.kernels.map((k) => k.name).filter((n) => n.startsWith('LabMixed'));
      expect(lab.sort()).toEqual([KERNELS.mixForward, KERNELS.mixGrad, KERNELS.mixParamGrad].sort());
      const names = info.kernels.map((k) => k.name);
      expect(names).not.toContain('ZerosLike');
      // The RReLU window is read in place from the seeded pool.
      expect(names.filter((n) => n === 'Slice')).toEqual([]);
    });
  });
}
