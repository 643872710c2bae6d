// The browser parity page (parity.html): runs the engine's parity cases on each backend that
// the page can start and compares them with the cpu backend; runs the search twice on each, which
// must agree bit for bit, the second leaving no tensor or data buffer behind. e2e/8-parity.test.mjs reads
// window.__parity; a person can open the page to check their own GPU.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { patchBackend, watchWebGpuDevice } from '../kernels/safety';
import { OP_TOLERANCE, PARITY_CASES, SEARCH_TOLERANCE, compareArrays, evaluateCase, runParitySearch } from './cases';

export interface ParityRow {
  backend: string;
  check: string;
  /** Worst error as a multiple of the tolerance (ok when at most 1). */
  worst: number;
  ms: number;
  ok: boolean;
  /** For checks without a tolerance (exact ones), what the table shows instead of worst. */
  detail?: string;
}
declare global {
  interface Window {
    __parity?: { done: boolean; rows: ParityRow[]; unavailable: Record<string, string>; gpuError: string | null };
  }
}

const params = new URLSearchParams(location.search);
const backends = (params.get('backends') ?? 'webgpu,webgl,wasm').split(',').filter(Boolean);
const withSearch = params.get('search') !== '0';
const state: NonNullable<Window['__parity']> = { done: false, rows: [], unavailable: {}, gpuError: null };
window.__parity = state;
const tbody = document.querySelector('#results tbody')!;
const status = document.getElementById('status')!;

function report(row: ParityRow) {
  state.rows.push(row);
  const tr = document.createElement('tr');
  if (!row.ok) tr.className = 'fail';
  const worst = row.detail ?? (Number.isFinite(row.worst) ? row.worst.toFixed(3) : String(row.worst));
  for (const v of [row.backend, row.check, worst, row.ms.toFixed(0)]) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
}

/** How many float32 values of two arrays differ in any bit (-0 and 0 differ); all of them when the lengths do. */
function bitsDiffering(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  const bitsA = new Uint32Array(Float32Array.from(a).buffer);
  const bitsB = new Uint32Array(Float32Array.from(b).buffer);
  return bitsA.reduce((n, bits, i) => n + (bits === bitsB[i] ? 0 : 1), 0);
}

async function use(backend: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(backend))) return false;
    await tf.ready();
    patchBackend(backend);
    if (backend === 'webgpu') watchWebGpuDevice((f) => (state.gpuError = f.message));
    return tf.getBackend() === backend;
  } catch {
    return false;
  }
}

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const abs = (u: string) => new URL(u, location.href).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': abs(wasmUrl),
    'tfjs-backend-wasm-simd.wasm': abs(wasmSimdUrl),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmThreadedSimdUrl),
  });
  await use('cpu');
  const reference: Float32Array[][] = [];
  for (const c of PARITY_CASES) reference.push(await evaluateCase(c));
  const referenceSearch = withSearch ? await runParitySearch(2) : null;
  for (const backend of backends) {
    if (!(await use(backend))) {
      state.unavailable[backend] = `${backend} could not be initialised in this browser`;
      continue;
    }
    for (const [i, c] of PARITY_CASES.entries()) {
      const t = performance.now();
      const got = await evaluateCase(c);
      const worst = Math.max(
        ...got.map((g, k) => compareArrays(g, reference[i][k], OP_TOLERANCE.rel, OP_TOLERANCE.abs).worst),
      );
      report({ backend, check: c.name, worst, ms: performance.now() - t, ok: worst <= 1 });
    }
    if (referenceSearch) {
      let t = performance.now();
      const got = await runParitySearch(2);
      const worst = Math.max(
        compareArrays(got.losses, referenceSearch.losses, SEARCH_TOLERANCE.rel, SEARCH_TOLERANCE.abs).worst,
        compareArrays(got.alpha, referenceSearch.alpha, SEARCH_TOLERANCE.rel, SEARCH_TOLERANCE.abs).worst,
        compareArrays(got.beta, referenceSearch.beta, SEARCH_TOLERANCE.rel, SEARCH_TOLERANCE.abs).worst,
      );
      report({
        backend,
        check: 'two factorized search steps (losses, α, β)',
        worst,
        ms: performance.now() - t,
        ok: worst <= 1,
      });
      // The same seed again on this backend: the same losses, α and β bit for bit, and no
      // tensor or data buffer more once it is disposed. (The first search on a backend leaves
      // its cached constants: pool corrections, BN's ones, RReLU's noise pool.)
      const before = tf.memory();
      t = performance.now();
      const again = await runParitySearch(2);
      const differing =
        bitsDiffering(got.losses, again.losses) +
        bitsDiffering(got.alpha, again.alpha) +
        bitsDiffering(got.beta, again.beta);
      const values = got.losses.length + got.alpha.length + got.beta.length;
      report({
        backend,
        check: 'the same seed again: the same losses, α and β, bit for bit',
        worst: differing,
        ms: performance.now() - t,
        ok: differing === 0,
        detail: `${differing} of ${values} values differ`,
      });
      const after = tf.memory();
      const leaked = {
        tensors: after.numTensors - before.numTensors,
        buffers: after.numDataBuffers - before.numDataBuffers,
      };
      report({
        backend,
        check: 'tensors and data buffers a disposed search leaves',
        worst: Math.max(leaked.tensors, leaked.buffers),
        ms: 0,
        ok: leaked.tensors === 0 && leaked.buffers === 0,
        detail: `${leaked.tensors} tensors, ${leaked.buffers} data buffers`,
      });
    }
  }
  const failed = state.rows.filter((r) => !r.ok).length;
  status.textContent = `done: ${state.rows.length - failed} passed, ${failed} failed${state.gpuError ? `; GPU error: ${state.gpuError}` : ''}`;
  state.done = true;
}

main().catch((e) => {
  status.textContent = `error: ${(e as Error).message}`;
  state.gpuError = state.gpuError ?? (e as Error).message;
  state.done = true;
});
