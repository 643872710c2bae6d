import { describe, expect, it } from 'vitest';
import { moveCursor, type CellRef } from './Heatmap';

// The α heatmap's shape: two panels (normal, reduce) of 14 edges × 8 ops.
const SIZE = { panels: 2, rows: 14, columns: 8 };
const keys = { up: [-1, 0], down: [1, 0], left: [0, -1], right: [0, 1] } as const;
const press = (c: CellRef | null, ...moves: (keyof typeof keys)[]) =>
  moves.reduce<CellRef | null>((at, m) => moveCursor(at, [...keys[m]], SIZE), c);

describe('the heatmap keyboard cursor', () => {
  it('starts at the first cell, and rows stop at the edges', () => {
    expect(press(null, 'down')).toEqual({ p: 0, r: 0, k: 0 });
    expect(press({ p: 0, r: 0, k: 3 }, 'up')).toEqual({ p: 0, r: 0, k: 3 });
    expect(press({ p: 1, r: 13, k: 3 }, 'down')).toEqual({ p: 1, r: 13, k: 3 });
  });

  it('walks one row across both panels’ columns, and back, without leaving the grid', () => {
    let at: CellRef | null = { p: 0, r: 5, k: 0 };
    const seen: string[] = [];
    for (let i = 0; i < 2 * 8 + 3; i++) {
      seen.push(`${at!.p}:${at!.k}`);
      at = press(at, 'right');
    }
    expect(seen.slice(0, 16)).toEqual([
      ...Array.from({ length: 8 }, (_, k) => `0:${k}`),
      ...Array.from({ length: 8 }, (_, k) => `1:${k}`),
    ]);
    expect(at).toEqual({ p: 1, r: 5, k: 7 }); // stays at the last cell
    for (let i = 0; i < 20; i++) at = press(at, 'left');
    expect(at).toEqual({ p: 0, r: 5, k: 0 });
  });
});
