import { describe, expect, it } from 'vitest';
import { appendThinned, thinEvenly } from './lab';

describe('appendThinned', () => {
  it('keeps everything up to the limit', () => {
    let list: number[] = [];
    for (let i = 0; i < 10; i++) list = appendThinned(list, i, 10);
    expect(list).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('thins older entries beyond it and always keeps the newest', () => {
    let list: number[] = [];
    for (let i = 0; i < 1000; i++) list = appendThinned(list, i, 50);
    expect(list.length).toBeLessThanOrEqual(50);
    expect(list[0]).toBe(0);
    expect(list[list.length - 1]).toBe(999);
    for (let i = 1; i < list.length; i++) expect(list[i]!).toBeGreaterThan(list[i - 1]!);
  });
});

describe('thinEvenly', () => {
  it('keeps a short history as it is and spreads a long one evenly, first and last kept', () => {
    expect(thinEvenly([1, 2, 3], 5)).toEqual([1, 2, 3]);
    const steps = Array.from({ length: 101 }, (_, i) => i);
    expect(thinEvenly(steps, 5)).toEqual([0, 25, 50, 75, 100]);
    const many = thinEvenly(
      Array.from({ length: 20000 }, (_, i) => i + 1),
      4000,
    );
    expect(many).toHaveLength(4000);
    expect(many[0]).toBe(1);
    expect(many[3999]).toBe(20000);
    for (let i = 1; i < many.length; i++) expect(many[i]!).toBeGreaterThan(many[i - 1]!);
  });
});
