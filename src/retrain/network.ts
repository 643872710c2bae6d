// The discrete network a genotype describes: DARTS's NetworkCIFAR (quark0/darts cnn/model.py)
// with each conv op's leading ReLU replaced by the activation its edge chose, for re-training and
// for counting parameters. It matches the PyTorch export (pytorch.ts) parameter for parameter:
//
// stem conv3x3 → 3C + BN; L cells with reductions at floor(L/3) and floor(2L/3) (channels double
// there); preprocess0 = FactorizedReduce after a reduction cell, else ReLU-conv1x1-BN;
// preprocess1 = ReLU-conv1x1-BN; each node sums its two ops; the cell concatenates nodes 2..5.
// Every BN is affine (DARTS's discrete net), pools have no BN, skip_connect is the identity or a
// FactorizedReduce at stride 2, and non-identity ops get DARTS's drop path while training. An
// auxiliary head (AuxiliaryHeadCIFAR, pool in ceil mode so 7x7 maps work) follows cell
// floor(2L/3); global average pooling and a linear classifier end the net.
//
// BN uses batch statistics while training and updates running statistics (momentum 0.1, the
// unbiased batch variance, as PyTorch); evaluation uses the running statistics.
import * as tf from '@tensorflow/tfjs';
import { AUX_FEATURES, AUX_HIDDEN, AUX_POOL, AUX_STRIDE, STEM_MULTIPLIER, auxPoolSize, isReductionCell } from './size';

export { STEM_MULTIPLIER, auxiliaryHeadFits, isReductionCell, reducedSize } from './size';
import { isParamOp, type ActivationName, type OpName } from '../search/space';
import type { Genotype, GenotypeEdge } from '../search/genotype';
import { validateGenotype } from '../search/genotype';
import { Random } from '../util/random';
import {
  PRELU_INIT,
  SWISH_INIT,
  activation,
  avgPool3x3,
  batchNormInference,
  conv1x1,
  evenAndOddSamples,
  conv2d,
  depthwiseConv,
  globalAvgPool,
  maxPool3x3,
  sumTensors,
  type ActivationParams,
  type ForwardContext,
} from '../search/ops';

export interface DiscreteNetworkOptions {
  genotype: Genotype;
  /** Initial channels C (DARTS: 36). */
  channels: number;
  /** Cells L (DARTS: 20). */
  layers: number;
  classes: number;
  /** Image channels (3 colour, 1 grayscale). */
  inChannels: number;
  /** Build the auxiliary head after cell floor(2L/3). */
  auxiliary: boolean;
  /** Drop-path probability used in training forward passes (changeable: `dropPathProb`). */
  dropPathProb?: number;
  /** Stem channels = stemMultiplier · C (DARTS: 3). */
  stemMultiplier?: number;
}

/** Output of a forward pass. auxLogits: only in training with the auxiliary head, as DARTS. */
export interface NetworkOutput {
  logits: tf.Tensor2D;
  auxLogits: tf.Tensor2D | null;
}

/** A trainable parameter ('param') or a BN running statistic ('buffer'). */
export interface NamedVariable {
  name: string;
  kind: 'param' | 'buffer';
  /** Part of the auxiliary head (its name contains 'auxiliary', as DARTS counts). */
  auxiliary: boolean;
  variable: tf.Variable;
}

/** PyTorch BatchNorm2d's default momentum for the running statistics. */
export const BN_MOMENTUM = 0.1;

const CONV_SPECS: Record<string, { kernel: number; dilation: number; separable: boolean }> = {
  sep_conv_3x3: { kernel: 3, dilation: 1, separable: true },
  sep_conv_5x5: { kernel: 5, dilation: 1, separable: true },
  dil_conv_3x3: { kernel: 3, dilation: 2, separable: false },
  dil_conv_5x5: { kernel: 5, dilation: 2, separable: false },
};

/** PyTorch's default init for conv and linear weights (and linear biases): U(−1/√fan_in, 1/√fan_in). */
function uniformFanIn(rng: Random, size: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * bound;
  return values;
}

interface BnVars {
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
}

interface EdgeSpec {
  op: OpName;
  from: number;
  activation: ActivationName | null;
  stride: 1 | 2;
  prefix: string;
}

interface CellSpec {
  reduction: boolean;
  reductionPrev: boolean;
  c: number;
  edges: EdgeSpec[];
  concat: number[];
}

let suffixCounter = 0;

export class DiscreteNetwork {
  readonly genotype: Genotype;
  readonly channels: number;
  readonly layers: number;
  readonly classes: number;
  readonly inChannels: number;
  readonly auxiliary: boolean;
  /** Drop-path probability of training forward passes (the trainer ramps it per epoch). */
  dropPathProb: number;
  /** Cell after which the auxiliary head sits: floor(2L/3). */
  readonly auxiliaryCell: number;
  private readonly vars = new Map<string, NamedVariable>();
  private readonly cells: CellSpec[] = [];
  private readonly stemChannels: number;

  constructor(options: DiscreteNetworkOptions, rng: Random) {
    const { genotype, channels: C, layers, classes, inChannels, auxiliary } = options;
    validateGenotype(genotype);
    const positive = { channels: C, layers, classes, inChannels };
    for (const [key, v] of Object.entries(positive))
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`DiscreteNetwork: ${key} must be a positive integer, got ${v}`);
    if (layers < 3)
      throw new Error(
        `DiscreteNetwork: layers must be at least 3 (two reduction cells and a normal cell), got ${layers}`,
      );
    if (C % 2 !== 0)
      throw new Error(`DiscreteNetwork: channels must be even (FactorizedReduce splits them in two), got ${C}`);
    const dropPathProb = options.dropPathProb ?? 0;
    if (!(dropPathProb >= 0 && dropPathProb < 1))
      throw new Error(`DiscreteNetwork: dropPathProb must be in [0, 1), got ${dropPathProb}`);
    this.genotype = genotype;
    this.channels = C;
    this.layers = layers;
    this.classes = classes;
    this.inChannels = inChannels;
    this.auxiliary = auxiliary;
    this.dropPathProb = dropPathProb;
    this.auxiliaryCell = Math.floor((2 * layers) / 3);

    this.stemChannels = (options.stemMultiplier ?? STEM_MULTIPLIER) * C;
    this.addWeight('stem.conv.weight', [3, 3, inChannels, this.stemChannels], 9 * inChannels, rng);
    this.addBn('stem.bn', this.stemChannels);

    let cPrevPrev = this.stemChannels;
    let cPrev = this.stemChannels;
    let cCurr = C;
    let reductionPrev = false;
    let cAux = 0;
    for (let i = 0; i < layers; i++) {
      const reduction = isReductionCell(i, layers);
      if (reduction) cCurr *= 2;
      const prefix = `cells.${i}`;
      if (reductionPrev) this.addFactorizedReduce(`${prefix}.preprocess0`, cPrevPrev, cCurr, rng);
      else this.addReluConvBn(`${prefix}.preprocess0`, cPrevPrev, cCurr, rng);
      this.addReluConvBn(`${prefix}.preprocess1`, cPrev, cCurr, rng);
      const entries = reduction ? genotype.reduce : genotype.normal;
      const concat = [...(reduction ? genotype.reduceConcat : genotype.normalConcat)];
      const edges = entries.map((e: GenotypeEdge, k): EdgeSpec => {
        const stride: 1 | 2 = reduction && e.from < 2 ? 2 : 1;
        const spec: EdgeSpec = {
          op: e.op,
          from: e.from,
          activation: e.activation ?? null,
          stride,
          prefix: `${prefix}.ops.${k}`,
        };
        this.addOp(spec, cCurr, rng);
        return spec;
      });
      this.cells.push({ reduction, reductionPrev, c: cCurr, edges, concat });
      reductionPrev = reduction;
      cPrevPrev = cPrev;
      cPrev = concat.length * cCurr;
      if (i === this.auxiliaryCell) cAux = cPrev;
    }
    if (auxiliary) {
      this.addWeight('auxiliary_head.conv1.weight', [cAux, AUX_HIDDEN], cAux, rng);
      this.addBn('auxiliary_head.bn1', AUX_HIDDEN);
      this.addWeight('auxiliary_head.conv2.weight', [2, 2, AUX_HIDDEN, AUX_FEATURES], 4 * AUX_HIDDEN, rng);
      this.addBn('auxiliary_head.bn2', AUX_FEATURES);
      this.addWeight('auxiliary_head.classifier.weight', [AUX_FEATURES, classes], AUX_FEATURES, rng);
      this.addWeight('auxiliary_head.classifier.bias', [classes], AUX_FEATURES, rng);
    }
    this.addWeight('classifier.weight', [cPrev, classes], cPrev, rng);
    this.addWeight('classifier.bias', [classes], cPrev, rng);
  }

  // -------------------------------------------------------------------------------------------
  // Parameters

  private addVar(name: string, kind: 'param' | 'buffer', values: Float32Array, shape: number[]): tf.Variable {
    if (this.vars.has(name)) throw new Error(`duplicate variable ${name}`);
    // tidy frees the initial tensor, which would outlive the network; the variable keeps the data.
    const variable = tf.tidy(() =>
      tf.variable(tf.tensor(values, shape), kind === 'param', `discrete.${name}_${++suffixCounter}`),
    );
    this.vars.set(name, { name, kind, auxiliary: name.includes('auxiliary'), variable });
    return variable;
  }

  private addWeight(name: string, shape: number[], fanIn: number, rng: Random): void {
    const size = shape.reduce((a, b) => a * b, 1);
    this.addVar(name, 'param', uniformFanIn(rng, size, fanIn), shape);
  }

  private addBn(prefix: string, c: number): void {
    this.addVar(`${prefix}.weight`, 'param', new Float32Array(c).fill(1), [c]);
    this.addVar(`${prefix}.bias`, 'param', new Float32Array(c), [c]);
    this.addVar(`${prefix}.running_mean`, 'buffer', new Float32Array(c), [c]);
    this.addVar(`${prefix}.running_var`, 'buffer', new Float32Array(c).fill(1), [c]);
  }

  private addReluConvBn(prefix: string, cin: number, cout: number, rng: Random): void {
    this.addWeight(`${prefix}.conv.weight`, [cin, cout], cin, rng);
    this.addBn(`${prefix}.bn`, cout);
  }

  private addFactorizedReduce(prefix: string, cin: number, cout: number, rng: Random): void {
    if (cout % 2 !== 0) throw new Error(`FactorizedReduce needs an even channel count, got ${cout}`);
    this.addWeight(`${prefix}.conv_1.weight`, [cin, cout / 2], cin, rng);
    this.addWeight(`${prefix}.conv_2.weight`, [cin, cout / 2], cin, rng);
    this.addBn(`${prefix}.bn`, cout);
  }

  private addOp(e: EdgeSpec, c: number, rng: Random): void {
    if (e.op === 'none') throw new Error(`${e.prefix}: "none" cannot be an op of a discrete cell`);
    if (e.op === 'skip_connect') {
      if (e.stride === 2) this.addFactorizedReduce(e.prefix, c, c, rng);
      return;
    }
    if (!isParamOp(e.op)) return; // pools: no parameters, no BN in the discrete network
    const act = e.activation;
    if (!act) throw new Error(`${e.prefix}: ${e.op} needs an activation`);
    if (act === 'prelu') this.addVar(`${e.prefix}.act.weight`, 'param', new Float32Array(c).fill(PRELU_INIT), [c]);
    if (act === 'swish') this.addVar(`${e.prefix}.act.beta`, 'param', new Float32Array(1).fill(SWISH_INIT), [1]);
    const { kernel: k, separable } = CONV_SPECS[e.op];
    this.addWeight(`${e.prefix}.dw1.weight`, [k, k, c, 1], k * k, rng);
    this.addWeight(`${e.prefix}.pw1.weight`, [c, c], c, rng);
    this.addBn(`${e.prefix}.bn1`, c);
    if (separable) {
      this.addWeight(`${e.prefix}.dw2.weight`, [k, k, c, 1], k * k, rng);
      this.addWeight(`${e.prefix}.pw2.weight`, [c, c], c, rng);
      this.addBn(`${e.prefix}.bn2`, c);
    }
  }

  private get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`missing variable ${name}`);
    return v.variable;
  }

  private bn(prefix: string): BnVars {
    return {
      gamma: this.get(`${prefix}.weight`),
      beta: this.get(`${prefix}.bias`),
      mean: this.get(`${prefix}.running_mean`),
      variance: this.get(`${prefix}.running_var`),
    };
  }

  /** Every variable: parameters and BN running statistics, in construction order. */
  namedVariables(): NamedVariable[] {
    return [...this.vars.values()];
  }

  /** Trainable parameters (auxiliary head included when it exists). */
  variables(): tf.Variable[] {
    return this.namedVariables()
      .filter((v) => v.kind === 'param')
      .map((v) => v.variable);
  }

  /** Parameter counts as DARTS reports them: params without the auxiliary head, and the head's. */
  countParams(): { params: number; auxiliaryParams: number } {
    let params = 0;
    let auxiliaryParams = 0;
    for (const v of this.vars.values()) {
      if (v.kind !== 'param') continue;
      if (v.auxiliary) auxiliaryParams += v.variable.size;
      else params += v.variable.size;
    }
    return { params, auxiliaryParams };
  }

  dispose(): void {
    for (const v of this.vars.values()) v.variable.dispose();
    this.vars.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Forward

  /**
   * Logits (and, in training with the auxiliary head, auxiliary logits) of images [n, h, w, c].
   * Call inside tf.tidy or a gradient function. Training passes update BN running statistics.
   */
  forward(images: tf.Tensor4D, ctx: ForwardContext): NetworkOutput {
    if (images.shape[3] !== this.inChannels)
      throw new Error(
        `DiscreteNetwork: expected images with ${this.inChannels} channels, got shape [${images.shape.join(', ')}]`,
      );
    let s = conv2d(images, this.get('stem.conv.weight') as tf.Tensor4D);
    s = this.batchNorm('stem.bn', s, ctx);
    let s0 = s;
    let s1 = s;
    let auxLogits: tf.Tensor2D | null = null;
    this.cells.forEach((cell, i) => {
      const out = this.cellForward(i, cell, s0, s1, ctx);
      s0 = s1;
      s1 = out;
      if (i === this.auxiliaryCell && this.auxiliary && ctx.training) auxLogits = this.auxiliaryHead(s1, ctx);
    });
    const pooled = globalAvgPool(s1);
    const logits = tf.add(
      tf.matMul(pooled, this.get('classifier.weight') as tf.Tensor2D),
      this.get('classifier.bias'),
    ) as tf.Tensor2D;
    return { logits, auxLogits };
  }

  /** Affine BN: batch statistics (and a running-statistics update) in training, running ones in eval. */
  private batchNorm(prefix: string, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const p = this.bn(prefix);
    const gamma = p.gamma as tf.Tensor1D;
    const beta = p.beta as tf.Tensor1D;
    if (!ctx.training) return batchNormInference(x, p.mean as tf.Tensor1D, p.variance as tf.Tensor1D, gamma, beta);
    // Same arithmetic as ops.batchNorm (batch statistics), with the moments kept for the update.
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const count = x.size / x.shape[3];
    tf.tidy(() => {
      // Off the loss's path, so the gradient never flows through these.
      const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance;
      p.mean.assign(tf.add(tf.mul(p.mean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      p.variance.assign(tf.add(tf.mul(p.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
    return batchNormInference(x, mean as tf.Tensor1D, variance as tf.Tensor1D, gamma, beta);
  }

  private cellForward(
    index: number,
    cell: CellSpec,
    s0: tf.Tensor4D,
    s1: tf.Tensor4D,
    ctx: ForwardContext,
  ): tf.Tensor4D {
    const prefix = `cells.${index}`;
    const p0 = cell.reductionPrev
      ? this.factorizedReduce(`${prefix}.preprocess0`, s0, ctx)
      : this.reluConvBn(`${prefix}.preprocess0`, s0, ctx);
    const p1 = this.reluConvBn(`${prefix}.preprocess1`, s1, ctx);
    const states: tf.Tensor4D[] = [p0, p1];
    for (let node = 0; node < cell.edges.length / 2; node++) {
      const terms: tf.Tensor[] = [];
      for (const e of [cell.edges[2 * node], cell.edges[2 * node + 1]]) {
        let h = this.op(e, states[e.from], ctx);
        const identity = e.op === 'skip_connect' && e.stride === 1;
        if (ctx.training && this.dropPathProb > 0 && !identity) h = this.dropPath(h, ctx);
        terms.push(h);
      }
      states.push(sumTensors(terms) as tf.Tensor4D);
    }
    return tf.concat(
      cell.concat.map((i) => states[i]),
      3,
    );
  }

  /** DARTS drop_path: x / keep · Bernoulli(keep) per sample. */
  private dropPath(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const keep = 1 - this.dropPathProb;
    const n = x.shape[0];
    const mask = new Float32Array(n);
    for (let i = 0; i < n; i++) mask[i] = ctx.rng.next() < keep ? 1 / keep : 0;
    return tf.mul(x, tf.tensor4d(mask, [n, 1, 1, 1]));
  }

  private reluConvBn(prefix: string, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return this.batchNorm(`${prefix}.bn`, conv1x1(tf.relu(x), this.get(`${prefix}.conv.weight`) as tf.Tensor2D), ctx);
  }

  /** DARTS FactorizedReduce: ReLU, two stride-2 1x1 convs (the second shifted by one), affine BN. */
  private factorizedReduce(prefix: string, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const [even, odd] = evenAndOddSamples(tf.relu(x));
    const path1 = conv1x1(even, this.get(`${prefix}.conv_1.weight`) as tf.Tensor2D);
    const path2 = conv1x1(odd, this.get(`${prefix}.conv_2.weight`) as tf.Tensor2D);
    return this.batchNorm(`${prefix}.bn`, tf.concat([path1, path2], 3), ctx);
  }

  private op(e: EdgeSpec, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    switch (e.op) {
      case 'max_pool_3x3':
        return maxPool3x3(x, e.stride);
      case 'avg_pool_3x3':
        return avgPool3x3(x, e.stride);
      case 'skip_connect':
        return e.stride === 1 ? x : this.factorizedReduce(e.prefix, x, ctx);
      case 'none':
        throw new Error(`${e.prefix}: "none" cannot be an op of a discrete cell`);
      default:
        return this.convOp(e, x, ctx);
    }
  }

  /** SepConv / DilConv with the leading ReLU replaced by the edge's activation. */
  private convOp(e: EdgeSpec, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const spec = CONV_SPECS[e.op];
    const params: ActivationParams = {};
    if (e.activation === 'prelu') params.preluSlope = this.get(`${e.prefix}.act.weight`) as tf.Tensor1D;
    if (e.activation === 'swish') params.swishBeta = this.get(`${e.prefix}.act.beta`);
    const activated = activation(e.activation!, x, params, ctx);
    let y = depthwiseConv(activated, this.get(`${e.prefix}.dw1.weight`) as tf.Tensor4D, e.stride, spec.dilation);
    y = this.batchNorm(`${e.prefix}.bn1`, conv1x1(y, this.get(`${e.prefix}.pw1.weight`) as tf.Tensor2D), ctx);
    if (!spec.separable) return y;
    y = depthwiseConv(tf.relu(y), this.get(`${e.prefix}.dw2.weight`) as tf.Tensor4D, 1, 1);
    return this.batchNorm(`${e.prefix}.bn2`, conv1x1(y, this.get(`${e.prefix}.pw2.weight`) as tf.Tensor2D), ctx);
  }

  /** AuxiliaryHeadCIFAR: ReLU, AvgPool 5/3 (ceil), conv1x1 128 + BN + ReLU, conv2x2 768 + BN + ReLU, linear. */
  private auxiliaryHead(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    const [n, h, w] = x.shape;
    if (auxPoolSize(h) !== 2 || auxPoolSize(w) !== 2)
      throw new Error(
        `auxiliary head: its input is ${h}x${w}, but it needs a 6x6 to 8x8 map (images of 21 to 32 pixels, as DARTS's 32x32); turn the auxiliary head off for this data set`,
      );
    let y = auxiliaryPool(tf.relu(x));
    y = tf.relu(
      this.batchNorm('auxiliary_head.bn1', conv1x1(y, this.get('auxiliary_head.conv1.weight') as tf.Tensor2D), ctx),
    );
    y = tf.relu(
      this.batchNorm('auxiliary_head.bn2', convValid(y, this.get('auxiliary_head.conv2.weight') as tf.Tensor4D), ctx),
    );
    const flat = tf.reshape(y, [n, AUX_FEATURES]) as tf.Tensor2D;
    return tf.add(
      tf.matMul(flat, this.get('auxiliary_head.classifier.weight') as tf.Tensor2D),
      this.get('auxiliary_head.classifier.bias'),
    ) as tf.Tensor2D;
  }
}

/**
 * nn.AvgPool2d(5, stride=3, padding=0, ceil_mode=True, count_include_pad=False): each window is
 * clipped to the input and averaged over what it covers. Written as slices + means (a handful of
 * windows on the small maps the head sees), which differentiate exactly on every backend.
 */
export function auxiliaryPool(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const oh = auxPoolSize(h);
  const ow = auxPoolSize(w);
  const rows: tf.Tensor[] = [];
  for (let i = 0; i < oh; i++) {
    const r0 = i * AUX_STRIDE;
    const rh = Math.min(h, r0 + AUX_POOL) - r0;
    const cols: tf.Tensor[] = [];
    for (let j = 0; j < ow; j++) {
      const c0 = j * AUX_STRIDE;
      const cw = Math.min(w, c0 + AUX_POOL) - c0;
      cols.push(tf.mean(tf.slice(x, [0, r0, c0, 0], [n, rh, cw, c]), [1, 2], true));
    }
    rows.push(cols.length === 1 ? cols[0] : tf.concat(cols, 2));
  }
  return (rows.length === 1 ? rows[0] : tf.concat(rows, 1)) as tf.Tensor4D;
}

/**
 * k×k convolution, stride 1, 'valid' padding, as im2col (slices side by side in channels) and
 * one matMul: slices and matMul have gradients on every backend (wasm has no conv filter
 * gradient kernel). weight: [k, k, cin, cout].
 */
export function convValid(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  const [k, kw, cin, cout] = weight.shape;
  const [n, h, w] = x.shape;
  const oh = h - k + 1;
  const ow = w - kw + 1;
  if (oh < 1 || ow < 1) throw new Error(`convValid: a ${k}x${kw} kernel does not fit a ${h}x${w} map`);
  const columns: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < kw; j++) columns.push(tf.slice(x, [0, i, j, 0], [n, oh, ow, cin]));
  const patches = columns.length === 1 ? columns[0] : tf.concat(columns, 3);
  const out = tf.matMul(tf.reshape(patches, [n * oh * ow, k * kw * cin]), tf.reshape(weight, [k * kw * cin, cout]));
  return tf.reshape(out, [n, oh, ow, cout]);
}
