// Step timings of the search on one backend: ms per step (median after warm-up), images/s, how
// a step splits (forward, backward, optimiser updates), achieved GFLOP/s from counted
// multiply-adds, tensors and bytes held, and the cost ratios the paper reports.
import * as tf from '@tensorflow/tfjs';
import { NODE_BACKENDS, useBackend, type NodeBackend } from './backend';
import type { Flags } from './flags';
import { SearchEngine, type BatchSource } from '../search/engine';
import { QUICK_CONFIG, makeConfig, type SearchConfig, type SearchMode } from '../search/space';
import { Random } from '../search/random';
import type { Batch } from '../data/types';

/** Bench sizes: the paper's CIFAR-10 supernet and the lab's quick preset on Fashion-MNIST. */
export const BENCH_SIZES = {
  paper: { channels: 16, layers: 8, batchSize: 64, height: 32, width: 32, inChannels: 3, classes: 10 },
  quick: { channels: QUICK_CONFIG.channels, layers: QUICK_CONFIG.layers, batchSize: QUICK_CONFIG.batchSize, height: 28, width: 28, inChannels: 1, classes: 10 },
} as const;
export type BenchSize = keyof typeof BENCH_SIZES;

/**
 * Forward multiply-adds per 32x32x3 image of the C=16, L=8 supernet, counted on the DARTS
 * reference code (every op of every edge): plain/factorized 300.3 M (the mixed activation adds
 * no MACs), non-factorized 2,505 M.
 */
export const PAPER_FORWARD_MACS: Record<string, number> = { darts: 300.3e6, factorized: 300.3e6, nonfactorized: 2505e6 };

/** Random batches of the right shape: timing does not depend on the pixels. */
function randomSource(size: (typeof BENCH_SIZES)[BenchSize], seed: number): BatchSource {
  const rng = new Random(seed);
  const n = size.batchSize * size.height * size.width * size.inChannels;
  const x = Float32Array.from({ length: n }, () => rng.normal());
  const y = Int32Array.from({ length: size.batchSize }, () => rng.int(size.classes));
  const batch: Batch = { x, y, shape: [size.batchSize, size.height, size.width, size.inChannels] };
  return { batchesPerEpoch: 1000, next: () => batch, getState: () => null, setState: () => undefined };
}

export interface BenchRow {
  backend: string;
  size: BenchSize;
  mode: SearchMode;
  archUpdate: SearchConfig['archUpdate'];
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  forwardMs: number;
  forwardBackwardMs: number;
  optimizerMs: number;
  gflopsPerSecond: number | null;
  tensors: number;
  megabytes: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function benchOne(backend: string, sizeName: BenchSize, mode: SearchMode, steps: number, archUpdate: SearchConfig['archUpdate']): Promise<BenchRow> {
  const size = BENCH_SIZES[sizeName];
  const config = makeConfig({ mode, channels: size.channels, layers: size.layers, batchSize: size.batchSize, maxSteps: steps + 2, archUpdate });
  const input = { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes };
  const engine = new SearchEngine(config, input, { train: randomSource(size, 1), val: randomSource(size, 2) });
  try {
    const x = tf.randomNormal([size.batchSize, size.height, size.width, size.inChannels]) as tf.Tensor4D;
    const y = tf.zeros([size.batchSize], 'int32') as tf.Tensor1D;
    const ctx = { training: true, rng: new Random(0) };
    const time = async (f: () => Promise<void>) => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    // Warm-up: shader compilation, memory pools.
    for (let i = 0; i < 2; i++) await engine.runStep();
    const stepTimes: number[] = [];
    for (let i = 0; i < steps; i++) stepTimes.push(await time(async () => void (await engine.runStep())));
    const forwardTimes: number[] = [];
    const backwardTimes: number[] = [];
    const weights = engine.net.variables('weights');
    for (let i = 0; i < Math.min(steps, 5); i++) {
      forwardTimes.push(
        await time(async () => {
          const loss = tf.tidy(() => engine.net.loss(x, y, ctx));
          await loss.data();
          loss.dispose();
        }),
      );
      backwardTimes.push(
        await time(async () => {
          const { value, grads } = tf.variableGrads(() => engine.net.loss(x, y, ctx), weights);
          await value.data();
          tf.dispose([value, ...Object.values(grads)]);
        }),
      );
    }
    tf.dispose([x, y]);
    const msPerStep = median(stepTimes);
    const forwardMs = median(forwardTimes);
    const forwardBackwardMs = median(backwardTimes);
    // A first-order step is one ω forward/backward plus one (joint) or two (sequential, factorized)
    // architecture forward/backward passes; the rest is the optimisers' updates.
    const archPasses = mode === 'factorized' && archUpdate === 'sequential' ? 2 : 1;
    const optimizerMs = Math.max(0, msPerStep - (1 + archPasses) * forwardBackwardMs);
    const imagesPerStep = 2 * size.batchSize;
    const macs = sizeName === 'paper' ? PAPER_FORWARD_MACS[mode] : null;
    // Backward ≈ 2× forward in multiply-adds; 2 FLOPs per multiply-add.
    const flopsPerStep = macs === null ? null : 2 * macs * 3 * (1 + archPasses) * size.batchSize;
    const memory = tf.memory();
    return {
      backend,
      size: sizeName,
      mode,
      archUpdate,
      steps,
      msPerStep,
      imagesPerSecond: (imagesPerStep / msPerStep) * 1000,
      forwardMs,
      forwardBackwardMs,
      optimizerMs,
      gflopsPerSecond: flopsPerStep === null ? null : flopsPerStep / (msPerStep / 1000) / 1e9,
      tensors: memory.numTensors,
      megabytes: memory.numBytes / 2 ** 20,
    };
  } finally {
    engine.dispose();
  }
}

export function ratios(rows: BenchRow[]) {
  const out: Record<string, number> = {};
  for (const size of Object.keys(BENCH_SIZES)) {
    const get = (mode: string, archUpdate?: string) =>
      rows.find((r) => r.size === size && r.mode === mode && (!archUpdate || r.archUpdate === archUpdate))?.msPerStep;
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

export async function runBench(flags: Flags) {
  const backendName = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
  const sizes = flags.list('sizes', ['quick', 'paper']) as BenchSize[];
  const modes = flags.list('modes', ['darts', 'factorized', 'nonfactorized']) as SearchMode[];
  const steps = flags.int('steps', 10);
  const paperSteps = flags.int('paper-steps', 3);
  const skipNonfactorizedPaper = !flags.bool('full');
  flags.assertAllUsed();
  for (const s of sizes) if (!(s in BENCH_SIZES)) throw new Error(`--sizes: unknown size "${s}" (quick, paper)`);
  const info = await useBackend(backendName);
  const rows: BenchRow[] = [];
  const failures: { size: string; mode: string; archUpdate: string; reason: string }[] = [];
  for (const size of sizes) {
    for (const mode of modes) {
      // Non-factorized at paper size is ~14x a factorized step: only with --full on a CPU.
      if (size === 'paper' && mode === 'nonfactorized' && skipNonfactorizedPaper && backendName !== 'webgpu') continue;
      const archUpdates: SearchConfig['archUpdate'][] = mode === 'factorized' ? ['joint', 'sequential'] : ['joint'];
      for (const archUpdate of archUpdates) {
        try {
          const row = await benchOne(backendName, size, mode, size === 'paper' ? paperSteps : steps, archUpdate);
          process.stderr.write(`${row.backend} ${row.size} ${row.mode}${mode === 'factorized' ? ` (${archUpdate})` : ''}: ${row.msPerStep.toFixed(0)} ms/step, ${row.imagesPerSecond.toFixed(1)} img/s\n`);
          rows.push(row);
        } catch (e) {
          // wasm's heap (2 GB usable) cannot hold every configuration: say so and go on.
          const reason = (e as Error).message || String(e);
          process.stderr.write(`${backendName} ${size} ${mode}: failed (${reason.slice(0, 120)})\n`);
          failures.push({ size, mode, archUpdate, reason: reason.slice(0, 300) });
        }
      }
    }
  }
  return { backend: backendName, adapterInfo: info.adapterInfo, date: new Date().toISOString(), rows, failures, ratios: ratios(rows) };
}
