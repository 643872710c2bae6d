// The Node bench: step timings of the search on one backend (src/bench/measure.ts), with the
// rows, ratios and table shared with the browser bench (src/bench/report.ts).
import { NODE_BACKENDS, useBackend, type NodeBackend } from '../platform/node';
import type { Flags } from '../util/flags';
import type { SearchConfig, SearchMode } from '../search/space';
import { BudgetExceeded, benchOne } from './measure';
import { isBenchSize, ratios, type BenchFailure, type BenchRow, type BenchSize } from './report';

export { BENCH_SIZES, ratios, type BenchRow, type BenchSize } from './report';

export async function runBench(flags: Flags) {
  const backendName = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
  const sizes = flags.list('sizes', ['quick', 'paper']) as BenchSize[];
  const modes = flags.list('modes', ['darts', 'factorized', 'nonfactorized']) as SearchMode[];
  const steps = flags.int('steps', 10);
  const paperSteps = flags.int('paper-steps', 3);
  // --row-seconds: each row stops timing after this long and reports the steps it has (marked
  // cut), so a time-limited run on a lent GPU prints every row instead of being killed mid-row.
  const rowSeconds = flags.int('row-seconds', 0);
  if (rowSeconds < 0) throw new Error(`--row-seconds: must be 0 (no limit) or more, got ${rowSeconds}`);
  const skipNonfactorizedPaper = !flags.bool('full');
  // --no-fused: tfjs's own kernels only (composite ops), to measure what the fused kernels buy.
  const fused = !flags.bool('no-fused');
  // --no-compiled: every webgpu step runs its code (the compiled step off), to measure what it buys.
  const compiledStep = !flags.bool('no-compiled');
  // --no-split: no forward and forward/backward passes timed apart (minutes of a software GPU's time).
  const split = !flags.bool('no-split');
  // How much memory a step may use (webgpu's adapter reports none: 4 GiB by default, which makes a
  // paper-size step recompute its cells; a GPU with room should say so), and recomputation.
  const memoryBudget = flags.has('budget-gb') ? flags.number('budget-gb') * 1e9 : null;
  const recomputeFlag = flags.enumOf('recompute', ['auto', 'on', 'off'] as const, 'auto');
  const recompute = recomputeFlag === 'auto' ? ('auto' as const) : recomputeFlag === 'on';
  flags.assertAllUsed();
  for (const s of sizes) if (!isBenchSize(s)) throw new Error(`--sizes: unknown size "${s}" (tiny, quick, paper)`);
  const info = await useBackend(backendName);
  const rows: BenchRow[] = [];
  const failures: BenchFailure[] = [];
  for (const size of sizes) {
    for (const mode of modes) {
      // Non-factorized at paper size is ~14x a factorized step: only with --full on a CPU.
      if (size === 'paper' && mode === 'nonfactorized' && skipNonfactorizedPaper && backendName !== 'webgpu') continue;
      const archUpdates: SearchConfig['archUpdate'][] = mode === 'factorized' ? ['joint', 'sequential'] : ['joint'];
      for (const archUpdate of archUpdates) {
        try {
          const row = await benchOne(backendName, size, mode, archUpdate, {
            steps: size === 'paper' ? paperSteps : steps,
            split,
            budgetSeconds: rowSeconds,
            engine: { fused, compiledStep, recompute, memoryBudget },
          });
          process.stderr.write(
            `${row.backend} ${row.size} ${row.mode}${mode === 'factorized' ? ` (${archUpdate})` : ''}: ${row.msPerStep.toFixed(0)} ms/step, ${row.imagesPerSecond.toFixed(1)} img/s\n`,
          );
          rows.push(row);
        } catch (e) {
          // wasm's heap (4 GB at most) cannot hold every configuration: say so and go on.
          const reason = (e as Error).message || String(e);
          process.stderr.write(`${backendName} ${size} ${mode}: failed (${reason.slice(0, 120)})\n`);
          failures.push({
            backend: backendName,
            size,
            mode,
            archUpdate,
            kind: e instanceof BudgetExceeded ? 'budget' : 'error',
            reason: reason.slice(0, 300),
          });
        }
      }
    }
  }
  return {
    backend: backendName,
    adapterInfo: info.adapterInfo,
    fusedKernels: fused,
    compiledStep,
    date: new Date().toISOString(),
    rows,
    failures,
    ratios: ratios(rows),
  };
}
