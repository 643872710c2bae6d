// What a search step computes on the CPU that changes from step to step: its batches, the
// learning rate, Adam's bias corrections, RReLU's random windows, the optimisers' step counts.
// The step's code makes each such value here instead of as a plain number, so that a compiled
// step (compiled-step.ts), which replays the step's GPU work without running its code, knows
// what to compute again and where to write it. Outside a recording these are plain tensors.
import * as tf from '@tensorflow/tfjs';

/** How a recording learns of the step's per-step values (compiled-step.ts implements it). */
export interface StepValueSink {
  /** `tensor` holds values `compute` gives again on every replay, in this order. */
  value(tensor: tf.Tensor, compute: () => number[]): void;
  /** `tensor` holds the caller's input `name` (a batch), given to every replay. */
  input(tensor: tf.Tensor, name: string): void;
  /** `effect` changes state the step's code keeps on the CPU; a replay runs it again, in this order. */
  effect(effect: () => void): void;
}

let sink: StepValueSink | null = null;

/** Runs `body` (synchronous) with `recorder` told of every per-step value it makes. */
export function withStepValueSink<T>(recorder: StepValueSink, body: () => T): T {
  const outside = sink;
  sink = recorder;
  try {
    return body();
  } finally {
    sink = outside;
  }
}

/** A number that changes from step to step (`compute` may draw random numbers or count steps). */
export function stepScalar(compute: () => number): tf.Scalar {
  const once = () => [compute()];
  const values = once();
  const t = tf.scalar(values[0]!);
  sink?.value(t, once);
  return t;
}

/** Integers that change from step to step, as an int32 tensor (and their values, for checks). */
export function stepInts(compute: () => number[]): { tensor: tf.Tensor1D; values: number[] } {
  const values = compute();
  const tensor = tf.tensor1d(values, 'int32');
  sink?.value(tensor, compute);
  return { tensor, values };
}

/** A change to CPU-side state that every step makes (an optimiser's step count). */
export function stepEffect(effect: () => void): void {
  effect();
  sink?.effect(effect);
}

/** One of the step's inputs (a batch's images or labels): `name` identifies it to a replay. */
export function stepInput<R extends tf.Rank>(
  name: string,
  values: Float32Array | Int32Array,
  shape: number[],
  dtype: 'float32' | 'int32',
): tf.Tensor<R> {
  const t = tf.tensor(values, shape as tf.ShapeMap[R], dtype) as tf.Tensor<R>;
  sink?.input(t, name);
  return t;
}
