// Which tfjs backend runs the search. "auto" takes a hardware WebGPU adapter first; a software
// adapter (SwiftShader) would be slower than wasm, so it falls back to wasm, then webgl, then
// cpu. An explicitly chosen backend that fails falls back the same way, with the reason kept
// for the status line.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { patchBackend } from '../kernels/safety';
import type { AdapterInfo, BackendChoice } from './backends';
import { errorText } from '../util/errors';

export interface BackendSelection {
  backend: string;
  requested: BackendChoice;
  adapterInfo: AdapterInfo | null;
  fallbackReason?: string;
}

const FALLBACK_ORDER = ['wasm', 'webgl', 'cpu'] as const;
const INIT_TIMEOUT_MS = 30_000;

let wasmPathsSet = false;
function prepareWasm(): void {
  if (wasmPathsSet) return;
  wasmPathsSet = true;
  // tfjs's threaded wasm build starts its pthreads from an inlined worker script that does not
  // survive bundling ("e is not defined"), so use the single-threaded SIMD build.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const abs = (u: string) => new URL(u, self.location.href).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': abs(wasmUrl),
    'tfjs-backend-wasm-simd.wasm': abs(wasmSimdUrl),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmThreadedSimdUrl),
  });
}

interface GpuAdapterLike {
  info?: Partial<AdapterInfo>;
  isFallbackAdapter?: boolean;
}

/** Reads the WebGPU adapter the browser would give us, without creating a device. */
export async function probeWebGpu(): Promise<{ adapter: AdapterInfo | null; problem: string | null }> {
  const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } })
    .gpu;
  if (!gpu) return { adapter: null, problem: 'this browser exposes no WebGPU (navigator.gpu is missing)' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), 10_000, 'requestAdapter');
  } catch (e) {
    return { adapter: null, problem: `requesting a WebGPU adapter failed (${errorText(e)})` };
  }
  if (!adapter) return { adapter: null, problem: 'no WebGPU adapter is available' };
  const raw = adapter.info ?? {};
  const info: AdapterInfo = {
    vendor: raw.vendor ?? '',
    architecture: raw.architecture ?? '',
    device: raw.device ?? '',
    description: raw.description ?? '',
    isFallbackAdapter: Boolean(raw.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
  };
  const text = `${info.vendor} ${info.architecture} ${info.description}`.toLowerCase();
  if (info.isFallbackAdapter || text.includes('swiftshader')) {
    const name = text.includes('swiftshader') ? 'SwiftShader' : info.description || info.architecture || 'CPU';
    return { adapter: info, problem: `WebGPU adapter is a software fallback (${name})` };
  }
  return { adapter: info, problem: null };
}

async function trySetBackend(name: string): Promise<string | null> {
  try {
    if (name === 'wasm') prepareWasm();
    if (!tf.findBackendFactory(name)) return `${name} is not available in this browser`;
    const ok = await withTimeout(tf.setBackend(name), INIT_TIMEOUT_MS, `${name} initialisation`);
    if (!ok || tf.getBackend() !== name) return `${name} failed to initialise`;
    // One tiny op proves the backend computes.
    const probe = tf.add(tf.scalar(1), tf.scalar(2));
    const [v] = await probe.data();
    probe.dispose();
    if (v !== 3) return `${name} computed 1 + 2 = ${v}`;
    patchBackend(name);
    return null;
  } catch (e) {
    return `${name} failed: ${errorText(e)}`;
  }
}

/** Sets the tfjs backend for `requested` and says what runs and why. */
export async function selectBackend(requested: BackendChoice): Promise<BackendSelection> {
  const reasons: string[] = [];
  let adapterInfo: AdapterInfo | null = null;
  const wantsWebGpu = requested === 'auto' || requested === 'webgpu';
  if (wantsWebGpu) {
    const probe = await probeWebGpu();
    adapterInfo = probe.adapter;
    // auto: only hardware WebGPU. webgpu: whatever adapter there is (a software one too).
    if (probe.problem && (requested === 'auto' || !probe.adapter)) reasons.push(probe.problem);
    else {
      const failure = await trySetBackend('webgpu');
      if (!failure) return { backend: 'webgpu', requested, adapterInfo };
      reasons.push(failure);
    }
  }
  const order: string[] =
    requested === 'auto' || requested === 'webgpu'
      ? [...FALLBACK_ORDER]
      : [requested, ...FALLBACK_ORDER.filter((b) => b !== requested)];
  for (const name of order) {
    const failure = await trySetBackend(name);
    if (!failure) {
      const fallbackReason = reasons.length ? reasons.join('; ') : undefined;
      return { backend: name, requested, adapterInfo, fallbackReason };
    }
    reasons.push(failure);
  }
  throw new Error(`No tfjs backend could start: ${reasons.join('; ')}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms / 1000)} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
