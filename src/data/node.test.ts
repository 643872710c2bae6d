import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinDataDir, loadDatasetNode } from './node';
import { CIFAR_META, bytesOf, cifarBatch, gz, idxImages, idxLabels, tarFile } from './test-fixtures';

function perClass(labels: Uint8Array, classes = 10): number[] {
  const counts = new Array(classes).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}

describe('loadDatasetNode', () => {
  it('loads the built-in Fashion-MNIST subset from public/data: 10,000 + 2,000, balanced', async () => {
    expect(builtinDataDir()).toMatch(/public[\\/]data[\\/]fashion-mnist-subset[\\/]?$/);
    const d = await loadDatasetNode('fashion-mnist');
    expect(d.name).toBe('fashion-mnist-subset');
    expect(d.source).toBe('built-in');
    expect([d.height, d.width, d.channels]).toEqual([28, 28, 1]);
    expect([d.train.count, d.test.count]).toEqual([10_000, 2_000]);
    expect(d.train.images.length).toBe(10_000 * 784);
    expect(perClass(d.train.labels)).toEqual(new Array(10).fill(1000));
    expect(perClass(d.test.labels)).toEqual(new Array(10).fill(200));
    expect(d.classNames).toEqual([
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ]);
    // Fashion-MNIST's pixel statistics are about mean 0.286, std 0.353.
    expect(d.mean[0]).toBeGreaterThan(0.26);
    expect(d.mean[0]).toBeLessThan(0.31);
    expect(d.std[0]).toBeGreaterThan(0.33);
    expect(d.std[0]).toBeLessThan(0.38);
    expect(d.augment).toBe(false);
    // The first training image of the published set is an ankle boot (label 9), kept first.
    expect(d.train.labels[0]).toBe(9);
  });

  const fullSet = '/usr/share/datasets/fashion-mnist';
  const haveFullSet = existsSync(join(fullSet, 'train-images-idx3-ubyte.gz'));
  if (!haveFullSet) console.log(`skipping the full Fashion-MNIST test: ${fullSet} is not installed here`);
  it.skipIf(!haveFullSet)(`loads the full Fashion-MNIST from ${fullSet} (60,000 + 10,000)`, async () => {
    const d = await loadDatasetNode(fullSet);
    expect(d.name).toBe('fashion-mnist');
    expect([d.train.count, d.test.count]).toEqual([60_000, 10_000]);
    expect(perClass(d.train.labels)).toEqual(new Array(10).fill(6000));
    expect(perClass(d.test.labels)).toEqual(new Array(10).fill(1000));
    expect(d.classNames[9]).toBe('Ankle boot');
    expect(d.mean[0]).toBeCloseTo(0.286, 3);
    expect(d.std[0]).toBeCloseTo(0.353, 3);
  });

  it('makes synthetic data sets from a spec', async () => {
    const d = await loadDatasetNode('synthetic:seed=3,train=50,test=10');
    expect(d.source).toBe('synthetic:seed=3');
    expect([d.train.count, d.test.count]).toEqual([50, 10]);
  });

  it('reads a cifar-10-binary.tar.gz, a folder of .bin batches and a folder of IDX files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nas-data-'));
    try {
      const archive = gz(
        tarFile([
          { path: 'cifar-10-batches-bin/data_batch_1.bin', data: cifarBatch([1, 2]) },
          { path: 'cifar-10-batches-bin/test_batch.bin', data: cifarBatch([3]) },
          { path: 'cifar-10-batches-bin/batches.meta.txt', data: bytesOf(CIFAR_META) },
        ]),
      );
      await writeFile(join(dir, 'cifar-10-binary.tar.gz'), archive);
      const fromArchive = await loadDatasetNode(join(dir, 'cifar-10-binary.tar.gz'));
      expect([fromArchive.name, fromArchive.train.count, fromArchive.test.count]).toEqual(['cifar-10', 2, 1]);

      const unpacked = join(dir, 'unpacked');
      await mkdir(join(unpacked, 'cifar-10-batches-bin'), { recursive: true });
      await writeFile(join(unpacked, 'cifar-10-batches-bin', 'data_batch_1.bin'), cifarBatch([4, 5, 6]));
      await writeFile(join(unpacked, 'cifar-10-batches-bin', 'test_batch.bin'), cifarBatch([7]));
      await writeFile(join(unpacked, 'cifar-10-batches-bin', 'readme.html'), '<html></html>');
      const fromFolder = await loadDatasetNode(unpacked);
      expect(Array.from(fromFolder.train.labels)).toEqual([4, 5, 6]);
      expect(fromFolder.classNames[0]).toBe('airplane');

      const mnist = join(dir, 'kmnist');
      await mkdir(mnist);
      await writeFile(join(mnist, 'train-images-idx3-ubyte.gz'), gz(idxImages(20, 28, 28)));
      await writeFile(
        join(mnist, 'train-labels-idx1-ubyte.gz'),
        gz(idxLabels(Array.from({ length: 20 }, (_, i) => i % 10))),
      );
      await writeFile(join(mnist, 'README.md'), '# not data');
      const fromIdx = await loadDatasetNode(mnist);
      expect([fromIdx.name, fromIdx.train.count, fromIdx.test.count]).toEqual(['kmnist', 18, 2]);

      await expect(loadDatasetNode(join(dir, 'missing'))).rejects.toThrow(
        `${join(dir, 'missing')}: no such file or directory`,
      );
      const empty = join(dir, 'empty');
      await mkdir(empty);
      await expect(loadDatasetNode(empty)).rejects.toThrow(`${empty}: no data files in this directory`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
