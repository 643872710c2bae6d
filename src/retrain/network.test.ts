import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DARTS_V2, GenotypeError, type Genotype, type GenotypeEdge } from '../search/genotype';
import { DiscreteNetwork, auxiliaryHeadFits, auxiliaryPool, convValid, type DiscreteNetworkOptions } from './network';
import { crossEntropy } from '../search/ops';
import { exportPytorch } from './pytorch';
import { Random } from '../util/random';
import type { ActivationName, OpName } from '../search/space';
import { ALL_ACTIVATIONS, findTorchPython } from '../search/testdata/fixtures';

const e = (op: OpName, from: number, activation: ActivationName | null = null): GenotypeEdge => ({
  op,
  from,
  activation,
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(tf.getBackend()).toBe('cpu');
});

const nets: DiscreteNetwork[] = [];
function build(options: Partial<DiscreteNetworkOptions> & { genotype: Genotype }, seed = 1): DiscreteNetwork {
  const net = new DiscreteNetwork(
    { channels: 8, layers: 5, classes: 10, inChannels: 3, auxiliary: true, ...options },
    new Random(seed),
  );
  nets.push(net);
  return net;
}
function counts(options: Partial<DiscreteNetworkOptions> & { genotype: Genotype }) {
  const net = build(options);
  const c = net.countParams();
  net.dispose();
  return c;
}
afterAll(() => {
  for (const n of nets) n.dispose();
});

function withEdge(cell: 'normal' | 'reduce', i: number, op: OpName, a: ActivationName): Genotype {
  const g = JSON.parse(JSON.stringify(DARTS_V2)) as Genotype;
  g[cell][i] = { ...g[cell][i]!, op, activation: a };
  return g;
}

function randomImages(n: number, h: number, w: number, c: number, seed: number): tf.Tensor4D {
  const rng = new Random(seed);
  const values = new Float32Array(n * h * w * c);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return tf.tensor4d(values, [n, h, w, c]);
}

describe('DiscreteNetwork parameter counts', () => {
  it('DARTS_V2 at C=36, 20 layers, 10 classes has DARTS’s counts (3.35M, 3.83M with the auxiliary head)', () => {
    const c = counts({ genotype: DARTS_V2, channels: 36, layers: 20 });
    expect(c.params).toBe(3349342);
    expect(c.params + c.auxiliaryParams).toBe(3825768);
    // Without the head: the same params, no auxiliary ones.
    expect(counts({ genotype: DARTS_V2, channels: 36, layers: 20, auxiliary: false })).toEqual({
      params: 3349342,
      auxiliaryParams: 0,
    });
    // Grayscale: the stem conv loses 2 input channels × 108 filters × 3 × 3.
    expect(counts({ genotype: DARTS_V2, channels: 36, layers: 20, inChannels: 1 }).params).toBe(3349342 - 2 * 108 * 9);
  });

  it('PReLU adds the op’s channels per op, Swish 1, the others nothing (as the PyTorch export)', () => {
    // C=8, 5 layers: normal cells 0, 2, 4 at C = 8, 16, 32; reduce cells 1, 3 at 16, 32.
    const base = counts({ genotype: DARTS_V2 }).params;
    expect(counts({ genotype: withEdge('normal', 0, 'sep_conv_3x3', 'prelu') }).params - base).toBe(8 + 16 + 32);
    expect(counts({ genotype: withEdge('normal', 7, 'dil_conv_3x3', 'swish') }).params - base).toBe(3);
    const reduceRelu = counts({ genotype: withEdge('reduce', 0, 'sep_conv_3x3', 'relu') }).params;
    expect(counts({ genotype: withEdge('reduce', 0, 'sep_conv_3x3', 'prelu') }).params - reduceRelu).toBe(16 + 32);
    for (const a of ['relu6', 'leaky_relu', 'rrelu', 'elu', 'celu', 'selu'] as const)
      expect(counts({ genotype: withEdge('normal', 0, 'sep_conv_3x3', a) }).params).toBe(base);
  });

  it('running statistics are not parameters; the head’s names contain "auxiliary"', () => {
    const net = build({ genotype: DARTS_V2, channels: 4, layers: 3 });
    const all = net.namedVariables();
    const buffers = all.filter((v) => v.kind === 'buffer');
    expect(buffers.length).toBeGreaterThan(0);
    expect(buffers.every((v) => /running_(mean|var)$/.test(v.name) && !v.variable.trainable)).toBe(true);
    const { params, auxiliaryParams } = net.countParams();
    const sum = (f: (v: (typeof all)[number]) => boolean) => all.filter(f).reduce((n, v) => n + v.variable.size, 0);
    expect(params).toBe(sum((v) => v.kind === 'param' && !v.name.includes('auxiliary')));
    expect(auxiliaryParams).toBe(sum((v) => v.kind === 'param' && v.name.includes('auxiliary')));
    expect(net.variables().length).toBe(all.length - buffers.length);
  });

  it('a network once disposed leaves no tensor behind (its initial values included)', () => {
    const before = tf.memory().numTensors;
    const net = new DiscreteNetwork(
      { genotype: DARTS_V2, channels: 8, layers: 5, classes: 10, inChannels: 3, auxiliary: true },
      new Random(1),
    );
    expect(tf.memory().numTensors).toBeGreaterThan(before + 100);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a genotype the validator rejects', () => {
    const bad = { ...DARTS_V2, normal: [...DARTS_V2.normal.slice(0, 7), e('none', 0)] };
    expect(
      () =>
        new DiscreteNetwork(
          { genotype: bad, channels: 4, layers: 3, classes: 2, inChannels: 3, auxiliary: false },
          new Random(1),
        ),
    ).toThrow(GenotypeError);
  });
});

describe('DiscreteNetwork forward', () => {
  it('shapes for 32x32x3 and 28x28x1 with the auxiliary head (train: aux logits; eval: none)', async () => {
    for (const [h, c] of [
      [32, 3],
      [28, 1],
    ] as const) {
      const net = build({ genotype: ALL_ACTIVATIONS, channels: 4, layers: 5, inChannels: c, dropPathProb: 0.2 });
      const x = randomImages(2, h, h, c, h);
      const trainForward = () =>
        tf.tidy(() => {
          const out = net.forward(x, { training: true, rng: new Random(3) });
          return [out.logits, out.auxLogits!];
        });
      tf.dispose(trainForward()); // the first pass fills ops' constant caches
      const before = tf.memory().numTensors;
      const train = trainForward();
      expect(tf.memory().numTensors).toBe(before + 2); // nothing leaks
      expect(train[0].shape).toEqual([2, 10]);
      expect(train[1].shape).toEqual([2, 10]);
      for (const t of train) expect([...(await t.data())].every(Number.isFinite)).toBe(true);
      const evalOut = tf.tidy(() => {
        const out = net.forward(x, { training: false, rng: new Random(3) });
        expect(out.auxLogits).toBeNull();
        return out.logits;
      });
      expect(evalOut.shape).toEqual([2, 10]);
      tf.dispose([...train, evalOut, x]);
    }
  });

  it('auxiliary head fits 21..32-pixel images (6x6 to 8x8 maps) and says so otherwise', () => {
    expect(auxiliaryHeadFits(32, 32)).toBe(true);
    expect(auxiliaryHeadFits(28, 28)).toBe(true);
    expect(auxiliaryHeadFits(24, 24)).toBe(true);
    expect(auxiliaryHeadFits(16, 16)).toBe(false);
    expect(auxiliaryHeadFits(64, 64)).toBe(false);
    const net = build({ genotype: DARTS_V2, channels: 4, layers: 3 });
    const x = randomImages(2, 16, 16, 3, 1);
    expect(() => tf.tidy(() => net.forward(x, { training: true, rng: new Random(1) }).logits)).toThrow(
      /auxiliary head.*4x4/,
    );
    x.dispose();
  });

  it('the auxiliary pool is AvgPool2d(5, 3, ceil_mode=True, count_include_pad=False); the 2x2 conv is a valid conv', async () => {
    // 7x7 ramp: windows rows/cols [0, 5) and [3, 7), each averaged over what it covers.
    const v = Float32Array.from({ length: 49 }, (_, i) => i);
    const x = tf.tensor4d(v, [1, 7, 7, 1]);
    const pooled = auxiliaryPool(x);
    expect(pooled.shape).toEqual([1, 2, 2, 1]);
    const mean = (r0: number, r1: number, c0: number, c1: number) => {
      let s = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) s += v[r * 7 + c];
      return s / ((r1 - r0) * (c1 - c0));
    };
    const expected = [mean(0, 5, 0, 5), mean(0, 5, 3, 7), mean(3, 7, 0, 5), mean(3, 7, 3, 7)];
    const got = await pooled.data();
    expected.forEach((m, i) => expect(got[i]).toBeCloseTo(m, 4));
    const y = randomImages(2, 3, 4, 5, 7);
    const w = randomImages(2, 2, 5, 6, 8);
    const a = convValid(y, w);
    const b = tf.conv2d(y, w, 1, 'valid');
    expect(a.shape).toEqual(b.shape);
    const [da, db] = [await a.data(), await b.data()];
    for (let i = 0; i < da.length; i++) expect(da[i]).toBeCloseTo(db[i], 4);
    tf.dispose([x, pooled, y, w, a, b]);
  });

  it('training updates BN running statistics (momentum 0.1, unbiased variance); eval uses them', async () => {
    const net = build({ genotype: DARTS_V2, channels: 4, layers: 3, auxiliary: false });
    const x = randomImages(4, 8, 8, 3, 5);
    const stem = net.namedVariables().find((v) => v.name === 'stem.conv.weight')!.variable as tf.Tensor4D;
    const runningMean = net.namedVariables().find((v) => v.name === 'stem.bn.running_mean')!.variable;
    const runningVar = net.namedVariables().find((v) => v.name === 'stem.bn.running_var')!.variable;
    const [m, vUnbiased] = tf.tidy(() => {
      const s = tf.conv2d(
        tf.pad(x, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
        stem,
        1,
        'valid',
      );
      const { mean, variance } = tf.moments(s, [0, 1, 2]);
      const n = s.size / s.shape[3];
      return [mean, tf.mul(variance, n / (n - 1))];
    });
    tf.tidy(() => net.forward(x, { training: true, rng: new Random(1) }).logits);
    const [rm, rv, bm, bv] = await Promise.all([runningMean.data(), runningVar.data(), m.data(), vUnbiased.data()]);
    for (let c = 0; c < rm.length; c++) {
      expect(rm[c]).toBeCloseTo(0.1 * bm[c], 5);
      expect(rv[c]).toBeCloseTo(0.9 + 0.1 * bv[c], 4);
    }
    // Eval mode: each image's logits do not depend on the rest of the batch.
    const [both, first] = tf.tidy(() => {
      const ctx = { training: false, rng: new Random(1) };
      return [net.forward(x, ctx).logits, net.forward(tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 3]), ctx).logits];
    });
    const [db, df] = [await both.data(), await first.data()];
    for (let k = 0; k < df.length; k++) expect(db[k]).toBeCloseTo(df[k], 4);
    // and the running statistics stay put.
    expect(Array.from(await runningMean.data())).toEqual(Array.from(rm));
    tf.dispose([m, vUnbiased, both, first, x]);
  });

  it('drop path: seeded from ctx.rng in training, off in eval', async () => {
    const net = build({ genotype: ALL_ACTIVATIONS, channels: 4, layers: 3, auxiliary: false, dropPathProb: 0.5 });
    const x = randomImages(4, 8, 8, 3, 9);
    const run = async (training: boolean, seed: number) => {
      const t = tf.tidy(() => net.forward(x, { training, rng: new Random(seed) }).logits);
      const d = Array.from(await t.data());
      t.dispose();
      return d;
    };
    expect(await run(true, 11)).toEqual(await run(true, 11));
    expect(await run(true, 11)).not.toEqual(await run(true, 12));
    expect(await run(false, 11)).toEqual(await run(false, 12));
    x.dispose();
  });

  it('the gradient reaches every parameter (all ops, all activations, auxiliary head)', async () => {
    const net = build({ genotype: ALL_ACTIVATIONS, channels: 4, layers: 3, classes: 4 });
    const x = randomImages(4, 24, 24, 3, 2);
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const params = net.namedVariables().filter((v) => v.kind === 'param');
    const { value, grads } = tf.variableGrads(
      () => {
        const out = net.forward(x, { training: true, rng: new Random(4) });
        return tf.add(crossEntropy(out.logits, y), tf.mul(crossEntropy(out.auxLogits!, y), 0.4)) as tf.Scalar;
      },
      params.map((p) => p.variable),
    );
    const zero: string[] = [];
    for (const p of params) {
      const g = grads[p.variable.name];
      const norm = g ? (await tf.tidy(() => tf.norm(g)).data())[0] : 0;
      if (!(norm > 0) || !Number.isFinite(norm)) zero.push(`${p.name} (${norm})`);
    }
    expect(zero).toEqual([]);
    expect(params.some((p) => p.name.endsWith('act.weight'))).toBe(true); // PReLU slopes
    expect(params.some((p) => p.name.endsWith('act.beta'))).toBe(true); // Swish b
    expect(params.some((p) => p.name.startsWith('auxiliary_head.'))).toBe(true);
    tf.dispose([value, ...Object.values(grads), x, y]);
  });
});

describe('DiscreteNetwork against the PyTorch export', () => {
  const python = findTorchPython();
  if (!python) console.log('skipped: python3 with torch not installed (counts against the PyTorch export)');
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.skipIf(!python)('a genotype with every activation counts the same as exportPytorch’s Network', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnas-network-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'model.py'), exportPytorch(ALL_ACTIVATIONS));
    const cases = [
      [16, 8, 10, 3],
      [8, 5, 7, 1],
    ];
    writeFileSync(
      join(dir, 'count.py'),
      `import json\nimport model as M\nprint(json.dumps([M.count_parameters(M.Network(C, k, L, True, in_channels=i)) for C, L, k, i in ${JSON.stringify(cases)}]))\n`,
    );
    const r = spawnSync(python!, ['count.py'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
    const torchCounts = JSON.parse(r.stdout.trim()) as [number, number][];
    cases.forEach(([C, L, k, i], n) => {
      const ours = counts({ genotype: ALL_ACTIVATIONS, channels: C, layers: L, classes: k, inChannels: i });
      expect([ours.params, ours.auxiliaryParams]).toEqual(torchCounts[n]);
    });
  });

  it.skipIf(!python)(
    'computes what the exported PyTorch Network computes with the same weights (eval and train)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fnas-network-'));
      dirs.push(dir);
      writeFileSync(join(dir, 'model.py'), exportPytorch(ALL_ACTIVATIONS));
      // Training mode draws random RReLU slopes: compare it on a genotype without RReLU.
      const noRrelu: Genotype = {
        ...ALL_ACTIVATIONS,
        normal: ALL_ACTIVATIONS.normal.map((x) =>
          x.activation === 'rrelu' ? { ...x, activation: 'elu' as const } : x,
        ),
      };

      const dump = async (net: DiscreteNetwork, name: string) => {
        const vars = net.namedVariables();
        const chunks = await Promise.all(vars.map((v) => v.variable.data() as Promise<Float32Array>));
        const flat = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
        let o = 0;
        for (const c of chunks) {
          flat.set(c, o);
          o += c.length;
        }
        writeFileSync(join(dir, `${name}.bin`), flat);
        writeFileSync(
          join(dir, `${name}.json`),
          JSON.stringify(vars.map((v) => ({ name: v.name, kind: v.kind, shape: v.variable.shape }))),
        );
      };
      const writeInput = async (x: tf.Tensor4D, name: string) => {
        writeFileSync(join(dir, `${name}.bin`), (await x.data()) as Float32Array);
        return x.shape;
      };

      // Eval: ALL_ACTIVATIONS on 32x32x3, running statistics moved by two training passes first.
      const a = build({ genotype: ALL_ACTIVATIONS, channels: 4, layers: 5, classes: 10, inChannels: 3 });
      const xa = randomImages(4, 32, 32, 3, 21);
      for (let i = 0; i < 2; i++) tf.tidy(() => a.forward(xa, { training: true, rng: new Random(i) }).logits);
      await dump(a, 'a');
      const shapeA = await writeInput(xa, 'xa');
      const evalLogits = tf.tidy(() => a.forward(xa, { training: false, rng: new Random(0) }).logits);

      // Train: no-RReLU genotype on 28x28x1 (the ceil-mode auxiliary pool on a 7x7 map), aux logits
      // and the updated running statistics.
      const b = build({ genotype: noRrelu, channels: 4, layers: 5, classes: 10, inChannels: 1 });
      const xb = randomImages(4, 28, 28, 1, 22);
      await dump(b, 'b');
      const shapeB = await writeInput(xb, 'xb');
      const trainOut = tf.tidy(() => {
        const out = b.forward(xb, { training: true, rng: new Random(0) });
        return [out.logits, out.auxLogits!];
      });
      const buffersAfter = b.namedVariables().filter((v) => v.kind === 'buffer');
      const ours = {
        evalLogits: Array.from(await evalLogits.data()),
        trainLogits: Array.from(await trainOut[0].data()),
        trainAux: Array.from(await trainOut[1].data()),
        buffers: Array.from(
          (await Promise.all(buffersAfter.map((v) => v.variable.data()))).flatMap((d) => Array.from(d)),
        ),
      };
      tf.dispose([xa, xb, evalLogits, ...trainOut]);

      const script = `
import json
import numpy as np
import torch
import model as M

def genotype(g):
    return M.Genotype(normal=[tuple(x) for x in g['normal']], normal_concat=g['normalConcat'],
                      reduce=[tuple(x) for x in g['reduce']], reduce_concat=g['reduceConcat'])

def load(net, name):
    meta = json.load(open(name + '.json'))
    data = np.fromfile(name + '.bin', dtype=np.float32)
    arrays, off = [], 0
    for m in meta:
        n = int(np.prod(m['shape'])) if m['shape'] else 1
        arrays.append((m, data[off:off + n].reshape(m['shape'])))
        off += n
    params = [x for x in arrays if x[0]['kind'] == 'param']
    buffers = [x for x in arrays if x[0]['kind'] == 'buffer']
    tparams = list(net.named_parameters())
    tbuffers = [(k, b) for k, b in net.named_buffers() if 'num_batches_tracked' not in k]
    assert len(tparams) == len(params), (len(tparams), len(params))
    assert len(tbuffers) == len(buffers), (len(tbuffers), len(buffers))
    for (tname, t), (m, a) in list(zip(tparams, params)) + list(zip(tbuffers, buffers)):
        if a.ndim == 4:
            a = a.transpose(2, 3, 0, 1) if '.dw' in m['name'] else a.transpose(3, 2, 0, 1)
        elif a.ndim == 2:
            a = a.T
            if t.dim() == 4:
                a = a[:, :, None, None]
        assert tuple(a.shape) == tuple(t.shape), (m['name'], tname, a.shape, tuple(t.shape))
        t.data.copy_(torch.from_numpy(np.ascontiguousarray(a)))

def image(name, shape):
    return torch.from_numpy(np.fromfile(name + '.bin', dtype=np.float32).reshape(shape)).permute(0, 3, 1, 2).contiguous()

g = json.load(open('genotypes.json'))
out = {}
a = M.Network(4, 10, 5, True, in_channels=3, genotype=genotype(g['a']))
load(a, 'a')
a.eval()
with torch.no_grad():
    out['evalLogits'] = a(image('xa', ${JSON.stringify(shapeA)}))[0].flatten().tolist()
b = M.Network(4, 10, 5, True, in_channels=1, genotype=genotype(g['b']))
load(b, 'b')
b.train()
with torch.no_grad():
    logits, aux = b(image('xb', ${JSON.stringify(shapeB)}))
out['trainLogits'] = logits.flatten().tolist()
out['trainAux'] = aux.flatten().tolist()
out['buffers'] = [v for k, t in b.named_buffers() if 'num_batches_tracked' not in k for v in t.flatten().tolist()]
print(json.dumps(out))
`;
      const triples = (g: Genotype) => ({
        normal: g.normal.map((x) => [x.op, x.from, x.activation]),
        normalConcat: g.normalConcat,
        reduce: g.reduce.map((x) => [x.op, x.from, x.activation]),
        reduceConcat: g.reduceConcat,
      });
      writeFileSync(join(dir, 'genotypes.json'), JSON.stringify({ a: triples(ALL_ACTIVATIONS), b: triples(noRrelu) }));
      writeFileSync(join(dir, 'compare.py'), script);
      const r = spawnSync(python!, ['compare.py'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
      const theirs = JSON.parse(r.stdout.trim()) as typeof ours;
      for (const key of ['evalLogits', 'trainLogits', 'trainAux', 'buffers'] as const) {
        expect(ours[key].length).toBe(theirs[key].length);
        const worst = Math.max(
          ...ours[key].map((v, i) => Math.abs(v - theirs[key][i]) / (1 + Math.abs(theirs[key][i]))),
        );
        expect(worst, key).toBeLessThan(1e-4); // measured: at most 5e-6
      }
    },
  );
});
