// The README stays a user's guide (details go to docs/), and nothing in the repository points
// outside it: both drifted before without anyone noticing.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the documentation', () => {
  it('README.md is at most 250 lines', () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines, 'move details into docs/ and link them').toBeLessThanOrEqual(250);
  });

  it('README, docs and sources never refer to the shared folder outside the repository', () => {
    const files = [join(root, 'README.md'), ...filesUnder(join(root, 'docs')), ...filesUnder(join(root, 'src'))].filter(
      (f) => /\.(md|ts|tsx|py|json)$/.test(f),
    );
    const offending = files.filter((f) => /shared\//.test(readFileSync(f, 'utf8')));
    expect(offending.map((f) => relative(root, f))).toEqual([]);
  });
});
