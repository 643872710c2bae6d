import { describe, expect, it } from 'vitest';
import { appendThinned } from './lab';

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
