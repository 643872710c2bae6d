// SGD in one GPU dispatch per weight tensor on webgpu. A tfjs program writes one output buffer,
// so the update of ω and of its momentum buffer took two dispatches (LabSgdMomentum, then
// LabSgdApply): ~1,600 of a paper-size step's ~19,000. Here each weight tensor and its momentum
// live in one GPU buffer, [ω; momentum], which the variable's tensor wraps (its shape covers ω);
// LabSgdPacked updates both halves in place with PyTorch's arithmetic, unchanged.
//
// The momentum slots of SgdMomentum stay the format checkpoints read: `syncSlots` copies the
// buffers' momentum into them before a read, and `markSlotsCurrent` after they are written.
// DARTS's unrolled step reads μ·buf from the buffers (`scaledMomentum`). A variable assigned new
// values since the last step (a checkpoint restored, the unrolled step's weights) is packed again
// before the next update.
import * as tf from '@tensorflow/tfjs';
import { KERNELS } from './fused-names';
import { kernelOptions } from './options';

// GPUBufferUsage's bits (the WebGPU types are not a dependency of this package).
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;

interface GpuBuffer {
  readonly size: number;
  destroy(): void;
}
interface TensorData {
  resource: unknown;
  values: unknown;
  shape: number[];
}
/** The parts of tfjs-backend-webgpu's WebGPUBackend used here. */
interface WebGpuBackendInternals {
  device: { createBuffer(d: { size: number; usage: number }): GpuBuffer };
  tensorMap: { get(dataId: object): TensorData | undefined };
  commandEncoder: {
    copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  } | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  refCount(dataId: object): number;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

/** Buffers that hold [ω; momentum]: LabSgdPacked refuses any other output (it would write past its end). */
const packedBuffers = new WeakSet<object>();

/** Whether `resource` is a packed buffer with room for [ω; momentum] of `size` values. */
export function isPackedBuffer(resource: unknown, size: number): boolean {
  return (
    typeof resource === 'object' &&
    resource !== null &&
    packedBuffers.has(resource) &&
    (resource as GpuBuffer).size >= 8 * size
  );
}

/**
 * In-place updates per tensor data: a read that started before an update must not leave its
 * (older) values in tfjs's cache, which tfjs fills only when the download completes.
 */
const updates = new WeakMap<object, number>();
/** Called by LabSgdPacked after it wrote w's buffer in place. */
export function markUpdatedInPlace(dataId: object, data: { values: unknown }): void {
  updates.set(dataId, (updates.get(dataId) ?? 0) + 1);
  data.values = null; // tfjs caches what it last read: those values are now stale
}

/** Whether the work running now updates ω in packed buffers (webgpu; the caller checks the fused kernels). */
export function packedSgdSupported(): boolean {
  return kernelOptions().packedSgd && tf.getBackend() === 'webgpu';
}

function internals(): WebGpuBackendInternals {
  return tf.backend() as unknown as WebGpuBackendInternals;
}

const readsPatched = new WeakSet<object>();
/**
 * Reads of packed tensors: the download covers the whole buffer, so keep the tensor's own values
 * (`await w.data()` gives ω alone: checkpoints, exports and tests read weights this way), cache a
 * copy of just those, and drop the cache if the tensor was updated in place during the download.
 * Every other tensor reads as tfjs reads it.
 */
function patchReads(backend: WebGpuBackendInternals): void {
  if (readsPatched.has(backend)) return;
  readsPatched.add(backend);
  const packedSize = (dataId: object): number | null => {
    const data = backend.tensorMap.get(dataId);
    if (!data || !packedBuffers.has(data.resource as object)) return null;
    return data.shape.reduce((p, d) => p * d, 1);
  };
  const keep = (dataId: object, values: unknown, n: number, generation: number | undefined): unknown => {
    if (!ArrayBuffer.isView(values) || (values as Float32Array).length <= n) return values;
    const own = (values as Float32Array).slice(0, n);
    const data = backend.tensorMap.get(dataId);
    if (data && data.values === values) data.values = updates.get(dataId) === generation ? own : null;
    return own;
  };
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    const n = packedSize(dataId);
    if (n === null) return read(dataId);
    const generation = updates.get(dataId);
    return keep(dataId, await read(dataId), n, generation);
  };
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    const n = packedSize(dataId);
    return n === null ? readSync(dataId) : keep(dataId, readSync(dataId), n, updates.get(dataId));
  };
}

/** Submits the commands recorded so far (the compute pass ended first, as tfjs does). */
function submit(backend: WebGpuBackendInternals): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

/** A tensor over a packed buffer: `shape` covers ω ([...]) or ω and its momentum ([2n]). */
function wrap(buffer: GpuBuffer, shape: number[]): tf.Tensor {
  return tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, shape, 'float32');
}

/** ω (half 0) or the momentum (half 1) of v's packed buffer, as a tensor of its own (one Slice). */
function halfOf(buffer: GpuBuffer, v: tf.Variable, half: 0 | 1): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.slice(wrap(buffer, [2 * v.size]), half * v.size, v.size), v.shape));
}

/** Records a copy between GPU buffers in the backend's command stream, after the work queued so far. */
function copy(
  backend: WebGpuBackendInternals,
  src: GpuBuffer,
  srcOffset: number,
  dst: GpuBuffer,
  dstOffset: number,
  bytes: number,
): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.commandEncoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
}

function bufferOf(backend: WebGpuBackendInternals, t: tf.Tensor): GpuBuffer {
  backend.uploadToGPU(t.dataId); // a tensor made from values lives on the CPU until first used
  const data = backend.tensorMap.get(t.dataId);
  if (!data || data.resource == null) throw new Error(`packed SGD: tensor ${t.id} has no GPU buffer`);
  return data.resource as GpuBuffer;
}

export class PackedSgdBuffers {
  private readonly buffers = new Map<tf.Variable, GpuBuffer>();
  /** Whether the buffers hold the momentum (the slots are stale) or the slots do. */
  private momentumInBuffers = false;
  private readonly backend = internals();

  constructor(private readonly slotOf: (v: tf.Variable) => tf.Variable) {
    patchReads(this.backend);
  }

  private checkBackend(what: string): void {
    if (tf.backend() !== (this.backend as unknown))
      throw new Error(
        `packed SGD: ${what} needs the webgpu backend its buffers live on; dispose the optimiser before switching backends`,
      );
  }

  /**
   * Makes each variable's tensor wrap its packed buffer and the buffers hold the momentum, copying
   * (no dispatch) what changed since the last update: everything on the first step, ω after an
   * assignment, the momentum after the slots were written.
   */
  prepare(vars: Iterable<tf.Variable>): void {
    this.checkBackend('an update');
    const backend = this.backend;
    const rebind: [tf.Variable, GpuBuffer][] = [];
    const momentumFromSlot = (v: tf.Variable, buffer: GpuBuffer) =>
      copy(backend, bufferOf(backend, this.slotOf(v)), 0, buffer, v.size * 4, v.size * 4);
    // The slots hold the momentum: every buffer takes it, also those of variables not updated now.
    if (!this.momentumInBuffers) for (const [v, buffer] of this.buffers) if (!v.isDisposed) momentumFromSlot(v, buffer);
    let created = false;
    for (const v of vars) {
      const bytes = v.size * 4;
      let buffer = this.buffers.get(v);
      if (!buffer) {
        buffer = backend.device.createBuffer({ size: 2 * bytes, usage: STORAGE | COPY_SRC | COPY_DST });
        packedBuffers.add(buffer);
        this.buffers.set(v, buffer);
        momentumFromSlot(v, buffer);
        created = true;
      }
      if (bufferOf(backend, v) !== buffer) {
        copy(backend, bufferOf(backend, v), 0, buffer, 0, bytes);
        rebind.push([v, buffer]);
      } else if (backend.refCount(v.dataId) > 1) {
        // A clone or view shares ω's data, and would change with the update in place.
        throw new Error(
          `packed SGD: the weights ${v.name} are shared with another tensor (a clone?) that an update in place would change`,
        );
      }
    }
    // Submitted before the old tensors are released: a released buffer can be handed out again
    // and written by queue.writeBuffer, which runs ahead of commands not yet submitted.
    if (rebind.length > 0 || created || !this.momentumInBuffers) submit(backend);
    this.momentumInBuffers = true;
    for (const [v, buffer] of rebind) tf.tidy(() => v.assign(wrap(buffer, v.shape)));
  }

  /**
   * μ·buf for DARTS's unrolled step, read from v's packed buffer in one kernel (no copy into the
   * slot, which would cost a dispatch per tensor and a repack before the next update), or null
   * when the slot holds the momentum.
   */
  scaledMomentum(v: tf.Variable, scale: number): tf.Tensor | null {
    if (!this.momentumInBuffers || tf.backend() !== (this.backend as unknown)) return null;
    const buffer = this.buffers.get(v);
    if (!buffer || bufferOf(this.backend, v) !== buffer) return null;
    return tf
      .engine()
      .runKernel(
        KERNELS.packedMomentum,
        { w: v } as unknown as tf.NamedTensorMap,
        { scale } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
  }

  /** Copies the buffers' momentum into the slots, before anything reads the slots. */
  syncSlots(): void {
    if (!this.momentumInBuffers) return;
    this.checkBackend('reading the momentum');
    for (const [v, buffer] of this.buffers) tf.tidy(() => this.slotOf(v).assign(halfOf(buffer, v, 1)));
    this.momentumInBuffers = false;
  }

  /** The slots were written (a checkpoint restored): the next update starts from them. */
  markSlotsCurrent(): void {
    this.momentumInBuffers = false;
  }

  /** Bytes held outside tfjs's accounting (tf.memory does not count external buffers). */
  get bytes(): number {
    let total = 0;
    for (const b of this.buffers.values()) total += b.size;
    return total;
  }

  /**
   * Gives each still-packed variable a buffer of its own (a copy of ω; the network outlives the
   * optimiser), then frees the packed buffers once the queued work is submitted.
   */
  dispose(): void {
    const backend = this.backend;
    if (tf.backend() !== (backend as unknown)) {
      // The backend was switched: tfjs may still move still-packed weights off the webgpu
      // backend, so only the buffers no variable uses any more are freed.
      for (const [v, buffer] of this.buffers)
        if (v.isDisposed || backend.tensorMap.get(v.dataId)?.resource !== buffer) buffer.destroy();
      this.buffers.clear();
      return;
    }
    for (const [v, buffer] of this.buffers) {
      if (v.isDisposed || bufferOf(backend, v) !== buffer) continue;
      tf.tidy(() => v.assign(halfOf(buffer, v, 0)));
    }
    submit(backend);
    // destroy() waits for submitted work that uses the buffer.
    for (const buffer of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
  }
}
