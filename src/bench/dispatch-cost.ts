// The CPU side of a search step on webgpu: tfjs's and Dawn's work to record, validate and submit
// each dispatch. At the lab's sizes this, not the GPU, sets a step's time on a real GPU (the H200
// ran 51,819 dispatches a step in 8.0 s). Dawn's null adapter (useNullWebGpu) runs no command, so
// the figure is measured on any machine, with no GPU or Vulkan driver. Values are meaningless, and
// batch 2 of 16×16 images keeps the buffers under the null adapter's 512 MB: the number of
// dispatches does not depend on batch or image size.
import * as tf from '@tensorflow/tfjs';
import { useNullWebGpu } from '../platform/node';
import type { Flags } from '../util/flags';
import { SearchEngine, type EngineOptions } from '../search/engine';
import { makeConfig, type SearchMode } from '../search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';
import { countKernels } from './kernels';
import { median } from './report';

/** Features a run can compare on and off (engine options): each step alternates between the two. */
export const DISPATCH_COST_TOGGLES: Record<string, (on: boolean) => Partial<EngineOptions>> = {
  'packed-sgd': (on) => ({ packedSgd: on }),
  fused: (on) => ({ fused: on }),
  grouped: (on) => ({ groupEdges: on ? 'auto' : false }),
};

export interface DispatchCostOptions {
  channels: number;
  layers: number;
  modes: SearchMode[];
  steps: number;
  /** A key of DISPATCH_COST_TOGGLES, or '' for none. */
  compare: string;
}

/** The options from command-line flags (bench/dispatch-cost.ts and `lab dispatch-cost`). */
export function dispatchCostOptions(flags: Flags): DispatchCostOptions {
  const options = {
    channels: flags.int('channels', 16),
    layers: flags.int('layers', 8),
    modes: flags.list('modes', ['darts', 'factorized']) as SearchMode[],
    steps: flags.int('steps', 8),
    compare: flags.string('compare', ''),
  };
  flags.assertAllUsed();
  return options;
}

export interface DispatchCostRow {
  mode: SearchMode;
  /** 'on' / 'off' with a comparison, else ''. */
  variant: string;
  msPerStep: number;
  dispatches: number;
  microsecondsPerDispatch: number;
}

export async function measureDispatchCost(
  options: DispatchCostOptions,
  log: (line: string) => void = () => {},
): Promise<{
  channels: number;
  layers: number;
  steps: number;
  compare: string;
  date: string;
  rows: DispatchCostRow[];
}> {
  const { channels, layers, modes, steps, compare } = options;
  const toggle = compare ? DISPATCH_COST_TOGGLES[compare] : undefined;
  if (compare && !toggle)
    throw new Error(
      `--compare: one of ${Object.keys(DISPATCH_COST_TOGGLES).join(', ')}, got ${JSON.stringify(compare)}`,
    );
  if (!(steps >= 1)) throw new Error(`--steps: at least 1, got ${steps}`);
  const variants: [string, boolean][] = toggle
    ? [
        ['on', true],
        ['off', false],
      ]
    : [['', true]];
  const info = await useNullWebGpu();
  tf.env().set('PROD', true);
  const shape = { height: 16, width: 16, channels: 3, classes: 10 };
  const dataset = makeSyntheticDataset({ seed: 1, ...shape, trainCount: 64, testCount: 8 });
  const rows: DispatchCostRow[] = [];
  for (const mode of modes) {
    const config = makeConfig({ mode, channels, layers, batchSize: 2, maxSteps: 4 * steps + 8 });
    const engine = new SearchEngine(config, shape, makeSearchStreams(dataset, { batchSize: 2, seed: 1 }));
    try {
      const dispatches: number[] = [];
      for (const [, on] of variants) {
        if (toggle) engine.setOptions(toggle(on));
        await engine.runStep(); // compiles this variant's programs
        dispatches.push((await countKernels(() => engine.runStep())).launched);
      }
      const times = variants.map(() => [] as number[]);
      for (let i = 0; i < steps; i++)
        for (const [v, [, on]] of variants.entries()) {
          // After a switch the first step does the switch's own work (packed SGD copies its
          // momentum in or out): it runs untimed.
          if (toggle) {
            engine.setOptions(toggle(on));
            await engine.runStep();
          }
          const start = performance.now();
          await engine.runStep();
          times[v].push(performance.now() - start);
        }
      const failure = info.failure();
      if (failure) throw new Error(`the null adapter reported an error (over its 512 MB?): ${failure.message}`);
      for (const [v, [variant]] of variants.entries()) {
        const msPerStep = median(times[v]);
        const row = {
          mode,
          variant,
          msPerStep,
          dispatches: dispatches[v],
          microsecondsPerDispatch: (1000 * msPerStep) / dispatches[v],
        };
        rows.push(row);
        log(
          `${mode}${variant ? ` (${compare} ${variant})` : ''}: ${msPerStep.toFixed(0)} ms a step, ${row.dispatches} dispatches, ${row.microsecondsPerDispatch.toFixed(1)} µs a dispatch`,
        );
      }
    } finally {
      engine.dispose();
    }
  }
  return { channels, layers, steps, compare, date: new Date().toISOString(), rows };
}
