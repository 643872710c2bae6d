// The fused kernels' names and the constants their implementations share (fused.ts runs them;
// fused-js.ts implements them on cpu and wasm, fused-wgsl.ts on webgpu).
export const KERNELS = {
  /** x [.., C] → [2, C]: mean, biased variance (two-pass). */
  bnStats: 'LabBatchNormStats',
  /**
   * x, stats [2, C], gamma [C], beta [C] → (x − mean) · rsqrt(var + ε) · gamma + beta; with
   * attr relu = 1 (non-affine only), then max(·, 0).
   */
  bnApply: 'LabBatchNormApply',
  /**
   * dy, x → [4, C]: mean, variance, Σdy, Σdy·x̂ (x̂ = (x − mean) · rsqrt(var + ε)); with relu = 1,
   * dy counts only where the output was positive (x > mean).
   */
  bnGradStats: 'LabBatchNormGradStats',
  /** dy, x, gradStats [4, C], gamma → dx (relu = 1: dy masked as in bnGradStats). */
  bnGradApply: 'LabBatchNormGradApply',
  /**
   * Non-affine batch norm (every BN inside a mixed op) in one kernel: x → (x − mean) ·
   * rsqrt(var + ε), then max(·, 0) with relu = 1. On webgpu one workgroup per channel computes
   * the channel's statistics and writes it, where bnStats + bnApply were two dispatches.
   */
  bnNonAffine: 'LabBatchNormNonAffine',
  /** dy, x → dx of bnNonAffine (statistics recomputed from x), in one kernel. */
  bnNonAffineGrad: 'LabBatchNormNonAffineGrad',
  /**
   * x [.., C], coefficients [7] or [G, 7], preluSlope [G·C], swishBeta [G], slopes, offsets
   * (int32 [G]) → the mixed activation of G edges that read x, side by side in channels
   * ([.., G·C]; G = 1: one edge's). Edge g's RReLU slope of element i is slopes[offsets[g] + i]
   * (a window into the seeded pool, so no slice kernel), or slopes[0] when slopes has one
   * element (evaluation's mean slope).
   */
  mixForward: 'LabMixedActivation',
  /**
   * dy, x, coefficients, preluSlope, swishBeta, slopes, offsets → [dx (the G edges' summed), [8, G·C]
   * per-channel sums for the parameter gradients (MIX_STAT_ROWS)]: one pass over the data on cpu
   * and wasm, two programs on webgpu.
   */
  mixGrad: 'LabMixedActivationGrad',
  /**
   * stats [8, G·C] (mixGrad's sums), coefficients → one parameter gradient, by `part`:
   * 0 the coefficients' (their shape), 1 the PReLU slopes' [G·C], 2 Swish's b [G].
   */
  mixParamGrad: 'LabMixedActivationParamGrad',
  /** x0 … x6 (up to MAX_SUM_INPUTS tensors) → [1]: Σ x², for the global gradient norm. */
  sumOfSquares: 'LabSumOfSquares',
  /** w, g, buf, scale [1] → PyTorch's momentum buffer μ·buf + (g·scale + wd·w) (first step: without μ·buf). */
  sgdMomentum: 'LabSgdMomentum',
  /** w, buf, lr [1] → w − lr·buf. */
  sgdApply: 'LabSgdApply',
  /**
   * webgpu only. w (wrapping its [w; buf] buffer: packed-sgd.ts), g, scale [1], lr [1] → w, after both
   * updates above in place, in one dispatch. Returns w (a reference, as Identity).
   */
  sgdPacked: 'LabSgdPacked',
  /** webgpu only. w (packed as for LabSgdPacked), attr scale → scale · buf, read from w's buffer. */
  packedMomentum: 'LabPackedMomentum',
  /**
   * [weights [n], o0 … o5] (an array, as AddN's: its gradient saves every input), attr indices
   * (encodeIndices) → Σ weights[index_j] · o_j (part of a node's sum over its mixed edges). With
   * attr views (encodeViews), o_j may hold several edges' outputs side by side in channels, of
   * which the term reads one (a grouped conv's output, read in place: no split).
   */
  weightedSum: 'LabWeightedSum',
  /**
   * [x0 … x6] (an array), attr count → Σ x_i: tfjs's AddN (the chunked one of safety.ts), whose
   * registered gradient saves nothing. tfjs's own AddN gradient saves every input though it reads
   * none, which kept every summed edge output and partial sum alive until the backward pass.
   */
  addN: 'LabAddN',
  /**
   * x, weights [n] → weights[index] · x; with attrs groups > 1 and slot, x's values in that slot of
   * a tensor of `groups` slots side by side in channels, zeros in the others (the gradient of a
   * weighted sum's term read through a view).
   */
  scaleBy: 'LabScaleBy',
  /**
   * x, attr count → count tensors sharing x's buffer (no kernel runs): one per reader of x, so the
   * backward pass sums the readers' gradients with one AddN per 7 (its registered gradient)
   * where tfjs adds each further reader's gradient with an Add kernel of its own.
   */
  fanOut: 'LabFanOut',
  /** dy, o0 … o5, attrs indices, width n (and views, as weightedSum's) → [groups, n] partial sums: column index_j holds Σ dy · o_j, others 0. */
  weightedSumGrad: 'LabWeightedSumGrad',
  /**
   * x [n, h, w, c], dy (a max pool's output gradient), attrs size, stride, padBefore (windows
   * start padBefore before their position) → dx: each window's gradient to its first maximum in
   * row-major order, as PyTorch. cpu and wasm only (wasm's MaxPoolGrad drops part of the
   * gradient; the composite routing ran ~80 kernels).
   */
  maxPoolGrad: 'LabMaxPoolGrad',
  /**
   * x, filter [k, k, c, 1], attrs k, stride, dilation, pad → tfjs's DepthwiseConv2dNative with
   * that stride and dilation; its gradient (registered in fused.ts) runs the two kernels below.
   * webgpu only.
   */
  depthwise: 'LabDepthwiseConv',
  /**
   * dy [n, oh, ow, c], filter [k, k, c, 1], attrs stride, dilation, pad, inHeight, inWidth → dx of
   * a depthwise conv with that stride, dilation and symmetric zero padding. webgpu only: tfjs
   * 4.22 has no gradient for a dilated depthwise conv (it took spaceToBatchND and back: 4 more
   * dispatches a conv each way).
   */
  depthwiseGradInput: 'LabDepthwiseGradInput',
  /**
   * x, dy, attrs k, stride, dilation, pad → the filter's gradient [k, k, c, 1]: a workgroup per
   * filter tap reduces over the batch and the map (tfjs 4.22's kernel loops over them in one
   * thread per tap: 144 threads for a 3×3 filter on 16 channels).
   */
  depthwiseGradFilter: 'LabDepthwiseGradFilter',
  /**
   * x [n, h, w, k·inC] (k groups of channels side by side), weight [k, inC, outC] → [n, h, w,
   * k·outC]: group g's 1×1 conv by weight[g]. The same convs of the k mixed edges leaving one
   * state, in one kernel instead of a matMul each. With attr transpose = 1 the weight is read as
   * [k, outC, inC] transposed (the input gradient: dy by weightᵀ).
   */
  groupedPointwise: 'LabGroupedPointwise',
  /** x [.., k·inC], dy [.., k·outC], attr groups (k) → the weight's gradient [k, inC, outC]: a workgroup per weight on webgpu. */
  groupedPointwiseGradFilter: 'LabGroupedPointwiseGradFilter',
} as const;

/** Op outputs per LabWeightedSum (with the weights and the output: 8 storage buffers) and per LabWeightedSumGrad. */
export const MAX_SUM_TERMS = 6;

/** Inputs of one AddN: webgpu 4.22 silently drops a command buffer at 8 or more (safety.ts). */
export const MAX_ADDN_INPUTS = 7;

/** Inputs of one LabSumOfSquares: with its output within WebGPU's default 8 storage buffers. */
export const MAX_SUM_INPUTS = 7;

/** Rows of the mixed activation's per-channel gradient sums (LabMixedActivationGrad's second output). */
export const MIX_STAT_ROWS = [
  'positive',
  'relu6',
  'expm1',
  'swish',
  'negative',
  'negativePrelu',
  'negativeRrelu',
  'swishBeta',
] as const;

/**
 * The shape of KERNELS.mixParamGrad's output for `part`: 0 the coefficients' (their own shape,
 * [7] or [groups, 7]), 1 the PReLU slopes' [groups·C] (`width`: the stats' columns), 2 Swish's b [groups].
 */
export function mixParamGradShape(part: number, coefficientsShape: number[], width: number): number[] {
  const groups = coefficientsShape.length === 1 ? 1 : coefficientsShape[0];
  return part === 0 ? coefficientsShape : part === 1 ? [width] : [groups];
}

/** The mixed activation's output for `groups` edges: x's shape with groups·C channels. */
export function mixOutputShape(xShape: number[], groups: number): number[] {
  return [...xShape.slice(0, -1), groups * xShape[xShape.length - 1]];
}

/** The most edges one mixed-activation kernel serves: as many as leave one state. */
export const MAX_MIX_GROUPS = 4;

/**
 * Weight indices as one attribute ("3_11_40"): tfjs attributes are plain values, and a node's
 * weighted sum indexes the flattened softmax(α) of all 14 edges (up to 14 × 41 columns).
 */
export function encodeIndices(indices: number[]): string {
  return indices.join('_');
}
export function decodeIndices(code: string): number[] {
  if (typeof code !== 'string' || !/^\d+(_\d+)*$/.test(code))
    throw new Error(`decodeIndices: expected indices like "3_11_40", got ${JSON.stringify(code)}`);
  return code.split('_').map(Number);
}

/** Channels: the last dimension (NHWC). */
export function channelsOf(shape: number[]): number {
  return shape[shape.length - 1];
}

/** Which part of its tensor a weighted sum's term reads: slot `slot` of `groups` side by side in channels. */
export interface TermView {
  groups: number;
  slot: number;
}
/** The whole tensor. */
export const WHOLE: TermView = { groups: 1, slot: 0 };

/** Term views as one attribute ("4_1_1_0": groups and slot of each term). */
export function encodeViews(views: TermView[]): string {
  return encodeIndices(views.flatMap((v) => [v.groups, v.slot]));
}
/** The views of `count` terms; no attribute: every term reads its whole tensor. */
export function decodeViews(code: string | undefined, count: number): TermView[] {
  if (code === undefined) return Array.from({ length: count }, () => WHOLE);
  const numbers = decodeIndices(code);
  if (numbers.length !== 2 * count) throw new Error(`decodeViews: ${count} terms, got ${JSON.stringify(code)}`);
  return Array.from({ length: count }, (_, j) => ({ groups: numbers[2 * j], slot: numbers[2 * j + 1] }));
}
