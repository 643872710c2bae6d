// The fused kernels on cpu and wasm: one JavaScript loop each over the tensors' memory (a loop
// over the data beats ~20 separate wasm kernels that each allocate their output). Sums in float64.
import * as tf from '@tensorflow/tfjs';
import {
  KERNELS,
  MIX_STAT_ROWS,
  channelsOf,
  decodeIndices,
  decodeViews,
  mixOutputShape,
  mixParamGradShape,
} from './fused-names';

// Batch norm a channel at a time (stride c): each channel's sums stay in locals instead of a
// read-modify-write of an array per element (about 2x faster on these sizes).

/** Mean and biased variance of channel k (two passes: no cancellation). */
function channelMoments(x: Float32Array, c: number, k: number): [number, number] {
  const m = x.length / c;
  let sum = 0;
  for (let i = k; i < x.length; i += c) sum += x[i];
  const mean = sum / m;
  let squares = 0;
  for (let i = k; i < x.length; i += c) {
    const d = x[i] - mean;
    squares += d * d;
  }
  return [mean, squares / m];
}

export function jsBatchNormStats(x: Float32Array, c: number): Float32Array {
  const out = new Float32Array(2 * c);
  for (let k = 0; k < c; k++) [out[k], out[c + k]] = channelMoments(x, c, k);
  return out;
}

export function jsBatchNormApply(
  x: Float32Array,
  stats: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  epsilon: number,
  out: Float32Array,
  relu = false,
): void {
  const c = gamma.length;
  for (let k = 0; k < c; k++) {
    const mean = stats[k];
    const scale = Math.fround(gamma[k] / Math.sqrt(stats[c + k] + epsilon));
    const shift = beta[k];
    if (relu) for (let i = k; i < x.length; i += c) out[i] = x[i] > mean ? (x[i] - mean) * scale : 0;
    else for (let i = k; i < x.length; i += c) out[i] = (x[i] - mean) * scale + shift;
  }
}

// With relu (a non-affine BN followed by ReLU), the output is positive exactly where x > mean:
// the backward kernels mask dy there and need no copy of the output.
export function jsBatchNormGradStats(
  dy: Float32Array,
  x: Float32Array,
  c: number,
  epsilon: number,
  relu = false,
): Float32Array {
  const out = new Float32Array(4 * c);
  for (let k = 0; k < c; k++) {
    // The moments in float64 as jsBatchNormStats computes them, then Σdy and Σdy·(x − mean).
    const [mean, variance] = channelMoments(x, c, k);
    const meanF = Math.fround(mean);
    let sumDy = 0;
    let sumDyCentered = 0;
    for (let i = k; i < x.length; i += c) {
      const g = relu && !(x[i] > meanF) ? 0 : dy[i];
      sumDy += g;
      sumDyCentered += g * (x[i] - meanF);
    }
    out[k] = mean;
    out[c + k] = variance;
    out[2 * c + k] = sumDy;
    out[3 * c + k] = sumDyCentered / Math.sqrt(Math.fround(variance) + epsilon);
  }
  return out;
}

export function jsBatchNormGradApply(
  dy: Float32Array,
  x: Float32Array,
  stats: Float32Array,
  gamma: Float32Array,
  epsilon: number,
  out: Float32Array,
  relu = false,
): void {
  const c = gamma.length;
  const m = x.length / c;
  for (let k = 0; k < c; k++) {
    const mean = stats[k];
    const rstd = 1 / Math.sqrt(stats[c + k] + epsilon);
    const factor = (rstd * gamma[k]) / m;
    const sumDy = stats[2 * c + k];
    const sumDyXhat = stats[3 * c + k];
    for (let i = k; i < x.length; i += c) {
      const xhat = (x[i] - mean) * rstd;
      const g = relu && !(x[i] > mean) ? 0 : dy[i];
      out[i] = (g * m - sumDy - xhat * sumDyXhat) * factor;
    }
  }
}

// exp of a non-positive number (all the mixed activation needs: exp(min(x, 0)) and the sigmoid's
// exp(−|b·x|)) in a few multiplies: exp(v) = 2^k · e^r with |r| ≤ ln2/2 and e^r by its Taylor
// series to r⁷ (relative error at most 7.1e-9, a tenth of float32's rounding). Math.exp took ~12 ns
// here and was most of these kernels' time.
const POW2_NEGATIVE = Float64Array.from({ length: 128 }, (_, k) => 2 ** -k);
export function expNonPositive(v: number): number {
  // Below −87 float32's exp is under 1.7e-38 (normal down to −87.3, subnormal to −103.9): 0 is
  // within 1.7e-38 of it, and keeps k within the table.
  if (v < -87) return 0;
  // k = v·log2(e) rounded (half down), −126 … 0: `| 0` truncates toward zero, and is ~2x
  // faster here than Math.round.
  const k = (v * Math.LOG2E - 0.5) | 0;
  const r = v - k * Math.LN2;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040))))));
  return p * POW2_NEGATIVE[-k];
}

/** The sigmoid of z without overflow, from exp(−|z|). */
function sigmoid(z: number): number {
  const e = expNonPositive(z >= 0 ? -z : z);
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/**
 * The mixed activation of x ([rows, C]) for `groups` edges at once, side by side in channels
 * (out: [rows, groups·C]): group g has its coefficients coef[7g … 7g + 6], PReLU slopes
 * a[gC … gC + C − 1], Swish's b[g], and RReLU slopes from slopes[offsets[g]] on (one per element
 * of x), or slopes[0] when there is one. One group is the single edge's activation.
 */
export function jsMixedActivation(
  x: Float32Array,
  coef: Float32Array,
  a: Float32Array,
  b: Float32Array,
  slopes: Float32Array,
  offsets: number[],
  out: Float32Array,
): void {
  const groups = b.length;
  const c = a.length / groups;
  const n = x.length;
  const width = groups * c;
  const perElement = slopes.length !== 1;
  for (let g = 0; g < groups; g++) {
    const [cPos, cRelu6, cExp, cSwish, cLeak, cPrelu, cRrelu] = coef.subarray(7 * g, 7 * g + 7);
    const bg = b[g];
    const offset = offsets[g] ?? 0;
    // A channel at a time (stride c): its slope terms are loop constants.
    for (let k = 0; k < c; k++) {
      const fixedSlope = cLeak + cPrelu * a[g * c + k];
      const meanSlope = fixedSlope + cRrelu * slopes[0];
      for (let i = k, o = g * c + k; i < n; i += c, o += width) {
        const v = x[i];
        let y = v * sigmoid(bg * v) * cSwish;
        if (v > 0) y += v * cPos + (v < 6 ? v : 6) * cRelu6;
        else
          y += v * (perElement ? fixedSlope + cRrelu * slopes[offset + i] : meanSlope) + (expNonPositive(v) - 1) * cExp;
        out[o] = y;
      }
    }
  }
}

/**
 * The backward of jsMixedActivation in one pass: dx (x's shape: the groups' gradients summed)
 * into `dx`, and the per-channel sums of MIX_STAT_ROWS into `stats` ([8, groups·C]).
 */
export function jsMixedActivationGrad(
  dy: Float32Array,
  x: Float32Array,
  coef: Float32Array,
  a: Float32Array,
  b: Float32Array,
  slopes: Float32Array,
  offsets: number[],
  dx: Float32Array,
  stats: Float32Array,
): void {
  const groups = b.length;
  const c = a.length / groups;
  const n = x.length;
  const width = groups * c;
  const perElement = slopes.length !== 1;
  for (let g = 0; g < groups; g++) {
    const [cPos, cRelu6, cExp, cSwish, cLeak, cPrelu, cRrelu] = coef.subarray(7 * g, 7 * g + 7);
    const bg = b[g];
    const offset = offsets[g] ?? 0;
    // A channel at a time (stride c), so that its 8 sums are locals, not memory.
    for (let k = 0; k < c; k++) {
      const ak = a[g * c + k];
      const fixedSlope = cLeak + cPrelu * ak;
      let positive = 0,
        relu6 = 0,
        expm1 = 0,
        swish = 0,
        negative = 0,
        negativeRrelu = 0,
        swishBeta = 0;
      for (let i = k, o = g * c + k; i < n; i += c, o += width) {
        const v = x[i];
        const gi = dy[o];
        const bx = bg * v;
        const sig = sigmoid(bx);
        const sigSlope = sig * (1 - sig);
        let d = (sig + bx * sigSlope) * cSwish;
        if (v > 0) {
          d += cPos + (v < 6 ? cRelu6 : 0);
          positive += gi * v;
          relu6 += gi * (v < 6 ? v : 6);
        } else {
          const e = expNonPositive(v);
          const s = slopes[perElement ? offset + i : 0];
          d += fixedSlope + cRrelu * s + e * cExp;
          const gn = gi * v;
          expm1 += gi * (e - 1);
          negative += gn;
          negativeRrelu += gn * s;
        }
        const gv = gi * v;
        swish += gv * sig;
        swishBeta += gv * v * sigSlope;
        // The first group writes dx (wasm's fresh memory is not zeroed), the others add to it.
        dx[i] = g === 0 ? gi * d : dx[i] + gi * d;
      }
      // Rows as MIX_STAT_ROWS: positive, relu6, expm1, swish, negative, negative·a, negative·s, swish b.
      const q = g * c + k;
      stats[q] = positive;
      stats[width + q] = relu6;
      stats[2 * width + q] = expm1;
      stats[3 * width + q] = swish;
      stats[4 * width + q] = negative;
      stats[5 * width + q] = negative * ak;
      stats[6 * width + q] = negativeRrelu;
      stats[7 * width + q] = swishBeta;
    }
  }
}

/**
 * A size×size max pool's input gradient (KERNELS.maxPoolGrad) into dx. A window holding NaN
 * sends its gradient to its last tap, not to the NaN as PyTorch would; a NaN loss stops the
 * search before that gradient matters.
 */
export function jsMaxPoolGrad(
  x: Float32Array,
  dy: Float32Array,
  shape: number[],
  outShape: number[],
  size: number,
  stride: number,
  padBefore: number,
  dx: Float32Array,
): void {
  const [n, h, w, c] = shape;
  const [, oh, ow] = outShape;
  const taps = new Int32Array(size * size);
  dx.fill(0); // wasm's fresh output memory is not zeroed
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const top = r * stride - padBefore;
      for (let s = 0; s < ow; s++) {
        const left = s * stride - padBefore;
        // The window's taps in row-major order (offsets of channel 0); padding is never a tap.
        let count = 0;
        for (let y = Math.max(top, 0); y < Math.min(top + size, h); y++)
          for (let xx = Math.max(left, 0); xx < Math.min(left + size, w); xx++)
            taps[count++] = ((b * h + y) * w + xx) * c;
        const out = ((b * oh + r) * ow + s) * c;
        for (let k = 0; k < c; k++) {
          // The maximum without branches, then the first tap that holds it (as PyTorch routes).
          let best = x[taps[0] + k];
          for (let t = 1; t < count; t++) best = Math.max(best, x[taps[t] + k]);
          let t = 0;
          while (t < count - 1 && x[taps[t] + k] !== best) t++;
          dx[taps[t] + k] += dy[out + k];
        }
      }
    }
  }
}

/**
 * One parameter gradient from the per-channel sums (KERNELS.mixParamGrad) of `groups` groups of
 * c channels: 0 the coefficients' [groups, 7], 1 the PReLU slopes' [groups·c], 2 Swish's b [groups].
 */
export function jsMixedActivationParamGrad(
  stats: Float32Array,
  coef: Float32Array,
  groups: number,
  part: number,
  out: Float32Array,
): void {
  const width = stats.length / 8;
  const c = width / groups;
  const row = (r: number, g: number) => {
    let sum = 0;
    for (let k = 0; k < c; k++) sum += stats[r * width + g * c + k];
    return Math.fround(sum);
  };
  for (let g = 0; g < groups; g++) {
    if (part === 0) for (let r = 0; r < 7; r++) out[7 * g + r] = row(r, g);
    else if (part === 1) for (let k = 0; k < c; k++) out[g * c + k] = stats[4 * width + g * c + k] * coef[7 * g + 5];
    else out[g] = row(7, g) * coef[7 * g + 3];
  }
}

// ---------------------------------------------------------------------------------------------
// Grouped 1×1 convs: k groups of channels side by side, each with its own [inC, outC] weight.

/**
 * out[p, g·outC + o] = Σ_j x[p, g·inC + j] · w[g, j, o] (transposed: w[g, o, j], w being
 * [k, outC, inC]). Each group's weight is first laid out [o][j], so the inner loop walks both
 * arrays in order. Sums in float64.
 */
export function jsGroupedPointwise(
  x: Float32Array,
  w: Float32Array,
  groups: number,
  inC: number,
  outC: number,
  transpose: boolean,
  out: Float32Array,
): void {
  const byOutput = transpose ? w : new Float32Array(w.length);
  if (!transpose)
    for (let g = 0; g < groups; g++)
      for (let j = 0; j < inC; j++)
        for (let o = 0; o < outC; o++) byOutput[(g * outC + o) * inC + j] = w[(g * inC + j) * outC + o];
  const rowIn = groups * inC;
  const rowOut = groups * outC;
  const rows = x.length / rowIn;
  for (let p = 0; p < rows; p++) {
    for (let g = 0; g < groups; g++) {
      const xStart = p * rowIn + g * inC;
      for (let o = 0; o < outC; o++) {
        const wStart = (g * outC + o) * inC;
        let sum = 0;
        for (let j = 0; j < inC; j++) sum += x[xStart + j] * byOutput[wStart + j];
        out[p * rowOut + g * outC + o] = sum;
      }
    }
  }
}

/** dw[g, j, o] = Σ_p x[p, g·inC + j] · dy[p, g·outC + o]: the grouped conv's weight gradient. */
export function jsGroupedPointwiseGradFilter(
  x: Float32Array,
  dy: Float32Array,
  groups: number,
  inC: number,
  outC: number,
  out: Float32Array,
): void {
  const sums = new Float64Array(groups * inC * outC);
  const rowIn = groups * inC;
  const rowOut = groups * outC;
  const rows = x.length / rowIn;
  for (let p = 0; p < rows; p++) {
    for (let g = 0; g < groups; g++) {
      const dyStart = p * rowOut + g * outC;
      for (let j = 0; j < inC; j++) {
        const xv = x[p * rowIn + g * inC + j];
        if (xv === 0) continue; // a ReLU's zeros: about half of them
        const at = (g * inC + j) * outC;
        for (let o = 0; o < outC; o++) sums[at + o] += xv * dy[dyStart + o];
      }
    }
  }
  out.set(sums);
}

// ---------------------------------------------------------------------------------------------
// Registration: cpu and wasm run the JavaScript above on their tensors' memory.

type Info = tf.TensorInfo;
interface JsMemory {
  /** Allocates the outputs, then hands the inputs' and the outputs' arrays to fill. */
  outputs(
    backend: unknown,
    shapes: number[][],
    inputs: Info[],
    fill: (ins: Float32Array[], outs: Float32Array[]) => void,
  ): Info[];
}
function single(memory: JsMemory) {
  return (
    backend: unknown,
    shape: number[],
    inputs: Info[],
    fill: (ins: Float32Array[], out: Float32Array) => void,
  ): Info => memory.outputs(backend, [shape], inputs, (ins, [out]) => fill(ins, out))[0];
}

const cpuMemory: JsMemory = {
  outputs(backend, shapes, inputs, fill) {
    const be = backend as {
      readSync(id: unknown): Float32Array;
      makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): Info;
    };
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
    const be = backend as {
      makeOutput(shape: number[], dtype: 'float32'): Info;
      typedArrayFromHeap(t: Info): Float32Array;
    };
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
  const reg = (
    kernelName: string,
    kernelFunc: (args: {
      inputs: Record<string, Info>;
      backend: unknown;
      attrs: Record<string, number>;
    }) => Info | Info[],
  ) => {
    if (!tf.getKernel(kernelName, backendName))
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  reg(KERNELS.bnStats, ({ inputs: { x }, backend }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, [2, c], [x], ([xv], out) => out.set(jsBatchNormStats(xv, c)));
  });
  reg(KERNELS.bnApply, ({ inputs: { x, stats, gamma, beta }, backend, attrs }) =>
    memory.output(backend, x.shape, [x, stats, gamma, beta], ([xv, sv, gv, bv], out) =>
      jsBatchNormApply(xv, sv, gv, bv, attrs.epsilon, out, attrs.relu === 1),
    ),
  );
  reg(KERNELS.bnGradStats, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, [4, c], [dy, x], ([dv, xv], out) =>
      out.set(jsBatchNormGradStats(dv, xv, c, attrs.epsilon, attrs.relu === 1)),
    );
  });
  reg(KERNELS.bnGradApply, ({ inputs: { dy, x, gradStats, gamma }, backend, attrs }) =>
    memory.output(backend, x.shape, [dy, x, gradStats, gamma], ([dv, xv, sv, gv], out) =>
      jsBatchNormGradApply(dv, xv, sv, gv, attrs.epsilon, out, attrs.relu === 1),
    ),
  );
  // Non-affine: the same functions in one kernel (the statistics rounded to float32 as when
  // they were a tensor between two kernels, so the results are bitwise those of that pair).
  const ones = (c: number) => new Float32Array(c).fill(1);
  reg(KERNELS.bnNonAffine, ({ inputs: { x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, x.shape, [x], ([xv], out) =>
      jsBatchNormApply(xv, jsBatchNormStats(xv, c), ones(c), new Float32Array(c), attrs.epsilon, out, attrs.relu === 1),
    );
  });
  reg(KERNELS.bnNonAffineGrad, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    return memory.output(backend, x.shape, [dy, x], ([dv, xv], out) =>
      jsBatchNormGradApply(
        dv,
        xv,
        jsBatchNormGradStats(dv, xv, c, attrs.epsilon, attrs.relu === 1),
        ones(c),
        attrs.epsilon,
        out,
        attrs.relu === 1,
      ),
    );
  });
  reg(KERNELS.mixForward, ({ inputs: { x, coefficients, preluSlope, swishBeta, slopes, offsets }, backend }) =>
    memory.output(
      backend,
      mixOutputShape(x.shape, swishBeta.shape[0]),
      [x, coefficients, preluSlope, swishBeta, slopes, offsets],
      ([xv, kv, av, bv, sv, ov], out) => jsMixedActivation(xv, kv, av, bv, sv, Array.from(ov), out),
    ),
  );
  reg(KERNELS.mixGrad, ({ inputs: { dy, x, coefficients, preluSlope, swishBeta, slopes, offsets }, backend }) =>
    jsMemory.outputs(
      backend,
      [x.shape, [MIX_STAT_ROWS.length, preluSlope.shape[0]]],
      [dy, x, coefficients, preluSlope, swishBeta, slopes, offsets],
      ([gv, xv, kv, av, bv, sv, ov], [dx, stats]) =>
        jsMixedActivationGrad(gv, xv, kv, av, bv, sv, Array.from(ov), dx, stats),
    ),
  );
  reg(KERNELS.maxPoolGrad, ({ inputs: { x, dy }, backend, attrs }) =>
    memory.output(backend, x.shape, [x, dy], ([xv, gv], out) =>
      jsMaxPoolGrad(xv, gv, x.shape, dy.shape, attrs.size, attrs.stride, attrs.padBefore, out),
    ),
  );
  reg(KERNELS.mixParamGrad, ({ inputs: { stats, coefficients }, backend, attrs }) =>
    memory.output(
      backend,
      mixParamGradShape(attrs.part, coefficients.shape, stats.shape[1]),
      [stats, coefficients],
      ([sv, kv], out) => jsMixedActivationParamGrad(sv, kv, kv.length / 7, attrs.part, out),
    ),
  );
  reg(KERNELS.sumOfSquares, ({ inputs, backend }) => {
    const xs = Object.keys(inputs)
      .sort()
      .map((k) => inputs[k]);
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
      for (let i = 0; i < wv.length; i++)
        out[i] = Math.fround(momentum * bv[i]) + Math.fround(Math.fround(gv[i] * k) + Math.fround(weightDecay * wv[i]));
    }),
  );
  reg(KERNELS.sgdApply, ({ inputs: { w, buf, lr }, backend }) =>
    memory.output(backend, w.shape, [w, buf, lr], ([wv, bv, lv], out) => {
      const learningRate = lv[0];
      for (let i = 0; i < wv.length; i++) out[i] = wv[i] - Math.fround(bv[i] * learningRate);
    }),
  );
  reg(KERNELS.groupedPointwise, ({ inputs: { x, weight }, backend, attrs }) => {
    const [groups, a, b] = weight.shape;
    const [inC, outC] = attrs.transpose === 1 ? [b, a] : [a, b];
    const shape = [...x.shape.slice(0, -1), groups * outC];
    return memory.output(backend, shape, [x, weight], ([xv, wv], out) =>
      jsGroupedPointwise(xv, wv, groups, inC, outC, attrs.transpose === 1, out),
    );
  });
  reg(KERNELS.groupedPointwiseGradFilter, ({ inputs: { x, dy }, backend, attrs }) => {
    const groups = attrs.groups;
    const inC = channelsOf(x.shape) / groups;
    const outC = channelsOf(dy.shape) / groups;
    return memory.output(backend, [groups, inC, outC], [x, dy], ([xv, gv], out) =>
      jsGroupedPointwiseGradFilter(xv, gv, groups, inC, outC, out),
    );
  });
  reg(KERNELS.weightedSum, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices as unknown as string);
    const list = Object.values(inputs); // [weights, o0 …]: an array, as AddN's
    const views = decodeViews(attrs.views as unknown as string | undefined, indices.length);
    const shape = [...list[1].shape.slice(0, -1), channelsOf(list[1].shape) / views[0].groups];
    return memory.output(backend, shape, list, ([wv, ...rest], out) => {
      const coefficients = indices.map((index) => wv[index]);
      const c = shape[shape.length - 1];
      if (views.every((v) => v.groups === 1)) {
        for (let i = 0; i < out.length; i++) {
          let sum = 0;
          for (let j = 0; j < indices.length; j++) sum += Math.fround(coefficients[j] * rest[j][i]);
          out[i] = sum;
        }
        return;
      }
      for (let i = 0; i < out.length; i++) {
        const p = Math.floor(i / c);
        const k = i - p * c;
        let sum = 0;
        for (let j = 0; j < indices.length; j++)
          sum += Math.fround(coefficients[j] * rest[j][(p * views[j].groups + views[j].slot) * c + k]);
        out[i] = sum;
      }
    });
  });
  reg(KERNELS.scaleBy, ({ inputs: { x, weights }, backend, attrs }) => {
    const groups = attrs.groups ?? 1;
    const slot = attrs.slot ?? 0;
    const c = channelsOf(x.shape);
    return memory.output(backend, [...x.shape.slice(0, -1), groups * c], [x, weights], ([xv, wv], out) => {
      const k = wv[attrs.index];
      if (groups === 1) {
        for (let i = 0; i < out.length; i++) out[i] = xv[i] * k;
        return;
      }
      out.fill(0); // wasm's fresh output memory is not zeroed
      for (let i = 0; i < xv.length; i++) {
        const p = Math.floor(i / c);
        out[(p * groups + slot) * c + (i - p * c)] = xv[i] * k;
      }
    });
  });
  reg(KERNELS.weightedSumGrad, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices as unknown as string);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    const views = decodeViews(attrs.views as unknown as string | undefined, indices.length);
    const c = channelsOf(inputs.dy.shape);
    return memory.output(backend, [1, attrs.width], [inputs.dy, ...outs], ([gv, ...ov], out) => {
      out.fill(0); // wasm's fresh output memory is not zeroed
      indices.forEach((index, j) => {
        const { groups, slot } = views[j];
        let sum = 0;
        if (groups === 1) for (let i = 0; i < gv.length; i++) sum += gv[i] * ov[j][i];
        else
          for (let i = 0; i < gv.length; i++) {
            const p = Math.floor(i / c);
            sum += gv[i] * ov[j][(p * groups + slot) * c + (i - p * c)];
          }
        out[index] = sum;
      });
    });
  });
}

/** Registers the JavaScript kernels for cpu and wasm (once; later calls do nothing). */
export function registerJsKernels(): void {
  registerJs('cpu', cpuMemory);
  registerJs('wasm', wasmMemory);
}
