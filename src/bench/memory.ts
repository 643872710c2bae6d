// What a search step holds in memory, measured: the peak of the bytes of distinct live buffers
// during a step (weights, optimiser state and constants included; a reshape, a clone or a handle
// shares its tensor's buffer, so each buffer counts once), the bytes held between steps, and on
// wasm the heap's size, which is what runs out (it grows to the largest request and never
// shrinks). Shared by bench/peak-memory.ts, `lab -- memory` and the estimate's tests.
import * as tf from '@tensorflow/tfjs';
import { SearchEngine, type BatchSource, type EngineOptions } from '../search/engine';
import type { SearchConfig } from '../search/space';
import type { InputShape } from '../search/supernet';
import { estimateStepMemory, memoryBackendOf } from '../search/memory-estimate';
import { disposeOpCaches } from '../search/ops';
import { Random } from '../util/random';

/** Bytes of the engine's distinct data buffers now, and their peak since the last reset. */
export interface BufferTracker {
  bytes(): number;
  peak(): number;
  /** Starts a new peak from the bytes live now. */
  resetPeak(): void;
}

let tracker: BufferTracker | null = null;

/**
 * Counts the engine's data buffers from now on (once per process): tfjs registers each new
 * buffer in engine.state.tensorInfo and removes it when its last tensor is freed. Install it
 * before the tensors to count are made.
 */
export function trackBuffers(): BufferTracker {
  if (tracker) return tracker;
  const info = (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { bytes: number }> } }).state
    .tensorInfo;
  const sizes = new WeakMap<object, number>();
  let bytes = 0;
  let peak = 0;
  const set = info.set.bind(info);
  const remove = info.delete.bind(info);
  info.set = (dataId, value) => {
    if (!info.has(dataId)) {
      bytes += value.bytes;
      peak = Math.max(peak, bytes);
      sizes.set(dataId, value.bytes);
    }
    return set(dataId, value);
  };
  info.delete = (dataId) => {
    if (info.has(dataId)) bytes -= sizes.get(dataId) ?? 0;
    return remove(dataId);
  };
  tracker = { bytes: () => bytes, peak: () => peak, resetPeak: () => (peak = bytes) };
  return tracker;
}

/** wasm's heap size in bytes (null on other backends). */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/** Random batches of the right shape: memory and time do not depend on the pixels. */
function randomBatches(config: SearchConfig, input: InputShape, seed: number): BatchSource {
  const rng = new Random(seed);
  const shape: [number, number, number, number] = [config.batchSize, input.height, input.width, input.channels];
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const y = Int32Array.from({ length: config.batchSize }, () => rng.int(input.classes));
  return { batchesPerEpoch: 1000, next: () => ({ x, y, shape }), getState: () => null, setState: () => undefined };
}

export interface StepMemory {
  backend: string;
  mode: string;
  channels: number;
  layers: number;
  batchSize: number;
  partialChannels: number;
  input: InputShape;
  recompute: boolean;
  steps: number;
  /** Peak bytes of distinct live buffers during the steps, what the search holds between steps included. */
  peakBytes: number;
  /** Bytes of live buffers after the last step: weights, optimiser state, constants. */
  heldBytes: number;
  /** What memory-estimate.ts expects for the peak. */
  estimateBytes: number;
  /** wasm: the heap's size after the steps (null elsewhere). */
  heapBytes: number | null;
  /** Median milliseconds a step. */
  msPerStep: number;
}

/**
 * Runs `steps` search steps of `config` (the architecture updated from the first: no warm-up
 * epochs) on the active backend and measures their memory (trackBuffers must have been called
 * before any tensor this should count was made, at the latest before this).
 */
export async function measureStepMemory(
  config: SearchConfig,
  input: InputShape,
  { steps = 1, engine: options = {} }: { steps?: number; engine?: Partial<EngineOptions> } = {},
): Promise<StepMemory> {
  const buffers = trackBuffers();
  // The constants a step makes (RReLU's pools among them) count in this config's peak.
  disposeOpCaches();
  const run = { ...config, warmupEpochs: 0, maxSteps: steps + 1 };
  const data = { train: randomBatches(run, input, 1), val: randomBatches(run, input, 2) };
  buffers.resetPeak();
  const engine = new SearchEngine(run, input, data, options);
  try {
    const times: number[] = [];
    for (let i = 0; i < steps; i++) times.push((await engine.runStep()).stepMilliseconds);
    times.sort((a, b) => a - b);
    const estimate = estimateStepMemory(run, input, memoryBackendOf(tf.getBackend()), {
      recompute: engine.recomputes,
    });
    return {
      backend: tf.getBackend(),
      mode: config.mode,
      channels: config.channels,
      layers: config.layers,
      batchSize: config.batchSize,
      partialChannels: config.partialChannels,
      input,
      recompute: engine.recomputes,
      steps,
      peakBytes: buffers.peak(),
      heldBytes: buffers.bytes(),
      estimateBytes: estimate.peakBytes,
      heapBytes: wasmHeapBytes(),
      msPerStep: times[Math.floor(times.length / 2)]!,
    };
  } finally {
    engine.dispose();
  }
}
