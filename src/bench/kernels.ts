// Kernels a piece of work launches: on a GPU each costs tens of microseconds of dispatch, so the
// count sets the step time of small supernets. Counted through the engine (tf.profile keeps
// every kernel's record and overflowed the stack on a non-factorized step).
import * as tf from '@tensorflow/tfjs';
import { KERNELS } from '../kernels/fused';

/** Kernels that move no data on webgpu (views and reference counts), and customGrad's wrappers. */
export const NO_OP_KERNELS = new Set(['Reshape', 'Identity', 'Cast (no-op)', 'forward', KERNELS.fanOut]);

/** Kernels that run more than one GPU program on webgpu: dx and the parameter sums. */
export const DISPATCHES_PER_KERNEL: Record<string, number> = { [KERNELS.mixGrad]: 2 };

/**
 * Kernels that cpu and wasm run but webgpu does not: there ω and its momentum are updated in one
 * dispatch (LabSgdPacked, packed-sgd.ts), where cpu and wasm run LabSgdMomentum and LabSgdApply.
 * A count on cpu leaves them out, to give webgpu's; a count on webgpu counts what ran.
 */
export const NOT_ON_WEBGPU = new Set<string>([KERNELS.sgdApply]);

type KernelCall = {
  kernelName?: string;
  inputs?: Record<string, tf.TensorInfo>;
  attrs?: { dtype?: string; numOrSizeSplits?: number | number[] };
};

export interface KernelCount {
  /**
   * GPU programs a webgpu run dispatches. On webgpu: counted as the backend runs them. Elsewhere:
   * every kernel but NO_OP_KERNELS (and, counted elsewhere, NOT_ON_WEBGPU), by
   * DISPATCHES_PER_KERNEL, and SplitV (a slice each on webgpu) by its outputs.
   */
  launched: number;
  /** Every kernel by name, no-ops included. */
  byName: Map<string, number>;
}

export async function countKernels(work: () => Promise<unknown>): Promise<KernelCount> {
  const engine = tf.engine() as unknown as { runKernelFunc(p: KernelCall): unknown };
  const original = engine.runKernelFunc;
  const byName = new Map<string, number>();
  let splitSlices = 0;
  engine.runKernelFunc = function (this: unknown, p: KernelCall) {
    const sameDtypeCast = p.kernelName === 'Cast' && p.inputs?.x?.dtype === p.attrs?.dtype;
    const name = sameDtypeCast ? 'Cast (no-op)' : (p.kernelName ?? 'forward');
    byName.set(name, (byName.get(name) ?? 0) + 1);
    if (name === 'SplitV') {
      const splits = p.attrs?.numOrSizeSplits;
      splitSlices += Array.isArray(splits) ? splits.length : (splits ?? 1);
    }
    return original.call(this, p);
  };
  // On webgpu every GPU program goes through the backend's runWebGPUProgram: count those.
  const onWebGpu = tf.getBackend() === 'webgpu';
  const backend = tf.backend() as unknown as { runWebGPUProgram?: (...args: unknown[]) => unknown };
  const runProgram = onWebGpu ? backend.runWebGPUProgram : undefined;
  const ownRunProgram = Object.prototype.hasOwnProperty.call(backend, 'runWebGPUProgram');
  let programs = 0;
  if (runProgram)
    backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
      programs++;
      return runProgram.apply(this, args);
    };
  try {
    await work();
  } finally {
    engine.runKernelFunc = original;
    if (runProgram) {
      if (ownRunProgram) backend.runWebGPUProgram = runProgram;
      else delete backend.runWebGPUProgram; // back to the prototype's
    }
  }
  if (runProgram) return { launched: programs, byName };
  let launched = splitSlices - (byName.get('SplitV') ?? 0);
  for (const [name, n] of byName)
    if (!NO_OP_KERNELS.has(name) && !NOT_ON_WEBGPU.has(name)) launched += n * (DISPATCHES_PER_KERNEL[name] ?? 1);
  return { launched, byName };
}
