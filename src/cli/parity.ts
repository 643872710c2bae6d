// `lab -- parity --backend webgpu`: the parity cases of the test suite, run on one backend against
// the cpu reference, with a JSON report. A user checks their own GPU machine with it (under Node,
// WebGPU through Dawn), and the GPU bench runs it before timing anything: a fast wrong step is
// worth nothing.
import * as tf from '@tensorflow/tfjs';
import { NODE_BACKENDS, useBackend, type NodeBackend } from '../platform/node';
import type { Flags } from '../util/flags';
import {
  OP_TOLERANCE,
  PARITY_CASES,
  SEARCH_TOLERANCE,
  compareArrays,
  evaluateCase,
  runParitySearch,
} from '../parity/cases';

export interface ParityCheck {
  name: string;
  /** Worst error in units of the tolerance: at most 1 passes. */
  worst: number;
  passed: boolean;
}

export async function runParity(flags: Flags) {
  const backend = flags.enumOf('backend', NODE_BACKENDS, 'webgpu') as NodeBackend;
  const searchSteps = flags.int('search-steps', 20);
  flags.assertAllUsed();
  const info = await useBackend(backend);
  const checks: ParityCheck[] = [];
  const record = (name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: { rel: number; abs: number }) => {
    const { worst } = compareArrays(got, want, tol.rel, tol.abs);
    checks.push({ name, worst, passed: worst <= 1 });
  };
  for (const c of PARITY_CASES) {
    await tf.setBackend('cpu');
    const want = await evaluateCase(c);
    await tf.setBackend(backend);
    const got = await evaluateCase(c);
    got.forEach((g, i) => record(`${c.name}: ${i === 0 ? 'forward' : `gradient ${i - 1}`}`, g, want[i], OP_TOLERANCE));
  }
  if (searchSteps > 0) {
    await tf.setBackend('cpu');
    const cpu = await runParitySearch(searchSteps);
    await tf.setBackend(backend);
    const other = await runParitySearch(searchSteps);
    record(`${searchSteps}-step search: validation losses`, other.losses, cpu.losses, SEARCH_TOLERANCE);
    record(`${searchSteps}-step search: α (normal)`, other.alpha, cpu.alpha, SEARCH_TOLERANCE);
    record(`${searchSteps}-step search: β (reduce)`, other.beta, cpu.beta, SEARCH_TOLERANCE);
  }
  const failure = info.failure();
  const failed = checks.filter((c) => !c.passed);
  return {
    backend,
    adapterInfo: info.adapterInfo,
    tolerances: { op: OP_TOLERANCE, search: SEARCH_TOLERANCE },
    passed: failed.length === 0 && !failure,
    deviceError: failure ? failure.message : null,
    failed: failed.map((c) => c.name),
    checks,
  };
}
