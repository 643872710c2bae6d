// What the time charts draw, computed from the kept snapshots of a run: one edge's weights over
// the steps, every edge's entropy, and the steps where the derived genotype changed. Plain
// functions of plain data (no DOM), so they are tested on their own.
import { deriveGenotype, type Genotype, type GenotypeEdge } from '../search/genotype';
import type { SearchConfig } from '../search/space';
import type { Snapshot } from '../store/lab';
import { stateName } from './labels';

export type CellType = 'normal' | 'reduce';

/** A line of a time chart: one value per kept snapshot. */
export interface Series {
  name: string;
  points: [step: number, value: number][];
}

function rowsOf(s: Snapshot, cell: CellType, kind: 'alpha' | 'beta'): number[][] | null {
  if (kind === 'alpha') return cell === 'normal' ? s.alphaNormal : s.alphaReduce;
  return cell === 'normal' ? s.betaNormal : s.betaReduce;
}

/** One line per candidate: its softmax weight on `edge` of `cell` at each snapshot. */
export function edgeWeightSeries(
  snapshots: readonly Snapshot[],
  cell: CellType,
  edge: number,
  kind: 'alpha' | 'beta',
  names: readonly string[],
): Series[] {
  return names.map((name, k) => ({
    name,
    points: snapshots.flatMap((s) => {
      const v = rowsOf(s, cell, kind)?.[edge]?.[k];
      return v === undefined ? [] : [[s.step, v] as [number, number]];
    }),
  }));
}

/** Entropy of a probability row divided by log(k): 1 while uniform, 0 when one candidate has it all. */
export function normalizedEntropy(row: readonly number[]): number {
  if (row.length < 2) return 0;
  let h = 0;
  for (const p of row) if (p > 0) h -= p * Math.log(p);
  return h / Math.log(row.length);
}

/** One line per edge of `cell`: the normalised entropy of its softmax(α) (or β) at each snapshot. */
export function edgeEntropySeries(
  snapshots: readonly Snapshot[],
  cell: CellType,
  kind: 'alpha' | 'beta',
  edgeNames: readonly string[],
): Series[] {
  return edgeNames.map((name, e) => ({
    name,
    points: snapshots.flatMap((s) => {
      const row = rowsOf(s, cell, kind)?.[e];
      return row ? [[s.step, normalizedEntropy(row)] as [number, number]] : [];
    }),
  }));
}

/** A change of the derived genotype between two kept snapshots. */
export interface GenotypeChange {
  /** The snapshot's step where the new genotype first shows. */
  step: number;
  /** The step of the snapshot before (the change happened after it). */
  since: number;
  /** What changed, one line each: "normal, node 2: sep_conv_3x3 · relu from c_{k-1} → dil_conv_5x5 · selu from node 0". */
  changes: string[];
}

const describeEdge = (e: GenotypeEdge) =>
  `${e.op}${e.activation ? ` · ${e.activation}` : ''} from ${stateName(e.from)}`;

/** The lines that say how genotype b differs from a, node by node. */
export function genotypeDiff(a: Genotype, b: Genotype): string[] {
  const lines: string[] = [];
  for (const cell of ['normal', 'reduce'] as const)
    for (let node = 0; node < 4; node++) {
      const before = a[cell].slice(2 * node, 2 * node + 2).map(describeEdge);
      const after = b[cell].slice(2 * node, 2 * node + 2).map(describeEdge);
      const removed = before.filter((x) => !after.includes(x));
      const added = after.filter((x) => !before.includes(x));
      if (removed.length || added.length)
        lines.push(`${cell}, node ${node}: ${removed.join(' and ') || '–'} → ${added.join(' and ') || '–'}`);
    }
  return lines;
}

/** Every step where the derived genotype changed, from the kept snapshots (cached per snapshot). */
export function genotypeChanges(
  snapshots: readonly Snapshot[],
  config: SearchConfig,
  derive: (s: Snapshot) => Genotype | null = (s) => safeDerive(s, config),
): GenotypeChange[] {
  const changes: GenotypeChange[] = [];
  let previous: { step: number; genotype: Genotype } | null = null;
  for (const s of snapshots) {
    const genotype = derive(s);
    if (!genotype) continue;
    if (previous) {
      const lines = genotypeDiff(previous.genotype, genotype);
      if (lines.length) changes.push({ step: s.step, since: previous.step, changes: lines });
    }
    previous = { step: s.step, genotype };
  }
  return changes;
}

function safeDerive(s: Snapshot, config: SearchConfig): Genotype | null {
  try {
    return deriveGenotype(s.raw, config.mode, { fixedActivation: config.activation });
  } catch {
    return null;
  }
}
