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

/**
 * Features a run can compare on and off, on one engine whose steps run their code (uncompiled):
 * each step alternates between the two. `--compare compiled` instead runs a compiled and an
 * uncompiled engine side by side, their steps interleaved.
 */
export const DISPATCH_COST_TOGGLES: Record<string, (on: boolean) => Partial<EngineOptions>> = {
  'packed-sgd': (on) => ({ packedSgd: on }),
  fused: (on) => ({ fused: on }),
  grouped: (on) => ({ groupEdges: on ? 'auto' : false }),
};
const COMPARISONS = ['compiled', ...Object.keys(DISPATCH_COST_TOGGLES)];

export interface DispatchCostOptions {
  channels: number;
  layers: number;
  modes: SearchMode[];
  steps: number;
  /** 'compiled', a key of DISPATCH_COST_TOGGLES, or '' for none. */
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
  /** '' for the default (compiled) path; 'uncompiled', or 'on' / 'off' with a toggle. */
  variant: string;
  msPerStep: number;
  dispatches: number;
  microsecondsPerDispatch: number;
  /** The compiled step: how long recording its step took (once, on the second step). */
  recordMilliseconds: number | null;
}

interface Variant {
  label: string;
  engine: SearchEngine;
  /** Before each timed step: set this variant's options (toggles share one engine). */
  select?: () => Promise<void>;
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
  if (compare && !COMPARISONS.includes(compare))
    throw new Error(`--compare: one of ${COMPARISONS.join(', ')}, got ${JSON.stringify(compare)}`);
  if (!(steps >= 1)) throw new Error(`--steps: at least 1, got ${steps}`);
  const info = await useNullWebGpu();
  tf.env().set('PROD', true);
  const shape = { height: 16, width: 16, channels: 3, classes: 10 };
  const dataset = makeSyntheticDataset({ seed: 1, ...shape, trainCount: 64, testCount: 8 });
  const rows: DispatchCostRow[] = [];
  for (const mode of modes) {
    const config = makeConfig({ mode, channels, layers, batchSize: 2, maxSteps: 4 * steps + 8 });
    const engineWith = (engineOptions: Partial<EngineOptions>) =>
      new SearchEngine(config, shape, makeSearchStreams(dataset, { batchSize: 2, seed: 1 }), engineOptions);
    const toggle: ((on: boolean) => Partial<EngineOptions>) | undefined = Object.hasOwn(DISPATCH_COST_TOGGLES, compare)
      ? DISPATCH_COST_TOGGLES[compare]
      : undefined;
    const variants: Variant[] = [];
    if (toggle) {
      const engine = engineWith({ compiledStep: false });
      for (const on of [true, false])
        variants.push({
          label: on ? 'on' : 'off',
          engine,
          // After a switch the first step does the switch's own work (packed SGD copies its
          // momentum in or out): it runs untimed.
          select: async () => {
            engine.setOptions(toggle(on));
            await engine.runStep();
          },
        });
    } else {
      variants.push({ label: '', engine: engineWith({ compiledStep: true }) });
      if (compare === 'compiled') variants.push({ label: 'uncompiled', engine: engineWith({ compiledStep: false }) });
    }
    const engines = [...new Set(variants.map((v) => v.engine))];
    try {
      // Two untimed steps: the first compiles the shaders, the second is the one a compiled step records.
      const dispatches: number[] = [];
      const recorded: (number | null)[] = [];
      for (const v of variants) {
        await v.select?.();
        await v.engine.runStep();
        const status = (await v.engine.runStep()).compiled;
        recorded.push(status?.state === 'compiled' ? status.recordMilliseconds : null);
        dispatches.push(
          status?.state === 'compiled' ? status.dispatches : (await countKernels(() => v.engine.runStep())).launched,
        );
      }
      const times = variants.map(() => [] as number[]);
      for (let i = 0; i < steps; i++)
        for (const [k, v] of variants.entries()) {
          await v.select?.();
          const start = performance.now();
          const p = await v.engine.runStep();
          times[k]!.push(performance.now() - start);
          if (v.label === '' && p.compiled?.state !== 'compiled')
            throw new Error(`the compiled step did not replay: ${p.compiled?.reason ?? 'not on webgpu'}`);
        }
      const failure = info.failure();
      if (failure) throw new Error(`the null adapter reported an error (over its 512 MB?): ${failure.message}`);
      for (const [k, v] of variants.entries()) {
        const msPerStep = median(times[k]!);
        const row: DispatchCostRow = {
          mode,
          variant: v.label,
          msPerStep,
          dispatches: dispatches[k]!,
          microsecondsPerDispatch: (1000 * msPerStep) / dispatches[k]!,
          recordMilliseconds: recorded[k]!,
        };
        rows.push(row);
        const label = toggle ? ` (uncompiled, ${compare} ${v.label})` : v.label ? ` (${v.label})` : '';
        const recording =
          row.recordMilliseconds === null ? '' : `, recorded in ${row.recordMilliseconds.toFixed(0)} ms`;
        log(
          `${mode}${label}: ${msPerStep.toFixed(1)} ms a step, ${row.dispatches} dispatches, ${row.microsecondsPerDispatch.toFixed(1)} µs a dispatch${recording}`,
        );
      }
    } finally {
      for (const engine of engines) engine.dispose();
    }
  }
  return { channels, layers, steps, compare, date: new Date().toISOString(), rows };
}
