import { describe, expect, it } from 'vitest';
import { baseName, looksLikeTar, readTar } from './tar';
import { bytesOf, tarFile } from './test-fixtures';

describe('tar', () => {
  const archive = tarFile([
    { path: 'cifar-10-batches-bin/', directory: true },
    { path: 'cifar-10-batches-bin/readme.html', data: bytesOf('<html>hi</html>') },
    { path: 'cifar-10-batches-bin/data', data: new Uint8Array(1300).fill(7) },
  ]);

  it('lists entries with their paths, types and data', () => {
    expect(looksLikeTar(archive)).toBe(true);
    const entries = readTar(archive, 'a.tar');
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ['cifar-10-batches-bin/', 'directory', 0],
      ['cifar-10-batches-bin/readme.html', 'file', 15],
      ['cifar-10-batches-bin/data', 'file', 1300],
    ]);
    expect(new TextDecoder().decode(entries[1].data)).toBe('<html>hi</html>');
    expect(entries[2].data.every((b) => b === 7)).toBe(true);
    expect(baseName(entries[2].path)).toBe('data');
  });

  it('names truncation and corruption', () => {
    expect(() => readTar(archive.subarray(0, 512 * 4 + 100), 'cut.tar')).toThrow(
      'cut.tar: truncated tar archive: "cifar-10-batches-bin/data" needs 1.30 kB (1,300 bytes) but only 100 bytes remain',
    );
    const corrupt = archive.slice();
    corrupt[512 + 10] ^= 0xff; // inside the second header's name
    expect(() => readTar(corrupt, 'bad.tar')).toThrow('bad.tar: corrupt tar archive: bad header checksum at byte 512');
    expect(() => readTar(bytesOf('hello'.repeat(200)), 'x.tar')).toThrow(
      'x.tar: not a tar archive (no valid tar header at the start)',
    );
  });
});
