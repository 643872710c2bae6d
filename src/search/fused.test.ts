// The fused batch norm and mixed activation kernels (fused.ts) equal the composite ops in value
// and every gradient, on cpu and on wasm (the JavaScript kernels work on each backend's memory).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../cli/backend';
import { FUSED_SHAPES, checkBatchNorm, checkMixedActivation, checkSgd, checkWeightedSum } from './fused.cases';
import { KERNELS, setFusedKernels } from './fused';
import { batchNorm } from './ops';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused kernels on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    it('batch norm (non-affine and affine) matches the composite op', async () => {
      for (const shape of FUSED_SHAPES) {
        await checkBatchNorm(shape, false);
        await checkBatchNorm(shape, true);
      }
    });

    it('the mixed activation matches the composite op, with per-element RReLU slopes and with the mean slope', async () => {
      for (const shape of FUSED_SHAPES) {
        await checkMixedActivation(shape, true);
        await checkMixedActivation(shape, false);
      }
    });

    it('SGD with momentum and gradient clipping (3 steps) matches the composite optimiser', async () => {
      await checkSgd();
    });

    it("a mixed edge's weighted sum (7 of 8 ops, 39 of 40) matches multiply-and-add", async () => {
      await checkWeightedSum([2, 5, 5, 3], 7, 8);
      await checkWeightedSum([4, 16, 16, 8], 7, 8);
      await checkWeightedSum([1, 3, 3, 2], 39, 40);
    });

    it('a batch norm forward and backward runs 4 kernels (the composite ran ~34)', async () => {
      const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
      const count = async (fused: boolean) => {
        setFusedKernels(fused);
        const info = await tf.profile(() => tf.grad((xi: tf.Tensor) => batchNorm(xi as tf.Tensor4D, null, null))(x));
        setFusedKernels(true);
        return info.kernels.map((k) => k.name);
      };
      const fused = await count(true);
      const composite = await count(false);
      expect(fused.filter((n) => n.startsWith('LabBatchNorm')).sort()).toEqual(
        [KERNELS.bnApply, KERNELS.bnGradApply, KERNELS.bnGradStats, KERNELS.bnStats].sort(),
      );
      expect(fused.length).toBeLessThan(composite.length / 3);
    });
  });
}
