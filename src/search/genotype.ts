// Genotypes: the DARTS derivation rule (with A-DARTS activations and PC-DARTS edge weights),
// the genotype JSON file (format version 1, docs/formats.md), DARTS's `Genotype(...)` string, and
// strict validation of imported files that names the first thing wrong.

import {
  ACTIVATIONS,
  EDGE_LIST,
  EDGES,
  NODES,
  OPS,
  SEARCH_MODES,
  candidateOps,
  isActivation,
  isParamOp,
  type ActivationName,
  type CandidateOp,
  type OpName,
  type SearchMode,
} from './space';

// ---------------------------------------------------------------------------------------------
// Types

/** One kept edge of a cell: the op, its input state (0, 1 = cell inputs) and the activation in
 * front of it (conv ops only; null for pools and skip_connect). */
export interface GenotypeEdge {
  /** Never 'none'. */
  op: OpName;
  from: number;
  activation: ActivationName | null;
}

/** A discrete cell pair. Entries 2i and 2i+1 feed intermediate node i (state i + 2). */
export interface Genotype {
  normal: GenotypeEdge[];
  normalConcat: number[];
  reduce: GenotypeEdge[];
  reduceConcat: number[];
}

/** Raw (pre-softmax) architecture weights, 14 rows each in DARTS edge order. */
export interface ArchWeights {
  /** 14 × 8 (OPS), or 14 × 40 (candidateOps('nonfactorized')). */
  alphaNormal: number[][];
  alphaReduce: number[][];
  /** 14 × 9 (ACTIVATIONS). */
  betaNormal?: number[][] | null;
  betaReduce?: number[][] | null;
  /** PC-DARTS edge-normalisation weights, raw, 14 entries. */
  edgeNormal?: number[] | null;
  edgeReduce?: number[] | null;
}

export interface GenotypeSpace {
  ops: string[];
  activations: string[];
  nodes: number;
}

export interface GenotypeRun {
  mode?: SearchMode;
  dataset?: string;
  config?: Record<string, unknown>;
  backend?: string;
  steps?: number;
  epochs?: number;
  seconds?: number;
  metrics?: Record<string, unknown>;
  createdAt?: string;
  [extra: string]: unknown;
}

export interface GenotypeFile {
  format: 'factorized-nas-genotype';
  version: 1;
  space: GenotypeSpace;
  normal: GenotypeEdge[];
  normalConcat: number[];
  reduce: GenotypeEdge[];
  reduceConcat: number[];
  darts: string;
  weights?: ArchWeights;
  run?: GenotypeRun;
  [extra: string]: unknown;
}

export const GENOTYPE_FORMAT = 'factorized-nas-genotype' as const;
export const GENOTYPE_VERSION = 1 as const;
/** The only concat the DARTS cell space uses: all four intermediate nodes. */
export const CONCAT: readonly number[] = [2, 3, 4, 5];
/** Entries per cell: 2 per intermediate node. */
export const CELL_ENTRIES = 2 * NODES;

/** A genotype, a DARTS string or a genotype file is wrong; the message names the field. */
export class GenotypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenotypeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Derivation

/** Numerically stable softmax of one row. */
export function softmax(row: readonly number[]): number[] {
  if (row.length === 0) return [];
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  const exps = row.map((x) => Math.exp(x - max));
  let sum = 0;
  for (const e of exps) sum += e;
  return exps.map((e) => e / sum);
}

/** Index of the first maximum (ties keep the lower index, as numpy/torch argmax do). */
function argmax(row: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

function checkRows(rows: unknown, name: string, count: number, widths: number[]): number[][] {
  if (!Array.isArray(rows) || rows.length !== count)
    throw new GenotypeError(
      `weights.${name}: expected ${count} rows, got ${Array.isArray(rows) ? rows.length : describe(rows)}`,
    );
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || !widths.includes(row.length))
      throw new GenotypeError(
        `weights.${name}[${r}]: expected ${widths.join(' or ')} numbers, got ${Array.isArray(row) ? row.length : describe(row)}`,
      );
    row.forEach((x, k) => {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new GenotypeError(`weights.${name}[${r}][${k}]: expected a finite number, got ${describe(x)}`);
    });
  });
  return rows as number[][];
}

function checkEdgeWeights(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.length !== EDGES)
    throw new GenotypeError(
      `weights.${name}: expected ${EDGES} numbers, got ${Array.isArray(v) ? v.length : describe(v)}`,
    );
  v.forEach((x, k) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new GenotypeError(`weights.${name}[${k}]: expected a finite number, got ${describe(x)}`);
  });
  return v as number[];
}

/**
 * Per-edge op weights after softmax, times PC-DARTS's edge weights when given: for each node,
 * the raw edge weights of its incoming edges are softmaxed together and scale those edges' rows
 * (PC-DARTS model_search.py genotype()).
 */
function edgeScaledWeights(alpha: number[][], edge: number[] | null | undefined): number[][] {
  const w = alpha.map((row) => softmax(row));
  if (!edge) return w;
  let start = 0;
  for (let node = 0; node < NODES; node++) {
    const n = node + 2;
    const e = softmax(edge.slice(start, start + n));
    for (let j = 0; j < n; j++) w[start + j] = w[start + j]!.map((x) => x * e[j]!);
    start += n;
  }
  return w;
}

/**
 * DARTS's `_parse`: for each node, rank its incoming edges by the strongest non-'none' op weight
 * (sorted descending; a stable sort, so ties keep the lower input first), keep the top 2, and for
 * each take the strongest non-'none' candidate (ties: the first column).
 */
function parseCell(
  w: number[][],
  candidates: CandidateOp[],
  activationOf: (edgeIndex: number) => ActivationName,
): GenotypeEdge[] {
  const gene: GenotypeEdge[] = [];
  const allowed = candidates.map((c) => c.op !== 'none');
  const strength = (row: number[]) => {
    let best = -Infinity;
    row.forEach((x, k) => {
      if (allowed[k] && x > best) best = x;
    });
    return best;
  };
  let start = 0;
  for (let node = 0; node < NODES; node++) {
    const n = node + 2;
    const rows = w.slice(start, start + n);
    const order = Array.from({ length: n }, (_, j) => j);
    const s = rows.map(strength);
    order.sort((a, b) => s[b]! - s[a]! || a - b); // descending, ties: lower index first
    for (const j of order.slice(0, 2)) {
      const row = rows[j]!;
      let kBest = -1;
      row.forEach((x, k) => {
        if (allowed[k] && (kBest < 0 || x > row[kBest]!)) kBest = k;
      });
      const c = candidates[kBest]!;
      let activation: ActivationName | null = null;
      if (isParamOp(c.op)) activation = c.activation ?? activationOf(start + j);
      gene.push({ op: c.op, from: j, activation });
    }
    start += n;
  }
  return gene;
}

export interface DeriveOptions {
  /** darts mode: the fixed activation (the run's `activation`); wins over β. */
  fixedActivation?: ActivationName;
}

/**
 * The DARTS derivation rule on raw α (and β / PC-DARTS edge weights), per mode:
 * - factorized, fixed-beta: a conv op's activation is the argmax of its edge's β row
 *   (factorized requires β; fixed-beta without β means uniform β, i.e. the fixed activation
 *   option or 'relu', the first activation);
 * - darts: options.fixedActivation, else argmax of β when given, else 'relu';
 * - nonfactorized: α has 40 columns (candidateOps('nonfactorized')); a combined op becomes its
 *   conv op plus its activation.
 * 'none' is never chosen. Concat is [2, 3, 4, 5].
 */
export function deriveGenotype(weights: ArchWeights, mode: SearchMode, options: DeriveOptions = {}): Genotype {
  if (!(SEARCH_MODES as readonly string[]).includes(mode))
    throw new GenotypeError(`mode: must be one of ${SEARCH_MODES.join(', ')}, got ${describe(mode)}`);
  if (options.fixedActivation !== undefined && !isActivation(options.fixedActivation))
    throw new GenotypeError(`fixedActivation: unknown activation ${describe(options.fixedActivation)}`);
  const candidates = candidateOps(mode);
  const width = candidates.length;
  const cells = [
    { alpha: 'alphaNormal', beta: 'betaNormal', edge: 'edgeNormal' },
    { alpha: 'alphaReduce', beta: 'betaReduce', edge: 'edgeReduce' },
  ] as const;
  const genes = cells.map(({ alpha, beta, edge }) => {
    const a = checkRows(weights[alpha], alpha, EDGES, [width]);
    const bRaw = weights[beta];
    const b = bRaw == null ? null : checkRows(bRaw, beta, EDGES, [ACTIVATIONS.length]);
    const eRaw = weights[edge];
    const e = eRaw == null ? null : checkEdgeWeights(eRaw, edge);
    if (mode === 'factorized' && !b) throw new GenotypeError(`weights.${beta}: required in factorized mode`);
    const fallback: ActivationName = options.fixedActivation ?? 'relu';
    const activationOf = (i: number): ActivationName => {
      if (mode === 'darts' && options.fixedActivation) return options.fixedActivation;
      if (b) return ACTIVATIONS[argmax(b[i]!)]!;
      return fallback;
    };
    return parseCell(edgeScaledWeights(a, e), candidates, activationOf);
  });
  return { normal: genes[0]!, normalConcat: [...CONCAT], reduce: genes[1]!, reduceConcat: [...CONCAT] };
}

// ---------------------------------------------------------------------------------------------
// DARTS string

function pyList(items: string[]): string {
  return `[${items.join(', ')}]`;
}

function pyCell(edges: readonly GenotypeEdge[]): string {
  return pyList(edges.map((e) => `('${e.op}', ${e.from})`));
}

/** Exactly DARTS's namedtuple repr (concat printed as a list, as DARTS's genotypes.py writes it). */
export function toDartsString(g: Genotype): string {
  return (
    `Genotype(normal=${pyCell(g.normal)}, normal_concat=${pyList(g.normalConcat.map(String))}, ` +
    `reduce=${pyCell(g.reduce)}, reduce_concat=${pyList(g.reduceConcat.map(String))})`
  );
}

type PyValue = string | number | PyValue[] | { range: [number, number] };

/** A tiny reader for the Python literals a DARTS genotype repr contains. */
class PyReader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly path: string,
  ) {}

  fail(why: string): never {
    const near = this.text.slice(this.pos, this.pos + 20);
    throw new GenotypeError(`${this.path}: ${why} at character ${this.pos}${near ? ` (near "${near}")` : ''}`);
  }
  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }
  eat(s: string): boolean {
    this.ws();
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }
  expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected "${s}"`);
  }
  ident(): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }
  value(): PyValue {
    const c = this.peek();
    if (c === "'" || c === '"') {
      const end = this.text.indexOf(c, this.pos + 1);
      if (end < 0) this.fail('unterminated string');
      const s = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return s;
    }
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      this.pos++;
      const items: PyValue[] = [];
      while (!this.eat(close)) {
        items.push(this.value());
        if (!this.eat(',')) {
          this.expect(close);
          break;
        }
      }
      return items;
    }
    if (/[-0-9]/.test(c)) {
      const m = /^-?\d+/.exec(this.text.slice(this.pos));
      if (!m) this.fail('expected a number');
      this.pos += m[0].length;
      return Number(m[0]);
    }
    if (this.text.startsWith('range', this.pos)) {
      this.pos += 'range'.length;
      this.expect('(');
      const a = this.value();
      this.expect(',');
      const b = this.value();
      this.eat(',');
      this.expect(')');
      if (typeof a !== 'number' || typeof b !== 'number') this.fail('range() takes two integers');
      return { range: [a, b] };
    }
    return this.fail('expected a list, tuple, string, integer or range(...)');
  }
}

const CELL_KEYS = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;

/**
 * Parses DARTS's `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5],
 * reduce=[...], reduce_concat=range(2, 6))` (list or range concat, any whitespace, keyword
 * arguments in any order). Plain DARTS has no activations: conv ops get 'relu'. Validated like
 * a genotype file; errors name `path` (default "darts").
 */
export function parseDartsString(s: string, path = 'darts'): Genotype {
  if (typeof s !== 'string') throw new GenotypeError(`${path}: expected a string, got ${describe(s)}`);
  const r = new PyReader(s, path);
  r.ws();
  if (!r.eat('Genotype')) r.fail('expected "Genotype("');
  r.expect('(');
  const found: Partial<Record<(typeof CELL_KEYS)[number], PyValue>> = {};
  while (!r.eat(')')) {
    const key = r.ident();
    if (!(CELL_KEYS as readonly string[]).includes(key))
      r.fail(`unknown field "${key}" (expected ${CELL_KEYS.join(', ')})`);
    if (key in found) r.fail(`field "${key}" given twice`);
    r.expect('=');
    found[key as (typeof CELL_KEYS)[number]] = r.value();
    if (!r.eat(',')) {
      r.expect(')');
      break;
    }
  }
  r.ws();
  if (r.pos < s.length) r.fail('unexpected text after the closing ")"');
  for (const key of CELL_KEYS) if (!(key in found)) throw new GenotypeError(`${path}: missing ${key}=`);

  const cell = (key: 'normal' | 'reduce'): GenotypeEdge[] => {
    const v = found[key]!;
    if (!Array.isArray(v)) throw new GenotypeError(`${path}.${key}: expected a list of (op, input) tuples`);
    const edges = v.map((item, i): GenotypeEdge => {
      if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || typeof item[1] !== 'number')
        throw new GenotypeError(`${path}.${key}[${i}]: expected an (op, input) tuple like ('sep_conv_3x3', 0)`);
      const op = item[0];
      return { op: op as OpName, from: item[1], activation: isParamOp(op) ? 'relu' : null };
    });
    validateCell(edges, `${path}.${key}`);
    return edges;
  };
  const concat = (key: 'normal_concat' | 'reduce_concat'): number[] => {
    const v = found[key]!;
    let list: unknown[];
    if (Array.isArray(v)) list = v;
    else if (typeof v === 'object' && 'range' in v) {
      list = [];
      for (let i = v.range[0]; i < v.range[1]; i++) list.push(i);
    } else throw new GenotypeError(`${path}.${key}: expected a list or range(...)`);
    validateConcat(list, `${path}.${key}`);
    return list as number[];
  };
  return {
    normal: cell('normal'),
    normalConcat: concat('normal_concat'),
    reduce: cell('reduce'),
    reduceConcat: concat('reduce_concat'),
  };
}

// ---------------------------------------------------------------------------------------------
// Reference genotypes (quark0/darts cnn/genotypes.py; plain DARTS, so conv ops use relu)

function deepFreeze<T>(g: T): T {
  if (typeof g === 'object' && g !== null) {
    for (const v of Object.values(g)) deepFreeze(v);
    Object.freeze(g);
  }
  return g;
}

function plain(edges: [OpName, number][]): GenotypeEdge[] {
  return edges.map(([op, from]) => ({ op, from, activation: isParamOp(op) ? 'relu' : null }));
}

/** DARTS (first order), cnn/genotypes.py DARTS_V1. */
export const DARTS_V1: Genotype = deepFreeze({
  normal: plain([
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 0],
    ['skip_connect', 0],
    ['sep_conv_3x3', 1],
    ['skip_connect', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 0],
    ['skip_connect', 2],
  ]),
  normalConcat: [2, 3, 4, 5],
  reduce: plain([
    ['max_pool_3x3', 0],
    ['max_pool_3x3', 1],
    ['skip_connect', 2],
    ['max_pool_3x3', 0],
    ['max_pool_3x3', 0],
    ['skip_connect', 2],
    ['skip_connect', 2],
    ['avg_pool_3x3', 0],
  ]),
  reduceConcat: [2, 3, 4, 5],
});

/** DARTS (second order), cnn/genotypes.py DARTS_V2 (= DARTS): 3.35M params at C=36, 20 layers. */
export const DARTS_V2: Genotype = deepFreeze({
  normal: plain([
    ['sep_conv_3x3', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 1],
    ['skip_connect', 0],
    ['skip_connect', 0],
    ['dil_conv_3x3', 2],
  ]),
  normalConcat: [2, 3, 4, 5],
  reduce: plain([
    ['max_pool_3x3', 0],
    ['max_pool_3x3', 1],
    ['skip_connect', 2],
    ['max_pool_3x3', 1],
    ['max_pool_3x3', 0],
    ['skip_connect', 2],
    ['skip_connect', 2],
    ['max_pool_3x3', 1],
  ]),
  reduceConcat: [2, 3, 4, 5],
});

// ---------------------------------------------------------------------------------------------
// Genotype file

function cloneEdges(edges: readonly GenotypeEdge[]): GenotypeEdge[] {
  return edges.map((e) => ({ ...e }));
}

function cloneWeights(w: ArchWeights): ArchWeights {
  const out: ArchWeights = {
    alphaNormal: w.alphaNormal.map((r) => [...r]),
    alphaReduce: w.alphaReduce.map((r) => [...r]),
  };
  if (w.betaNormal !== undefined) out.betaNormal = w.betaNormal && w.betaNormal.map((r) => [...r]);
  if (w.betaReduce !== undefined) out.betaReduce = w.betaReduce && w.betaReduce.map((r) => [...r]);
  if (w.edgeNormal !== undefined) out.edgeNormal = w.edgeNormal && [...w.edgeNormal];
  if (w.edgeReduce !== undefined) out.edgeReduce = w.edgeReduce && [...w.edgeReduce];
  return out;
}

/** The space block every file carries. */
export function spaceInfo(): GenotypeSpace {
  return { ops: [...OPS], activations: [...ACTIVATIONS], nodes: NODES };
}

/** The genotype JSON file (format version 1, docs/formats.md). */
export function toGenotypeFile(g: Genotype, extra: { weights?: ArchWeights; run?: GenotypeRun } = {}): GenotypeFile {
  const file: GenotypeFile = {
    format: GENOTYPE_FORMAT,
    version: GENOTYPE_VERSION,
    space: spaceInfo(),
    normal: cloneEdges(g.normal),
    normalConcat: [...g.normalConcat],
    reduce: cloneEdges(g.reduce),
    reduceConcat: [...g.reduceConcat],
    darts: toDartsString(g),
  };
  if (extra.weights) file.weights = cloneWeights(extra.weights);
  if (extra.run) file.run = JSON.parse(JSON.stringify(extra.run)) as GenotypeRun;
  return file;
}

/** The Genotype part of a file (or a copy of a Genotype). */
export function genotypeOf(g: Genotype | GenotypeFile): Genotype {
  return {
    normal: cloneEdges(g.normal),
    normalConcat: [...g.normalConcat],
    reduce: cloneEdges(g.reduce),
    reduceConcat: [...g.reduceConcat],
  };
}

/**
 * JSON with two-space indentation, but each array of numbers/strings/nulls (a weight row, a
 * concat) and each object of such values that `oneLine` accepts on one line. JSON.parse gives
 * the value back. Shared by genotype files and run files.
 */
export function formatCompactJson(value: unknown, oneLine: (obj: object, size: number) => boolean): string {
  const isPrimitive = (v: unknown) => v === null || typeof v !== 'object';
  const fmt = (v: unknown, indent: string): string => {
    if (isPrimitive(v)) return JSON.stringify(v) ?? 'null';
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (v.every(isPrimitive)) return `[${v.map((x) => JSON.stringify(x) ?? 'null').join(', ')}]`;
      return `[\n${v.map((x) => inner + fmt(x, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    if (entries.every(([, x]) => isPrimitive(x)) && oneLine(v as object, entries.length))
      return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${JSON.stringify(x) ?? 'null'}`).join(', ')} }`;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${fmt(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return fmt(value, '') + '\n';
}

/** JSON text of a genotype file: each edge entry and each weight row on one line. */
export function stringifyGenotypeFile(file: GenotypeFile): string {
  return formatCompactJson(file, (obj) => 'op' in obj && 'from' in obj);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one edge entry (op, from, activation) of a cell at `path` (e.g. genotype.normal[3]). */
function validateEdge(e: Record<string, unknown>, i: number, path: string): void {
  const op = e.op;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw new GenotypeError(`${path}.op: unknown op ${describe(op)} (expected one of ${OPS.join(', ')})`);
  if (op === 'none')
    throw new GenotypeError(`${path}.op: "none" is not allowed in a genotype (the derivation never keeps it)`);
  const node = Math.floor(i / 2); // 0..3, state node + 2
  const from = e.from;
  if (typeof from !== 'number' || !Number.isInteger(from))
    throw new GenotypeError(`${path}.from: expected an integer input index, got ${describe(from)}`);
  if (from < 0 || from > node + 1)
    throw new GenotypeError(
      `${path}.from: node ${node + 2} (entry ${i}) can only take inputs 0..${node + 1}, got ${from}`,
    );
  const act = e.activation;
  if (isParamOp(op)) {
    if (act === null || act === undefined)
      throw new GenotypeError(`${path}.activation: ${op} needs an activation (one of ${ACTIVATIONS.join(', ')})`);
    if (typeof act !== 'string' || !isActivation(act))
      throw new GenotypeError(
        `${path}.activation: unknown activation ${describe(act)} (expected one of ${ACTIVATIONS.join(', ')})`,
      );
  } else if (act !== null && act !== undefined) {
    throw new GenotypeError(`${path}.activation: ${op} has no parameters; activation must be null`);
  }
}

function validateCell(v: unknown, path: string): void {
  if (!Array.isArray(v))
    throw new GenotypeError(`${path}: expected an array of ${CELL_ENTRIES} entries (2 per node), got ${describe(v)}`);
  if (v.length !== CELL_ENTRIES)
    throw new GenotypeError(`${path}: expected ${CELL_ENTRIES} entries (2 per node), got ${v.length}`);
  v.forEach((e, i) => {
    if (!isPlainObject(e))
      throw new GenotypeError(`${path}[${i}]: expected an object {op, from, activation}, got ${describe(e)}`);
    validateEdge(e, i, `${path}[${i}]`);
  });
}

function validateConcat(v: unknown, path: string): void {
  const ok = Array.isArray(v) && v.length === CONCAT.length && v.every((x, i) => x === CONCAT[i]);
  if (!ok)
    throw new GenotypeError(
      `${path}: expected [${CONCAT.join(', ')}] (the DARTS cell concatenates all 4 nodes), got ${Array.isArray(v) ? `[${v.map((x) => describe(x)).join(', ')}]` : describe(v)}`,
    );
}

function validateWeights(w: unknown, path: string): void {
  if (!isPlainObject(w)) throw new GenotypeError(`${path}: expected an object, got ${describe(w)}`);
  const rows = (key: string, widths: number[], required: boolean): number | null => {
    const v = w[key];
    if (v === undefined || v === null) {
      if (required) throw new GenotypeError(`${path}.${key}: missing (expected ${EDGES} rows)`);
      return null;
    }
    if (!Array.isArray(v)) throw new GenotypeError(`${path}.${key}: expected ${EDGES} rows, got ${describe(v)}`);
    if (v.length !== EDGES) throw new GenotypeError(`${path}.${key}: expected ${EDGES} rows, got ${v.length}`);
    let width: number | null = null;
    v.forEach((row, r) => {
      const allowed = width === null ? widths : [width];
      if (!Array.isArray(row) || !allowed.includes(row.length))
        throw new GenotypeError(
          `${path}.${key}[${r}]: expected ${allowed.join(' or ')} numbers, got ${Array.isArray(row) ? row.length : describe(row)}`,
        );
      width = row.length;
      row.forEach((x, k) => {
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw new GenotypeError(`${path}.${key}[${r}][${k}]: expected a finite number, got ${describe(x)}`);
      });
    });
    return width;
  };
  const alphaWidths = [OPS.length, candidateOps('nonfactorized').length];
  const wn = rows('alphaNormal', alphaWidths, true)!;
  rows('alphaReduce', [wn], true);
  rows('betaNormal', [ACTIVATIONS.length], false);
  rows('betaReduce', [ACTIVATIONS.length], false);
  for (const key of ['edgeNormal', 'edgeReduce']) {
    const v = w[key];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.length !== EDGES)
      throw new GenotypeError(
        `${path}.${key}: expected ${EDGES} numbers, got ${Array.isArray(v) ? v.length : describe(v)}`,
      );
    v.forEach((x, k) => {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new GenotypeError(`${path}.${key}[${k}]: expected a finite number, got ${describe(x)}`);
    });
  }
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The first difference (ops, inputs, concat) between a DARTS string and the file's cells. */
function dartsDisagreement(d: Genotype, g: Genotype): string | null {
  for (const cell of ['normal', 'reduce'] as const) {
    for (let i = 0; i < CELL_ENTRIES; i++) {
      const a = d[cell][i]!;
      const b = g[cell][i]!;
      if (a.op !== b.op || a.from !== b.from)
        return `${cell}[${i}] is ('${a.op}', ${a.from}) there but ('${b.op}', ${b.from}) in ${cell}`;
    }
  }
  return null;
}

/**
 * Reads a genotype JSON file (format version 1) and checks every field, throwing a
 * GenotypeError that names the first thing wrong (e.g. `genotype.normal[3].op: unknown op ...`).
 * Unknown extra fields (top level and within entries) are kept.
 */
export function parseGenotypeFile(text: string): GenotypeFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new GenotypeError(`not JSON: ${(err as Error).message}`);
  }
  return validateGenotypeFile(data);
}

/** validateGenotypeFile on an already-parsed value; returns a copy typed as a GenotypeFile. */
export function validateGenotypeFile(data: unknown): GenotypeFile {
  const P = 'genotype';
  if (!isPlainObject(data)) throw new GenotypeError(`${P}: expected a JSON object, got ${describe(data)}`);
  if (data.format !== GENOTYPE_FORMAT)
    throw new GenotypeError(
      `${P}.format: expected "${GENOTYPE_FORMAT}"${data.format === undefined ? ' (field missing)' : `, got ${describe(data.format)}`}`,
    );
  if (data.version === undefined)
    throw new GenotypeError(`${P}.version: missing (this lab reads version ${GENOTYPE_VERSION})`);
  if (data.version !== GENOTYPE_VERSION)
    throw new GenotypeError(
      `${P}.version: unsupported version ${typeof data.version === 'number' ? data.version : describe(data.version)} (this lab reads version ${GENOTYPE_VERSION})`,
    );

  if (data.space !== undefined) {
    const s = data.space;
    if (!isPlainObject(s))
      throw new GenotypeError(`${P}.space: expected an object {ops, activations, nodes}, got ${describe(s)}`);
    if (!Array.isArray(s.ops) || !sameList(s.ops, OPS))
      throw new GenotypeError(
        `${P}.space.ops: this lab's op list is [${OPS.join(', ')}]; the file was written for another space`,
      );
    if (!Array.isArray(s.activations) || !sameList(s.activations, ACTIVATIONS))
      throw new GenotypeError(
        `${P}.space.activations: this lab's activation list is [${ACTIVATIONS.join(', ')}]; the file was written for another space`,
      );
    if (s.nodes !== NODES) throw new GenotypeError(`${P}.space.nodes: expected ${NODES}, got ${describe(s.nodes)}`);
  }

  validateCell(data.normal, `${P}.normal`);
  validateConcat(data.normalConcat, `${P}.normalConcat`);
  validateCell(data.reduce, `${P}.reduce`);
  validateConcat(data.reduceConcat, `${P}.reduceConcat`);

  const toEdges = (v: unknown): GenotypeEdge[] =>
    (v as Record<string, unknown>[]).map(
      (e) => ({ ...e, activation: (e.activation ?? null) as ActivationName | null }) as GenotypeEdge,
    );
  const g: Genotype = {
    normal: toEdges(data.normal),
    normalConcat: [...(data.normalConcat as number[])],
    reduce: toEdges(data.reduce),
    reduceConcat: [...(data.reduceConcat as number[])],
  };

  if (typeof data.darts !== 'string')
    throw new GenotypeError(`${P}.darts: expected a string (DARTS's Genotype(...) repr), got ${describe(data.darts)}`);
  const d = parseDartsString(data.darts, `${P}.darts`);
  const why = dartsDisagreement(d, g);
  if (why) throw new GenotypeError(`${P}.darts: disagrees with normal/reduce: ${why}`);

  if (data.weights !== undefined) validateWeights(data.weights, `${P}.weights`);
  if (data.run !== undefined) {
    if (!isPlainObject(data.run)) throw new GenotypeError(`${P}.run: expected an object, got ${describe(data.run)}`);
    const mode = data.run.mode;
    if (mode !== undefined && !(SEARCH_MODES as readonly string[]).includes(mode as string))
      throw new GenotypeError(
        `${P}.run.mode: unknown mode ${describe(mode)} (expected one of ${SEARCH_MODES.join(', ')})`,
      );
  }

  const copy = JSON.parse(JSON.stringify(data)) as GenotypeFile;
  copy.normal = g.normal;
  copy.reduce = g.reduce;
  // A file without a space block was written for this space (checked above when present).
  if (copy.space === undefined) {
    const rest: Record<string, unknown> = { ...copy };
    delete rest.format;
    delete rest.version;
    delete rest.space;
    return { format: copy.format, version: copy.version, space: spaceInfo(), ...rest } as GenotypeFile;
  }
  return copy;
}

/**
 * Reads what a user pastes or uploads: a genotype JSON file (format version 1), or a bare
 * DARTS `Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)` string
 * (as printed by DARTS/PC-DARTS search logs; conv ops then get 'relu', as in plain DARTS).
 * Either way the result is a validated GenotypeFile.
 */
export function parseGenotypeInput(text: string): GenotypeFile {
  const t = text.trim();
  if (t.startsWith('Genotype')) return toGenotypeFile(parseDartsString(t));
  return parseGenotypeFile(text);
}

/** The paper's Table 2 baseline: the same cells with every conv op's activation set to ReLU. */
export function withAllRelu<T extends Genotype>(g: T): T {
  const relu = (edges: GenotypeEdge[]) =>
    edges.map((e) => ({ ...e, activation: e.activation === null ? null : ('relu' as const) }));
  return { ...g, normal: relu(g.normal), reduce: relu(g.reduce) };
}

/** Same cells (op, input, activation, in order) and concats. */
export function genotypeEquals(a: Genotype, b: Genotype): boolean {
  const cellEq = (x: readonly GenotypeEdge[], y: readonly GenotypeEdge[]) =>
    x.length === y.length &&
    x.every(
      (e, i) => e.op === y[i]!.op && e.from === y[i]!.from && (e.activation ?? null) === (y[i]!.activation ?? null),
    );
  return (
    cellEq(a.normal, b.normal) &&
    cellEq(a.reduce, b.reduce) &&
    sameList(a.normalConcat, b.normalConcat) &&
    sameList(a.reduceConcat, b.reduceConcat)
  );
}

/** Checks a Genotype value (not a file); names the first thing wrong, paths under `path`. */
export function validateGenotype(g: Genotype, path = 'genotype'): void {
  validateCell(g.normal, `${path}.normal`);
  validateConcat(g.normalConcat, `${path}.normalConcat`);
  validateCell(g.reduce, `${path}.reduce`);
  validateConcat(g.reduceConcat, `${path}.reduceConcat`);
}

/** The conv ops of a genotype's cells, for summaries: how many edges use each activation. */
export function activationCounts(g: Genotype): Record<ActivationName, number> {
  const counts = Object.fromEntries(ACTIVATIONS.map((a) => [a, 0])) as Record<ActivationName, number>;
  for (const e of [...g.normal, ...g.reduce]) if (e.activation) counts[e.activation]++;
  return counts;
}

/** The edge (row of α/β) a kept entry came from: node floor(i/2), input `from`. */
export function edgeIndexOf(entry: number, from: number): number {
  const node = Math.floor(entry / 2);
  const ref = EDGE_LIST.find((e) => e.node === node && e.from === from);
  if (!ref) throw new GenotypeError(`entry ${entry}: node ${node + 2} has no input ${from}`);
  return ref.index;
}
