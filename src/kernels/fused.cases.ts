// Fused kernels against the composite ops they replace, on whatever backend is current: the
// same cases run on cpu and wasm (fused.test.ts) and on webgpu (fused.gpu.test.ts).
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  activationCoefficientMatrix,
  batchNorm,
  batchNormRelu,
  concatChannels,
  conv1x1,
  depthwiseConv,
  groupedConv1x1,
  groupedMixedActivation,
  mixedActivationOf,
  maxPool2x2,
  maxPool3x3,
  mixedActivationAll,
  sumTensors,
} from '../search/ops';
import {
  KERNELS,
  fusedDepthwiseActive,
  fusedFanOut,
  fusedKernelsActive,
  fusedMaxPoolGradActive,
  fusedSgdPackedStep,
  fusedWeightedSum,
} from './fused';
import { withKernelOptions } from './options';
import { countKernels } from '../bench/kernels';

import { Random } from '../util/random';
import { SgdMomentum, clipScale, globalNorm } from '../search/optimizer';

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  const rng = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => shift + rng.normal() * scale),
    shape,
  );
}

/** Value and every input gradient of Σ f(inputs) ⊙ R, with the fused kernels on or off. */
async function valueAndGrads(
  fused: boolean,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  seed: number,
): Promise<Float32Array[]> {
  const outputs = withKernelOptions({ fused }, () =>
    tf.tidy(() => {
      const projection = randomTensor(f(...inputs).shape, seed);
      const g = tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), projection)) as tf.Scalar);
      const { value, grads } = g(inputs);
      return [tf.keep(f(...inputs)), ...grads.map((t) => tf.keep(t)), tf.keep(value)];
    }),
  );
  return outputs.reduce(
    async (acc, t) => [...(await acc), (await t.data()) as Float32Array],
    Promise.resolve([] as Float32Array[]),
  );
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

/** ReLU(non-affine batch norm), fused into the batch norm's kernels, against the two ops. */
export async function checkBatchNormRelu(shape: number[], seed = 5): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const x = randomTensor(shape, seed, 2, 0.5);
  const f = (xi: tf.Tensor) => batchNormRelu(xi as tf.Tensor4D);
  const want = await valueAndGrads(false, f, [x], seed + 3);
  const got = await valueAndGrads(true, f, [x], seed + 3);
  expect(want[0].some((v) => v === 0) && want[0].some((v) => v > 0), 'both sides of the ReLU are reached').toBe(true);
  got.slice(0, -1).forEach((g, i) => expectClose(g, want[i], `batch norm + relu ${shape} ${i === 0 ? 'value' : 'dx'}`));
}

/**
 * The depthwise conv with the lab's gradient kernels (webgpu) against tfjs's own kernels (with
 * spaceToBatchND for a dilation): value, dx and the filter's gradient.
 */
export async function checkDepthwise(
  shape: number[],
  k: number,
  stride: 1 | 2,
  dilation: number,
  seed = 21,
): Promise<void> {
  expect(fusedDepthwiseActive(), `depthwise gradient kernels on ${tf.getBackend()}`).toBe(true);
  const x = randomTensor(shape, seed);
  const w = randomTensor([k, k, shape[3], 1], seed + 1, 0.5);
  const f = (xi: tf.Tensor, wi: tf.Tensor) => depthwiseConv(xi as tf.Tensor4D, wi as tf.Tensor4D, stride, dilation);
  const want = await valueAndGrads(false, f as (...xs: tf.Tensor[]) => tf.Tensor, [x, w], seed + 2);
  const got = await valueAndGrads(true, f as (...xs: tf.Tensor[]) => tf.Tensor, [x, w], seed + 2);
  const names = ['value', 'dx', 'dfilter'];
  // The filter's gradient sums n·h·w products in another order: a looser absolute bound.
  got
    .slice(0, -1)
    .forEach((g, i) =>
      expectClose(
        g,
        want[i],
        `depthwise ${shape} k=${k} stride ${stride} dilation ${dilation} ${names[i]}`,
        2e-5,
        i === 2 ? 1e-4 : 2e-5,
      ),
    );
}

/**
 * groupedConv1x1: the fused kernel equals the composite op (a batched matMul between transposes),
 * and both equal the k convs run one group at a time (slices, conv1x1, concat), in value and
 * every gradient. inC ≠ outC catches a weight read in the wrong order.
 */
export async function checkGroupedPointwise(
  rows: number[],
  groups: number,
  inC: number,
  outC: number,
  seed = 61,
): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const x = randomTensor([...rows, groups * inC], seed);
  const w = randomTensor([groups, inC, outC], seed + 1, 0.5);
  const grouped = (xi: tf.Tensor, wi: tf.Tensor) => groupedConv1x1(xi as tf.Tensor4D, wi as tf.Tensor3D);
  const oneByOne = (xi: tf.Tensor, wi: tf.Tensor) => {
    const [n, h, wd] = xi.shape;
    const parts = Array.from({ length: groups }, (_, g) =>
      conv1x1(
        tf.slice(xi, [0, 0, 0, g * inC], [n, h, wd, inC]) as tf.Tensor4D,
        tf.reshape(tf.slice(wi, [g, 0, 0], [1, inC, outC]), [inC, outC]) as tf.Tensor2D,
      ),
    );
    return tf.concat(parts, 3);
  };
  const reference = await valueAndGrads(false, oneByOne as (...xs: tf.Tensor[]) => tf.Tensor, [x, w], seed + 2);
  const composite = await valueAndGrads(false, grouped as (...xs: tf.Tensor[]) => tf.Tensor, [x, w], seed + 2);
  const fused = await valueAndGrads(true, grouped as (...xs: tf.Tensor[]) => tf.Tensor, [x, w], seed + 2);
  const names = ['value', 'dx', 'dweight'];
  for (const [label, got] of [
    ['composite', composite],
    ['fused', fused],
  ] as const)
    // The weight's gradient sums n·h·w products in another order: a looser absolute bound.
    got
      .slice(0, -1)
      .forEach((g, i) =>
        expectClose(
          g,
          reference[i],
          `grouped 1x1 ${label} ${rows} ${groups}×${inC}→${outC} ${names[i]}`,
          2e-5,
          i === 2 ? 1e-4 : 2e-5,
        ),
      );
  const { byName } = await countKernels(async () => {
    const y = grouped(x, w);
    await y.data();
    y.dispose();
  });
  expect(byName.get(KERNELS.groupedPointwise), 'one kernel forward').toBe(1);
  tf.dispose([x, w]);
}

const SUM_TERM_SHAPE = [4, 8, 8, 8];
const SUM_TERM_BYTES = 4 * 4 * 8 * 8 * 8;

/**
 * What the tape keeps for the backward pass of a sum: the bytes alive when the backward pass
 * starts (a probe's gradient runs first) beyond those before the forward pass, for terms made
 * inside the differentiated function. Bytes, not buffers: wasm's clone of a saved input is a
 * copy, so a small tensor alive outside (the weights) adds a small buffer per kernel there.
 */
async function bytesAtBackward(sum: (terms: tf.Tensor[]) => tf.Tensor, count: number): Promise<number> {
  let seen = -1;
  const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => {
      seen = tf.memory().numBytes;
      return [dy];
    },
  }));
  const a = randomTensor(SUM_TERM_SHAPE, 31);
  const before = tf.memory().numBytes;
  // Neg saves nothing, so a term stays alive only if the sum's own gradient keeps it.
  const grad = tf.grad((x: tf.Tensor) => tf.sum(probe(sum(Array.from({ length: count }, () => tf.neg(x))))))(a);
  await grad.data();
  tf.dispose([a, grad]);
  return seen - before;
}

/**
 * fusedFanOut: 11 handles on x share its buffer (no buffer added) and read as x; x's gradient is
 * the sum of theirs in 3 AddN kernels (7 + 4, then the 2 partial sums) and no Add, also when the
 * caller takes the handles off the array it was given (the engine's tape keeps that array).
 */
export async function checkFanOut(): Promise<void> {
  const x = randomTensor([2, 3, 3, 5], 51);
  const buffers = tf.memory().numDataBuffers;
  const handles = fusedFanOut(x, 11);
  expect(tf.memory().numDataBuffers, 'data buffers added by 11 handles').toBe(buffers);
  expect(Array.from(await handles[10].data())).toEqual(Array.from(await x.data()));
  tf.dispose(handles);
  expect(tf.memory().numDataBuffers, 'data buffers after the handles are disposed').toBe(buffers);
  // Σ_i i·Σ h_i² over handles i = 1…11: gradient 2·(1 + … + 11)·x = 132·x.
  let grad: tf.Tensor | null = null;
  const { byName } = await countKernels(async () => {
    grad = tf.grad((v: tf.Tensor) => {
      const hs = fusedFanOut(v, 11);
      const terms: tf.Tensor[] = [];
      while (hs.length) {
        const weight = hs.length;
        terms.push(tf.mul(tf.sum(tf.square(hs.pop()!)), weight));
      }
      return tf.sum(tf.stack(terms));
    })(x);
    await grad.data();
  });
  const expected = tf.tidy(() => tf.mul(x, 132));
  expectClose(
    (await grad!.data()) as Float32Array,
    (await expected.data()) as Float32Array,
    'fan-out gradient',
    1e-6,
    1e-6,
  );
  expect(byName.get(KERNELS.addN), "AddN kernels summing 11 handles' gradients").toBe(3);
  expect(byName.get('Add') ?? 0, 'Add kernels').toBe(0);
  tf.dispose([x, grad!, expected]);
}

/**
 * Sums keep nothing for the backward pass: ops.sumTensors (a node's incoming edges), and a mixed
 * edge's weighted sum beyond its op outputs (its α gradient reads them), not its partial sums.
 */
export async function checkSumsKeepNothing(): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  // tfjs's own AddN would keep the 3 more terms.
  expect(
    (await bytesAtBackward(sumTensors, 5)) - (await bytesAtBackward(sumTensors, 2)),
    'bytes of terms kept by sumTensors',
  ).toBe(0);
  const weights = randomTensor([40], 32);
  const weighted = (terms: tf.Tensor[]) =>
    fusedWeightedSum(
      terms as tf.Tensor4D[],
      weights as tf.Tensor1D,
      terms.map((_, j) => j),
    );
  // 13 outputs: 3 partial sums of at most 6; 6 outputs: 1. The 7 more outputs are kept, and at
  // most two more copies of the 40 weights (wasm), but no partial sum.
  const extra = (await bytesAtBackward(weighted, 13)) - (await bytesAtBackward(weighted, 6));
  expect(extra, 'bytes kept by the weighted sum beyond 7 outputs').toBeGreaterThanOrEqual(7 * SUM_TERM_BYTES);
  expect(extra, 'bytes kept by the weighted sum beyond 7 outputs').toBeLessThanOrEqual(7 * SUM_TERM_BYTES + 2 * 4 * 40);
  weights.dispose();
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
    mixedActivationAll(
      xi as tf.Tensor4D,
      tf.softmax(be) as tf.Tensor1D,
      { preluSlope: a as tf.Tensor1D, swishBeta: bb },
      { training, rng: new Random(5) },
    );
  const inputs = [x, beta, slope, b];
  const want = await valueAndGrads(false, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const got = await valueAndGrads(true, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 3);
  const names = ['value', 'dx', 'dβ', 'dPReLU slope', 'dSwish b'];
  // Parameter gradients sum thousands of terms: float32 order of summation differs.
  got
    .slice(0, -1)
    .forEach((g, i) =>
      expectClose(
        g,
        want[i],
        `mixed activation ${shape} training=${training} ${names[i]}`,
        i < 2 ? 2e-5 : 1e-4,
        i < 2 ? 2e-5 : 1e-4,
      ),
    );
}

/**
 * The mixed activations of `groups` edges reading one x in one kernel (groupedMixedActivation)
 * against each edge's own mixed activation (composite ops) side by side: value, dx, each edge's
 * β, PReLU slopes and Swish b; RReLU's slopes drawn edge by edge from one seed alike.
 */
export async function checkGroupedMixedActivation(
  shape: number[],
  groups: number,
  training: boolean,
  seed = 71,
): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const c = shape[3];
  const x = randomTensor(shape, seed, 4, 0.5);
  const beta = randomTensor([groups, 9], seed + 1);
  const slope = randomTensor([groups * c], seed + 2, 0.2, 0.25);
  const b = randomTensor([groups], seed + 3, 0.3, 1);
  const f = (xi: tf.Tensor, be: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) => {
    const ctx = { training, rng: new Random(5) };
    const coefficients = activationCoefficientMatrix(tf.softmax(be) as tf.Tensor2D);
    if (fusedKernelsActive())
      return groupedMixedActivation(xi as tf.Tensor4D, coefficients, a as tf.Tensor1D, bb as tf.Tensor1D, ctx);
    const rows = tf.unstack(coefficients) as tf.Tensor1D[];
    const slopes = tf.split(a, groups) as tf.Tensor1D[];
    const bs = tf.unstack(bb);
    return concatChannels(
      rows.map((row, g) => mixedActivationOf(xi as tf.Tensor4D, row, { preluSlope: slopes[g], swishBeta: bs[g] }, ctx)),
    );
  };
  const inputs = [x, beta, slope, b];
  const want = await valueAndGrads(false, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 4);
  const got = await valueAndGrads(true, f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, seed + 4);
  const names = ['value', 'dx', 'dβ', 'dPReLU slope', 'dSwish b'];
  got
    .slice(0, -1)
    .forEach((g, i) =>
      expectClose(
        g,
        want[i],
        `${groups} mixed activations ${shape} training=${training} ${names[i]}`,
        i < 2 ? 2e-5 : 1e-4,
        i < 2 ? 2e-5 : 1e-4,
      ),
    );
  const { byName } = await countKernels(async () => {
    const y = tf.tidy(() => f(x, beta, slope, b));
    await y.data();
    y.dispose();
  });
  expect(byName.get(KERNELS.mixForward), 'one kernel for the edges').toBe(1);
  tf.dispose([x, beta, slope, b]);
}

/**
 * Three SGD-with-momentum steps with gradient clipping, fused against composite: weights,
 * momentum buffers and the global norm (shapes from a scalar, Swish's b, to more than a
 * workgroup, and more tensors than one sum-of-squares kernel takes).
 */
export async function checkSgd(seed = 21): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const shapes = [[], [3], [5, 4], [3, 3, 7, 1], [130], [16, 16], [2], [9], [1, 1, 1, 3], [70, 3]];
  const run = async (fused: boolean) => {
    const vars = shapes.map((s, i) => tf.variable(randomTensor(s, seed + i), true, `sgd_${fused}_${seed}_${i}`));
    const optimizer = new SgdMomentum(vars, 0.9, 3e-4);
    const norms: number[] = [];
    for (let step = 0; step < 3; step++) {
      const grads = new Map(
        vars.map((v, i) => [v, randomTensor(v.shape, 100 * step + i, 2)] as [tf.Variable, tf.Tensor]),
      );
      norms.push((await withKernelOptions({ fused }, () => globalNorm([...grads.values()])).data())[0]);
      withKernelOptions({ fused }, () => optimizer.apply(grads, 0.05 - 0.01 * step, clipScale(grads, 5)));
    }
    const state = await optimizer.getState();
    const weights = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
    vars.forEach((v) => v.dispose());
    optimizer.dispose();
    return { norms, weights, buffers: state.slots.momentum.map((m) => m.values) };
  };
  const want = await run(false);
  const got = await run(true);
  expectClose(Float32Array.from(got.norms), Float32Array.from(want.norms), 'global gradient norms', 1e-5, 1e-6);
  expect(want.norms[0], 'the norm is large enough that clipping acts').toBeGreaterThan(5);
  got.weights.forEach((w, i) => expectClose(w, want.weights[i], `weights ${i} (shape ${shapes[i]})`, 1e-5, 1e-6));
  got.buffers.forEach((b, i) => expectClose(b, want.buffers[i], `momentum ${i}`, 1e-5, 1e-6));
}

/**
 * A mixed edge's weighted sum, fused against multiply-and-add: value, each op output's gradient
 * and the weights' gradient (zero for the ops left out, as none). `count` outputs out of
 * `width` candidates: 7 of 8 (darts), 39 of 40 (non-factorized: several kernels chained).
 */
export async function checkWeightedSum(
  shape: number[],
  count: number,
  width: number,
  seed = 31,
  weightIndices?: number[],
): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const outputs = Array.from({ length: count }, (_, j) => randomTensor(shape, seed + j));
  const weights = tf.softmax(randomTensor([width], seed + 100)) as tf.Tensor1D;
  const indices = weightIndices ?? Array.from({ length: count }, (_, j) => width - count + j); // none (0) left out
  expect(indices.length).toBe(count);
  const f = (...xs: tf.Tensor[]) => {
    const ws = xs[xs.length - 1] as tf.Tensor1D;
    const outs = xs.slice(0, -1) as tf.Tensor4D[];
    if (fusedKernelsActive()) return fusedWeightedSum(outs, ws, indices);
    const scalars = tf.unstack(ws);
    return sumTensors(outs.map((o, j) => tf.mul(o, scalars[indices[j]])));
  };
  const want = await valueAndGrads(false, f, [...outputs, weights], seed + 200);
  const got = await valueAndGrads(true, f, [...outputs, weights], seed + 200);
  got.slice(0, -1).forEach((g, i) =>
    // The weights' gradient is a dot product over every element: float32 order of summation.
    expectClose(
      g,
      want[i],
      `weighted sum ${shape} ${count}/${width} ${i === 0 ? 'value' : i <= count ? `d output ${i - 1}` : 'd weights'}`,
      i <= count ? 1e-5 : 1e-4,
      i <= count ? 1e-5 : 1e-4,
    ),
  );
  expect(got[count + 1][0], 'the left-out op (none) gets a zero gradient').toBe(0);
}

/**
 * A weighted sum whose terms read one slot of tensors holding several edges' outputs side by side
 * (grouped convs' results, read in place), one of them twice: value, each tensor's gradient (its
 * slots' scaled dy, zeros elsewhere) and the weights' gradient, against slicing and multiplying.
 */
export async function checkWeightedSumViews(seed = 81): Promise<void> {
  expect(fusedKernelsActive(), `fused kernels on ${tf.getBackend()}`).toBe(true);
  const [n, h, w, c] = [2, 5, 4, 3];
  const tensors = [
    randomTensor([n, h, w, 3 * c], seed),
    randomTensor([n, h, w, c], seed + 1),
    randomTensor([n, h, w, 2 * c], seed + 2),
  ];
  const weights = tf.softmax(randomTensor([40], seed + 3)) as tf.Tensor1D;
  const reads = [
    { tensor: 0, view: { groups: 3, slot: 1 } },
    { tensor: 1, view: { groups: 1, slot: 0 } },
    { tensor: 2, view: { groups: 2, slot: 0 } },
    { tensor: 0, view: { groups: 3, slot: 2 } },
  ];
  const indices = [5, 17, 23, 39];
  const f = (...xs: tf.Tensor[]) => {
    const ws = xs[xs.length - 1] as tf.Tensor1D;
    const outs = reads.map((r) => xs[r.tensor] as tf.Tensor4D);
    if (fusedKernelsActive())
      return fusedWeightedSum(
        outs,
        ws,
        indices,
        reads.map((r) => r.view),
      );
    const scalars = tf.unstack(ws);
    return sumTensors(
      outs.map((o, j) => tf.mul(tf.slice(o, [0, 0, 0, reads[j].view.slot * c], [n, h, w, c]), scalars[indices[j]])),
    );
  };
  const want = await valueAndGrads(false, f, [...tensors, weights], seed + 4);
  const got = await valueAndGrads(true, f, [...tensors, weights], seed + 4);
  const names = ['value', 'd grouped 3', 'd plain', 'd grouped 2', 'd weights'];
  got
    .slice(0, -1)
    .forEach((g, i) =>
      expectClose(g, want[i], `weighted sum through views: ${names[i]}`, i < 4 ? 1e-5 : 1e-4, i < 4 ? 1e-5 : 1e-4),
    );
  const unread = got[3].filter((_, i) => i % (2 * c) >= c);
  expect(unread.length).toBe(n * h * w * c);
  expect(
    unread.every((v) => v === 0),
    'the unread slot of the 2-slot tensor gets zeros',
  ).toBe(true);
  tf.dispose([...tensors, weights]);
}

/**
 * A node's sum: the 35 op outputs of 5 edges (the 7 ops of each, none left out) weighted from the
 * cell's flattened softmax(α) of 14 edges × 8 ops, so indices run past 64 (edges 9 to 13).
 */
export const NODE_SUM_INDICES = [9, 10, 11, 12, 13].flatMap((edge) => [1, 2, 3, 4, 5, 6, 7].map((op) => edge * 8 + op));

/**
 * The portable max pool's gradient (wasm's formulation), fused against its composite routing:
 * values on a coarse grid so windows tie, and the gradient must go to the first maximum in
 * row-major order, as PyTorch routes it. Odd sizes exercise the edge windows at stride 2.
 * size 3: the 3×3 pool of the mixed ops; size 2: PC-DARTS's 2×2 'same' bypass pool.
 */
export async function checkMaxPoolGrad(shape: number[], size: 2 | 3, stride: 1 | 2, seed = 41): Promise<void> {
  expect(fusedMaxPoolGradActive(), `the max pool gradient kernel on ${tf.getBackend()}`).toBe(true);
  const rng = new Random(seed);
  const total = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: total }, () => Math.floor(rng.next() * 4));
  const x = tf.tensor(values, shape);
  // The portable pools are the ones whose gradient the fused kernel replaces.
  const f = (xi: tf.Tensor) =>
    withKernelOptions({ convFormulation: 'portable' }, () =>
      size === 3 ? maxPool3x3(xi as tf.Tensor4D, stride) : maxPool2x2(xi as tf.Tensor4D),
    );
  const want = await valueAndGrads(false, f, [x], seed + 1);
  const got = await valueAndGrads(true, f, [x], seed + 1);
  got
    .slice(0, -1)
    .forEach((g, i) =>
      expectClose(
        g,
        want[i],
        `max pool ${size}x${size} ${shape} stride ${stride} ${i === 0 ? 'value' : 'dx'}`,
        0,
        1e-6,
      ),
    );
  // The case has ties to break (when it has 16 windows or more): some window of the first
  // image holds its maximum twice.
  const [, h, w, c] = shape;
  let tiedWindows = 0;
  for (let y = 0; y + size <= h; y++)
    for (let xx = 0; xx + size <= w; xx++) {
      const window: number[] = [];
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) window.push(values[((y + i) * w + xx + j) * c]);
      if (window.filter((v) => v === Math.max(...window)).length > 1) tiedWindows++;
    }
  if ((h - size + 1) * (w - size + 1) >= 16) expect(tiedWindows, 'windows with a tied maximum').toBeGreaterThan(0);
}

/**
 * The max pools' gradients on this backend against cpu's own MaxPoolGrad, on values without
 * ties (tfjs-backend-wasm 4.22's MaxPoolGrad drops the gradient of windows whose maximum is
 * negative).
 */
export async function checkMaxPoolAgainstCpu(shape: number[], size: 2 | 3, stride: 1 | 2, seed = 43): Promise<void> {
  const rng = new Random(seed);
  const total = shape.reduce((a, b) => a * b, 1);
  // Negative values too: wasm's MaxPoolGrad dropped the gradient of windows whose maximum is
  // negative.
  const values = Float32Array.from({ length: total }, () => rng.next() * 2 - 1);
  const gradient = async (): Promise<Float32Array> => {
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    // A different gradient for every output: a gradient routed to the wrong window shows.
    const g = tf.grad((xi: tf.Tensor) => {
      const y = size === 3 ? maxPool3x3(xi as tf.Tensor4D, stride) : maxPool2x2(xi as tf.Tensor4D);
      return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
    });
    const d = g(x);
    const out = (await d.data()) as Float32Array;
    tf.dispose([x, d]);
    return out;
  };
  const backend = tf.getBackend();
  const got = await gradient();
  await tf.setBackend('cpu');
  let want: Float32Array;
  try {
    want = await gradient();
  } finally {
    await tf.setBackend(backend);
  }
  expectClose(got, want, `max pool ${size}x${size} ${shape} stride ${stride} on ${backend} against cpu`, 0, 1e-6);
}

/**
 * webgpu: SGD with ω and its momentum packed in one buffer (packed-sgd.ts) against the two-kernel
 * fused SGD, over a run that also restores a checkpoint and reassigns weights between steps.
 * The arithmetic is the same expression in both, so the results should agree to rounding.
 */
export async function checkPackedSgd(): Promise<void> {
  expect(tf.getBackend()).toBe('webgpu');
  const shapes = [[3], [5, 4], [3, 3, 7, 1], [130], [16, 16], [1, 1, 1, 3], [70, 3]];
  const run = async (packed: boolean) => {
    const vars = shapes.map((s, i) => tf.variable(randomTensor(s, 40 + i), true, `packed_${packed}_${i}`));
    let optimizer = new SgdMomentum(vars, 0.9, 3e-4);
    const gradsOf = (step: number) =>
      new Map(vars.map((v, i) => [v, randomTensor(v.shape, 300 * step + i, 2)] as [tf.Variable, tf.Tensor]));
    const dispatches: number[] = [];
    const tensorsAfter: number[] = [];
    const trajectory: Float32Array[] = [];
    const unrolledMomentum: Float32Array[] = [];
    for (let step = 0; step < 5; step++) {
      const grads = gradsOf(step);
      const scale = clipScale(grads, 5);
      const before = tf.memory().numTensors;
      const counted = await countKernels(async () =>
        withKernelOptions({ packedSgd: packed }, () => optimizer.apply(grads, 0.05 - 0.005 * step, scale)),
      );

      tensorsAfter.push(tf.memory().numTensors - before);
      // Read after every update: tfjs caches what it read, and the update is in place.
      trajectory.push(...(await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array))));
      dispatches.push(
        (counted.byName.get(KERNELS.sgdPacked) ?? 0) +
          (counted.byName.get(KERNELS.sgdMomentum) ?? 0) +
          (counted.byName.get(KERNELS.sgdApply) ?? 0),
      );
      [...grads.values()].forEach((g) => g.dispose());
      scale?.dispose();
      if (step === 1) {
        // A checkpoint round trip: a new optimiser, the slots and weights written back.
        const state = await optimizer.getState();
        const weights = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
        expect(
          weights.map((w) => w.length),
          'a read gives the weights alone',
        ).toEqual(vars.map((v) => v.size));
        optimizer.dispose();
        optimizer = new SgdMomentum(vars, 0.9, 3e-4);
        optimizer.setState(state);
        vars.forEach((v, i) => v.assign(tf.tensor(weights[i], v.shape)));
      }
      if (step === 3) vars[2].assign(tf.mul(vars[2], 0.5)); // weights assigned between steps
      // DARTS's unrolled step reads μ·buf between updates.
      if (step === 2) {
        const moments: tf.Tensor[] = [];
        const kernels = await countKernels(async () => vars.forEach((v) => moments.push(optimizer.momentumOf(v))));
        // Packed: one kernel each, read from the buffers, and no copy into the slots (a slice each).
        if (packed)
          expect([kernels.byName.get(KERNELS.packedMomentum), kernels.byName.get('Slice')]).toEqual([
            vars.length,
            undefined,
          ]);
        for (const m of moments) {
          unrolledMomentum.push((await m.data()) as Float32Array);
          m.dispose();
        }
      }
    }
    const state = await optimizer.getState();
    optimizer.dispose();
    // The weights outlive the optimiser, with their values.
    const afterDispose = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
    vars.forEach((v) => v.dispose());
    return {
      weights: trajectory,
      unrolledMomentum,
      afterDispose,
      buffers: state.slots.momentum.map((m) => m.values),
      dispatches,
      tensorsAfter,
    };
  };
  const want = await run(false);
  const got = await run(true);
  expect(want.dispatches, 'two kernels per variable unpacked').toEqual([0, 1, 2, 3, 4].map(() => 2 * shapes.length));
  expect(got.dispatches, 'one dispatch per variable packed').toEqual([0, 1, 2, 3, 4].map(() => shapes.length));
  expect(got.tensorsAfter, 'tensors an update adds').toEqual([0, 0, 0, 0, 0]);
  got.weights.forEach((w, i) =>
    expectClose(
      w,
      want.weights[i],
      `weights ${i % shapes.length} (shape ${shapes[i % shapes.length]}) after step ${Math.floor(i / shapes.length)}`,
      1e-6,
      1e-7,
    ),
  );
  got.buffers.forEach((b, i) => expectClose(b, want.buffers[i], `momentum ${i}`, 1e-6, 1e-7));
  got.unrolledMomentum.forEach((b, i) =>
    expectClose(b, want.unrolledMomentum[i], `μ·buf ${i} for the unrolled step`, 1e-6, 1e-7),
  );
  const last = got.weights.slice(-shapes.length);
  got.afterDispose.forEach((w, i) =>
    expect(Array.from(w), `weights ${i} after the optimiser is disposed`).toEqual(Array.from(last[i])),
  );
  // The kernel refuses a tensor that is not packed (it would write past the buffer's end).
  const loose = tf.variable(tf.ones([4]));
  expect(() => fusedSgdPackedStep(loose, tf.ones([4]), tf.ones([1]), tf.tensor1d([0.1]), 0.9, 0, false)).toThrow(
    /not packed/,
  );
  loose.dispose();
  // Reads of other tensors are tfjs's own: a complex tensor reads all its values, and a packed
  // one's bytes are its own. A clone of packed weights would change with them: refused.
  expect((await tf.complex([1, 2], [3, 4]).data()).length).toBe(4);
  const start = (await randomTensor([6], 9).data()) as Float32Array;
  const w = tf.variable(tf.tensor(start), true, 'packed_alias');
  const optimizer = new SgdMomentum([w], 0.9, 0);
  const grads = () => new Map([[w, tf.ones([6])] as [tf.Variable, tf.Tensor]]);
  optimizer.apply(grads(), 0.1); // buf = 1, w −= 0.1
  // A read that starts before an update and ends after it gives the values before it, and must
  // not leave them in tfjs's cache (tfjs fills it when the download completes).
  const early = w.data();
  optimizer.apply(grads(), 0.1); // buf = 1.9, w −= 0.19
  expectClose(
    (await early) as Float32Array,
    start.map((x) => x - 0.1),
    'a read issued between the updates',
    1e-6,
    1e-6,
  );
  expectClose(
    (await w.data()) as Float32Array,
    start.map((x) => x - 0.1 - 0.19),
    'a read after both updates',
    1e-6,
    1e-6,
  );
  expect(((await w.bytes()) as Uint8Array).length).toBe(24);
  const alias = w.clone();
  expect(() => optimizer.apply(grads(), 0.1)).toThrow(/shared with another tensor/);
  alias.dispose();
  optimizer.dispose();
  w.dispose();
}
