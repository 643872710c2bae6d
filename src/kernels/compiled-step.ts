// A compiled search step on webgpu: one step runs as usual while every GPU dispatch it issues is
// recorded (pipeline, buffers, uniform bytes, workgroup counts); from then on each step replays
// the record — setPipeline, setBindGroup, dispatchWorkgroups against bind groups made once, in
// one compute pass — instead of running the step's code, whose per-dispatch bookkeeping in tfjs
// cost more CPU time than the whole step on a GPU. The step is a static graph for a given
// config, so the record holds; what changes from step to step is declared by the step's code
// (step-values.ts) and written into buffers the record reads, never baked into it.
//
// What a record owns, and why:
// - scratch buffers ("temps"): taken out of tfjs's pool, so no other tensor is ever given one;
//   they keep the aliasing tfjs chose while recording, valid because replays keep its order;
// - per-step values and inputs ("slots"), and constants the step uploaded: buffers of their own,
//   written before a replay (a pooled upload target may be a temp elsewhere in the step);
// - a "home" for each variable the step gives a new tensor (Adam's α, β and moments): the
//   variable wraps it, and the replay copies the step's new value into it at the end;
// - the uniforms, deduplicated, in one arena buffer.
// Tensors that outlive the step (weights, caches) stay tfjs's: a replay first checks that each
// still holds the buffer it recorded ("guards"), and the caller records again when one does not.
import * as tf from '@tensorflow/tfjs';
import { markUpdatedInPlace } from './packed-sgd';
import { withStepValueSink, type StepValueSink } from './step-values';
import {
  BUFFER_USAGE,
  MAP_READ_MODE,
  flushTfjs,
  poolKey,
  webGpuInternals,
  wrapBuffer,
  type GpuBuffer,
  type GpuCommandEncoder,
  type GpuPipeline,
  type Program,
  type UniformField,
  type WebGpuBackend,
} from './webgpu-internals';

/** A variable the step may read or write, with a name that is the same in every engine of a config. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

/** The three scalars a search step reports. */
export interface StepOutputs {
  trainLoss: tf.Tensor;
  valLoss: tf.Tensor;
  valCorrect: tf.Tensor;
}

/** The record cannot be made (or no longer holds): `reason` says why, for the status line. */
export class CompileRefused extends Error {}

interface Binding {
  dataId: object;
  buffer: GpuBuffer;
}
interface RecordedDispatch {
  pipeline: GpuPipeline;
  shaderKey: string;
  workgroups: [number, number, number];
  /** Binding 0 is the output, then the inputs (tfjs's order). */
  storage: Binding[];
  uniform: Uint8Array;
}
type StepEvent =
  | { kind: 'value'; dataId: object; compute: () => number[]; dtype: string }
  | { kind: 'input'; dataId: object; name: string }
  | { kind: 'effect'; effect: () => void };

/** What one step did on the GPU, as recorded (before it is made replayable). */
export class StepRecording implements StepValueSink {
  readonly dispatches: RecordedDispatch[] = [];
  readonly events: StepEvent[] = [];
  /** Tensors made from CPU values during the step: the buffer they went to and their bytes. */
  readonly uploads = new Map<object, { buffer: GpuBuffer; bytes: Uint8Array }>();
  /** Why the step cannot be replayed (null: it can). */
  refused: string | null = null;
  /** Each variable's data at the start of the step. */
  readonly startData: Map<tf.Variable, object>;
  /** The step's outputs' data and buffers, taken before the caller reads and frees them. */
  outputs: { trainLoss: Binding; valLoss: Binding; valCorrect: Binding } | null = null;
  readonly recordMilliseconds: number = 0;

  constructor(
    readonly backend: WebGpuBackend,
    readonly variables: NamedVariable[],
  ) {
    this.startData = new Map(variables.map((v) => [v.variable, v.variable.dataId]));
  }

  /** Runs the step (synchronous) while recording it; returns what it returns. */
  run(step: () => StepOutputs): StepOutputs {
    const started = performance.now();
    const restore = this.hook();
    let outputs: StepOutputs;
    try {
      outputs = withStepValueSink(this, step);
    } finally {
      restore();
    }
    const binding = (t: tf.Tensor): Binding => ({ dataId: t.dataId, buffer: this.bufferOf(t.dataId)! });
    if (![outputs.trainLoss, outputs.valLoss, outputs.valCorrect].every((t) => this.bufferOf(t.dataId)))
      this.refuse('a loss of the step was computed on the CPU');
    else
      this.outputs = {
        trainLoss: binding(outputs.trainLoss),
        valLoss: binding(outputs.valLoss),
        valCorrect: binding(outputs.valCorrect),
      };
    (this as { recordMilliseconds: number }).recordMilliseconds = performance.now() - started;
    return outputs;
  }

  // StepValueSink: the step's code declares what changes from step to step.
  value(tensor: tf.Tensor, compute: () => number[]): void {
    this.events.push({ kind: 'value', dataId: tensor.dataId, compute, dtype: tensor.dtype });
  }
  input(tensor: tf.Tensor, name: string): void {
    this.events.push({ kind: 'input', dataId: tensor.dataId, name });
  }
  effect(effect: () => void): void {
    this.events.push({ kind: 'effect', effect });
  }

  private refuse(reason: string): void {
    this.refused ??= reason;
  }

  private bufferOf(dataId: object): GpuBuffer | null {
    const resource = dataOf(this.backend, dataId)?.resource as GpuBuffer | undefined;
    return resource && typeof resource.size === 'number' && typeof resource.usage === 'number' ? resource : null;
  }

  /** Wraps the backend's methods that dispatch, upload, read and copy; returns the undo. */
  private hook(): () => void {
    const backend = this.backend;
    const queue = backend.queue;
    const device = backend.device;
    const undo: (() => void)[] = [];
    const wrap = <O extends object, K extends keyof O>(owner: O, key: K, replacement: O[K]) => {
      const own = Object.prototype.hasOwnProperty.call(owner, key);
      const original = owner[key];
      owner[key] = replacement;
      undo.push(() => {
        if (own) owner[key] = original;
        else delete owner[key];
      });
    };
    let uniformBytes: Uint8Array | null = null;
    const makeUniforms = backend.makeUniforms;
    const writeBuffer = queue.writeBuffer;
    wrap(backend, 'makeUniforms', (fields: UniformField[]) => {
      queue.writeBuffer = (buffer, offset, data, dataOffset = 0, size) => {
        const bytes =
          data instanceof ArrayBuffer
            ? new Uint8Array(data, dataOffset, size)
            : new Uint8Array(data.buffer, data.byteOffset + dataOffset, size);
        uniformBytes = bytes.slice();
        writeBuffer.call(queue, buffer, offset, data, dataOffset, size);
      };
      try {
        return makeUniforms.call(backend, fields);
      } finally {
        delete (queue as Partial<typeof queue>).writeBuffer;
        if (queue.writeBuffer !== writeBuffer) queue.writeBuffer = writeBuffer;
      }
    });
    const recordAndSubmit = backend.recordAndSubmit;
    wrap(
      backend,
      'recordAndSubmit',
      (program: Program, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: UniformField[]) => {
        uniformBytes = null;
        recordAndSubmit.call(backend, program, output, inputs, uniforms);
        if (backend.activeTimers != null) this.refuse('the step was timed by tf.time or tf.profile');
        const storage: Binding[] = [];
        for (const t of [output, ...inputs]) {
          const buffer = this.bufferOf(t.dataId);
          if (!buffer) this.refuse('a program read a texture, not a buffer');
          else storage.push({ dataId: t.dataId, buffer });
        }
        if (program.pipeline instanceof Promise) this.refuse('a pipeline was still compiling');
        if (!uniformBytes) this.refuse('a program had no uniforms');
        this.dispatches.push({
          pipeline: program.pipeline as GpuPipeline,
          shaderKey: program.shaderKey,
          workgroups: [program.dispatch[0], program.dispatch[1] ?? 1, program.dispatch[2] ?? 1],
          storage,
          uniform: uniformBytes ?? new Uint8Array(0),
        });
      },
    );
    const uploadToGPU = backend.uploadToGPU;
    wrap(backend, 'uploadToGPU', (dataId: object) => {
      const data = dataOf(backend, dataId);
      const values = data && data.resource == null ? (data.values as ArrayLike<number> | null) : null;
      uploadToGPU.call(backend, dataId);
      if (!values || !data) return;
      const typed = data.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
      const buffer = this.bufferOf(dataId);
      if (buffer) this.uploads.set(dataId, { buffer, bytes: new Uint8Array(typed.buffer) });
    });
    const getBufferData = backend.getBufferData;
    wrap(backend, 'getBufferData', (buffer: GpuBuffer) => {
      this.refuse('the step read a tensor back to the CPU');
      return getBufferData.call(backend, buffer);
    });
    const createCommandEncoder = device.createCommandEncoder;
    wrap(device, 'createCommandEncoder', () => {
      const encoder = createCommandEncoder.call(device);
      const copy = encoder.copyBufferToBuffer;
      // An upload's staging copy is replaced by the record's own buffer; any other copy would be
      // state the record cannot see (packed SGD's repacking runs before the step, not in it).
      encoder.copyBufferToBuffer = (src, srcOffset, dst, dstOffset, size) => {
        if (recording && !(src.usage & BUFFER_USAGE.MAP_WRITE)) this.refuse('the step copied between GPU buffers');
        copy.call(encoder, src, srcOffset, dst, dstOffset, size);
      };
      return encoder;
    });
    // tfjs keeps using an encoder made during the step after it (a read's copy): not the step's.
    let recording = true;
    undo.push(() => (recording = false));
    return () => undo.reverse().forEach((f) => f());
  }
}

interface ReplayCommand {
  pipeline: GpuPipeline;
  bindGroup: unknown;
  x: number;
  y: number;
  z: number;
}

/**
 * A recorded step made replayable. `replay` runs the step's per-step code (random draws, step
 * counts, learning rate), writes its values and the batches, and issues the recorded dispatches.
 */
export class CompiledStep {
  readonly dispatches: number;
  /** Bytes of GPU memory the record holds beyond tfjs's accounting (temps, slots, homes, uniforms). */
  readonly bytes: number;
  private readonly backend: WebGpuBackend;
  private disposed = false;

  private constructor(
    backend: WebGpuBackend,
    private readonly commands: ReplayCommand[],
    private readonly events: { event: StepEvent; slot: GpuBuffer | null }[],
    private readonly guards: Binding[],
    private readonly variables: { variable: tf.Variable; dataId: object }[],
    private readonly writeBacks: { from: GpuBuffer; to: GpuBuffer; bytes: number }[],
    /** Persistent tensors the record writes: their CPU caches go stale at every replay. */
    private readonly written: object[],
    private readonly outputs: GpuBuffer[],
    private readonly readback: GpuBuffer,
    /** Record-owned buffers, by what they are (temps go back to tfjs's pool when freed). */
    private readonly owned: { temps: GpuBuffer[]; others: GpuBuffer[] },
    /** The variables given a home, and the homes (to give them buffers of their own when freed). */
    private readonly homes: { variable: tf.Variable; home: GpuBuffer }[],
    /** What a replay wrote into its slots last time (tests compare it with a fresh recording). */
    readonly lastValues: (Uint8Array | null)[],
    readonly description: StepDescription,
  ) {
    this.backend = backend;
    this.dispatches = commands.length;
    this.bytes = [...owned.temps, ...owned.others].reduce((n, b) => n + b.size, 0);
  }

  /**
   * Makes a recording replayable. Call it after the step's outputs were read and freed (its
   * scratch buffers are then back in tfjs's pool, for the record to take). Throws
   * CompileRefused (and leaves nothing behind) when the step cannot be replayed.
   */
  static async finalize(recording: StepRecording): Promise<CompiledStep> {
    if (recording.refused) throw new CompileRefused(recording.refused);
    if (!recording.outputs) throw new CompileRefused('the step reported no outputs');
    const { backend } = recording;
    const device = backend.device;
    const description = describeRecording(recording);
    const created: GpuBuffer[] = [];
    const newBuffer = (size: number, usage: number) => {
      const b = device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage });
      created.push(b);
      return b;
    };
    const STORAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
    const takenTemps: GpuBuffer[] = [];
    const homes: { variable: tf.Variable; home: GpuBuffer }[] = [];
    try {
      flushTfjs(backend);
      // Variables the step gave a new tensor: each gets a home the replay copies its new value into.
      const rebound = new Map<object, GpuBuffer>();
      const writeBacks: { from: GpuBuffer; to: GpuBuffer; bytes: number }[] = [];
      const encoder = device.createCommandEncoder();
      const moved: { variable: tf.Variable; home: GpuBuffer }[] = [];
      for (const { variable } of recording.variables) {
        const start = recording.startData.get(variable)!;
        if (variable.dataId === start) continue;
        if (variable.dtype !== 'float32') throw new CompileRefused(`variable ${variable.name} is not float32`);
        const from = dataOf(backend, variable.dataId)?.resource as GpuBuffer | undefined;
        if (!from) throw new CompileRefused(`variable ${variable.name} has no GPU buffer`);
        const home = newBuffer(variable.size * 4, STORAGE);
        rebound.set(start, home);
        writeBacks.push({ from, to: home, bytes: variable.size * 4 });
        encoder.copyBufferToBuffer(from, 0, home, 0, variable.size * 4);
        moved.push({ variable, home });
      }
      device.queue.submit([encoder.finish()]);
      for (const m of moved) {
        tf.tidy(() => m.variable.assign(wrapBuffer(m.home, m.variable.shape)));
        homes.push(m);
      }
      flushTfjs(backend);

      // Each binding's buffer in the replayable record.
      const slotOf = new Map<object, GpuBuffer>();
      const events = recording.events.map((event) => {
        if (event.kind === 'effect') return { event, slot: null };
        const upload = recording.uploads.get(event.dataId);
        if (!upload) return { event, slot: null };
        const slot = newBuffer(upload.bytes.length, STORAGE);
        slotOf.set(event.dataId, slot);
        return { event, slot };
      });
      for (const { event, slot } of events)
        if (event.kind !== 'effect' && !slot)
          throw new CompileRefused(`a per-step ${event.kind} never reached the GPU (computed on the CPU?)`);
      const constants = new Map<string, GpuBuffer>();
      const guards = new Map<object, GpuBuffer>();
      const temps = new Set<GpuBuffer>();
      const alive = (b: Binding) => dataOf(backend, b.dataId)?.resource === b.buffer;
      const resolved = recording.dispatches.map((d) =>
        d.storage.map((b) => {
          const home = rebound.get(b.dataId);
          if (home) return home;
          const slot = slotOf.get(b.dataId);
          if (slot) return slot;
          const upload = recording.uploads.get(b.dataId);
          if (upload && !alive(b)) {
            const key = hex(upload.bytes);
            let c = constants.get(key);
            if (!c) {
              c = newBuffer(upload.bytes.length, STORAGE);
              device.queue.writeBuffer(c, 0, upload.bytes);
              constants.set(key, c);
            }
            return c;
          }
          if (alive(b)) {
            guards.set(b.dataId, b.buffer);
            return b.buffer;
          }
          temps.add(b.buffer);
          return b.buffer;
        }),
      );
      // Scratch buffers leave tfjs's pool for the record. One that a live tensor holds now is
      // fine only if that tensor is one the record guards (it holds the value the step left).
      const guardedBuffers = new Set(guards.values());
      for (const buffer of temps) {
        if (guardedBuffers.has(buffer)) continue;
        const free = backend.bufferManager.freeBuffers.get(poolKey(buffer));
        const index = free ? free.indexOf(buffer) : -1;
        if (index < 0) throw new CompileRefused('a scratch buffer of the step is held by a tensor that outlives it');
        free!.splice(index, 1);
        backend.bufferManager.numFreeBuffers--;
        backend.bufferManager.numBytesAllocated -= buffer.size;
        takenTemps.push(buffer);
      }

      // Uniforms: each distinct block once, at an offset the device allows, in one buffer.
      const align = device.limits.minUniformBufferOffsetAlignment || 256;
      const blockAt = new Map<string, number>();
      const blocks: { at: number; bytes: Uint8Array }[] = [];
      let arenaSize = 0;
      const offsets = recording.dispatches.map((d) => {
        const key = hex(d.uniform);
        let at = blockAt.get(key);
        if (at === undefined) {
          at = Math.ceil(arenaSize / align) * align;
          arenaSize = at + d.uniform.length;
          blockAt.set(key, at);
          blocks.push({ at, bytes: d.uniform });
        }
        return at;
      });
      const arena = newBuffer(Math.max(align, arenaSize), BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST);
      const arenaBytes = new Uint8Array(arena.size);
      for (const b of blocks) arenaBytes.set(b.bytes, b.at);
      device.queue.writeBuffer(arena, 0, arenaBytes);

      // Bind groups, made once; a validation error refuses the record (tfjs would drop it silently).
      device.pushErrorScope('validation');
      const layouts = new Map<GpuPipeline, unknown>();
      const commands = recording.dispatches.map((d, i) => {
        let layout = layouts.get(d.pipeline);
        if (!layout) layouts.set(d.pipeline, (layout = d.pipeline.getBindGroupLayout(0)));
        const entries = resolved[i]!.map((buffer, binding) => ({ binding, resource: { buffer } }));
        entries.push({
          binding: entries.length,
          resource: { buffer: arena, offset: offsets[i]!, size: d.uniform.length },
        } as never);
        const bindGroup = device.createBindGroup({ layout, entries });
        return { pipeline: d.pipeline, bindGroup, x: d.workgroups[0], y: d.workgroups[1], z: d.workgroups[2] };
      });
      const error = await device.popErrorScope();
      if (error) throw new CompileRefused(`WebGPU refused the record: ${error.message}`);

      const outputs = [recording.outputs.trainLoss, recording.outputs.valLoss, recording.outputs.valCorrect].map(
        (o) => o.buffer,
      );
      const readback = newBuffer(16, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST);
      // A replay writes these tensors' data behind tfjs's back: their CPU caches go stale.
      const written = new Set<object>();
      for (const d of recording.dispatches) if (guards.has(d.storage[0]!.dataId)) written.add(d.storage[0]!.dataId);
      for (const h of homes) written.add(h.variable.dataId);
      const others = created.slice();
      const compiled = new CompiledStep(
        backend,
        commands,
        events,
        [...guards].map(([dataId, buffer]) => ({ dataId, buffer })),
        recording.variables.map((v) => ({ variable: v.variable, dataId: v.variable.dataId })),
        writeBacks,
        [...written],
        outputs,
        readback,
        { temps: takenTemps, others },
        homes,
        events.map(() => null),
        description,
      );
      return compiled;
    } catch (e) {
      // Give the variables buffers of their own again, then free what was made.
      restoreHomes(homes);
      for (const b of takenTemps) returnToPool(backend, b);
      flushTfjs(backend);
      for (const b of created) b.destroy();
      throw e instanceof CompileRefused ? e : new CompileRefused((e as Error).message);
    }
  }

  /** What the last replay issued, described as describeRecording describes a step (tests compare the two). */
  describeReplay(): StepDescription {
    return {
      ...this.description,
      events: this.events.map(({ event }, i) => {
        const bytes = this.lastValues[i];
        if (event.kind === 'effect') return 'effect';
        const shown = bytes ? hex(bytes) : 'unused';
        return event.kind === 'value' ? `value:${shown}` : `input:${event.name}:${shown}`;
      }),
    };
  }

  /** Why this record cannot replay now (a variable was given another tensor, a cache freed), or null. */
  staleReason(): string | null {
    if (this.disposed) return 'the record was freed';
    for (const v of this.variables)
      if (v.variable.isDisposed || v.variable.dataId !== v.dataId)
        return `variable ${v.variable.name} was assigned anew`;
    for (const g of this.guards)
      if (dataOf(this.backend, g.dataId)?.resource !== g.buffer) return 'a tensor the step reads was freed or moved';
    return null;
  }

  /**
   * One step: the per-step code in recorded order (its values written into the slots), the
   * batches, then the recorded dispatches in one compute pass. Returns the step's three scalars.
   * Check staleReason() first: a replay of a stale record computes garbage.
   */
  async replay(
    inputs: Record<string, Float32Array | Int32Array>,
  ): Promise<{ trainLoss: number; valLoss: number; valCorrect: number }> {
    const { backend } = this;
    const device = backend.device;
    flushTfjs(backend);
    this.events.forEach(({ event, slot }, i) => {
      if (event.kind === 'effect') {
        event.effect();
        return;
      }
      let bytes: Uint8Array;
      if (event.kind === 'value') {
        const values = event.compute();
        const typed = event.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
        bytes = new Uint8Array(typed.buffer);
      } else {
        const given = inputs[event.name];
        if (!given) throw new Error(`compiled step: no input "${event.name}"`);
        bytes = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
      }
      if (bytes.length !== slot!.size)
        throw new Error(`compiled step: ${bytes.length} bytes for a slot of ${slot!.size}`);
      device.queue.writeBuffer(slot!, 0, bytes);
      this.lastValues[i] = bytes.slice();
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    let pipeline: GpuPipeline | null = null;
    for (const c of this.commands) {
      if (c.pipeline !== pipeline) pass.setPipeline((pipeline = c.pipeline));
      pass.setBindGroup(0, c.bindGroup);
      pass.dispatchWorkgroups(c.x, c.y, c.z);
    }
    pass.end();
    for (const w of this.writeBacks) encoder.copyBufferToBuffer(w.from, 0, w.to, 0, w.bytes);
    this.outputs.forEach((b, i) => encoder.copyBufferToBuffer(b, 0, this.readback, 4 * i, 4));
    device.queue.submit([encoder.finish()]);
    for (const dataId of this.written) {
      const data = dataOf(backend, dataId);
      if (data) markUpdatedInPlace(dataId, data);
    }
    await this.readback.mapAsync(MAP_READ_MODE);
    const [trainLoss, valLoss, valCorrect] = new Float32Array(this.readback.getMappedRange().slice(0, 12));
    this.readback.unmap();
    return { trainLoss: trainLoss!, valLoss: valLoss!, valCorrect: valCorrect! };
  }

  /** Frees the record: variables get buffers of their own again, scratch buffers go back to tfjs's pool. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const backend = this.backend;
    if (tf.getBackend() === 'webgpu' && (tf.backend() as unknown) === backend) {
      restoreHomes(this.homes.filter((h) => !h.variable.isDisposed));
      flushTfjs(backend);
      for (const b of this.owned.temps) returnToPool(backend, b);
    } else for (const b of this.owned.temps) b.destroy();
    // destroy() waits for submitted work that uses the buffer.
    for (const b of this.owned.others) b.destroy();
  }
}

/** Gives each variable that wraps a home a tfjs buffer of its own with the same values. */
function restoreHomes(homes: { variable: tf.Variable; home: GpuBuffer }[]): void {
  for (const { variable, home } of homes)
    if (!variable.isDisposed)
      tf.tidy(() =>
        variable.assign(
          tf.tensor({ buffer: home, zeroCopy: false } as unknown as tf.TensorLike, variable.shape, 'float32'),
        ),
      );
}

/** A tensor data's record in the backend, or undefined once it is freed (tfjs's get() would try to fetch it from another backend). */
function dataOf(backend: WebGpuBackend, dataId: object) {
  return backend.tensorMap.has(dataId) ? backend.tensorMap.get(dataId) : undefined;
}

function returnToPool(backend: WebGpuBackend, buffer: GpuBuffer): void {
  const key = poolKey(buffer);
  const pool = backend.bufferManager.freeBuffers;
  if (!pool.has(key)) pool.set(key, []);
  pool.get(key)!.push(buffer);
  backend.bufferManager.numFreeBuffers++;
  backend.bufferManager.numBytesAllocated += buffer.size;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/**
 * A recording in a form that two engines of the same config and seed can compare: what a step
 * issued, with buffers named by what they hold (a variable's name, a temp's first use, a value's
 * bytes) instead of by identity, which differs from engine to engine.
 */
export interface StepDescription {
  dispatches: { shaderKey: string; workgroups: [number, number, number]; uniform: string; buffers: string[] }[];
  /** The per-step values and inputs, in order: 'value:<bytes>' or 'input:<name>:<bytes>', and effects. */
  events: string[];
  /** The variables whose tensors the step replaced (the replay copies their new values home). */
  moved: string[];
}

export function describeRecording(recording: StepRecording): StepDescription {
  const names = new Map<object, string>();
  for (const v of recording.variables) names.set(recording.startData.get(v.variable)!, `var:${v.name}`);
  for (const v of recording.variables)
    if (v.variable.dataId !== recording.startData.get(v.variable)) names.set(v.variable.dataId, `var:${v.name}@end`);
  const eventIndex = new Map<object, number>();
  const events = recording.events.map((e, i) => {
    if (e.kind === 'effect') return 'effect';
    eventIndex.set(e.dataId, i);
    const bytes = recording.uploads.get(e.dataId)?.bytes;
    return e.kind === 'value'
      ? `value:${bytes ? hex(bytes) : 'unused'}`
      : `input:${e.name}:${bytes ? hex(bytes) : 'unused'}`;
  });
  const others = new Map<object, string>();
  const alive = (b: Binding) => dataOf(recording.backend, b.dataId)?.resource === b.buffer;
  const nameOf = (b: Binding): string => {
    const known = names.get(b.dataId);
    if (known) return known;
    const event = eventIndex.get(b.dataId);
    if (event !== undefined) return `step-value:${event}`;
    const upload = recording.uploads.get(b.dataId);
    if (upload) return `constant:${hex(upload.bytes)}`;
    let name = others.get(b.dataId);
    if (!name) others.set(b.dataId, (name = `${alive(b) ? 'kept' : 'temp'}:${others.size}`));
    return name;
  };
  return {
    dispatches: recording.dispatches.map((d) => ({
      shaderKey: d.shaderKey,
      workgroups: d.workgroups,
      uniform: hex(d.uniform),
      buffers: d.storage.map(nameOf),
    })),
    events,
    moved: recording.variables
      .filter((v) => v.variable.dataId !== recording.startData.get(v.variable))
      .map((v) => v.name),
  };
}

/** Whether this backend can record and replay a step; else why not. */
export function compiledStepSupport(): { backend: WebGpuBackend } | { problem: string } {
  return webGpuInternals();
}

export type { GpuCommandEncoder };
