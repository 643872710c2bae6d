// A cell diagram's geometry: the states on a line, an arc per kept edge, and where the labels go: each at the top of its arc, moved outward from the
// baseline, a row at a time, while it would cover a label already placed. Long labels
// ("sep_conv_5x5 · leaky_relu") are wider than two states' spacing, so arcs of one span two
// states apart would otherwise put their labels on top of each other.

import type { GenotypeEdge } from '../search/genotype';

export const W = 480;
const MARGIN_X = 26;
const SPACING = (W - 2 * MARGIN_X) / 6;
const UP_MAX = 5; // largest span above (c_{k-2} → node 3)
const DOWN_MAX = 4; // largest span below (c_{k-1} → node 3)
/** A state's circle radius. */
export const R = 12;

export const arcHeight = (span: number) => 24 + 20 * (span - 1);
export const BASE_Y = arcHeight(UP_MAX) + 16;
export const H = BASE_Y + arcHeight(DOWN_MAX) + 18;
/** A label's box: its text's width plus this, and this high. */
const LABEL_PAD = 8;
export const LABEL_HEIGHT = 16;

/** Position on the line: 0 c_{k-2}, 1 c_{k-1}, 2..5 nodes 0..3, 6 c_{k}. */
export const posX = (pos: number) => MARGIN_X + pos * SPACING;

export function edgeText(e: GenotypeEdge): string {
  return e.activation ? `${e.op} · ${e.activation}` : e.op;
}

/** One kept edge's arc and label. Arcs from even states go above the line, from odd ones below. */
export interface EdgeGeometry {
  edge: GenotypeEdge;
  index: number;
  node: number;
  source: number;
  target: number;
  up: boolean;
  /** The arc's height above (or below) the line, and which: -1 above, 1 below. */
  h: number;
  sign: -1 | 1;
  label: string;
  /** The label text's width, and its centre. */
  width: number;
  labelX: number;
  labelY: number;
}

/** The arcs and labels of a cell's 8 kept edges; `textWidth` measures a label's text. */
export function edgeGeometry(edges: readonly GenotypeEdge[], textWidth: (text: string) => number): EdgeGeometry[] {
  const arcs = edges.map((edge, index) => {
    const node = Math.floor(index / 2);
    const source = edge.from;
    const target = node + 2;
    const up = source % 2 === 0;
    const label = edgeText(edge);
    return {
      edge,
      index,
      node,
      source,
      target,
      up,
      h: arcHeight(target - source),
      sign: (up ? -1 : 1) as -1 | 1,
      label,
      width: textWidth(label),
      labelX: (posX(source) + posX(target)) / 2,
    };
  });
  const ys = placeLabels(
    arcs.map((a) => ({
      x: a.labelX,
      y: BASE_Y + a.sign * a.h,
      width: a.width + LABEL_PAD,
      height: LABEL_HEIGHT,
      side: a.sign,
    })),
    BASE_Y,
  );
  return arcs.map((a, i) => ({ ...a, labelY: ys[i]! }));
}

export interface LabelBox {
  /** Centre x, and the y of the arc's top (the label's centre unless moved). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** -1: the arc is above the baseline (labels move up); 1: below (labels move down). */
  side: -1 | 1;
}

const GAP = 2;

function overlaps(a: LabelBox, ay: number, b: LabelBox, by: number): boolean {
  return Math.abs(a.x - b.x) * 2 < a.width + b.width + 2 * GAP && Math.abs(ay - by) * 2 < a.height + b.height + 2 * GAP;
}

/**
 * The y of each label's centre, in the order given (`baseY`: the baseline's y); no two labels'
 * boxes (plus a gap) overlap.
 */
export function placeLabels(boxes: readonly LabelBox[], baseY: number): number[] {
  const ys: number[] = new Array<number>(boxes.length);
  const placed: number[] = [];
  // Nearest the baseline first: low arcs keep their places, high ones move out of their way.
  const away = (i: number) => Math.abs(boxes[i]!.y - baseY);
  const order = boxes.map((_, i) => i).sort((i, j) => away(i) - away(j) || i - j);
  for (const i of order) {
    const b = boxes[i]!;
    let y = b.y;
    for (let tries = 0; tries < boxes.length + 1; tries++) {
      const hit = placed.find((j) => overlaps(b, y, boxes[j]!, ys[j]!));
      if (hit === undefined) break;
      // Just past the label it hit, outward.
      const other = boxes[hit]!;
      y = ys[hit]! + b.side * ((b.height + other.height) / 2 + GAP);
    }
    ys[i] = y;
    placed.push(i);
  }
  return ys;
}
