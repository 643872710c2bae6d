// Guards against backends that compute wrong numbers silently.
//
// tfjs-backend-webgpu 4.22 compiles tf.addN of 8+ tensors into one shader that binds more than
// the default 8 storage buffers: the pipeline is invalid, the batched command buffer is dropped,
// and later reads are stale — no exception. The engine never calls addN with more than 7 inputs
// (ops.sumTensors), and installSafeAddN re-registers AddN on every backend so that any caller
// (tfjs internals included) sums in chunks. GPU validation errors and device loss are turned into
// loud errors through watchWebGpuDevice.
import * as tf from '@tensorflow/tfjs';
import { MAX_ADDN_INPUTS as MAX_ADDN } from './fused-names';

const patched = new Set<string>();

/** Replaces the AddN kernel of `backendName` with one that sums at most MAX_ADDN at a time. */
export function installSafeAddN(backendName: string = tf.getBackend()): void {
  if (patched.has(backendName)) return;
  const original = tf.getKernel('AddN', backendName);
  if (!original) return;
  const originalFunc = original.kernelFunc;
  tf.unregisterKernel('AddN', backendName);
  tf.registerKernel({
    kernelName: 'AddN',
    backendName,
    kernelFunc: (args) => {
      const inputs = args.inputs as unknown as tf.TensorInfo[];
      if (inputs.length <= MAX_ADDN) return originalFunc(args);
      const backend = args.backend as tf.KernelBackend & { disposeData(id: object): void };
      let level: tf.TensorInfo[] = inputs;
      const intermediates: tf.TensorInfo[] = [];
      while (level.length > MAX_ADDN) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < level.length; i += MAX_ADDN) {
          const chunk = level.slice(i, i + MAX_ADDN);
          if (chunk.length === 1) next.push(chunk[0]);
          else {
            const partial = originalFunc({
              ...args,
              inputs: chunk as unknown as tf.NamedTensorInfoMap,
            }) as tf.TensorInfo;
            intermediates.push(partial);
            next.push(partial);
          }
        }
        level = next;
      }
      const result = originalFunc({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      for (const t of intermediates) backend.disposeData(t.dataId);
      return result;
    },
  });
  patched.add(backendName);
}

const sharing = new Set<string>();

/**
 * wasm's Identity kernel copies its input, where cpu's and webgpu's share the buffer (as wasm's
 * own Reshape does, by reference count). tfjs clones every tensor the tape saves for the
 * backward pass, so on wasm each saved activation still alive elsewhere was held twice.
 */
export function installSharedIdentity(backendName: string = tf.getBackend()): void {
  if (backendName !== 'wasm' || sharing.has(backendName) || !tf.getKernel('Identity', backendName)) return;
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel({
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as unknown as { x: tf.TensorInfo }).x;
      if (x.dtype === 'string') throw new Error('Identity: string tensors are not used by the lab');
      (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  sharing.add(backendName);
}

/** A backend could not allocate a tensor's memory (wasm: its heap is full and cannot grow). */
export class AllocationFailed extends Error {
  constructor(
    readonly bytes: number,
    readonly backendName: string,
  ) {
    super(`${backendName} could not allocate ${bytes} bytes: its memory is full`);
    this.name = 'AllocationFailed';
  }
}

interface WasmModule {
  _malloc(bytes: number): number;
}

const checkedMallocs = new WeakSet<object>();

/** Test hook (refuseNextAllocation): the next wasm request of at least this many bytes fails. */
let refuseFrom = Infinity;

/**
 * Test hook: the next wasm allocation of at least `bytes` fails as a full heap's would (once), so
 * an end-to-end test can check what the user sees when memory runs out.
 */
export function refuseNextAllocation(bytes: number): void {
  refuseFrom = bytes;
}

/**
 * tfjs-backend-wasm 4.22 takes a failed malloc's null pointer for an address (tfjs issue #4208)
 * and writes the tensor over the start of the heap: the run then computes garbage or dies later
 * with "memory access out of bounds". Here a failed allocation throws AllocationFailed at once,
 * before anything is written, and the heap stays sound.
 */
export function installAllocationCheck(backendName: string = tf.getBackend()): void {
  if (backendName !== 'wasm') return;
  const wasm = (tf.findBackend('wasm') as unknown as { wasm?: WasmModule } | null)?.wasm;
  if (!wasm || checkedMallocs.has(wasm)) return;
  const malloc = wasm._malloc.bind(wasm);
  const checked = (bytes: number) => {
    if (bytes >= refuseFrom) {
      refuseFrom = Infinity;
      throw new AllocationFailed(bytes, 'wasm');
    }
    const address = malloc(bytes);
    if (address === 0 && bytes > 0) throw new AllocationFailed(bytes, 'wasm');
    return address;
  };
  // A property that stays: emscripten's lazy export replaces Module._malloc on its first call.
  Object.defineProperty(wasm, '_malloc', { configurable: true, enumerable: true, get: () => checked, set: () => {} });
  checkedMallocs.add(wasm);
}

/** The kernel patches above for a backend the lab is about to use (every caller selecting one). */
export function patchBackend(backendName: string = tf.getBackend()): void {
  installSafeAddN(backendName);
  installSharedIdentity(backendName);
  installAllocationCheck(backendName);
}

/**
 * Watches the work that follows for WebGPU allocations that fail (an 'out-of-memory' error scope:
 * tfjs would go on with invalid buffers and read back garbage). Returns the function that ends the
 * watch and gives the first such error's message, or null; elsewhere it gives null.
 */
export function watchAllocations(): () => Promise<string | null> {
  const device =
    tf.getBackend() === 'webgpu'
      ? (
          tf.backend() as unknown as {
            device?: {
              pushErrorScope(filter: string): void;
              popErrorScope(): Promise<{ message: string } | null>;
            };
          }
        ).device
      : undefined;
  if (!device) return async () => null;
  device.pushErrorScope('out-of-memory');
  return async () => (await device.popErrorScope())?.message ?? null;
}

/** What a GPU error looks like to the user. */
export interface DeviceFailure {
  kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost';
  message: string;
}

export interface MinimalGpuDevice {
  addEventListener?(
    type: 'uncapturederror',
    listener: (event: { error: { message: string; constructor: { name: string } } }) => void,
  ): void;
  lost?: Promise<{ reason: string; message: string }>;
}

/**
 * Listens to the webgpu backend's device: any uncaptured GPU error (an invalid pipeline means
 * results are stale) or a lost device calls onFailure once. Returns false off webgpu.
 */
export function watchWebGpuDevice(onFailure: (failure: DeviceFailure) => void): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  const backend = tf.backend() as unknown as { device?: MinimalGpuDevice };
  const device = backend.device;
  if (!device) return false;
  watchDevice(device, onFailure);
  return true;
}

/** watchWebGpuDevice's work on a given device: its uncaptured errors and its loss, reported once. */
export function watchDevice(device: MinimalGpuDevice, onFailure: (failure: DeviceFailure) => void): void {
  let reported = false;
  const report = (f: DeviceFailure) => {
    if (reported) return;
    reported = true;
    onFailure(f);
  };
  device.addEventListener?.('uncapturederror', (event) => {
    const name = event.error?.constructor?.name ?? '';
    const kind = name.includes('OutOfMemory') ? 'out-of-memory' : name.includes('Internal') ? 'internal' : 'validation';
    const remedy =
      kind === 'out-of-memory'
        ? ' The GPU ran out of memory: lower the batch size or set Recompute cells to on, then resume from the last checkpoint.'
        : '';
    report({
      kind,
      message: `WebGPU ${kind} error: ${event.error?.message ?? 'unknown'}. Results after this point would be wrong, so the search stopped.${remedy}`,
    });
  });
  device.lost?.then((info) => {
    if (info.reason === 'destroyed') return; // we disposed it ourselves
    report({
      kind: 'device-lost',
      // A GPU out of memory often loses the device rather than failing one allocation.
      message: `The GPU device was lost (${info.reason || 'unknown reason'}: ${info.message}). Resume from the last checkpoint, on this or another backend; if the setup is large for this GPU, lower the batch size or set Recompute cells to on first.`,
    });
  });
}
