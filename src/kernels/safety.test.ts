// Backend patches (safety.ts) on the CPU backends: wasm's Identity shares its input's buffer.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../platform/node';

describe('wasm Identity (tf.clone, and every tensor the tape saves)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('shares the buffer by reference count: a clone makes no buffer and outlives its original', async () => {
    await useBackend('wasm');
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    // wasm's own Identity copied: one more buffer here, a full activation per saved tensor in a step.
    expect(tf.memory().numDataBuffers - before).toBe(0);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tf.memory().numDataBuffers).toBe(before);
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(before - 1);
  });
});
