import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DARTS_V1,
  DARTS_V2,
  GenotypeError,
  deriveGenotype,
  genotypeEquals,
  parseDartsString,
  parseGenotypeFile,
  parseGenotypeInput,
  softmax,
  stringifyGenotypeFile,
  toDartsString,
  toGenotypeFile,
  type ArchWeights,
  type Genotype,
  type GenotypeEdge,
} from './genotype';
import { ACTIVATIONS, OPS, PARAM_OPS, candidateOps, type ActivationName, type OpName } from './space';

const col = (op: OpName) => OPS.indexOf(op);
const act = (a: ActivationName) => ACTIVATIONS.indexOf(a);
const zeros = (rows: number, cols: number) => Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
const e = (op: OpName, from: number, activation: ActivationName | null = null): GenotypeEdge => ({
  op,
  from,
  activation,
});

/** The DARTS_V2 line of quark0/darts cnn/genotypes.py, verbatim. */
const DARTS_V2_REF =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
const DARTS_V1_REF =
  "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])";

/**
 * Hand-made α (normal cell):
 * node 2 (edges 0, 1): edge 1 sep_conv_3x3 = 5, edge 0 max_pool = 3 → strongest first: from 1, then 0.
 * node 3 (edges 2, 3, 4): edge 2 has none = 10 and sep_conv_5x5 = 9.5 (raw large, softmax 0.38);
 *   edge 3 avg_pool = 2 (softmax 0.51); edge 4 dil_conv_3x3 = 4 (softmax 0.89) → from 2, from 1.
 * node 4 (edges 5..8): all zero except edge 8 none = 20 → edges 5, 6, 7 tie → from 0, from 1; the
 *   op ties too → max_pool_3x3 (first non-none column).
 * node 5 (edges 9..13): edge 13 sep_conv_3x3 = dil_conv_3x3 = 3 (op tie → sep_conv_3x3);
 *   edge 11 skip = 1.5 (softmax 0.39 < 0.43) → from 4, from 2.
 */
function handAlpha(width = 8, colOf: (op: OpName, a?: ActivationName) => number = (op) => col(op)): number[][] {
  const a = zeros(14, width);
  a[1]![colOf('sep_conv_3x3', 'relu')] = 5;
  a[0]![colOf('max_pool_3x3')] = 3;
  a[2]![colOf('none')] = 10;
  a[2]![colOf('sep_conv_5x5', 'relu')] = 9.5;
  a[3]![colOf('avg_pool_3x3')] = 2;
  a[4]![colOf('dil_conv_3x3', 'relu')] = 4;
  a[8]![colOf('none')] = 20;
  a[13]![colOf('sep_conv_3x3', 'relu')] = 3;
  a[13]![colOf('dil_conv_3x3', 'relu')] = 3;
  a[11]![colOf('skip_connect')] = 1.5;
  return a;
}
/** The reduce cell: all zero → every node keeps inputs 0 and 1 with max_pool_3x3. */
const REDUCE_ALL_TIES: GenotypeEdge[] = [0, 1, 2, 3].flatMap(() => [e('max_pool_3x3', 0), e('max_pool_3x3', 1)]);

function expectedNormal(a: { e1: ActivationName; e4: ActivationName; e13: ActivationName }): GenotypeEdge[] {
  return [
    e('sep_conv_3x3', 1, a.e1),
    e('max_pool_3x3', 0),
    e('dil_conv_3x3', 2, a.e4),
    e('avg_pool_3x3', 1),
    e('max_pool_3x3', 0),
    e('max_pool_3x3', 1),
    e('sep_conv_3x3', 4, a.e13),
    e('skip_connect', 2),
  ];
}

describe('softmax', () => {
  it('is stable for large inputs and sums to 1', () => {
    const s = softmax([1000, 1000, 0]);
    expect(s[0]).toBeCloseTo(0.5, 12);
    expect(s[2]).toBeCloseTo(0, 12);
    expect(softmax([1, 2, 3]).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
  });
});

describe('deriveGenotype', () => {
  it('darts mode: ranks edges by softmaxed non-none strength, never picks none, ties keep lower index', () => {
    const g = deriveGenotype({ alphaNormal: handAlpha(), alphaReduce: zeros(14, 8) }, 'darts');
    expect(g.normal).toEqual(expectedNormal({ e1: 'relu', e4: 'relu', e13: 'relu' }));
    expect(g.reduce).toEqual(REDUCE_ALL_TIES);
    expect(g.normalConcat).toEqual([2, 3, 4, 5]);
    expect(g.reduceConcat).toEqual([2, 3, 4, 5]);
    expect([...g.normal, ...g.reduce].some((x) => x.op === 'none')).toBe(false);
  });

  it('darts mode: fixed activation wins over β; β argmax when no fixed activation; relu otherwise', () => {
    const beta = zeros(14, 9);
    beta[1]![act('selu')] = 1;
    beta[4]![act('elu')] = 1;
    beta[13]![act('swish')] = 1;
    const w: ArchWeights = {
      alphaNormal: handAlpha(),
      alphaReduce: zeros(14, 8),
      betaNormal: beta,
      betaReduce: zeros(14, 9),
    };
    expect(deriveGenotype(w, 'darts', { fixedActivation: 'celu' }).normal).toEqual(
      expectedNormal({ e1: 'celu', e4: 'celu', e13: 'celu' }),
    );
    expect(deriveGenotype(w, 'darts').normal).toEqual(expectedNormal({ e1: 'selu', e4: 'elu', e13: 'swish' }));
    expect(deriveGenotype({ ...w, betaNormal: null }, 'darts').normal).toEqual(
      expectedNormal({ e1: 'relu', e4: 'relu', e13: 'relu' }),
    );
  });

  it('factorized and fixed-beta: a conv op takes the argmax of its own edge’s β row; others get null', () => {
    const beta = zeros(14, 9);
    beta[1]![act('prelu')] = 2;
    beta[4]![act('rrelu')] = 0.3;
    beta[4]![act('relu6')] = 0.1;
    beta[13]![act('leaky_relu')] = 1;
    beta[13]![act('swish')] = 1; // tie → the first (leaky_relu)
    beta[0]![act('swish')] = 5; // edge 0 keeps max_pool: no activation
    beta[3]![act('swish')] = 5; // edge 3 keeps avg_pool: no activation
    const w: ArchWeights = {
      alphaNormal: handAlpha(),
      alphaReduce: zeros(14, 8),
      betaNormal: beta,
      betaReduce: zeros(14, 9),
    };
    const expected = expectedNormal({ e1: 'prelu', e4: 'rrelu', e13: 'leaky_relu' });
    expect(deriveGenotype(w, 'factorized').normal).toEqual(expected);
    expect(deriveGenotype(w, 'fixed-beta').normal).toEqual(expected);
    // the darts-mode fixed activation option does not override β in factorized mode
    expect(deriveGenotype(w, 'factorized', { fixedActivation: 'elu' }).normal).toEqual(expected);
  });

  it('factorized mode requires β', () => {
    expect(() => deriveGenotype({ alphaNormal: handAlpha(), alphaReduce: zeros(14, 8) }, 'factorized')).toThrow(
      'weights.betaNormal: required in factorized mode',
    );
  });

  it('nonfactorized: 40 columns, a combined op becomes conv op + activation', () => {
    const cands = candidateOps('nonfactorized');
    expect(cands).toHaveLength(40);
    const colOf = (op: OpName, a: ActivationName = 'relu') =>
      cands.findIndex((c) => c.op === op && (c.activation === null || c.activation === a));
    const alpha = handAlpha(40, colOf);
    // Move edge 1 and 13 to other activations: same strength, other columns.
    alpha[1]![colOf('sep_conv_3x3', 'relu')] = 0;
    alpha[1]![colOf('sep_conv_3x3', 'selu')] = 5;
    alpha[13]![colOf('sep_conv_3x3', 'relu')] = 0;
    alpha[13]![colOf('dil_conv_3x3', 'relu')] = 0;
    alpha[13]![colOf('dil_conv_3x3', 'swish')] = 3;
    alpha[4]![colOf('dil_conv_3x3', 'relu')] = 0;
    alpha[4]![colOf('dil_conv_5x5', 'swish')] = 4;
    alpha[3]![colOf('avg_pool_3x3')] = 3.5; // 40-wide softmax: keep edge 3 above edge 2
    expect(colOf('dil_conv_5x5', 'swish')).toBe(39);
    const g = deriveGenotype({ alphaNormal: alpha, alphaReduce: zeros(14, 40) }, 'nonfactorized');
    expect(g.normal).toEqual([
      e('sep_conv_3x3', 1, 'selu'),
      e('max_pool_3x3', 0),
      e('dil_conv_5x5', 2, 'swish'),
      e('avg_pool_3x3', 1),
      e('max_pool_3x3', 0),
      e('max_pool_3x3', 1),
      e('dil_conv_3x3', 4, 'swish'),
      e('skip_connect', 2),
    ]);
    expect(g.reduce).toEqual(REDUCE_ALL_TIES);
    // a combined op with a conv: every (op, activation) column is reachable
    for (const op of PARAM_OPS)
      for (const a of ACTIVATIONS) {
        const al = zeros(14, 40);
        al[0]![colOf(op, a)] = 1;
        expect(deriveGenotype({ alphaNormal: al, alphaReduce: zeros(14, 40) }, 'nonfactorized').normal[0]).toEqual(
          e(op, 0, a),
        );
      }
  });

  it('checks α widths against the mode', () => {
    expect(() => deriveGenotype({ alphaNormal: zeros(14, 8), alphaReduce: zeros(14, 8) }, 'nonfactorized')).toThrow(
      'weights.alphaNormal[0]: expected 40 numbers, got 8',
    );
    expect(() => deriveGenotype({ alphaNormal: zeros(13, 8), alphaReduce: zeros(14, 8) }, 'darts')).toThrow(
      'weights.alphaNormal: expected 14 rows, got 13',
    );
  });

  it('PC-DARTS edge weights: softmaxed per node, scale each edge’s row', () => {
    const alpha = zeros(14, 8);
    alpha[2]![col('skip_connect')] = 3;
    alpha[3]![col('skip_connect')] = 3;
    alpha[4]![col('skip_connect')] = 2.5;
    alpha[0]![col('sep_conv_5x5')] = 1;
    alpha[1]![col('sep_conv_5x5')] = 2;
    const plain = deriveGenotype({ alphaNormal: alpha, alphaReduce: zeros(14, 8) }, 'darts');
    expect(plain.normal.slice(0, 4)).toEqual([
      e('sep_conv_5x5', 1, 'relu'),
      e('sep_conv_5x5', 0, 'relu'),
      e('skip_connect', 0),
      e('skip_connect', 1),
    ]);
    const edgeNormal = new Array<number>(14).fill(0);
    edgeNormal[0] = 3; // node 2: edge from 0 now outweighs edge from 1
    edgeNormal[4] = 3; // node 3: edge from 2 now first
    edgeNormal[5] = 100; // node 4's weights do not leak into node 3 (normalised per node)
    const pc = deriveGenotype({ alphaNormal: alpha, alphaReduce: zeros(14, 8), edgeNormal, edgeReduce: null }, 'darts');
    expect(pc.normal.slice(0, 4)).toEqual([
      e('sep_conv_5x5', 0, 'relu'),
      e('sep_conv_5x5', 1, 'relu'),
      e('skip_connect', 2),
      e('skip_connect', 0),
    ]);
    expect(pc.normal.slice(4, 6)).toEqual([e('max_pool_3x3', 0), e('max_pool_3x3', 1)]);
    // Uniform edge weights change nothing.
    const uniform = deriveGenotype(
      { alphaNormal: alpha, alphaReduce: zeros(14, 8), edgeNormal: new Array(14).fill(0.7) },
      'darts',
    );
    expect(genotypeEquals(uniform, plain)).toBe(true);
  });

  it('matches DARTS/PC-DARTS _parse on seeded random α (testdata/parse_reference.json)', () => {
    const ref = JSON.parse(readFileSync(new URL('./testdata/parse_reference.json', import.meta.url), 'utf8')) as {
      cases: {
        alphaNormal: number[][];
        alphaReduce: number[][];
        edgeNormal?: number[];
        edgeReduce?: number[];
        normal: [OpName, number][];
        reduce: [OpName, number][];
      }[];
    };
    expect(ref.cases.length).toBe(30);
    for (const c of ref.cases) {
      const g = deriveGenotype(c, 'darts');
      expect(g.normal.map((x) => [x.op, x.from])).toEqual(c.normal);
      expect(g.reduce.map((x) => [x.op, x.from])).toEqual(c.reduce);
    }
  });
});

describe('DARTS string', () => {
  it('DARTS_V2 and DARTS_V1 print exactly as cnn/genotypes.py', () => {
    expect(toDartsString(DARTS_V2)).toBe(DARTS_V2_REF);
    expect(toDartsString(DARTS_V1)).toBe(DARTS_V1_REF);
    expect(DARTS_V2.normal[0]).toEqual(e('sep_conv_3x3', 0, 'relu'));
    expect(DARTS_V2.normal[5]).toEqual(e('skip_connect', 0));
  });

  it('round-trips, with relu for conv ops', () => {
    expect(genotypeEquals(parseDartsString(DARTS_V2_REF), DARTS_V2)).toBe(true);
    expect(genotypeEquals(parseDartsString(DARTS_V1_REF), DARTS_V1)).toBe(true);
    expect(toDartsString(parseDartsString(DARTS_V2_REF))).toBe(DARTS_V2_REF);
  });

  it('accepts range(2, 6), other whitespace and trailing commas', () => {
    const s = `Genotype(
      normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2),],
      normal_concat=range(2, 6),
      reduce=[("max_pool_3x3", 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
      reduce_concat=range(2, 6),
    )`;
    expect(genotypeEquals(parseDartsString(s), DARTS_V2)).toBe(true);
  });

  it('names what is wrong', () => {
    expect(() => parseDartsString(DARTS_V2_REF.replace("('dil_conv_3x3', 2)", "('sep_conv_7x7', 2)"))).toThrow(
      'darts.normal[7].op: unknown op "sep_conv_7x7"',
    );
    expect(() => parseDartsString(DARTS_V2_REF.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"))).toThrow(
      'darts.normal[7].from: node 5 (entry 7) can only take inputs 0..4, got 5',
    );
    expect(() =>
      parseDartsString(DARTS_V2_REF.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=range(2, 5)')),
    ).toThrow('darts.reduce_concat: expected [2, 3, 4, 5]');
    expect(() => parseDartsString(DARTS_V2_REF.replace(', reduce_concat=[2, 3, 4, 5]', ''))).toThrow(
      'darts: missing reduce_concat=',
    );
    expect(() => parseDartsString('Genome(normal=[])')).toThrow(GenotypeError);
    expect(() => parseDartsString(DARTS_V2_REF + ' x')).toThrow('unexpected text after the closing ")"');
  });
});

// A factorized genotype with a variety of activations, and its file.
const FACTORIZED: Genotype = {
  normal: [
    e('sep_conv_3x3', 0, 'selu'),
    e('skip_connect', 1),
    e('sep_conv_5x5', 0, 'swish'),
    e('dil_conv_3x3', 2, 'prelu'),
    e('max_pool_3x3', 3),
    e('dil_conv_5x5', 1, 'relu6'),
    e('avg_pool_3x3', 4),
    e('sep_conv_3x3', 0, 'elu'),
  ],
  normalConcat: [2, 3, 4, 5],
  reduce: [
    e('max_pool_3x3', 0),
    e('sep_conv_5x5', 1, 'leaky_relu'),
    e('skip_connect', 2),
    e('dil_conv_3x3', 1, 'rrelu'),
    e('sep_conv_3x3', 3, 'celu'),
    e('skip_connect', 0),
    e('avg_pool_3x3', 1),
    e('dil_conv_5x5', 4, 'relu'),
  ],
  reduceConcat: [2, 3, 4, 5],
};

function validFile(): Record<string, unknown> {
  const w: ArchWeights = {
    alphaNormal: zeros(14, 8).map((r, i) => r.map((_, k) => (i * 8 + k) / 100)),
    alphaReduce: zeros(14, 8),
    betaNormal: zeros(14, 9),
    betaReduce: zeros(14, 9),
  };
  const file = toGenotypeFile(FACTORIZED, {
    weights: w,
    run: {
      mode: 'factorized',
      dataset: 'synthetic',
      config: { channels: 8 },
      backend: 'cpu',
      steps: 10,
      epochs: 1,
      seconds: 2.5,
      metrics: { valAccuracy: 0.5 },
      createdAt: '2024-01-01T00:00:00.000Z',
      note: 'kept',
    },
  });
  return JSON.parse(
    JSON.stringify({
      ...file,
      comment: 'hand-edited',
      tags: ['a', 'b'],
      tricky: { text: 'say "[ \\"x\\" ]"\n', empty: [], nested: [[1, 'a'], {}] },
    }),
  ) as Record<string, unknown>;
}

function mutate(f: (d: Record<string, any>) => void): string {
  const d = validFile() as Record<string, any>;
  f(d);
  return JSON.stringify(d);
}

describe('genotype file', () => {
  it('toGenotypeFile writes the documented layout (docs/formats.md)', () => {
    const f = toGenotypeFile(DARTS_V2);
    expect(Object.keys(f)).toEqual([
      'format',
      'version',
      'space',
      'normal',
      'normalConcat',
      'reduce',
      'reduceConcat',
      'darts',
    ]);
    expect(f.format).toBe('factorized-nas-genotype');
    expect(f.version).toBe(1);
    expect(f.space).toEqual({ ops: [...OPS], activations: [...ACTIVATIONS], nodes: 4 });
    expect(f.darts).toBe(DARTS_V2_REF);
    expect(f.normal[0]).toEqual({ op: 'sep_conv_3x3', from: 0, activation: 'relu' });
    expect(f.normal[5]).toEqual({ op: 'skip_connect', from: 0, activation: null });
  });

  it('a valid file round-trips with unknown fields kept', () => {
    const text = JSON.stringify(validFile());
    const parsed = parseGenotypeFile(text);
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(JSON.parse(text));
    expect(parsed.comment).toBe('hand-edited');
    expect(parsed.run?.note).toBe('kept');
    expect(genotypeEquals(parsed, FACTORIZED)).toBe(true);
    // pretty printing reads back the same
    expect(parseGenotypeFile(stringifyGenotypeFile(parsed))).toEqual(parsed);
    expect(stringifyGenotypeFile(parsed)).toContain('{ "op": "sep_conv_3x3", "from": 0, "activation": "selu" }');
  });

  it('a 40-column (nonfactorized) weights block is accepted', () => {
    const text = mutate((d) => {
      d.weights = {
        alphaNormal: zeros(14, 40),
        alphaReduce: zeros(14, 40),
        edgeNormal: new Array(14).fill(0),
        edgeReduce: null,
      };
    });
    expect(parseGenotypeFile(text).weights?.alphaNormal[0]).toHaveLength(40);
  });

  const cases: [string, string | ((d: Record<string, any>) => void), string][] = [
    ['not JSON', '{"format": }', 'not JSON: Unexpected token'],
    ['not an object', '[1, 2]', 'genotype: expected a JSON object, got an array'],
    [
      'format',
      (d) => (d.format = 'darts-genotype'),
      'genotype.format: expected "factorized-nas-genotype", got "darts-genotype"',
    ],
    ['format missing', (d) => delete d.format, 'genotype.format: expected "factorized-nas-genotype" (field missing)'],
    ['version', (d) => (d.version = 2), 'genotype.version: unsupported version 2 (this lab reads version 1)'],
    [
      'space',
      (d) => (d.space.ops = d.space.ops.slice(1)),
      "genotype.space.ops: this lab's op list is [none, max_pool_3x3",
    ],
    ['7 entries', (d) => d.normal.pop(), 'genotype.normal: expected 8 entries (2 per node), got 7'],
    [
      'unknown op',
      (d) => (d.normal[3].op = 'sep_conv_7x7'),
      'genotype.normal[3].op: unknown op "sep_conv_7x7" (expected one of none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)',
    ],
    [
      'none op',
      (d) => (d.normal[1].op = 'none'),
      'genotype.normal[1].op: "none" is not allowed in a genotype (the derivation never keeps it)',
    ],
    [
      'from too large',
      (d) => (d.reduce[5].from = 4),
      'genotype.reduce[5].from: node 4 (entry 5) can only take inputs 0..3, got 4',
    ],
    [
      'from negative',
      (d) => (d.reduce[0].from = -1),
      'genotype.reduce[0].from: node 2 (entry 0) can only take inputs 0..1, got -1',
    ],
    [
      'from not integer',
      (d) => (d.normal[2].from = '0'),
      'genotype.normal[2].from: expected an integer input index, got "0"',
    ],
    [
      'conv without activation',
      (d) => (d.normal[0].activation = null),
      'genotype.normal[0].activation: sep_conv_3x3 needs an activation (one of relu, relu6, leaky_relu, prelu, rrelu, elu, celu, selu, swish)',
    ],
    [
      'unknown activation',
      (d) => (d.normal[0].activation = 'gelu'),
      'genotype.normal[0].activation: unknown activation "gelu" (expected one of relu, relu6, leaky_relu, prelu, rrelu, elu, celu, selu, swish)',
    ],
    [
      'activation on skip',
      (d) => (d.normal[1].activation = 'relu'),
      'genotype.normal[1].activation: skip_connect has no parameters; activation must be null',
    ],
    [
      'entry not an object',
      (d) => (d.reduce[2] = ['skip_connect', 2]),
      'genotype.reduce[2]: expected an object {op, from, activation}, got an array',
    ],
    [
      'concat',
      (d) => (d.normalConcat = [2, 3, 4]),
      'genotype.normalConcat: expected [2, 3, 4, 5] (the DARTS cell concatenates all 4 nodes), got [2, 3, 4]',
    ],
    [
      'reduce concat missing',
      (d) => delete d.reduceConcat,
      'genotype.reduceConcat: expected [2, 3, 4, 5] (the DARTS cell concatenates all 4 nodes), got nothing',
    ],
    [
      'darts missing',
      (d) => delete d.darts,
      "genotype.darts: expected a string (DARTS's Genotype(...) repr), got nothing",
    ],
    [
      'darts disagrees',
      (d) => (d.darts = d.darts.replace("('dil_conv_3x3', 2)", "('sep_conv_3x3', 2)")),
      "genotype.darts: disagrees with normal/reduce: normal[3] is ('sep_conv_3x3', 2) there but ('dil_conv_3x3', 2) in normal",
    ],
    [
      'darts broken',
      (d) => (d.darts = 'Genotype(normal=[('),
      'genotype.darts: expected a list, tuple, string, integer or range(...)',
    ],
    ['alpha rows', (d) => d.weights.alphaNormal.pop(), 'genotype.weights.alphaNormal: expected 14 rows, got 13'],
    [
      'alpha width',
      (d) => d.weights.alphaNormal[3].pop(),
      'genotype.weights.alphaNormal[3]: expected 8 numbers, got 7',
    ],
    [
      'alpha first width',
      (d) => d.weights.alphaNormal[0].pop(),
      'genotype.weights.alphaNormal[0]: expected 8 or 40 numbers, got 7',
    ],
    [
      'alpha reduce width',
      (d) => (d.weights.alphaReduce = zeros(14, 40)),
      'genotype.weights.alphaReduce[0]: expected 8 numbers, got 40',
    ],
    [
      'alpha not finite',
      (d) => (d.weights.alphaReduce[2][5] = null),
      'genotype.weights.alphaReduce[2][5]: expected a finite number, got null',
    ],
    ['alpha missing', (d) => delete d.weights.alphaReduce, 'genotype.weights.alphaReduce: missing (expected 14 rows)'],
    [
      'beta width',
      (d) => d.weights.betaNormal[13].push(0),
      'genotype.weights.betaNormal[13]: expected 9 numbers, got 10',
    ],
    [
      'beta string',
      (d) => (d.weights.betaReduce[1][0] = '1'),
      'genotype.weights.betaReduce[1][0]: expected a finite number, got "1"',
    ],
    [
      'edge weights',
      (d) => (d.weights.edgeNormal = [1, 2, 3]),
      'genotype.weights.edgeNormal: expected 14 numbers, got 3',
    ],
    [
      'run mode',
      (d) => (d.run.mode = 'random'),
      'genotype.run.mode: unknown mode "random" (expected one of factorized, darts, nonfactorized, fixed-beta)',
    ],
    // the FIRST thing wrong is named
    [
      'first error',
      (d) => {
        d.reduce[0].op = 'conv';
        d.normal[7].from = 9;
      },
      'genotype.normal[7].from: node 5 (entry 7) can only take inputs 0..4, got 9',
    ],
  ];
  for (const [name, make, message] of cases) {
    it(`rejects: ${name}`, () => {
      const text = typeof make === 'string' ? make : mutate(make);
      let err: unknown;
      try {
        parseGenotypeFile(text);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(GenotypeError);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message.startsWith(message)).toBe(true);
      if (!['not JSON', 'space', 'darts broken'].includes(name)) expect((err as Error).message).toBe(message);
    });
  }

  it("a file without a space block gets this lab's space", () => {
    const parsed = parseGenotypeFile(mutate((d) => delete d.space));
    expect(Object.keys(parsed).slice(0, 4)).toEqual(['format', 'version', 'space', 'normal']);
    expect(parsed.space).toEqual({ ops: [...OPS], activations: [...ACTIVATIONS], nodes: 4 });
  });

  it('an absent activation on a non-param op reads as null', () => {
    const parsed = parseGenotypeFile(mutate((d) => delete d.normal[1].activation));
    expect(parsed.normal[1]).toEqual({ op: 'skip_connect', from: 1, activation: null });
  });
});

describe('parseGenotypeInput', () => {
  it('accepts a bare DARTS string', () => {
    const f = parseGenotypeInput(`  ${DARTS_V2_REF}\n`);
    expect(f.format).toBe('factorized-nas-genotype');
    expect(genotypeEquals(f, DARTS_V2)).toBe(true);
    expect(f.darts).toBe(DARTS_V2_REF);
  });
  it('accepts a genotype file', () => {
    const f = parseGenotypeInput(JSON.stringify(validFile()));
    expect(genotypeEquals(f, FACTORIZED)).toBe(true);
  });
  it('reports DARTS string errors under darts', () => {
    expect(() => parseGenotypeInput(DARTS_V2_REF.replace("('max_pool_3x3', 0)", "('none', 0)"))).toThrow(
      'darts.reduce[0].op: "none" is not allowed',
    );
  });
});

describe('genotypeEquals', () => {
  it('compares ops, inputs, activations and concat', () => {
    const copy = JSON.parse(JSON.stringify(FACTORIZED)) as Genotype;
    expect(genotypeEquals(copy, FACTORIZED)).toBe(true);
    copy.normal[0]!.activation = 'relu';
    expect(genotypeEquals(copy, FACTORIZED)).toBe(false);
    expect(genotypeEquals(DARTS_V1, DARTS_V2)).toBe(false);
    expect(genotypeEquals({ ...DARTS_V2, reduceConcat: [2, 3, 4] }, DARTS_V2)).toBe(false);
  });
});
