// The fused kernels on webgpu: WGSL programs run through the backend's program runner (the
// interface of tfjs-backend-webgpu's WebGPUProgram; the package is not imported here, so Node
// tests and pages without WebGPU never load it).
import * as tf from '@tensorflow/tfjs';
import {
  KERNELS,
  MAX_MIX_GROUPS,
  MIX_STAT_ROWS,
  channelsOf,
  decodeIndices,
  decodeViews,
  mixOutputShape,
  mixParamGradShape,
  type TermView,
} from './fused-names';
import { isPackedBuffer, markUpdatedInPlace } from './packed-sgd';

type Info = tf.TensorInfo;

const WORKGROUP = 64;
/**
 * Lanes of a one-workgroup-per-channel reduction over `rows` values: there are only C
 * workgroups (16 at the paper's size), so a large tensor gets the most lanes WebGPU allows by
 * default, to keep loads in flight; a small one 64, which is also faster on a software adapter
 * (SwiftShader runs a workgroup's lanes as CPU fibers: 256 made the GPU tests 30% slower).
 * The shaders read it as the constant LANES.
 */
function reductionLanes(rows: number): number {
  return rows >= 4096 ? 256 : 64;
}
const lanesConstant = (lanes: number) => `const LANES : u32 = ${lanes}u;`;

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
  runWebGPUProgram(program: WebGpuProgram, inputs: Info[], dtype: 'float32', uniforms?: Uniform[], output?: Info): Info;
  incRef(dataId: object): void;
  tensorMap: { get(dataId: object): { resource: unknown; values: unknown } | undefined };
}

const WGSL_SIGMOID = `
  fn labSigmoid(z : f32) -> f32 {
    if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
    let e = exp(z);
    return e / (1.0 + e);
  }`;

/** One thread per element; 2-D dispatch beyond 65535 workgroups (getGlobalIndex folds it). */
function elementwise(
  key: string,
  variableNames: string[],
  shape: number[],
  uniforms: string,
  body: string,
  helpers = '',
): WebGpuProgram {
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
      ${helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let k = index % uniforms.channels;
          ${body}
        }
      }`,
  };
}

/**
 * One workgroup per channel over x viewed as [inputRows, channels]; `body` runs the strided
 * passes and writes result[r * channels + c] (rows: the output's; a reduction's sums from lane
 * 0, a whole channel from every lane). treeReduce(names, 'LANES') sums shared arrays.
 */
function perChannel(
  key: string,
  variableNames: string[],
  rows: number,
  channels: number,
  sharedArrays: string[],
  body: string,
  inputRows: number,
  extraUniforms = '',
  helpers = '',
): WebGpuProgram {
  const lanes = reductionLanes(inputRows);
  return {
    variableNames,
    outputShape: [rows, channels],
    shaderKey: `${key}_${lanes}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [channels, 1, 1],
    workgroupSize: [lanes, 1, 1],
    uniforms: `channels : i32, count : i32, epsilon : f32, slopeOffset : i32, ${extraUniforms}`,
    getUserCode: () => `
      ${lanesConstant(lanes)}
      ${sharedArrays.map((n) => `var<workgroup> ${n} : array<f32, LANES>;`).join('\n')}
      ${WGSL_SIGMOID}
      ${helpers}
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        let lane = localId.x;
        let C = uniforms.channels;
        let M = uniforms.count / C;
        ${body}
      }`,
  };
}

function treeReduce(names: string[], lanes = `${WORKGROUP}u`): string {
  return `
    workgroupBarrier();
    for (var half = ${lanes} / 2u; half > 0u; half = half >> 1u) {
      if (lane < half) {
        ${names.map((n) => `${n}[lane] = ${n}[lane] + ${n}[lane + half];`).join('\n')}
      }
      workgroupBarrier();
    }`;
}

type WebGpuKernel = (args: {
  inputs: Record<string, Info>;
  backend: WebGpuBackendLike;
  attrs: Record<string, number>;
}) => Info | Info[];
function reg(kernelName: string, kernelFunc: WebGpuKernel): void {
  if (!tf.getKernel(kernelName, 'webgpu'))
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
const sizeOf = (t: Info) => t.shape.reduce((p, d) => p * d, 1);

// The uniforms of a per-channel reduction (perChannel) and of an elementwise program over channels.
const reduceUniforms = (x: Info, epsilon = 0, slopeOffset = 0): Uniform[] => [
  { type: 'int32', data: [channelsOf(x.shape)] },
  { type: 'int32', data: [sizeOf(x)] },
  { type: 'float32', data: [epsilon] },
  { type: 'int32', data: [slopeOffset] },
];
const elementUniforms = 'channels : i32, epsilon : f32, slopeCount : i32, slopeOffset : i32,';
const elementData = (channels: number, epsilon = 0, slopeCount = 1, slopeOffset = 0): Uniform[] => [
  { type: 'int32', data: [channels] },
  { type: 'float32', data: [epsilon] },
  { type: 'int32', data: [slopeCount] },
  { type: 'int32', data: [slopeOffset] },
];

/** Batch norm with batch statistics: statistics, apply and their gradients, affine or not, with or without a fused ReLU. */
function registerWebGpuBatchNorm(): void {
  const meanAndVariance = `
    var sum = 0.0;
    for (var m = i32(lane); m < M; m = m + i32(LANES)) { sum = sum + X[m * C + c]; }
    p0[lane] = sum;
    ${treeReduce(['p0'], 'LANES')}
    let mean = p0[0] / f32(M);
    var squares = 0.0;`;

  // The channel's mean and (biased, two-pass) variance in every lane.
  const moments = `
    ${meanAndVariance}
    for (var m = i32(lane); m < M; m = m + i32(LANES)) { let d = X[m * C + c] - mean; squares = squares + d * d; }
    p1[lane] = squares;
    ${treeReduce(['p1'], 'LANES')}
    let variance = p1[0] / f32(M);`;

  reg(KERNELS.bnStats, ({ inputs: { x }, backend }) => {
    const c = channelsOf(x.shape);
    const program = perChannel(
      'lab_bn_stats',
      ['X'],
      2,
      c,
      ['p0', 'p1'],
      `
      ${moments}
      if (lane == 0u) { result[c] = mean; result[C + c] = variance; }`,
      sizeOf(x) / c,
    );
    return backend.runWebGPUProgram(program, [x], 'float32', reduceUniforms(x));
  });
  // With relu (non-affine BN then ReLU) the output is positive exactly where x > mean: the
  // backward programs mask dy there. A variant of the program, so part of its shader key.
  const masked = (relu: number, g: string, x: string, mean: string) =>
    relu === 1 ? `select(0.0, ${g}, ${x} > ${mean})` : g;
  // Σdy and Σdy·(x − mean) beside the variance, over one channel: the gradient's statistics.
  const gradientSums = (relu: number) => `
      ${meanAndVariance}
      var sumDy = 0.0;
      var sumDyCentered = 0.0;
      for (var m = i32(lane); m < M; m = m + i32(LANES)) {
        let d = X[m * C + c] - mean;
        let g = ${masked(relu, 'G[m * C + c]', 'X[m * C + c]', 'mean')};
        squares = squares + d * d;
        sumDy = sumDy + g;
        sumDyCentered = sumDyCentered + g * d;
      }
      p1[lane] = squares;
      p2[lane] = sumDy;
      p3[lane] = sumDyCentered;
      ${treeReduce(['p1', 'p2', 'p3'], 'LANES')}
      let variance = p1[0] / f32(M);
      let rstd = inverseSqrt(variance + uniforms.epsilon);`;
  reg(KERNELS.bnGradStats, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    const program = perChannel(
      `lab_bn_grad_stats_${attrs.relu === 1 ? 'relu' : 'plain'}`,
      ['G', 'X'],
      4,
      c,
      ['p0', 'p1', 'p2', 'p3'],
      `
      ${gradientSums(attrs.relu)}
      if (lane == 0u) {
        result[c] = mean;
        result[C + c] = variance;
        result[2 * C + c] = p2[0];
        result[3 * C + c] = p3[0] * rstd;
      }`,
      sizeOf(x) / c,
    );
    return backend.runWebGPUProgram(program, [dy, x], 'float32', reduceUniforms(x, attrs.epsilon));
  });
  // Non-affine batch norm: the workgroup of channel c reduces, then writes the channel (one
  // dispatch each way instead of two; the statistics never leave the workgroup).
  reg(KERNELS.bnNonAffine, ({ inputs: { x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    const relu = attrs.relu === 1;
    const program = perChannel(
      `lab_bn_non_affine_${relu ? 'relu' : 'plain'}`,
      ['X'],
      sizeOf(x) / c,
      c,
      ['p0', 'p1'],
      `
      ${moments}
      let rstd = inverseSqrt(variance + uniforms.epsilon);
      for (var m = i32(lane); m < M; m = m + i32(LANES)) {
        let v = X[m * C + c];
        result[m * C + c] = ${relu ? 'select(0.0, (v - mean) * rstd, v > mean)' : '(v - mean) * rstd'};
      }`,
      sizeOf(x) / c,
    );
    return { ...backend.runWebGPUProgram(program, [x], 'float32', reduceUniforms(x, attrs.epsilon)), shape: x.shape };
  });
  reg(KERNELS.bnNonAffineGrad, ({ inputs: { dy, x }, backend, attrs }) => {
    const c = channelsOf(x.shape);
    const program = perChannel(
      `lab_bn_non_affine_grad_${attrs.relu === 1 ? 'relu' : 'plain'}`,
      ['G', 'X'],
      sizeOf(x) / c,
      c,
      ['p0', 'p1', 'p2', 'p3'],
      `
      ${gradientSums(attrs.relu)}
      let sumDyXhat = p3[0] * rstd;
      let count = f32(M);
      for (var m = i32(lane); m < M; m = m + i32(LANES)) {
        let v = X[m * C + c];
        let g = ${masked(attrs.relu, 'G[m * C + c]', 'v', 'mean')};
        result[m * C + c] = (g * count - p2[0] - (v - mean) * rstd * sumDyXhat) * (rstd / count);
      }`,
      sizeOf(x) / c,
    );
    return {
      ...backend.runWebGPUProgram(program, [dy, x], 'float32', reduceUniforms(x, attrs.epsilon)),
      shape: x.shape,
    };
  });
  reg(KERNELS.bnApply, ({ inputs: { x, stats, gamma, beta }, backend, attrs }) => {
    const relu = attrs.relu === 1;
    const program = elementwise(
      `lab_bn_apply_${relu ? 'relu' : 'plain'}`,
      ['X', 'S', 'W', 'B'],
      x.shape,
      elementUniforms,
      `
      let value = (X[index] - S[k]) * inverseSqrt(S[uniforms.channels + k] + uniforms.epsilon) * W[k] + B[k];
      setOutputAtIndex(index, ${relu ? 'select(0.0, value, X[index] > S[k])' : 'value'});`,
    );
    return backend.runWebGPUProgram(
      program,
      [x, stats, gamma, beta],
      'float32',
      elementData(channelsOf(x.shape), attrs.epsilon),
    );
  });
  reg(KERNELS.bnGradApply, ({ inputs: { dy, x, gradStats, gamma }, backend, attrs }) => {
    const program = elementwise(
      `lab_bn_grad_apply_${attrs.relu === 1 ? 'relu' : 'plain'}`,
      ['G', 'X', 'S', 'W'],
      x.shape,
      elementUniforms,
      `
      let C = uniforms.channels;
      let M = f32(uniforms.size / C);
      let rstd = inverseSqrt(S[C + k] + uniforms.epsilon);
      let xhat = (X[index] - S[k]) * rstd;
      let g = ${masked(attrs.relu, 'G[index]', 'X[index]', 'S[k]')};
      let value = (g * M - S[2 * C + k] - xhat * S[3 * C + k]) * (rstd * W[k] / M);
      setOutputAtIndex(index, value);`,
    );
    return backend.runWebGPUProgram(
      program,
      [dy, x, gradStats, gamma],
      'float32',
      elementData(channelsOf(x.shape), attrs.epsilon),
    );
  });
}

/**
 * The mixed activation of G edges reading one x, side by side in channels (G = 1: one edge).
 * Group g: coefficients K[7g …], PReLU slopes A[gC …], Swish's B[g], RReLU slopes from the
 * pool at offset O[g], or the one mean slope. The offsets are an input, not uniforms: they change
 * every step, and a compiled step (compiled-step.ts) writes inputs, never uniforms.
 */
function registerWebGpuMixedActivation(): void {
  const mixUniforms = 'groupChannels : i32, groups : i32, slopeCount : i32,';
  const mixData = (groupChannels: number, groups: number, slopes: Info, offsets: Info): Uniform[] => {
    if (sizeOf(offsets) !== groups || groups > MAX_MIX_GROUPS)
      throw new Error(
        `LabMixedActivation: ${sizeOf(offsets)} slope offsets for ${groups} groups (at most ${MAX_MIX_GROUPS})`,
      );
    return [groupChannels, groups, sizeOf(slopes)].map((v) => ({ type: 'int32', data: [v] }));
  };
  const slopeOffsetOf = `
    fn slopeOffsetOf(g : i32) -> i32 { return O[g]; }`;
  const groupsOf = (swishBeta: Info) => swishBeta.shape[0];
  reg(KERNELS.mixForward, ({ inputs: { x, coefficients, preluSlope, swishBeta, slopes, offsets }, backend }) => {
    const groups = groupsOf(swishBeta);
    const c = channelsOf(x.shape);
    const program = elementwise(
      'lab_mixed_activation',
      ['X', 'K', 'A', 'B', 'S', 'O'],
      mixOutputShape(x.shape, groups),
      `channels : i32, ${mixUniforms}`,
      `
      let c = k % uniforms.groupChannels;
      let g = k / uniforms.groupChannels;
      let xi = (index / uniforms.channels) * uniforms.groupChannels + c;
      let v = X[xi];
      let n = min(v, 0.0);
      let p = max(v, 0.0);
      let s = select(S[0], S[xi + slopeOffsetOf(g)], uniforms.slopeCount != 1);
      let kb = g * 7;
      let value = p * K[kb] + min(p, 6.0) * K[kb + 1] + n * (K[kb + 4] + K[kb + 5] * A[k] + K[kb + 6] * s) + (exp(n) - 1.0) * K[kb + 2]
        + v * labSigmoid(B[g] * v) * K[kb + 3];
      setOutputAtIndex(index, value);`,
      slopeOffsetOf,
    );
    return backend.runWebGPUProgram(program, [x, coefficients, preluSlope, swishBeta, slopes, offsets], 'float32', [
      { type: 'int32', data: [groups * c] },
      ...mixData(c, groups, slopes, offsets),
    ]);
  });
  reg(KERNELS.mixGrad, ({ inputs: { dy, x, coefficients, preluSlope, swishBeta, slopes, offsets }, backend }) => {
    const groups = groupsOf(swishBeta);
    const c = channelsOf(x.shape);
    const width = groups * c;
    // dx: each element sums its G edges' gradients.
    const program = elementwise(
      'lab_mixed_activation_grad',
      ['G', 'X', 'K', 'A', 'B', 'S', 'O'],
      x.shape,
      `channels : i32, ${mixUniforms}`,
      `
      let C = uniforms.groupChannels;
      let v = X[index];
      let row = (index / C) * uniforms.groups * C;
      var total = 0.0;
      for (var g = 0; g < uniforms.groups; g = g + 1) {
        let kb = g * 7;
        let s = select(S[0], S[index + slopeOffsetOf(g)], uniforms.slopeCount != 1);
        let bx = B[g] * v;
        let sig = labSigmoid(bx);
        var d = (sig + bx * sig * (1.0 - sig)) * K[kb + 3];
        if (v > 0.0) {
          d = d + K[kb] + select(0.0, K[kb + 1], v < 6.0);
        } else {
          d = d + K[kb + 4] + K[kb + 5] * A[g * C + k] + K[kb + 6] * s + exp(v) * K[kb + 2];
        }
        total = total + G[row + g * C + k] * d;
      }
      setOutputAtIndex(index, total);`,
      slopeOffsetOf,
    );
    const names = MIX_STAT_ROWS.map((_, r) => `q${r}`);
    // A workgroup per output channel (edge g's channel c of x) over the rows.
    const statsProgram = perChannel(
      'lab_mixed_activation_grad_stats',
      ['G', 'X', 'A', 'B', 'S', 'O'],
      MIX_STAT_ROWS.length,
      width,
      names,
      `
      let perElement = uniforms.slopeCount != 1;
      let gc = uniforms.groupChannels;
      let g = c / gc;
      let ch = c % gc;
      let offset = slopeOffsetOf(g);
      var t0 = 0.0; var t1 = 0.0; var t2 = 0.0; var t3 = 0.0; var t4 = 0.0; var t5 = 0.0; var t6 = 0.0; var t7 = 0.0;
      for (var m = i32(lane); m < M; m = m + i32(LANES)) {
        let xi = m * gc + ch;
        let v = X[xi];
        let gr = G[m * C + c];
        let n = min(v, 0.0);
        let p = max(v, 0.0);
        let s = select(S[0], S[xi + offset], perElement);
        let sig = labSigmoid(B[g] * v);
        t0 = t0 + gr * p;
        t1 = t1 + gr * min(p, 6.0);
        t2 = t2 + gr * (exp(n) - 1.0);
        t3 = t3 + gr * v * sig;
        t4 = t4 + gr * n;
        t5 = t5 + gr * n * A[c];
        t6 = t6 + gr * n * s;
        t7 = t7 + gr * v * v * sig * (1.0 - sig);
      }
      ${names.map((n, r) => `${n}[lane] = t${r};`).join('\n')}
      ${treeReduce(names, 'LANES')}
      if (lane == 0u) {
        ${names.map((n, r) => `result[${r} * C + c] = ${n}[0];`).join('\n')}
      }`,
      sizeOf(x) / c,
      mixUniforms,
      slopeOffsetOf,
    );
    return [
      backend.runWebGPUProgram(program, [dy, x, coefficients, preluSlope, swishBeta, slopes, offsets], 'float32', [
        { type: 'int32', data: [c] },
        ...mixData(c, groups, slopes, offsets),
      ]),
      backend.runWebGPUProgram(statsProgram, [dy, x, preluSlope, swishBeta, slopes, offsets], 'float32', [
        { type: 'int32', data: [width] },
        { type: 'int32', data: [(sizeOf(x) / c) * width] },
        { type: 'float32', data: [0] },
        { type: 'int32', data: [0] },
        ...mixData(c, groups, slopes, offsets),
      ]),
    ];
  });
  // One thread per gradient element; the sums run over a group's channels of one stats row.
  const paramGradBodies = [
    `let g = index / 7;
      let r = index % 7;
      var t = 0.0;
      for (var j = 0; j < uniforms.groupChannels; j = j + 1) { t = t + S[r * uniforms.width + g * uniforms.groupChannels + j]; }
      setOutputAtIndex(index, t);`,
    `setOutputAtIndex(index, S[4 * uniforms.width + index] * K[(index / uniforms.groupChannels) * 7 + 5]);`,
    `var t = 0.0;
      for (var j = 0; j < uniforms.groupChannels; j = j + 1) { t = t + S[7 * uniforms.width + index * uniforms.groupChannels + j]; }
      setOutputAtIndex(index, t * K[index * 7 + 3]);`,
  ];
  reg(KERNELS.mixParamGrad, ({ inputs: { stats, coefficients }, backend, attrs }) => {
    const width = stats.shape[1];
    const groups = coefficients.shape.length === 1 ? 1 : coefficients.shape[0];
    // The coefficients' sums read no coefficient: bind only what the shader reads (WebGPU's
    // automatic layout drops an unread binding that tfjs would still bind).
    const inputs = attrs.part === 0 ? [stats] : [stats, coefficients];
    const program = elementwise(
      `lab_mixed_activation_param_grad_${attrs.part}`,
      attrs.part === 0 ? ['S'] : ['S', 'K'],
      mixParamGradShape(attrs.part, coefficients.shape, width),
      'channels : i32, width : i32, groupChannels : i32,',
      paramGradBodies[attrs.part],
    );
    return backend.runWebGPUProgram(
      program,
      inputs,
      'float32',
      [1, width, width / groups].map((v) => ({ type: 'int32', data: [v] })),
    );
  });
}

/** w's tensor data, if w wraps a packed buffer [w; buf] (packed-sgd.ts); else the kernel refuses it. */
function packedData(backend: WebGpuBackendLike, w: Info, kernelName: string): { resource: unknown; values: unknown } {
  const data = backend.tensorMap.get(w.dataId);
  if (!data || !isPackedBuffer(data.resource, sizeOf(w)))
    throw new Error(`${kernelName}: the weights are not packed with their momentum buffer (packed-sgd.ts)`);
  return data;
}

function registerWebGpuOptimizer(): void {
  reg(KERNELS.sumOfSquares, ({ inputs, backend }) => {
    const xs = Object.keys(inputs)
      .sort()
      .map((k) => inputs[k]);
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
              (n) =>
                `for (var i = i32(lane); i < i32(arrayLength(&${n})); i = i + ${WORKGROUP}) { let v = ${n}[i]; sum = sum + v * v; }`,
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
    const program = elementwise(
      'lab_sgd_momentum',
      ['W', 'G', 'M', 'K'],
      [sizeOf(w)],
      'channels : i32, momentum : f32, weightDecay : f32,',
      `
      let value = uniforms.momentum * M[index] + (G[index] * K[0] + uniforms.weightDecay * W[index]);
      setOutputAtIndex(index, value);`,
    );
    const out = backend.runWebGPUProgram(program, [w, g, buf, scale], 'float32', [
      { type: 'int32', data: [1] },
      { type: 'float32', data: [attrs.momentum] },
      { type: 'float32', data: [attrs.weightDecay] },
    ]);
    return { ...out, shape: w.shape };
  });
  // The learning rate is an input ([1]), not a uniform: it changes with the epoch, and a compiled
  // step (compiled-step.ts) writes inputs, never uniforms.
  reg(KERNELS.sgdApply, ({ inputs: { w, buf, lr }, backend }) => {
    const program = elementwise(
      'lab_sgd_apply',
      ['W', 'M', 'L'],
      [sizeOf(w)],
      'channels : i32,',
      `
      setOutputAtIndex(index, W[index] - M[index] * L[0]);`,
    );
    const out = backend.runWebGPUProgram(program, [w, buf, lr], 'float32', [{ type: 'int32', data: [1] }]);
    return { ...out, shape: w.shape };
  });
  reg(KERNELS.sgdPacked, ({ inputs: { w, g, scale, lr }, backend, attrs }) => {
    // In place: the output is w's own buffer, [w; buf] (packed-sgd.ts), so one dispatch updates
    // both halves, with the arithmetic of LabSgdMomentum and LabSgdApply.
    const data = packedData(backend, w, KERNELS.sgdPacked);
    const program = elementwise(
      'lab_sgd_packed',
      ['G', 'K', 'L'],
      [sizeOf(w)],
      'channels : i32, momentum : f32, weightDecay : f32,',
      `
      let weight = result[index];
      let buf = uniforms.momentum * result[uniforms.size + index] + (G[index] * K[0] + uniforms.weightDecay * weight);
      result[uniforms.size + index] = buf;
      result[index] = weight - buf * L[0];`,
    );
    backend.runWebGPUProgram(
      program,
      [g, scale, lr],
      'float32',
      [
        { type: 'int32', data: [1] },
        { type: 'float32', data: [attrs.momentum] },
        { type: 'float32', data: [attrs.weightDecay] },
      ],
      w,
    );
    markUpdatedInPlace(w.dataId, data);
    backend.incRef(w.dataId);
    return { dataId: w.dataId, shape: w.shape, dtype: w.dtype };
  });
  reg(KERNELS.packedMomentum, ({ inputs: { w }, backend, attrs }) => {
    // w's binding covers its whole packed buffer: the momentum is the second half.
    packedData(backend, w, KERNELS.packedMomentum);
    const program = elementwise(
      'lab_packed_momentum',
      ['W'],
      [sizeOf(w)],
      'channels : i32, scale : f32,',
      `
      setOutputAtIndex(index, uniforms.scale * W[uniforms.size + index]);`,
    );
    const out = backend.runWebGPUProgram(program, [w], 'float32', [
      { type: 'int32', data: [1] },
      { type: 'float32', data: [attrs.scale] },
    ]);
    return { ...out, shape: w.shape };
  });
  // The weights' indices are uniforms, not constants in the code: a compiled program is cached
  // by its shader key, and with a node's indices into the cell's flattened α in the key every
  // node and edge compiled its own (about 130 more programs for factorized, 730 non-factorized).
  const indexUniforms = (indices: number[]) => indices.map((_, j) => `w${j} : i32,`).join(' ');
  const indexData = (indices: number[]): Uniform[] => indices.map((index) => ({ type: 'int32', data: [index] }));
  // A term's view (fused-names.TermView) as uniforms: element (p, c) of a [.., C] result reads
  // its tensor at (p·groups + slot)·C + c (groups 1, slot 0: the element itself).
  const viewUniforms = (count: number) =>
    Array.from({ length: count }, (_, j) => `g${j} : i32, s${j} : i32,`).join(' ');
  const viewData = (views: TermView[]): Uniform[] =>
    views.flatMap((v) => [v.groups, v.slot]).map((n) => ({ type: 'int32', data: [n] }));
  const viewIndex = (j: number, p: string, c: string) =>
    `(${p} * uniforms.g${j} + uniforms.s${j}) * uniforms.channels + ${c}`;
  reg(KERNELS.weightedSum, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices as unknown as string);
    const views = decodeViews(attrs.views as unknown as string | undefined, indices.length);
    const [weights, ...outs] = Object.values(inputs); // an array, as AddN's
    const c = channelsOf(outs[0].shape) / views[0].groups;
    const names = ['W', ...indices.map((_, j) => `O${j}`)];
    const terms = indices.map((_, j) => `W[uniforms.w${j}] * O${j}[${viewIndex(j, 'p', 'k')}]`).join(' + ');
    const program = elementwise(
      `lab_weighted_sum_${indices.length}`,
      names,
      [...outs[0].shape.slice(0, -1), c],
      `channels : i32, ${indexUniforms(indices)} ${viewUniforms(indices.length)}`,
      `
      let p = index / uniforms.channels;
      setOutputAtIndex(index, ${terms});`,
    );
    return backend.runWebGPUProgram(program, [weights, ...outs], 'float32', [
      { type: 'int32', data: [c] },
      ...indexData(indices),
      ...viewData(views),
    ]);
  });
  reg(KERNELS.scaleBy, ({ inputs: { x, weights }, backend, attrs }) => {
    const groups = attrs.groups ?? 1;
    const c = channelsOf(x.shape);
    // A thread per element of the output (x's slot and the zeros around it).
    const program = elementwise(
      'lab_scale_by',
      ['X', 'W'],
      [...x.shape.slice(0, -1), groups * c],
      'channels : i32, weightIndex : i32, groupChannels : i32, slot : i32,',
      `
      let C = uniforms.groupChannels;
      let p = index / uniforms.channels;
      var value = 0.0;
      if (k / C == uniforms.slot) { value = X[p * C + k % C] * W[uniforms.weightIndex]; }
      setOutputAtIndex(index, value);`,
    );
    return backend.runWebGPUProgram(
      program,
      [x, weights],
      'float32',
      [groups * c, attrs.index, c, attrs.slot ?? 0].map((v) => ({ type: 'int32', data: [v] })),
    );
  });
  reg(KERNELS.weightedSumGrad, ({ inputs, backend, attrs }) => {
    const indices = decodeIndices(attrs.indices as unknown as string);
    const views = decodeViews(attrs.views as unknown as string | undefined, indices.length);
    const outs = indices.map((_, j) => inputs[`o${j}`]);
    const size = sizeOf(inputs.dy);
    // Workgroups stride over the elements, each writing its partial sums as one row. Up to
    // 16,384 elements (256 a lane) one workgroup does: its one row needs no Sum kernel after.
    const groups = size <= WORKGROUP * 256 ? 1 : Math.min(256, Math.ceil(size / (WORKGROUP * 16)));
    const width = attrs.width;
    const names = indices.map((_, j) => `q${j}`);
    const program: WebGpuProgram = {
      variableNames: ['G', ...indices.map((_, j) => `O${j}`)],
      outputShape: [groups, width],
      shaderKey: `lab_weighted_sum_grad_${indices.length}_${width}`,
      dispatchLayout: { x: [0, 1] },
      dispatch: [groups, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      // The stride is a uniform: the compiled shader is cached by shaderKey, across group counts.
      uniforms: `count : i32, stride : i32, channels : i32, ${indexUniforms(indices)} ${viewUniforms(indices.length)}`,
      getUserCode: () => `
        ${names.map((n) => `var<workgroup> ${n} : array<f32, ${WORKGROUP}>;`).join('\n')}
        fn main(index : i32) {
          let lane = localId.x;
          let group = i32(workgroupId.x);
          ${names.map((_, j) => `var t${j} = 0.0;`).join(' ')}
          for (var i = group * ${WORKGROUP} + i32(lane); i < uniforms.count; i = i + uniforms.stride) {
            let g = G[i];
            let p = i / uniforms.channels;
            let c = i % uniforms.channels;
            ${names.map((_, j) => `t${j} = t${j} + g * O${j}[${viewIndex(j, 'p', 'c')}];`).join('\n')}
          }
          ${names.map((n, j) => `${n}[lane] = t${j};`).join('\n')}
          ${treeReduce(names)}
          if (lane == 0u) {
            for (var col = 0; col < ${width}; col = col + 1) { result[group * ${width} + col] = 0.0; }
            ${indices.map((_, j) => `result[group * ${width} + uniforms.w${j}] = ${names[j]}[0];`).join('\n')}
          }
        }`,
    };
    return backend.runWebGPUProgram(program, [inputs.dy, ...outs], 'float32', [
      { type: 'int32', data: [size] },
      { type: 'int32', data: [groups * WORKGROUP] },
      { type: 'int32', data: [channelsOf(inputs.dy.shape)] },
      ...indexData(indices),
      ...viewData(views),
    ]);
  });
}

function registerWebGpuDepthwise(): void {
  reg(KERNELS.depthwise, ({ inputs: { x, filter }, backend, attrs }) => {
    const native = tf.getKernel('DepthwiseConv2dNative', 'webgpu');
    if (!native) throw new Error('webgpu has no DepthwiseConv2dNative kernel');
    const convAttrs = {
      strides: [attrs.stride, attrs.stride],
      pad: attrs.pad,
      dilations: [attrs.dilation, attrs.dilation],
      dataFormat: 'NHWC',
    };
    return native.kernelFunc({
      inputs: { x, filter },
      backend: backend as unknown as tf.KernelBackend,
      attrs: convAttrs as unknown as tf.NamedAttrMap,
    }) as Info;
  });
  const uniforms =
    'channels : i32, k : i32, stride : i32, dilation : i32, pad : i32, inHeight : i32, inWidth : i32, outHeight : i32, outWidth : i32,';
  const data = (channels: number, attrs: Record<string, number>, outHeight: number, outWidth: number): Uniform[] =>
    [
      channels,
      attrs.k,
      attrs.stride,
      attrs.dilation,
      attrs.pad,
      attrs.inHeight,
      attrs.inWidth,
      outHeight,
      outWidth,
    ].map((v) => ({ type: 'int32', data: [v] }));
  // dx[b, y, x, c] = Σ_ij w[i, j, c] · dy[b, oy, ox, c] over the taps where y = oy·stride − pad +
  // i·dilation (and the same for x) for an output position (oy, ox) in range. In the shader
  // K is the filter's size and k the element's channel (elementwise's).
  reg(KERNELS.depthwiseGradInput, ({ inputs: { dy, filter }, backend, attrs }) => {
    const [n, outHeight, outWidth, c] = dy.shape;
    const program = elementwise(
      'lab_depthwise_grad_input',
      ['G', 'W'],
      [n, attrs.inHeight, attrs.inWidth, c],
      uniforms,
      `
      let C = uniforms.channels;
      let K = uniforms.k;
      let column = (index / C) % uniforms.inWidth;
      let row = (index / (C * uniforms.inWidth)) % uniforms.inHeight;
      let b = index / (C * uniforms.inWidth * uniforms.inHeight);
      var sum = 0.0;
      for (var i = 0; i < K; i = i + 1) {
        let ty = row + uniforms.pad - i * uniforms.dilation;
        if (ty < 0 || ty % uniforms.stride != 0 || ty / uniforms.stride >= uniforms.outHeight) { continue; }
        let oy = ty / uniforms.stride;
        for (var j = 0; j < K; j = j + 1) {
          let tx = column + uniforms.pad - j * uniforms.dilation;
          if (tx < 0 || tx % uniforms.stride != 0 || tx / uniforms.stride >= uniforms.outWidth) { continue; }
          let ox = tx / uniforms.stride;
          sum = sum + W[(i * K + j) * C + k] * G[((b * uniforms.outHeight + oy) * uniforms.outWidth + ox) * C + k];
        }
      }
      setOutputAtIndex(index, sum);`,
    );
    return backend.runWebGPUProgram(program, [dy, filter], 'float32', data(c, attrs, outHeight, outWidth));
  });
  // A workgroup per filter tap (i, j, c): its lanes stride over the batch and the output map.
  reg(KERNELS.depthwiseGradFilter, ({ inputs: { x, dy }, backend, attrs }) => {
    const [, outHeight, outWidth, c] = dy.shape;
    const k = attrs.k;
    const count = dy.shape[0] * outHeight * outWidth;
    const lanes = reductionLanes(count);
    const program: WebGpuProgram = {
      variableNames: ['X', 'G'],
      outputShape: [k, k, c, 1],
      shaderKey: `lab_depthwise_grad_filter_${lanes}`,
      dispatchLayout: { x: [0, 1, 2, 3] },
      dispatch: [k * k * c, 1, 1],
      workgroupSize: [lanes, 1, 1],
      uniforms: `${uniforms} count : i32,`,
      getUserCode: () => `
        ${lanesConstant(lanes)}
        var<workgroup> p0 : array<f32, LANES>;
        fn main(index : i32) {
          let lane = localId.x;
          let C = uniforms.channels;
          let tap = i32(workgroupId.x);
          let c = tap % C;
          let i = (tap / C) / uniforms.k;
          let j = (tap / C) % uniforms.k;
          var sum = 0.0;
          for (var q = i32(lane); q < uniforms.count; q = q + i32(LANES)) {
            let ox = q % uniforms.outWidth;
            let oy = (q / uniforms.outWidth) % uniforms.outHeight;
            let b = q / (uniforms.outWidth * uniforms.outHeight);
            let row = oy * uniforms.stride - uniforms.pad + i * uniforms.dilation;
            let column = ox * uniforms.stride - uniforms.pad + j * uniforms.dilation;
            if (row >= 0 && row < uniforms.inHeight && column >= 0 && column < uniforms.inWidth) {
              sum = sum + X[((b * uniforms.inHeight + row) * uniforms.inWidth + column) * C + c] * G[q * C + c];
            }
          }
          p0[lane] = sum;
          ${treeReduce(['p0'], 'LANES')}
          if (lane == 0u) { result[tap] = p0[0]; }
        }`,
    };
    return backend.runWebGPUProgram(program, [x, dy], 'float32', [
      ...data(c, attrs, outHeight, outWidth),
      { type: 'int32', data: [count] },
    ]);
  });
}

function registerWebGpuGroupedPointwise(): void {
  const uniforms = 'channels : i32, groups : i32, inC : i32, outC : i32, transpose : i32, rows : i32,';
  const data = (values: number[]): Uniform[] => values.map((v) => ({ type: 'int32', data: [v] }));
  // A thread per output element: group g's dot product of the element's row with weight[g]'s column.
  reg(KERNELS.groupedPointwise, ({ inputs: { x, weight }, backend, attrs }) => {
    const [groups, a, b] = weight.shape;
    const [inC, outC] = attrs.transpose === 1 ? [b, a] : [a, b];
    const shape = [...x.shape.slice(0, -1), groups * outC];
    const program = elementwise(
      'lab_grouped_pointwise',
      ['X', 'W'],
      shape,
      uniforms,
      `
      let p = index / uniforms.channels;
      let g = k / uniforms.outC;
      let o = k % uniforms.outC;
      let xStart = (p * uniforms.groups + g) * uniforms.inC;
      var sum = 0.0;
      for (var j = 0; j < uniforms.inC; j = j + 1) {
        var wi = (g * uniforms.inC + j) * uniforms.outC + o;
        if (uniforms.transpose == 1) { wi = (g * uniforms.outC + o) * uniforms.inC + j; }
        sum = sum + X[xStart + j] * W[wi];
      }
      setOutputAtIndex(index, sum);`,
    );
    return backend.runWebGPUProgram(
      program,
      [x, weight],
      'float32',
      data([groups * outC, groups, inC, outC, attrs.transpose, 0]),
    );
  });
  // A workgroup per weight element, its lanes striding over the rows (as the depthwise filter's gradient).
  reg(KERNELS.groupedPointwiseGradFilter, ({ inputs: { x, dy }, backend, attrs }) => {
    const groups = attrs.groups;
    const inC = channelsOf(x.shape) / groups;
    const outC = channelsOf(dy.shape) / groups;
    const rows = sizeOf(x) / channelsOf(x.shape);
    const lanes = reductionLanes(rows);
    // Beyond 65,535 weights (4 edges of 128 channels) the workgroups fold into a second dimension.
    const weights = groups * inC * outC;
    const nx = Math.min(weights, 65535);
    const program: WebGpuProgram = {
      variableNames: ['X', 'G'],
      outputShape: [groups, inC, outC],
      shaderKey: `lab_grouped_pointwise_grad_filter_${lanes}`,
      dispatchLayout: { x: [0, 1, 2] },
      dispatch: [nx, Math.ceil(weights / nx), 1],
      workgroupSize: [lanes, 1, 1],
      uniforms: `${uniforms} nx : i32,`,
      getUserCode: () => `
        ${lanesConstant(lanes)}
        var<workgroup> p0 : array<f32, LANES>;
        fn main(index : i32) {
          let lane = localId.x;
          let w = i32(workgroupId.y) * uniforms.nx + i32(workgroupId.x);
          // The last row's spare workgroups sum nothing and write nothing (no early return: the
          // barriers must stay in uniform control flow).
          let valid = w < uniforms.groups * uniforms.inC * uniforms.outC;
          let o = w % uniforms.outC;
          let j = (w / uniforms.outC) % uniforms.inC;
          let g = w / (uniforms.outC * uniforms.inC);
          let rowIn = uniforms.groups * uniforms.inC;
          let rowOut = uniforms.groups * uniforms.outC;
          var sum = 0.0;
          if (valid) {
            for (var p = i32(lane); p < uniforms.rows; p = p + i32(LANES)) {
              sum = sum + X[p * rowIn + g * uniforms.inC + j] * G[p * rowOut + g * uniforms.outC + o];
            }
          }
          p0[lane] = sum;
          ${treeReduce(['p0'], 'LANES')}
          if (lane == 0u && valid) { result[w] = p0[0]; }
        }`,
    };
    return backend.runWebGPUProgram(program, [x, dy], 'float32', data([groups * outC, groups, inC, outC, 0, rows, nx]));
  });
}

/** Registers the WGSL kernels for webgpu (once; later calls do nothing). */
export function registerWebGpuKernels(): void {
  registerWebGpuBatchNorm();
  registerWebGpuMixedActivation();
  registerWebGpuOptimizer();
  registerWebGpuDepthwise();
  registerWebGpuGroupedPointwise();
}
