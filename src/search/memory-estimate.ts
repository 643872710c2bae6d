// How much memory a search step needs, from its config alone (no tfjs: the setup page asks
// before anything runs), whether that fits the backend, and what to lower when it does not.
//
// A step's peak is what the search holds between steps (weights, SGD's momentum, Adam's moments,
// RReLU's pools of noise) plus what one step makes, which grows linearly with the batch: measured
// 2 to 64 images, it stays within 2% of linear. Per image it is the intermediates a cell's
// forward pass keeps for its backward pass, in units u = H·W·C of the cell's output (C the cell's
// channel count, C_c, not the 4·C_c it outputs):
// - without recomputation, every cell's at once: Σ_c k_c·u_c;
// - with recomputation (checkpoint.ts), one cell's at a time: max_c k_c·u_c, plus what every
//   cell keeps for its recomputation (its inputs: about 4u each) and the backward pass's flowing
//   gradients.
// k depends on the mode (what a mixed edge computes), partial channels (1/K of the channels
// through the ops), the cell type, and the backend (its kernels keep different intermediates).
// The constants below were measured with src/bench/memory.ts (see docs/performance.md); the
// estimate's test keeps it within 25% of the measured peak.
import type { SearchConfig } from './space';
import { candidateOps, EDGE_LIST, NODES, ACTIVATIONS } from './space';
import type { InputShape } from './supernet';

/** The backends the estimate knows. */
export type MemoryBackend = 'wasm' | 'webgpu' | 'webgl' | 'cpu';

/** The tfjs backend name as a MemoryBackend (an unknown one is estimated as cpu). */
export function memoryBackendOf(name: string): MemoryBackend {
  return name === 'wasm' || name === 'webgpu' || name === 'webgl' ? name : 'cpu';
}

const GiB = 2 ** 30;

/** wasm32's largest heap (tfjs-backend-wasm 4.22 grows it up to 4 GiB − 64 KiB). */
export const WASM_HEAP_LIMIT = 4 * GiB - 64 * 1024;

/** What a step may use where the backend reports no limit (webgpu's adapter gives no memory size). */
export const DEFAULT_MEMORY_BUDGET = 4 * GiB;

/**
 * wasm's heap over the peak of live buffers: the heap holds the buffers plus what its allocator
 * could not reuse (measured ×1.11–1.25 from batch 64 down to 8, more at tiny sizes).
 */
const WASM_HEAP_OVERHEAD = 1.2;
const WEBGPU_POOL_OVERHEAD = 1.1;

/** The number of ω weights (everything the SGD updates), as Supernet.countWeights counts them. */
export function countWeights(config: SearchConfig, input: InputShape): number {
  const C = config.channels;
  const K = config.partialChannels;
  const candidates = candidateOps(config.mode);
  const activations = config.mode === 'darts' ? [config.activation] : ACTIVATIONS;
  const stem = config.stemMultiplier * C;
  let n = 9 * input.channels * stem + 2 * stem;
  let cPrevPrev = stem;
  let cPrev = stem;
  for (const cell of cellGeometry(config, input)) {
    const c = cell.channels;
    // pre0 and pre1: 1×1 convs (after a reduction pre0 is a FactorizedReduce: two halves of c/2).
    n += cPrevPrev * c + cPrev * c;
    const cOp = c / K;
    for (const edge of EDGE_LIST) {
      if (cell.reduction && edge.from < 2) n += cOp * cOp; // the stride-2 skip: a FactorizedReduce
      for (const cand of candidates) {
        const k = cand.op.endsWith('5x5') ? 5 : 3;
        if (cand.op.startsWith('sep_conv')) n += 2 * (k * k * cOp + cOp * cOp);
        else if (cand.op.startsWith('dil_conv')) n += k * k * cOp + cOp * cOp;
      }
      if (activations.includes('prelu')) n += cOp;
      if (activations.includes('swish')) n += 1;
    }
    cPrevPrev = cPrev;
    cPrev = NODES * c;
  }
  return n + cPrev * input.classes + input.classes;
}

/** The architecture weights: α, β (factorized) and PC-DARTS's edge weights, each for both cell types. */
export function countArchWeights(config: SearchConfig): number {
  const edges = EDGE_LIST.length;
  let n = 2 * edges * candidateOps(config.mode).length;
  if (config.mode === 'factorized') n += 2 * edges * ACTIVATIONS.length;
  if (config.partialChannels > 1) n += 2 * edges;
  return n;
}

interface CellGeometry {
  reduction: boolean;
  /** The cell's C (its output has 4·C channels). */
  channels: number;
  /** Its output's height and width. */
  height: number;
  width: number;
  /** Its inputs' height and width (twice the output's in a reduction cell). */
  inHeight: number;
  inWidth: number;
}

/** Each cell's channels and spatial sizes (reductions at L/3 and 2L/3 halve the size, double C). */
export function cellGeometry(config: SearchConfig, input: InputShape): CellGeometry[] {
  const cells: CellGeometry[] = [];
  let c = config.channels;
  let h = input.height;
  let w = input.width;
  for (let i = 0; i < config.layers; i++) {
    const reduction = i === Math.floor(config.layers / 3) || i === Math.floor((2 * config.layers) / 3);
    const inHeight = h;
    const inWidth = w;
    if (reduction) {
      c *= 2;
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
    cells.push({ reduction, channels: c, height: h, width: w, inHeight, inWidth });
  }
  return cells;
}

/** A mode's k (floats per unit u kept by a cell for its backward pass), per backend and cell type. */
interface CellCost {
  normal: number;
  reduction: number;
}

/** What a step needs, in bytes. */
export interface StepMemoryEstimate {
  /** The peak of live buffers during a step, heldBytes included. */
  peakBytes: number;
  /** What the search holds between steps: weights, optimiser state, RReLU's pools. */
  heldBytes: number;
  /** The part that grows with the batch, per image. */
  perImageBytes: number;
  /** What the backend must hold: wasm's heap (peakBytes and its allocator's overhead), else peakBytes. */
  deviceBytes: number;
}

export interface EstimateOptions {
  /** Cells recomputed in the backward pass (SupernetOptions.recompute). */
  recompute: boolean;
}

/**
 * The memory of one search step of `config` on `backend`. `estimateStepBytes` is its peak.
 */
export function estimateStepMemory(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  { recompute }: EstimateOptions,
): StepMemoryEstimate {
  const cells = cellGeometry(config, input);
  const weights = countWeights(config, input);
  const arch = countArchWeights(config);
  const B = config.batchSize;
  const cost = cellCost(config, backend, recompute);
  const unit = (c: CellGeometry) => c.height * c.width * c.channels;
  const perCell = cells.map((c) => (c.reduction ? cost.reduction : cost.normal) * unit(c));
  // What each cell's recomputation keeps (its inputs and output, 4·C channels) and the backward
  // pass's flowing gradients: about 5u a cell.
  const kept = cells.reduce((n, c) => n + KEPT_PER_CELL * unit(c), 0);
  const stem = config.stemMultiplier * config.channels * input.height * input.width;
  const perImageFloats = recompute
    ? Math.max(...perCell) + kept + STEM_KEPT * stem
    : perCell.reduce((a, b) => a + b, 0) + STEM_KEPT * stem;
  // The two batches (train and validation) are part of the step too.
  const perImageBytes = 4 * (perImageFloats + 2 * input.height * input.width * input.channels);
  // ω and SGD's momentum, α, β (and edge weights) with Adam's two moments, RReLU's pools.
  const heldBytes = 4 * (2 * weights + 3 * arch) + rreluPoolBytes(config, input, backend);
  // During a step also ω's gradient.
  const peakBytes = heldBytes + 4 * weights + B * perImageBytes;
  // wasm's heap holds what its allocator could not reuse too; webgpu's pool keeps buffers by exact
  // size (measured ×1.06–1.13 of the live ones), and its packed SGD ω and its momentum once more,
  // in buffers tfjs does not count.
  const deviceBytes =
    backend === 'wasm'
      ? peakBytes * WASM_HEAP_OVERHEAD
      : backend === 'webgpu'
        ? peakBytes * WEBGPU_POOL_OVERHEAD + 8 * weights
        : peakBytes;
  return { peakBytes, heldBytes, perImageBytes, deviceBytes };
}

/** The peak of live buffers during one search step of `config` on `backend`, in bytes. */
export function estimateStepBytes(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  options: EstimateOptions,
): number {
  return estimateStepMemory(config, input, backend, options).peakBytes;
}

const KEPT_PER_CELL = 5;
const STEM_KEPT = 2;

/**
 * k per mode (measured on wasm at C=4–16, 3–8 cells, 8×8 to 32×32; see the file's head). A
 * darts activation with parameters or noise (PReLU, RReLU, Swish) runs per edge, the others
 * once per state; fixed β's 9-term activation is recomputed with its cell, so it costs little
 * more than factorized then, and over twice as much kept.
 */
function modeCost(config: SearchConfig, recompute: boolean): CellCost {
  switch (config.mode) {
    case 'factorized':
      return { normal: 336, reduction: 465 };
    case 'darts':
      return PER_EDGE_ACTIVATIONS.has(config.activation)
        ? { normal: 415, reduction: 700 }
        : { normal: 326, reduction: 438 };
    case 'fixed-beta':
      return recompute ? { normal: 366, reduction: 495 } : { normal: 834, reduction: 1876 };
    case 'nonfactorized':
      return { normal: 2500, reduction: 3400 };
  }
}
const PER_EDGE_ACTIVATIONS: ReadonlySet<string> = new Set(['prelu', 'rrelu', 'swish']);

/**
 * How a backend's kernels change k. cpu's native convs keep more than wasm's portable ones, per
 * conv op (measured +165u a cell at 4 conv ops an edge, C=4–8, every mode), and their recomputed
 * cell's backward pass holds ×1.27 more; webgl's composite ops are not measured: cpu's figures
 * stand in. webgpu: a recomputed cell's backward pass also holds the gradients of its grouped
 * convs' results, which are whole grouped tensors where an edge's slot would do (measured on
 * Dawn's null adapter at the paper's size: +82u a cell with factorized and darts, about nothing
 * at K=4).
 */
const NATIVE_CONVS_KEPT = 165;
const NATIVE_CONVS_RECOMPUTED = 1.27;
const GROUPED_GRADIENTS = 82;

/** k for this config: the mode's, with partial channels and the backend's share. */
function cellCost(config: SearchConfig, backend: MemoryBackend, recompute: boolean): CellCost {
  const full = modeCost(config, recompute);
  const K = config.partialChannels;
  // With partial channels the mixed ops' share shrinks by K; the bypass, concat, shuffle and
  // edge weights stay at full width (measured k ≈ 89 + 247/K for factorized normal cells).
  const fixed = { normal: 89, reduction: 120 };
  // Per 4 conv ops an edge, each at 1/K of the channels.
  const convs = candidateOps(config.mode).filter((c) => c.op.includes('conv')).length / 4 / K;
  const native = backend === 'cpu' || backend === 'webgl';
  const extra = recompute
    ? backend === 'webgpu'
      ? (GROUPED_GRADIENTS * convs) / K
      : 0
    : native
      ? NATIVE_CONVS_KEPT * convs
      : 0;
  const scale = recompute && native ? NATIVE_CONVS_RECOMPUTED : 1;
  const part = (type: keyof CellCost) =>
    scale * (K === 1 ? full[type] : fixed[type] + (full[type] - fixed[type]) / K) +
    extra * (type === 'normal' ? 1 : 1.4);
  return { normal: part('normal'), reduction: part('reduction') };
}

/**
 * RReLU's pools of noise (ops.rreluPool: 2·size floats for each distinct input size of an
 * activation) and, where the slopes are gathered (all but the fused mixed activation), each
 * size's window of indices.
 */
function rreluPoolBytes(config: SearchConfig, input: InputShape, backend: MemoryBackend): number {
  const activations = config.mode === 'darts' ? [config.activation] : ACTIVATIONS;
  if (!activations.includes('rrelu')) return 0;
  const fusedMix = config.mode === 'factorized' && backend !== 'webgl';
  const sizes = new Set<number>();
  for (const cell of cellGeometry(config, input))
    for (const from of [0, 1, 2]) {
      const atInput = cell.reduction && from < 2;
      const h = atInput ? cell.inHeight : cell.height;
      const w = atInput ? cell.inWidth : cell.width;
      sizes.add((config.batchSize * h * w * cell.channels) / config.partialChannels);
    }
  let floats = 0;
  for (const s of sizes) floats += 2 * s + (fusedMix ? 0 : s);
  return 4 * floats;
}

/** The most a step may hold on `backend`: wasm's heap, else the budget (a user's, or 4 GiB). */
export function memoryLimit(backend: MemoryBackend, budget: number | null = null): { bytes: number; what: string } {
  if (backend === 'wasm' && (budget === null || budget >= WASM_HEAP_LIMIT))
    return { bytes: WASM_HEAP_LIMIT, what: "wasm's heap can hold" };
  return { bytes: budget ?? DEFAULT_MEMORY_BUDGET, what: 'the memory budget' };
}

/**
 * Whether recompute 'auto' turns recomputation on: when the step would not fit without it, with a
 * margin for what the estimate cannot see (measured heaps ran up to ×1.38 of the live buffers at
 * tiny sizes).
 */
export function chooseRecompute(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  budget: number | null = null,
): boolean {
  const without = estimateStepMemory(config, input, backend, { recompute: false });
  return without.deviceBytes > AUTO_MARGIN * memoryLimit(backend, budget).bytes;
}
const AUTO_MARGIN = 0.8;

/** Whether a config's step fits its backend, and what the setup says about it. */
export interface FitCheck {
  fits: boolean;
  /** What the backend must hold for a step (wasm: its heap), in bytes. */
  bytes: number;
  /** The most it may hold, in bytes. */
  limit: number;
  /** Whether the estimate is with cells recomputed ('auto' resolved). */
  recompute: boolean;
  /** 'about 3.1 GB on wasm', and when it does not fit, what to lower. */
  message: string;
}

/**
 * Checks a config against its backend before Start. `recompute` 'auto' checks the fastest way
 * that fits (recomputation only when needed); `budget` is the user's (null: the backend's).
 */
export function checkFits(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  { recompute = 'auto', budget = null }: { recompute?: boolean | 'auto'; budget?: number | null } = {},
): FitCheck {
  const on = recompute === 'auto' ? chooseRecompute(config, input, backend, budget) : recompute;
  const bytes = estimateStepMemory(config, input, backend, { recompute: on }).deviceBytes;
  const limit = memoryLimit(backend, budget);
  const fits = bytes <= limit.bytes;
  const about = `about ${formatBytes(bytes)} on ${backend}${on ? ', cells recomputed' : ''}`;
  return {
    fits,
    bytes,
    limit: limit.bytes,
    recompute: on,
    message: fits
      ? about
      : `A step needs ${about}, more than ${limit.what} (${formatBytes(limit.bytes)}). ${whatToLower(config, input, backend, on, budget)}`,
  };
}

/**
 * What the user should change, named by the setup's fields, so that a step fits: the first of
 * turning recomputation on, the batch size, partial channels and the channels that fits.
 */
export function whatToLower(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  recompute: boolean,
  budget: number | null = null,
): string {
  const limit = memoryLimit(backend, budget).bytes;
  const fitsWith = (changed: Partial<SearchConfig>, on: boolean) =>
    estimateStepMemory({ ...config, ...changed }, input, backend, { recompute: on }).deviceBytes <= limit;
  const hints: string[] = [];
  if (!recompute && fitsWith({}, true))
    return 'Turn "Recompute cells" on (about a fifth slower a step), or lower the batch size.';
  let batch = config.batchSize;
  while (batch > 1 && !fitsWith({ batchSize: batch }, true)) batch = Math.floor(batch / 2);
  if (batch < config.batchSize && fitsWith({ batchSize: batch }, true))
    hints.push(`lower the batch size to ${batch} or less (now ${config.batchSize})`);
  const K = config.partialChannels;
  for (const k of [2, 4, 8])
    if (k > K && config.channels % k === 0 && fitsWith({ partialChannels: k }, true)) {
      hints.push(`use partial channels K=${k} (now ${K})`);
      break;
    }
  let c = config.channels;
  while (c > K && !fitsWith({ channels: c }, true)) c = Math.max(K, Math.floor(c / 2 / K) * K);
  if (c < config.channels && fitsWith({ channels: c }, true))
    hints.push(`lower the channels to ${c} (now ${config.channels})`);
  const change = recompute ? '' : 'turn "Recompute cells" on and ';
  if (hints.length === 0)
    return `Lower the batch size, the channels or the number of cells${backend === 'wasm' ? ', or use a GPU backend' : ''}.`;
  return `To fit, ${change}${hints.join(', or ')}.`;
}

/** The message of a search that ran out of memory: what happened, and what to lower. */
export function outOfMemoryMessage(
  config: SearchConfig,
  input: InputShape,
  backend: MemoryBackend,
  recompute: boolean,
  budget: number | null = null,
): string {
  const needs = estimateStepMemory(config, input, backend, { recompute }).deviceBytes;
  const limit = memoryLimit(backend, budget);
  const where = backend === 'wasm' ? "wasm's heap (at most 4 GiB)" : `the ${backend} device`;
  return `The search ran out of memory: a step needs about ${formatBytes(needs)} and ${where} could not hold it. ${whatToLower(config, input, backend, recompute, Math.min(limit.bytes, needs * 0.9))}`;
}

/** '3.1 GB' (decimal units, as the setup shows sizes). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}
