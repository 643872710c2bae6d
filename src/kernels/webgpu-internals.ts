// The parts of tfjs-backend-webgpu 4.22's WebGPUBackend (and of WebGPU itself) that the compiled
// step uses, typed in one place. They are not tfjs's public API: the compiled step checks that
// they are there (webGpuInternals) and falls back to the uncompiled step when they are not.
import * as tf from '@tensorflow/tfjs';

// GPUBufferUsage's and GPUMapMode's bits (the WebGPU types are not a dependency of this package).
export const BUFFER_USAGE = {
  MAP_READ: 0x01,
  MAP_WRITE: 0x02,
  COPY_SRC: 0x04,
  COPY_DST: 0x08,
  UNIFORM: 0x40,
  STORAGE: 0x80,
};
export const MAP_READ_MODE = 0x01;

export interface GpuBuffer {
  readonly size: number;
  readonly usage: number;
  destroy(): void;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
export interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}
export interface GpuBindGroupEntry {
  binding: number;
  resource: { buffer: GpuBuffer; offset?: number; size?: number };
}
export interface GpuComputePass {
  setPipeline(pipeline: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
export interface GpuCommandEncoder {
  beginComputePass(descriptor?: object): GpuComputePass;
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  finish(): unknown;
}
export interface GpuQueue {
  writeBuffer(
    buffer: GpuBuffer,
    offset: number,
    data: ArrayBufferView | ArrayBuffer,
    dataOffset?: number,
    size?: number,
  ): void;
  submit(commandBuffers: unknown[]): void;
}
export interface GpuDevice {
  readonly queue: GpuQueue;
  readonly limits: { minUniformBufferOffsetAlignment: number };
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createBindGroup(descriptor: { layout: unknown; entries: GpuBindGroupEntry[] }): unknown;
  createCommandEncoder(): GpuCommandEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

export interface TensorData {
  dtype: string;
  shape: number[];
  values: unknown;
  resource: unknown;
  refCount: number;
  external?: boolean;
}

export interface UniformField {
  type: string;
  data: number[];
}
export interface Program {
  pipeline: GpuPipeline | Promise<GpuPipeline>;
  shaderKey: string;
  dispatch: [number, number, number];
}

export interface WebGpuBackend {
  device: GpuDevice;
  queue: GpuQueue;
  tensorMap: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
  bufferManager: {
    freeBuffers: Map<string, GpuBuffer[]>;
    usedBuffers: Map<string, GpuBuffer[]>;
    numFreeBuffers: number;
    numBytesAllocated: number;
  };
  commandEncoder: GpuCommandEncoder | null;
  activeTimers: unknown[] | null;
  recordAndSubmit(program: Program, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: UniformField[]): void;
  makeUniforms(uniforms: UniformField[]): { offset: number; size: number; buffer: GpuBuffer };
  uploadToGPU(dataId: object): void;
  getBufferData(buffer: GpuBuffer): Promise<ArrayBuffer>;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const REQUIRED = [
  'recordAndSubmit',
  'makeUniforms',
  'uploadToGPU',
  'getBufferData',
  'ensureCommandEncoderReady',
  'endComputePassEncoder',
  'submitQueue',
] as const;

/** The current backend's internals if it is tfjs-backend-webgpu as this file knows it; else why not. */
export function webGpuInternals(): { backend: WebGpuBackend } | { problem: string } {
  if (tf.getBackend() !== 'webgpu') return { problem: `the backend is ${tf.getBackend()}, not webgpu` };
  const backend = tf.backend() as unknown as Partial<WebGpuBackend>;
  const missing = REQUIRED.filter((name) => typeof backend[name] !== 'function');
  if (!backend.device || !backend.queue || !backend.tensorMap || !backend.bufferManager?.freeBuffers)
    missing.push('device, queue, tensorMap or bufferManager' as never);
  if (missing.length)
    return { problem: `tfjs-backend-webgpu lacks what the compiled step uses (${missing.join(', ')})` };
  return { backend: backend as WebGpuBackend };
}

/** Submits what tfjs has recorded so far (its compute pass ended first, as tfjs does). */
export function flushTfjs(backend: WebGpuBackend): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

/** The pool key tfjs's BufferManager files a buffer under. */
export function poolKey(buffer: GpuBuffer): string {
  return `${buffer.size}_${buffer.usage}`;
}

/** A tensor over a buffer tfjs does not own (an external, zero-copy tensor: disposing it frees nothing). */
export function wrapBuffer(buffer: GpuBuffer, shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  return tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, shape, dtype);
}
