// Fused kernels for the two ops that dominate a search step's kernel count: batch norm with
// batch statistics (8 per mixed edge, ~34 tfjs kernels forward and backward when composed) and
// the factorized mixed activation (~70). On a GPU a step is bound by how many kernels it
// launches, not by arithmetic, so each becomes 2 kernels forward and 2–3 backward.
//
// Each op is a small set of registered tfjs kernels: WGSL programs on webgpu, one JavaScript
// implementation shared by cpu and wasm (a loop over the data beats ~20 separate wasm kernels,
// each allocating its output). webgl has none and uses the composite form in ops.ts, which is
// also the reference the fused kernels are tested against (fused.test.ts, fused.gpu.test.ts).
import * as tf from '@tensorflow/tfjs';

export const KERNELS = {
  /** x [.., C] → [2, C]: mean, biased variance (two-pass). */
  bnStats: 'LabBatchNormStats',
  /** x, stats [2, C], gamma [C], beta [C] → (x − mean) · rsqrt(var + ε) · gamma + beta. */
  bnApply: 'LabBatchNormApply',
  /** dy, x → [4, C]: mean, variance, Σdy, Σdy·x̂ (x̂ = (x − mean) · rsqrt(var + ε)). */
  bnGradStats: 'LabBatchNormGradStats',
  /** dy, x, gradStats [4, C], gamma → dx. */
  bnGradApply: 'LabBatchNormGradApply',
  /** x, coefficients [7], preluSlope [C], swishBeta [1], slopes [size or 1] → mixed activation. */
  mixForward: 'LabMixedActivation',
  /**
   * dy, x, coefficients, preluSlope, swishBeta, slopes → [dx, [8, C] per-channel sums for the
   * parameter gradients (MIX_STAT_ROWS)]: one pass over the data on cpu and wasm, two programs on webgpu.
   */
  mixGrad: 'LabMixedActivationGrad',
  /** x0 … x6 (up to MAX_SUM_INPUTS tensors) → [1]: Σ x², for the global gradient norm. */
  sumOfSquares: 'LabSumOfSquares',
  /** w, g, buf, scale [1] → PyTorch's momentum buffer μ·buf + (g·scale + wd·w) (first step: without μ·buf). */
  sgdMomentum: 'LabSgdMomentum',
  /** w, buf → w − lr·buf. */
  sgdApply: 'LabSgdApply',
  /** o0 … o5, weights [n], optional acc → acc + Σ weights[index_j] · o_j (a mixed edge's sum). */
  weightedSum: 'LabWeightedSum',
  /** x, weights [n] → weights[index] · x. */
  scaleBy: 'LabScaleBy',
  /** dy, o0 … o5 → [groups, n] partial sums: column index_j holds Σ dy · o_j, others 0. */
  weightedSumGrad: 'LabWeightedSumGrad',
} as const;

/** Op outputs per LabWeightedSum (with the weights and the output: 8 storage buffers; 5 when it also reads a running sum) and per LabWeightedSumGrad. */
export const MAX_SUM_TERMS = 6;

/** Inputs of one LabSumOfSquares: with its output within WebGPU's default 8 storage buffers. */
export const MAX_SUM_INPUTS = 7;

/** Rows of the mixed activation's per-channel gradient sums (LabMixedActivationGrad's second output). */
export const MIX_STAT_ROWS = ['positive', 'relu6', 'expm1', 'swish', 'negative', 'negativePrelu', 'negativeRrelu', 'swishBeta'] as const;

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

/** Batch norm with batch statistics; gamma/beta are the affine parameters (ones/zeros if not). */
export function fusedBatchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, affine: boolean): tf.Tensor4D {
  const forward = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const stats = run(KERNELS.bnStats, { x: xi });
    return run(KERNELS.bnApply, { x: xi, stats, gamma: g, beta: b }, { epsilon }) as tf.Tensor4D;
  };
  const backward = (dy: tf.Tensor, xs: tf.Tensor, g: tf.Tensor) => {
    const gradStats = run(KERNELS.bnGradStats, { dy, x: xs }, { epsilon });
    return { gradStats, dx: run(KERNELS.bnGradApply, { dy, x: xs, gradStats, gamma: g }, { epsilon }) };
  };
  if (!affine) {
    // Non-affine (every BN inside a mixed op): gamma and beta are constants, not inputs.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      save([xi]);
      return { value: forward(xi, gamma, beta), gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [backward(dy, xs, gamma).dx] };
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
 * [positive, relu6, expm1, swish, leaky, prelu, rrelu]; slopes: RReLU's per-element slopes
 * (size x.size) or one mean slope (size 1, evaluation).
 */
export function fusedMixedActivation(
  x: tf.Tensor4D,
  coefficients: tf.Tensor1D,
  preluSlope: tf.Tensor1D,
  swishBeta: tf.Tensor,
  slopes: tf.Tensor1D,
): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, coef, a, b, s, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, coef, a, b, s]);
    const beta1 = tf.reshape(b, [1]);
    const value = run(KERNELS.mixForward, { x: xi, coefficients: coef, preluSlope: a, swishBeta: beta1, slopes: s }) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, cs, as, bs, ss] = saved;
      const b1 = tf.reshape(bs, [1]);
      const [dx, perChannel] = runMulti(KERNELS.mixGrad, { dy, x: xs, coefficients: cs, preluSlope: as, swishBeta: b1, slopes: ss }); // dx, [8, C]
      const c = as.shape[0];
      const totals = tf.sum(perChannel, 1); // [8]
      // Coefficient order: positive, relu6, expm1, swish, leaky (Σdy·n), prelu (Σdy·n·a), rrelu (Σdy·n·s).
      const dCoefficients = tf.slice(totals, [0], [7]);
      const dPreluSlope = tf.mul(tf.reshape(tf.slice(perChannel, [4, 0], [1, c]), [c]), tf.slice(cs, [5], [1]));
      const dSwishBeta = tf.reshape(tf.mul(tf.slice(totals, [7], [1]), tf.slice(cs, [3], [1])), bs.shape);
      return [dx, dCoefficients, dPreluSlope, dSwishBeta, tf.zerosLike(ss)];
    };
    return { value, gradFunc };
  });
  return op(x, coefficients, preluSlope, swishBeta, slopes) as tf.Tensor4D;
}

/** Σ over all tensors of Σ x² (a [1] tensor), MAX_SUM_INPUTS tensors per kernel. */
export function fusedSumOfSquares(tensors: tf.Tensor[]): tf.Tensor {
  const partial: tf.Tensor[] = [];
  for (let i = 0; i < tensors.length; i += MAX_SUM_INPUTS) {
    const inputs: Record<string, tf.Tensor> = {};
    tensors.slice(i, i + MAX_SUM_INPUTS).forEach((t, j) => (inputs[`x${j}`] = t));
    partial.push(run(KERNELS.sumOfSquares, inputs));
  }
  let level = partial;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += MAX_SUM_INPUTS) {
      const chunk = level.slice(i, i + MAX_SUM_INPUTS);
      next.push(chunk.length === 1 ? chunk[0] : tf.addN(chunk));
    }
    level = next;
  }
  return level[0];
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

/** Op indices as one attribute number (base 64, ≤ 6 of them; tfjs attributes are plain values). */
function encodeIndices(indices: number[]): number {
  return indices.reduce((code, index) => code * 64 + index + 1, 0);
}
function decodeIndices(code: number): number[] {
  const out: number[] = [];
  for (let c = code; c > 0; c = Math.floor(c / 64)) out.unshift((c % 64) - 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The arithmetic, once, in JavaScript (cpu and wasm). Sums in float64.

function channelsOf(shape: number[]): number {
  return shape[shape.length - 1];
}

export function jsBatchNormStats(x: Float32Array, c: number): Float32Array {
  const m = x.length / c;
  const out = new Float32Array(2 * c);
  const sum = new Float64Array(c);
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) sum[k] += x[i];
  const mean = new Float64Array(c);
  for (let k = 0; k < c; k++) mean[k] = sum[k] / m;
  const sq = new Float64Array(c);
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) {
    const d = x[i] - mean[k];
    sq[k] += d * d;
  }
  for (let k = 0; k < c; k++) {
    out[k] = mean[k];
    out[c + k] = sq[k] / m;
  }
  return out;
}

export function jsBatchNormApply(x: Float32Array, stats: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number, out: Float32Array): void {
  const c = gamma.length;
  const scale = new Float32Array(c);
  for (let k = 0; k < c; k++) scale[k] = gamma[k] / Math.sqrt(stats[c + k] + epsilon);
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) out[i] = (x[i] - stats[k]) * scale[k] + beta[k];
}

export function jsBatchNormGradStats(dy: Float32Array, x: Float32Array, c: number, epsilon: number): Float32Array {
  const base = jsBatchNormStats(x, c);
  const out = new Float32Array(4 * c);
  out.set(base);
  const sumDy = new Float64Array(c);
  const sumDyCentered = new Float64Array(c);
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) {
    sumDy[k] += dy[i];
    sumDyCentered[k] += dy[i] * (x[i] - base[k]);
  }
  for (let k = 0; k < c; k++) {
    out[2 * c + k] = sumDy[k];
    out[3 * c + k] = sumDyCentered[k] / Math.sqrt(base[c + k] + epsilon);
  }
  return out;
}

export function jsBatchNormGradApply(dy: Float32Array, x: Float32Array, stats: Float32Array, gamma: Float32Array, epsilon: number, out: Float32Array): void {
  const c = gamma.length;
  const m = x.length / c;
  const rstd = new Float64Array(c);
  const factor = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    rstd[k] = 1 / Math.sqrt(stats[c + k] + epsilon);
    factor[k] = (rstd[k] * gamma[k]) / m;
  }
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) {
    const xhat = (x[i] - stats[k]) * rstd[k];
    out[i] = (dy[i] * m - stats[2 * c + k] - xhat * stats[3 * c + k]) * factor[k];
  }
}

export function jsMixedActivation(
  x: Float32Array,
  coef: Float32Array,
  a: Float32Array,
  b: number,
  slopes: Float32Array,
  out: Float32Array,
): void {
  const c = a.length;
  const [cPos, cRelu6, cExp, cSwish, cLeak, cPrelu, cRrelu] = coef;
  const perElement = slopes.length !== 1;
  // k counts channels alongside i (no modulo in the loop); sigmoid in its overflow-free form.
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) {
    const v = x[i];
    const bx = b * v;
    const sig = bx >= 0 ? 1 / (1 + Math.exp(-bx)) : 1 - 1 / (1 + Math.exp(bx));
    let y = v * sig * cSwish;
    if (v > 0) y += v * cPos + (v < 6 ? v : 6) * cRelu6;
    else y += v * (cLeak + cPrelu * a[k] + cRrelu * (perElement ? slopes[i] : slopes[0])) + (Math.exp(v) - 1) * cExp;
    out[i] = y;
  }
}

/**
 * The mixed activation's backward in one pass: dx into `dx`, and the per-channel sums of
 * MIX_STAT_ROWS into `stats` ([8, C]).
 */
export function jsMixedActivationGrad(
  dy: Float32Array,
  x: Float32Array,
  coef: Float32Array,
  a: Float32Array,
  b: number,
  slopes: Float32Array,
  dx: Float32Array,
  stats: Float32Array,
): void {
  const c = a.length;
  const [cPos, cRelu6, cExp, cSwish, cLeak, cPrelu, cRrelu] = coef;
  const perElement = slopes.length !== 1;
  const sums = new Float64Array(MIX_STAT_ROWS.length * c);
  for (let i = 0, k = 0; i < x.length; i++, k = k + 1 === c ? 0 : k + 1) {
    const v = x[i];
    const g = dy[i];
    const s = perElement ? slopes[i] : slopes[0];
    const bx = b * v;
    const sig = bx >= 0 ? 1 / (1 + Math.exp(-bx)) : 1 - 1 / (1 + Math.exp(bx));
    const sigSlope = sig * (1 - sig);
    let d = (sig + bx * sigSlope) * cSwish;
    if (v > 0) {
      d += cPos + (v < 6 ? cRelu6 : 0);
      sums[k] += g * v;
      sums[c + k] += g * (v < 6 ? v : 6);
    } else {
      const e = Math.exp(v);
      d += cLeak + cPrelu * a[k] + cRrelu * s + e * cExp;
      const gn = g * v;
      sums[2 * c + k] += g * (e - 1);
      sums[4 * c + k] += gn;
      sums[5 * c + k] += gn * a[k];
      sums[6 * c + k] += gn * s;
    }
    sums[3 * c + k] += g * v * sig;
    sums[7 * c + k] += g * v * v * sigSlope;
    dx[i] = g * d;
  }
  stats.set(sums);
}

// ---------------------------------------------------------------------------------------------
// Registration: cpu and wasm run the JavaScript above on their tensors' memory.

type Info = tf.TensorInfo;
interface JsMemory {
  /** Allocates the outputs, then hands the inputs' and the outputs' arrays to fill. */
  outputs(backend: unknown, shapes: number[][], inputs: Info[], fill: (ins: Float32Array[], outs: Float32Array[]) => void): Info[];
}
function single(memory: JsMemory) {
  return (backend: unknown, shape: number[], inputs: Info[], fill: (ins: Float32Array[], out: Float32Array) => void): Info =>
    memory.outputs(backend, [shape], inputs, (ins, [out]) => fill(ins, out))[0];
}

const cpuMemory: JsMemory = {
  outputs(backend, shapes, inputs, fill) {
    const be = backend as { readSync(id: unknown): Float32Array; makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): Info };
    const outs = shapes.map((shape) => new Float32Array(shape.reduce((p, d) => p * d, 1)));
    fill(
      inputs.map((t) => be.readSync(t.dataId)),
      outs,
    );
    return outs.map((out, i) => be.makeTensorInfo(shapes[i], 'float32', out));
  },
};

const wasmMemory: JsMemory = {
  outputs(backend, shapes, inputs, fill) {
    const be = backend as { makeOutput(shape: number[], dtype: 'float32'): Info; typedArrayFromHeap(t: Info): Float32Array };
    // Allocate first: growing the wasm heap detaches earlier views of it.
    const infos = shapes.map((shape) => be.makeOutput(shape, 'float32'));
    fill(
      inputs.map((t) => be.typedArrayFromHeap(t)),
      infos.map((info) => be.typedArrayFromHeap(info)),
    );
    return infos;
  },
};

function registerJs(backendName: string, jsMemory: JsMemory): void {
  const memory = { output: single(jsMemory) };
  const reg = (kernelName: string, kernelFunc: (args: { inputs: Record<string, Info>; backend: unknown; attrs: Record<string, number> }) => Info | Info[]) => {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  reg(KERNELS.bnStats, ({ inputs: { x }, backend }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, [2, c], [x], ([xv], out) => out.set(jsBatchNormStats(xv, c)));
  });
  reg(KERNELS.bnApply, ({ inputs: { x, stats, gamma, beta }, backend, attrs }) =>
    memory.output(backend, x.shape, [x, stats, gamma, beta], ([xv, sv, gv, bv], out) => jsBatchNormApply(xv, sv, gv, bv, attrs.epsilon, out)),
  );
  reg(KERNELS.bnGradStats, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, [4, c], [dy, x], ([dv, xv], out) => out.set(jsBatchNormGradStats(dv, xv, c, attrs.epsilon)));
  });
  reg(KERNELS.bnGradApply, ({ inputs: { dy, x, gradStats, gamma }, backend, attrs }) =>
    memory.output(backend, x.shape, [dy, x, gradStats, gamma], ([dv, xv, sv, gv], out) => jsBatchNormGradApply(dv, xv, sv, gv, attrs.epsilon, out)),
  );
  reg(KERNELS.mixForward, ({ inputs: { x, coefficients, preluSlope, swishBeta, slopes }, backend }) =>
    memory.output(backend, x.shape, [x, coefficients, preluSlope, swishBeta, slopes], ([xv, kv, av, bv, sv], out) =>
      jsMixedActivation(xv, kv, av, bv[0], sv, out),
    ),
  );
  reg(KERNELS.mixGrad, ({ inputs: { dy, x, coefficients, preluSlope, swishBeta, slopes }, backend }) =>
    jsMemory.outputs(backend, [x.shape, [MIX_STAT_ROWS.length, preluSlope.shape[0]]], [dy, x, coefficients, preluSlope, swishBeta, slopes], ([gv, xv, kv, av, bv, sv], [dx, stats]) =>
      jsMixedActivationGrad(gv, xv, kv, av, bv[0], sv, dx, stats),
    ),
  );
  reg(KERNELS.sumOfSquares, ({ inputs, backend }) => {
    const xs = Object.keys(inputs).sort().map((k) => inputs[k]);
    return memory.output(backend, [1], xs, (values, out) => {
      let sum = 0;
      for (const v of values) for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
      out[0] = sum;
    });
  });
  reg(KERNELS.sgdMomentum, ({ inputs: { w, g, buf, scale }, backend, attrs }) =>
    memory.output(backend, w.shape, [w, g, buf, scale], ([wv, gv, bv, sv], out) => {
      // Attributes as float32, as tfjs makes them when the composite ops multiply by a number.
      const momentum = Math.fround(attrs.momentum);
      const weightDecay = Math.fround(attrs.weightDecay);
      const k = sv[0];
      // Rounded to float32 at each step, as the composite ops round.
      for (let i = 0; i < wv.length; i++) out[i] = Math.fround(momentum * bv[i]) + Math.fround(Math.fround(gv[i] * k) + Math.fround(weightDecay * wv[i]));
    }),
  );
  reg(KERNELS.sgdApply, ({ inputs: { w, buf }, backend, attrs }) =>
    memory.output(backend, w.shape, [w, buf], ([wv, bv], out) => {
      const learningRate = Math.fround(attrs.learningRate);
      for (let i = 0; i < wv.length; i++) out[i] = wv[i] - Math.fround(bv[i] * learningRate);
    }),
  );
  reg(KERNELS.weightedSum, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    const list = [inputs.weights, ...outs, ...(inputs.acc ? [inputs.acc] : [])];
    return memory.output(backend, outs[0].shape, list, ([wv, ...rest], out) => {
      const acc = inputs.acc ? rest[rest.length - 1] : null;
      const coefficients = indices.map((index) => wv[index]);
      for (let i = 0; i < out.length; i++) {
        let sum = acc ? acc[i] : 0;
        for (let j = 0; j < indices.length; j++) sum += Math.fround(coefficients[j] * rest[j][i]);
        out[i] = sum;
      }
    });
  });
  reg(KERNELS.scaleBy, ({ inputs: { x, weights }, backend, attrs }) =>
    memory.output(backend, x.shape, [x, weights], ([xv, wv], out) => {
      const k = wv[attrs.index];
      for (let i = 0; i < out.length; i++) out[i] = xv[i] * k;
    }),
  );
  reg(KERNELS.weightedSumGrad, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    return memory.output(backend, [1, attrs.width], [inputs.dy, ...outs], ([gv, ...ov], out) => {
      out.fill(0); // wasm's fresh output memory is not zeroed
      indices.forEach((index, j) => {
        let sum = 0;
        for (let i = 0; i < gv.length; i++) sum += gv[i] * ov[j][i];
        out[index] = sum;
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Registration: webgpu runs WGSL programs through the backend's program runner (the interface
// of tfjs-backend-webgpu's WebGPUProgram; the package is not imported here, so Node tests and
// pages without WebGPU never load it).

const WORKGROUP = 64;

interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  getUserCode(): string;
}
type Uniform = { type: 'int32' | 'float32'; data: number[] };
interface WebGpuBackendLike {
  runWebGPUProgram(program: WebGpuProgram, inputs: Info[], dtype: 'float32', uniforms?: Uniform[]): Info;
}

const WGSL_SIGMOID = `
  fn labSigmoid(z : f32) -> f32 {
    if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
    let e = exp(z);
    return e / (1.0 + e);
  }`;

/** One thread per element; 2-D dispatch beyond 65535 workgroups (getGlobalIndex folds it). */
function elementwise(key: string, variableNames: string[], shape: number[], uniforms: string, body: string): WebGpuProgram {
  const size = shape.reduce((p, d) => p * d, 1);
  const groups = Math.ceil(size / WORKGROUP);
  const nx = Math.min(groups, 65535);
  return {
    variableNames,
    outputShape: shape,
    shaderKey: key,
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [nx, Math.ceil(groups / nx), 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms,
    getUserCode: () => `
      ${WGSL_SIGMOID}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let k = index % uniforms.channels;
          ${body}
        }
      }`,
  };
}

/**
 * One workgroup per channel over x viewed as [rows, channels]; `body` runs the strided passes
 * and writes result[r * channels + c] from lane 0. treeReduce(names) sums shared arrays.
 */
function perChannel(key: string, variableNames: string[], rows: number, channels: number, sharedArrays: string[], body: string): WebGpuProgram {
  return {
    variableNames,
    outputShape: [rows, channels],
    shaderKey: key,
    dispatchLayout: { x: [0, 1] },
    dispatch: [channels, 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'channels : i32, count : i32, epsilon : f32,',
    getUserCode: () => `
      ${sharedArrays.map((n) => `var<workgroup> ${n} : array<f32, ${WORKGROUP}>;`).join('\n')}
      ${WGSL_SIGMOID}
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        let lane = localId.x;
        let C = uniforms.channels;
        let M = uniforms.count / C;
        ${body}
      }`,
  };
}

function treeReduce(names: string[]): string {
  return `
    workgroupBarrier();
    for (var half = ${WORKGROUP / 2}u; half > 0u; half = half >> 1u) {
      if (lane < half) {
        ${names.map((n) => `${n}[lane] = ${n}[lane] + ${n}[lane + half];`).join('\n')}
      }
      workgroupBarrier();
    }`;
}

function registerWebGpu(): void {
  const backendName = 'webgpu';
  const reg = (kernelName: string, kernelFunc: (args: { inputs: Record<string, Info>; backend: WebGpuBackendLike; attrs: Record<string, number> }) => Info | Info[]) => {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  const sizeOf = (t: Info) => t.shape.reduce((p, d) => p * d, 1);
  const reduceUniforms = (x: Info, epsilon = 0): Uniform[] => [
    { type: 'int32', data: [channelsOf(x.shape)] },
    { type: 'int32', data: [sizeOf(x)] },
    { type: 'float32', data: [epsilon] },
  ];
  const elementUniforms = 'channels : i32, epsilon : f32, slopeCount : i32,';
  const elementData = (channels: number, epsilon = 0, slopeCount = 1): Uniform[] => [
    { type: 'int32', data: [channels] },
    { type: 'float32', data: [epsilon] },
    { type: 'int32', data: [slopeCount] },
  ];
  const meanAndVariance = `
    var sum = 0.0;
    for (var m = i32(lane); m < M; m = m + ${WORKGROUP}) { sum = sum + X[m * C + c]; }
    p0[lane] = sum;
    ${treeReduce(['p0'])}
    let mean = p0[0] / f32(M);
    var squares = 0.0;`;

  reg(KERNELS.bnStats, ({ inputs: { x }, backend }) => {
    const c = channelsOf(x.shape);
    const program = perChannel('lab_bn_stats', ['X'], 2, c, ['p0', 'p1'], `
      ${meanAndVariance}
      for (var m = i32(lane); m < M; m = m + ${WORKGROUP}) { let d = X[m * C + c] - mean; squares = squares + d * d; }
      p1[lane] = squares;
      ${treeReduce(['p1'])}
      if (lane == 0u) { result[c] = mean; result[C + c] = p1[0] / f32(M); }`);
    return backend.runWebGPUProgram(program, [x], 'float32', reduceUniforms(x));
  });
  reg(KERNELS.bnGradStats, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    const program = perChannel('lab_bn_grad_stats', ['G', 'X'], 4, c, ['p0', 'p1', 'p2', 'p3'], `
      ${meanAndVariance}
      var sumDy = 0.0;
      var sumDyCentered = 0.0;
      for (var m = i32(lane); m < M; m = m + ${WORKGROUP}) {
        let d = X[m * C + c] - mean;
        let g = G[m * C + c];
        squares = squares + d * d;
        sumDy = sumDy + g;
        sumDyCentered = sumDyCentered + g * d;
      }
      p1[lane] = squares;
      p2[lane] = sumDy;
      p3[lane] = sumDyCentered;
      ${treeReduce(['p1', 'p2', 'p3'])}
      if (lane == 0u) {
        let variance = p1[0] / f32(M);
        result[c] = mean;
        result[C + c] = variance;
        result[2 * C + c] = p2[0];
        result[3 * C + c] = p3[0] * inverseSqrt(variance + uniforms.epsilon);
      }`);
    return backend.runWebGPUProgram(program, [dy, x], 'float32', reduceUniforms(x, attrs.epsilon));
  });
  reg(KERNELS.bnApply, ({ inputs: { x, stats, gamma, beta }, backend, attrs }) => {
    const program = elementwise('lab_bn_apply', ['X', 'S', 'W', 'B'], x.shape, elementUniforms, `
      let value = (X[index] - S[k]) * inverseSqrt(S[uniforms.channels + k] + uniforms.epsilon) * W[k] + B[k];
      setOutputAtIndex(index, value);`);
    return backend.runWebGPUProgram(program, [x, stats, gamma, beta], 'float32', elementData(channelsOf(x.shape), attrs.epsilon));
  });
  reg(KERNELS.bnGradApply, ({ inputs: { dy, x, gradStats, gamma }, backend, attrs }) => {
    const program = elementwise('lab_bn_grad_apply', ['G', 'X', 'S', 'W'], x.shape, elementUniforms, `
      let C = uniforms.channels;
      let M = f32(uniforms.size / C);
      let rstd = inverseSqrt(S[C + k] + uniforms.epsilon);
      let xhat = (X[index] - S[k]) * rstd;
      let value = (G[index] * M - S[2 * C + k] - xhat * S[3 * C + k]) * (rstd * W[k] / M);
      setOutputAtIndex(index, value);`);
    return backend.runWebGPUProgram(program, [dy, x, gradStats, gamma], 'float32', elementData(channelsOf(x.shape), attrs.epsilon));
  });
  const slopeAt = `select(S[0], S[index], uniforms.slopeCount != 1)`;
  reg(KERNELS.mixForward, ({ inputs: { x, coefficients, preluSlope, swishBeta, slopes }, backend }) => {
    const program = elementwise('lab_mixed_activation', ['X', 'K', 'A', 'B', 'S'], x.shape, elementUniforms, `
      let v = X[index];
      let n = min(v, 0.0);
      let p = max(v, 0.0);
      let s = ${slopeAt};
      let value = p * K[0] + min(p, 6.0) * K[1] + n * (K[4] + K[5] * A[k] + K[6] * s) + (exp(n) - 1.0) * K[2]
        + v * labSigmoid(B[0] * v) * K[3];
      setOutputAtIndex(index, value);`);
    return backend.runWebGPUProgram(program, [x, coefficients, preluSlope, swishBeta, slopes], 'float32', elementData(channelsOf(x.shape), 0, sizeOf(slopes)));
  });
  reg(KERNELS.mixGrad, ({ inputs: { dy, x, coefficients, preluSlope, swishBeta, slopes }, backend }) => {
    const program = elementwise('lab_mixed_activation_grad', ['G', 'X', 'K', 'A', 'B', 'S'], x.shape, elementUniforms, `
      let v = X[index];
      let s = ${slopeAt};
      let bx = B[0] * v;
      let sig = labSigmoid(bx);
      var d = (sig + bx * sig * (1.0 - sig)) * K[3];
      if (v > 0.0) {
        d = d + K[0] + select(0.0, K[1], v < 6.0);
      } else {
        d = d + K[4] + K[5] * A[k] + K[6] * s + exp(v) * K[2];
      }
      setOutputAtIndex(index, G[index] * d);`);
    const c = channelsOf(x.shape);
    const names = MIX_STAT_ROWS.map((_, r) => `q${r}`);
    const statsProgram = perChannel('lab_mixed_activation_grad_stats', ['G', 'X', 'A', 'B', 'S'], MIX_STAT_ROWS.length, c, names, `
      let perElement = arrayLength(&S) != 1u;
      var t0 = 0.0; var t1 = 0.0; var t2 = 0.0; var t3 = 0.0; var t4 = 0.0; var t5 = 0.0; var t6 = 0.0; var t7 = 0.0;
      for (var m = i32(lane); m < M; m = m + ${WORKGROUP}) {
        let i = m * C + c;
        let v = X[i];
        let g = G[i];
        let n = min(v, 0.0);
        let p = max(v, 0.0);
        let s = select(S[0], S[i], perElement);
        let sig = labSigmoid(B[0] * v);
        t0 = t0 + g * p;
        t1 = t1 + g * min(p, 6.0);
        t2 = t2 + g * (exp(n) - 1.0);
        t3 = t3 + g * v * sig;
        t4 = t4 + g * n;
        t5 = t5 + g * n * A[c];
        t6 = t6 + g * n * s;
        t7 = t7 + g * v * v * sig * (1.0 - sig);
      }
      ${names.map((n, r) => `${n}[lane] = t${r};`).join('\n')}
      ${treeReduce(names)}
      if (lane == 0u) {
        ${names.map((n, r) => `result[${r} * C + c] = ${n}[0];`).join('\n')}
      }`);
    return [
      backend.runWebGPUProgram(program, [dy, x, coefficients, preluSlope, swishBeta, slopes], 'float32', elementData(channelsOf(x.shape), 0, sizeOf(slopes))),
      backend.runWebGPUProgram(statsProgram, [dy, x, preluSlope, swishBeta, slopes], 'float32', reduceUniforms(x)),
    ];
  });
}

function registerWebGpuOptimizer(): void {
  const backendName = 'webgpu';
  const reg = (kernelName: string, kernelFunc: (args: { inputs: Record<string, Info>; backend: WebGpuBackendLike; attrs: Record<string, number> }) => Info) => {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  const sizeOf = (t: Info) => t.shape.reduce((p, d) => p * d, 1);
  reg(KERNELS.sumOfSquares, ({ inputs, backend }) => {
    const xs = Object.keys(inputs).sort().map((k) => inputs[k]);
    const names = xs.map((_, i) => `X${i}`);
    // One workgroup strides over every input (weights are small: ω's largest is 16k values).
    const program: WebGpuProgram = {
      variableNames: names,
      outputShape: [1],
      shaderKey: `lab_sum_of_squares_${xs.length}`,
      dispatchLayout: { x: [0] },
      dispatch: [1, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      getUserCode: () => `
        var<workgroup> p0 : array<f32, ${WORKGROUP}>;
        fn main(index : i32) {
          // A static use of the uniforms: 'auto' layouts drop unused bindings, and tfjs binds them.
          _ = uniforms.NAN;
          let lane = localId.x;
          var sum = 0.0;
          ${names
            .map(
              (n) => `for (var i = i32(lane); i < i32(arrayLength(&${n})); i = i + ${WORKGROUP}) { let v = ${n}[i]; sum = sum + v * v; }`,
            )
            .join('\n')}
          p0[lane] = sum;
          ${treeReduce(['p0'])}
          if (lane == 0u) { result[0] = p0[0]; }
        }`,
    };
    return backend.runWebGPUProgram(program, xs, 'float32');
  });
  reg(KERNELS.sgdMomentum, ({ inputs: { w, g, buf, scale }, backend, attrs }) => {
    const program = elementwise('lab_sgd_momentum', ['W', 'G', 'M', 'K'], [sizeOf(w)], 'channels : i32, momentum : f32, weightDecay : f32,', `
      let value = uniforms.momentum * M[index] + (G[index] * K[0] + uniforms.weightDecay * W[index]);
      setOutputAtIndex(index, value);`);
    const out = backend.runWebGPUProgram(program, [w, g, buf, scale], 'float32', [
      { type: 'int32', data: [1] },
      { type: 'float32', data: [attrs.momentum] },
      { type: 'float32', data: [attrs.weightDecay] },
    ]);
    return { ...out, shape: w.shape };
  });
  reg(KERNELS.sgdApply, ({ inputs: { w, buf }, backend, attrs }) => {
    const program = elementwise('lab_sgd_apply', ['W', 'M'], [sizeOf(w)], 'channels : i32, learningRate : f32,', `
      setOutputAtIndex(index, W[index] - M[index] * uniforms.learningRate);`);
    const out = backend.runWebGPUProgram(program, [w, buf], 'float32', [
      { type: 'int32', data: [1] },
      { type: 'float32', data: [attrs.learningRate] },
    ]);
    return { ...out, shape: w.shape };
  });
  reg(KERNELS.weightedSum, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    const hasAcc = inputs.acc !== undefined;
    const names = ['W', ...indices.map((_, j) => `O${j}`), ...(hasAcc ? ['Acc'] : [])];
    const terms = indices.map((index, j) => `W[${index}] * O${j}[index]`).join(' + ');
    const program = elementwise(`lab_weighted_sum_${indices.join('_')}${hasAcc ? '_acc' : ''}`, names, outs[0].shape, 'channels : i32,', `
      setOutputAtIndex(index, ${hasAcc ? 'Acc[index] + ' : ''}${terms});`);
    return backend.runWebGPUProgram(program, [inputs.weights, ...outs, ...(hasAcc ? [inputs.acc] : [])], 'float32', [{ type: 'int32', data: [1] }]);
  });
  reg(KERNELS.scaleBy, ({ inputs: { x, weights }, backend, attrs }) => {
    const program = elementwise(`lab_scale_by_${attrs.index}`, ['X', 'W'], x.shape, 'channels : i32,', `
      setOutputAtIndex(index, X[index] * W[${attrs.index}]);`);
    return backend.runWebGPUProgram(program, [x, weights], 'float32', [{ type: 'int32', data: [1] }]);
  });
  reg(KERNELS.weightedSumGrad, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    const size = sizeOf(inputs.dy);
    // Workgroups stride over the elements, each writing its partial sums as one row.
    const groups = Math.max(1, Math.min(256, Math.ceil(size / (WORKGROUP * 16))));
    const width = attrs.width;
    const names = indices.map((_, j) => `q${j}`);
    const program: WebGpuProgram = {
      variableNames: ['G', ...indices.map((_, j) => `O${j}`)],
      outputShape: [groups, width],
      shaderKey: `lab_weighted_sum_grad_${indices.join('_')}_${width}`,
      dispatchLayout: { x: [0, 1] },
      dispatch: [groups, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      // The stride is a uniform: the compiled shader is cached by shaderKey, across group counts.
      uniforms: 'count : i32, stride : i32,',
      getUserCode: () => `
        ${names.map((n) => `var<workgroup> ${n} : array<f32, ${WORKGROUP}>;`).join('\n')}
        fn main(index : i32) {
          let lane = localId.x;
          let group = i32(workgroupId.x);
          ${names.map((_, j) => `var t${j} = 0.0;`).join(' ')}
          for (var i = group * ${WORKGROUP} + i32(lane); i < uniforms.count; i = i + uniforms.stride) {
            let g = G[i];
            ${names.map((_, j) => `t${j} = t${j} + g * O${j}[i];`).join('\n')}
          }
          ${names.map((n, j) => `${n}[lane] = t${j};`).join('\n')}
          ${treeReduce(names)}
          if (lane == 0u) {
            for (var col = 0; col < ${width}; col = col + 1) { result[group * ${width} + col] = 0.0; }
            ${indices.map((index, j) => `result[group * ${width} + ${index}] = ${names[j]}[0];`).join('\n')}
          }
        }`,
    };
    return backend.runWebGPUProgram(program, [inputs.dy, ...outs], 'float32', [
      { type: 'int32', data: [size] },
      { type: 'int32', data: [groups * WORKGROUP] },
    ]);
  });
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerJs('cpu', cpuMemory);
  registerJs('wasm', wasmMemory);
  registerWebGpu();
  registerWebGpuOptimizer();
}
