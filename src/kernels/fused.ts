// Fused kernels for what dominated a search step's kernel count: batch norm with batch
// statistics (8 per mixed edge, ~34 tfjs kernels forward and backward when composed), the
// factorized mixed activation (~70), a mixed edge's weighted sum, and the SGD update with its
// gradient norm; on webgpu also the depthwise convs' gradients (tfjs has none for a dilated
// conv). On a GPU a step is bound by how many kernels it launches, not by arithmetic.
//
// Each op here is a few registered tfjs kernels (names in fused-names.ts): WGSL programs on
// webgpu (fused-wgsl.ts), one JavaScript implementation shared by cpu and wasm (fused-js.ts).
// webgl has none and uses the composite ops in ops.ts and optimizer.ts, which are also the
// reference the fused kernels are tested against (fused.test.ts, fused.gpu.test.ts).
import * as tf from '@tensorflow/tfjs';
import {
  KERNELS,
  MAX_ADDN_INPUTS,
  MAX_MIX_GROUPS,
  MAX_SUM_INPUTS,
  MAX_SUM_TERMS,
  decodeIndices,
  decodeViews,
  encodeIndices,
  encodeViews,
  type TermView,
} from './fused-names';
import { registerJsKernels } from './fused-js';
import { registerWebGpuKernels } from './fused-wgsl';
import { kernelOptions } from './options';

export { KERNELS, MIX_STAT_ROWS } from './fused-names';

/** Whether the work running now takes the fused kernels (options.ts) and this backend has them. */
export function fusedKernelsActive(): boolean {
  if (!kernelOptions().fused) return false;
  ensureRegistered();
  return tf.getKernel(KERNELS.bnApply, tf.getBackend()) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// The ops, with hand-written gradients that recompute from x (the tape keeps x alone).

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number | string> = {}): tf.Tensor {
  return tf
    .engine()
    .runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
function runMulti(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  return tf
    .engine()
    .runKernel(
      name,
      inputs as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as unknown as tf.Tensor[];
}

/**
 * Batch norm with batch statistics; gamma/beta are the affine parameters (ones/zeros if not).
 * relu: ReLU of the output in the same kernels (non-affine only): the ReLU between a SepConv's
 * two halves costs no kernel forward and none backward.
 */
export function fusedBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  affine: boolean,
  relu = false,
): tf.Tensor4D {
  if (relu && affine) throw new Error('fusedBatchNorm: relu is fused for non-affine batch norm only');
  const attrs = { epsilon, relu: relu ? 1 : 0 };
  if (!affine) {
    // Non-affine (every BN inside a mixed op): no parameters, and one kernel each way.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      save([xi]);
      const value = run(KERNELS.bnNonAffine, { x: xi }, attrs) as tf.Tensor4D;
      return {
        value,
        gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [run(KERNELS.bnNonAffineGrad, { dy, x: xs }, attrs)],
      };
    });
    return op(x) as tf.Tensor4D;
  }
  // Affine: the statistics as a tensor between two kernels each way; the backward's also give
  // γ's and β's gradients.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, g]);
    const stats = run(KERNELS.bnStats, { x: xi });
    const value = run(KERNELS.bnApply, { x: xi, stats, gamma: g, beta: b }, attrs) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor, [xs, gs]: tf.Tensor[]) => {
      const gradStats = run(KERNELS.bnGradStats, { dy, x: xs }, attrs);
      const dx = run(KERNELS.bnGradApply, { dy, x: xs, gradStats, gamma: gs }, attrs);
      const c = gs.shape[0];
      return [
        dx,
        tf.reshape(tf.slice(gradStats, [3, 0], [1, c]), [c]),
        tf.reshape(tf.slice(gradStats, [2, 0], [1, c]), [c]),
      ];
    };
    return { value, gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}

/**
 * The regrouped mixed activation (see ops.mixedActivationOf) from its 7 coefficients
 * [positive, relu6, expm1, swish, leaky, prelu, rrelu], for G edges that read x at once:
 * coefficients [G, 7], preluSlope [G·C], swishBeta [G] give [.., G·C], the edges' activations side
 * by side in channels (coefficients [7], preluSlope [C] and a scalar swishBeta: one edge's).
 * RReLU's slopes: edge g's element i takes slopes[offsets[g] + i] (windows into the seeded pool,
 * read in place; `offsets` an int32 tensor with its values), or slopes[0] when there is one
 * (evaluation's mean slope; no offsets). The slopes are constants: no gradient is made for them.
 * The gradient is registered below (registerGradients).
 */
export function fusedMixedActivation(
  x: tf.Tensor4D,
  coefficients: tf.Tensor1D | tf.Tensor2D,
  preluSlope: tf.Tensor1D,
  swishBeta: tf.Tensor,
  slopes: tf.Tensor1D,
  offsets?: { tensor: tf.Tensor1D; values: number[] },
): tf.Tensor4D {
  const groups = coefficients.rank === 1 ? 1 : coefficients.shape[0];
  const count = offsets ? offsets.values.length : groups;
  if (groups > MAX_MIX_GROUPS || count !== groups)
    throw new Error(`fusedMixedActivation: ${count} slope offsets for ${groups} groups (at most ${MAX_MIX_GROUPS})`);
  if (!offsets && slopes.size !== 1) throw new Error('fusedMixedActivation: a pool of slopes needs their offsets');
  for (const offset of offsets?.values ?? [])
    if (offset + x.size > slopes.size)
      throw new Error(`fusedMixedActivation: ${x.size} slopes from ${offset} overrun a pool of ${slopes.size}`);
  const inputs = {
    x,
    coefficients,
    preluSlope,
    swishBeta: tf.reshape(swishBeta, [groups]),
    slopes,
    offsets: offsets?.tensor ?? tf.zeros([groups], 'int32'),
  };
  return run(KERNELS.mixForward, inputs) as tf.Tensor4D;
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
 * without μ·buf on the first step; w ← w − lr·buf (lr: a one-element tensor, as it changes
 * with the epoch). Returns the new buffer and weights.
 */
export function fusedSgdStep(
  w: tf.Tensor,
  g: tf.Tensor,
  buf: tf.Tensor,
  scale: tf.Tensor,
  lr: tf.Tensor,
  momentum: number,
  weightDecay: number,
  first: boolean,
): { buf: tf.Tensor; w: tf.Tensor } {
  const next = run(KERNELS.sgdMomentum, { w, g, buf, scale }, { momentum: first ? 0 : momentum, weightDecay });
  return { buf: next, w: run(KERNELS.sgdApply, { w, buf: next, lr }) };
}

/**
 * fusedSgdStep in one dispatch, in place, on webgpu: w wraps the packed buffer [w; buf] that
 * PackedSgdBuffers.prepare made (packed-sgd.ts). Returns a reference to w (dispose it).
 */
export function fusedSgdPackedStep(
  w: tf.Tensor,
  g: tf.Tensor,
  scale: tf.Tensor,
  lr: tf.Tensor,
  momentum: number,
  weightDecay: number,
  first: boolean,
): tf.Tensor {
  return run(KERNELS.sgdPacked, { w, g, scale, lr }, { momentum: first ? 0 : momentum, weightDecay });
}

/**
 * Σ_j weights[indices[j]] · outputs[j]: a node's sum over its mixed edges (weights: the cell's
 * flattened softmax(α); ops absent from `outputs`, such as none, get a zero gradient). Forward:
 * one kernel per 6 outputs instead of a multiply each and the adds; backward
 * (registerGradients): one scaling kernel per output, and, in the architecture step only, one
 * dot-product kernel per 6 outputs for the weights' gradient. `weights` may be a function that
 * gives a handle on them for each kernel (weightedSumKernels of them; see fusedFanOut). `views`:
 * output j may hold several edges' outputs side by side in channels, of which the term reads
 * slot views[j].slot (a grouped conv's result, read in place instead of split).
 */
export function fusedWeightedSum(
  outputs: tf.Tensor4D[],
  weights: tf.Tensor1D | (() => tf.Tensor1D),
  indices: number[],
  views?: TermView[],
): tf.Tensor4D {
  if (outputs.length !== indices.length || outputs.length === 0)
    throw new Error('fusedWeightedSum: one index per output');
  if (views && views.length !== outputs.length) throw new Error('fusedWeightedSum: one view per output');
  // One kernel per 6 outputs, then their sums added (by sums that save nothing). A chained
  // running sum (a kernel reading the last one's result) would be one kernel fewer, but the
  // tape would save it: one more full-size tensor per edge kept until the backward pass.
  const partial: tf.Tensor[] = [];
  for (let i = 0; i < outputs.length; i += MAX_SUM_TERMS) {
    const inputs = [typeof weights === 'function' ? weights() : weights, ...outputs.slice(i, i + MAX_SUM_TERMS)];
    const chunk = views?.slice(i, i + MAX_SUM_TERMS);
    // Views only where a term reads part of its tensor: the attribute is the kernel's cache key on cpu and wasm.
    const attrs = {
      indices: encodeIndices(indices.slice(i, i + MAX_SUM_TERMS)),
      ...(chunk?.some((v) => v.groups > 1) ? { views: encodeViews(chunk) } : {}),
    };
    partial.push(
      tf
        .engine()
        .runKernel(
          KERNELS.weightedSum,
          inputs as unknown as tf.NamedTensorMap,
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
    );
  }
  return sumInChunks(partial) as tf.Tensor4D;
}

/** How many LabWeightedSum kernels fusedWeightedSum runs for `terms` outputs (each reads the weights once). */
export function weightedSumKernels(terms: number): number {
  return Math.ceil(terms / MAX_SUM_TERMS);
}

/** Σ tensors (at most ops.MAX_ADDN of them) by tfjs's AddN, with a gradient that saves nothing (KERNELS.addN). */
export function fusedAddN(tensors: tf.Tensor[]): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      KERNELS.addN,
      tensors as unknown as tf.NamedTensorMap,
      { count: tensors.length } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
}

/**
 * `count` handles on x, one for each op that reads it (KERNELS.fanOut): they share x's buffer,
 * and the backward pass sums their gradients with one AddN per 7 instead of tfjs's one Add per
 * reader after the first (a mixed edge's input has up to 16 readers).
 */
export function fusedFanOut<T extends tf.Tensor>(x: T, count: number): T[] {
  if (!Number.isInteger(count) || count < 2)
    throw new Error(`fusedFanOut: count must be an integer of at least 2, got ${count}`);
  ensureRegistered();
  const handles = tf
    .engine()
    .runKernel(
      KERNELS.fanOut,
      { x } as unknown as tf.NamedTensorMap,
      { count } as unknown as tf.NamedAttrMap,
    ) as unknown as T[];
  // A copy: the engine returns the array its tape node keeps as the op's outputs, and a caller
  // that pops from it would cut the op out of the backward pass.
  return handles.slice();
}

/** Σ tensors (at least one) in addN calls of at most MAX_ADDN_INPUTS each (webgpu's limit, safety.ts). */
export function sumInChunks(tensors: tf.Tensor[], addN: (chunk: tf.Tensor[]) => tf.Tensor = fusedAddN): tf.Tensor {
  let level = tensors;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += MAX_ADDN_INPUTS) {
      const chunk = level.slice(i, i + MAX_ADDN_INPUTS);
      next.push(chunk.length === 1 ? chunk[0] : addN(chunk));
    }
    level = next;
  }
  return level[0];
}

/** Whether the current backend has the max pool gradient kernel (cpu and wasm). */
export function fusedMaxPoolGradActive(): boolean {
  return fusedKernelsActive() && tf.getKernel(KERNELS.maxPoolGrad, tf.getBackend()) !== undefined;
}

/** A size×size max pool's input gradient, recomputed from x (see KERNELS.maxPoolGrad). */
export function fusedMaxPoolGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  size: number,
  stride: number,
  padBefore: number,
): tf.Tensor4D {
  return run(KERNELS.maxPoolGrad, { x, dy }, { size, stride, padBefore }) as tf.Tensor4D;
}

/** Whether the current backend has the depthwise gradient kernels (webgpu). */
export function fusedDepthwiseActive(): boolean {
  return fusedKernelsActive() && tf.getKernel(KERNELS.depthwise, tf.getBackend()) !== undefined;
}

/**
 * Depthwise k×k conv with 'same' zero padding for the dilation, then the stride (one kernel
 * for any stride and dilation: tfjs's forward kernel takes both; tf.depthwiseConv2d refuses
 * stride 2 with dilation 2 because its gradient cannot do both), with the gradient kernels of
 * KERNELS.depthwiseGradInput/Filter. The tape keeps x and the filter.
 */
export function fusedDepthwise(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, dilation: number): tf.Tensor4D {
  const k = filter.shape[0];
  return run(KERNELS.depthwise, { x, filter }, { k, stride, dilation, pad: (dilation * (k - 1)) / 2 }) as tf.Tensor4D;
}

/**
 * k grouped 1×1 convs in one kernel (KERNELS.groupedPointwise): x [n, h, w, k·inC], weight
 * [k, inC, outC] → [n, h, w, k·outC]. The gradient is two kernels: the same op with the weight
 * transposed, and KERNELS.groupedPointwiseGradFilter. The tape keeps x and the weight.
 */
export function fusedGroupedPointwise(x: tf.Tensor4D, weight: tf.Tensor3D): tf.Tensor4D {
  return run(KERNELS.groupedPointwise, { x, weight }, { transpose: 0 }) as tf.Tensor4D;
}

// Gradients registered for lab kernels, unlike tf.customGrad's, give each input its own
// function, and tfjs calls only those of inputs on the way to what is differentiated: the
// architecture step computes no filter gradient, the weights' step no gradient for β.
function registerGradients(): void {
  const once = (config: tf.GradConfig) => {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  };
  once({
    kernelName: KERNELS.addN,
    gradFunc: (dy, _saved, attrs) => {
      const grads: Record<string, () => tf.Tensor> = {};
      for (let i = 0; i < (attrs as Record<string, number>).count; i++) grads[i] = () => (dy as tf.Tensor).clone();
      return grads;
    },
  });
  once({
    kernelName: KERNELS.fanOut,
    // dy: one gradient per handle (tfjs fills zeros for a handle no op read).
    gradFunc: (dy) => ({ x: () => sumInChunks(dy as unknown as tf.Tensor[]) }),
  });
  once({
    kernelName: KERNELS.depthwise,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const [, inHeight, inWidth] = x.shape;
      const shape = { ...(attrs as Record<string, number>), inHeight, inWidth };
      return {
        x: () => run(KERNELS.depthwiseGradInput, { dy: dy as tf.Tensor, filter }, shape),
        filter: () => run(KERNELS.depthwiseGradFilter, { x, dy: dy as tf.Tensor }, shape),
      };
    },
  });
  once({
    kernelName: KERNELS.groupedPointwise,
    inputsToSave: ['x', 'weight'],
    gradFunc: (dy, [x, weight], attrs) => {
      if ((attrs as Record<string, number>).transpose === 1)
        throw new Error('LabGroupedPointwise: the transposed form is a gradient and has none of its own');
      const g = dy as tf.Tensor;
      return {
        x: () => run(KERNELS.groupedPointwise, { x: g, weight }, { transpose: 1 }),
        weight: () => run(KERNELS.groupedPointwiseGradFilter, { x, dy: g }, { groups: weight.shape[0] }),
      };
    },
  });
  once({
    kernelName: KERNELS.weightedSum,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor;
      const code = (attrs as Record<string, string>).indices;
      const indices = decodeIndices(code);
      const [weights, ...outputs] = saved;
      const viewCode = (attrs as Record<string, string>).views;
      const views = decodeViews(viewCode, indices.length);
      const grads: Record<string, () => tf.Tensor> = {
        0: () => {
          const inputs: Record<string, tf.Tensor> = { dy: g };
          outputs.forEach((o, j) => (inputs[`o${j}`] = o));
          const rows = run(KERNELS.weightedSumGrad, inputs, {
            indices: code,
            width: weights.shape[0],
            ...(viewCode ? { views: viewCode } : {}),
          });
          return rows.shape[0] === 1 ? tf.reshape(rows, [weights.shape[0]]) : tf.sum(rows, 0);
        },
      };
      // A term read through a view gets its gradient in its slot and zeros in the others.
      indices.forEach(
        (index, j) =>
          (grads[j + 1] = () =>
            run(
              KERNELS.scaleBy,
              { x: g, weights },
              views[j].groups > 1 ? { index, groups: views[j].groups, slot: views[j].slot } : { index },
            )),
      );
      return grads;
    },
  });
  once({
    kernelName: KERNELS.mixForward,
    inputsToSave: ['x', 'coefficients', 'preluSlope', 'swishBeta', 'slopes', 'offsets'],
    gradFunc: (dy, [x, coefficients, preluSlope, swishBeta, slopes, offsets]) => {
      // dx and the per-channel sums [8, G·C] in one kernel; then each parameter's gradient from
      // the sums, for the parameters being differentiated (β's coefficients in the
      // architecture step, PReLU's and Swish's parameters in the weights' step).
      const [dx, perChannel] = runMulti(KERNELS.mixGrad, {
        dy: dy as tf.Tensor,
        x,
        coefficients,
        preluSlope,
        swishBeta,
        slopes,
        offsets,
      });
      const part = (index: number) => () =>
        run(KERNELS.mixParamGrad, { stats: perChannel, coefficients }, { part: index });
      // The slopes are a constant pool: never differentiated, so this is never called.
      return {
        x: () => dx,
        coefficients: part(0),
        preluSlope: part(1),
        swishBeta: part(2),
        slopes: () => tf.zerosLike(slopes),
        offsets: () => tf.zerosLike(offsets),
      };
    },
  });
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerJsKernels();
  registerWebGpuKernels();
  for (const backendName of ['cpu', 'wasm', 'webgpu']) {
    // The same kernels on every backend with fused kernels. LabAddN: tfjs's AddN, looked up
    // when called. LabFanOut: handles sharing x's buffer by reference count, as tfjs's
    // Identity on cpu and webgpu (and on wasm with safety.installSharedIdentity): no data moves.
    if (!tf.getKernel(KERNELS.addN, backendName))
      tf.registerKernel({
        kernelName: KERNELS.addN,
        backendName,
        kernelFunc: (args) => {
          const addN = tf.getKernel('AddN', backendName);
          if (!addN) throw new Error(`${backendName} has no AddN kernel`);
          return addN.kernelFunc(args);
        },
      });
    if (!tf.getKernel(KERNELS.fanOut, backendName))
      tf.registerKernel({
        kernelName: KERNELS.fanOut,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const x = (inputs as unknown as { x: tf.TensorInfo }).x;
          const count = (attrs as unknown as { count: number }).count;
          return Array.from({ length: count }, () => {
            (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
            return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
          });
        },
      });
  }
  registerGradients();
}
