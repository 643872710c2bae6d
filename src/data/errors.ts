// Errors and options shared by every reader. A DatasetError's message is what the user sees,
// so it always names the file and says what is wrong with it.

export class DatasetError extends Error {
  /** The file (or data set) the problem is in; null when no single file is to blame. */
  readonly file: string | null;

  constructor(file: string | null, problem: string) {
    super(file ? `${file}: ${problem}` : problem);
    this.name = 'DatasetError';
    this.file = file;
  }
}

/** Reports progress of a long parse: fraction in [0, 1] and a short phase for the UI. */
export type ProgressCallback = (fraction: number, phase: string) => void;

/** A file as the readers take it: its name (for messages and recognition) and its bytes. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/**
 * The most decoded bytes a load may allocate. A browser tab gets a few GiB at most and
 * typed arrays above ~2 GiB fail in some engines, so refuse early with a clear message.
 */
export const DEFAULT_MAX_BYTES = 1.5 * 1024 ** 3;

export interface ReadOptions {
  /** Decoded bytes this read may allocate (default DEFAULT_MAX_BYTES). */
  maxBytes?: number;
  /** For messages only: the whole load's limit, when maxBytes is what is left of it. */
  loadMaxBytes?: number;
  onProgress?: ProgressCallback;
}

/** "47.04 MB (47,040,016 bytes)": readable and exact, for size messages. */
export function formatBytes(n: number): string {
  const exact = `${Math.round(n).toLocaleString('en-US')} bytes`;
  if (n < 1000) return exact;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]} (${exact})`;
}

/** The error for data that would need more memory than the tab may use. */
export function tooLargeError(
  file: string,
  decodedBytes: number,
  maxBytes: number,
  what = 'once decoded',
  loadMaxBytes?: number,
): DatasetError {
  const limit =
    loadMaxBytes !== undefined && loadMaxBytes > maxBytes
      ? `the ${formatBytes(maxBytes)} left of the ${formatBytes(loadMaxBytes)}`
      : `the ${formatBytes(maxBytes)}`;
  return new DatasetError(
    file,
    `too large to load: ${formatBytes(decodedBytes)} ${what}, more than ${limit} this tab may use (maxBytes)`,
  );
}

/** Maps a sub-task's progress into [start, end] of the caller's bar. */
export function subProgress(
  onProgress: ProgressCallback | undefined,
  start: number,
  end: number,
): ProgressCallback | undefined {
  if (!onProgress) return undefined;
  return (fraction, phase) => onProgress(start + (end - start) * Math.min(1, Math.max(0, fraction)), phase);
}

export function hexBytes(bytes: Uint8Array, count = 4): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
