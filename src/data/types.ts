// The data contract between the dataset readers and the search engine.

/** Images as published: uint8, NHWC, row-major; labels 0..classes-1. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  /** Short identity shown in the UI and stored with runs, e.g. "fashion-mnist-subset". */
  name: string;
  /** Where it came from: "built-in", "synthetic:seed=1", or the file name(s). */
  source: string;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
  /** DARTS augmentation (random crop with 4-pixel padding + horizontal flip): 32x32 colour only. */
  augment: boolean;
  /** Per-channel mean and std of the training images, in [0, 1] units. */
  mean: number[];
  std: number[];
}

/** One normalised batch, ready to become a tensor of shape [n, height, width, channels]. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}
