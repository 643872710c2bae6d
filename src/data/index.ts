// The data module's browser-safe surface (page and Web Worker). Node-only loading is in ./node.

export type { Batch, Dataset, ImageSet } from './types';
export {
  DatasetError,
  DEFAULT_MAX_BYTES,
  formatBytes,
  type NamedBytes,
  type ProgressCallback,
  type ReadOptions,
} from './errors';
export { gunzip, gunzipHead, gunzipIfNeeded, gzipSizeHint, isGzip } from './gzip';
export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, looksLikeIdx, parseIdx, readIdxFile, readIdxHeader } from './idx';
export { readTar, looksLikeTar, type TarEntry } from './tar';
export {
  CIFAR10_CLASS_NAMES,
  parseCifarBatch,
  parseCifarLabelNames,
  readCifarArchive,
  readCifarBatches,
} from './cifar';
export { channelStats, makeDataset } from './stats';
export { makeSyntheticDataset, parseSyntheticSpec, SYNTHETIC_DEFAULTS, type SyntheticOptions } from './synthetic';
export { FASHION_MNIST_CLASS_NAMES, loadDatasetFromFiles, splitOffTest, type LoadOptions } from './load';
export { BUILTIN_DATASET, builtinFromFiles, loadBuiltinDataset, type FetchLike } from './builtin';
export {
  BatchStream,
  evalBatchCount,
  evalBatches,
  gatherBatch,
  makeSearchStreams,
  splitTrainVal,
  type BatchStreamOptions,
  type BatchStreamState,
  type SearchStreams,
} from './batches';
