import { describe, expect, it } from 'vitest';
import { formatEpochs } from './labels';
import { formatStepTick, stepTicks } from './curves';

describe('the run counter and step axes', () => {
  it('says how much of the data a run covered, never more than it did', () => {
    // A 12-step run of a 500-step epoch, as it goes and when done: never "1 / 1" then "0 / 1".
    expect([1, 6, 12].map((s) => formatEpochs(s / 500))).toEqual(['0.002', '0.012', '0.024']);
    expect(formatEpochs(3)).toBe('3');
    // Floors past 1, so a run short of its end never reads as complete.
    expect(formatEpochs(9.99)).toBe('9.9');
    expect(formatEpochs(NaN)).toBe('–');
  });

  it('puts only whole steps on a step axis, in any domain', () => {
    for (const hi of [1, 2, 3, 7, 12, 99, 1000, 9775, 12_345]) {
      for (const count of [3, 4, 5]) {
        const ticks = stepTicks([0, hi], count);
        expect(ticks.length).toBeGreaterThan(0);
        for (const t of ticks) {
          expect(Number.isInteger(t)).toBe(true);
          expect(formatStepTick(t)).not.toMatch(/[mµ.]/);
        }
      }
    }
    expect(formatStepTick(1500)).toBe('1,500');
    expect(formatStepTick(20_000)).toBe('20k');
  });
});
