// The backward pass that frees as it goes (tape.ts): tfjs's numbers, a fraction of its memory,
// and safe to run inside another backward pass (a checkpoint's recomputation).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradients, tapeRecording, variableGrads } from './tape';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// cpu: reading synchronously is safe here (the lint rule is for webgpu in a worker).
// eslint-disable-next-line no-restricted-syntax
const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

/** Bytes of the engine's distinct buffers, and their peak while `f` runs. */
function peakBytes(f: () => void): number {
  const info = (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { bytes: number }> } }).state
    .tensorInfo;
  const set = info.set;
  const remove = info.delete;
  let bytes = 0;
  let peak = 0;
  const sizes = new WeakMap<object, number>();
  info.set = function (id, value) {
    if (!info.has(id)) {
      bytes += value.bytes;
      peak = Math.max(peak, bytes);
      sizes.set(id, value.bytes);
    }
    return set.call(info, id, value);
  };
  info.delete = function (id) {
    if (info.has(id)) bytes -= sizes.get(id) ?? 0;
    return remove.call(info, id);
  };
  try {
    f();
  } finally {
    info.set = set;
    info.delete = remove;
  }
  return peak;
}

describe('the freeing backward pass', () => {
  it('relies on tfjs-core 4.22 internals that are still there', () => {
    const engine = tf.engine() as unknown as Record<string, unknown> & { state: Record<string, unknown> };
    for (const method of ['startTape', 'endTape', 'scopedRun', 'tidy']) expect(typeof engine[method]).toBe('function');
    expect(engine.state).toHaveProperty('gradientDepth', 0);
    expect(engine.state).toHaveProperty('kernelDepth', 0);
    let node: Record<string, unknown> | undefined;
    const v = tf.variable(tf.ones([2]));
    const { value, grads } = gradients(() => {
      const y = tf.sum(tf.sin(v));
      node = (engine.state.activeTape as Record<string, unknown>[])[0];
      expect(tapeRecording()).toBe(true);
      return y;
    }, [v]);
    tf.dispose([value, ...grads, v] as tf.Tensor[]);
    expect(tapeRecording()).toBe(false);
    expect(node).toMatchObject({ inputs: expect.any(Object), outputs: expect.any(Array), saved: expect.any(Array) });
    expect(typeof node!.gradient).toBe('function');
  });

  it("gives tfjs's gradients bit for bit, each reader's gradients summed in the same order", () => {
    const w = tf.variable(tf.tensor2d([0.3, -1.2, 2.5, 0.7, -0.1, 1.9], [2, 3]), true, 'tape-w');
    const x = tf.tensor2d([1.5, -0.5, 0.25, 2, -3, 0.125], [3, 2]);
    const f = (): tf.Scalar => {
      const h = tf.matMul(w, x);
      // h has three readers, w two.
      return tf.sum(tf.add(tf.mul(tf.tanh(h), tf.sigmoid(h)), tf.mul(tf.square(h), tf.sum(w)))) as tf.Scalar;
    };
    const ours = variableGrads(f, [w]);
    const theirs = tf.variableGrads(f, [w]);
    expect(bits(ours.value)).toEqual(bits(theirs.value));
    expect(bits(ours.grads['tape-w']!)).toEqual(bits(theirs.grads['tape-w']!));
    tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads), w, x]);
  });

  it('holds one gradient at a time along a chain, where tfjs holds them all', () => {
    const x = tf.variable(tf.randomNormal([100_000]), true, 'tape-chain');
    const chain = (): tf.Scalar => {
      let y: tf.Tensor = x;
      for (let i = 0; i < 20; i++) y = tf.sin(y);
      return tf.sum(y) as tf.Scalar;
    };
    const run = (grads: typeof variableGrads) => () => {
      const { value, grads: g } = grads(chain, [x]);
      tf.dispose([value, ...Object.values(g)]);
    };
    const tensor = 4e5;
    const ours = peakBytes(run(variableGrads));
    const theirs = peakBytes(run(tf.variableGrads));
    // Both keep the 20 sines' inputs for the backward pass; tfjs also every gradient until the end.
    expect(theirs - ours).toBeGreaterThan(15 * tensor);
    expect(ours).toBeLessThan(25 * tensor);
    x.dispose();
  });

  it('runs inside a customGrad gradient (a recomputation), leaving the outer pass whole', () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'tape-nested');
    const x = tf.tensor1d([0.1, 0.2, 0.3]);
    const recomputed = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, wi, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      save([xi]);
      return {
        value: tf.mul(tf.sin(xi), wi),
        gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => {
          const { value, grads } = gradients(() => tf.mul(tf.sin(xs!), w), [xs!, w], dy);
          value.dispose();
          return grads as tf.Tensor[];
        },
      };
    });
    const before = tf.memory().numTensors;
    for (const grads of [variableGrads, tf.variableGrads]) {
      const nested = grads(() => tf.sum(tf.square(recomputed(x, w) as tf.Tensor)), [w]);
      const plain = tf.variableGrads(() => tf.sum(tf.square(tf.mul(tf.sin(x), w))), [w]);
      expect(bits(nested.grads['tape-nested']!)).toEqual(bits(plain.grads['tape-nested']!));
      tf.dispose([nested.value, plain.value, ...Object.values(nested.grads), ...Object.values(plain.grads)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
  });
});
