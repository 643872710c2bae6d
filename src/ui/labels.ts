// Names of cell states and edges, as the heatmaps and cell diagrams show them.
import { EDGE_LIST, candidateLabel, candidateOps, ACTIVATIONS, type SearchMode } from '../search/space';

/** State s of a cell: 0 = c_{k-2}, 1 = c_{k-1}, 2.. = intermediate node s - 2. */
export function stateName(s: number): string {
  if (s === 0) return 'c_{k-2}';
  if (s === 1) return 'c_{k-1}';
  return `node ${s - 2}`;
}

/** "c_{k-1} → node 2": edge i of the 14 in DARTS order. */
export function edgeName(i: number): string {
  const e = EDGE_LIST[i]!;
  return `${stateName(e.from)} → node ${e.node}`;
}

export const EDGE_NAMES: string[] = EDGE_LIST.map((_, i) => edgeName(i));

export function alphaColumns(mode: SearchMode): string[] {
  return candidateOps(mode).map(candidateLabel);
}

export const BETA_COLUMNS: string[] = [...ACTIVATIONS];

/** Splits "c_{k-1} → node 2" into runs of plain text and subscripts, for SVG tspans. */
export function subscriptRuns(name: string): { text: string; sub: boolean }[] {
  const runs: { text: string; sub: boolean }[] = [];
  const re = /_\{([^}]*)\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(name))) {
    if (m.index > last) runs.push({ text: name.slice(last, m.index), sub: false });
    runs.push({ text: m[1]!.replace('-', '−'), sub: true });
    last = m.index + m[0].length;
  }
  if (last < name.length) runs.push({ text: name.slice(last), sub: false });
  return runs;
}

export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

/**
 * Epochs as the run counter shows them: whole ones plainly ("3"), parts of one to two significant
 * digits ("0.024"), others to one decimal ("2.5"). A 12-step run of a 500-step epoch covers
 * 0.024 epochs, and says so, rather than "1 / 1" while it runs and "0 / 1" when it is done.
 */
export function formatEpochs(epochs: number): string {
  if (!Number.isFinite(epochs) || epochs < 0) return '–';
  if (Number.isInteger(epochs)) return String(epochs);
  if (epochs < 1) return String(Number(epochs.toPrecision(2)));
  return String(Math.floor(epochs * 10) / 10);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}
