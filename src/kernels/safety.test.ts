// Backend patches (safety.ts) on the CPU backends: wasm's Identity shares its input's buffer.
// And what the GPU watcher tells the user, on a fake device.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../platform/node';
import { watchDevice, type DeviceFailure, type MinimalGpuDevice } from './safety';

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

describe('what a failing GPU tells the user', () => {
  type Listener = Parameters<NonNullable<MinimalGpuDevice['addEventListener']>>[1];
  function fakeDevice() {
    let listener: Listener = () => {};
    let lose: (info: { reason: string; message: string }) => void = () => {};
    const device: MinimalGpuDevice = {
      addEventListener: (_type, l) => (listener = l),
      lost: new Promise((resolve) => (lose = resolve)),
    };
    return {
      device,
      fail: (name: string, message: string) => listener({ error: { message, constructor: { name } } }),
      lose,
    };
  }

  it('an out-of-memory error names what to lower; a validation error does not', () => {
    for (const [name, kind, remedy] of [
      ['GPUOutOfMemoryError', 'out-of-memory', true],
      ['GPUValidationError', 'validation', false],
    ] as const) {
      const seen: DeviceFailure[] = [];
      const { device, fail } = fakeDevice();
      watchDevice(device, (f) => seen.push(f));
      fail(name, 'no room');
      fail(name, 'again');
      expect(seen.map((f) => f.kind)).toEqual([kind]);
      expect(seen[0]!.message).toMatch(/^WebGPU .* error: no room\. Results after this point would be wrong/);
      expect(/lower the batch size or set Recompute cells to on/.test(seen[0]!.message)).toBe(remedy);
    }
  });

  it('a lost device offers resuming, and what to change if memory was short; a disposed one is silent', async () => {
    const seen: DeviceFailure[] = [];
    const lost = fakeDevice();
    watchDevice(lost.device, (f) => seen.push(f));
    lost.lose({ reason: 'unknown', message: 'the driver reset' });
    const disposed = fakeDevice();
    watchDevice(disposed.device, (f) => seen.push(f));
    disposed.lose({ reason: 'destroyed', message: '' });
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.map((f) => f.kind)).toEqual(['device-lost']);
    expect(seen[0]!.message).toMatch(
      /^The GPU device was lost \(unknown: the driver reset\)\. Resume from the last checkpoint, .*lower the batch size or set Recompute cells to on first\.$/,
    );
  });
});
