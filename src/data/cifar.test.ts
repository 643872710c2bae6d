import { describe, expect, it } from 'vitest';
import { loadDatasetFromFiles } from './load';
import { parseCifarBatch, parseCifarLabelNames } from './cifar';
import { CIFAR_META, bytesOf, cifarBatch, cifarPixel, gz, tarFile } from './test-fixtures';

/** A cifar-10-binary.tar.gz laid out as published, with 2 training images and 1 test image. */
function tinyCifarArchive(): Uint8Array {
  return gz(
    tarFile([
      { path: 'cifar-10-batches-bin/', directory: true },
      { path: 'cifar-10-batches-bin/data_batch_1.bin', data: cifarBatch([6, 9], cifarPixel, 0) },
      { path: 'cifar-10-batches-bin/batches.meta.txt', data: bytesOf(CIFAR_META) },
      { path: 'cifar-10-batches-bin/test_batch.bin', data: cifarBatch([3], cifarPixel, 2) },
      { path: 'cifar-10-batches-bin/readme.html', data: bytesOf('<html></html>') },
    ]),
  );
}

/** The NHWC byte of image n of a set made from records first.. with cifarPixel. */
function expectPixel(images: Uint8Array, n: number, record: number, y: number, x: number) {
  const at = ((n * 32 + y) * 32 + x) * 3;
  expect([images[at], images[at + 1], images[at + 2]]).toEqual([0, 1, 2].map((c) => cifarPixel(record, c, y, x)));
}

describe('CIFAR-10 binary', () => {
  it('reads cifar-10-binary.tar.gz: splits, labels, names, planar → NHWC', async () => {
    const dataset = await loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: tinyCifarArchive() }]);
    expect(dataset.name).toBe('cifar-10');
    expect([dataset.height, dataset.width, dataset.channels]).toEqual([32, 32, 3]);
    expect(dataset.train.count).toBe(2);
    expect(dataset.test.count).toBe(1);
    expect(Array.from(dataset.train.labels)).toEqual([6, 9]);
    expect(Array.from(dataset.test.labels)).toEqual([3]);
    expect(dataset.classNames).toEqual([
      'airplane',
      'automobile',
      'bird',
      'cat',
      'deer',
      'dog',
      'frog',
      'horse',
      'ship',
      'truck',
    ]);
    expect(dataset.augment).toBe(true);
    expect(dataset.train.images.length).toBe(2 * 32 * 32 * 3);
    expectPixel(dataset.train.images, 0, 0, 0, 0);
    expectPixel(dataset.train.images, 1, 1, 17, 5);
    expectPixel(dataset.test.images, 0, 2, 31, 31);
    // Mean of the red channel over both training images, computed by hand.
    let red = 0;
    for (let r = 0; r < 2; r++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) red += cifarPixel(r, 0, y, x);
    expect(dataset.mean[0]).toBeCloseTo(red / 2048 / 255, 10);
  });

  it('reads loose .bin batches, data_batch_N in order, with batches.meta.txt', async () => {
    const meta = 'a\n\nb\nc\n';
    const dataset = await loadDatasetFromFiles([
      { name: 'test_batch.bin', bytes: cifarBatch([2], cifarPixel, 9) },
      { name: 'data_batch_2.bin', bytes: cifarBatch([1], cifarPixel, 1) },
      { name: 'data_batch_1.bin', bytes: cifarBatch([0], cifarPixel, 0) },
      { name: 'batches.meta.txt', bytes: bytesOf(meta) },
    ]);
    expect(dataset.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(dataset.train.labels)).toEqual([0, 1]);
    expectPixel(dataset.train.images, 1, 1, 3, 3);
    expectPixel(dataset.test.images, 0, 9, 0, 31);
    expect(parseCifarLabelNames('x\r\n\r\ny\n')).toEqual(['x', 'y']);
  });

  it('names an archive without CIFAR batches', async () => {
    const archive = gz(
      tarFile([
        { path: 'photos/cat.jpg', data: bytesOf('jpeg') },
        { path: 'photos/notes.txt', data: bytesOf('x') },
      ]),
    );
    await expect(loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: archive }])).rejects.toThrow(
      'cifar-10-binary.tar.gz: no CIFAR-10 batches in this archive (expected cifar-10-batches-bin/data_batch_1.bin … data_batch_5.bin and test_batch.bin); it holds photos/cat.jpg, photos/notes.txt',
    );
  });

  it('names a batch that is not whole records', async () => {
    const bytes = cifarBatch([1, 2]).subarray(0, 3073 * 2 - 1);
    await expect(loadDatasetFromFiles([{ name: 'data_batch_1.bin', bytes }])).rejects.toThrow(
      'data_batch_1.bin: 6.14 kB (6,145 bytes) is not a whole number of 3073-byte CIFAR-10 records (1 records and 3072 bytes left over: truncated or not a CIFAR-10 batch)',
    );
    const inArchive = gz(tarFile([{ path: 'cifar-10-batches-bin/data_batch_1.bin', data: bytes }]));
    await expect(loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: inArchive }])).rejects.toThrow(
      'cifar-10-binary.tar.gz (cifar-10-batches-bin/data_batch_1.bin): 6.14 kB (6,145 bytes) is not a whole number',
    );
  });

  it('names a label out of range', () => {
    expect(() => parseCifarBatch(cifarBatch([1, 2, 10]), 'data_batch_3.bin')).toThrow(
      'data_batch_3.bin: label 10 in record 2 is out of range: with 10 classes labels go from 0 to 9',
    );
  });

  it('names a .tar.gz that is not gzip, and an empty one', async () => {
    await expect(
      loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: bytesOf('PK\u0003\u0004zip') }]),
    ).rejects.toThrow(
      'cifar-10-binary.tar.gz: not a gzip file (it starts with 50 4b 03 04; gzip files start with 1f 8b)',
    );
    await expect(loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: new Uint8Array(0) }])).rejects.toThrow(
      'cifar-10-binary.tar.gz: file is empty',
    );
  });

  it('refuses an archive larger than maxBytes before inflating it', async () => {
    const archive = tinyCifarArchive();
    await expect(
      loadDatasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: archive }], { maxBytes: 5000 }),
    ).rejects.toThrow(
      /^cifar-10-binary\.tar\.gz: too large to load: 14\.\d\d kB \([\d,]+ bytes\) once decompressed \(gzip trailer\), more than the 5\.00 kB/,
    );
    // Loose batches: the records' size is checked before the images are allocated.
    await expect(
      loadDatasetFromFiles([{ name: 'data_batch_1.bin', bytes: cifarBatch([1, 2]) }], { maxBytes: 5000 }),
    ).rejects.toThrow('data_batch_1.bin: too large to load: 6.14 kB (6,144 bytes) once decoded');
  });

  it('splits a test set off when only training batches come', async () => {
    const labels = Array.from({ length: 20 }, (_, i) => i % 2);
    const dataset = await loadDatasetFromFiles([{ name: 'data_batch_1.bin', bytes: cifarBatch(labels) }]);
    expect([dataset.train.count, dataset.test.count]).toEqual([18, 2]);
    expect(Array.from(dataset.test.labels).sort()).toEqual([0, 1]);
    expect(dataset.source).toContain('test set: 10% of the training images');
  });
});
