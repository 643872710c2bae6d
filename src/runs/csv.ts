// A stored run as tables for a spreadsheet or pandas: its steps (one row per step), and its α/β
// history in long form (one row per snapshot, cell, edge and candidate), so
// `pd.read_csv(f).pivot_table(...)` gives any view. Comma separated, one header row, '\n' line ends;
// numbers as JavaScript writes them (the shortest text that reads back as the same double:
// NaN, Infinity and -Infinity included), an empty field where a value does not exist.
import { ACTIVATIONS, EDGE_LIST, candidateLabel, candidateOps } from '../search/space';
import { softmax } from '../search/genotype';
import type { ArchSnapshot, RunRecord } from './format';

/** A run's tables: its steps (metricsCsv), its α/β history (weightsCsv). */
export type CsvTable = 'metrics' | 'weights';

type Cell = string | number | null | undefined;

function csvLine(cells: readonly Cell[]): string {
  return cells
    .map((c) => {
      if (c === null || c === undefined) return '';
      const text = String(c);
      return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',');
}

function table(header: readonly string[], rows: Iterable<readonly Cell[]>): string {
  const lines = [csvLine(header)];
  for (const r of rows) lines.push(csvLine(r));
  return lines.join('\n') + '\n';
}

export const SEARCH_METRICS_HEADER = [
  'step',
  'epoch',
  'train_loss',
  'val_loss',
  'batch_accuracy',
  'val_accuracy',
  'val_images',
  'images_per_second',
  'learning_rate',
  'seconds',
] as const;

export const TRAIN_METRICS_HEADER = [
  'step',
  'epoch',
  'train_loss',
  'train_accuracy',
  'test_accuracy',
  'test_images',
  'images_per_second',
  'learning_rate',
  'seconds',
] as const;

/**
 * The run's steps. A search: the validation batch's loss and accuracy, and `val_accuracy` (the
 * held-out scoring) on the steps it was scored at; a re-training: its test scorings likewise.
 */
export function metricsCsv(run: RunRecord): string {
  if (run.kind === 'train') {
    const scored = new Map((run.training?.evaluations ?? []).map((e) => [e.step, e]));
    return table(
      TRAIN_METRICS_HEADER,
      run.trainMetrics.map((m) => {
        const e = scored.get(m.step);
        return [
          m.step,
          m.epoch,
          m.trainLoss,
          m.trainAccuracy,
          e?.testAccuracy,
          e?.testCount,
          m.imagesPerSecond,
          m.learningRate,
          m.seconds,
        ];
      }),
    );
  }
  const scored = new Map(run.heldOut.map((e) => [e.step, e]));
  return table(
    SEARCH_METRICS_HEADER,
    run.metrics.map((m) => {
      const e = scored.get(m.step);
      return [
        m.step,
        m.epoch,
        m.trainLoss,
        m.valLoss,
        m.valAccuracy,
        e?.testAccuracy,
        e?.testCount,
        m.imagesPerSecond,
        m.learningRate,
        m.seconds,
      ];
    }),
  );
}

export const WEIGHTS_HEADER = [
  'step',
  'epoch',
  'cell',
  'edge',
  'from',
  'to',
  'weights',
  'candidate',
  'raw',
  'softmax',
] as const;

/** An edge's input as the paper names it: the cell's two inputs, or an earlier node. */
export function inputName(from: number): string {
  return from === 0 ? 'c_{k-2}' : from === 1 ? 'c_{k-1}' : `node ${from - 2}`;
}

/**
 * α (and β, and PC-DARTS's edge weights, where the run has them) at every stored snapshot.
 * `raw` is the weight before softmax (empty where only the softmax was stored); `softmax` is the
 * share within its edge (α over the ops, β over the activations) or, for edge weights, among the
 * node's incoming edges.
 */
export function weightsCsv(run: RunRecord): string {
  const ops = candidateOps(run.mode).map(candidateLabel);
  const rows: Cell[][] = [];
  const add = (s: ArchSnapshot, cell: string, kind: 'alpha' | 'beta', values: number[][] | null, names: string[]) => {
    values?.forEach((row, edge) => {
      const shares = s.kind === 'raw' ? softmax(row) : row;
      const e = EDGE_LIST[edge]!;
      row.forEach((v, i) =>
        rows.push([
          s.step,
          s.epoch,
          cell,
          edge,
          inputName(e.from),
          `node ${e.node}`,
          kind,
          names[i] ?? `column ${i}`,
          s.kind === 'raw' ? v : null,
          shares[i],
        ]),
      );
    });
  };
  const addEdges = (s: ArchSnapshot, cell: string, values: number[] | null) => {
    if (!values) return;
    for (const e of EDGE_LIST) {
      const siblings = EDGE_LIST.filter((x) => x.node === e.node);
      const shares = softmax(siblings.map((x) => values[x.index]!));
      rows.push([
        s.step,
        s.epoch,
        cell,
        e.index,
        inputName(e.from),
        `node ${e.node}`,
        'edge',
        '',
        values[e.index],
        shares[siblings.indexOf(e)],
      ]);
    }
  };
  for (const s of run.snapshots) {
    add(s, 'normal', 'alpha', s.alphaNormal, ops);
    add(s, 'reduce', 'alpha', s.alphaReduce, ops);
    add(s, 'normal', 'beta', s.betaNormal, [...ACTIVATIONS]);
    add(s, 'reduce', 'beta', s.betaReduce, [...ACTIVATIONS]);
    addEdges(s, 'normal', s.edgeNormal);
    addEdges(s, 'reduce', s.edgeReduce);
  }
  return table(WEIGHTS_HEADER, rows);
}

/** Reads a table this module wrote back into rows of text (for tests and checks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}
