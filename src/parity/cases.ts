// The parity cases, shared by the Node suites (src/parity/node.ts) and the browser page
// (parity.html, run by e2e): every op and activation of the engine, evaluated as its forward
// value and the gradients of Σ output·R with respect to every input, on the current backend.
//
// Tolerances: float32 kernels that sum in different orders agree to ~1e-6 relative per op; the
// checks allow 1e-4 relative (+1e-5 absolute) per op and 1e-3 on α/β after search steps, where
// differences compound through a network of ~10³ ops.
import * as tf from '@tensorflow/tfjs';
import {
  activation,
  avgPool3x3,
  batchNorm,
  batchNormRelu,
  channelShuffle,
  conv1x1,
  conv2d,
  depthwiseConv,
  maxPool2x2,
  maxPool3x3,
  mixedActivationAll,
  sumTensors,
} from '../search/ops';
import { ACTIVATIONS, makeConfig } from '../search/space';
import { Random } from '../util/random';
import { SearchEngine } from '../search/engine';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';

export const OP_TOLERANCE = { rel: 1e-4, abs: 1e-5 };
export const SEARCH_TOLERANCE = { rel: 1e-3, abs: 1e-4 };

export function values(shape: number[], seed: number, scale = 1): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);
}

export interface ParityCase {
  name: string;
  shapes: number[][];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
}

const ctx = () => ({ training: false, rng: new Random(1) });
export const PARITY_CASES: ParityCase[] = [
  {
    name: 'sumTensors of 9 (AddN chunking)',
    shapes: Array.from({ length: 9 }, () => [2, 3]),
    f: (...xs) => sumTensors(xs),
  },
  {
    name: 'conv1x1 stride 2',
    shapes: [
      [2, 5, 5, 3],
      [3, 4],
    ],
    f: (x, w) => conv1x1(x as tf.Tensor4D, w as tf.Tensor2D, 2),
  },
  {
    name: 'stem conv2d',
    shapes: [
      [2, 6, 6, 3],
      [3, 3, 3, 4],
    ],
    f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D),
  },
  {
    name: 'batch norm (affine)',
    shapes: [[4, 3, 3, 2], [2], [2]],
    f: (x, g, b) => batchNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
  },
  { name: 'batch norm (non-affine)', shapes: [[4, 3, 3, 2]], f: (x) => batchNorm(x as tf.Tensor4D, null, null) },
  { name: "batch norm + relu (SepConv's middle)", shapes: [[4, 3, 3, 2]], f: (x) => batchNormRelu(x as tf.Tensor4D) },
  { name: 'max pool stride 1', shapes: [[2, 5, 5, 2]], f: (x) => maxPool3x3(x as tf.Tensor4D, 1) },
  { name: 'max pool stride 2', shapes: [[2, 6, 6, 2]], f: (x) => maxPool3x3(x as tf.Tensor4D, 2) },
  // PC-DARTS's bypass in reduction cells (wasm's own MaxPoolGrad got this one wrong).
  { name: 'max pool 2x2 (PC-DARTS bypass), even size', shapes: [[2, 6, 6, 2]], f: (x) => maxPool2x2(x as tf.Tensor4D) },
  { name: 'max pool 2x2 (PC-DARTS bypass), odd size', shapes: [[2, 7, 7, 2]], f: (x) => maxPool2x2(x as tf.Tensor4D) },
  { name: 'channel shuffle (PC-DARTS)', shapes: [[2, 3, 3, 8]], f: (x) => channelShuffle(x as tf.Tensor4D, 2) },
  { name: 'avg pool stride 1', shapes: [[2, 5, 5, 2]], f: (x) => avgPool3x3(x as tf.Tensor4D, 1) },
  ...[
    [3, 1, 1],
    [5, 1, 2],
    [3, 2, 1],
    [5, 2, 2],
  ].map(([k, d, s]) => ({
    name: `depthwise k${k} dilation ${d} stride ${s}`,
    shapes: [
      [2, 7, 7, 3],
      [k, k, 3, 1],
    ],
    f: (x: tf.Tensor, w: tf.Tensor) => depthwiseConv(x as tf.Tensor4D, w as tf.Tensor4D, s as 1 | 2, d),
  })),
  ...ACTIVATIONS.map((name) => ({
    name: `activation ${name}`,
    shapes: name === 'prelu' ? [[2, 3, 3, 4], [4]] : name === 'swish' ? [[2, 3, 3, 4], []] : [[2, 3, 3, 4]],
    f: (x: tf.Tensor, p?: tf.Tensor) =>
      activation(
        name,
        x as tf.Tensor4D,
        { preluSlope: name === 'prelu' ? (p as tf.Tensor1D) : undefined, swishBeta: name === 'swish' ? p : undefined },
        ctx(),
      ),
  })),
  {
    name: 'mixed activation (all 9, recomputed gradient)',
    shapes: [[2, 3, 3, 4], [9], [4], []],
    f: (x, beta, a, b) =>
      mixedActivationAll(
        x as tf.Tensor4D,
        tf.softmax(beta) as tf.Tensor1D,
        { preluSlope: a as tf.Tensor1D, swishBeta: b },
        ctx(),
      ),
  },
];

/** Output and the gradient of Σ output·R with respect to each input, as plain arrays. */
export async function evaluateCase(c: ParityCase): Promise<Float32Array[]> {
  const inputs = c.shapes.map((shape, i) => tf.tensor(values(shape, 100 + i), shape));
  const out = c.f(...inputs);
  const projection = tf.tensor(values(out.shape, 7), out.shape);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(c.f(...xs), projection)) as tf.Scalar)(inputs);
  const result = [await out.data(), ...(await Promise.all(grads.map((g) => g.data())))] as Float32Array[];
  tf.dispose([...inputs, out, projection, ...grads]);
  return result;
}

/** Worst error in units of the tolerance (≤ 1 passes), and where. */
export function compareArrays(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
  abs: number,
): { worst: number; at: number } {
  if (got.length !== want.length) return { worst: Infinity, at: -1 };
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (abs + rel * Math.abs(want[i]));
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  return { worst, at };
}

/** A short factorized search from a fixed seed on tiny synthetic data, on the current backend: its validation losses and final α and β of both cell types. */
export async function runParitySearch(
  steps = 2,
): Promise<{ losses: number[]; alpha: Float32Array; beta: Float32Array }> {
  const dataset = makeSyntheticDataset({
    seed: 5,
    height: 8,
    width: 8,
    channels: 3,
    classes: 4,
    trainCount: 128,
    testCount: 16,
  });
  const config = makeConfig({
    mode: 'factorized',
    channels: 4,
    layers: 3,
    batchSize: 8,
    maxSteps: steps,
    seed: 4,
    archLearningRate: 0.01,
    activationLearningRate: 0.01,
  });
  const engine = new SearchEngine(
    config,
    { height: 8, width: 8, channels: 3, classes: 4 },
    makeSearchStreams(dataset, { batchSize: 8, seed: 4 }),
  );
  try {
    const losses: number[] = [];
    while (!engine.done) losses.push((await engine.runStep()).valLoss);
    const w = await engine.archWeights();
    // Both cell types: α [normal; reduce] and β [normal; reduce], each flattened.
    return {
      losses,
      alpha: Float32Array.from([...w.alphaNormal.flat(), ...w.alphaReduce.flat()]),
      beta: Float32Array.from([...w.betaNormal!.flat(), ...w.betaReduce!.flat()]),
    };
  } finally {
    engine.dispose();
  }
}
