import { describe, expect, it } from 'vitest';
import { parseIdx, readIdxFile } from './idx';
import { gz, idxFile, idxImages, idxLabels } from './test-fixtures';

const file = (name: string, bytes: Uint8Array) => ({ name, bytes });

describe('IDX', () => {
  it('reads images and labels, gzipped or not', async () => {
    const raw = idxImages(3, 4, 5);
    for (const bytes of [raw, gz(raw)]) {
      const parsed = await readIdxFile(file('train-images-idx3-ubyte', bytes));
      if (parsed.kind !== 'images') throw new Error('expected images');
      expect([parsed.count, parsed.rows, parsed.cols]).toEqual([3, 4, 5]);
      expect(parsed.images.length).toBe(60);
      // image 2, row 3, column 4
      expect(parsed.images[2 * 20 + 3 * 5 + 4]).toBe((2 * 7 + 3 * 3 + 4) % 256);
    }
    const labels = await readIdxFile(file('train-labels-idx1-ubyte.gz', gz(idxLabels([3, 1, 9]))));
    expect(labels.kind).toBe('labels');
    if (labels.kind === 'labels') expect(Array.from(labels.labels)).toEqual([3, 1, 9]);
  });

  it('names a wrong magic number', async () => {
    await expect(readIdxFile(file('x-idx3-ubyte', idxFile(0x802, [3, 4], [1, 2])))).rejects.toThrow(
      'x-idx3-ubyte: wrong IDX magic number 0x00000802: expected 0x00000803 (images) or 0x00000801 (labels)',
    );
    await expect(readIdxFile(file('f.gz', gz(idxFile(0x80d03, [1, 2, 2], [0, 0, 0, 0]))))).rejects.toThrow(
      'f.gz: wrong IDX magic number 0x00080d03: expected 0x00000803 (images) or 0x00000801 (labels)',
    );
    expect(() => parseIdx(idxFile(0xd03, [1, 1, 1], [0, 0, 0, 0]), 'floats')).toThrow(
      'an IDX file of float32 with 3 dimensions; only unsigned-byte images',
    );
  });

  it('names wrong dimensions', () => {
    expect(() => parseIdx(idxFile(0x803, [2, 0, 28], []), 'zero')).toThrow(
      'zero: wrong image dimensions in the IDX header: 0x28',
    );
    expect(() => parseIdx(idxFile(0x803, [0, 28, 28], []), 'none')).toThrow('none: the IDX header announces 0 images');
  });

  it('names truncation and trailing data', async () => {
    const full = idxImages(3, 4, 4);
    expect(() => parseIdx(full.subarray(0, 16 + 40), 'cut')).toThrow(
      'cut: truncated: the header announces 3 images of 4x4 (48 bytes) but only 40 bytes follow',
    );
    expect(() => parseIdx(full.subarray(0, 10), 'tiny')).toThrow(
      'tiny: truncated IDX header: 10 bytes, an IDX images header needs 16',
    );
    expect(() => parseIdx(idxLabels([1, 2, 3]).subarray(0, 9), 'l')).toThrow(
      'l: truncated: the header announces 3 labels but only 1 bytes follow',
    );
    const extra = new Uint8Array(full.length + 5);
    extra.set(full);
    expect(() => parseIdx(extra, 'long')).toThrow(
      'long: 5 bytes of unexpected data after the 3 images of 4x4 (48 bytes) the header announces',
    );
    const packed = gz(idxImages(50, 28, 28));
    await expect(readIdxFile(file('cut.gz', packed.subarray(0, packed.length - 30)))).rejects.toThrow(
      /^cut\.gz: corrupt or truncated gzip data/,
    );
  });

  it('refuses an empty file', async () => {
    await expect(readIdxFile(file('train-labels-idx1-ubyte.gz', new Uint8Array(0)))).rejects.toThrow(
      'train-labels-idx1-ubyte.gz: file is empty',
    );
  });

  it('checks labels against the number of classes (default 10, configurable)', async () => {
    await expect(readIdxFile(file('labels', idxLabels([0, 9, 10, 3])))).rejects.toThrow(
      'labels: label 10 at index 2 is out of range: with 10 classes labels go from 0 to 9',
    );
    const ok = await readIdxFile(file('labels', idxLabels([0, 9, 10, 3])), { numClasses: 11 });
    expect(ok.count).toBe(4);
    await expect(readIdxFile(file('labels', idxLabels([0, 4])), { numClasses: 4 })).rejects.toThrow(
      'label 4 at index 1',
    );
  });

  it('refuses a file larger than maxBytes from its header, gzipped or not', async () => {
    const images = idxImages(20, 28, 28); // 15,680 bytes of pixels
    await expect(readIdxFile(file('big', images), { maxBytes: 10_000 })).rejects.toThrow(
      'big: too large to load: 15.68 kB (15,680 bytes) once decoded, more than the 10.00 kB (10,000 bytes) this tab may use (maxBytes)',
    );
    // Gzipped: the trailer (or the header on the first decoded bytes) stops it.
    await expect(readIdxFile(file('big.gz', gz(images)), { maxBytes: 10_000 })).rejects.toThrow(
      /^big\.gz: too large to load: 15\.\d\d kB/,
    );
  });

  it('accepts a .gz name holding plain IDX (an HTTP server inflated it), but not other plain data', async () => {
    const parsed = await readIdxFile(file('t10k-labels-idx1-ubyte.gz', idxLabels([1, 2])));
    expect(parsed.count).toBe(2);
    await expect(readIdxFile(file('t10k-labels-idx1-ubyte.gz', new TextEncoder().encode('Not Found')))).rejects.toThrow(
      't10k-labels-idx1-ubyte.gz: not a gzip file (it starts with 4e 6f 74 20; gzip files start with 1f 8b)',
    );
  });
});
