/** Images everywhere in the engine are NHWC RGB; a dataset is one packed uint8 array of them. */
export interface SkipCounts {
  /** Files that look like an image (right signature) but fail to decode. */
  corrupt: number;
  /** Files with an image extension whose bytes are not PNG/JPEG/WebP (e.g. a text file named .png). */
  notImage: number;
  /** Images whose shorter side is below the minimum size (by default half the training resolution). */
  tooSmall: number;
}

export interface ImageSet {
  /** NHWC uint8 RGB, count * resolution * resolution * 3. */
  pixels: Uint8Array;
  count: number;
  resolution: number;
  /** sha256 hex of the source content + preprocessing parameters. */
  hash: string;
  /** Human description, e.g. "cartoon-faces (adventurer, lorelei) ×10000" or the folder path. */
  source: string;
  skipped: SkipCounts;
}

export interface LoadOptions {
  /** Default: $GANBOARD_HOME/cache/datasets, GANBOARD_HOME defaulting to <cwd>/.ganboard. */
  cacheDir?: string;
  /** Called as work completes: images rendered/decoded so far out of the total to do. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** false: neither read nor write the on-disk cache (e.g. `ganboard eval` on a folder of samples). Default true. */
  cache?: boolean;
  /**
   * Problems that do not stop loading, e.g. the cache could not be written (disk full, read-only):
   * the images are returned anyway and the next run prepares them again.
   */
  onWarning?: (message: string) => void;
}

export function emptySkipCounts(): SkipCounts {
  return { corrupt: 0, notImage: 0, tooSmall: 0 };
}
