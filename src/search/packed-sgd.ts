// SGD in one GPU dispatch per weight tensor on webgpu. A tfjs program writes one output buffer,
// so the update of ω and of its momentum buffer took two dispatches (LabSgdMomentum, then
// LabSgdApply): ~1,600 of a paper-size step's ~19,000. Here each weight tensor and its momentum
// live in one GPU buffer, [ω; momentum], which the variable's tensor wraps (its shape covers ω);
// LabSgdPacked updates both halves in place with PyTorch's arithmetic, unchanged.
//
// The momentum slots of SgdMomentum stay the format everything else reads (checkpoints,
// DARTS's unrolled step): `syncSlots` copies the buffers' momentum into them before a read, and
// `markSlotsCurrent` after they are written. A variable assigned new values since the last step
// (a checkpoint restored, the unrolled step's weights) is packed again before the next update.
import * as tf from '@tensorflow/tfjs';

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
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void } | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

/** Buffers that hold [ω; momentum]: LabSgdPacked refuses any other output (it would write past its end). */
const packedBuffers = new WeakSet<object>();

export function isPackedBuffer(resource: unknown): boolean {
  return typeof resource === 'object' && resource !== null && packedBuffers.has(resource);
}

let enabled = true;
/** Turns packing off: SGD then runs LabSgdMomentum and LabSgdApply (tests compare the two). */
export function setPackedSgd(on: boolean): void {
  enabled = on;
}

/** Whether this backend updates ω in packed buffers (webgpu; the caller checks the fused kernels). */
export function packedSgdSupported(): boolean {
  return enabled && tf.getBackend() === 'webgpu';
}

function internals(): WebGpuBackendInternals {
  return tf.backend() as unknown as WebGpuBackendInternals;
}

const readsTrimmed = new WeakSet<object>();
/**
 * A read of a packed tensor downloads its whole buffer: trim it to the tensor's own values, so
 * that `await w.data()` gives ω alone (checkpoints, exports and tests read weights this way).
 */
function trimReads(backend: WebGpuBackendInternals): void {
  if (readsTrimmed.has(backend)) return;
  readsTrimmed.add(backend);
  const size = (dataId: object) => backend.tensorMap.get(dataId)?.shape.reduce((p, d) => p * d, 1) ?? Infinity;
  const trim = (values: unknown, n: number) => (ArrayBuffer.isView(values) && (values as Float32Array).length > n ? (values as Float32Array).subarray(0, n) : values);
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => trim(await read(dataId), size(dataId));
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => trim(readSync(dataId), size(dataId));
}

/** Records a copy between GPU buffers in the backend's command stream, after the work queued so far. */
function copy(backend: WebGpuBackendInternals, src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, bytes: number): void {
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
    trimReads(this.backend);
  }

  /**
   * Makes each variable's tensor wrap its packed buffer and the buffers hold the momentum, copying
   * (no dispatch) what changed since the last update: everything on the first step, ω after an
   * assignment, the momentum after the slots were written.
   */
  prepare(vars: Iterable<tf.Variable>): void {
    const backend = this.backend;
    const rebind: [tf.Variable, GpuBuffer][] = [];
    for (const v of vars) {
      const bytes = v.size * 4;
      let buffer = this.buffers.get(v);
      if (!buffer) {
        buffer = backend.device.createBuffer({ size: 2 * bytes, usage: STORAGE | COPY_SRC | COPY_DST });
        packedBuffers.add(buffer);
        this.buffers.set(v, buffer);
      }
      if (!this.momentumInBuffers) copy(backend, bufferOf(backend, this.slotOf(v)), 0, buffer, bytes, bytes);
      if (bufferOf(backend, v) !== buffer) {
        copy(backend, bufferOf(backend, v), 0, buffer, 0, bytes);
        rebind.push([v, buffer]);
      }
    }
    // Submitted before the old tensors are released: a released buffer can be handed out again
    // and written by queue.writeBuffer, which runs ahead of commands not yet submitted.
    if (rebind.length > 0 || !this.momentumInBuffers) {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    this.momentumInBuffers = true;
    for (const [v, buffer] of rebind) {
      const wrapper = tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, v.shape, 'float32');
      v.assign(wrapper);
      wrapper.dispose();
    }
  }

  /** Copies the buffers' momentum into the slots, before anything reads the slots. */
  syncSlots(): void {
    if (!this.momentumInBuffers) return;
    tf.tidy(() => {
      for (const [v, buffer] of this.buffers) {
        const both = tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, [2 * v.size], 'float32');
        this.slotOf(v).assign(tf.reshape(tf.slice(both, v.size, v.size), v.shape));
      }
    });
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
    for (const [v, buffer] of this.buffers) {
      if (v.isDisposed || bufferOf(backend, v) !== buffer) continue;
      const both = tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, [2 * v.size], 'float32');
      const own = tf.tidy(() => tf.reshape(tf.slice(both, 0, v.size), v.shape));
      both.dispose();
      v.assign(own);
      own.dispose();
    }
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    // destroy() waits for submitted work that uses the buffer.
    for (const buffer of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
  }
}
