// The browser bench page (bench.html): search-step timings on every backend the page can
// start, with the Node bench's rows (src/bench/measure.ts, src/bench/report.ts). The driver
// (bench/browser.mjs) opens it once per row and reads window.__bench; a person can open it
// with the query parameters below to time their own GPU.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../platform/browser';
import { watchWebGpuDevice } from '../kernels/safety';
import type { SearchMode } from '../search/space';
import { BudgetExceeded, benchOne } from './measure';
import {
  adapterLabel,
  formatTable,
  isBenchSize,
  type AdapterLike,
  type BenchFailure,
  type BenchRow,
  type BenchSize,
} from './report';

export interface BenchBackendInfo {
  available: boolean;
  /** The adapter (webgpu), renderer (webgl) or build (wasm) in a few words. */
  label: string;
  adapter: AdapterLike | null;
  reason?: string;
}
export interface BenchPageState {
  done: boolean;
  userAgent: string;
  backends: Record<string, BenchBackendInfo>;
  rows: BenchRow[];
  failures: BenchFailure[];
  /** "backend size mode: step i/n running" while a row runs. */
  progress: string;
  error: string | null;
}
declare global {
  interface Window {
    __bench?: BenchPageState;
  }
}

const params = new URLSearchParams(location.search);
const list = (name: string, fallback: string) =>
  (params.get(name) ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const int = (name: string, fallback: number) => {
  const v = Number(params.get(name) ?? fallback);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
};
const backends = list('backends', 'webgpu,webgl,wasm,cpu');
const sizes = list('sizes', 'quick');
const modes = list('modes', 'darts,factorized,nonfactorized') as SearchMode[];
const steps = Math.max(1, int('steps', 10));
const warmup = int('warmup', 2);
const budgetSeconds = int('budget', 300);
const split = params.get('split') === '1';

const state: BenchPageState = {
  done: false,
  userAgent: navigator.userAgent,
  backends: {},
  rows: [],
  failures: [],
  progress: '',
  error: null,
};
window.__bench = state;
const status = document.getElementById('status')!;
const table = document.getElementById('table')!;

function show(text: string) {
  status.textContent = text;
  console.log(`bench: ${text}`);
}
function render() {
  const labels = Object.fromEntries(Object.entries(state.backends).map(([b, info]) => [b, info.label]));
  table.textContent = formatTable(state.rows, state.failures, labels);
}

/** The WebGL renderer string (SwiftShader when there is no GPU). */
function webglRenderer(): string {
  const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
  if (!gl) return '';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
}

let gpuError: string | null = null;

/** The wasm heap's size: how far it grew before an allocation failed. */
function wasmHeapMB(): number | null {
  const bytes = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength;
  return bytes ? bytes / 2 ** 20 : null;
}

function describeError(e: unknown, backend: string): string {
  const text = ((e as Error).message || String(e)).replace(/\.? Build with -sASSERTIONS for more info\.?/, '');
  const heap = backend === 'wasm' ? wasmHeapMB() : null;
  if (heap === null) return text;
  // tfjs-backend-wasm 4.22 lets its heap grow to 4 GB (minus 64 KB).
  const mb = Math.round(heap).toLocaleString('en-US');
  return heap >= 4095
    ? `out of memory: the wasm heap reached its ${mb} MB maximum (${text})`
    : `${text} (wasm heap at ${mb} MB)`;
}

async function start(backend: string): Promise<BenchBackendInfo> {
  try {
    const selection = await selectBackend(backend as Parameters<typeof selectBackend>[0]);
    if (selection.backend !== backend)
      return {
        available: false,
        label: '',
        adapter: selection.adapterInfo,
        reason: selection.fallbackReason ?? `${backend} did not start`,
      };
    let adapter: AdapterLike | null = selection.adapterInfo;
    if (backend === 'webgpu') watchWebGpuDevice((f) => (gpuError = f.message));
    if (backend === 'webgl') adapter = { description: webglRenderer() };
    let label = adapterLabel(adapter);
    if (backend === 'wasm')
      label = `${(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'SIMD' : 'no SIMD'}, 1 thread`;
    return { available: true, label, adapter };
  } catch (e) {
    return { available: false, label: '', adapter: null, reason: (e as Error).message || String(e) };
  }
}

async function main() {
  for (const s of sizes) if (!isBenchSize(s)) throw new Error(`sizes: unknown size "${s}" (tiny, quick, paper)`);
  for (const backend of backends) {
    show(`${backend}: starting`);
    const info = await start(backend);
    state.backends[backend] = info;
    // The driver reads this even when it has to cut the row before the page is done.
    console.log(`bench-backend: ${JSON.stringify({ backend, ...info })}`);
    if (!info.available) {
      for (const size of sizes)
        for (const mode of modes)
          state.failures.push({
            backend,
            size,
            mode,
            archUpdate: 'joint',
            kind: 'unavailable',
            reason: `unavailable: ${info.reason}`,
          });
      render();
      continue;
    }
    for (const size of sizes as BenchSize[]) {
      for (const mode of modes) {
        const what = `${backend} ${size} ${mode}`;
        gpuError = null;
        try {
          const row = await benchOne(backend, size, mode, 'joint', {
            steps,
            warmup,
            split,
            budgetSeconds,
            onProgress: (message) => {
              state.progress = `${what}: ${message}`;
              show(state.progress);
            },
          });
          if (gpuError) throw new Error(gpuError);
          state.rows.push(row);
          show(
            `${what}: ${row.msPerStep.toFixed(0)} ms/step, ${row.imagesPerSecond.toFixed(1)} images/s${row.cut ? ` (cut: ${row.cut})` : ''}`,
          );
        } catch (e) {
          const reason = gpuError ?? describeError(e, backend);
          state.failures.push({
            backend,
            size,
            mode,
            archUpdate: 'joint',
            kind: e instanceof BudgetExceeded ? 'budget' : 'error',
            reason: reason.slice(0, 300),
          });
          show(`${what}: failed (${reason.split('\n')[0].slice(0, 160)})`);
        }
        state.progress = '';
        render();
      }
    }
  }
  show(`done: ${state.rows.length} rows, ${state.failures.length} failed`);
  state.done = true;
}

// After load: on cpu a whole row runs without yielding to the event loop, which would hold the
// load event (and the driver's page.goto) until the row is done.
window.addEventListener('load', () =>
  setTimeout(() =>
    main().catch((e) => {
      state.error = (e as Error).message || String(e);
      show(`error: ${state.error}`);
      state.done = true;
    }),
  ),
);
