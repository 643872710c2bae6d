// The cell diagram's labels never cover each other, for any genotype: a seeded search over random
// cells with the longest labels the space has.
import { describe, expect, it } from 'vitest';
import { Random } from '../util/random';
import { ACTIVATIONS, OPS, isParamOp } from '../search/space';
import type { GenotypeEdge } from '../search/genotype';
import { BASE_Y, LABEL_HEIGHT, edgeGeometry, placeLabels } from './cell-layout';

/** About the width system-ui gives these labels at 10.5 px (6.2 px a character), a bit over. */
const width = (text: string) => text.length * 6.4;

function randomCell(rng: Random): GenotypeEdge[] {
  const edges: GenotypeEdge[] = [];
  for (let node = 0; node < 4; node++) {
    const inputs = Array.from({ length: node + 2 }, (_, i) => i);
    const a = inputs.splice(rng.int(inputs.length), 1)[0]!;
    const b = inputs[rng.int(inputs.length)]!;
    for (const from of [a, b]) {
      const op = OPS.filter((o) => o !== 'none')[rng.int(OPS.length - 1)]!;
      edges.push({ op, from, activation: isParamOp(op) ? ACTIVATIONS[rng.int(ACTIVATIONS.length)]! : null });
    }
  }
  return edges;
}

describe('cell diagram labels', () => {
  it('never overlap, over 2,000 random cells', () => {
    const rng = new Random(21);
    let moved = 0;
    for (let n = 0; n < 2000; n++) {
      const g = edgeGeometry(randomCell(rng), width);
      for (let i = 0; i < g.length; i++) {
        const a = g[i]!;
        // A label stays on its arc's side of the line, at or beyond the arc's top.
        expect(a.sign * (a.labelY - BASE_Y)).toBeGreaterThanOrEqual(a.h - 1e-9);
        if (a.labelY !== BASE_Y + a.sign * a.h) moved++;
        for (let j = i + 1; j < g.length; j++) {
          const b = g[j]!;
          const apartX = Math.abs(a.labelX - b.labelX) * 2 >= a.width + 8 + b.width + 8;
          const apartY = Math.abs(a.labelY - b.labelY) >= LABEL_HEIGHT;
          expect(apartX || apartY, `cell ${n}: “${a.label}” and “${b.label}”`).toBe(true);
        }
      }
    }
    expect(moved, 'some labels had to move (long labels two states apart)').toBeGreaterThan(0);
  });

  it('leaves labels that do not collide where they are', () => {
    const boxes = [
      { x: 0, y: 50, width: 40, height: 16, side: -1 as const },
      { x: 100, y: 50, width: 40, height: 16, side: -1 as const },
    ];
    expect(placeLabels(boxes, 100)).toEqual([50, 50]);
    expect(placeLabels([boxes[0]!, { ...boxes[1]!, x: 30 }], 100)).toEqual([50, 32]);
  });
});
