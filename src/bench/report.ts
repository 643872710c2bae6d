// What both benches (Node: bench/engine.ts, browser: bench/browser.mjs + bench.html) report:
// the sizes they run, the row and failure shapes of their JSON, the cost ratios, and the one
// markdown table they print. No tfjs here, so the formatting is testable on its own.
import { QUICK_CONFIG, type SearchConfig, type SearchMode } from '../search/space';

/** Bench sizes: the paper's CIFAR-10 supernet and the lab's quick preset on Fashion-MNIST. */
export const BENCH_SIZES = {
  // The unit tests' supernet: a step is almost all per-kernel overhead, so on a software GPU
  // (SwiftShader) it measures dispatch cost, and it finishes there.
  tiny: { channels: 4, layers: 3, batchSize: 2, height: 8, width: 8, inChannels: 3, classes: 4 },
  paper: { channels: 16, layers: 8, batchSize: 64, height: 32, width: 32, inChannels: 3, classes: 10 },
  quick: {
    channels: QUICK_CONFIG.channels,
    layers: QUICK_CONFIG.layers,
    batchSize: QUICK_CONFIG.batchSize,
    height: 28,
    width: 28,
    inChannels: 1,
    classes: 10,
  },
} as const;
export type BenchSize = keyof typeof BENCH_SIZES;

export function isBenchSize(s: string): s is BenchSize {
  return Object.prototype.hasOwnProperty.call(BENCH_SIZES, s);
}

export interface BenchRow {
  backend: string;
  size: BenchSize;
  mode: SearchMode;
  archUpdate: SearchConfig['archUpdate'];
  /** Timed steps (after the warm-up ones). */
  steps: number;
  /** Set when the time budget ended the row before all its timed steps: how many ran. */
  cut?: string;
  /** Median of the timed steps. */
  msPerStep: number;
  /**
   * Median of the timed steps' synchronous part (SearchProgress.recordMilliseconds). On webgpu
   * and webgl, the CPU side of a step: building its batches, then tfjs recording and submitting
   * its kernels, while the GPU may still be running them. On cpu and wasm it is the step itself,
   * so the table leaves it out.
   */
  cpuSideMs?: number;
  /** Kernels one step launches, no-ops left out (src/bench/kernels.ts): a GPU step's dispatch count. */
  kernelsPerStep?: number;
  imagesPerSecond: number;
  /** The split of a step (Node bench; the browser bench measures it only with --split). */
  forwardMs: number | null;
  forwardBackwardMs: number | null;
  optimizerMs: number | null;
  /** Counted forward multiply-adds per image (src/bench/macs.ts). */
  macsPerImage?: number;
  gflopsPerSecond: number | null;
  tensors: number;
  /** MB held: tf.memory()'s tensors, plus the momentum half of webgpu's packed SGD buffers. */
  megabytes: number;
}

export interface BenchFailure {
  backend?: string;
  size: string;
  mode: string;
  archUpdate: string;
  /** error: thrown (out of memory, ...); budget: cut by the per-row time budget; unavailable: no such backend here. */
  kind?: 'error' | 'budget' | 'unavailable';
  reason: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const find = (rows: BenchRow[], size: string, mode: string, archUpdate?: string) =>
  rows.find((r) => r.size === size && r.mode === mode && (!archUpdate || r.archUpdate === archUpdate));

/** Cost ratios (ms per step) of one backend's rows, keyed "size: factorized/darts" and so on. */
export function ratios(rows: BenchRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const size of Object.keys(BENCH_SIZES)) {
    const get = (mode: string, archUpdate?: string) => find(rows, size, mode, archUpdate)?.msPerStep;
    const darts = get('darts');
    const factorized = get('factorized', 'joint') ?? get('factorized');
    const factorizedSequential = get('factorized', 'sequential');
    const nonfactorized = get('nonfactorized');
    if (darts && factorized) out[`${size}: factorized/darts`] = factorized / darts;
    if (darts && factorizedSequential) out[`${size}: factorized(sequential)/darts`] = factorizedSequential / darts;
    if (nonfactorized && factorized) out[`${size}: nonfactorized/factorized`] = nonfactorized / factorized;
  }
  return out;
}

/** ratios() per backend, for a bench that ran several. */
export function ratiosByBackend(rows: BenchRow[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const backend of new Set(rows.map((r) => r.backend)))
    out[backend] = ratios(rows.filter((r) => r.backend === backend));
  return out;
}

/** What a row costs against its reference: factorized against darts, nonfactorized against factorized. */
function ratioCell(row: BenchRow, rows: BenchRow[]): string {
  const same = rows.filter((r) => r.backend === row.backend);
  const ref =
    row.mode === 'factorized'
      ? find(same, row.size, 'darts')
      : row.mode === 'nonfactorized'
        ? (find(same, row.size, 'factorized', 'joint') ?? find(same, row.size, 'factorized'))
        : undefined;
  if (!ref) return '';
  return `${(row.msPerStep / ref.msPerStep).toFixed(2)}x ${ref.mode}`;
}

/** WebGPU adapter (or WebGL renderer) as the browser reports it. */
export interface AdapterLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

const SOFTWARE_RENDERERS: [RegExp, string][] = [
  [/swiftshader/i, 'SwiftShader'],
  [/llvmpipe/i, 'llvmpipe'],
  [/microsoft basic render/i, 'Microsoft Basic Render'],
];

/**
 * The adapter in a few words for the table: a software one by name and "fallback adapter" (what
 * WebGPU calls a software adapter) or "software"; a GPU by vendor, architecture, description.
 */
export function adapterLabel(info: AdapterLike | null | undefined): string {
  if (!info) return '';
  const words: string[] = [];
  for (const part of [info.vendor, info.architecture, info.description, info.device]) {
    const t = (part ?? '').trim();
    if (t && !words.some((w) => w.toLowerCase().includes(t.toLowerCase()))) words.push(t);
  }
  const text = words.join(' ');
  const software = SOFTWARE_RENDERERS.find(([re]) => re.test(text));
  if (software || info.isFallbackAdapter)
    return `${software ? software[1] : text || 'unknown'}, ${info.isFallbackAdapter ? 'fallback adapter' : 'software'}`;
  return text.length > 60 ? text.slice(0, 59) + '…' : text;
}

/** Backends whose step returns before its kernels ran: their rows show the CPU side. */
const GPU_BACKENDS = ['webgpu', 'webgl'];

const MODE_ORDER = ['darts', 'factorized', 'fixed-beta', 'nonfactorized'];

const number = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/**
 * One markdown table of rows and failures, grouped by backend (in the order of `labels`, then as
 * first seen), then size, then mode. `labels` names a backend in the table (e.g. with its WebGPU
 * adapter). The forward/backward split columns appear only when some row measured them.
 */
export function formatTable(rows: BenchRow[], failures: BenchFailure[], labels: Record<string, string> = {}): string {
  const split = rows.some((r) => r.forwardMs !== null || r.forwardBackwardMs !== null);
  const header = ['backend', 'size', 'mode', 'ms/step (median)', 'images/s'];
  if (split) header.push('forward ms', 'fwd+bwd ms', 'optimisers ms');
  const cpuSide = (r: BenchRow) => (GPU_BACKENDS.includes(r.backend) ? r.cpuSideMs : undefined);
  const recorded = rows.some((r) => cpuSide(r) !== undefined);
  if (recorded) header.push('CPU side ms');
  const counted = rows.some((r) => r.kernelsPerStep !== undefined);
  if (counted) header.push('kernels/step');
  header.push('GFLOP/s', 'tensors', 'MB held', 'ratio');
  const backends: string[] = Object.keys(labels);
  const sizes: string[] = [];
  const entries: { backend: string; size: string; mode: string; archUpdate: string; cells: string[] }[] = [];
  const modeLabel = (mode: string, archUpdate: string) => (archUpdate === 'sequential' ? `${mode} (sequential)` : mode);
  const backendCell = (b: string) => (labels[b] ? `${b} (${labels[b]})` : b);
  for (const r of rows) {
    const ms = number(r.msPerStep, 0) + (r.cut ? ` (cut: ${r.cut})` : '');
    const cells = [backendCell(r.backend), r.size, modeLabel(r.mode, r.archUpdate), ms, number(r.imagesPerSecond, 1)];
    if (split) cells.push(number(r.forwardMs, 0), number(r.forwardBackwardMs, 0), number(r.optimizerMs, 0));
    const side = cpuSide(r);
    if (recorded) cells.push(side === undefined ? '' : number(side, 0));
    if (counted) cells.push(r.kernelsPerStep === undefined ? '' : number(r.kernelsPerStep, 0));
    cells.push(number(r.gflopsPerSecond, 2), String(r.tensors), number(r.megabytes, 1), ratioCell(r, rows));
    entries.push({ backend: r.backend, size: r.size, mode: r.mode, archUpdate: r.archUpdate, cells });
  }
  for (const f of failures) {
    const backend = f.backend ?? '';
    const cells = [
      backendCell(backend),
      f.size,
      modeLabel(f.mode, f.archUpdate),
      `failed: ${firstLine(f.reason, 120)}`,
    ];
    while (cells.length < header.length) cells.push('');
    entries.push({ backend, size: f.size, mode: f.mode, archUpdate: f.archUpdate, cells });
  }
  for (const e of entries) {
    if (!backends.includes(e.backend)) backends.push(e.backend);
    if (!sizes.includes(e.size)) sizes.push(e.size);
  }
  const modeIndex = (m: string) => (MODE_ORDER.includes(m) ? MODE_ORDER.indexOf(m) : MODE_ORDER.length);
  entries.sort(
    (a, b) =>
      backends.indexOf(a.backend) - backends.indexOf(b.backend) ||
      sizes.indexOf(a.size) - sizes.indexOf(b.size) ||
      modeIndex(a.mode) - modeIndex(b.mode) ||
      Number(a.archUpdate === 'sequential') - Number(b.archUpdate === 'sequential'),
  );
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...entries.map((e) => line(e.cells))].join('\n');
}

function firstLine(text: string, max: number): string {
  const first = text.split('\n')[0];
  return first.length > max ? first.slice(0, max - 1) + '…' : first;
}

/** "size: factorized/darts = 1.35x" lines, one per ratio (per backend when several ran). */
export function formatRatios(rows: BenchRow[]): string[] {
  const byBackend = ratiosByBackend(rows);
  const several = Object.keys(byBackend).length > 1;
  const out: string[] = [];
  for (const [backend, r] of Object.entries(byBackend))
    for (const [k, v] of Object.entries(r)) out.push(`${several ? `${backend} ` : ''}${k} = ${v.toFixed(2)}x`);
  return out;
}
