// The DARTS search network (quark0/darts cnn/model_search.py) with the factorized mixed edge:
// stem conv3x3 → 3C + BN; L cells (reductions at L/3 and 2L/3, channels doubling there); each cell
// preprocesses its two inputs (ReLU-conv1x1-BN, or FactorizedReduce after a reduction), then 4
// nodes over 14 mixed edges; global average pool and a linear classifier.
//
// A mixed edge sums softmax(α)-weighted ops. Conv ops see the edge's mixed activation
// (softmax(β) over 9 activations, computed once per edge) instead of their leading ReLU; pools,
// skip and none see the raw input. Inside mixed ops BN is non-affine and pools are followed by
// BN, as in DARTS. With partial channels K (PC-DARTS) only 1/K of the channels pass through the
// mixed op, the rest bypass it, channels are shuffled, and edges are weighted per node. What the
// edges leaving one state compute alike (pools with their BN, parameter-free activations) is
// computed once for them all: the same values and gradients as DARTS computing it per edge.
import * as tf from '@tensorflow/tfjs';
import {
  ACTIVATIONS,
  EDGE_LIST,
  EDGES,
  NODES,
  candidateLabel,
  candidateOps,
  type EdgeRef,
  type ActivationName,
  type CandidateOp,
  type OpName,
  type SearchConfig,
} from './space';
import { Random } from '../util/random';
import {
  PRELU_INIT,
  SWISH_INIT,
  activation,
  batchNorm,
  batchNormRelu,
  channelShuffle,
  conv1x1,
  concatChannels,
  conv2d,
  crossEntropy,
  depthwiseConv,
  evenAndOddSamples,
  globalAvgPool,
  groupedConv1x1,
  maxPool2x2,
  maxPool3x3,
  avgPool3x3,
  activationCoefficientMatrix,
  groupedMixedActivation,
  mixedActivation,
  mixedActivationOf,
  splitChannels,
  sumTensors,
  tileChannels,
  type ActivationParams,
  type ForwardContext,
} from './ops';
import { fusedFanOut, fusedKernelsActive, fusedWeightedSum, weightedSumKernels } from '../kernels/fused';
import { checkpoint } from './checkpoint';
import { tapeRecording } from './tape';
import { WHOLE, type TermView } from '../kernels/fused-names';

export interface InputShape {
  height: number;
  width: number;
  channels: number;
  classes: number;
}

/** Which parameter group a variable belongs to: each group has its own optimiser. */
export type ParamGroup = 'weights' | 'alpha' | 'beta' | 'edge';

interface Param {
  name: string;
  group: ParamGroup;
  variable: tf.Variable;
}

/** PyTorch's default init for conv and linear weights: U(−1/√fan_in, 1/√fan_in). */
function uniformFanIn(rng: Random, size: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * bound;
  return values;
}

/** Ops whose leading ReLU is replaced by the edge's activation: SepConv and DilConv. */
export const CONV_SPECS: Record<string, { kernel: number; dilation: number; separable: boolean }> = {
  sep_conv_3x3: { kernel: 3, dilation: 1, separable: true },
  sep_conv_5x5: { kernel: 5, dilation: 1, separable: true },
  dil_conv_3x3: { kernel: 3, dilation: 2, separable: false },
  dil_conv_5x5: { kernel: 5, dilation: 2, separable: false },
};

export interface SupernetOptions {
  config: SearchConfig;
  input: InputShape;
  /**
   * Compute the parameter-free work on an input state once for all its outgoing edges (default
   * true): the pools and their BN, the parameter-free activations, the partial-channel slices.
   * Same values and gradients; off only to test that claim.
   */
  shareInputWork?: boolean;
  /**
   * Give each op that reads a tensor its own handle on it (default true; see Readers): the same
   * values and gradients in fewer kernels. Off only to test that claim.
   */
  fanOutReaders?: boolean;
  /**
   * Run each conv op of the edges leaving one state as one grouped conv over their inputs side by
   * side in channels (needs shareInputWork): the same values and gradients in up to 4x fewer
   * kernels for the convs. 'auto' (the default): on webgpu, whose steps are bound by kernel
   * dispatch. Not on cpu and wasm, which are bound by arithmetic and whose matMul (wasm's SIMD
   * kernel) is several times faster than a grouped conv written in JavaScript; nor on webgl,
   * where the grouped step (composite ops: 1×1 convs as a batched matMul between transposes)
   * ran 7x slower in Chromium on SwiftShader though it ran half the kernels. Without grouping
   * each edge convolves with its slot of the group's weights.
   */
  groupEdges?: boolean | 'auto';
  /**
   * Recompute each cell in the backward pass instead of keeping its intermediates (checkpoint.ts;
   * with fixed β also each edge's 9-term activation): a step holds one cell's intermediates at a
   * time, for one more forward pass of each cell. The same values and gradients, bit for bit.
   * Default false.
   */
  recompute?: boolean;
}

/** Backends whose steps are bound by kernel dispatch and where grouped convs were measured to pay. */
const DISPATCH_BOUND_BACKENDS: ReadonlySet<string> = new Set(['webgpu']);

/** Activations without per-edge parameters or noise: the same on every edge that reads x. */
const SHAREABLE_ACTIVATIONS: ReadonlySet<ActivationName> = new Set([
  'relu',
  'relu6',
  'leaky_relu',
  'elu',
  'celu',
  'selu',
]);

/**
 * What a mixed edge's ops read from its input, the same on every edge of a mode: the pools and
 * skip read it directly; each activation (key: its name, or 'mixed') reads it and is read by
 * `convs` conv ops. A shared activation is computed once for all the edges leaving a state.
 */
interface InputPlan {
  pools: OpName[];
  skip: boolean;
  activations: { key: string; single: ActivationName | null; shared: boolean; convs: number }[];
}

function inputPlanOf(config: SearchConfig, candidates: CandidateOp[]): InputPlan {
  const plan: InputPlan = { pools: [], skip: false, activations: [] };
  for (const cand of candidates) {
    if (cand.op === 'max_pool_3x3' || cand.op === 'avg_pool_3x3') plan.pools.push(cand.op);
    else if (cand.op === 'skip_connect') plan.skip = true;
    else if (cand.op !== 'none') {
      const key = cand.activation ?? 'mixed';
      let a = plan.activations.find((entry) => entry.key === key);
      if (!a) {
        const single = cand.activation ?? (config.mode === 'darts' ? config.activation : null);
        plan.activations.push(
          (a = { key, single, shared: single !== null && SHAREABLE_ACTIVATIONS.has(single), convs: 0 }),
        );
      }
      a.convs++;
    }
  }
  return plan;
}

/** How many mixed edges leave state `from` of a cell (0, 1: the cell's inputs; 2…: its nodes). */
function edgesLeaving(from: number): number {
  return NODES - Math.max(0, from - 1);
}

/** The mixed edges leaving each state, in DARTS order: an edge's slot is its place in its state's list. */
const EDGES_FROM: EdgeRef[][] = Array.from({ length: NODES + 2 }, (_, from) =>
  EDGE_LIST.filter((e) => e.from === from),
);
function slotOf(edge: EdgeRef): number {
  return EDGES_FROM[edge.from].indexOf(edge);
}

/** A conv op's variable name within its group (the op, or the activation+op of non-factorized). */
function convName(config: SearchConfig, cand: CandidateOp): string {
  return config.mode === 'nonfactorized' ? candidateLabel(cand) : cand.op;
}

/** A saved variable (checkpoints). */
export interface SavedVariable {
  name: string;
  shape: number[];
  values: Float32Array;
}

/**
 * Variables saved per edge, as checkpoints of version 1 saved them (cells.i.edges.e.op.dw1,
 * cells.i.edges.e.prelu, …), laid out per state as this network stores them (ConvGroups): the
 * same numbers, so a search saved before the change resumes where it was. Other variables pass
 * as they are.
 */
export function regroupPerEdgeVariables(saved: SavedVariable[]): SavedVariable[] {
  const out: SavedVariable[] = [];
  const groups = new Map<string, ConvGroups>();
  for (const v of saved) {
    const conv = /^(cells\.\d+)\.edges\.(\d+)\.(.+\.(dw1|pw1|dw2|pw2))$/.exec(v.name);
    const param = /^(cells\.\d+)\.edges\.(\d+)\.(prelu|swish)$/.exec(v.name);
    const match = conv ?? param;
    if (!match) {
      out.push(v);
      continue;
    }
    const [, cell, edgeIndex, part] = match;
    const edge = EDGE_LIST[Number(edgeIndex)];
    if (!edge) throw new Error(`${v.name}: there is no edge ${edgeIndex}`);
    let cellGroups = groups.get(cell);
    if (!cellGroups) groups.set(cell, (cellGroups = new ConvGroups()));
    const kind: GroupKind = !conv ? 'vector' : part.endsWith('pw1') || part.endsWith('pw2') ? 'pointwise' : 'depthwise';
    const shape = kind === 'vector' ? [v.values.length] : kind === 'pointwise' ? v.shape : v.shape.slice(0, 3);
    cellGroups.add(edge, part, kind, v.values, shape);
  }
  for (const [cell, cellGroups] of groups)
    for (const g of cellGroups.assemble(cell)) out.push({ name: g.name, shape: g.shape, values: g.values });
  return out;
}

/** How a group variable lays out its edges' slots: see ConvGroups. */
type GroupKind = 'depthwise' | 'pointwise' | 'vector';

/**
 * The conv ops' weights of a cell, one variable per state, op and part for all the edges leaving
 * that state side by side (their slots), so that those edges' convs run as one grouped conv:
 * depthwise [k, k, slots·C, 1] (edge j's channels at j·C), pointwise [slots, C, C]; and the
 * activations' parameters, one after another ('vector': PReLU [slots·C], Swish [slots]). Each
 * edge's part is drawn as DARTS draws it per edge, in DARTS's order, so the network starts where
 * a network of per-edge variables would.
 */
class ConvGroups {
  private readonly parts = new Map<
    string,
    { kind: GroupKind; shape: number[]; edges: number; slots: Float32Array[] }
  >();
  add(edge: EdgeRef, part: string, kind: GroupKind, values: Float32Array, shape: number[]): void {
    const key = `from${edge.from}.${part}`;
    let entry = this.parts.get(key);
    if (!entry) this.parts.set(key, (entry = { kind, shape, edges: edgesLeaving(edge.from), slots: [] }));
    entry.slots[slotOf(edge)] = values;
  }
  assemble(prefix: string): { name: string; values: Float32Array; shape: number[] }[] {
    return [...this.parts].map(([key, { kind, shape, edges: k, slots }]) => {
      for (let j = 0; j < k; j++)
        if (!slots[j]) throw new Error(`${prefix}.${key}: no values for the edge in slot ${j}`);
      if (kind === 'vector') {
        const values = new Float32Array(k * shape[0]);
        slots.forEach((slot, j) => values.set(slot, j * shape[0]));
        return { name: `${prefix}.${key}`, values, shape: [k * shape[0]] };
      }
      if (kind === 'pointwise') {
        const [cin, cout] = shape;
        const values = new Float32Array(k * cin * cout);
        slots.forEach((slot, j) => values.set(slot, j * cin * cout));
        return { name: `${prefix}.${key}`, values, shape: [k, cin, cout] };
      }
      const [kh, kw, c] = shape;
      const values = new Float32Array(kh * kw * k * c);
      for (let tap = 0; tap < kh * kw; tap++)
        slots.forEach((slot, j) => values.set(slot.subarray(tap * c, (tap + 1) * c), (tap * k + j) * c));
      return { name: `${prefix}.${key}`, values, shape: [kh, kw, k * c, 1] };
    });
  }
}

/**
 * Handles on one tensor, one per op that reads it (fused.fusedFanOut): the backward pass then
 * sums the readers' gradients in one kernel per 7, where tfjs runs an Add kernel for every
 * reader after the first (there were ~950 such Adds in a quick-preset step). Without fused
 * kernels every reader gets the tensor itself. `unread` (handles planned but not taken, or
 * taken beyond the plan) is 0 when the plan is right; a wrong plan costs kernels, never values.
 */
class Readers<T extends tf.Tensor = tf.Tensor4D> {
  private readonly handles: T[];
  private taken = 0;
  constructor(
    readonly tensor: T,
    private readonly count: number,
    fanOut: boolean,
  ) {
    this.handles = fanOut && count > 1 && fusedKernelsActive() ? fusedFanOut(tensor, count) : [];
  }
  take(): T {
    this.taken++;
    return this.handles.pop() ?? this.tensor;
  }
  get unread(): number {
    return this.count - this.taken;
  }
}

/** The Readers of one cell's forward pass. */
class CellReaders {
  private readonly all: Readers<tf.Tensor>[] = [];
  constructor(private readonly fanOut: boolean) {}
  /** `tensor`, to be read by `count` ops. */
  of<T extends tf.Tensor>(tensor: T, count: number): Readers<T> {
    const r = new Readers(tensor, count, this.fanOut);
    this.all.push(r);
    return r;
  }
  /** Handles planned but not taken, and taken beyond the plan: 0 when every plan was right. */
  get unread(): number {
    return this.all.reduce((sum, r) => sum + Math.abs(r.unread), 0);
  }
}

/** A mixed edge's op outputs and their columns in softmax(α) (none has no output). */
interface EdgeTerms {
  outputs: tf.Tensor4D[];
  indices: number[];
  /** Which part of each output is the edge's (a grouped conv's result holds all its edges'). */
  views: TermView[];
}

/** One state as the mixed edges leaving it read it (see cellForward). */
interface EdgeSource {
  /** The mixed ops' input: the state, or with PC-DARTS its first 1/K of the channels. */
  input: Readers;
  /** PC-DARTS: the channels that bypass the mixed ops (max-pooled at stride 2). */
  bypass: Readers | null;
  /** How many edges read this source. */
  edges: number;
  /** What these edges compute alike from it: pools with their BN, parameter-free activations. */
  shared: Map<string, Readers>;
  readers: CellReaders;
  /** The cell's group weights split into their edges' slots (edges that convolve alone). */
  slots: WeightSlots;
}

/**
 * A cell's group weights split into their slots, each variable once per forward pass (one SplitV,
 * whose gradient is one Concat, where a slice per edge took a Slice, and a Pad and an add for its
 * gradient).
 */
class WeightSlots {
  private readonly splits = new Map<string, tf.Tensor[]>();
  /** Slot `slot` of `weight`, whose slots lie along `axis`. */
  slot(name: string, weight: tf.Tensor, axis: number, slots: number, slot: number): tf.Tensor {
    let parts = this.splits.get(name);
    if (!parts) this.splits.set(name, (parts = tf.split(weight, slots, axis)));
    return parts[slot];
  }
}

/**
 * Edge i of cell type t: which activation rows exist, and (fixed modes) which are known zero.
 * `mixWeights` is the softmax(β) of a fixed-β mode computed once, so zero terms are skipped.
 */
interface FixedActivationMix {
  weights: number[][]; // [14][9] softmax, per cell type
}

export class Supernet {
  readonly config: SearchConfig;
  readonly input: InputShape;
  readonly candidates: CandidateOp[];
  private readonly params = new Map<string, Param>();
  private readonly constants = new Map<string, tf.Tensor>();
  private readonly cells: { reduction: boolean; reductionPrev: boolean; cin0: number; cin1: number; c: number }[] = [];
  private readonly stemChannels: number;
  private readonly fixedMix: { normal: FixedActivationMix; reduce: FixedActivationMix } | null;
  private readonly shareInputWork: boolean;
  private readonly inputPlan: InputPlan;
  /** Op outputs a mixed edge adds to its node's sum (none has none). */
  private readonly termsPerEdge: number;
  private readonly fanOutReaders: boolean;
  private groupEdges: boolean | 'auto';
  private recompute: boolean;
  /** Fan-out handles the last forward passes planned but did not use, or used beyond the plan (see Readers); 0 when right. */
  unreadHandles = 0;

  constructor(
    {
      config,
      input,
      shareInputWork = true,
      fanOutReaders = true,
      groupEdges = 'auto',
      recompute = false,
    }: SupernetOptions,
    rng: Random,
  ) {
    this.config = config;
    this.input = input;
    this.shareInputWork = shareInputWork;
    this.fanOutReaders = fanOutReaders;
    this.groupEdges = shareInputWork ? groupEdges : false;
    this.recompute = recompute;
    this.candidates = candidateOps(config.mode);
    this.inputPlan = inputPlanOf(config, this.candidates);
    this.termsPerEdge = this.candidates.filter((c) => c.op !== 'none').length;
    const C = config.channels;
    const k = config.partialChannels;

    this.stemChannels = config.stemMultiplier * C;
    this.addConv('stem.conv', [3, 3, input.channels, this.stemChannels], 9 * input.channels, rng);
    this.addConst('stem.bn.gamma', 'weights', new Float32Array(this.stemChannels).fill(1), [this.stemChannels]);
    this.addConst('stem.bn.beta', 'weights', new Float32Array(this.stemChannels), [this.stemChannels]);

    let cPrevPrev = this.stemChannels;
    let cPrev = this.stemChannels;
    let cCurr = C;
    let reductionPrev = false;
    for (let i = 0; i < config.layers; i++) {
      const reduction = isReductionLayer(i, config.layers);
      if (reduction) cCurr *= 2;
      const prefix = `cells.${i}`;
      if (reductionPrev) this.addFactorizedReduce(`${prefix}.pre0`, cPrevPrev, cCurr, rng);
      else this.addConv1x1(`${prefix}.pre0`, cPrevPrev, cCurr, rng);
      this.addConv1x1(`${prefix}.pre1`, cPrev, cCurr, rng);
      const cOp = cCurr / k;
      const groups = new ConvGroups();
      for (const edge of EDGE_LIST) {
        const stride = reduction && edge.from < 2 ? 2 : 1;
        this.addEdge(`${prefix}.edges.${edge.index}`, edge, cOp, stride, rng, groups);
      }
      for (const group of groups.assemble(prefix)) this.addConst(group.name, 'weights', group.values, group.shape);
      this.cells.push({ reduction, reductionPrev, cin0: cPrevPrev, cin1: cPrev, c: cCurr });
      reductionPrev = reduction;
      cPrevPrev = cPrev;
      cPrev = NODES * cCurr;
    }
    this.addConst('classifier.weight', 'weights', uniformFanIn(rng, cPrev * input.classes, cPrev), [
      cPrev,
      input.classes,
    ]);
    this.addConst('classifier.bias', 'weights', uniformFanIn(rng, input.classes, cPrev), [input.classes]);

    // Architecture parameters: 1e-3 · N(0, 1), as DARTS initialises α.
    const archInit = (rows: number, cols: number) => {
      const v = new Float32Array(rows * cols);
      for (let i = 0; i < v.length; i++) v[i] = 1e-3 * rng.normal();
      return v;
    };
    const width = this.candidates.length;
    this.addConst('alphaNormal', 'alpha', archInit(EDGES, width), [EDGES, width]);
    this.addConst('alphaReduce', 'alpha', archInit(EDGES, width), [EDGES, width]);
    if (config.mode === 'factorized') {
      this.addConst('betaNormal', 'beta', archInit(EDGES, ACTIVATIONS.length), [EDGES, ACTIVATIONS.length]);
      this.addConst('betaReduce', 'beta', archInit(EDGES, ACTIVATIONS.length), [EDGES, ACTIVATIONS.length]);
    }
    if (k > 1) {
      this.addConst('edgeNormal', 'edge', archInit(1, EDGES), [EDGES]);
      this.addConst('edgeReduce', 'edge', archInit(1, EDGES), [EDGES]);
    }
    this.fixedMix = config.mode === 'fixed-beta' ? fixedMixFromConfig(config) : null;
  }

  // -------------------------------------------------------------------------------------------
  // Parameters

  private addConst(name: string, group: ParamGroup, values: Float32Array, shape: number[]): void {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    // tidy frees the initial tensor, which would outlive the network; the variable keeps the data.
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape), true, name + '_' + uniqueSuffix()));
    this.params.set(name, { name, group, variable });
  }

  private addConv(name: string, shape: number[], fanIn: number, rng: Random): void {
    const size = shape.reduce((a, b) => a * b, 1);
    this.addConst(name, 'weights', uniformFanIn(rng, size, fanIn), shape);
  }

  private addConv1x1(prefix: string, cin: number, cout: number, rng: Random): void {
    this.addConv(`${prefix}.conv`, [cin, cout], cin, rng);
  }

  private addFactorizedReduce(prefix: string, cin: number, cout: number, rng: Random): void {
    if (cout % 2 !== 0) throw new Error(`FactorizedReduce needs an even channel count, got ${cout}`);
    this.addConv(`${prefix}.conv1`, [cin, cout / 2], cin, rng);
    this.addConv(`${prefix}.conv2`, [cin, cout / 2], cin, rng);
  }

  /** A conv op's weights for one edge, drawn as DARTS draws them, into its group (ConvGroups). */
  private addConvOp(edge: EdgeRef, name: string, op: OpName, c: number, rng: Random, groups: ConvGroups): void {
    const spec = CONV_SPECS[op];
    const k = spec.kernel;
    groups.add(edge, `${name}.dw1`, 'depthwise', uniformFanIn(rng, k * k * c, k * k), [k, k, c]);
    groups.add(edge, `${name}.pw1`, 'pointwise', uniformFanIn(rng, c * c, c), [c, c]);
    if (spec.separable) {
      groups.add(edge, `${name}.dw2`, 'depthwise', uniformFanIn(rng, k * k * c, k * k), [k, k, c]);
      groups.add(edge, `${name}.pw2`, 'pointwise', uniformFanIn(rng, c * c, c), [c, c]);
    }
  }

  private addEdge(prefix: string, edge: EdgeRef, c: number, stride: number, rng: Random, groups: ConvGroups): void {
    if (stride === 2) this.addFactorizedReduce(`${prefix}.skip`, c, c, rng);
    for (const cand of this.candidates)
      if (CONV_SPECS[cand.op]) this.addConvOp(edge, convName(this.config, cand), cand.op, c, rng, groups);
    // Activation parameters: also one variable per state, the edges' side by side.
    const used = this.activationsUsed();
    if (used.includes('prelu')) groups.add(edge, 'prelu', 'vector', new Float32Array(c).fill(PRELU_INIT), [c]);
    if (used.includes('swish')) groups.add(edge, 'swish', 'vector', new Float32Array(1).fill(SWISH_INIT), [1]);
  }

  /** The activations an edge can apply in this mode. */
  activationsUsed(): readonly ActivationName[] {
    return this.config.mode === 'darts' ? [this.config.activation] : ACTIVATIONS;
  }

  private get(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new Error(`missing parameter ${name}`);
    return p.variable;
  }
  private has(name: string): boolean {
    return this.params.has(name);
  }

  variables(group?: ParamGroup): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const p of this.params.values()) if (!group || p.group === group) out.push(p.variable);
    return out;
  }

  namedVariables(): { name: string; group: ParamGroup; variable: tf.Variable }[] {
    return [...this.params.values()];
  }

  /** Number of ω weights (α, β and edge weights excluded), as DARTS counts a supernet. */
  countWeights(): number {
    return this.variables('weights').reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    this.params.clear();
    for (const t of this.constants.values()) t.dispose();
    this.constants.clear();
  }

  /** A constant tensor of this network (per backend), made once by make() and freed with the network. */
  private constant<T extends tf.Tensor>(name: string, make: () => T): T {
    const key = `${tf.getBackend()}:${name}`;
    let t = this.constants.get(key) as T | undefined;
    if (!t || t.isDisposed) this.constants.set(key, (t = tf.keep(tf.tidy(make))));
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // Forward

  /** Logits [n, classes] of images [n, h, w, c]. Call inside tf.tidy or a gradient function. */
  forward(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    let s = conv2d(images, this.get('stem.conv') as tf.Tensor4D);
    s = batchNorm(s, this.get('stem.bn.gamma') as tf.Tensor1D, this.get('stem.bn.beta') as tf.Tensor1D);
    const arch = {
      normal: this.cellArch('Normal'),
      reduce: this.cellArch('Reduce'),
    };
    const taped = tapeRecording();
    let s0 = s;
    let s1 = s;
    this.cells.forEach((cell, i) => {
      const a = cell.reduction ? arch.reduce : arch.normal;
      let out: tf.Tensor4D;
      // No gradient to take (evaluation, the warm-up's validation pass): a cell's intermediates
      // are freed as soon as it has run, not when the pass ends.
      if (!taped) out = tf.tidy(() => this.cellForward(i, cell, a, s0, s1, ctx));
      else if (this.recompute) out = this.recomputedCell(i, cell, a, s0, s1, ctx);
      else out = this.cellForward(i, cell, a, s0, s1, ctx);
      s0 = s1;
      s1 = out;
    });
    const pooled = globalAvgPool(s1);
    return tf.add(
      tf.matMul(pooled, this.get('classifier.weight') as tf.Tensor2D),
      this.get('classifier.bias'),
    ) as tf.Tensor2D;
  }

  /**
   * cellForward checkpointed (checkpoint.ts): the backward pass keeps the cell's inputs and runs
   * the cell again. Its inputs are s1, then s0 (cell 0 reads the stem's output as both: the
   * whole network's backward pass adds pre1's gradient of it before pre0's), then the
   * architecture tensors it reads, which every cell of its type shares.
   */
  private recomputedCell(
    index: number,
    cell: { reduction: boolean; reductionPrev: boolean; c: number },
    arch: CellArch,
    s0: tf.Tensor4D,
    s1: tf.Tensor4D,
    ctx: ForwardContext,
  ): tf.Tensor4D {
    const shared = archTensors(arch);
    return checkpoint(
      ([x1, x0, ...given], c) =>
        this.cellForward(index, cell, withArchTensors(arch, given), x0 as tf.Tensor4D, x1 as tf.Tensor4D, c),
      [s1, s0, ...shared],
      this.variablesOfCell(index),
      ctx,
    ) as tf.Tensor4D;
  }

  /** The variables cell `index` reads (its preprocessing, conv groups, activation parameters). */
  private variablesOfCell(index: number): tf.Variable[] {
    const prefix = `cells.${index}.`;
    return this.namedVariables()
      .filter((p) => p.name.startsWith(prefix))
      .map((p) => p.variable);
  }

  loss(images: tf.Tensor4D, labels: tf.Tensor1D, ctx: ForwardContext): tf.Scalar {
    return crossEntropy(this.forward(images, ctx), labels);
  }

  /** Softmaxed architecture weights of one cell type: flattened for the fused kernels, else scalars. */
  private cellArch(type: 'Normal' | 'Reduce'): CellArch {
    const alphaSoftmax = tf.softmax(this.get(`alpha${type}`), -1);
    // Fused kernels read edge e's weight of op i at e·width + i (a reshape: no kernel, no slices);
    // the composite sum needs scalars.
    const fused = fusedKernelsActive();
    const alphaFlat = fused ? (tf.reshape(alphaSoftmax, [-1]) as tf.Tensor1D) : null;
    const alpha = fused ? null : (tf.unstack(alphaSoftmax) as tf.Tensor1D[]).map((row) => tf.unstack(row));
    let beta: tf.Tensor1D[] | null = null;
    let activationMix: MixCoefficients | null = null;
    // Factorized: the mixed activation's coefficients of all 14 edges in one matMul, shared by
    // every cell of this type, in the form the cells read them (made here, before any cell: a
    // cell may run in a scope of its own).
    if (this.config.mode === 'factorized') {
      const mixedPlan = this.inputPlan.activations.find((a) => a.single === null)!;
      const byState = this.groups(2) && this.activatesAllAtOnce(mixedPlan);
      activationMix = MixCoefficients.of(
        activationCoefficientMatrix(tf.softmax(this.get(`beta${type}`), -1) as tf.Tensor2D),
        // A state with one edge reads its state's row when grouping; edges read alone otherwise
        // (and when the work is not shared, a test of the sharing).
        { rows: !byState || !this.shareInputWork, byState },
        () => this.constant('edges-by-state', () => tf.tensor1d(EDGES_BY_STATE, 'int32')),
      );
    } else if (this.config.mode === 'fixed-beta' && this.fixedMix) {
      const fixed = type === 'Normal' ? this.fixedMix.normal : this.fixedMix.reduce;
      beta = fixed.weights.map((row, e) => this.constant(`fixed-beta:${type}:${e}`, () => tf.tensor1d(row)));
    }
    let edgeWeights: tf.Tensor[] | null = null;
    if (this.config.partialChannels > 1) {
      // PC-DARTS edge normalisation: softmax over each node's incoming edges.
      const raw = this.get(`edge${type}`);
      const parts: tf.Tensor[] = [];
      let start = 0;
      for (let node = 0; node < NODES; node++) {
        const n = node + 2;
        parts.push(...tf.unstack(tf.softmax(tf.slice(raw, [start], [n]))));
        start += n;
      }
      edgeWeights = parts;
    }
    return { type, alphaFlat, alpha, beta, activationMix, edgeWeights };
  }

  private cellForward(
    index: number,
    cell: { reduction: boolean; reductionPrev: boolean; c: number },
    arch: CellArch,
    s0: tf.Tensor4D,
    s1: tf.Tensor4D,
    ctx: ForwardContext,
  ): tf.Tensor4D {
    const prefix = `cells.${index}`;
    const p0 = cell.reductionPrev
      ? this.factorizedReduce(`${prefix}.pre0`, s0, true)
      : this.reluConvBn(`${prefix}.pre0`, s0);
    const p1 = this.reluConvBn(`${prefix}.pre1`, s1);
    const states: tf.Tensor4D[] = [p0, p1];
    // Up to 4 edges leave each state, all with the same stride: what they compute alike from
    // it is computed once (about a fifth of a cell's pool and batch-norm kernels otherwise), and
    // their conv ops run together as grouped convs. So the edges leaving a state run as soon as
    // it exists, state by state. Every tensor read by several ops (a state, a pool, an
    // activation, a grouped conv's result) is read through handles, counted from the mode's
    // InputPlan, so that its gradient is one sum.
    const readers = new CellReaders(this.fanOutReaders);
    const slots = new WeightSlots();
    const nodeOutputs: Readers[] = [];
    const termsOf: EdgeTerms[] = [];
    const sourceOf: EdgeSource[] = [];
    const runEdgesFrom = (from: number) => {
      const stride = cell.reduction && from < 2 ? 2 : 1;
      const edges = EDGES_FROM[from];
      // Each edge reads its own source when the work is not shared (a test of the sharing).
      const batches = this.shareInputWork ? [edges] : edges.map((edge) => [edge]);
      const state = readers.of(states[from], batches.length * this.readsOfState() + (from >= 2 ? 1 : 0));
      if (from >= 2) nodeOutputs.push(state);
      for (const batch of batches) {
        const source = this.edgeSource(state, batch.length, stride, readers, slots);
        this.edgesFrom(prefix, batch, arch, source, stride, ctx).forEach((terms, j) => {
          termsOf[batch[j].index] = terms;
          sourceOf[batch[j].index] = source;
        });
      }
    };
    runEdgesFrom(0);
    runEdgesFrom(1);
    // Fused kernels without partial channels: a node's edges in one weighted sum over the
    // cell's flattened softmax(α) (6 op outputs a kernel), not a sum per edge and one over them.
    const nodeSums = arch.alphaFlat !== null && this.config.partialChannels === 1;
    let alphaHandle: (() => tf.Tensor1D) | null = null;
    if (arch.alphaFlat) {
      let kernels = 0;
      for (let node = 0; node < NODES; node++)
        kernels += nodeSums
          ? weightedSumKernels((node + 2) * this.termsPerEdge)
          : (node + 2) * weightedSumKernels(this.termsPerEdge);
      const alphaReaders = readers.of(arch.alphaFlat, kernels);
      alphaHandle = () => alphaReaders.take();
    }
    let edgeIndex = 0;
    for (let node = 0; node < NODES; node++) {
      const edgeTerms: EdgeTerms[] = [];
      for (let from = 0; from < node + 2; from++) {
        const terms = termsOf[edgeIndex];
        if (nodeSums) {
          const offset = edgeIndex * this.candidates.length;
          edgeTerms.push({ outputs: terms.outputs, indices: terms.indices.map((i) => offset + i), views: terms.views });
        } else
          edgeTerms.push({
            outputs: [this.edgeSum(terms, edgeIndex, arch, sourceOf[edgeIndex], alphaHandle)],
            indices: [],
            views: [WHOLE],
          });
        edgeIndex++;
      }
      const outputs = edgeTerms.flatMap((t) => t.outputs);
      states.push(
        (nodeSums
          ? fusedWeightedSum(
              outputs,
              alphaHandle!,
              edgeTerms.flatMap((t) => t.indices),
              edgeTerms.flatMap((t) => t.views),
            )
          : sumTensors(outputs)) as tf.Tensor4D,
      );
      if (edgesLeaving(node + 2) > 0) runEdgesFrom(node + 2);
      else nodeOutputs.push(readers.of(states[node + 2], 1)); // the last node: read by the concat alone
    }
    const output = tf.concat(
      nodeOutputs.map((r) => r.take()),
      3,
    );
    this.unreadHandles += readers.unread;
    return output;
  }

  /** How many times one source (edgeSource) reads its state: PC-DARTS slices it in two. */
  private readsOfState(): number {
    return this.config.partialChannels > 1 ? 2 : 1;
  }

  /** How many times the mixed ops of `edges` edges read their (partial-channel) input. */
  private readsOfInput(edges: number): number {
    const plan = this.inputPlan;
    const grouped = this.groups(edges);
    return (
      plan.pools.length +
      (plan.skip ? edges : 0) +
      plan.activations.reduce((n, a) => n + (a.shared || (grouped && this.activatesAllAtOnce(a)) ? 1 : edges), 0)
    );
  }

  /** What the edges leaving a state read from it, each reader with its own handle (Readers). */
  private edgeSource(
    state: Readers,
    edges: number,
    stride: 1 | 2,
    readers: CellReaders,
    slots: WeightSlots,
  ): EdgeSource {
    const k = this.config.partialChannels;
    let input: Readers;
    let bypass: Readers | null = null;
    if (k > 1) {
      const x = state.take();
      const [n, h, w, c] = x.shape;
      const cp = c / k;
      input = readers.of(tf.slice(x, [0, 0, 0, 0], [n, h, w, cp]) as tf.Tensor4D, this.readsOfInput(edges));
      const rest = tf.slice(state.take(), [0, 0, 0, cp], [n, h, w, c - cp]) as tf.Tensor4D;
      bypass = readers.of(stride === 2 ? maxPool2x2(rest) : rest, edges);
    } else input = readers.of(state.take(), this.readsOfInput(edges));
    return { input, bypass, edges, shared: new Map(), readers, slots };
  }
  private reluConvBn(prefix: string, x: tf.Tensor4D): tf.Tensor4D {
    return batchNorm(conv1x1(tf.relu(x), this.get(`${prefix}.conv`) as tf.Tensor2D), null, null);
  }

  /** DARTS FactorizedReduce (non-affine BN): two stride-2 1x1 convs, the second shifted by one. */
  private factorizedReduce(prefix: string, x: tf.Tensor4D, withRelu: boolean): tf.Tensor4D {
    const [even, odd] = evenAndOddSamples(withRelu ? tf.relu(x) : x);
    const path1 = conv1x1(even, this.get(`${prefix}.conv1`) as tf.Tensor2D);
    const path2 = conv1x1(odd, this.get(`${prefix}.conv2`) as tf.Tensor2D);
    return batchNorm(tf.concat([path1, path2], 3), null, null);
  }

  /**
   * SepConv / DilConv without their leading ReLU (the input is already activated), for the edges
   * whose channels `activated` holds side by side: all the edges leaving a state (slot null),
   * which then run as one grouped conv, or the one edge in `slot` of them (its slice of the
   * group's weights).
   */
  private convOp(
    groupPrefix: string,
    op: OpName,
    activated: tf.Tensor4D,
    stride: 1 | 2,
    slot: number | null,
    slots: WeightSlots,
  ): tf.Tensor4D {
    const spec = CONV_SPECS[op];
    const edges = this.get(`${groupPrefix}.pw1`).shape[0] as number;
    // Depthwise weights hold the slots side by side in channels, pointwise ones one after another.
    const weight = <T extends tf.Tensor>(part: string, axis: number): T => {
      const name = `${groupPrefix}.${part}`;
      return (slot === null ? this.get(name) : slots.slot(name, this.get(name), axis, edges, slot)) as T;
    };
    const depthwise = (part: string) => weight<tf.Tensor4D>(part, 2);
    const pointwise = (part: string) => weight<tf.Tensor3D>(part, 0);
    let y = depthwiseConv(activated, depthwise('dw1'), stride, spec.dilation);
    y = groupedConv1x1(y, pointwise('pw1'));
    if (!spec.separable) return batchNorm(y, null, null);
    // SepConv's inner BN → ReLU in one op (fused kernels: no ReLU kernel forward or backward).
    y = depthwiseConv(batchNormRelu(y), depthwise('dw2'), 1, 1);
    return batchNorm(groupedConv1x1(y, pointwise('pw2')), null, null);
  }

  /** Groups the edges leaving each state from the next forward pass on (SupernetOptions.groupEdges): the weights are the same either way. */
  setGroupEdges(groupEdges: boolean | 'auto'): void {
    this.groupEdges = this.shareInputWork ? groupEdges : false;
  }

  /** Recomputes cells in the backward pass from the next forward pass on (SupernetOptions.recompute): the same numbers either way. */
  setRecompute(recompute: boolean): void {
    this.recompute = recompute;
  }

  /** Whether cells are recomputed in the backward pass (SupernetOptions.recompute). */
  get recomputes(): boolean {
    return this.recompute;
  }

  /** Whether `edges` edges leaving one state run grouped (see SupernetOptions.groupEdges). */
  private groups(edges: number): boolean {
    return edges > 1 && (this.groupEdges === 'auto' ? DISPATCH_BOUND_BACKENDS.has(tf.getBackend()) : this.groupEdges);
  }

  /**
   * Whether grouped edges compute this activation in one op that reads their input once: the
   * mixed activation with fused kernels, PReLU and Swish. The others run per edge (RReLU: its
   * slopes are drawn per edge), their results put side by side.
   */
  private activatesAllAtOnce(plan: InputPlan['activations'][number]): boolean {
    if (plan.single === null) return fusedKernelsActive() && this.config.mode === 'factorized';
    return plan.single === 'prelu' || plan.single === 'swish';
  }

  /** The activations' parameters of all the edges leaving state `from` (PReLU [edges·C], Swish [edges]). */
  private stateActivationParams(prefix: string, from: number): { preluSlope?: tf.Tensor1D; swishBeta?: tf.Tensor1D } {
    const get = (part: string) =>
      this.has(`${prefix}.from${from}.${part}`)
        ? (this.get(`${prefix}.from${from}.${part}`) as tf.Tensor1D)
        : undefined;
    return { preluSlope: get('prelu'), swishBeta: get('swish') };
  }

  /** One edge's activation parameters: its slot of its state's (PReLU [C], Swish a scalar). */
  private edgeActivationParams(prefix: string, edge: EdgeRef, slots: WeightSlots): ActivationParams {
    const edges = edgesLeaving(edge.from);
    const slot = (part: string) => {
      const name = `${prefix}.from${edge.from}.${part}`;
      if (!this.has(name)) return undefined;
      return edges === 1 ? this.get(name) : slots.slot(name, this.get(name), 0, edges, slotOf(edge));
    };
    const prelu = slot('prelu');
    const swish = slot('swish');
    return { preluSlope: prelu as tf.Tensor1D | undefined, swishBeta: swish ? tf.reshape(swish, []) : undefined };
  }

  /**
   * The op outputs of `edges`, which all leave one state (`source`): the pools with their BN
   * (computed once for them all), the skips, and the conv ops on each edge's activated input.
   * With groupEdges and more than one edge, each conv op of all of them runs as one op over their
   * inputs side by side in channels (grouped convs: one kernel where there was one per edge),
   * whose result the node sums read in place (fused kernels) or split into the edges' outputs.
   * Same values and gradients.
   */
  private edgesFrom(
    prefix: string,
    edges: EdgeRef[],
    arch: CellArch,
    source: EdgeSource,
    stride: 1 | 2,
    ctx: ForwardContext,
  ): EdgeTerms[] {
    /** A tensor computed once for all the edges leaving the source, with a handle per reader. */
    const once = (key: string, reads: number, make: () => tf.Tensor4D): tf.Tensor4D => {
      let r = source.shared.get(key);
      if (!r) source.shared.set(key, (r = source.readers.of(make(), reads)));
      return r.take();
    };
    const from = edges[0].from;
    const groupPrefix = (cand: CandidateOp) => `${prefix}.from${from}.${convName(this.config, cand)}`;
    const grouped = this.groups(edges.length);
    // A slice of the group's weights for each edge, unless the group is this one edge.
    const slotFor = (edge: EdgeRef) => (edgesLeaving(from) === 1 ? null : slotOf(edge));
    // The activated inputs of the conv ops, by activation key: each edge's, or (grouped) all
    // edges' side by side. Activation by activation, edge by edge, the same order either way
    // (RReLU draws its slopes from ctx.rng).
    const activated = new Map<string, { take(): tf.Tensor4D }[]>();
    for (const plan of this.inputPlan.activations) {
      const single = plan.single;
      if (single && plan.shared) {
        // Parameter-free: computed once for the source, and (grouped) repeated side by side.
        const make = () => activation(single, source.input.take(), {}, ctx);
        if (grouped)
          activated.set(plan.key, [source.readers.of(tileChannels(once(single, 1, make), edges.length), plan.convs)]);
        else
          activated.set(
            plan.key,
            edges.map(() => ({ take: () => once(single, source.edges * plan.convs, make) })),
          );
        continue;
      }
      if (grouped && this.activatesAllAtOnce(plan)) {
        // One op for all the edges: the mixed-activation kernel of G edges, or PReLU / Swish with
        // the edges' parameters over the input repeated side by side.
        const { preluSlope, swishBeta } = this.stateActivationParams(prefix, from);
        const x = source.input.take();
        let value: tf.Tensor4D;
        if (!single) value = groupedMixedActivation(x, arch.activationMix!.ofState(from), preluSlope!, swishBeta!, ctx);
        else {
          const c = x.shape[3];
          const k = edges.length;
          // Swish's b per channel: edge j's for its channels.
          const perChannel = swishBeta
            ? (tf.reshape(tf.tile(tf.reshape(swishBeta, [k, 1]), [1, c]), [k * c]) as tf.Tensor1D)
            : undefined;
          value = activation(single, tileChannels(x, k), { preluSlope, swishBeta: perChannel }, ctx);
        }
        activated.set(plan.key, [source.readers.of(value, plan.convs)]);
        continue;
      }
      const perEdge = edges.map((edge) => {
        const params = this.edgeActivationParams(prefix, edge, source.slots);
        if (single) return activation(single, source.input.take(), params, ctx);
        if (arch.activationMix) {
          // An edge alone: its row, or (grouping) its state's one row.
          const row =
            edgesLeaving(from) === 1 && this.groups(2) && this.activatesAllAtOnce(plan)
              ? (tf.reshape(arch.activationMix.ofState(from), [7]) as tf.Tensor1D)
              : arch.activationMix.row(edge.index);
          return mixedActivationOf(source.input.take(), row, params as Required<ActivationParams>, ctx);
        }
        const skip = this.fixedMix
          ? (arch.type === 'Normal' ? this.fixedMix.normal : this.fixedMix.reduce).weights[edge.index].map(
              (w) => w === 0,
            )
          : undefined;
        const beta = arch.beta![edge.index];
        if (!this.recompute) return mixedActivation(source.input.take(), beta, ACTIVATIONS, params, ctx, skip);
        // Recomputed too: its 9 activations and their products are most of a fixed-β cell.
        const { preluSlope, swishBeta } = params;
        return checkpoint(
          ([x, prelu, swish], c) =>
            mixedActivation(
              x as tf.Tensor4D,
              beta,
              ACTIVATIONS,
              { preluSlope: prelu as tf.Tensor1D, swishBeta: swish },
              c,
              skip,
            ),
          [source.input.take(), preluSlope!, swishBeta!],
          [],
          ctx,
        ) as tf.Tensor4D;
      });
      if (grouped) activated.set(plan.key, [source.readers.of(concatChannels(perEdge), plan.convs)]);
      else
        activated.set(
          plan.key,
          perEdge.map((value) => source.readers.of(value, plan.convs)),
        );
    }
    // Each conv op's output for each edge. With fused kernels the weighted sums read a grouped
    // conv's result in place (a view per edge: no split, whose k slices were a dispatch each on
    // webgpu); the composite sums need it split.
    const convOutputs = new Map<CandidateOp, { take(): tf.Tensor4D; view: TermView }[]>();
    const whole = (t: tf.Tensor4D) => ({ take: () => t, view: WHOLE });
    for (const cand of this.candidates) {
      if (!CONV_SPECS[cand.op]) continue;
      const inputs = activated.get(cand.activation ?? 'mixed')!;
      if (grouped) {
        const out = this.convOp(groupPrefix(cand), cand.op, inputs[0].take(), stride, null, source.slots);
        if (fusedKernelsActive()) {
          const readers = source.readers.of(out, edges.length);
          convOutputs.set(
            cand,
            edges.map((_, slot) => ({ take: () => readers.take(), view: { groups: edges.length, slot } })),
          );
        } else convOutputs.set(cand, splitChannels(out, edges.length).map(whole));
      } else
        convOutputs.set(
          cand,
          edges.map((edge, j) =>
            whole(this.convOp(groupPrefix(cand), cand.op, inputs[j].take(), stride, slotFor(edge), source.slots)),
          ),
        );
    }
    return edges.map((edge, j) => {
      const outputs: tf.Tensor4D[] = [];
      const indices: number[] = [];
      const views: TermView[] = [];
      this.candidates.forEach((cand, i) => {
        let out: tf.Tensor4D;
        let view = WHOLE;
        switch (cand.op) {
          case 'none':
            return; // contributes zero; its weight still takes part in the softmax
          case 'max_pool_3x3':
            out = once('max_pool_3x3', source.edges, () =>
              batchNorm(maxPool3x3(source.input.take(), stride), null, null),
            );
            break;
          case 'avg_pool_3x3':
            out = once('avg_pool_3x3', source.edges, () =>
              batchNorm(avgPool3x3(source.input.take(), stride), null, null),
            );
            break;
          case 'skip_connect':
            out =
              stride === 1
                ? source.input.take()
                : this.factorizedReduce(`${prefix}.edges.${edge.index}.skip`, source.input.take(), true);
            break;
          default: {
            const conv = convOutputs.get(cand)![j];
            out = conv.take();
            view = conv.view;
          }
        }
        outputs.push(out);
        indices.push(i);
        views.push(view);
      });
      return { outputs, indices, views };
    });
  }

  /**
   * One mixed edge's weighted sum: the composite ops', or (PC-DARTS) the fused kernel's followed
   * by the bypass and the edge weight. Without partial channels, fused kernels sum a node's
   * edges together instead (cellForward).
   */
  private edgeSum(
    { outputs, indices, views }: EdgeTerms,
    edgeIndex: number,
    arch: CellArch,
    source: EdgeSource,
    alphaHandle: (() => tf.Tensor1D) | null,
  ): tf.Tensor4D {
    const width = this.candidates.length;
    let y = arch.alpha
      ? (sumTensors(outputs.map((out, j) => tf.mul(out, arch.alpha![edgeIndex][indices[j]]))) as tf.Tensor4D)
      : fusedWeightedSum(
          outputs,
          alphaHandle!,
          indices.map((i) => edgeIndex * width + i),
          views,
        );
    if (source.bypass) y = channelShuffle(tf.concat([y, source.bypass.take()], 3), this.config.partialChannels);
    if (arch.edgeWeights) y = tf.mul(y, arch.edgeWeights[edgeIndex]);
    return y;
  }

  // -------------------------------------------------------------------------------------------
  // Architecture weights out of and into the net

  /** Raw α/β (and PC edge weights) as plain arrays: read with await data(), never dataSync. */
  async archWeights(): Promise<RawArchWeights> {
    const read = async (name: string, cols: number) => {
      if (!this.has(name)) return null;
      const values = await this.get(name).data();
      const rows: number[][] = [];
      for (let r = 0; r < values.length / cols; r++) rows.push(Array.from(values.subarray(r * cols, (r + 1) * cols)));
      return rows;
    };
    const width = this.candidates.length;
    const betaFromMode = (type: 'Normal' | 'Reduce'): number[][] | null => {
      if (this.config.mode === 'darts') {
        const onehot = ACTIVATIONS.map((a) => (a === this.config.activation ? 0 : -Infinity));
        return Array.from({ length: EDGES }, () => onehot.map((v) => (v === -Infinity ? -1e9 : v)));
      }
      if (this.config.mode === 'fixed-beta') {
        const fb = this.config.fixedBeta;
        if (fb) return (type === 'Normal' ? fb.betaNormal : fb.betaReduce).map((r) => [...r]);
        return Array.from({ length: EDGES }, () => ACTIVATIONS.map(() => 0));
      }
      return null;
    };
    const edgeNormal = await read('edgeNormal', EDGES);
    const edgeReduce = await read('edgeReduce', EDGES);
    return {
      alphaNormal: (await read('alphaNormal', width))!,
      alphaReduce: (await read('alphaReduce', width))!,
      betaNormal: (await read('betaNormal', ACTIVATIONS.length)) ?? betaFromMode('Normal'),
      betaReduce: (await read('betaReduce', ACTIVATIONS.length)) ?? betaFromMode('Reduce'),
      edgeNormal: edgeNormal ? edgeNormal[0] : null,
      edgeReduce: edgeReduce ? edgeReduce[0] : null,
    };
  }
}

export interface RawArchWeights {
  alphaNormal: number[][];
  alphaReduce: number[][];
  betaNormal: number[][] | null;
  betaReduce: number[][] | null;
  edgeNormal: number[] | null;
  edgeReduce: number[] | null;
}

interface CellArch {
  type: 'Normal' | 'Reduce';
  /** softmax(α) flattened: edge e's weight of candidate i at e · candidates + i (fused kernels only). */
  alphaFlat: tf.Tensor1D | null;
  /** The same as scalars (composite ops only; null with fused kernels). */
  alpha: tf.Tensor[][] | null;
  /** Fixed-β mode: softmax(β) rows. */
  beta: tf.Tensor1D[] | null;
  /** Factorized mode: the mixed activations' coefficients (linear in softmax(β)). */
  activationMix: MixCoefficients | null;
  edgeWeights: tf.Tensor[] | null;
}

/** The edges in the order of the states they leave (EDGES_FROM): a state's edges are consecutive. */
const EDGES_BY_STATE = EDGES_FROM.flat().map((edge) => edge.index);

/**
 * A cell type's mixed-activation coefficients ([14, 7], rows in edge order), as each edge's [7]
 * (edges that run alone) and/or each state's [edges, 7] (edges that run grouped).
 */
class MixCoefficients {
  constructor(
    private readonly rows: tf.Tensor1D[] | null,
    private readonly byState: tf.Tensor2D[] | null,
  ) {}
  static of(
    matrix: tf.Tensor2D,
    forms: { rows: boolean; byState: boolean },
    edgesByState: () => tf.Tensor1D,
  ): MixCoefficients {
    const rows = forms.rows ? (tf.unstack(matrix) as tf.Tensor1D[]) : null;
    const byState = forms.byState
      ? (tf.split(
          tf.gather(matrix, edgesByState()),
          EDGES_FROM.map((edges) => edges.length).filter((n) => n > 0),
          0,
        ) as tf.Tensor2D[])
      : null;
    return new MixCoefficients(rows, byState);
  }
  row(edgeIndex: number): tf.Tensor1D {
    if (!this.rows) throw new Error('MixCoefficients: rows were not made (the edges run grouped)');
    return this.rows[edgeIndex]!;
  }
  ofState(from: number): tf.Tensor2D {
    if (!this.byState) throw new Error("MixCoefficients: states' rows were not made (the edges run alone)");
    return this.byState[from]!;
  }
  /** Every tensor, in the order `with` takes them. */
  get tensors(): tf.Tensor[] {
    return [...(this.rows ?? []), ...(this.byState ?? [])];
  }
  /** The same forms over other tensors (a checkpoint's saved clones). */
  with(tensors: tf.Tensor[]): MixCoefficients {
    const rows = this.rows ? (tensors.slice(0, this.rows.length) as tf.Tensor1D[]) : null;
    const byState = this.byState ? (tensors.slice(rows?.length ?? 0) as tf.Tensor2D[]) : null;
    return new MixCoefficients(rows, byState);
  }
}

/**
 * The architecture tensors a cell reads that may be differentiated, in a fixed order (fixed β's
 * rows are constants and are left out).
 */
function archTensors(arch: CellArch): tf.Tensor[] {
  return [
    ...(arch.alphaFlat ? [arch.alphaFlat] : []),
    ...(arch.alpha ?? []).flat(),
    ...(arch.activationMix?.tensors ?? []),
    ...(arch.edgeWeights ?? []),
  ];
}

/** `arch` with archTensors(arch) replaced by `tensors`. */
function withArchTensors(arch: CellArch, tensors: tf.Tensor[]): CellArch {
  let at = 0;
  const take = (n: number) => tensors.slice(at, (at += n));
  const alphaFlat = arch.alphaFlat ? (take(1)[0] as tf.Tensor1D) : null;
  const alpha = arch.alpha ? arch.alpha.map((row) => take(row.length)) : null;
  const activationMix = arch.activationMix ? arch.activationMix.with(take(arch.activationMix.tensors.length)) : null;
  const edgeWeights = arch.edgeWeights ? take(arch.edgeWeights.length) : null;
  if (at !== tensors.length) throw new Error(`withArchTensors: ${tensors.length} tensors for ${at}`);
  return { ...arch, alphaFlat, alpha, activationMix, edgeWeights };
}

export function isReductionLayer(i: number, layers: number): boolean {
  return i === Math.floor(layers / 3) || i === Math.floor((2 * layers) / 3);
}

function softmaxRow(row: number[]): number[] {
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function fixedMixFromConfig(config: SearchConfig): { normal: FixedActivationMix; reduce: FixedActivationMix } {
  const uniform = Array.from({ length: EDGES }, () => ACTIVATIONS.map(() => 0));
  const fb = config.fixedBeta;
  // Tiny weights (below 1e-6) are dropped, so a one-hot β from a genotype costs one activation.
  const clean = (rows: number[][]) =>
    rows.map((row) => {
      const w = softmaxRow(row).map((v) => (v < 1e-6 ? 0 : v));
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((v) => v / s);
    });
  return {
    normal: { weights: clean(fb ? fb.betaNormal : uniform) },
    reduce: { weights: clean(fb ? fb.betaReduce : uniform) },
  };
}

let suffixCounter = 0;
function uniqueSuffix(): string {
  return String(++suffixCounter);
}
