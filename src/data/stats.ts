// Per-channel statistics of the training images and the final assembly of a Dataset.

import type { Dataset, ImageSet } from './types';

/** Mean and (population) std of each channel over all pixels, in [0, 1] units. */
export function channelStats(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  // Byte histograms per channel: exact, and a single cheap pass over the pixels.
  const histograms = Array.from({ length: channels }, () => new Uint32Array(256));
  for (let c = 0; c < channels; c++) {
    const h = histograms[c];
    for (let i = c; i < images.length; i += channels) h[images[i]]++;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (const h of histograms) {
    let n = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      n += h[v];
      sum += h[v] * v;
    }
    const m = n ? sum / n : 0;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += h[v] * (v - m) * (v - m);
    const s = n ? Math.sqrt(squares / n) : 0;
    mean.push(m / 255);
    // A constant channel would divide by zero when normalising; leave it unscaled instead.
    std.push(s > 1e-6 ? s / 255 : 1);
  }
  return { mean, std };
}

export interface DatasetParts {
  name: string;
  source: string;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

/** Completes a Dataset: statistics from the training images, DARTS augmentation for 32x32 colour. */
export function makeDataset(parts: DatasetParts): Dataset {
  const { mean, std } = channelStats(parts.train.images, parts.channels);
  return {
    ...parts,
    augment: parts.height === 32 && parts.width === 32 && parts.channels === 3,
    mean,
    std,
  };
}
