// A synthetic data set made from a seed: each class is a blob at its own place (and, with
// colour, its own hue), jittered and noisy. Easy enough to learn in a few steps, hard enough
// that a network has to look at where the blob is. For tests and a first look in the lab.

import { Random } from '../util/random';
import type { Dataset, ImageSet } from './types';
import { DatasetError } from './errors';
import { makeDataset } from './stats';

export interface SyntheticOptions {
  seed: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
  trainCount: number;
  testCount: number;
}

export const SYNTHETIC_DEFAULTS: SyntheticOptions = {
  seed: 1,
  height: 16,
  width: 16,
  channels: 3,
  classes: 10,
  trainCount: 2000,
  testCount: 500,
};

interface ClassPattern {
  cy: number;
  cx: number;
  colour: number[];
}

function classPatterns(o: SyntheticOptions): ClassPattern[] {
  const side = Math.min(o.height, o.width);
  return Array.from({ length: o.classes }, (_, k) => {
    // Centres on a ring around the middle, one angle per class.
    const angle = (2 * Math.PI * k) / o.classes;
    const colour = Array.from({ length: o.channels }, (_, c) =>
      o.channels === 1 ? 1 : 0.55 + 0.45 * Math.cos(2 * Math.PI * (k / o.classes + c / o.channels)),
    );
    return {
      cy: (o.height - 1) / 2 + 0.3 * side * Math.sin(angle),
      cx: (o.width - 1) / 2 + 0.3 * side * Math.cos(angle),
      colour,
    };
  });
}

function makeImages(o: SyntheticOptions, patterns: ClassPattern[], count: number, random: Random): ImageSet {
  const { height, width, channels, classes } = o;
  const sigma = Math.max(0.8, 0.12 * Math.min(height, width));
  const labels = new Uint8Array(count);
  // Balanced classes in a shuffled order.
  const order = Array.from({ length: count }, (_, i) => i % classes);
  random.shuffle(order);
  labels.set(order);
  const images = new Uint8Array(count * height * width * channels);
  for (let n = 0; n < count; n++) {
    const p = patterns[labels[n]];
    const cy = p.cy + (random.next() * 2 - 1);
    const cx = p.cx + (random.next() * 2 - 1);
    const amplitude = 0.7 + 0.3 * random.next();
    const base = n * height * width * channels;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const blob = amplitude * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma * sigma));
        for (let c = 0; c < channels; c++) {
          const v = 0.1 + blob * p.colour[c] + 0.08 * random.normal();
          images[base + (y * width + x) * channels + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    }
  }
  return { images, labels, count };
}

/** Makes the data set; the same options always give the same bytes. */
export function makeSyntheticDataset(options: Partial<SyntheticOptions> = {}): Dataset {
  const o: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...options };
  for (const key of ['height', 'width', 'channels', 'classes', 'trainCount', 'testCount'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1)
      throw new DatasetError('synthetic', `${key} must be a positive integer, got ${o[key]}`);
  }
  if (o.classes > 256) throw new DatasetError('synthetic', `at most 256 classes fit uint8 labels, got ${o.classes}`);
  const patterns = classPatterns(o);
  const random = new Random(o.seed);
  const train = makeImages(o, patterns, o.trainCount, random.fork());
  const test = makeImages(o, patterns, o.testCount, random.fork());
  return makeDataset({
    name: 'synthetic',
    source: `synthetic:seed=${o.seed}`,
    height: o.height,
    width: o.width,
    channels: o.channels,
    classNames: Array.from({ length: o.classes }, (_, k) => `class ${k}`),
    train,
    test,
  });
}

const SPEC_KEYS: Record<string, keyof SyntheticOptions> = {
  seed: 'seed',
  height: 'height',
  width: 'width',
  channels: 'channels',
  classes: 'classes',
  train: 'trainCount',
  test: 'testCount',
};

/**
 * Reads "synthetic", "synthetic:seed=3" or "synthetic:seed=3,size=32,channels=3,classes=5,
 * train=1000,test=200" (size sets height and width). Returns null for other names.
 */
export function parseSyntheticSpec(spec: string): Partial<SyntheticOptions> | null {
  const match = /^synthetic(?::(.*))?$/.exec(spec.trim());
  if (!match) return null;
  const options: Partial<SyntheticOptions> = {};
  for (const part of (match[1] ?? '').split(/[,:]/).filter((p) => p.trim() !== '')) {
    const [key, value, ...rest] = part.split('=').map((s) => s.trim());
    const number = Number(value);
    if (value === undefined || rest.length || value === '' || !Number.isFinite(number)) {
      throw new DatasetError(spec, `"${part}" is not key=number`);
    }
    if (key === 'size') {
      options.height = number;
      options.width = number;
    } else if (SPEC_KEYS[key]) {
      options[SPEC_KEYS[key]] = number;
    } else {
      throw new DatasetError(
        spec,
        `unknown key "${key}" (known: seed, size, height, width, channels, classes, train, test)`,
      );
    }
  }
  return options;
}
