// The search as a PyTorch script (export-search) and its start (export-init): the script is the
// lab's search (its counts, its first step from the lab's start), runs under torchrun on two
// processes, and writes a run file the lab imports. The parts that run Python need python3-torch.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { SETUP_LINE, exportSearchScript, pythonLiteral } from './pytorch-search';
import {
  makeSearchInit,
  permuteAxes,
  stringifySearchInit,
  toScriptVariables,
  ungroupPerStateVariables,
} from './search-init';
import { makeConfig, type SearchConfig } from '../search/space';
import { SearchEngine } from '../search/engine';
import { Supernet, regroupPerEdgeVariables } from '../search/supernet';
import { Random } from '../util/random';
import { evalBatches, makeSearchStreams, makeSyntheticDataset, type Dataset } from '../data/index';
import { loadDatasetNode } from '../data/node';
import { CIFAR_META, bytesOf, cifarBatch, gz, idxFile, tarFile } from '../data/test-fixtures';
import { findTorchPython } from '../search/testdata/fixtures';
import { decodeRunFile } from '../runs/format';
import { openRunStore } from '../runs/store';
import { deriveGenotype } from '../search/genotype';

const PYTHON = findTorchPython();
if (!PYTHON) console.log('skipped: python3-torch not installed, so the PyTorch search script was not run');

const root = fileURLToPath(new URL('../../', import.meta.url));
const template = readFileSync(fileURLToPath(new URL('./search_template.py', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'fnas-search-'));
const dataDir = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tests that run Python: a loaded 2-core machine took up to 50 s for the slowest. */
const PYTHON_TIMEOUT = 300_000;

/** A tiny setup: 8x8 grey images, C=4, 3 cells (a normal one, two reductions), batches of 8. */
const TINY: Partial<SearchConfig> = { channels: 4, layers: 3, batchSize: 8, maxSteps: 3, seed: 5 };
let dataset: Dataset;

beforeAll(async () => {
  await tf.setBackend('cpu');
  // A synthetic data set written as IDX files: the lab and the script both read the folder.
  const synthetic = makeSyntheticDataset({
    seed: 3,
    height: 8,
    width: 8,
    channels: 1,
    classes: 10,
    trainCount: 96,
    testCount: 20,
  });
  mkdirSync(dataDir);
  for (const [prefix, set] of [
    ['train', synthetic.train],
    ['t10k', synthetic.test],
  ] as const) {
    writeFileSync(join(dataDir, `${prefix}-images-idx3-ubyte`), idxFile(0x803, [set.count, 8, 8], set.images));
    writeFileSync(join(dataDir, `${prefix}-labels-idx1-ubyte.gz`), gz(idxFile(0x801, [set.count], set.labels)));
  }
  dataset = await loadDatasetNode(dataDir);
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (in the background: the lab's own steps compute meanwhile). */
function run(command: string, args: string[], cwd = dir): Promise<Result> {
  return new Promise((resolve) =>
    execFile(
      command,
      args,
      { cwd, maxBuffer: 1 << 26, timeout: 120_000, env: { ...process.env, OMP_NUM_THREADS: '1' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** The lab's CLI (tsx), as a user runs it. */
function lab(...args: string[]): Promise<Result> {
  return run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/main.ts'), ...args], root);
}

let scripts = 0;
/** Writes the search script of `config` and returns its path. */
function writeScript(config: SearchConfig): string {
  const path = join(dir, `search-${scripts++}.py`);
  writeFileSync(path, exportSearchScript(template, config, { createdAt: '2026-12-06T00:00:00.000Z' }));
  return path;
}

function python(script: string, args: string[]): Promise<Result> {
  return run(PYTHON!, [script, ...args]);
}

let launches = 0;
/**
 * torchrun (as `python -m torch.distributed.run`, the same program). torch 1.13's torchrun fails on
 * Python 3.11 with its default --redirects 0 (its Std flag parsing; fixed in torch 2.0): a copy of
 * stderr to a log file (--redirects 2 --tee 2) takes another path; stdout stays as it is.
 */
function torchrun(processes: number, script: string, args: string[]): Promise<Result> {
  const logs = join(dir, `torchrun-${launches++}`);
  mkdirSync(logs);
  const launcher = ['-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${processes}`];
  launcher.push('--redirects', '2', '--tee', '2', '--log_dir', logs);
  return run(PYTHON!, [...launcher, script, ...args]);
}

interface RunFileJson {
  status: string;
  steps: number;
  backend: string;
  metrics: { step: number; trainLoss: number; valLoss: number; valAccuracy: number }[];
  snapshots: { step: number; [key: string]: unknown }[];
  heldOut: { step: number; epoch: number; testLoss: number; testAccuracy: number; testCount: number }[];
}

const ARCH_KEYS = ['alphaNormal', 'alphaReduce', 'betaNormal', 'betaReduce', 'edgeNormal', 'edgeReduce'] as const;

function flatArch(w: Record<string, unknown>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of ARCH_KEYS) if (w[k]) out[k] = (w[k] as number[] | number[][]).flat();
  return out;
}

/** The lab's first step on the cpu backend: losses, accuracy and α/β after it. */
async function labFirstStep(config: SearchConfig) {
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  const engine = new SearchEngine(config, { height: 8, width: 8, channels: 1, classes: 10 }, streams);
  try {
    const p = await engine.runStep();
    const arch = flatArch((await engine.archWeights()) as unknown as Record<string, unknown>);
    // The run's validation accuracy after the step, as the page scores it (search-job.ts).
    const heldOut = await engine.evaluate(evalBatches(dataset, 'test', config.batchSize, { limit: 500 }));
    return { ...p, arch, heldOut };
  } finally {
    engine.dispose();
  }
}

/** The script's first step from the lab's start (export-init's file), on one process. */
async function scriptFirstStep(script: string, init: string, float64: boolean) {
  const out = join(dir, `first-${scripts++}.run.json`);
  const r = await python(script, [
    '--data',
    dataDir,
    '--out',
    out,
    '--init-from',
    init,
    '--steps',
    '1',
    '--device',
    'cpu',
    '--quiet',
    ...(float64 ? ['--float64'] : []),
  ]);
  expect(r.code, r.stderr).toBe(0);
  const file = JSON.parse(readFileSync(out, 'utf8')) as RunFileJson;
  const at = (step: number) => flatArch(file.snapshots.find((s) => s.step === step)!);
  return { row: file.metrics[0]!, before: at(0), after: at(1), heldOut: file.heldOut };
}

/** The script and init file of `config`, written in-process (the CLI's path is tested once, below). */
async function exported(config: SearchConfig): Promise<[string, string]> {
  const init = join(dir, `init-${scripts}.json`);
  writeFileSync(init, stringifySearchInit(await makeSearchInit(config, dataset, '2026-12-06T00:00:00.000Z')));
  return [writeScript(config), init];
}

/** A network's variables as a checkpoint saves them. */
async function savedVariables(net: Supernet) {
  const out = [];
  for (const p of net.namedVariables())
    out.push({ name: p.name, shape: p.variable.shape, values: (await p.variable.data()) as Float32Array });
  return out;
}

/**
 * Checks α/β after the first step against the lab's: within `clearTolerance` where the lab moved
 * a weight by about ±lr (its gradient clear of rounding noise), within `noiseTolerance` elsewhere.
 */
function compareArch(
  config: SearchConfig,
  lab: Record<string, number[]>,
  script: { before: Record<string, number[]>; after: Record<string, number[]> },
  clearTolerance: number,
  noiseTolerance: number,
  what: string,
): { clear: number; moved: number } {
  let clear = 0;
  let moved = 0;
  for (const [key, values] of Object.entries(lab)) {
    const lr = key.startsWith('beta') ? config.activationLearningRate : config.archLearningRate;
    values.forEach((x, i) => {
      const move = Math.abs(x - script.before[key]![i]!);
      const difference = Math.abs(script.after[key]![i]! - x);
      if (move > 0) moved++;
      if (move > 0.999 * lr) {
        clear++;
        expect(difference, `${what} ${key}[${i}]`).toBeLessThan(clearTolerance);
      } else expect(difference, `${what} ${key}[${i}]`).toBeLessThan(noiseTolerance);
    });
  }
  return { clear, moved };
}

/** β rows for fixed-beta: each edge leans to one activation (rrelu on some, so its draws count). */
function fixedBetaRows(): SearchConfig['fixedBeta'] {
  const rows = (shift: number) =>
    Array.from({ length: 14 }, (_, e) => Array.from({ length: 9 }, (_, a) => (a === (e + shift) % 9 ? 2 : 0)));
  return { betaNormal: rows(0), betaReduce: rows(4) };
}

describe('exportSearchScript', () => {
  const config = makeConfig({ mode: 'fixed-beta', channels: 8 });
  const script = exportSearchScript(template, config, {
    createdAt: '2026-12-06T10:00:00.000Z',
    flags: '--mode fixed-beta',
  });

  it('writes the setup over the template’s SETUP line, as a Python literal', () => {
    expect(template.split('\n').filter((l) => l === SETUP_LINE)).toHaveLength(1);
    expect(script).not.toContain(SETUP_LINE);
    expect(script).toContain('SETUP = {\n    "config": {\n        "mode": "fixed-beta",\n');
    expect(script).toContain('        "fixedBeta": None,\n        "channels": 8,\n');
    expect(script).toContain('# Setup flags: --mode fixed-beta');
    // Everything else is the template's.
    expect(script.replace(/# The setup, written[\s\S]*?\nSETUP = \{[\s\S]*?\n\}\n/, SETUP_LINE + '\n')).toBe(template);
  });

  it('writes Python literals: None, True, nested lists, escaped strings', () => {
    expect(pythonLiteral({ a: null, b: [true, false], c: 'it\'s "x"\n', d: [[1, 2.5]] })).toBe(
      '{\n    "a": None,\n    "b": [True, False],\n    "c": "it\'s \\"x\\"\\n",\n    "d": [\n        [1, 2.5],\n    ],\n}',
    );
    expect(() => pythonLiteral(NaN)).toThrow('NaN has no JSON form');
  });

  it('refuses a bad setup and a template without its SETUP line', () => {
    expect(() => exportSearchScript(template, { ...config, channels: 0 }, { createdAt: 'now' })).toThrow(
      'config.channels: must be a positive integer, got 0',
    );
    expect(() => exportSearchScript('print(1)\n', config, { createdAt: 'now' })).toThrow('exactly one line');
  });
});

describe('export-init: the network’s variables in the script’s names and layouts', () => {
  it('ungroups the per-state weights into per-edge ones, the inverse of the lab’s regrouping', async () => {
    for (const overrides of [{ mode: 'factorized', partialChannels: 2 }, { mode: 'nonfactorized' }] as const) {
      const net = new Supernet(
        { config: makeConfig({ ...TINY, ...overrides }), input: { height: 8, width: 8, channels: 1, classes: 10 } },
        new Random(1),
      );
      const saved = await savedVariables(net);
      net.dispose();
      const perEdge = ungroupPerStateVariables(saved);
      expect(perEdge.some((v) => v.name === 'cells.0.edges.13.sep_conv_5x5.dw2' || v.name.includes('+'))).toBe(true);
      const back = regroupPerEdgeVariables(perEdge);
      const byName = new Map(back.map((v) => [v.name, v]));
      expect(back).toHaveLength(saved.length);
      for (const v of saved) {
        expect(byName.get(v.name)?.shape, v.name).toEqual(v.shape);
        expect(Array.from(byName.get(v.name)!.values), v.name).toEqual(Array.from(v.values));
      }
    }
  });

  it('names and lays out each weight as the script’s PyTorch parameters', async () => {
    // NHWC [kh, kw, cin, cout] → [cout, cin, kh, kw]: element (i, j, c, o) goes to (o, c, i, j).
    const shape = [2, 3, 4, 5];
    const values = Float32Array.from({ length: 120 }, (_, i) => i);
    const out = permuteAxes(values, shape, [3, 2, 0, 1]);
    const at = (i: number, j: number, c: number, o: number) => ((i * 3 + j) * 4 + c) * 5 + o;
    expect(out[((4 * 4 + 2) * 2 + 1) * 3 + 2]).toBe(values[at(1, 2, 2, 4)]);

    const net = new Supernet(
      { config: makeConfig({ ...TINY, partialChannels: 2 }), input: { height: 8, width: 8, channels: 1, classes: 10 } },
      new Random(1),
    );
    const saved = await savedVariables(net);
    net.dispose();
    const mapped = new Map(toScriptVariables(saved).map((v) => [v.name, v]));
    expect(mapped.get('stem.conv.weight')?.shape).toEqual([12, 1, 3, 3]);
    expect(mapped.get('stem.bn.weight')?.shape).toEqual([12]);
    expect(mapped.get('cells.1.pre0.conv.weight')?.shape).toEqual([8, 12, 1, 1]);
    expect(mapped.get('cells.2.pre0.conv1.weight')?.shape).toEqual([8, 16, 1, 1]); // after a reduction
    // Cell 1 reduces: C = 8, partial channels 2 → 4 channels through the mixed ops.
    expect(mapped.get('cells.1.edges.0.skip.conv1.weight')?.shape).toEqual([2, 4, 1, 1]);
    expect(mapped.get('cells.1.edges.9.ops.dil_conv_5x5.dw1.weight')?.shape).toEqual([4, 1, 5, 5]);
    expect(mapped.get('cells.1.edges.9.ops.sep_conv_3x3.pw2.weight')?.shape).toEqual([4, 4, 1, 1]);
    expect(mapped.get('cells.1.edges.9.prelu')?.shape).toEqual([4]);
    expect(mapped.get('cells.1.edges.9.swish')?.shape).toEqual([1]);
    expect(mapped.get('classifier.weight')?.shape).toEqual([10, 64]);
    expect(mapped.get('alpha_normal')?.shape).toEqual([14, 8]);
    expect(mapped.get('edge_reduce')?.shape).toEqual([14]);
    // Edge 11 (node 5 from state 2) is slot 2 of the 3 edges leaving state 2 (edges 4, 7, 11).
    const group = saved.find((v) => v.name === 'cells.1.from2.sep_conv_3x3.pw1')!;
    const pw = mapped.get('cells.1.edges.11.ops.sep_conv_3x3.pw1.weight')!;
    // Lab [slot, cin, cout] → PyTorch [cout, cin]: (slot 2, cin 3, cout 1) is (1, 3).
    expect(pw.values[1 * 4 + 3]).toBe(group.values[(2 * 4 + 3) * 4 + 1]);
    const dwGroup = saved.find((v) => v.name === 'cells.1.from2.dil_conv_5x5.dw1')!; // [5, 5, 3·4, 1]
    const dw = mapped.get('cells.1.edges.11.ops.dil_conv_5x5.dw1.weight')!; // [4, 1, 5, 5]
    // Channel 1, tap (2, 3): the lab's tap-major [tap][slot·C + c].
    expect(dw.values[1 * 25 + 2 * 5 + 3]).toBe(dwGroup.values[(2 * 5 + 3) * 12 + 2 * 4 + 1]);
    expect(() => toScriptVariables([{ name: 'cells.0.mystery', shape: [1], values: new Float32Array(1) }])).toThrow(
      'cells.0.mystery: a variable the PyTorch search script does not have',
    );
  });
});

describe.skipIf(!PYTHON)('the PyTorch search script', () => {
  it(
    'has the lab’s parameter count in every mode',
    async () => {
      const setups: Partial<SearchConfig>[] = [
        { mode: 'darts' },
        { mode: 'factorized' },
        { mode: 'nonfactorized' },
        { mode: 'darts', activation: 'prelu' },
        { mode: 'darts', activation: 'swish' },
        { mode: 'fixed-beta' },
        { mode: 'factorized', partialChannels: 4 },
        { mode: 'nonfactorized', partialChannels: 4 },
      ];
      const configs = setups.map((s) => makeConfig({ channels: 16, layers: 8, ...s }));
      // One Python process builds them all: the script is a module too.
      const driver = join(dir, 'counts.py');
      writeFileSync(
        driver,
        [
          'import importlib.util, json, sys',
          'spec = importlib.util.spec_from_file_location("search", sys.argv[1])',
          'search = importlib.util.module_from_spec(spec); spec.loader.exec_module(search)',
          'configs = json.loads(sys.argv[2])',
          'print(json.dumps([search.Supernet(c, 3, 10).count_weights() for c in configs]))',
        ].join('\n'),
      );
      const counting = run(PYTHON!, [driver, writeScript(configs[0]!), JSON.stringify(configs)]);
      const lab = configs.map((config) => {
        const net = new Supernet({ config, input: { height: 32, width: 32, channels: 3, classes: 10 } }, new Random(0));
        const n = net.countWeights();
        net.dispose();
        return n;
      });
      const r = await counting;
      expect(r.code, r.stderr).toBe(0);
      const counts = JSON.parse(r.stdout) as number[];
      expect(counts).toEqual(lab);
      expect(counts.slice(0, 3)).toEqual([1_930_618, 1_935_210, 16_256_874]);
      // The script's own --check-counts, as a user runs it (the lab's `count` output).
      const own = await python(
        writeScript(makeConfig({ mode: 'darts', activation: 'prelu', channels: 16, layers: 8 })),
        ['--check-counts'],
      );
      expect(JSON.parse(own.stdout)).toEqual({ supernetParams: lab[3], alphaShape: [14, 8], betaShape: null });
    },
    PYTHON_TIMEOUT,
  );

  it(
    'reads CIFAR-10 as the lab does, archive or folder: its test split, order and statistics',
    async () => {
      const labels = Array.from({ length: 30 }, (_, i) => (i * 7) % 10);
      const files = {
        'batches.meta.txt': bytesOf(CIFAR_META),
        'data_batch_2.bin': cifarBatch(labels.slice(20), undefined, 20),
        'data_batch_1.bin': cifarBatch(labels.slice(0, 20)),
      };
      const archive = join(dir, 'cifar-10-binary.tar.gz');
      const entries = Object.entries(files).map(([name, data]) => ({ path: `cifar-10-batches-bin/${name}`, data }));
      writeFileSync(archive, gz(tarFile([{ path: 'cifar-10-batches-bin/', directory: true }, ...entries])));
      // The archive unpacked: a folder holding cifar-10-batches-bin/.
      const folder = join(dir, 'cifar-10', 'cifar-10-batches-bin');
      mkdirSync(folder, { recursive: true });
      for (const [name, data] of Object.entries(files)) writeFileSync(join(folder, name), data);
      const script = writeScript(makeConfig(TINY));
      const [r, fromFolder] = await Promise.all([
        python(script, ['--describe-data', '--data', archive]),
        python(script, ['--describe-data', '--data', join(dir, 'cifar-10')]),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(fromFolder.code, fromFolder.stderr).toBe(0);
      const seen = JSON.parse(r.stdout) as Record<string, unknown>;
      expect({ ...(JSON.parse(fromFolder.stdout) as object), source: null }).toEqual({ ...seen, source: null });
      const lab = await loadDatasetNode(archive);
      const labLabels = Array.from(lab.train.labels);
      expect(seen).toMatchObject({
        name: 'cifar-10',
        height: 32,
        channels: 3,
        classes: 10,
        trainCount: lab.train.count,
        testCount: lab.test.count,
        augment: true,
        mean: lab.mean,
        std: lab.std,
        trainLabels: labLabels,
      });
      expect(lab.test.count).toBe(3); // no test batch: 10% of the training images, one per class drawn
    },
    PYTHON_TIMEOUT,
  );

  it(
    'starts from the lab’s start and takes the lab’s first step, in every mode',
    async () => {
      // In float64 the script computes what the lab's cpu backend computes (whose kernels accumulate
      // in float64 and store float32): losses within 1e-6 relative (measured: 1e-7), and α/β after
      // the step within 1e-6 (measured: 2e-7). Adam's first step moves a weight by lr·g/(|g| + 1e-8):
      // where |g| < 1e-5 (a move under 0.999·lr) the lab's float32 storage of g is amplified, and
      // those few entries must agree within 1e-4 (measured: 1.4e-6).
      // (factorized with the joint update: the float32 check below, from the CLI.)
      const setups: Partial<SearchConfig>[] = [
        { mode: 'factorized', archUpdate: 'sequential' },
        { mode: 'factorized', order: 2, partialChannels: 2 },
        { mode: 'darts', activation: 'rrelu', partialChannels: 2 },
        // 40 ops an edge: a quarter of the work (the lab's cpu backend took 19 s for a step at batch 8).
        { mode: 'nonfactorized', partialChannels: 2, batchSize: 4 },
        { mode: 'fixed-beta', fixedBeta: fixedBetaRows() },
      ];
      for (const setup of setups) {
        const config = makeConfig({ ...TINY, ...setup }, 'quick');
        const what = JSON.stringify({ ...setup, fixedBeta: setup.fixedBeta ? 'rows' : undefined });
        const scriptRun = scriptFirstStep(...(await exported(config)), true);
        const labStep = await labFirstStep(config);
        const script = await scriptRun;
        expect(Math.abs(script.row.trainLoss - labStep.trainLoss), what).toBeLessThan(1e-6 * labStep.trainLoss);
        expect(Math.abs(script.row.valLoss - labStep.valLoss), what).toBeLessThan(1e-6 * labStep.valLoss);
        expect(script.row.valAccuracy, what).toBe(labStep.valAccuracy);
        // Scored at the run's end (step 1) on the same held-out images: the lab's validation accuracy.
        expect(
          script.heldOut.map((e) => [e.step, e.testCount, e.testAccuracy]),
          what,
        ).toEqual([[1, labStep.heldOut.count, labStep.heldOut.accuracy]]);
        expect(Math.abs(script.heldOut[0]!.testLoss - labStep.heldOut.loss), what).toBeLessThan(
          1e-6 * labStep.heldOut.loss,
        );
        expect(Object.keys(script.after).sort(), what).toEqual(Object.keys(labStep.arch).sort());
        const { clear, moved } = compareArch(config, labStep.arch, script, 1e-6, 1e-4, what);
        expect(clear, what).toBeGreaterThan(0.9 * moved);
      }
    },
    PYTHON_TIMEOUT,
  );

  it(
    'takes the lab’s first step in float32 too, from the CLI’s export-search and export-init',
    async () => {
      // float32 sums in another order than the lab's float64 accumulation: losses agree within 1e-5
      // relative (measured: 2e-7; 3e-6 on the built-in 28x28 data). Adam's first step moves a weight
      // by lr·g/(|g| + 1e-8), about ±lr: where |g| is at float32's rounding noise (~1e-6 here) the
      // sign can differ, so α/β agree within 1e-5 where the lab's move is clearly ±lr (|g| > 1e-5;
      // measured: 1.5e-7), and elsewhere (6 of 476 entries) differ by at most two moves.
      const flags = ['--preset', 'quick', '--mode', 'factorized', '--channels', '4', '--layers', '3'];
      flags.push('--batch-size', '8', '--steps', '3', '--seed', '5');
      const config = makeConfig({ ...TINY, mode: 'factorized' }, 'quick');
      const script = join(dir, 'cli-search.py');
      const init = join(dir, 'cli-init.json');
      const [exportedScript, exportedInit] = await Promise.all([
        lab('export-search', '--out', script, ...flags),
        lab('export-init', '--out', init, '--dataset', dataDir, ...flags),
      ]);
      expect(exportedScript.code, exportedScript.stderr).toBe(0);
      expect(JSON.parse(exportedScript.stdout)).toEqual({ out: script, mode: 'factorized', config });
      expect(exportedInit.code, exportedInit.stderr).toBe(0);
      expect(JSON.parse(exportedInit.stdout)).toMatchObject({
        out: init,
        input: { height: 8, width: 8, channels: 1, classes: 10 },
      });
      const scriptRun = scriptFirstStep(script, init, false);
      const labStep = await labFirstStep(config);
      const scriptStep = await scriptRun;
      expect(Math.abs(scriptStep.row.trainLoss - labStep.trainLoss)).toBeLessThan(1e-5 * labStep.trainLoss);
      expect(Math.abs(scriptStep.row.valLoss - labStep.valLoss)).toBeLessThan(1e-5 * labStep.valLoss);
      const { clear, moved } = compareArch(
        config,
        labStep.arch,
        scriptStep,
        1e-5,
        2 * config.archLearningRate,
        'float32',
      );
      expect(clear).toBeGreaterThan(0.9 * moved);
    },
    PYTHON_TIMEOUT,
  );

  it(
    'runs on two processes under torchrun (gloo) and writes a run file the lab imports',
    async () => {
      const config = makeConfig({ ...TINY, maxSteps: 4 }, 'quick');
      const out = join(dir, 'two.run.json');
      const r = await torchrun(2, writeScript(config), ['--data', dataDir, '--out', out, '--device', 'cpu', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      // Process 0 prints the summary; the two end with the same weights (averaged gradients).
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(summary).toMatchObject({ steps: 4, status: 'done', processes: 2, replicasAgree: true });
      const imported = await lab('import-run', out);
      expect(imported.code, imported.stderr).toBe(0);
      const seen = JSON.parse(imported.stdout) as Record<string, unknown>;
      expect(seen).toMatchObject({
        kind: 'search',
        mode: 'factorized',
        status: 'done',
        backend: 'pytorch cpu x2 (gloo)',
        dataset: { name: 'data', height: 8, width: 8, channels: 1, classes: 10, trainCount: 96, testCount: 20 },
        steps: 4,
        stepsTotal: 4,
        metrics: 4,
        snapshots: 5,
        snapshotSteps: [0, 4],
        darts: summary.darts,
      });
      // The genotype is the lab's derivation from the last α/β.
      const text = readFileSync(out, 'utf8');
      const run = decodeRunFile(text, '2026-12-06T00:00:00.000Z');
      const last = run.snapshots[run.snapshots.length - 1]!;
      const derived = deriveGenotype(last, 'factorized', { fixedActivation: config.activation });
      expect(run.summary.genotype?.normal).toEqual(derived.normal);
      expect(run.summary.genotype?.reduce).toEqual(derived.reduce);
      expect(run.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
      // Its validation accuracy: the held-out images scored at the run's end (4 steps, under an epoch).
      expect(run.summary.heldOut.map((e) => [e.step, e.testCount])).toEqual([[4, 20]]);
      expect(run.summary.genotype?.run?.metrics?.valAccuracy).toBe(run.summary.heldOut[0]!.testAccuracy);
      for (const m of run.metrics) expect(m.trainLoss).toBeGreaterThan(1); // 10 classes: ln 10 ≈ 2.3 at the start
      // The Runs panel's import: the run is stored with its curves and α/β history (the replay).
      const store = await openRunStore({ indexedDB: null });
      const id = await store.importRun(text);
      const stored = await store.getRun(id);
      expect(stored.problems).toEqual([]);
      expect(stored.metrics.map((m) => m.trainLoss)).toEqual(run.metrics.map((m) => m.trainLoss));
      expect(stored.snapshots.map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
      expect(stored.genotype?.darts).toBe(summary.darts);
      // Exported again by the lab, it is the same history: the script writes the lab's format.
      const written = JSON.parse(text) as Record<string, unknown>;
      const labExport = await store.exportRun(id);
      const reexported = JSON.parse(labExport) as Record<string, unknown>;
      const keys = ['config', 'dataset', 'metrics', 'snapshots', 'heldOut', 'steps', 'bestValAccuracy', 'bestStep'];
      for (const key of [...keys, 'genotype', 'origin']) expect(reexported[key], key).toEqual(written[key]);
      // The file names its run, so importing it again (as it grows) updates this run.
      expect(written.origin).toMatch(/^search\.py:[0-9a-f-]{36}$/);
      expect(await store.importRun(text)).toBe(id);

      // import-run reads the lab's own export too, and refuses a damaged file naming the first problem.
      const damaged = JSON.parse(text) as { metrics: Record<string, unknown>[] };
      damaged.metrics[1]!.valLoss = 'low';
      writeFileSync(join(dir, 'damaged.json'), JSON.stringify(damaged));
      writeFileSync(join(dir, 'lab-export.json'), labExport);
      const [fromLab, refused] = await Promise.all([
        lab('import-run', join(dir, 'lab-export.json')),
        lab('import-run', join(dir, 'damaged.json')),
      ]);
      expect(fromLab.code, fromLab.stderr).toBe(0);
      expect(JSON.parse(fromLab.stdout)).toMatchObject({ status: 'done', steps: 4, metrics: 4, snapshots: 5 });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe('error: run.metrics[1].valLoss: expected a number, got "low"');
    },
    PYTHON_TIMEOUT,
  );

  it(
    'stops, checkpoints and resumes where an uninterrupted run would be',
    async () => {
      const config = makeConfig({ ...TINY, maxSteps: 4, order: 2 }, 'quick');
      const script = writeScript(config);
      const args = (out: string) => [
        '--data',
        dataDir,
        '--out',
        out,
        '--device',
        'cpu',
        '--quiet',
        '--snapshot-every',
        '1',
      ];
      const [straightRun, stopped] = await Promise.all([
        python(script, args(join(dir, 'straight.json'))),
        python(script, [...args(join(dir, 'split.json')), '--stop-after', '2']),
      ]);
      expect(straightRun.code, straightRun.stderr).toBe(0);
      expect(stopped.code, stopped.stderr).toBe(0);
      // A run file of a run that goes on later imports as it stands (stopped at step 2).
      const halfway = decodeRunFile(readFileSync(join(dir, 'split.json'), 'utf8'), '2026-12-06T00:00:00.000Z');
      expect(halfway.summary).toMatchObject({ status: 'stopped', steps: 2 });
      expect(halfway.summary.message).toContain('--resume');
      expect(halfway.metrics).toHaveLength(2);
      const resumed = await python(script, [...args(join(dir, 'split.json')), '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const straight = JSON.parse(readFileSync(join(dir, 'straight.json'), 'utf8')) as RunFileJson;
      const split = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as RunFileJson;
      expect(split.status).toBe('done');
      const losses = (f: RunFileJson) => f.metrics.map((m) => [m.step, m.trainLoss, m.valLoss]);
      expect(losses(split)).toEqual(losses(straight));
      expect(split.snapshots).toEqual(straight.snapshots);
      // Scored at the stop (as the lab scores at Stop) and at the end, where it equals the straight run's.
      expect(straight.heldOut.map((e) => e.step)).toEqual([4]);
      expect(split.heldOut.map((e) => e.step)).toEqual([2, 4]);
      expect(split.heldOut.at(-1)).toEqual(straight.heldOut.at(-1));
    },
    PYTHON_TIMEOUT,
  );

  it(
    'refuses bad input with a message that names the remedy',
    async () => {
      const script = writeScript(makeConfig(TINY, 'quick'));
      const out = join(dir, 'refused.json');
      const [noData, noFolder, threeWays] = await Promise.all([
        python(script, ['--data', join(dir, 'nowhere'), '--out', out]),
        python(script, ['--data', dataDir, '--out', join(dir, 'missing', 'run.json')]),
        torchrun(3, script, ['--data', dataDir, '--out', out, '--device', 'cpu']),
      ]);
      expect(noData.code).toBe(2);
      expect(noData.stderr).toContain(`error: --data ${join(dir, 'nowhere')}: no such file or directory (expected`);
      expect(noFolder.code).toBe(2);
      expect(noFolder.stderr).toContain(`is not a writable folder; give an --out in a folder that exists`);
      expect(threeWays.code).not.toBe(0);
      expect(threeWays.stderr).toContain('error: 3 processes do not divide the batch size 8');
    },
    PYTHON_TIMEOUT,
  );
});
