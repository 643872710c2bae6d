import { describe, expect, it } from 'vitest';
import { loadDatasetFromFiles } from './load';
import { DatasetError } from './errors';
import { bytesOf, cifarBatch, gz, idxFile, idxImages, idxLabels } from './test-fixtures';

const labelsOf = (n: number) => Array.from({ length: n }, (_, i) => i % 10);

function mnistFiles(trainCount = 30, testCount = 10, zip = true) {
  const wrap = (b: Uint8Array) => (zip ? gz(b) : b);
  const suffix = zip ? '.gz' : '';
  return [
    { name: `train-images-idx3-ubyte${suffix}`, bytes: wrap(idxImages(trainCount, 28, 28)) },
    { name: `train-labels-idx1-ubyte${suffix}`, bytes: wrap(idxLabels(labelsOf(trainCount))) },
    {
      name: `t10k-images-idx3-ubyte${suffix}`,
      bytes: wrap(idxImages(testCount, 28, 28, (n, y, x) => (n + y + x) % 256)),
    },
    { name: `t10k-labels-idx1-ubyte${suffix}`, bytes: wrap(idxLabels(labelsOf(testCount))) },
  ];
}

describe('loadDatasetFromFiles with IDX files', () => {
  it('pairs the four files by magic number and name, in any order', async () => {
    const files = mnistFiles().reverse();
    const progress: number[] = [];
    const dataset = await loadDatasetFromFiles(files, { onProgress: (f) => progress.push(f) });
    expect(dataset.name).toBe('idx');
    expect([dataset.height, dataset.width, dataset.channels]).toEqual([28, 28, 1]);
    expect([dataset.train.count, dataset.test.count]).toEqual([30, 10]);
    expect(dataset.train.images.length).toBe(30 * 784);
    expect(dataset.train.images[5 * 784 + 2 * 28 + 1]).toBe((5 * 7 + 2 * 3 + 1) % 256);
    expect(dataset.test.images[3 * 784 + 10 * 28 + 4]).toBe(17);
    expect(Array.from(dataset.test.labels)).toEqual(labelsOf(10));
    expect(dataset.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(dataset.augment).toBe(false);
    expect(dataset.mean).toHaveLength(1);
    expect(dataset.source).toBe(
      't10k-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, train-images-idx3-ubyte.gz',
    );
    expect(progress.at(-1)).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);
  });

  it('reads uncompressed IDX and uses Fashion-MNIST names for fashion files', async () => {
    const files = mnistFiles(20, 10, false).map((f) => ({ ...f, name: `fashion-${f.name}` }));
    const dataset = await loadDatasetFromFiles(files);
    expect(dataset.name).toBe('fashion-mnist');
    expect(dataset.classNames[0]).toBe('T-shirt/top');
    expect(dataset.classNames[9]).toBe('Ankle boot');
  });

  it('splits a class-balanced test set off deterministically when only training files come', async () => {
    const files = mnistFiles(200).slice(0, 2);
    const a = await loadDatasetFromFiles(files);
    const b = await loadDatasetFromFiles(files);
    expect([a.train.count, a.test.count]).toEqual([180, 20]);
    const perClass = new Array(10).fill(0);
    for (const label of a.test.labels) perClass[label]++;
    expect(perClass).toEqual(new Array(10).fill(2));
    expect(Buffer.from(a.test.images).equals(Buffer.from(b.test.images))).toBe(true);
    const c = await loadDatasetFromFiles(files, { splitSeed: 5, testFraction: 0.25 });
    expect([c.train.count, c.test.count]).toEqual([150, 50]);
    // Two files with names that say nothing are taken as one training pair.
    const anonymous = await loadDatasetFromFiles([
      { name: 'images.idx', bytes: idxImages(20, 4, 4) },
      { name: 'labels.idx', bytes: idxLabels(labelsOf(20)) },
    ]);
    expect([anonymous.train.count, anonymous.test.count]).toEqual([18, 2]);
  });

  it('names an images/labels count mismatch', async () => {
    const files = mnistFiles();
    files[1] = { name: 'train-labels-idx1-ubyte.gz', bytes: gz(idxLabels(labelsOf(29))) };
    await expect(loadDatasetFromFiles(files)).rejects.toThrow(/^train-labels-idx1-ubyte\.gz: 29 labels but 30 images$/);
  });

  it('names test images of another size than the training images', async () => {
    const files = mnistFiles();
    files[2] = { name: 't10k-images-idx3-ubyte.gz', bytes: gz(idxImages(10, 32, 32)) };
    await expect(loadDatasetFromFiles(files)).rejects.toThrow(
      't10k-images-idx3-ubyte.gz: images are 32x32 but the training images (train-images-idx3-ubyte.gz) are 28x28',
    );
  });

  it('names missing partners, duplicates and files it cannot place', async () => {
    const files = mnistFiles();
    await expect(loadDatasetFromFiles(files.slice(0, 3))).rejects.toThrow(
      't10k-images-idx3-ubyte.gz: test images without a test labels file',
    );
    await expect(loadDatasetFromFiles(files.slice(2))).rejects.toThrow('no training images and labels');
    await expect(loadDatasetFromFiles([...files, { ...files[0], name: 'train-images-copy.gz' }])).rejects.toThrow(
      'train-images-copy.gz: two training images files: train-images-idx3-ubyte.gz and train-images-copy.gz',
    );
    await expect(
      loadDatasetFromFiles([...files.slice(0, 2), { ...files[2], name: 'a.gz' }, { ...files[3], name: 'b.gz' }]),
    ).rejects.toThrow('a.gz: cannot tell whether this is training or test data');
  });

  it('names labels out of range, and accepts them with numClasses', async () => {
    const files = mnistFiles();
    files[3] = { name: 't10k-labels-idx1-ubyte.gz', bytes: gz(idxLabels([...labelsOf(9), 12])) };
    await expect(loadDatasetFromFiles(files)).rejects.toThrow(
      't10k-labels-idx1-ubyte.gz: label 12 at index 9 is out of range: with 10 classes labels go from 0 to 9',
    );
    const dataset = await loadDatasetFromFiles(files, { numClasses: 13 });
    expect(dataset.classNames).toHaveLength(13);
  });

  it('names a non-gzip .gz file, an empty file, a wrong magic and an unknown file', async () => {
    await expect(
      loadDatasetFromFiles([{ name: 'train-images-idx3-ubyte.gz', bytes: bytesOf('<html>404</html>') }]),
    ).rejects.toThrow(
      'train-images-idx3-ubyte.gz: not a gzip file (it starts with 3c 68 74 6d; gzip files start with 1f 8b)',
    );
    await expect(loadDatasetFromFiles([{ name: 'train-labels-idx1-ubyte', bytes: new Uint8Array(0) }])).rejects.toThrow(
      'train-labels-idx1-ubyte: file is empty',
    );
    await expect(
      loadDatasetFromFiles([{ name: 'train-images-idx3-ubyte.gz', bytes: gz(idxFile(0x804, [1, 1, 1, 1], [0])) }]),
    ).rejects.toThrow(
      'train-images-idx3-ubyte.gz: wrong IDX magic number 0x00000804: expected 0x00000803 (images) or 0x00000801 (labels)',
    );
    await expect(loadDatasetFromFiles([{ name: 'notes.md', bytes: bytesOf('# hello') }])).rejects.toThrow(
      'notes.md: not a recognised data file: it starts with 0x23206865, which is neither IDX images (0x00000803) nor labels (0x00000801), and it is not a CIFAR-10 batch (.bin) or a tar archive',
    );
    const error = await loadDatasetFromFiles([]).catch((e) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect(error.message).toBe('no files given');
  });

  it('names truncated files', async () => {
    const files = mnistFiles(30, 10, false);
    files[0] = { name: files[0].name, bytes: files[0].bytes.subarray(0, 16 + 784 * 29 + 100) };
    await expect(loadDatasetFromFiles(files)).rejects.toThrow(
      'train-images-idx3-ubyte: truncated: the header announces 30 images of 28x28 (23.52 kB (23,520 bytes)) but only 22.84 kB (22,836 bytes) follow',
    );
  });

  it('refuses files together larger than maxBytes', async () => {
    const files = mnistFiles(30, 10);
    // Each file alone fits 30,000 bytes; the training images (23,520) leave too little for the test images (7,840).
    await expect(loadDatasetFromFiles(files, { maxBytes: 30_000 })).rejects.toThrow(
      't10k-images-idx3-ubyte.gz: too large to load: 7.84 kB (7,840 bytes) once decoded, more than the 6.45 kB (6,450 bytes) left of the 30.00 kB (30,000 bytes) this tab may use (maxBytes)',
    );
    const ok = await loadDatasetFromFiles(files, { maxBytes: 40_000 });
    expect(ok.train.count).toBe(30);
  });

  it('names a mix of formats', async () => {
    const files = [...mnistFiles().slice(0, 2), { name: 'data_batch_1.bin', bytes: cifarBatch([1]) }];
    await expect(loadDatasetFromFiles(files)).rejects.toThrow(
      'these files are of different formats: train-images-idx3-ubyte.gz (IDX), train-labels-idx1-ubyte.gz (IDX), data_batch_1.bin (CIFAR-10)',
    );
  });
});
