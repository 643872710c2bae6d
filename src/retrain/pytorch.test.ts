import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DARTS_V2, GenotypeError, toGenotypeFile, type Genotype } from '../search/genotype';
import { exportPytorch } from './pytorch';
import type { ActivationName, OpName } from '../search/space';
import { ALL_ACTIVATIONS, findTorchPython } from '../search/testdata/fixtures';

const PYTHON = findTorchPython();
if (!PYTHON) console.log('skipped: python3-torch not installed');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeModel(g: Genotype, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fnas-pytorch-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'model.py'), exportPytorch(g));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

function python(dir: string, args: string[]): string {
  const r = spawnSync(PYTHON!, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`python ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

function count(g: Genotype, args: (string | number)[]): { params: number; auxiliaryParams: number } {
  const dir = writeModel(g);
  return JSON.parse(python(dir, ['model.py', ...args.map(String)]).trim()) as {
    params: number;
    auxiliaryParams: number;
  };
}

describe('exportPytorch (source)', () => {
  const src = exportPytorch(toGenotypeFile(ALL_ACTIVATIONS, { run: { mode: 'factorized', dataset: "it's\nmine" } }));

  it('embeds the genotype as (op, input, activation) triples', () => {
    expect(src).toContain('GENOTYPE = Genotype(');
    expect(src).toContain("        ('dil_conv_5x5', 2, 'prelu'),");
    expect(src).toContain("        ('skip_connect', 1, None),");
    expect(src).toContain('    normal_concat=[2, 3, 4, 5],');
  });

  it('defines the DARTS pieces and the CLI entry', () => {
    for (const piece of [
      'class ReLUConvBN(',
      'class DilConv(',
      'class SepConv(',
      'class Identity(',
      'class Zero(',
      'class FactorizedReduce(',
      'class Cell(',
      'class AuxiliaryHeadCIFAR(',
      'class Swish(',
      'self.auxiliary_head = AuxiliaryHeadCIFAR(',
      'def __init__(self, C, num_classes, layers, auxiliary, drop_path_prob=0.0, in_channels=3, genotype=GENOTYPE):',
      'def count_parameters(model):',
      "if __name__ == '__main__':",
      'nn.PReLU(num_parameters=C, init=0.25)',
      'nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)',
    ])
      expect(src).toContain(piece);
  });

  it('keeps user text out of the code: run fields become one comment line', () => {
    expect(src).toContain("#   dataset: it's mine");
    expect(src).not.toMatch(/\nmine/);
  });

  it('rejects a broken genotype', () => {
    const bad = { ...DARTS_V2, normal: DARTS_V2.normal.slice(0, 7) };
    expect(() => exportPytorch(bad)).toThrow(GenotypeError);
    const noAct = { ...DARTS_V2, normal: DARTS_V2.normal.map((x) => ({ ...x, activation: null })) };
    expect(() => exportPytorch(noAct)).toThrow('genotype.normal[0].activation: sep_conv_3x3 needs an activation');
  });
});

describe('exportPytorch (run under PyTorch)', () => {
  it.skipIf(!PYTHON)('DARTS_V2 at C=36, 20 layers, 10 classes has DARTS’s parameter counts', () => {
    const c = count(DARTS_V2, [36, 20, 10]);
    expect(c.params).toBe(3349342);
    expect(c.params + c.auxiliaryParams).toBe(3825768);
    // defaults are the same network
    expect(count(DARTS_V2, [])).toEqual(c);
    // in_channels = 1: the stem conv loses 2 × 108 × 3 × 3 weights
    expect(count(DARTS_V2, [36, 20, 10, 1]).params).toBe(3349342 - 2 * 108 * 9);
  });

  it.skipIf(!PYTHON)('PReLU adds C per op (per channel), Swish adds 1 per op', () => {
    // C=8, 5 layers: normal cells 0, 2, 4 at C = 8, 16, 32; reduce cells 1, 3 at 16, 32.
    const withAct = (cell: 'normal' | 'reduce', i: number, op: OpName, a: ActivationName): Genotype => {
      const g = JSON.parse(JSON.stringify(DARTS_V2)) as Genotype;
      g[cell][i] = { ...g[cell][i]!, op, activation: a };
      return g;
    };
    const variants: Record<string, Genotype> = {
      base: DARTS_V2,
      normalPrelu: withAct('normal', 0, 'sep_conv_3x3', 'prelu'),
      normalSwish: withAct('normal', 7, 'dil_conv_3x3', 'swish'),
      reduceRelu: withAct('reduce', 0, 'sep_conv_3x3', 'relu'),
      reducePrelu: withAct('reduce', 0, 'sep_conv_3x3', 'prelu'),
      ...Object.fromEntries(
        (['relu6', 'leaky_relu', 'rrelu', 'elu', 'celu', 'selu'] as const).map((a) => [
          a,
          withAct('normal', 0, 'sep_conv_3x3', a),
        ]),
      ),
    };
    // One Python process: the exported Network takes genotype= (same triples as GENOTYPE).
    const script = `
import json
import model as M
variants = json.load(open('variants.json'))
out = {}
for name, g in variants.items():
    geno = M.Genotype(normal=[tuple(x) for x in g['normal']], normal_concat=g['normalConcat'],
                      reduce=[tuple(x) for x in g['reduce']], reduce_concat=g['reduceConcat'])
    out[name] = M.count_parameters(M.Network(8, 10, 5, True, genotype=geno))[0]
print(json.dumps(out))
`;
    const triples = (g: Genotype) => ({
      normal: g.normal.map((x) => [x.op, x.from, x.activation]),
      normalConcat: g.normalConcat,
      reduce: g.reduce.map((x) => [x.op, x.from, x.activation]),
      reduceConcat: g.reduceConcat,
    });
    const dir = writeModel(DARTS_V2, {
      'count.py': script,
      'variants.json': JSON.stringify(Object.fromEntries(Object.entries(variants).map(([k, g]) => [k, triples(g)]))),
    });
    const n = JSON.parse(python(dir, ['count.py']).trim()) as Record<string, number>;
    expect(n.base).toBe(count(DARTS_V2, [8, 5, 10]).params); // genotype= agrees with the embedded GENOTYPE
    expect(n.normalPrelu! - n.base!).toBe(8 + 16 + 32);
    expect(n.normalSwish! - n.base!).toBe(3);
    expect(n.reducePrelu! - n.reduceRelu!).toBe(16 + 32);
    for (const a of ['relu6', 'leaky_relu', 'rrelu', 'elu', 'celu', 'selu']) expect(n[a]).toBe(n.base);
  });

  it.skipIf(!PYTHON)('forward: every activation, RGB 32×32 and grayscale 28×28, aux logits in train mode', () => {
    const script = `
import json, sys
import torch
import model as M

torch.manual_seed(0)
out = {'genotype': M.GENOTYPE._asdict()}
net = M.Network(8, 10, 5, True, drop_path_prob=0.2)
net.train()
logits, aux = net(torch.randn(2, 3, 32, 32))
(logits.sum() + aux.sum()).backward()
out['rgbTrain'] = [list(logits.shape), list(aux.shape)]
out['gradsFinite'] = all(bool(torch.isfinite(p.grad).all()) for p in net.parameters() if p.grad is not None)
net.eval()
with torch.no_grad():
    logits, aux = net(torch.randn(2, 3, 32, 32))
out['rgbEval'] = [list(logits.shape), aux is None]
gray = M.Network(8, 10, 5, True, in_channels=1)
gray.train()
logits, aux = gray(torch.randn(2, 1, 28, 28))
out['grayTrain'] = [list(logits.shape), list(aux.shape)]
gray.eval()
with torch.no_grad():
    logits, aux = gray(torch.randn(2, 1, 28, 28))
out['grayEval'] = [list(logits.shape), aux is None]
out['modules'] = sorted({type(m).__name__ for m in net.modules()})
print(json.dumps(out))
`;
    const dir = writeModel(ALL_ACTIVATIONS, { 'check.py': script });
    const out = JSON.parse(python(dir, ['check.py']).trim()) as Record<string, unknown>;
    expect(out.rgbTrain).toEqual([
      [2, 10],
      [2, 10],
    ]);
    expect(out.gradsFinite).toBe(true);
    expect(out.rgbEval).toEqual([[2, 10], true]);
    expect(out.grayTrain).toEqual([
      [2, 10],
      [2, 10],
    ]);
    expect(out.grayEval).toEqual([[2, 10], true]);
    for (const m of [
      'ReLU',
      'ReLU6',
      'LeakyReLU',
      'PReLU',
      'RReLU',
      'ELU',
      'CELU',
      'SELU',
      'Swish',
      'FactorizedReduce',
      'Identity',
      'MaxPool2d',
      'AvgPool2d',
    ])
      expect(out.modules).toContain(m);
    const g = out.genotype as Record<string, unknown[]>;
    expect(g.normal).toEqual(ALL_ACTIVATIONS.normal.map((x) => [x.op, x.from, x.activation]));
    expect(g.reduce).toEqual(ALL_ACTIVATIONS.reduce.map((x) => [x.op, x.from, x.activation]));
    expect(g.reduce_concat).toEqual([2, 3, 4, 5]);
  });
});
