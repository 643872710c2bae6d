// The search as a PyTorch script (export-search): the script has the lab's counts, reads the lab's
// data sets, resumes exactly, and refuses bad input with a remedy. The parts that run Python need
// python3-torch.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { SETUP_LINE, exportSearchScript, pythonLiteral } from './pytorch-search';
import { makeConfig, type SearchConfig } from '../search/space';
import { Supernet } from '../search/supernet';
import { Random } from '../util/random';
import { makeSyntheticDataset } from '../data/index';
import { loadDatasetNode } from '../data/node';
import { CIFAR_META, bytesOf, cifarBatch, gz, idxFile, tarFile } from '../data/test-fixtures';
import { findTorchPython } from '../search/testdata/fixtures';

const PYTHON = findTorchPython();
if (!PYTHON) console.log('skipped: python3-torch not installed, so the PyTorch search script was not run');

const template = readFileSync(fileURLToPath(new URL('./search_template.py', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'fnas-search-'));
const dataDir = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tiny setup: 8x8 grey images, C=4, 3 cells (a normal one, two reductions), batches of 8. */
const TINY: Partial<SearchConfig> = { channels: 4, layers: 3, batchSize: 8, maxSteps: 3, seed: 5 };

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

describe.skipIf(!PYTHON)('the PyTorch search script', () => {
  it('has the lab’s parameter count in every mode', async () => {
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
    const own = await python(writeScript(makeConfig({ mode: 'darts', activation: 'prelu', channels: 16, layers: 8 })), [
      '--check-counts',
    ]);
    expect(JSON.parse(own.stdout)).toEqual({ supernetParams: lab[3], alphaShape: [14, 8], betaShape: null });
  });

  it('reads CIFAR-10 as the lab does: a test split made from the training batches, the same statistics', async () => {
    const labels = Array.from({ length: 30 }, (_, i) => (i * 7) % 10);
    const archive = join(dir, 'cifar-10-binary.tar.gz');
    writeFileSync(
      archive,
      gz(
        tarFile([
          { path: 'cifar-10-batches-bin/', directory: true },
          { path: 'cifar-10-batches-bin/batches.meta.txt', data: bytesOf(CIFAR_META) },
          { path: 'cifar-10-batches-bin/data_batch_2.bin', data: cifarBatch(labels.slice(20), undefined, 20) },
          { path: 'cifar-10-batches-bin/data_batch_1.bin', data: cifarBatch(labels.slice(0, 20)) },
        ]),
      ),
    );
    const r = await python(writeScript(makeConfig(TINY)), ['--describe-data', '--data', archive]);
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
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
  });

  it('stops, checkpoints and resumes where an uninterrupted run would be', async () => {
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
    const halfway = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as RunFileJson & { message: string };
    expect(halfway).toMatchObject({ status: 'stopped', steps: 2 });
    expect(halfway.message).toContain('--resume');
    const resumed = await python(script, [...args(join(dir, 'split.json')), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const straight = JSON.parse(readFileSync(join(dir, 'straight.json'), 'utf8')) as RunFileJson;
    const split = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as RunFileJson;
    expect(split.status).toBe('done');
    const losses = (f: RunFileJson) => f.metrics.map((m) => [m.step, m.trainLoss, m.valLoss]);
    expect(losses(split)).toEqual(losses(straight));
    expect(split.snapshots).toEqual(straight.snapshots);
  });

  it('refuses bad input with a message that names the remedy', async () => {
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
  });
});
