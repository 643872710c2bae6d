// Fused kernels for what dominated a search step's kernel count: batch norm with batch
// statistics (8 per mixed edge, ~34 tfjs kernels forward and backward when composed), the
// factorized mixed activation (~70), a mixed edge's weighted sum, and the SGD update with its
// gradient norm. On a GPU a step is bound by how many kernels it launches, not by arithmetic.
//
// Each op here is a few registered tfjs kernels (names in fused-names.ts): WGSL programs on
// webgpu (fused-wgsl.ts), one JavaScript implementation shared by cpu and wasm (fused-js.ts).
// webgl has none and uses the composite ops in ops.ts and optimizer.ts, which are also the
// reference the fused kernels are tested against (fused.test.ts, fused.gpu.test.ts).
import * as tf from '@tensorflow/tfjs';
import { KERNELS, MAX_SUM_INPUTS, MAX_SUM_TERMS, encodeIndices } from './fused-names';
import { registerJsKernels } from './fused-js';
import { registerWebGpuKernels } from './fused-wgsl';

export { KERNELS, MIX_STAT_ROWS } from './fused-names';

let enabled = true;
/** Turns the fused kernels off (tests compare them against the composite ops). */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}
/** Whether the current backend runs the fused kernels. */
export function fusedKernelsActive(): boolean {
  if (!enabled) return false;
  ensureRegistered();
  return tf.getKernel(KERNELS.bnApply, tf.getBackend()) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// The ops, with hand-written gradients that recompute from x (the tape keeps x alone).

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
function runMulti(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * Batch norm with batch statistics; gamma/beta are the affine parameters (ones/zeros if not).
 * relu: ReLU of the output in the same kernels (non-affine only): the ReLU between a SepConv's
 * two halves costs no kernel forward and none backward.
 */
export function fusedBatchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, affine: boolean, relu = false): tf.Tensor4D {
  if (relu && affine) throw new Error('fusedBatchNorm: relu is fused for non-affine batch norm only');
  const attrs = { epsilon, relu: relu ? 1 : 0 };
  const forward = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const stats = run(KERNELS.bnStats, { x: xi });
    return run(KERNELS.bnApply, { x: xi, stats, gamma: g, beta: b }, attrs) as tf.Tensor4D;
  };
  const backward = (dy: tf.Tensor, xs: tf.Tensor, g: tf.Tensor) => {
    const gradStats = run(KERNELS.bnGradStats, { dy, x: xs }, attrs);
    return { gradStats, dx: run(KERNELS.bnGradApply, { dy, x: xs, gradStats, gamma: g }, attrs) };
  };
  if (!affine) {
    // Non-affine (every BN inside a mixed op): no parameters, and one kernel each way.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      save([xi]);
      const value = run(KERNELS.bnNonAffine, { x: xi }, attrs) as tf.Tensor4D;
      return { value, gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [run(KERNELS.bnNonAffineGrad, { dy, x: xs }, attrs)] };
    });
    return op(x) as tf.Tensor4D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, g]);
    const gradFunc = (dy: tf.Tensor, [xs, gs]: tf.Tensor[]) => {
      const { gradStats, dx } = backward(dy, xs, gs);
      const c = gs.shape[0];
      return [dx, tf.reshape(tf.slice(gradStats, [3, 0], [1, c]), [c]), tf.reshape(tf.slice(gradStats, [2, 0], [1, c]), [c])];
    };
    return { value: forward(xi, g, b), gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}

/**
 * The regrouped mixed activation (see ops.mixedActivationOf) from its 7 coefficients
 * [positive, relu6, expm1, swish, leaky, prelu, rrelu]. RReLU's slopes: element i takes
 * slopes[slopeOffset + i] (a window into the seeded pool, read in place), or slopes[0] when
 * there is one (evaluation's mean slope). The slopes are constants, not an input of the
 * gradient: no zero gradient is made for them.
 */
export function fusedMixedActivation(
  x: tf.Tensor4D,
  coefficients: tf.Tensor1D,
  preluSlope: tf.Tensor1D,
  swishBeta: tf.Tensor,
  slopes: tf.Tensor1D,
  slopeOffset = 0,
): tf.Tensor4D {
  if (slopes.size !== 1 && slopeOffset + x.size > slopes.size) throw new Error(`fusedMixedActivation: ${x.size} slopes from ${slopeOffset} overrun a pool of ${slopes.size}`);
  const attrs = { slopeOffset };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, coef, a, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor, tf.GradSaveFunc];
    save([xi, coef, a, b, slopes]);
    const beta1 = tf.reshape(b, [1]);
    const value = run(KERNELS.mixForward, { x: xi, coefficients: coef, preluSlope: a, swishBeta: beta1, slopes }, attrs) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, cs, as, bs, ss] = saved;
      const b1 = tf.reshape(bs, [1]);
      const [dx, perChannel] = runMulti(KERNELS.mixGrad, { dy, x: xs, coefficients: cs, preluSlope: as, swishBeta: b1, slopes: ss }, attrs); // dx, [8, C]
      // Each parameter's gradient from the per-channel sums in one small kernel (a sum, five
      // slices and two multiplies before).
      const part = (index: number) => run(KERNELS.mixParamGrad, { stats: perChannel, coefficients: cs }, { part: index });
      return [dx, part(0), part(1), tf.reshape(part(2), bs.shape)];
    };
    return { value, gradFunc };
  });
  return op(x, coefficients, preluSlope, swishBeta) as tf.Tensor4D;
}

/** Σ x² of the tensors, as partial sums ([1] tensors) of MAX_SUM_INPUTS tensors each. */
export function fusedSumsOfSquares(tensors: tf.Tensor[]): tf.Tensor[] {
  const partial: tf.Tensor[] = [];
  for (let i = 0; i < tensors.length; i += MAX_SUM_INPUTS) {
    const inputs: Record<string, tf.Tensor> = {};
    tensors.slice(i, i + MAX_SUM_INPUTS).forEach((t, j) => (inputs[`x${j}`] = t));
    partial.push(run(KERNELS.sumOfSquares, inputs));
  }
  return partial;
}

/**
 * One SGD-with-momentum update of w (torch.optim.SGD): buf ← μ·buf + (g·scale + wd·w), or
 * without μ·buf on the first step; w ← w − lr·buf. Returns the new buffer and weights.
 */
export function fusedSgdStep(
  w: tf.Tensor,
  g: tf.Tensor,
  buf: tf.Tensor,
  scale: tf.Tensor,
  learningRate: number,
  momentum: number,
  weightDecay: number,
  first: boolean,
): { buf: tf.Tensor; w: tf.Tensor } {
  const next = run(KERNELS.sgdMomentum, { w, g, buf, scale }, { momentum: first ? 0 : momentum, weightDecay });
  return { buf: next, w: run(KERNELS.sgdApply, { w, buf: next }, { learningRate }) };
}

/**
 * A mixed edge's Σ_j weights[indices[j]] · outputs[j] (weights: the edge's softmax(α) row; ops
 * absent from `outputs`, such as none, get a zero gradient). Forward: one kernel per 6 outputs
 * instead of a multiply each and the adds; backward: one scaling kernel per output and one
 * dot-product kernel per 6 outputs for the weights' gradient, instead of three kernels each.
 */
export function fusedWeightedSum(outputs: tf.Tensor4D[], weights: tf.Tensor1D, indices: number[]): tf.Tensor4D {
  if (outputs.length !== indices.length || outputs.length === 0) throw new Error('fusedWeightedSum: one index per output');
  // The first kernel takes 6 outputs; each later one also reads the running sum, so 5.
  const chunks: number[][] = [];
  for (let i = 0; i < outputs.length; ) {
    const take = i === 0 ? MAX_SUM_TERMS : MAX_SUM_TERMS - 1;
    chunks.push(indices.slice(i, i + take));
    i += take;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const tensors = args.slice(0, -1) as tf.Tensor[];
    const w = tensors[tensors.length - 1];
    const outs = tensors.slice(0, -1);
    save(tensors);
    let acc: tf.Tensor | null = null;
    let start = 0;
    for (const chunk of chunks) {
      const inputs: Record<string, tf.Tensor> = { weights: w };
      chunk.forEach((_, j) => (inputs[`o${j}`] = outs[start + j]));
      if (acc) inputs.acc = acc;
      acc = run(KERNELS.weightedSum, inputs, { indices: encodeIndices(chunk) });
      start += chunk.length;
    }
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const ws = saved[saved.length - 1];
      const os = saved.slice(0, -1);
      const dOutputs = os.map((_, j) => run(KERNELS.scaleBy, { x: dy, weights: ws }, { index: indices[j] }));
      const partial: tf.Tensor[] = [];
      let first = 0;
      for (const chunk of chunks) {
        const inputs: Record<string, tf.Tensor> = { dy };
        chunk.forEach((_, j) => (inputs[`o${j}`] = os[first + j]));
        partial.push(tf.sum(run(KERNELS.weightedSumGrad, inputs, { indices: encodeIndices(chunk), width: ws.shape[0] }), 0));
        first += chunk.length;
      }
      return [...dOutputs, partial.length === 1 ? partial[0] : tf.addN(partial)];
    };
    return { value: acc as tf.Tensor4D, gradFunc };
  });
  return op(...outputs, weights) as tf.Tensor4D;
}

/** Whether the current backend has the max pool gradient kernel (cpu and wasm). */
export function fusedMaxPoolGradActive(): boolean {
  return fusedKernelsActive() && tf.getKernel(KERNELS.maxPoolGrad, tf.getBackend()) !== undefined;
}

/** A size×size max pool's input gradient, recomputed from x (see KERNELS.maxPoolGrad). */
export function fusedMaxPoolGrad(x: tf.Tensor4D, dy: tf.Tensor4D, size: number, stride: number, padBefore: number): tf.Tensor4D {
  return run(KERNELS.maxPoolGrad, { x, dy }, { size, stride, padBefore }) as tf.Tensor4D;
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerJsKernels();
  registerWebGpuKernels();
}
