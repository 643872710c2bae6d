// Fused kernels against the composite ops they replace, on whatever backend is current: the
// same cases run on cpu and wasm (fused.test.ts) and on webgpu (fused.gpu.test.ts).
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { batchNorm, mixedActivationAll } from './ops';
import { fusedKernelsActive, setFusedKernels } from './fused';
import { Random } from './random';

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  const rng = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => shift + rng.normal() * scale), shape);
}

/** Value and every input gradient of Σ f(inputs) ⊙ R, with the fused kernels on or off. */
async function valueAndGrads(fused: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): Promise<Float32Array[]> {
  setFusedKernels(fused);
  try {
    return await tf.tidy(() => {
      const projection = randomTensor(f(...inputs).shape, seed);
      const g = tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), projection)) as tf.Scalar);
      const { value, grads } = g(inputs);
      return [tf.keep(f(...inputs)), ...grads.map((t) => tf.keep(t)), tf.keep(value)];
    }).reduce(async (acc, t) => [...(await acc), (await t.data()) as Float32Array], Promise.resolve([] as Float32Array[]));
  } finally {
    setFusedKernels(true);
  }
}

function expectClose(got: Float32Array, want: Float32Array, label: string, rel = 2e-5, abs = 2e-5) {
  expect(got.length, label).toBe(want.length);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]) / (abs + rel * Math.abs(want[i]));
    if (!(err <= worst)) [worst, at] = [Number.isNaN(err) ? Infinity : err, i];
  }
  expect(worst, `${label}: at [${at}] fused ${got[at]}, composite ${want[at]}`).toBeLessThanOrEqual(1);
}

/** Shapes: fewer rows than a GPU workgroup, more (strided loops), and an odd channel count. */
export const FUSED_SHAPES: number[][] = [
  [1, 2, 2, 3],
  [2, 9, 7, 5],
  [4, 16, 16, 8],
];

export async function checkBatchNorm(shape: number[], affine: boolean, seed = 1): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const c = shape[3];
  const x = randomTensor(shape, seed, 2, 0.5);
  const gamma = randomTensor([c], seed + 1, 0.5, 1);
  const beta = randomTensor([c], seed + 2);
  const f = affine
    ? (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNorm(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D)
    : (xi: tf.Tensor) => batchNorm(xi as tf.Tensor4D, null, null);
  const inputs = affine ? [x, gamma, beta] : [x];
  const want = await valueAndGrads(false, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const got = await valueAndGrads(true, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const names = ['value', 'dx', 'dgamma', 'dbeta'];
  got.slice(0, -1).forEach((g, i) => expectClose(g, want[i], `batch norm ${shape} affine=${affine} ${names[i]}`));
}

export async function checkMixedActivation(shape: number[], training: boolean, seed = 11): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const c = shape[3];
  // Values across every regime: negative (exp, slopes), between 0 and 6, above 6 (relu6 clips).
  const x = randomTensor(shape, seed, 4, 0.5);
  const beta = randomTensor([9], seed + 1);
  const slope = randomTensor([c], seed + 2, 0.2, 0.25);
  const b = tf.scalar(1.3);
  const f = (xi: tf.Tensor, be: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
    mixedActivationAll(xi as tf.Tensor4D, tf.softmax(be) as tf.Tensor1D, { preluSlope: a as tf.Tensor1D, swishBeta: bb }, { training, rng: new Random(5) });
  const inputs = [x, beta, slope, b];
  const want = await valueAndGrads(false, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const got = await valueAndGrads(true, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const names = ['value', 'dx', 'dβ', 'dPReLU slope', 'dSwish b'];
  // Parameter gradients sum thousands of terms: float32 order of summation differs.
  got.slice(0, -1).forEach((g, i) => expectClose(g, want[i], `mixed activation ${shape} training=${training} ${names[i]}`, i < 2 ? 2e-5 : 1e-4, i < 2 ? 2e-5 : 1e-4));
}
