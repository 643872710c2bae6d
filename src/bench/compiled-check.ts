// Checks of the compiled step (kernels/compiled-step.ts) against the uncompiled one, shared by the
// tests and `lab -- compiled-check` (which a GPU machine runs over every mode):
// - structure: a compiled search's replayed step k issues exactly what an uncompiled search of the
//   same config and seed issues at step k, recorded fresh (pipelines, buffers named by what they
//   hold, uniform bytes, per-step values and inputs, workgroup counts);
// - numbers (on a device that runs the work): both searches' losses and weights, bit for bit.
import type { Flags } from '../util/flags';
import { useBackend, useNullWebGpu } from '../platform/node';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';
import { SearchEngine, type EngineOptions } from '../search/engine';
import { ACTIVATIONS, EDGES, makeConfig, type SearchConfig } from '../search/space';
import type { StepDescription } from '../kernels/compiled-step';

const SHAPE = { height: 8, width: 8, channels: 3, classes: 4 };

/** A small search of `overrides` (4 steps an epoch: 16 training images, half for ω, batches of 2). */
export function checkEngine(overrides: Partial<SearchConfig>, options: Partial<EngineOptions>): SearchEngine {
  const dataset = makeSyntheticDataset({ seed: 2, ...SHAPE, trainCount: 16, testCount: 4 });
  const config = makeConfig({ channels: 2, layers: 3, batchSize: 2, epochs: 30, seed: 5, ...overrides });
  const streams = makeSearchStreams(dataset, { batchSize: 2, seed: config.seed, trainPortion: config.trainPortion });
  return new SearchEngine(config, SHAPE, streams, options);
}

const fixedBeta = (seed: number) =>
  Array.from({ length: EDGES }, (_, e) => ACTIVATIONS.map((_, a) => Math.sin(seed + 3 * e + a)));

/** Every search mode and option a record must hold. */
export const CHECKED_MODES: [string, Partial<SearchConfig>][] = [
  ['factorized', { mode: 'factorized' }],
  ['darts, selu', { mode: 'darts', activation: 'selu' }],
  ['darts, rrelu (random slopes)', { mode: 'darts', activation: 'rrelu' }],
  ['nonfactorized', { mode: 'nonfactorized' }],
  [
    'fixed-beta (non-uniform β)',
    { mode: 'fixed-beta', fixedBeta: { betaNormal: fixedBeta(1), betaReduce: fixedBeta(2) } },
  ],
  ['factorized, partial channels K=2', { mode: 'factorized', partialChannels: 2 }],
  ['factorized, second order', { mode: 'factorized', order: 2 }],
  ['factorized, sequential α then β', { mode: 'factorized', archUpdate: 'sequential' }],
];

/** The first difference between two step descriptions, or null. */
export function firstDifference(a: StepDescription, b: StepDescription): string | null {
  if (a.dispatches.length !== b.dispatches.length)
    return `${a.dispatches.length} dispatches, fresh ${b.dispatches.length}`;
  for (const [i, d] of a.dispatches.entries()) {
    const f = b.dispatches[i]!;
    const what = `dispatch ${i} (${d.shaderKey.slice(0, 40)})`;
    if (d.shaderKey !== f.shaderKey)
      return `dispatch ${i}: pipeline ${d.shaderKey.slice(0, 60)} vs ${f.shaderKey.slice(0, 60)}`;
    if (d.workgroups.join() !== f.workgroups.join()) return `${what}: workgroups ${d.workgroups} vs ${f.workgroups}`;
    if (d.uniform !== f.uniform) return `${what}: uniforms differ`;
    if (d.buffers.join() !== f.buffers.join()) return `${what}: buffers ${d.buffers} vs ${f.buffers}`;
  }
  if (a.events.length !== b.events.length) return `${a.events.length} per-step values, fresh ${b.events.length}`;
  for (const [i, e] of a.events.entries())
    if (e !== b.events[i]) return `per-step value ${i}: ${e.slice(0, 80)} vs ${b.events[i]!.slice(0, 80)}`;
  if (a.moved.join() !== b.moved.join()) return `moved variables ${a.moved} vs ${b.moved}`;
  return null;
}

/** float32 bits, so that -0 and every rounding difference count. */
const bits = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

export interface ComparisonResult {
  /** 'step k (epoch e): what differs', for each checked step that differs. */
  differences: string[];
  /** Steps the compiled search replayed. */
  replays: number;
  /** With numbers: where the two searches' losses or final weights first differ (null: bit for bit equal). */
  numbers: string | null;
}

/**
 * Runs a compiled and an uncompiled search of one config side by side for `steps` steps,
 * comparing what they issue at the steps in `at` and, with `numbers`, their losses and weights.
 * `tamper` may change the compiled search first (a test shows the check can fail).
 */
export async function compareCompiled(
  overrides: Partial<SearchConfig>,
  {
    steps,
    at,
    numbers = false,
    tamper,
    engine = {},
  }: {
    steps: number;
    at: number[];
    numbers?: boolean;
    tamper?: (engine: SearchEngine) => void;
    /** How both searches compute besides the compiled step (e.g. with cells recomputed). */
    engine?: Partial<EngineOptions>;
  },
): Promise<ComparisonResult> {
  const compiled = checkEngine(overrides, { ...engine, compiledStep: true });
  const fresh = checkEngine(overrides, { ...engine, compiledStep: false });
  tamper?.(compiled);
  const differences: string[] = [];
  const losses: [number[], number[]] = [[], []];
  let replays = 0;
  try {
    for (let k = 0; k < steps; k++) {
      const check = at.includes(k);
      if (check) {
        compiled.describeNextStep();
        fresh.describeNextStep();
      }
      const p = await compiled.runStep();
      const q = await fresh.runStep();
      losses[0].push(p.trainLoss, p.valLoss, p.valAccuracy);
      losses[1].push(q.trainLoss, q.valLoss, q.valAccuracy);
      if (p.compiled?.state === 'compiled' && k >= 2) replays++;
      if (!check) continue;
      if (p.compiled?.state !== 'compiled') differences.push(`step ${k}: not replayed (${p.compiled?.reason})`);
      const difference = firstDifference(compiled.lastStepDescription!, fresh.lastStepDescription!);
      if (difference) differences.push(`step ${k} (epoch ${p.epoch}): ${difference}`);
    }
    let numbersDiffer: string | null = null;
    if (numbers) {
      const [a, b] = losses.map(bits);
      const i = a!.findIndex((x, j) => x !== b![j]);
      if (i >= 0)
        numbersDiffer = `step ${Math.floor(i / 3)}: ${['train loss', 'val loss', 'val accuracy'][i % 3]} ${losses[0][i]} vs ${losses[1][i]}`;
      const vars = [compiled, fresh].map((e) => e.net.namedVariables());
      for (const [j, v] of vars[0]!.entries()) {
        if (numbersDiffer) break;
        const [x, y] = await Promise.all([v.variable.data(), vars[1]![j]!.variable.data()]);
        const [bx, by] = [bits(x as Float32Array), bits(y as Float32Array)];
        const w = bx.findIndex((word, n) => word !== by[n]);
        if (w >= 0)
          numbersDiffer = `${v.name}[${w}] after ${steps} steps: ${(x as Float32Array)[w]} vs ${(y as Float32Array)[w]}`;
      }
    }
    return { differences, replays, numbers: numbersDiffer };
  } finally {
    compiled.dispose();
    fresh.dispose();
  }
}

/**
 * `lab -- compiled-check [--null] [--steps 20] [--modes factorized,...]`: every mode (or those
 * named) on this machine's webgpu device — structure and numbers — or on Dawn's null adapter
 * (--null: structure only, values are meaningless there). Returns one row per mode.
 */
export async function runCompiledCheck(flags: Flags) {
  const onNull = flags.bool('null');
  const steps = flags.int('steps', 20);
  const only = flags.list('modes', []);
  flags.assertAllUsed();
  if (steps < 4) throw new Error(`--steps: at least 4 (a run, a recording and replays), got ${steps}`);
  const info = onNull ? await useNullWebGpu() : await useBackend('webgpu');
  const at = [3, Math.floor(steps / 2), steps - 1];
  const rows = [];
  for (const [label, overrides] of CHECKED_MODES) {
    if (only.length && !only.includes(overrides.mode!)) continue;
    const started = performance.now();
    const result = await compareCompiled(overrides, { steps, at, numbers: !onNull });
    const ok = result.differences.length === 0 && result.numbers === null && result.replays === steps - 2;
    process.stderr.write(
      `${label}: ${ok ? 'same' : 'DIFFERENT'} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
    );
    rows.push({ mode: label, ok, ...result });
  }
  const failure = info.failure() as { message?: string } | null;
  return {
    backend: onNull ? 'webgpu (null adapter)' : 'webgpu',
    adapterInfo: info.adapterInfo,
    steps,
    checkedAt: at,
    deviceError: failure?.message ?? null,
    passed: rows.every((r) => r.ok) && !failure,
    rows,
  };
}
