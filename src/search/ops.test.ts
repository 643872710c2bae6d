// Every op and activation: forward semantics and gradients against central finite differences
// on the cpu backend (tfjs computes in float32, so checks use a random projection of the output
// and a random direction, which keeps the difference quotient well above rounding noise).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  activation,
  avgPool3x3,
  batchNorm,
  channelShuffle,
  conv1x1,
  conv2d,
  crossEntropy,
  depthwiseConv,
  evenAndOddSamples,
  maxPool3x3,
  mixedActivation,
  mixedActivationAll,
  subsample2,
  sumTensors,
  type ActivationParams,
} from './ops';
import { ACTIVATIONS } from './space';
import { Random } from '../util/random';
import { withKernelOptions } from '../kernels/options';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rng.normal() * scale),
    shape,
  );
}

/**
 * Checks d/dθ of L = Σ f(θ) ⊙ R along a random direction v against (L(θ+εv) − L(θ−εv)) / 2ε,
 * for each input θ of f. Returns the worst relative error.
 */
async function gradientError(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  seed = 7,
  eps = 1e-2,
): Promise<number> {
  const out = f(...inputs);
  const projection = randomTensor(out.shape, seed + 1);
  out.dispose();
  const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), projection)) as tf.Scalar;
  const grads = tf.grads(loss)(inputs);
  let worst = 0;
  for (let i = 0; i < inputs.length; i++) {
    const direction = randomTensor(inputs[i].shape, seed + 10 + i);
    const analytic = (await tf.sum(tf.mul(grads[i], direction)).data())[0];
    const shifted = (sign: number) => inputs.map((x, j) => (j === i ? tf.add(x, tf.mul(direction, sign * eps)) : x));
    const plus = (await loss(...shifted(1)).data())[0];
    const minus = (await loss(...shifted(-1)).data())[0];
    const numeric = (plus - minus) / (2 * eps);
    const error = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric));
    worst = Math.max(worst, error);
  }
  return worst;
}

const TOLERANCE = 2e-2; // float32 central differences with ε = 1e-2 on O(1) values

describe('sumTensors', () => {
  it('sums any number of tensors, in chunks of at most 7', async () => {
    const terms = Array.from({ length: 9 }, (_, i) => tf.fill([2, 2], i + 1));
    const total = await sumTensors(terms).data();
    expect(Array.from(total)).toEqual([45, 45, 45, 45]);
    const many = Array.from({ length: 50 }, () => tf.ones([3]));
    expect(Array.from(await sumTensors(many).data())).toEqual([50, 50, 50]);
  });
});

describe('convolutions', () => {
  it('conv1x1 equals a 1x1 tf.conv2d, at stride 1 and 2 (odd sizes too)', async () => {
    const x = randomTensor([2, 5, 7, 3], 1) as tf.Tensor4D;
    const w = randomTensor([3, 4], 2) as tf.Tensor2D;
    for (const stride of [1, 2] as const) {
      const ours = await conv1x1(x, w, stride).data();
      const reference = await tf.conv2d(x, tf.reshape(w, [1, 1, 3, 4]) as tf.Tensor4D, stride, 'valid').data();
      expect(ours.length).toBe(reference.length);
      ours.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 5));
    }
  });

  it('depthwise conv matches tfjs forward for every kernel, dilation and stride, in both formulations', async () => {
    const x = randomTensor([2, 8, 8, 3], 3) as tf.Tensor4D;
    for (const k of [3, 5])
      for (const dilation of [1, 2])
        for (const stride of [1, 2] as const) {
          const w = randomTensor([k, k, 3, 1], 4 + k) as tf.Tensor4D;
          const pad = (dilation * (k - 1)) / 2;
          const padded = tf.pad(x, [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ]) as tf.Tensor4D;
          let reference = tf.depthwiseConv2d(padded, w, 1, 'valid', 'NHWC', dilation);
          if (stride === 2) reference = subsample2(reference);
          const expected = await reference.data();
          for (const f of ['native', 'portable'] as const) {
            const ours = await withKernelOptions({ convFormulation: f }, () =>
              depthwiseConv(x, w, stride, dilation),
            ).data();
            expect(ours.length, `${f} k${k} d${dilation} s${stride}`).toBe(expected.length);
            ours.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
          }
        }
  });

  it('depthwise conv gradients (input and filter) match finite differences, dilated too', async () => {
    const x = randomTensor([1, 7, 6, 2], 5);
    for (const f of ['native', 'portable'] as const) {
      for (const [k, dilation, stride] of [
        [3, 1, 1],
        [5, 1, 2],
        [3, 2, 1],
        [5, 2, 2],
      ] as const) {
        const w = randomTensor([k, k, 2, 1], 6, 0.5);
        const err = await gradientError(
          (a, b) =>
            withKernelOptions({ convFormulation: f }, () =>
              depthwiseConv(a as tf.Tensor4D, b as tf.Tensor4D, stride, dilation),
            ),
          [x, w],
        );
        expect(err, `${f} k${k} d${dilation} s${stride}`).toBeLessThan(TOLERANCE);
      }
    }
  });

  it('stem conv2d: both formulations agree with tf.conv2d and have correct gradients', async () => {
    const x = randomTensor([2, 6, 6, 3], 8) as tf.Tensor4D;
    const w = randomTensor([3, 3, 3, 4], 9, 0.3) as tf.Tensor4D;
    const expected = await tf.conv2d(x, w, 1, 'same').data();
    for (const f of ['native', 'portable'] as const) {
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        withKernelOptions({ convFormulation: f }, () => conv2d(a as tf.Tensor4D, b as tf.Tensor4D));
      const ours = await conv(x, w).data();
      ours.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
      expect(await gradientError(conv, [x, w])).toBeLessThan(TOLERANCE);
    }
  });

  it("FactorizedReduce's samples: the even rows and columns, and the odd ones (DARTS's shifted stride-2 conv), even and odd sizes, with their gradients", async () => {
    for (const shape of [
      [2, 6, 8, 3],
      [1, 5, 7, 2],
      [1, 4, 3, 2],
    ]) {
      const x = randomTensor(shape, 12) as tf.Tensor4D;
      const [n, h, w, c] = shape;
      const [even, odd] = evenAndOddSamples(x);
      // x[i, j] at even (i, j), and x[i + 1, j + 1] (DARTS: conv_2(x[:, :, 1:, 1:]), stride 2)
      // at even (i, j), zero past the edge (the odd size's padding).
      const values = (await x.data()) as Float32Array;
      const at = (b: number, i: number, j: number, ch: number) =>
        i < h && j < w ? values[((b * h + i) * w + j) * c + ch] : 0;
      const h2 = Math.ceil(h / 2);
      const w2 = Math.ceil(w / 2);
      expect(even.shape).toEqual([n, h2, w2, c]);
      expect(odd.shape).toEqual([n, h2, w2, c]);
      const evenValues = await even.data();
      const oddValues = await odd.data();
      for (let b = 0; b < n; b++)
        for (let i = 0; i < h2; i++)
          for (let j = 0; j < w2; j++)
            for (let ch = 0; ch < c; ch++) {
              const k = ((b * h2 + i) * w2 + j) * c + ch;
              expect(evenValues[k], `even ${shape} [${b},${i},${j},${ch}]`).toBe(at(b, 2 * i, 2 * j, ch));
              expect(oddValues[k], `odd ${shape} [${b},${i},${j},${ch}]`).toBe(at(b, 2 * i + 1, 2 * j + 1, ch));
            }
      // The old formulation: subsample2 of x, and of x shifted by one.
      const padded =
        h % 2 || w % 2
          ? (tf.pad(x, [
              [0, 0],
              [0, h % 2],
              [0, w % 2],
              [0, 0],
            ]) as tf.Tensor4D)
          : x;
      const shiftedPadded = tf.slice(padded, [0, 1, 1, 0], [n, h + (h % 2) - 1, w + (w % 2) - 1, c]) as tf.Tensor4D;
      expect(Array.from(await subsample2(shiftedPadded).data())).toEqual(Array.from(oddValues));
      const err = await gradientError((a) => tf.concat(evenAndOddSamples(a as tf.Tensor4D), 3), [x]);
      expect(err, `gradient ${shape}`).toBeLessThan(TOLERANCE);
    }
  });

  it('conv1x1 gradients match finite differences', async () => {
    const x = randomTensor([2, 5, 5, 3], 10);
    const w = randomTensor([3, 2], 11);
    expect(await gradientError((a, b) => conv1x1(a as tf.Tensor4D, b as tf.Tensor2D, 2), [x, w])).toBeLessThan(
      TOLERANCE,
    );
  });
});

describe('pooling and normalisation', () => {
  it('avg pool excludes padding from the count (count_include_pad=False) and its gradient is exact', async () => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4, 1],
    );
    const y = await avgPool3x3(x, 1).data();
    // Corner (0,0) averages {0,1,4,5} = 2.5; an inner pixel averages 9 values.
    expect(y[0]).toBeCloseTo(2.5, 5);
    expect(y[5]).toBeCloseTo((0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9, 5);
    const ys2 = await avgPool3x3(x, 2).data();
    expect(ys2.length).toBe(4);
    expect(ys2[0]).toBeCloseTo(2.5, 5);
    // tfjs's own AvgPoolGrad divides by 9 at the border; ours must match finite differences.
    const xr = randomTensor([2, 5, 5, 2], 12);
    expect(await gradientError((a) => avgPool3x3(a as tf.Tensor4D, 1), [xr])).toBeLessThan(TOLERANCE);
    expect(await gradientError((a) => avgPool3x3(a as tf.Tensor4D, 2), [xr])).toBeLessThan(TOLERANCE);
  });

  it('max pool: padding never wins; gradient matches finite differences', async () => {
    const x = tf.tensor4d([-5, -6, -7, -8], [1, 2, 2, 1]);
    expect(Array.from(await maxPool3x3(x, 1).data())).toEqual([-5, -5, -5, -5]);
    // Distinct values 0.1 apart: a ±1e-2 finite difference never crosses a window's max switch.
    const order = new Random(13).shuffle(Array.from({ length: 72 }, (_, i) => i * 0.1));
    const xr = tf.tensor4d(order, [1, 6, 6, 2]);
    for (const f of ['native', 'portable'] as const)
      for (const stride of [1, 2] as const)
        expect(
          await gradientError(
            (a) => withKernelOptions({ convFormulation: f }, () => maxPool3x3(a as tf.Tensor4D, stride)),
            [xr],
          ),
          `${f} stride ${stride}`,
        ).toBeLessThan(TOLERANCE);
  });

  it('batch norm normalises per channel and differentiates with and without affine parameters', async () => {
    const x = randomTensor([4, 3, 3, 2], 14, 3);
    const y = batchNorm(x as tf.Tensor4D, null, null);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    (await mean.data()).forEach((m) => expect(m).toBeCloseTo(0, 5));
    (await variance.data()).forEach((v) => expect(v).toBeCloseTo(1, 3));
    const gamma = randomTensor([2], 15);
    const beta = randomTensor([2], 16);
    expect(await gradientError((a) => batchNorm(a as tf.Tensor4D, null, null), [x], 3, 1e-2)).toBeLessThan(TOLERANCE);
    expect(
      await gradientError(
        (a, g, b) => batchNorm(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
        [x, gamma, beta],
      ),
    ).toBeLessThan(TOLERANCE);
  });

  it('channel shuffle interleaves groups like PyTorch channel_shuffle', async () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 1, 1, 6]);
    expect(Array.from(await channelShuffle(x, 2).data())).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('cross-entropy equals −log softmax of the true class', async () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const loss = (await crossEntropy(logits, tf.tensor1d([2, 0], 'int32')).data())[0];
    const expected = (-Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))) + Math.log(3)) / 2;
    expect(loss).toBeCloseTo(expected, 5);
  });
});

describe('activations', () => {
  const ctx = (training: boolean) => ({ training, rng: new Random(3) });
  const params = (): ActivationParams => ({ preluSlope: tf.tensor1d([0.25, 0.1, -0.2]), swishBeta: tf.scalar(1.5) });

  it("each activation has the paper's values at chosen points", async () => {
    const x = tf.tensor4d([-2, -0.5, 0.5, 1, 3, 7], [1, 1, 2, 3]);
    const values = async (name: (typeof ACTIVATIONS)[number], training = false) =>
      Array.from(await activation(name, x, params(), ctx(training)).data());
    const close = (got: number[], want: number[]) => got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    close(await values('relu'), [0, 0, 0.5, 1, 3, 7]);
    close(await values('relu6'), [0, 0, 0.5, 1, 3, 6]);
    close(await values('leaky_relu'), [-0.02, -0.005, 0.5, 1, 3, 7]);
    // PReLU slopes are per channel (channels: 0.25, 0.1, −0.2).
    close(
      await values('prelu'),
      [-0.5, -0.05, 0.5, 1 * 1, 3, 7].map((v, i) => (i === 0 ? -0.5 : i === 1 ? -0.05 : v)),
    );
    close(await values('rrelu'), [(-2 * (1 / 8 + 1 / 3)) / 2, (-0.5 * (1 / 8 + 1 / 3)) / 2, 0.5, 1, 3, 7]);
    close(await values('elu'), [Math.exp(-2) - 1, Math.exp(-0.5) - 1, 0.5, 1, 3, 7]);
    close(await values('celu'), [Math.exp(-2) - 1, Math.exp(-0.5) - 1, 0.5, 1, 3, 7]);
    const selu = (v: number) => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (Math.exp(v) - 1));
    close(await values('selu'), [-2, -0.5, 0.5, 1, 3, 7].map(selu));
    const swish = (v: number) => v / (1 + Math.exp(-1.5 * v));
    close(await values('swish'), [-2, -0.5, 0.5, 1, 3, 7].map(swish));
  });

  it('RReLU draws per-element slopes in [1/8, 1/3) in training, reproducibly from the seed', async () => {
    const x = tf.fill([1, 4, 4, 8], -1) as tf.Tensor4D;
    const a = Array.from(await activation('rrelu', x, {}, ctx(true)).data());
    const b = Array.from(await activation('rrelu', x, {}, ctx(true)).data());
    expect(a).toEqual(b); // same seed, same slopes
    const slopes = a.map((v) => -v);
    expect(Math.min(...slopes)).toBeGreaterThanOrEqual(1 / 8 - 1e-6);
    expect(Math.max(...slopes)).toBeLessThan(1 / 3);
    expect(new Set(slopes.map((s) => s.toFixed(5))).size).toBeGreaterThan(100);
    const rng = new Random(3);
    const first = Array.from(await activation('rrelu', x, {}, { training: true, rng }).data());
    const second = Array.from(await activation('rrelu', x, {}, { training: true, rng }).data());
    expect(first).not.toEqual(second); // new slopes every step
  });

  it("every activation's gradient (input and learned parameters) matches finite differences", async () => {
    // Avoid the kinks at 0 and 6 where finite differences are not defined.
    const x = tf.tensor4d([-2.1, -0.7, 0.4, 1.3, 2.2, 4.9, -1.4, 0.9, 7.3, -3.3, 5.1, 0.3], [1, 2, 2, 3]);
    for (const name of ACTIVATIONS) {
      const slope = tf.tensor1d([0.25, 0.1, -0.2]);
      const b = tf.scalar(1.5);
      // Differentiate only with respect to what the activation uses (tf.grads insists).
      const learned = name === 'prelu' ? [slope] : name === 'swish' ? [b] : [];
      const f = (input: tf.Tensor, p?: tf.Tensor) =>
        activation(
          name,
          input as tf.Tensor4D,
          { preluSlope: name === 'prelu' ? (p as tf.Tensor1D) : slope, swishBeta: name === 'swish' ? p : b },
          { training: false, rng: new Random(1) },
        );
      const err = await gradientError(f as (...xs: tf.Tensor[]) => tf.Tensor, [x, ...learned], 3, 1e-3);
      expect(err, name).toBeLessThan(TOLERANCE);
    }
  });

  it('the mixed activation is the softmax(β)-weighted sum, and β gets the right gradient', async () => {
    const x = randomTensor([1, 3, 3, 3], 20) as tf.Tensor4D;
    const beta = randomTensor([9], 21);
    const p = params();
    const mixed = await mixedActivation(x, tf.softmax(beta) as tf.Tensor1D, ACTIVATIONS, p, ctx(false)).data();
    const w = await tf.softmax(beta).data();
    const expected = new Float32Array(mixed.length);
    for (let i = 0; i < ACTIVATIONS.length; i++) {
      const a = await activation(ACTIVATIONS[i], x, p, ctx(false)).data();
      a.forEach((v, j) => (expected[j] += w[i] * v));
    }
    mixed.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    const err = await gradientError(
      (input, b) => mixedActivation(input as tf.Tensor4D, tf.softmax(b) as tf.Tensor1D, ACTIVATIONS, p, ctx(false)),
      [x, beta],
      4,
      1e-3,
    );
    expect(err).toBeLessThan(TOLERANCE);
  });

  it('the recomputing mixed activation equals the autodiff one in value and every gradient', async () => {
    const x = tf.tensor4d([-2.1, -0.7, 0.4, 1.3, 2.2, 4.9, -1.4, 0.9, 7.3, -3.3, 5.1, 0.3], [1, 2, 2, 3]);
    const beta = randomTensor([9], 22);
    const slope = tf.tensor1d([0.25, 0.1, -0.2]);
    const b = tf.scalar(1.5);
    for (const training of [false, true]) {
      const run = (fused: boolean) => {
        const f = (xi: tf.Tensor, be: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) => {
          const c = { training, rng: new Random(9) };
          const w = tf.softmax(be) as tf.Tensor1D;
          const p = { preluSlope: a as tf.Tensor1D, swishBeta: bb };
          const y = fused
            ? mixedActivationAll(xi as tf.Tensor4D, w, p, c)
            : mixedActivation(xi as tf.Tensor4D, w, ACTIVATIONS, p, c);
          return tf.sum(tf.mul(y, tf.range(1, 13).reshape([1, 2, 2, 3])));
        };
        return tf.valueAndGrads(f as (...xs: tf.Tensor[]) => tf.Scalar)([x, beta, slope, b]);
      };
      const reference = run(false);
      const fused = run(true);
      expect((await fused.value.data())[0]).toBeCloseTo((await reference.value.data())[0], 4);
      for (let i = 0; i < 4; i++) {
        const want = await reference.grads[i].data();
        const got = await fused.grads[i].data();
        got.forEach((v, j) => expect(v, `training=${training} input ${i} [${j}]`).toBeCloseTo(want[j], 4));
      }
    }
  });
});
