// Under CI a skipped test fails the run, naming what is missing; elsewhere it stays a skip.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function run(args: string[], ci: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  delete env.CI;
  if (ci) env.CI = '1';
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('no test skips under CI', () => {
  const vitest = [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--config',
    'lint/fixtures/vitest.config.ts',
  ];

  it('vitest (unit and GPU suites): a skip fails the run under CI, naming the tests and what is missing', () => {
    const ci = run(vitest, true);
    expect(ci.code, ci.out).toBe(1);
    expect(ci.out).toContain('Under CI (the CI environment variable is set) no test may skip, and 2 did:');
    expect(ci.out).toContain('lint/fixtures/skipping.fixture.ts > needs a GPU (no WebGPU adapter)');
    expect(ci.out).toContain('lint/fixtures/skipping.fixture.ts > needs python3-torch');
    expect(ci.out).toContain('skipped: no WebGPU adapter (the fixture has none)');
    const local = run(vitest, false);
    expect(local.code, local.out).toBe(0);
  }, 120_000);

  it('node:test (e2e): a skip fails the run under CI, with its reason', () => {
    const args = [
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=./lint/no-skips-node-test.mjs',
      '--test-reporter-destination=stderr',
      'lint/fixtures/skipping.fixture.mjs',
    ];
    const ci = run(args, true);
    expect(ci.code, ci.out).toBe(1);
    expect(ci.out).toMatch(
      /no test may skip, and 1 did:\n.*skipping\.fixture\.mjs > needs a WebGPU adapter \(no WebGPU adapter\)/,
    );
    expect(run(args, false).code).toBe(0);
  }, 60_000);
});
