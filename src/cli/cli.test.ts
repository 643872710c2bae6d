// The CLI as a user's script sees it: one JSON object on stdout, errors on stderr with a
// non-zero exit, and no half-written files.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DARTS_V2, parseGenotypeFile, stringifyGenotypeFile, toGenotypeFile } from '../search/genotype';

const root = new URL('../../', import.meta.url).pathname;
const tsx = join(root, 'node_modules/.bin/tsx');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function lab(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      [join(root, 'src/cli/main.ts'), ...args],
      { cwd: root, maxBuffer: 1 << 24, timeout: 600_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lab-cli-'));

describe('count', () => {
  it('pins the DARTS supernet count and the α/β shapes of each mode', async () => {
    const darts = await lab(
      'count',
      '--mode',
      'darts',
      '--channels',
      '16',
      '--layers',
      '8',
      '--in-channels',
      '3',
      '--classes',
      '10',
    );
    expect(darts.code).toBe(0);
    // DARTS's model_search.Network(16, 10, 8) counted with PyTorch: 1,930,618 (α excluded).
    expect(JSON.parse(darts.stdout)).toEqual({ supernetParams: 1930618, alphaShape: [14, 8], betaShape: null });
    const factorized = JSON.parse((await lab('count', '--mode', 'factorized')).stdout);
    // + one PReLU slope per channel and one Swish b per edge: 14 · (16+16+32·3+64·3) + 14 · 8.
    expect(factorized).toEqual({
      supernetParams: 1930618 + 14 * 320 + 14 * 8,
      alphaShape: [14, 8],
      betaShape: [14, 9],
    });
    const nonfactorized = JSON.parse((await lab('count', '--mode', 'nonfactorized')).stdout);
    expect(nonfactorized.alphaShape).toEqual([14, 40]);
    expect(nonfactorized.supernetParams).toBe(16256874);
  }, 120_000);

  it('a typo in a flag is an error, not a silent default', async () => {
    const r = await lab('count', '--chanels', '16');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag: --chanels');
    expect(r.stdout).toBe('');
  }, 60_000);
});

describe('count-genotype, derive, export-pytorch', () => {
  it('DARTS_V2 at C=36, L=20 counts 3,349,342 (+476,426 auxiliary)', async () => {
    const file = join(dir, 'darts_v2.json');
    writeFileSync(file, stringifyGenotypeFile(toGenotypeFile(DARTS_V2)));
    const r = await lab('count-genotype', '--genotype', file, '--channels', '36', '--layers', '20', '--auxiliary');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ params: 3349342, auxiliaryParams: 476426 });
  }, 120_000);

  it('derive turns raw weights into a valid genotype file and infers the mode', async () => {
    const row = (hot: number, width: number) => Array.from({ length: width }, (_, i) => (i === hot ? 2 : 0));
    const weights = {
      alphaNormal: Array.from({ length: 14 }, (_, e) => row(e % 2 ? 4 : 3, 8)),
      alphaReduce: Array.from({ length: 14 }, () => row(1, 8)),
      betaNormal: Array.from({ length: 14 }, () => row(7, 9)),
      betaReduce: Array.from({ length: 14 }, () => row(8, 9)),
    };
    const file = join(dir, 'weights.json');
    writeFileSync(file, JSON.stringify(weights));
    const r = await lab('derive', '--weights', file);
    expect(r.code).toBe(0);
    const genotype = parseGenotypeFile(r.stdout);
    const convs = genotype.normal.filter((e) => e.op === 'sep_conv_3x3');
    expect(convs.length).toBeGreaterThan(0);
    for (const e of convs) expect(e.activation).toBe('selu');
    expect(genotype.reduce.every((e) => e.op === 'max_pool_3x3' && e.activation === null)).toBe(true);
  }, 60_000);

  it('a malformed genotype gets one message naming the field, and no output file', async () => {
    const bad = JSON.parse(stringifyGenotypeFile(toGenotypeFile(DARTS_V2)));
    bad.normal[3].op = 'sep_conv_7x7';
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const out = join(dir, 'model.py');
    const r = await lab('export-pytorch', '--genotype', file, '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/genotype\.normal\[3\]\.op: unknown op "sep_conv_7x7"/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    const ok = await lab('export-pytorch', '--genotype', join(dir, 'darts_v2.json'), '--out', out);
    expect(ok.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('class Network(');
  }, 60_000);
});

describe('bench', () => {
  it('--row-seconds cuts a long row short and still reports the steps it timed', async () => {
    // A tiny cpu step takes ~0.3 s once warm (~1 s the first): 2 warm-up steps, then timed steps.
    const r = await lab(
      'bench',
      '--backend',
      'cpu',
      '--sizes',
      'tiny',
      '--modes',
      'darts',
      '--steps',
      '10000',
      '--row-seconds',
      '10',
    );
    expect(r.code, r.stderr).toBe(0);
    const { rows, failures } = JSON.parse(r.stdout);
    expect(failures).toEqual([]);
    expect(rows[0].cut).toMatch(/^\d+ of 10000 timed steps in the 10 s budget$/);
    expect(rows[0].msPerStep).toBeGreaterThan(0);
  }, 120_000);

  it('a row the budget stops during warm-up is a failure of kind budget, with the reason', async () => {
    const r = await lab('bench', '--backend', 'cpu', '--sizes', 'tiny', '--modes', 'darts', '--row-seconds', '1');
    expect(r.code, r.stderr).toBe(0);
    const { rows, failures } = JSON.parse(r.stdout);
    expect(rows).toEqual([]);
    expect(failures[0]).toMatchObject({ mode: 'darts', kind: 'budget' });
    expect(failures[0].reason).toContain('cut by the 1 s budget after');
  }, 120_000);
});

describe('search', () => {
  it('runs a few steps on synthetic data and writes a valid genotype with its run record', async () => {
    const out = join(dir, 'found.json');
    const r = await lab(
      'search',
      '--dataset',
      'synthetic:size=8,classes=4,train=128,test=16',
      '--mode',
      'factorized',
      '--steps',
      '2',
      '--seed',
      '7',
      '--channels',
      '4',
      '--layers',
      '3',
      '--batch-size',
      '8',
      '--out',
      out,
      '--quiet',
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.steps).toBe(2);
    const file = parseGenotypeFile(readFileSync(out, 'utf8'));
    expect(file.run?.steps).toBe(2);
    expect(file.weights?.betaNormal?.length).toBe(14);
    expect(file.darts).toBe(summary.darts);
  }, 300_000);

  it('a bad config value names the field and writes nothing', async () => {
    const out = join(dir, 'never.json');
    const r = await lab('search', '--dataset', 'synthetic', '--partial-channels', '3', '--channels', '4', '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('config.partialChannels: channels (4) must be divisible by partialChannels (3)');
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  const fullFashion = '/usr/share/datasets/fashion-mnist';
  const haveFull = existsSync(join(fullFashion, 'train-images-idx3-ubyte.gz'));
  if (!haveFull) console.warn(`skipped: ${fullFashion} not installed (apt-get install dataset-fashion-mnist)`);
  it.skipIf(!haveFull)(
    'searches 20 steps on the full Fashion-MNIST from Debian’s package',
    async () => {
      // The quick preset's network, made smaller so the test stays near a minute on 2 cores.
      const out = join(dir, 'fashion.json');
      const r = await lab(
        'search',
        '--dataset',
        fullFashion,
        '--steps',
        '20',
        '--channels',
        '4',
        '--layers',
        '3',
        '--out',
        out,
        '--quiet',
      );
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary).toMatchObject({ dataset: 'fashion-mnist', steps: 20 });
      expect(Number.isFinite(summary.valLoss)).toBe(true);
    },
    600_000,
  );
});

describe('memory', () => {
  it('measures and estimates one step, and refuses the null adapter off webgpu', async () => {
    const r = await lab('memory', '--preset', 'quick', '--channels', '2', '--layers', '3', '--batch-size', '2');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(m).toMatchObject({ preset: 'quick', backend: 'wasm', mode: 'factorized', batchSize: 2, fits: true });
    const [peak, held, estimate] = [m.peakBytes, m.heldBytes, m.estimateBytes] as number[];
    expect(held).toBeGreaterThan(0);
    expect(peak).toBeGreaterThan(held);
    expect(Math.abs(estimate / peak - 1)).toBeLessThan(0.25);
    expect(m.setupMessage).toMatch(/^about [\d.]+ (MB|GB) on wasm/);
    const refused = await lab('memory', '--null', '--backend', 'wasm');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--null: the null adapter is a webgpu device/);
  });
});
