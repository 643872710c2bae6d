// Backends under Node: wasm (default, fastest on a CPU), cpu (the reference), and webgpu through
// the npm package `webgpu` (Dawn), which runs tfjs-backend-webgpu on a machine's Vulkan driver —
// a GPU machine without a browser can measure the real step time.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { patchBackend, watchWebGpuDevice, type DeviceFailure } from '../kernels/safety';

export const NODE_BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

export interface BackendInfo {
  backend: NodeBackend;
  adapterInfo: string | null;
  /** Set when the GPU reported an error or was lost; the run must stop. */
  failure: () => DeviceFailure | null;
}

/** Where Debian's Chromium keeps SwiftShader's Vulkan driver (a software GPU, for tests). */
export const SWIFTSHADER_ENV = {
  LD_LIBRARY_PATH: '/usr/lib/chromium',
  VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json',
};

let gpuInstalled: 'driver' | 'null' | null = null;

async function installNodeWebGpu(adapter: 'driver' | 'null' = 'driver'): Promise<void> {
  if (gpuInstalled === adapter) return;
  if (gpuInstalled) throw new Error(`WebGPU is already installed with the ${gpuInstalled} adapter in this process`);
  const { create, globals } = (await import('webgpu')) as unknown as {
    create: (options: string[]) => unknown;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: create(adapter === 'null' ? ['backend=null'] : []) },
    configurable: true,
    writable: true,
  });
  await import('@tensorflow/tfjs-backend-webgpu');
  gpuInstalled = adapter;
}

/**
 * webgpu on Dawn's null adapter, for bench/dispatch-cost.ts only: Dawn validates and records
 * every command but runs none, so a step costs exactly its CPU side (tfjs and Dawn's work per
 * dispatch), on any machine. Every value read back is meaningless, and the adapter holds at most
 * 512 MB of buffers.
 */
export async function useNullWebGpu(): Promise<BackendInfo> {
  await installNodeWebGpu('null');
  return activate('webgpu');
}

/** Selects a backend, makes it safe (chunked AddN), and watches a GPU for silent failures. */
export async function useBackend(name: NodeBackend): Promise<BackendInfo> {
  if (!NODE_BACKENDS.includes(name))
    throw new Error(`--backend: must be one of ${NODE_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  if (name === 'webgpu') await installNodeWebGpu();
  return activate(name);
}

async function activate(name: NodeBackend): Promise<BackendInfo> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    const hint =
      name === 'webgpu'
        ? ' (no WebGPU adapter: is a Vulkan driver installed? For SwiftShader set LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)'
        : '';
    throw new Error(`backend ${name} could not be initialised${hint}`);
  }
  await tf.ready();
  patchBackend(name);
  let failure: DeviceFailure | null = null;
  let adapterInfo: string | null = null;
  if (name === 'webgpu') {
    watchWebGpuDevice((f) => (failure = f));
    const info = (tf.backend() as unknown as { adapterInfo?: Record<string, unknown> }).adapterInfo;
    adapterInfo = info ? JSON.stringify(info) : null;
  }
  return { backend: name, adapterInfo, failure: () => failure };
}
