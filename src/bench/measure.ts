// One bench row: search steps of one size and mode on whatever tfjs backend is active (Node or
// browser). ms per step is the median of the timed steps after a warm-up; images/s, achieved
// GFLOP/s from counted multiply-adds, tensors and bytes held; optionally how a step splits
// (forward, backward, optimiser updates). A time budget cuts a hopeless row short.
import * as tf from '@tensorflow/tfjs';
import { SearchEngine, type BatchSource, type EngineOptions } from '../search/engine';
import { makeConfig, type SearchConfig, type SearchMode } from '../search/space';
import { Random } from '../util/random';
import type { Batch } from '../data/types';
import { forwardMacs, searchStepFlops } from './macs';
import { BENCH_SIZES, median, type BenchRow, type BenchSize } from './report';
import { countKernels } from './kernels';

/** Random batches of the right shape: timing does not depend on the pixels. */
function randomSource(size: (typeof BENCH_SIZES)[BenchSize], seed: number): BatchSource {
  const rng = new Random(seed);
  const n = size.batchSize * size.height * size.width * size.inChannels;
  const x = Float32Array.from({ length: n }, () => rng.normal());
  const y = Int32Array.from({ length: size.batchSize }, () => rng.int(size.classes));
  const batch: Batch = { x, y, shape: [size.batchSize, size.height, size.width, size.inChannels] };
  return { batchesPerEpoch: 1000, next: () => batch, getState: () => null, setState: () => undefined };
}

/** A row that ran past its time budget. */
export class BudgetExceeded extends Error {}

export interface BenchOptions {
  /** Timed steps. */
  steps: number;
  /** Untimed steps first (shader compilation, memory pools). */
  warmup?: number;
  /** Also time a forward pass and a forward/backward pass (up to 5 of each). */
  split?: boolean;
  /** Seconds the row may take in all (engine, warm-up, steps); 0 or absent: no limit. */
  budgetSeconds?: number;
  /** What the row is doing now ("step 2/12 running", "step 2/12: 4.1 s"): the browser page shows it. */
  onProgress?: (message: string) => void;
  /** How the engine computes (e.g. without the fused kernels). */
  engine?: Partial<EngineOptions>;
}

export async function benchOne(
  backend: string,
  sizeName: BenchSize,
  mode: SearchMode,
  archUpdate: SearchConfig['archUpdate'],
  options: BenchOptions,
): Promise<BenchRow> {
  const { steps, warmup = 2, split = false, budgetSeconds = 0, onProgress } = options;
  const started = performance.now();
  const size = BENCH_SIZES[sizeName];
  const config = makeConfig({
    mode,
    channels: size.channels,
    layers: size.layers,
    batchSize: size.batchSize,
    maxSteps: steps + warmup + 1,
    archUpdate,
  });
  const input = { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes };
  const time = async (f: () => Promise<void>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const overBudget = () => budgetSeconds > 0 && (performance.now() - started) / 1000 > budgetSeconds;
  onProgress?.('building the supernet');
  const engine = new SearchEngine(
    config,
    input,
    { train: randomSource(size, 1), val: randomSource(size, 2) },
    options.engine,
  );
  try {
    const stepTimes: number[] = [];
    const recordTimes: number[] = [];
    let cut: string | undefined;
    let kernelsPerStep: number | undefined;
    for (let i = 0; i < warmup + steps; i++) {
      const label = `step ${i + 1}/${warmup + steps}${i < warmup ? ' (warm-up)' : ''}`;
      onProgress?.(`${label} running`);
      // The last warm-up step (untimed) counts the kernels a step launches.
      const counted = i === warmup - 1 && i > 0;
      let recordMs = NaN;
      const ms = await time(async () => {
        if (counted) kernelsPerStep = (await countKernels(() => engine.runStep())).launched;
        else recordMs = (await engine.runStep()).recordMilliseconds;
      });
      if (i >= warmup) {
        stepTimes.push(ms);
        recordTimes.push(recordMs);
      }
      onProgress?.(`${label}: ${(ms / 1000).toFixed(2)} s`);
      if (i + 1 < warmup + steps && overBudget()) {
        const elapsed = ((performance.now() - started) / 1000).toFixed(0);
        // With a timed step done the row still says something: report it, marked as cut.
        if (stepTimes.length) {
          cut = `${stepTimes.length} of ${steps} timed steps in the ${budgetSeconds} s budget`;
          break;
        }
        throw new BudgetExceeded(
          `cut by the ${budgetSeconds} s budget after ${i + 1} warm-up step${i ? 's' : ''} (${(ms / 1000).toFixed(1)} s the last one, ${elapsed} s in all)`,
        );
      }
    }
    const forwardTimes: number[] = [];
    const backwardTimes: number[] = [];
    const optimizerTimes: number[] = [];
    if (split && !cut) {
      onProgress?.('timing forward and forward/backward passes, and the optimiser updates');
      const x = tf.randomNormal([size.batchSize, size.height, size.width, size.inChannels]) as tf.Tensor4D;
      const y = tf.zeros([size.batchSize], 'int32') as tf.Tensor1D;
      const ctx = { training: true, rng: new Random(0) };
      const weights = engine.net.variables('weights');
      try {
        for (let i = 0; i < Math.min(steps, 5); i++) {
          // Within the row's budget too, after one sample of each.
          if (i > 0 && overBudget()) break;
          forwardTimes.push(
            await time(async () => {
              const loss = engine.compute(() => tf.tidy(() => engine.net.loss(x, y, ctx)));
              await loss.data();
              loss.dispose();
            }),
          );
          const { value, grads } = engine.compute(() => tf.variableGrads(() => engine.net.loss(x, y, ctx), weights));
          backwardTimes.push(
            await time(async () => {
              const again = engine.compute(() => tf.variableGrads(() => engine.net.loss(x, y, ctx), weights));
              await again.value.data();
              tf.dispose([again.value, ...Object.values(again.grads)]);
            }),
          );
          // The updates of a step, timed directly: ω's SGD with its gradient clipping, and α's
          // and β's Adam (their gradients stand in as zeros: the cost does not depend on them).
          optimizerTimes.push(
            await time(async () => {
              engine.compute(() =>
                engine.optimizer.applyUpdates(new Map(weights.map((v) => [v, grads[v.name]])), config.learningRate),
              );
              await weights[weights.length - 1].data();
            }),
          );
          tf.dispose([value, ...Object.values(grads)]);
        }
      } finally {
        tf.dispose([x, y]);
      }
    }
    const msPerStep = median(stepTimes);
    // A first-order step is one ω forward/backward plus one (joint) or two (sequential, factorized)
    // architecture forward/backward passes, and the optimisers' updates.
    const archPasses = mode === 'factorized' && archUpdate === 'sequential' ? 2 : 1;
    const forwardMs = forwardTimes.length ? median(forwardTimes) : null;
    const forwardBackwardMs = backwardTimes.length ? median(backwardTimes) : null;
    const optimizerMs = optimizerTimes.length ? median(optimizerTimes) : null;
    const macsPerImage = forwardMacs(config, input);
    const flopsPerStep = searchStepFlops(macsPerImage, size.batchSize, archPasses);
    const memory = tf.memory();
    return {
      backend,
      size: sizeName,
      mode,
      archUpdate,
      steps: stepTimes.length,
      ...(cut ? { cut } : {}),
      msPerStep,
      cpuSideMs: median(recordTimes),
      ...(kernelsPerStep !== undefined ? { kernelsPerStep } : {}),
      imagesPerSecond: ((2 * size.batchSize) / msPerStep) * 1000,
      forwardMs,
      forwardBackwardMs,
      optimizerMs,
      macsPerImage,
      gflopsPerSecond: flopsPerStep / (msPerStep / 1000) / 1e9,
      tensors: memory.numTensors,
      // tfjs counts each tensor's own bytes; webgpu's packed SGD buffers also hold the momentum
      // (packed-sgd.ts), outside that count: half of their bytes is not counted elsewhere.
      megabytes: (memory.numBytes + engine.optimizer.weightOptimizer.packedBytes / 2) / 2 ** 20,
    };
  } finally {
    engine.dispose();
  }
}
