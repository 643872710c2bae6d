// Which of the lab's fast paths a piece of work takes. Whoever runs the work (a search engine, a
// test, a bench) passes its options in, and they hold for that work's synchronous span only
// (withKernelOptions): tfjs records and differentiates a step synchronously, so two engines
// with different options can alternate steps without a process-wide switch.

/**
 * How convolutions are computed. 'native' uses tfjs conv kernels (cpu, webgl, webgpu have their
 * gradient kernels); 'portable' uses pad + slices + matMul only, because tfjs-backend-wasm 4.22
 * lacks Conv2DBackpropFilter and the depthwise gradient kernels.
 */
export type ConvFormulation = 'native' | 'portable';

export interface KernelOptions {
  /** The fused kernels where the backend has them; off: the composite tfjs ops they replace. */
  fused: boolean;
  /** webgpu: ω and its momentum in packed buffers, one SGD dispatch per weight; off: two. */
  packedSgd: boolean;
  /** How convs are computed; null: by backend (portable on wasm, native elsewhere). */
  convFormulation: ConvFormulation | null;
}

export const DEFAULT_KERNEL_OPTIONS: Readonly<KernelOptions> = Object.freeze({
  fused: true,
  packedSgd: true,
  convFormulation: null,
});

let current: Readonly<KernelOptions> = DEFAULT_KERNEL_OPTIONS;

/** The options of the work running now (the defaults outside any withKernelOptions). */
export function kernelOptions(): Readonly<KernelOptions> {
  return current;
}

/**
 * Runs `body` with these options (the unnamed ones as they are). `body` must be synchronous:
 * what runs after its first await sees the options outside again.
 */
export function withKernelOptions<T>(options: Partial<KernelOptions>, body: () => T): T {
  const outside = current;
  current = { ...outside, ...options };
  try {
    const result = body();
    if (result instanceof Promise) throw new Error('withKernelOptions: body must be synchronous');
    return result;
  } finally {
    current = outside;
  }
}
