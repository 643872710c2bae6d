import { describe, expect, it } from 'vitest';
import {
  adapterLabel,
  formatRatios,
  formatTable,
  median,
  ratios,
  ratiosByBackend,
  type BenchFailure,
  type BenchRow,
} from './report';

const row = (
  backend: string,
  size: 'quick' | 'paper',
  mode: BenchRow['mode'],
  msPerStep: number,
  extra: Partial<BenchRow> = {},
): BenchRow => ({
  backend,
  size,
  mode,
  archUpdate: 'joint',
  steps: 3,
  msPerStep,
  imagesPerSecond: (16 / msPerStep) * 1000,
  forwardMs: null,
  forwardBackwardMs: null,
  optimizerMs: null,
  gflopsPerSecond: 1.5,
  tensors: 100,
  megabytes: 2.5,
  ...extra,
});

describe('bench report', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('ratios per size, and per backend when several ran', () => {
    const rows = [
      row('wasm', 'quick', 'darts', 100),
      row('wasm', 'quick', 'factorized', 135),
      row('wasm', 'quick', 'factorized', 216, { archUpdate: 'sequential' }),
      row('wasm', 'quick', 'nonfactorized', 270),
      row('webgl', 'quick', 'darts', 50),
      row('webgl', 'quick', 'factorized', 60),
    ];
    expect(ratios(rows.filter((r) => r.backend === 'wasm'))).toEqual({
      'quick: factorized/darts': 1.35,
      'quick: factorized(sequential)/darts': 2.16,
      'quick: nonfactorized/factorized': 2,
    });
    expect(ratiosByBackend(rows).webgl).toEqual({ 'quick: factorized/darts': 1.2 });
    expect(formatRatios(rows)).toContain('webgl quick: factorized/darts = 1.20x');
  });

  it('one table: rows and failures grouped by backend, size and mode, ratios in their own column', () => {
    const rows = [
      row('webgpu', 'quick', 'factorized', 1234.4),
      row('webgpu', 'quick', 'darts', 1000),
      row('wasm', 'quick', 'darts', 4355),
    ];
    const failures: BenchFailure[] = [
      {
        backend: 'webgpu',
        size: 'quick',
        mode: 'nonfactorized',
        archUpdate: 'joint',
        kind: 'budget',
        reason: 'cut by the 60 s budget | after 1 of 5 steps\nstack',
      },
      {
        backend: 'wasm',
        size: 'paper',
        mode: 'darts',
        archUpdate: 'joint',
        kind: 'error',
        reason: 'memory access out of bounds',
      },
    ];
    const lines = formatTable(rows, failures, { webgpu: 'SwiftShader, fallback adapter' }).split('\n');
    expect(lines[0]).toBe(
      '| backend | size | mode | ms/step (median) | images/s | GFLOP/s | tensors | MB held | ratio |',
    );
    expect(lines).toHaveLength(2 + 5);
    expect(lines[2]).toBe(
      '| webgpu (SwiftShader, fallback adapter) | quick | darts | 1,000 | 16.0 | 1.50 | 100 | 2.5 |  |',
    );
    expect(lines[3]).toContain('| factorized | 1,234 |');
    expect(lines[3].endsWith('| 1.23x darts |')).toBe(true);
    // The reason's first line, its pipe escaped; empty cells keep the column count.
    expect(lines[4]).toBe(
      '| webgpu (SwiftShader, fallback adapter) | quick | nonfactorized | failed: cut by the 60 s budget \\| after 1 of 5 steps |  |  |  |  |  |',
    );
    expect(lines[5]).toContain('| wasm | quick | darts | 4,355 |');
    expect(lines[6]).toContain('| wasm | paper | darts | failed: memory access out of bounds |');
  });

  it('marks a row the budget cut short', () => {
    const table = formatTable(
      [row('cpu', 'quick', 'darts', 70_000, { steps: 1, cut: '1 of 3 timed steps in the 120 s budget' })],
      [],
    );
    expect(table.split('\n')[2]).toContain('| 70,000 (cut: 1 of 3 timed steps in the 120 s budget) |');
  });

  it('shows the forward/backward split only when some row measured it', () => {
    const rows = [row('wasm', 'quick', 'darts', 4355, { forwardMs: 413, forwardBackwardMs: 2482, optimizerMs: 0 })];
    const table = formatTable(rows, []);
    expect(table.split('\n')[0]).toContain('| forward ms | fwd+bwd ms | optimisers ms |');
    expect(table.split('\n')[2]).toContain('| 4,355 | 3.7 | 413 | 2,482 | 0 |');
  });

  it('shows kernels per step only when some row counted them', () => {
    const rows = [
      row('webgpu', 'quick', 'darts', 900, { kernelsPerStep: 26_512 }),
      row('webgpu', 'quick', 'factorized', 1000),
    ];
    const lines = formatTable(rows, []).split('\n');
    expect(lines[0]).toContain('| images/s | kernels/step | GFLOP/s |');
    expect(lines[2]).toContain('| 26,512 |');
    expect(lines[3]).toContain('| 16.0 |  |'); // no count: an empty cell keeps the columns
    expect(formatTable([row('wasm', 'quick', 'darts', 100)], []).split('\n')[0]).not.toContain('kernels/step');
  });

  it('shows the CPU side of GPU backends only: on cpu and wasm the step is all CPU', () => {
    const rows = [
      row('webgpu', 'quick', 'darts', 900, { cpuSideMs: 612.4 }),
      row('wasm', 'quick', 'darts', 2500, { cpuSideMs: 2490 }),
    ];
    const lines = formatTable(rows, []).split('\n');
    expect(lines[0]).toContain('| images/s | CPU side ms | GFLOP/s |');
    expect(lines[2]).toContain('| 900 | 17.8 | 612 | 1.50 |');
    expect(lines[3]).toContain('| 2,500 | 6.4 |  | 1.50 |');
    expect(formatTable([rows[1]], []).split('\n')[0]).not.toContain('CPU side');
  });

  it('keeps the backends in the order of the labels, rows or not', () => {
    const rows = [row('wasm', 'quick', 'darts', 100)];
    const failures: BenchFailure[] = [
      { backend: 'webgpu', size: 'quick', mode: 'darts', archUpdate: 'joint', kind: 'budget', reason: 'cut' },
    ];
    const lines = formatTable(rows, failures, { webgpu: 'SwiftShader, fallback adapter', wasm: '' }).split('\n');
    expect(lines[2]).toMatch(/^\| webgpu \(SwiftShader, fallback adapter\) \|/);
    expect(lines[3]).toMatch(/^\| wasm \|/);
  });

  it('labels a software adapter by name, and says it is one', () => {
    expect(
      adapterLabel({ vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: true }),
    ).toBe('SwiftShader, fallback adapter');
    expect(
      adapterLabel({
        description: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      }),
    ).toBe('SwiftShader, software');
    expect(adapterLabel({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(
      'llvmpipe, software',
    );
    expect(adapterLabel({ vendor: 'nvidia', architecture: 'hopper', description: '', isFallbackAdapter: false })).toBe(
      'nvidia hopper',
    );
    expect(adapterLabel(null)).toBe('');
  });
});
