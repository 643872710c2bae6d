// A reference supernet, laid out like DARTS's cnn/model_search.py (MixedOp, Cell, Network) and
// operations.py, over plain tfjs ops: no grouping, no fan-out handles, no fused kernels, no work
// shared between edges. It runs on the fast Supernet's own variables (the glue at the bottom
// slices each edge's weights out of them), so that reference.test.ts can check the fast network
// against the algorithm as the papers write it: DARTS, PC-DARTS, and A-DARTS's factorized edge
// (softmax(α) over 8 ops, softmax(β) over 9 activations shared by the edge's 4 conv ops).
import * as tf from '@tensorflow/tfjs';
import {
  ACTIVATIONS,
  EDGE_LIST,
  EDGES,
  NODES,
  candidateLabel,
  candidateOps,
  type ActivationName,
  type CandidateOp,
  type EdgeRef,
  type SearchConfig,
} from './space';
import {
  BN_EPSILON,
  CELU_ALPHA,
  LEAKY_RELU_SLOPE,
  RRELU_LOWER,
  RRELU_UPPER,
  rreluSlopes,
  type ForwardContext,
} from './ops';
import type { Supernet } from './supernet';

/** Cross-entropy of the reference network on the fast network's variables (or on `weights`, by name). */
export function referenceLoss(
  net: Supernet,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  ctx: ForwardContext,
  weights = variablesOf(net),
): tf.Scalar {
  const logits = network(images, new FastWeights(net, weights), ctx);
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)));
}

// ---------------------------------------------------------------------------------------------
// model_search.py

/** Network.forward: stem, L cells (reductions at L/3 and 2L/3), global average pool, classifier. */
function network(x: tf.Tensor4D, w: FastWeights, ctx: ForwardContext): tf.Tensor2D {
  let s0 = batchNorm(tf.conv2d(x, w.get('stem.conv'), 1, 'same'), w.get('stem.bn.gamma'), w.get('stem.bn.beta'));
  let s1 = s0;
  const arch = { normal: cellArch(w, 'Normal'), reduce: cellArch(w, 'Reduce') };
  let reductionPrev = false;
  for (let i = 0; i < w.config.layers; i++) {
    const reduction = i === Math.floor(w.config.layers / 3) || i === Math.floor((2 * w.config.layers) / 3);
    [s0, s1] = [s1, cell(s0, s1, reduction, reductionPrev, reduction ? arch.reduce : arch.normal, i, w, ctx)];
    reductionPrev = reduction;
  }
  return tf.add(tf.matMul(tf.mean(s1, [1, 2]), w.get('classifier.weight')), w.get('classifier.bias'));
}

/** One edge's architecture weights. */
interface EdgeArch {
  /** softmax(α): a weight per candidate op. */
  alpha: tf.Tensor1D;
  /** The mixed activation's weights over `activations`; null in nonfactorized mode, whose ops name their own. */
  beta: tf.Tensor1D | null;
  activations: readonly ActivationName[];
  /** PC-DARTS's edge normalisation: softmax over the node's incoming edges. */
  weight: tf.Scalar | null;
}

/** A cell type's architecture weights, edge by edge. */
function cellArch(w: FastWeights, type: 'Normal' | 'Reduce'): EdgeArch[] {
  const { mode, activation, fixedBeta, partialChannels } = w.config;
  const alpha = tf.unstack(tf.softmax(w.get(`alpha${type}`))) as tf.Tensor1D[];
  const fixed = fixedBeta
    ? type === 'Normal'
      ? fixedBeta.betaNormal
      : fixedBeta.betaReduce
    : EDGE_LIST.map(() => ACTIVATIONS.map(() => 0));
  // darts: β is one-hot on the configured activation, i.e. that activation alone (weight 1).
  const betaRaw =
    mode === 'factorized'
      ? w.get(`beta${type}`)
      : mode === 'fixed-beta'
        ? tf.tensor2d(fixed)
        : mode === 'darts'
          ? tf.zeros([EDGES, 1])
          : null;
  const beta = betaRaw ? (tf.unstack(tf.softmax(betaRaw)) as tf.Tensor1D[]) : null;
  // A node's incoming edges are consecutive (from = 0, 1, …): the first is edge index − from.
  const edgeWeight = (e: EdgeRef) =>
    tf.unstack(tf.softmax(tf.slice(w.get(`edge${type}`), e.index - e.from, e.node + 2)))[e.from] as tf.Scalar;
  return EDGE_LIST.map((e) => ({
    alpha: alpha[e.index],
    beta: beta?.[e.index] ?? null,
    activations: mode === 'darts' ? [activation] : ACTIVATIONS,
    weight: partialChannels > 1 ? edgeWeight(e) : null,
  }));
}

/** Cell.forward: preprocess both inputs, then each node sums a mixed edge from every earlier state. */
function cell(
  s0: tf.Tensor4D,
  s1: tf.Tensor4D,
  reduction: boolean,
  reductionPrev: boolean,
  arch: EdgeArch[],
  i: number,
  w: FastWeights,
  ctx: ForwardContext,
): tf.Tensor4D {
  const pre = `cells.${i}`;
  s0 = reductionPrev
    ? factorizedReduce(s0, w.get(`${pre}.pre0.conv1`), w.get(`${pre}.pre0.conv2`))
    : reluConvBn(s0, w.get(`${pre}.pre0.conv`));
  s1 = reluConvBn(s1, w.get(`${pre}.pre1.conv`));
  const edges = w.edges(i, s1.shape, reduction, ctx);
  const states = [s0, s1];
  let offset = 0;
  for (let node = 0; node < NODES; node++) {
    const terms = states.map((h, j) => {
      const e = offset + j;
      const y = mixedOp(h, arch[e], edges[e], reduction && j < 2 ? 2 : 1, w);
      const weight = arch[e].weight;
      return weight ? (tf.mul(weight, y) as tf.Tensor4D) : y;
    });
    offset += states.length;
    states.push(sum(terms));
  }
  return tf.concat(states.slice(2), 3);
}

/**
 * MixedOp.forward: Σ_k softmax(α)_k · op_k(x). The conv ops read the edge's mixed activation
 * Σ_a softmax(β)_a · a(x) in place of their leading ReLU (nonfactorized: each of the 36 combined
 * ops its own activation). PC-DARTS (K > 1): only the first C/K channels go through the ops, the
 * rest bypass them (max-pooled where the edge reduces), then the channels are shuffled.
 */
function mixedOp(x: tf.Tensor4D, arch: EdgeArch, e: EdgeParams, stride: 1 | 2, w: FastWeights): tf.Tensor4D {
  const k = w.config.partialChannels;
  const c = x.shape[3] / k;
  const xs = k > 1 ? tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, c]) : x;
  const mixed = arch.beta ? mixedActivation(xs, arch.beta, arch.activations, e) : null;
  const alpha = tf.unstack(arch.alpha);
  const terms: tf.Tensor4D[] = [];
  w.candidates.forEach((cand, i) => {
    const y = op(cand, xs, stride, e, () => (cand.activation ? activation(cand.activation, xs, e) : mixed!));
    if (y) terms.push(tf.mul(alpha[i], y));
  });
  if (k === 1) return sum(terms);
  const bypass = tf.slice(x, [0, 0, 0, c], [-1, -1, -1, -1]) as tf.Tensor4D;
  return channelShuffle(tf.concat([sum(terms), stride === 2 ? tf.maxPool(bypass, 2, 2, 'same') : bypass], 3), k);
}

/** One candidate op on x (convs on their activated input); null for none, which adds nothing. */
function op(
  cand: CandidateOp,
  x: tf.Tensor4D,
  stride: 1 | 2,
  e: EdgeParams,
  activated: () => tf.Tensor4D,
): tf.Tensor4D | null {
  switch (cand.op) {
    case 'none':
      return null; // Zero: its α still takes part in the softmax
    case 'max_pool_3x3':
      return batchNorm(tf.maxPool(x, 3, stride, 1)); // the padding never wins (cpu's MaxPoolGrad is right; wasm's is not)
    case 'avg_pool_3x3':
      return batchNorm(avgPool3x3(x, stride));
    case 'skip_connect':
      return stride === 1 ? x : factorizedReduce(x, e.skip!.conv1, e.skip!.conv2);
    default:
      return convOp(cand.op, activated(), e.convs.get(cand)!, stride);
  }
}

// ---------------------------------------------------------------------------------------------
// operations.py (affine=False inside mixed ops)

/** The conv ops: SepConv or DilConv, k×k with dilation d (written here, not taken from supernet.ts). */
const CONV_OPS: Record<string, { kernel: number; dilation: number; separable: boolean }> = {
  sep_conv_3x3: { kernel: 3, dilation: 1, separable: true },
  sep_conv_5x5: { kernel: 5, dilation: 1, separable: true },
  dil_conv_3x3: { kernel: 3, dilation: 2, separable: false },
  dil_conv_5x5: { kernel: 5, dilation: 2, separable: false },
};

/** SepConv (dw, pw, BN, ReLU, dw, pw, BN) or DilConv (dw, pw, BN), less the leading ReLU. */
function convOp(name: string, x: tf.Tensor4D, cw: ConvWeights, stride: 1 | 2): tf.Tensor4D {
  const { dilation, separable } = CONV_OPS[name];
  const y = batchNorm(conv1x1(depthwise(x, cw.dw1, stride, dilation), cw.pw1));
  return separable ? batchNorm(conv1x1(depthwise(tf.relu(y), cw.dw2!, 1, 1), cw.pw2!)) : y;
}

function reluConvBn(x: tf.Tensor4D, weight: tf.Tensor2D): tf.Tensor4D {
  return batchNorm(conv1x1(tf.relu(x), weight));
}

/**
 * ReLU, then two stride-2 1×1 convs side by side, the second on x shifted by one pixel: one reads
 * the top-left pixel of each 2×2 block, the other the bottom-right one (even sizes); BN.
 */
function factorizedReduce(x: tf.Tensor4D, conv1: tf.Tensor2D, conv2: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const blocks = tf.reshape(tf.relu(x), [n, h / 2, 2, w / 2, 2, c]);
  const pixel = (i: number) =>
    tf.reshape(tf.slice(blocks, [0, 0, i, 0, i, 0], [n, h / 2, 1, w / 2, 1, c]), [n, h / 2, w / 2, c]) as tf.Tensor4D;
  return batchNorm(tf.concat([conv1x1(pixel(0), conv1), conv1x1(pixel(1), conv2)], 3));
}

/** A 1×1 conv: a matMul over the pixels (cpu's conv2d filter gradient is far slower). */
function conv1x1(x: tf.Tensor4D, weight: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.matMul(tf.reshape(x, [n * h * w, c]), weight), [n, h, w, weight.shape[1]]);
}

/**
 * Depthwise k×k conv, 'same' zero padding. tfjs has no gradient for a dilated depthwise conv, so
 * a dilated one convolves with its dilated kernel: the taps with d − 1 zeros between them.
 */
function depthwise(x: tf.Tensor4D, weight: tf.Tensor4D, stride: 1 | 2, d: number): tf.Tensor4D {
  const [k, , c] = weight.shape;
  const size = d * (k - 1) + 1;
  const spaced = tf.pad(tf.reshape(weight, [k, 1, k, 1, c]), [
    [0, 0],
    [0, d - 1],
    [0, 0],
    [0, d - 1],
    [0, 0],
  ]);
  const kernel =
    d === 1 ? weight : (tf.slice(tf.reshape(spaced, [k * d, k * d, c, 1]), 0, [size, size, c, 1]) as tf.Tensor4D);
  return tf.depthwiseConv2d(x, kernel, stride, (size - 1) / 2);
}

/** BatchNorm2d in training mode: batch statistics, biased variance; affine=False without γ, β. */
function batchNorm(x: tf.Tensor4D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))) as tf.Tensor4D;
  return gamma && beta ? tf.add(tf.mul(y, gamma), beta) : y;
}

/**
 * nn.AvgPool2d(3, stride, padding=1, count_include_pad=False): the window's sum over its count of
 * in-image cells, both as pools of zero-padded maps (tfjs's own padded avgPool excludes the
 * padding forward but divides by 9 in its gradient).
 */
function avgPool3x3(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  const pool = (t: tf.Tensor4D) =>
    tf.avgPool(
      tf.pad(t, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      3,
      stride,
      'valid',
    );
  return tf.div(pool(x), pool(tf.onesLike(x)));
}

/** PC-DARTS's channel_shuffle in NHWC: channels read as [groups, C/groups], transposed. */
function channelShuffle(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, groups, c / groups]), [0, 1, 2, 4, 3]), [n, h, w, c]);
}

/** A-DARTS's mixed activation: Σ_a w_a · a(x) over the candidate activations. */
function mixedActivation(
  x: tf.Tensor4D,
  weights: tf.Tensor1D,
  names: readonly ActivationName[],
  p: ActivationParams,
): tf.Tensor4D {
  const w = tf.unstack(weights);
  return sum(names.map((name, i) => tf.mul(w[i], activation(name, x, p))));
}

/** The 9 activations, each in its textbook form. */
function activation(name: ActivationName, x: tf.Tensor4D, p: ActivationParams): tf.Tensor4D {
  switch (name) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, LEAKY_RELU_SLOPE);
    case 'prelu':
      return tf.where(tf.greaterEqual(x, 0), x, tf.mul(p.preluSlope!, x));
    case 'rrelu':
      return tf.where(tf.greaterEqual(x, 0), x, tf.mul(p.rreluSlopes!, x));
    case 'elu':
      return tf.elu(x);
    case 'celu':
      return tf.add(tf.relu(x), tf.minimum(0, tf.mul(CELU_ALPHA, tf.expm1(tf.div(x, CELU_ALPHA)))));
    case 'selu':
      return tf.selu(x);
    case 'swish':
      return tf.mul(x, tf.sigmoid(tf.mul(p.swishBeta!, x)));
  }
}

function sum(terms: tf.Tensor4D[]): tf.Tensor4D {
  return terms.reduce((a, b) => tf.add(a, b));
}

// ---------------------------------------------------------------------------------------------
// Glue: each edge's weights sliced out of the fast network's per-state variables

interface ConvWeights {
  dw1: tf.Tensor4D;
  pw1: tf.Tensor2D;
  dw2?: tf.Tensor4D;
  pw2?: tf.Tensor2D;
}

interface ActivationParams {
  preluSlope?: tf.Tensor1D;
  swishBeta?: tf.Scalar;
  /** RReLU's per-element slopes for this edge (training), or their mean (evaluation). */
  rreluSlopes?: tf.Tensor;
}

interface EdgeParams extends ActivationParams {
  convs: Map<CandidateOp, ConvWeights>;
  /** FactorizedReduce of skip_connect on a stride-2 edge. */
  skip: { conv1: tf.Tensor2D; conv2: tf.Tensor2D } | null;
}

function variablesOf(net: Supernet): Map<string, tf.Tensor> {
  return new Map(net.namedVariables().map((v) => [v.name, v.variable]));
}

class FastWeights {
  readonly config: SearchConfig;
  readonly candidates: CandidateOp[];
  /** Each group variable split into its edges' slots, once per pass. */
  private readonly slots = new Map<string, tf.Tensor[]>();
  constructor(
    net: Supernet,
    private readonly tensors: ReadonlyMap<string, tf.Tensor>,
  ) {
    this.config = net.config;
    this.candidates = candidateOps(net.config.mode);
  }

  get<T extends tf.Tensor>(name: string): T {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`reference: no variable ${name}`);
    return t as T;
  }

  /**
   * The edge's slot of its state's variable `part` (supernet.ts ConvGroups): the edges leaving a
   * state lie side by side, in DARTS order, in channels (depthwise [k, k, slots·C, 1]) or one after
   * another (pointwise [slots, C, C], PReLU [slots·C], Swish [slots]).
   */
  private slot(cell: number, edge: EdgeRef, part: string): tf.Tensor {
    const name = `cells.${cell}.from${edge.from}.${part}`;
    const siblings = EDGE_LIST.filter((e) => e.from === edge.from);
    let slots = this.slots.get(name);
    // (tfjs's split has no gradient for one part: the last state's one edge takes it whole.)
    if (!slots)
      this.slots.set(
        name,
        (slots =
          siblings.length === 1
            ? [this.get(name)]
            : tf.split(this.get(name), siblings.length, /dw\d$/.test(part) ? 2 : 0)),
      );
    const s = slots[siblings.indexOf(edge)];
    return /pw\d$/.test(part) ? tf.reshape(s, s.shape.slice(1)) : part === 'swish' ? tf.reshape(s, []) : s;
  }

  /** The parameters of cell `cell`'s 14 edges, whose two input states have `shape` (after preprocessing). */
  edges(cell: number, shape: number[], reduction: boolean, ctx: ForwardContext): EdgeParams[] {
    const { mode, activation, partialChannels } = this.config;
    const has = (part: string) => this.tensors.has(`cells.${cell}.from0.${part}`);
    const params: EdgeParams[] = EDGE_LIST.map((edge) => {
      const convs = new Map<CandidateOp, ConvWeights>();
      for (const cand of this.candidates) {
        const spec = CONV_OPS[cand.op];
        if (!spec) continue;
        const name = mode === 'nonfactorized' ? candidateLabel(cand) : cand.op;
        const dw = (p: string) => this.slot(cell, edge, `${name}.${p}`) as tf.Tensor4D;
        const pw = (p: string) => this.slot(cell, edge, `${name}.${p}`) as tf.Tensor2D;
        const weights = {
          dw1: dw('dw1'),
          pw1: pw('pw1'),
          ...(spec.separable ? { dw2: dw('dw2'), pw2: pw('pw2') } : {}),
        };
        if (weights.dw1.shape[0] !== spec.kernel)
          throw new Error(
            `reference: ${name} has ${weights.dw1.shape[0]}×${weights.dw1.shape[1]} taps, not ${spec.kernel}×${spec.kernel}`,
          );
        convs.set(cand, weights);
      }
      const skip =
        reduction && edge.from < 2
          ? {
              conv1: this.get<tf.Tensor2D>(`cells.${cell}.edges.${edge.index}.skip.conv1`),
              conv2: this.get<tf.Tensor2D>(`cells.${cell}.edges.${edge.index}.skip.conv2`),
            }
          : null;
      const preluSlope = has('prelu') ? (this.slot(cell, edge, 'prelu') as tf.Tensor1D) : undefined;
      const swishBeta = has('swish') ? (this.slot(cell, edge, 'swish') as tf.Scalar) : undefined;
      return { convs, skip, preluSlope, swishBeta };
    });
    // RReLU's slopes, one window of ops.rreluSlopes per edge, in the order the fast network draws
    // them: state by state (the edges leaving state 0, then 1, then each node once it exists).
    // (fixed-beta: the fast network draws none for an RReLU whose softmax weight, below 1e-6, it drops.)
    if (mode !== 'darts' || activation === 'rrelu') {
      const [n, h, w, c] = shape;
      for (let from = 0; from < NODES + 2; from++) {
        for (const edge of EDGE_LIST.filter((e) => e.from === from)) {
          const inputShape =
            reduction && from >= 2
              ? [n, Math.ceil(h / 2), Math.ceil(w / 2), c / partialChannels]
              : [n, h, w, c / partialChannels];
          const size = inputShape.reduce((a, b) => a * b, 1);
          params[edge.index].rreluSlopes = ctx.training
            ? tf.reshape(rreluSlopes(size, ctx), inputShape)
            : tf.scalar((RRELU_LOWER + RRELU_UPPER) / 2);
        }
      }
    }
    return params;
  }
}
