// tfjs building blocks of the DARTS space, NHWC. Every op here must have a correct gradient on
// every backend the lab offers; where a tfjs kernel or gradient is missing or wrong, the op is
// written in a form that only uses ops whose gradients are right (see the notes at each op).
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, type ActivationName } from './space';
import type { Random } from '../util/random';
import { MAX_ADDN_INPUTS } from '../kernels/fused-names';
import { kernelOptions, type ConvFormulation } from '../kernels/options';
import { stepInts } from '../kernels/step-values';
import {
  fusedAddN,
  fusedBatchNorm,
  fusedGroupedPointwise,
  sumInChunks,
  fusedDepthwise,
  fusedDepthwiseActive,
  fusedKernelsActive,
  fusedMaxPoolGrad,
  fusedMaxPoolGradActive,
  fusedMixedActivation,
} from '../kernels/fused';

/** How the work running now computes convs (kernels/options.ts): its choice, else by backend. */
export function convFormulation(): ConvFormulation {
  return kernelOptions().convFormulation ?? (tf.getBackend() === 'wasm' ? 'portable' : 'native');
}

/** The most tensors one addN may take: webgpu 4.22 silently drops a command buffer at 8+. */
export const MAX_ADDN = MAX_ADDN_INPUTS;

/** Sum of tensors in chunks of at most MAX_ADDN (never one addN over 8+ inputs). */
export function sumTensors(terms: tf.Tensor[]): tf.Tensor {
  if (terms.length === 0) throw new Error('sumTensors: nothing to sum');
  // fusedAddN: the same sum, but the tape does not keep the terms for the backward pass.
  return sumInChunks(terms, fusedKernelsActive() ? fusedAddN : tf.addN);
}

/** What a forward pass needs besides its input. */
export interface ForwardContext {
  training: boolean;
  /** Draws random slopes (RReLU) and drop-path masks; seeded, part of a checkpoint. */
  rng: Random;
  /**
   * Set while a forward pass is checkpointed (checkpoint.ts): it keeps the random values the pass
   * draws, and the pass recomputed in the backward reads them back instead of drawing again.
   */
  draws?: DrawLog;
}

/** Random per-step values as a forward pass drew them (see ForwardContext.draws). */
export interface DrawLog {
  /** `draw()`'s result: drawn now (and kept), or the one kept when the pass first ran. */
  take(draw: () => { tensor: tf.Tensor1D; values: number[] }): { tensor: tf.Tensor1D; values: number[] };
}

// ---------------------------------------------------------------------------------------------
// Spatial helpers

/** Takes every second row and column starting at 0 (stride-2 sampling of a stride-1 result). */
export function subsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ph = h % 2;
  const pw = w % 2;
  const even =
    ph || pw
      ? tf.pad(x, [
          [0, 0],
          [0, ph],
          [0, pw],
          [0, 0],
        ])
      : x;
  const h2 = (h + ph) / 2;
  const w2 = (w + pw) / 2;
  // Reshape into 2x2 blocks and keep the top-left element: slice + reshape have gradients
  // everywhere, unlike strided slices on some backends. Stay 4-D: webgpu 4.22's Pad (the slice
  // gradient) emits invalid WGSL (vec5) for 5-D tensors.
  const blocks = tf.reshape(even, [n * h2, 2, w2, 2 * c]);
  const rows = tf.slice(blocks, [0, 0, 0, 0], [n * h2, 1, w2, c]);
  return tf.reshape(rows, [n, h2, w2, c]);
}

/**
 * What FactorizedReduce's two stride-2 1×1 convs read: the even rows and columns, and (the
 * second conv, shifted by one) the odd ones; an odd size is first padded at the end to even,
 * so both are ⌈h/2⌉×⌈w/2⌉. One slice each of the map as 2×2 blocks, where slicing the shifted
 * map and subsampling both took 3 slices and a pad (and their gradients as many kernels).
 */
export function evenAndOddSamples(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const [n, h, w, c] = x.shape;
  const input =
    h % 2 || w % 2
      ? tf.pad(x, [
          [0, 0],
          [0, h % 2],
          [0, w % 2],
          [0, 0],
        ])
      : x;
  const h2 = (h + (h % 2)) / 2;
  const w2 = (w + (w % 2)) / 2;
  // 4-D, as in subsample2: webgpu 4.22's Pad (the slice's gradient) breaks on 5-D tensors.
  const blocks = tf.reshape(input, [n * h2, 2, w2, 2 * c]);
  const even = tf.reshape(tf.slice(blocks, [0, 0, 0, 0], [n * h2, 1, w2, c]), [n, h2, w2, c]) as tf.Tensor4D;
  const odd = tf.reshape(tf.slice(blocks, [0, 1, 0, c], [n * h2, 1, w2, c]), [n, h2, w2, c]) as tf.Tensor4D;
  return [even, odd];
}

function padSpatial(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  return pad === 0
    ? x
    : tf.pad(x, [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]);
}

// ---------------------------------------------------------------------------------------------
// Convolutions

/** 1x1 convolution as a matMul (fast everywhere, gradients everywhere). weight: [cin, cout]. */
export function conv1x1(x: tf.Tensor4D, weight: tf.Tensor2D, stride: 1 | 2 = 1): tf.Tensor4D {
  const input = stride === 2 ? subsample2(x) : x;
  const [n, h, w, c] = input.shape;
  const out = tf.matMul(tf.reshape(input, [n * h * w, c]), weight);
  return tf.reshape(out, [n, h, w, weight.shape[1]]);
}

/**
 * k 1×1 convolutions side by side: x [n, h, w, k·inC] holds k groups of channels, weight
 * [k, inC, outC] one weight per group → [n, h, w, k·outC]. The mixed edges leaving one state run
 * their convs as one such op. Fused kernels: one kernel each way (two for the gradient);
 * otherwise a batched matMul between two transposes.
 */
export function groupedConv1x1(x: tf.Tensor4D, weight: tf.Tensor3D): tf.Tensor4D {
  const [groups, inC, outC] = weight.shape;
  const [n, h, w] = x.shape;
  if (groups === 1) return conv1x1(x, tf.reshape(weight, [inC, outC]) as tf.Tensor2D);
  if (fusedKernelsActive()) return fusedGroupedPointwise(x, weight);
  const byGroup = tf.transpose(tf.reshape(x, [n * h * w, groups, inC]), [1, 0, 2]);
  const out = tf.transpose(tf.matMul(byGroup, weight), [1, 0, 2]);
  return tf.reshape(out, [n, h, w, groups * outC]);
}

/**
 * Tensors of the same shape side by side in channels ([n, h, w, k·c]); the gradient splits dy.
 * Nothing is kept for the backward pass (tfjs's Concat keeps every input).
 */
export function concatChannels(xs: tf.Tensor4D[]): tf.Tensor4D {
  if (xs.length === 1) return xs[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor4D[];
    return { value: tf.concat(inputs, 3), gradFunc: (dy: tf.Tensor) => tf.split(dy, inputs.length, 3) };
  });
  return op(...xs) as tf.Tensor4D;
}

/** x repeated k times side by side in channels; the gradient sums dy's k groups (one reduction). */
export function tileChannels(x: tf.Tensor4D, k: number): tf.Tensor4D {
  if (k === 1) return x;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor4D;
    const [n, h, w, c] = xi.shape;
    return {
      value: tf.tile(xi, [1, 1, 1, k]) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor) => tf.reshape(tf.sum(tf.reshape(dy, [n * h * w, k, c]), 1), [n, h, w, c]),
    };
  });
  return op(x) as tf.Tensor4D;
}

/** The k groups of channels of x ([n, h, w, k·c]) as k tensors (the inverse of concatChannels). */
export function splitChannels(x: tf.Tensor4D, k: number): tf.Tensor4D[] {
  return k === 1 ? [x] : (tf.split(x, k, 3) as tf.Tensor4D[]);
}

/**
 * Depthwise k×k convolution with 'same' zero padding for the given dilation, then stride.
 * weight: [k, k, c, 1].
 */
export function depthwiseConv(x: tf.Tensor4D, weight: tf.Tensor4D, stride: 1 | 2, dilation: number): tf.Tensor4D {
  const k = weight.shape[0];
  const pad = (dilation * (k - 1)) / 2;
  if (convFormulation() === 'portable') return depthwisePortable(x, weight, stride, dilation);
  // webgpu: tfjs's forward kernel and the lab's gradient kernels, any dilation (fused.ts).
  if (fusedDepthwiseActive()) return fusedDepthwise(x, weight, stride, dilation);
  if (dilation === 1) {
    // A numeric pad, not tf.pad: the tape then keeps x rather than a padded copy.
    return tf.depthwiseConv2d(x, weight, stride, pad);
  }
  // tfjs has no gradient for dilated depthwise conv: run it as an undilated conv over the
  // dilation's sub-grids (spaceToBatchND), whose gradients exist.
  const [, h, w] = x.shape;
  const extraH = (dilation - ((h + 2 * pad) % dilation)) % dilation;
  const extraW = (dilation - ((w + 2 * pad) % dilation)) % dilation;
  const grids = tf.spaceToBatchND(
    x,
    [dilation, dilation],
    [
      [pad, pad + extraH],
      [pad, pad + extraW],
    ],
  ) as tf.Tensor4D;
  const conv = tf.depthwiseConv2d(grids, weight, 1, 'valid');
  const full = tf.batchToSpaceND(
    conv,
    [dilation, dilation],
    [
      [0, extraH],
      [0, extraW],
    ],
  ) as tf.Tensor4D;
  return stride === 2 ? subsample2(full) : full;
}

/**
 * Depthwise conv for backends without depthwise gradient kernels (wasm): the forward pass and
 * the input gradient use the forward depthwise kernel (the input gradient is a depthwise conv
 * of dy with the flipped kernel), and the filter gradient is one more depthwise conv. Only x
 * and the filter are kept for the backward pass.
 */
function depthwisePortable(x: tf.Tensor4D, weight: tf.Tensor4D, stride: 1 | 2, dilation: number): tf.Tensor4D {
  const k = weight.shape[0];
  const pad = (dilation * (k - 1)) / 2;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xIn, w]);
    // The convs pad by themselves (numeric pad): no padded copy, no PadV2 kernel.
    // tfjs allows stride 2 or dilation 2, not both: the stride-1 result is then subsampled
    // inside the op, so the full-size intermediate is never kept.
    const value =
      stride === 2 && dilation === 1
        ? tf.depthwiseConv2d(xIn, w, 2, pad)
        : stride === 2
          ? subsample2(tf.depthwiseConv2d(xIn, w, 1, pad, 'NHWC', dilation))
          : tf.depthwiseConv2d(xIn, w, 1, pad, 'NHWC', dilation);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [n, h, wd, c] = xs.shape;
      // A stride-2 output is the stride-1 output sampled at even positions: scatter dy back.
      const dyFull = stride === 2 ? upsample2(dy as tf.Tensor4D, h, wd) : (dy as tf.Tensor4D);
      // dx: correlation of dy with the spatially flipped kernel ('same' padding is symmetric).
      const flipped = tf.reverse(ws, [0, 1]) as tf.Tensor4D;
      const dx = tf.depthwiseConv2d(dyFull, flipped, 1, pad, 'NHWC', dilation);
      // One depthwise conv computes all k² filter taps: batch moves into channels (n·C + c),
      // dy becomes an H×W kernel, stride d picks the dilated tap offsets, and the conv's own
      // padding supplies the 'same' border: (H + 2·pad − H)/d + 1 = k taps a side. Explicit
      // padding: a numeric pad sizes both output sides from the kernel's height (tfjs 4.22),
      // wrong for a kernel that is not square.
      const xAsChannels = tf.reshape(tf.transpose(xs, [1, 2, 0, 3]), [1, h, wd, n * c]) as tf.Tensor4D;
      const dyAsKernel = tf.reshape(tf.transpose(dyFull, [1, 2, 0, 3]), [h, wd, n * c, 1]) as tf.Tensor4D;
      const border: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
      const taps = tf.depthwiseConv2d(xAsChannels, dyAsKernel, dilation, border);
      const dw = tf.reshape(tf.sum(tf.reshape(taps, [k, k, n, c]), 2), [k, k, c, 1]);
      return [dx, dw];
    };
    return { value, gradFunc };
  });
  return op(x, weight) as tf.Tensor4D;
}

/** The adjoint of subsample2: values at even positions of an h×w map, zeros elsewhere. */
export function upsample2(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [n, h2, w2, c] = x.shape;
  const blocks = tf.pad(tf.reshape(x, [n * h2, 1, w2, c]), [
    [0, 0],
    [0, 1],
    [0, 0],
    [0, c],
  ]);
  const full = tf.reshape(blocks, [n, 2 * h2, 2 * w2, c]);
  return (
    full.shape[1] === h && full.shape[2] === w ? full : tf.slice(full, [0, 0, 0, 0], [n, h, w, c])
  ) as tf.Tensor4D;
}

/** Full k×k convolution, stride 1, 'same' padding (the stem). weight: [k, k, cin, cout]. */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  const [k, , cin, cout] = weight.shape;
  const pad = (k - 1) / 2;
  if (convFormulation() === 'native') return tf.conv2d(padSpatial(x, pad), weight, 1, 'valid');
  // im2col: k² shifted copies side by side in channels, then one matMul.
  const [n, h, w] = x.shape;
  const padded = padSpatial(x, pad);
  const columns: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) columns.push(tf.slice(padded, [0, i, j, 0], [n, h, w, cin]));
  const patches = tf.concat(columns, 3);
  const out = tf.matMul(tf.reshape(patches, [n * h * w, k * k * cin]), tf.reshape(weight, [k * k * cin, cout]));
  return tf.reshape(out, [n, h, w, cout]);
}

// ---------------------------------------------------------------------------------------------
// Normalisation and pooling

export const BN_EPSILON = 1e-5;

/**
 * Batch normalisation with batch statistics, written out so that it differentiates everywhere
 * (tf.grad through tf.batchNorm without scale and offset threw). gamma/beta null = affine=False.
 */
export function batchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null): tf.Tensor4D {
  const c = x.shape[3];
  // Fused kernels (fused.ts) where the backend has them: 4 kernels instead of ~34.
  if (fusedKernelsActive())
    return fusedBatchNorm(
      x,
      gamma ?? constantVector(1, c),
      beta ?? constantVector(0, c),
      BN_EPSILON,
      gamma !== null || beta !== null,
    );
  return batchNormRecomputed(x, gamma ?? constantVector(1, c), beta ?? constantVector(0, c));
}

/** ReLU(non-affine batch norm of x): one fused op where the backend has the kernels. */
export function batchNormRelu(x: tf.Tensor4D): tf.Tensor4D {
  const c = x.shape[3];
  if (fusedKernelsActive())
    return fusedBatchNorm(x, constantVector(1, c), constantVector(0, c), BN_EPSILON, false, true);
  return tf.relu(batchNormRecomputed(x, constantVector(1, c), constantVector(0, c)));
}

/**
 * y = (x − mean) / √(var + ε) · γ + β with batch statistics and a hand-written gradient that
 * recomputes the statistics from x: the tape keeps only x (autodiff through moments kept three
 * tensors of x's size and ran ~25 kernels backward; there are ~8 BNs per mixed edge).
 * dx = γ·rstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
 */
const batchNormRecomputed = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, gamma, beta, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, gamma]);
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const scale = tf.mul(tf.rsqrt(tf.add(variance, BN_EPSILON)), gamma);
  const value = tf.add(tf.mul(tf.sub(x, mean), scale), beta) as tf.Tensor4D;
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [xs, g] = saved as [tf.Tensor4D, tf.Tensor1D];
    const n = xs.size / xs.shape[3];
    const { mean: m, variance: v } = tf.moments(xs, [0, 1, 2]);
    const rstd = tf.rsqrt(tf.add(v, BN_EPSILON));
    const xhat = tf.mul(tf.sub(xs, m), rstd);
    const sumDy = tf.sum(dy, [0, 1, 2]);
    const sumDyXhat = tf.sum(tf.mul(dy, xhat), [0, 1, 2]);
    const dx = tf.mul(tf.sub(tf.sub(tf.mul(dy, n), sumDy), tf.mul(xhat, sumDyXhat)), tf.div(tf.mul(rstd, g), n));
    return [dx, sumDyXhat, sumDy];
  };
  return { value, gradFunc };
});

const constants = new Map<string, tf.Tensor>();
/** A cached constant vector (per backend), so non-affine BN creates no tensors per step. */
function constantVector(value: number, size: number): tf.Tensor1D {
  const key = `${tf.getBackend()}:${value}:${size}`;
  let t = constants.get(key) as tf.Tensor1D | undefined;
  if (!t || t.isDisposed) {
    t = tf.keep(tf.fill([size], value) as tf.Tensor1D);
    constants.set(key, t);
  }
  return t;
}

/** A cached constant tensor (per backend), made once by make(). */
function cachedConstant<T extends tf.Tensor>(name: string, make: () => T): T {
  const key = `${tf.getBackend()}:${name}`;
  let t = constants.get(key) as T | undefined;
  if (!t || t.isDisposed) {
    t = tf.keep(make());
    constants.set(key, t);
  }
  return t;
}

/** Batch norm with given statistics (evaluation of a trained discrete network). */
export function batchNormInference(
  x: tf.Tensor4D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  gamma: tf.Tensor1D | null,
  beta: tf.Tensor1D | null,
): tf.Tensor4D {
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BN_EPSILON)));
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y as tf.Tensor4D;
}

/** 3×3 max pool, padding 1 (padding never wins), stride 1 or 2, as nn.MaxPool2d(3, s, 1). */
export function maxPool3x3(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  if (convFormulation() === 'portable') return maxPoolPortable(x, 3, stride, 1);
  return tf.maxPool(x, 3, stride, 1);
}

/** 2×2 max pool, stride 2, 'same' (odd sizes pad the end): PC-DARTS's bypass in reductions. */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (convFormulation() === 'portable') return maxPoolPortable(x, 2, 2, 0);
  return tf.maxPool(x, 2, 2, 'same');
}

/**
 * Max pool whose gradient does not use the MaxPoolGrad kernel: tfjs-backend-wasm 4.22's drops
 * part of the gradient that cpu routes (found by the wasm parity suite for 3×3, and by review
 * for PC-DARTS's 2×2 bypass: 52 of 54 units on a 6×6 map). The gradient goes to the first
 * maximum of each window in row-major order (as PyTorch), recomputed from x. Windows of `size`
 * start `padBefore` rows/columns before their position (padding never wins).
 */
function maxPoolPortable(x: tf.Tensor4D, size: 2 | 3, stride: 1 | 2, padBefore: number): tf.Tensor4D {
  const padAfter = size - 1 - padBefore;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([xIn]);
    const value = size === 3 ? tf.maxPool(xIn, 3, stride, padBefore) : tf.maxPool(xIn, 2, 2, 'same');
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs] = saved as [tf.Tensor4D];
      // One JavaScript kernel on cpu and wasm (about 10x faster than the ~80 kernels below).
      if (fusedMaxPoolGradActive()) return [fusedMaxPoolGrad(xs, dy as tf.Tensor4D, size, stride, padBefore)];
      const [n, h, w, c] = xs.shape;
      const padded = tf.pad(
        xs,
        [
          [0, 0],
          [padBefore, padAfter],
          [padBefore, padAfter],
          [0, 0],
        ],
        -Infinity,
      );
      const full = tf.maxPool(padded, size, 1, 'valid'); // the window maxima at every position
      const dyFull = stride === 2 ? upsample2(dy as tf.Tensor4D, h, w) : (dy as tf.Tensor4D);
      let taken: tf.Tensor = tf.zeros(full.shape);
      const terms: tf.Tensor[] = [];
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          const tap = tf.slice(padded, [0, i, j, 0], [n, h, w, c]);
          const isMax = tf.mul(tf.cast(tf.equal(tap, full), 'float32'), tf.sub(1, taken));
          taken = tf.add(taken, isMax);
          // Window (r, s) read x at (r + i − padBefore, s + j − padBefore): shift the routed
          // gradient back.
          const routed = tf.pad(tf.mul(isMax, dyFull), [
            [0, 0],
            [i, size - 1 - i],
            [j, size - 1 - j],
            [0, 0],
          ]);
          terms.push(tf.slice(routed, [0, padBefore, padBefore, 0], [n, h, w, c]));
        }
      }
      return [sumTensors(terms)];
    };
    return { value, gradFunc };
  });
  return op(x) as tf.Tensor4D;
}

const avgPoolCorrection = new Map<string, tf.Tensor>();

/**
 * 3×3 average pool, padding 1, count_include_pad=False, as DARTS's nn.AvgPool2d.
 * tfjs's avgPool forward excludes padding but its gradient divides by 9 everywhere, so the op
 * is an unpadded pool over a zero-padded input (gradient 1/9, exact) times a constant map 9/count.
 */
export function avgPool3x3(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  const [, h, w] = x.shape;
  const pooled = tf.avgPool(padSpatial(x, 1), 3, stride, 'valid');
  const [, oh, ow] = pooled.shape;
  const key = `${tf.getBackend()}:${h}x${w}/${stride}`;
  let correction = avgPoolCorrection.get(key);
  if (!correction || correction.isDisposed) {
    const values = new Float32Array(oh * ow);
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        const rows = Math.min(h, r * stride + 2) - Math.max(0, r * stride - 1);
        const cols = Math.min(w, c * stride + 2) - Math.max(0, c * stride - 1);
        values[r * ow + c] = 9 / (rows * cols);
      }
    }
    correction = tf.keep(tf.tensor(values, [1, oh, ow, 1]));
    avgPoolCorrection.set(key, correction);
  }
  return tf.mul(pooled, correction);
}

/** Global average pool to [n, c]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** PyTorch's channel_shuffle for NHWC (PC-DARTS): [g groups of c/g] → interleaved. */
export function channelShuffle(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [n * h * w, groups, c / groups]);
  return tf.reshape(tf.transpose(grouped, [0, 2, 1]), [n, h, w, c]);
}

// ---------------------------------------------------------------------------------------------
// Activations (the paper's 9)

export const LEAKY_RELU_SLOPE = 0.01;
export const RRELU_LOWER = 1 / 8;
export const RRELU_UPPER = 1 / 3;
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;
export const CELU_ALPHA = 1.0;
export const PRELU_INIT = 0.25;
export const SWISH_INIT = 1.0;

/** Learned parameters of the activations that have them (per edge). */
export interface ActivationParams {
  /** PReLU: one slope per channel (nn.PReLU(C)). */
  preluSlope?: tf.Tensor1D;
  /** Swish: x · sigmoid(b·x), one learned b. */
  swishBeta?: tf.Tensor;
}

/** Activations that own parameters, and how many for c channels. */
export function activationParamCount(name: ActivationName, channels: number): number {
  if (name === 'prelu') return channels;
  if (name === 'swish') return 1;
  return 0;
}

const rreluNoise = new Map<string, tf.Tensor1D>();

/**
 * Per-element RReLU slopes in [1/8, 1/3) for `size` elements. Drawing size fresh uniforms in JS
 * every step is too slow, so each size owns a seeded pool of 2·size uniforms and each call takes
 * a window at a random offset: per-element random slopes that differ every step, reproducible
 * from the seed, and identical on every backend. The window is gathered at an offset held in a
 * tensor (a per-step value: kernels/step-values.ts), not sliced at a constant one.
 */
export function rreluSlopes(size: number, ctx: Pick<ForwardContext, 'rng' | 'draws'>): tf.Tensor1D {
  const offsets = rreluOffsets(size, 1, ctx);
  const window = cachedConstant(`rrelu-window:${size}`, () => tf.range(0, size, 1, 'int32'));
  return tf.gather(rreluPool(size), tf.add(window, offsets.tensor));
}

/** `count` windows' offsets into the pool of `size`-element windows (the fused kernel reads them in place). */
function rreluOffsets(
  size: number,
  count: number,
  ctx: Pick<ForwardContext, 'rng' | 'draws'>,
): { tensor: tf.Tensor1D; values: number[] } {
  const draw = () => stepInts(() => Array.from({ length: count }, () => ctx.rng.int(size + 1)));
  return ctx.draws ? ctx.draws.take(draw) : draw();
}

/** The seeded pool of 2·size slopes that windows of `size` elements are taken from. */
function rreluPool(size: number): tf.Tensor1D {
  const key = `${tf.getBackend()}:${size}`;
  let pool = rreluNoise.get(key);
  if (!pool || pool.isDisposed) {
    // The pool is a fixed function of its size, so it needs no checkpointing.
    const values = new Float32Array(2 * size);
    let s = (size * 2654435761) >>> 0;
    for (let i = 0; i < values.length; i++) {
      s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      s ^= s >>> 12;
      values[i] = RRELU_LOWER + ((s >>> 0) / 4294967296) * (RRELU_UPPER - RRELU_LOWER);
    }
    pool = tf.keep(tf.tensor1d(values));
    rreluNoise.set(key, pool);
  }
  return pool;
}

/** RReLU's mean slope as a one-element tensor: its slope in evaluation (the fused kernels read slopes[0]). */
function meanRreluSlope(): tf.Tensor1D {
  return cachedConstant('rrelu-mean-slope', () => tf.tensor1d([(RRELU_LOWER + RRELU_UPPER) / 2]));
}

/** Frees cached constant tensors (pools of noise, pool corrections), e.g. on backend switch. */
export function disposeOpCaches(): void {
  for (const t of rreluNoise.values()) t.dispose();
  for (const t of avgPoolCorrection.values()) t.dispose();
  for (const t of constants.values()) t.dispose();
  constants.clear();
  rreluNoise.clear();
  avgPoolCorrection.clear();
}

export function activation(
  name: ActivationName,
  x: tf.Tensor4D,
  params: ActivationParams,
  ctx: ForwardContext,
): tf.Tensor4D {
  switch (name) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, LEAKY_RELU_SLOPE);
    case 'prelu': {
      if (!params.preluSlope) throw new Error('prelu needs its slope parameter');
      // max(x,0) + a·min(x,0): differentiable in both x and a on every backend.
      return tf.add(tf.relu(x), tf.mul(params.preluSlope, tf.minimum(x, 0))) as tf.Tensor4D;
    }
    case 'rrelu': {
      const negative = tf.minimum(x, 0);
      if (!ctx.training) return tf.add(tf.relu(x), tf.mul(negative, (RRELU_LOWER + RRELU_UPPER) / 2)) as tf.Tensor4D;
      const slopes = tf.reshape(rreluSlopes(x.size, ctx), x.shape);
      return tf.add(tf.relu(x), tf.mul(negative, slopes)) as tf.Tensor4D;
    }
    case 'elu':
      return tf.elu(x);
    case 'celu':
      // CELU(x) = max(0,x) + α(exp(min(0,x)/α) − 1); with α = 1 it equals ELU's formula, but
      // keep the general form so α can change (and exp never sees a large positive x).
      return tf.add(
        tf.relu(x),
        tf.mul(CELU_ALPHA, tf.sub(tf.exp(tf.div(tf.minimum(x, 0), CELU_ALPHA)), 1)),
      ) as tf.Tensor4D;
    case 'selu':
      return tf.selu(x);
    case 'swish': {
      if (!params.swishBeta) throw new Error('swish needs its b parameter');
      return tf.mul(x, tf.sigmoid(tf.mul(params.swishBeta, x))) as tf.Tensor4D;
    }
  }
}

/** Σ w_i · act_i(x) over the activations with a non-zero weight (weights: softmax(β) row). */
export function mixedActivation(
  x: tf.Tensor4D,
  weights: tf.Tensor1D,
  names: readonly ActivationName[],
  params: ActivationParams,
  ctx: ForwardContext,
  skip?: readonly boolean[],
): tf.Tensor4D {
  const terms: tf.Tensor[] = [];
  names.forEach((name, i) => {
    if (skip?.[i]) return;
    const w = tf.slice(weights, [i], [1]);
    terms.push(tf.mul(activation(name, x, params, ctx), w));
  });
  return sumTensors(terms) as tf.Tensor4D;
}

/**
 * The mixed activation Σ softmax(β)_i · act_i(x) over the 9 activations, regrouped. With p = max(x,0),
 * n = min(x,0), e = exp(n) − 1 (CELU with α = 1 is ELU), the 9 terms collapse into 5:
 *   p·cPos + relu6(x)·w1 + n·(cLeak + cPrelu·a + cRrelu·s) + e·cExp + swish(x)·w8
 * where the c's are linear in w = softmax(β) (ACTIVATION_COEFFICIENTS). A GPU step is bound by
 * the number of kernels it launches, so this matters: composed from tfjs ops it is 19 kernels
 * forward and ~50 backward per edge instead of ~45 and ~90 for the 9 separate terms, and fused
 * (fused.ts) 1 forward and 6 backward; the coefficients of all 14 edges of a cell type come from
 * one matMul shared by every cell of that type.
 */
/**
 * The 7 coefficients of one edge's regrouped mixed activation, a [7] tensor in
 * COEFFICIENT_NAMES order:
 *   positive = w0 + w2 + w3 + w4 + w5 + w6 + SELU_SCALE·w7, relu6 = w1,
 *   expm1 = w5 + w6 + SELU_SCALE·SELU_ALPHA·w7, swish = w8, leaky = LEAKY_RELU_SLOPE·w2,
 *   prelu = w3 (times PReLU's per-channel slope), rrelu = w4 (times RReLU's per-element slope).
 */
export type ActivationCoefficients = tf.Tensor1D;
const COEFFICIENT_NAMES = ['positive', 'relu6', 'expm1', 'swish', 'leaky', 'prelu', 'rrelu'] as const;

// Rows: activations in ACTIVATIONS order; columns: COEFFICIENT_NAMES.
const ACTIVATION_COEFFICIENTS: number[][] = [
  [1, 0, 0, 0, 0, 0, 0], // relu
  [0, 1, 0, 0, 0, 0, 0], // relu6
  [1, 0, 0, 0, LEAKY_RELU_SLOPE, 0, 0], // leaky_relu
  [1, 0, 0, 0, 0, 1, 0], // prelu
  [1, 0, 0, 0, 0, 0, 1], // rrelu
  [1, 0, 1, 0, 0, 0, 0], // elu
  [1, 0, 1, 0, 0, 0, 0], // celu (α = 1)
  [SELU_SCALE, 0, SELU_SCALE * SELU_ALPHA, 0, 0, 0, 0], // selu
  [0, 0, 0, 1, 0, 0, 0], // swish
];
if (CELU_ALPHA !== 1) throw new Error('ops.ts: the regrouped mixed activation assumes CELU α = 1 (CELU = ELU)');

/** The coefficients of the rows of softmax(β) ([rows, 9]) as one [rows, 7] matrix (one matMul). */
export function activationCoefficientMatrix(betaSoftmax: tf.Tensor2D): tf.Tensor2D {
  const matrix = cachedConstant('activation-coefficients', () => tf.tensor2d(ACTIVATION_COEFFICIENTS));
  return tf.matMul(betaSoftmax, matrix);
}

/** The coefficients of each row of softmax(β) ([rows, 9]): one matMul, then a [7] row each. */
export function activationCoefficients(betaSoftmax: tf.Tensor2D): ActivationCoefficients[] {
  const coefficients = activationCoefficientMatrix(betaSoftmax); // [rows, 7]
  // tfjs's Unpack gradient fails when there is a single output, so one row is reshaped instead.
  return betaSoftmax.shape[0] === 1
    ? [tf.reshape(coefficients, [COEFFICIENT_NAMES.length])]
    : (tf.unstack(coefficients) as tf.Tensor1D[]);
}

/** Σ weights_i · act_i(x) over all 9 activations (weights: one softmax(β) row of 9). */
export function mixedActivationAll(
  x: tf.Tensor4D,
  weights: tf.Tensor1D,
  params: Required<ActivationParams>,
  ctx: ForwardContext,
): tf.Tensor4D {
  const [coefficients] = activationCoefficients(tf.reshape(weights, [1, ACTIVATIONS.length]) as tf.Tensor2D);
  return mixedActivationOf(x, coefficients, params, ctx);
}

/**
 * The mixed activation from precomputed coefficients, with a hand-written gradient that
 * recomputes from x: the tape keeps x alone, not the activations (the autodiff version ran
 * wasm out of memory at the quick preset). Same values and gradients as mixedActivation over
 * ACTIVATIONS (checked in ops.test.ts).
 */
export function mixedActivationOf(
  x: tf.Tensor4D,
  coefficients: ActivationCoefficients,
  params: Required<ActivationParams>,
  ctx: ForwardContext,
): tf.Tensor4D {
  // RReLU's slopes: drawn exactly as activation('rrelu') draws them, so both versions agree.
  if (fusedKernelsActive()) {
    if (!ctx.training) {
      return fusedMixedActivation(x, coefficients, params.preluSlope, params.swishBeta, meanRreluSlope());
    }
    const offsets = rreluOffsets(x.size, 1, ctx);
    return fusedMixedActivation(x, coefficients, params.preluSlope, params.swishBeta, rreluPool(x.size), offsets);
  }
  const drawn = ctx.training ? rreluSlopes(x.size, ctx) : null;
  const slopes = drawn ? tf.reshape(drawn, x.shape) : tf.scalar((RRELU_LOWER + RRELU_UPPER) / 2);
  const values = tf.unstack(coefficients) as tf.Scalar[];
  const c = Object.fromEntries(COEFFICIENT_NAMES.map((name, i) => [name, values[i]])) as Record<
    (typeof COEFFICIENT_NAMES)[number],
    tf.Scalar
  >;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, 11) as tf.Tensor[];
    const save = args[11] as tf.GradSaveFunc;
    save(inputs);
    const [xi, cPos, cRelu6, cExp, cSwish, cLeak, cPrelu, cRrelu, a, b, sl] = inputs;
    const negative = tf.minimum(xi, 0);
    // The slope of x < 0 without the exponential: leaky, PReLU (per channel) and RReLU (per element).
    const negativeSlope = tf.add(tf.add(tf.mul(cPrelu, a), tf.mul(cRrelu, sl)), cLeak);
    const value = sumTensors([
      tf.mul(tf.relu(xi), cPos),
      tf.mul(tf.relu6(xi), cRelu6),
      tf.mul(negative, negativeSlope),
      tf.mul(tf.sub(tf.exp(negative), 1), cExp),
      tf.mul(tf.mul(xi, tf.sigmoid(tf.mul(b, xi))), cSwish),
    ]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, sPos, sRelu6, sExp, sSwish, sLeak, sPrelu, sRrelu, as, bs, ss] = saved;
      const positiveMask = tf.step(xs);
      const negativeMask = tf.sub(1, positiveMask);
      const neg = tf.minimum(xs, 0);
      const expNeg = tf.exp(neg);
      const bx = tf.mul(bs, xs);
      const sig = tf.sigmoid(bx);
      const sigSlope = tf.mul(sig, tf.sub(1, sig));
      const relu6Mask = tf.mul(positiveMask, tf.step(tf.sub(6, xs)));
      const slope = tf.add(tf.add(tf.mul(sPrelu, as), tf.mul(sRrelu, ss)), sLeak);
      // d/dx of each regrouped term.
      const derivative = sumTensors([
        tf.mul(positiveMask, sPos),
        tf.mul(relu6Mask, sRelu6),
        tf.mul(negativeMask, slope),
        tf.mul(tf.mul(negativeMask, expNeg), sExp),
        tf.mul(tf.add(sig, tf.mul(bx, sigSlope)), sSwish),
      ]);
      const dx = tf.mul(dy, derivative);
      // d/dc of each coefficient: Σ dy · its term.
      const dyNeg = tf.mul(dy, neg);
      const dyNegPerChannel = tf.sum(dyNeg, [0, 1, 2]);
      const swishTerm = tf.mul(xs, sig);
      const dPos = tf.sum(tf.mul(dy, tf.relu(xs)));
      const dRelu6 = tf.sum(tf.mul(dy, tf.relu6(xs)));
      const dExp = tf.sum(tf.mul(dy, tf.sub(expNeg, 1)));
      const dSwish = tf.sum(tf.mul(dy, swishTerm));
      const dLeak = tf.sum(dyNegPerChannel);
      const dPrelu = tf.sum(tf.mul(dyNegPerChannel, as));
      const dRrelu = tf.sum(tf.mul(dyNeg, ss));
      const da = tf.mul(dyNegPerChannel, sPrelu);
      const db = tf.reshape(tf.mul(tf.sum(tf.mul(dy, tf.mul(tf.square(xs), sigSlope))), sSwish), bs.shape);
      return [dx, dPos, dRelu6, dExp, dSwish, dLeak, dPrelu, dRrelu, da, db, tf.zerosLike(ss)];
    };
    return { value: value as tf.Tensor4D, gradFunc };
  });
  return op(
    x,
    c.positive,
    c.relu6,
    c.expm1,
    c.swish,
    c.leaky,
    c.prelu,
    c.rrelu,
    params.preluSlope,
    params.swishBeta,
    slopes,
  ) as tf.Tensor4D;
}

/**
 * The mixed activations of G edges that read x, side by side in channels ([.., G·C]): edge g's
 * with coefficients[g] ([G, 7]), PReLU slopes preluSlope[gC …] ([G·C]) and Swish's swishBeta[g]
 * ([G]). RReLU's slopes are drawn edge by edge, as G calls of mixedActivationOf draw them. Fused
 * kernels only: one kernel forward, where there was one per edge and a concat.
 */
export function groupedMixedActivation(
  x: tf.Tensor4D,
  coefficients: tf.Tensor2D,
  preluSlope: tf.Tensor1D,
  swishBeta: tf.Tensor1D,
  ctx: ForwardContext,
): tf.Tensor4D {
  const groups = coefficients.shape[0];
  if (!fusedKernelsActive()) throw new Error('groupedMixedActivation needs the fused kernels');
  if (!ctx.training) {
    return fusedMixedActivation(x, coefficients, preluSlope, swishBeta, meanRreluSlope());
  }
  return fusedMixedActivation(
    x,
    coefficients,
    preluSlope,
    swishBeta,
    rreluPool(x.size),
    rreluOffsets(x.size, groups, ctx),
  );
}

// ACTIVATION_COEFFICIENTS is written in this order: fail loudly if it changes.
const ACTIVATION_ORDER = ['relu', 'relu6', 'leaky_relu', 'prelu', 'rrelu', 'elu', 'celu', 'selu', 'swish'];
if (ACTIVATION_ORDER.join() !== ACTIVATIONS.join())
  throw new Error('ops.ts: mixedActivationOf assumes the ACTIVATIONS order');

// ---------------------------------------------------------------------------------------------
// Losses

/** Mean softmax cross-entropy of logits [n, k] against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const k = logits.shape[1];
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
  const logProbs = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1)));
}
