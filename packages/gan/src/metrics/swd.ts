// Sliced Wasserstein Distance between two image sets, as in Progressive GAN (Karras et al. 2018,
// tkarras/progressive_growing_of_gans metrics/sliced_wasserstein.py):
//   - a Laplacian pyramid down to 16 px (5×5 binomial filter, mirror padding, stride 2; up-sampling by zero
//     insertion and the same filter ×4), the last level being the Gaussian residual;
//   - 128 random 7×7×3 patches per image and level (147-d descriptors) from images as 0..255 floats;
//   - each set normalised per colour channel by its own mean and (population) standard deviation;
//   - 4 repeats × 128 random unit directions; per direction the mean |sortedA − sortedB| of the projections;
//     averaged over directions and repeats, ×1e3; reported per level and averaged over levels.
// Deviations, all deliberate: our own seeded PRNG instead of numpy's global one (so a seed gives the same value
// every time, and both sets use the same patch positions, so SWD(x, x) = 0 and SWD(a, b) = SWD(b, a) exactly);
// a channel with zero variance (a constant set) is left at 0 instead of becoming NaN.
// The projections (≈20 GMAC per set and level at 2048 images) run as tfjs matMul on the active backend;
// the sorts are an exact float32 radix sort in JS.

import * as tf from "@tensorflow/tfjs";
import { assertImageBatch, MetricInputError, selectImages, type ImageBatch } from "./images.ts";
import { MetricRng } from "./random.ts";
import { Float32RadixSorter } from "./sort.ts";
import { sortPool } from "./sort-pool.ts";

export interface SwdLevel {
  resolution: number;
  swd: number;
}
export interface SwdResult {
  levels: SwdLevel[];
  mean: number;
  /** Images per set the value was computed from (SWD depends on it: compare runs at the same count). */
  images: number;
}
export interface SwdOptions {
  seed?: number; // default 0
  patchesPerImage?: number; // default 128
  dirRepeats?: number; // default 4
  dirsPerRepeat?: number; // default 128
  /** Directions projected and sorted per pass (JS memory ≈ 8 bytes × this × images × patches). Default 64. */
  projectionChunk?: number;
  /**
   * 0 sorts on the calling thread. Otherwise the shared worker pool sorts while the next block is projected
   * (GANBOARD_SWD_THREADS sets its size; default cores − 1). Same result either way.
   */
  sortThreads?: 0;
  /** Called after each chunk of projections; `total` counts chunks over all levels. */
  onProgress?: (done: number, total: number) => void;
}

export const SWD_PATCH_SIZE = 7;
export const SWD_MIN_RESOLUTION = 16;
const PATCH_RADIUS = SWD_PATCH_SIZE >> 1;
const DESCRIPTOR_DIMS = 3 * SWD_PATCH_SIZE * SWD_PATCH_SIZE;

/** The pyramid levels SWD reports for an image resolution, finest first: 64 → [64, 32, 16]. */
export function swdResolutions(resolution: number): number[] {
  if (!Number.isInteger(resolution) || resolution < SWD_MIN_RESOLUTION) {
    throw new MetricInputError(`SWD needs images of at least ${SWD_MIN_RESOLUTION}px, got ${resolution}px`);
  }
  const levels: number[] = [];
  for (let r = resolution; r >= SWD_MIN_RESOLUTION; r = r / 2) {
    if (!Number.isInteger(r)) throw new MetricInputError(`SWD needs a resolution that halves evenly down to ${SWD_MIN_RESOLUTION}px (such as 32, 64, 128), got ${resolution}px`);
    levels.push(r);
  }
  return levels;
}

/** Metric keys as the runner logs them: swd (mean) and swd_<resolution> per level. */
export function swdMetricRecord(result: SwdResult, prefix = "swd"): Record<string, number> {
  const out: Record<string, number> = { [prefix]: result.mean };
  for (const level of result.levels) out[`${prefix}_${level.resolution}`] = level.swd;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Laplacian pyramid (single-channel planes, float32, row-major).

const BINOMIAL = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** scipy.ndimage "mirror" (cv2 BORDER_REFLECT_101): … c b | a b c d | c b … */
function mirror(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

/** Binomial blur with mirror padding, keeping every second row and column (cv2.pyrDown). */
export function pyrDown(src: Float32Array, size: number): Float32Array {
  const half = size >> 1;
  const rows = new Float32Array(size * half); // horizontally filtered, even columns only
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < half; x++) {
      const cx = 2 * x;
      let s = 0;
      for (let t = 0; t < 5; t++) s += BINOMIAL[t] * src[row + mirror(cx + t - 2, size)];
      rows[y * half + x] = s;
    }
  }
  const dst = new Float32Array(half * half);
  for (let y = 0; y < half; y++) {
    const cy = 2 * y;
    for (let x = 0; x < half; x++) {
      let s = 0;
      for (let t = 0; t < 5; t++) s += BINOMIAL[t] * rows[mirror(cy + t - 2, size) * half + x];
      dst[y * half + x] = s;
    }
  }
  return dst;
}

/** Zero insertion to twice the size, then the binomial filter ×4 with mirror padding (cv2.pyrUp). */
export function pyrUp(src: Float32Array, size: number): Float32Array {
  const big = size * 2;
  const up = new Float32Array(big * big);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) up[2 * y * big + 2 * x] = src[y * size + x];
  const rows = new Float32Array(big * big);
  for (let y = 0; y < big; y += 2) { // odd rows are all zero and stay zero
    const row = y * big;
    for (let x = 0; x < big; x++) {
      let s = 0;
      for (let t = 0; t < 5; t++) s += BINOMIAL[t] * up[row + mirror(x + t - 2, big)];
      rows[row + x] = 2 * s;
    }
  }
  const dst = new Float32Array(big * big);
  for (let y = 0; y < big; y++) {
    for (let x = 0; x < big; x++) {
      let s = 0;
      for (let t = 0; t < 5; t++) s += BINOMIAL[t] * rows[mirror(y + t - 2, big) * big + x];
      dst[y * big + x] = 2 * s;
    }
  }
  return dst;
}

/**
 * Laplacian pyramid of one image channel: levels[0] at full size … levels[n-1] is the Gaussian residual.
 * Exposed for tests (perfect reconstruction) and for anyone wanting per-level views.
 */
export function laplacianPyramid(plane: Float32Array, size: number, numLevels: number): Float32Array[] {
  const gaussians: Float32Array[] = [plane];
  for (let i = 1; i < numLevels; i++) gaussians.push(pyrDown(gaussians[i - 1], size >> (i - 1)));
  const levels: Float32Array[] = [];
  for (let i = 0; i < numLevels - 1; i++) {
    const up = pyrUp(gaussians[i + 1], size >> (i + 1));
    const lap = new Float32Array(gaussians[i].length);
    for (let j = 0; j < lap.length; j++) lap[j] = gaussians[i][j] - up[j];
    levels.push(lap);
  }
  levels.push(gaussians[numLevels - 1]);
  return levels;
}

// ---------------------------------------------------------------------------------------------------------
// Descriptors.

/**
 * Patch descriptors of every level for a set, normalised per channel, each level [N][147] row-major with the
 * components in (channel, y, x) order as PGGAN flattens them. Patch centres are drawn from streams that depend
 * only on (seed, level), so two sets of the same size share patch positions.
 */
function extractDescriptors(set: ImageBatch, levels: number[], patchesPerImage: number, seed: number): Float32Array[] {
  const res = set.resolution;
  const n = set.count * patchesPerImage;
  const out = levels.map(() => new Float32Array(DESCRIPTOR_DIMS * n));
  const rngs = levels.map((_, l) => new MetricRng(seed, 100 + l));
  const plane = res * res;
  const planes = [new Float32Array(plane), new Float32Array(plane), new Float32Array(plane)];
  const sums = levels.map(() => new Float64Array(6)); // per channel: sum, sum of squares
  for (let img = 0; img < set.count; img++) {
    const base = img * plane * 3;
    for (let p = 0; p < plane; p++) {
      planes[0][p] = set.pixels[base + 3 * p];
      planes[1][p] = set.pixels[base + 3 * p + 1];
      planes[2][p] = set.pixels[base + 3 * p + 2];
    }
    const pyramids = planes.map((c) => laplacianPyramid(c, res, levels.length));
    for (let l = 0; l < levels.length; l++) {
      const size = levels[l];
      const rng = rngs[l];
      const desc = out[l];
      const acc = sums[l];
      for (let k = 0; k < patchesPerImage; k++) {
        const row0 = (img * patchesPerImage + k) * DESCRIPTOR_DIMS;
        // PGGAN: centre x, y = randint(H, size - H) each.
        const cx = rng.int(PATCH_RADIUS, size - PATCH_RADIUS);
        const cy = rng.int(PATCH_RADIUS, size - PATCH_RADIUS);
        let d = row0;
        for (let c = 0; c < 3; c++) {
          const src = pyramids[c][l];
          let s = 0;
          let s2 = 0;
          for (let dy = -PATCH_RADIUS; dy <= PATCH_RADIUS; dy++) {
            const row = (cy + dy) * size + cx;
            for (let dx = -PATCH_RADIUS; dx <= PATCH_RADIUS; dx++) {
              const v = src[row + dx];
              desc[d] = v;
              s += v;
              s2 += v * v;
              d++;
            }
          }
          acc[2 * c] += s;
          acc[2 * c + 1] += s2;
        }
      }
    }
  }
  const perChannel = n * SWD_PATCH_SIZE * SWD_PATCH_SIZE;
  const area = SWD_PATCH_SIZE * SWD_PATCH_SIZE;
  for (let l = 0; l < levels.length; l++) {
    const desc = out[l];
    const shift = new Float64Array(DESCRIPTOR_DIMS);
    const scale = new Float64Array(DESCRIPTOR_DIMS);
    for (let c = 0; c < 3; c++) {
      const mean = sums[l][2 * c] / perChannel;
      const variance = Math.max(0, sums[l][2 * c + 1] / perChannel - mean * mean);
      const std = Math.sqrt(variance);
      for (let k = c * area; k < (c + 1) * area; k++) {
        shift[k] = mean;
        scale[k] = std > 1e-12 ? 1 / std : 1; // constant channel: stays 0 rather than NaN
      }
    }
    for (let i = 0; i < n; i++) {
      const row = i * DESCRIPTOR_DIMS;
      for (let k = 0; k < DESCRIPTOR_DIMS; k++) desc[row + k] = (desc[row + k] - shift[k]) * scale[k];
    }
  }
  return out;
}

/** Random unit directions, [count][147] row-major (one direction per row). */
function randomDirections(count: number, rng: MetricRng): Float32Array {
  const dirs = new Float32Array(count * DESCRIPTOR_DIMS);
  const values = new Float64Array(DESCRIPTOR_DIMS);
  for (let k = 0; k < count; k++) {
    let norm = 0;
    for (let d = 0; d < DESCRIPTOR_DIMS; d++) {
      values[d] = rng.gaussian();
      norm += values[d] * values[d];
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < DESCRIPTOR_DIMS; d++) dirs[k * DESCRIPTOR_DIMS + d] = values[d] / norm;
  }
  return dirs;
}

/** [rows][cols] → [cols][rows]. */
function transposeF32(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

// ---------------------------------------------------------------------------------------------------------

/**
 * SWD (×1e3) between two equally sized image sets of the same resolution, per pyramid level and averaged.
 * Deterministic for a seed on a given backend. Synchronous (uses dataSync); every tensor is disposed.
 */
export function slicedWassersteinDistance(a: ImageBatch, b: ImageBatch, opts: SwdOptions = {}): SwdResult {
  assertImageBatch(a, "SWD set A");
  assertImageBatch(b, "SWD set B");
  if (a.resolution !== b.resolution) throw new MetricInputError(`SWD needs both sets at the same resolution, got ${a.resolution}px and ${b.resolution}px`);
  if (a.count !== b.count) throw new MetricInputError(`SWD needs sets of the same size (the value depends on it), got ${a.count} and ${b.count} images`);
  if (a.count < 1) throw new MetricInputError("SWD needs at least one image per set");
  const seed = opts.seed ?? 0;
  const patchesPerImage = opts.patchesPerImage ?? 128;
  const dirRepeats = opts.dirRepeats ?? 4;
  const dirsPerRepeat = opts.dirsPerRepeat ?? 128;

  for (const [name, v] of [["patchesPerImage", patchesPerImage], ["dirRepeats", dirRepeats], ["dirsPerRepeat", dirsPerRepeat]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new MetricInputError(`SWD option ${name} must be a positive integer, got ${v}`);
  }
  const levels = swdResolutions(a.resolution);
  const n = a.count * patchesPerImage;
  // Default: 64 directions per pass, fewer for huge sets so the two [k][n] projection blocks stay ≤ ~128 MB.
  const chunk = Math.max(1, Math.min(opts.projectionChunk ?? Math.min(64, Math.floor(2 ** 24 / n)), dirsPerRepeat));
  const chunksPerLevel = dirRepeats * Math.ceil(dirsPerRepeat / chunk);
  const totalChunks = chunksPerLevel * levels.length;
  let doneChunks = 0;

  const descA = extractDescriptors(a, levels, patchesPerImage, seed);
  const descB = a === b ? descA : extractDescriptors(b, levels, patchesPerImage, seed);
  const pool = a === b || opts.sortThreads === 0 ? null : sortPool();
  const sorter = new Float32RadixSorter();
  // With workers: double-buffered shared blocks, so block j is sorted while block j+1 is projected.
  const slots = pool
    ? [0, 1].map(() => ({ a: new Float32Array(new SharedArrayBuffer(4 * chunk * n)), b: new Float32Array(new SharedArrayBuffer(4 * chunk * n)) }))
    : [{ a: new Float32Array(chunk * n), b: new Float32Array(chunk * n) }];
  const results: SwdLevel[] = [];
  try {
    for (let l = 0; l < levels.length; l++) {
      const dirRng = new MetricRng(seed, 200 + l);
      let total = 0;
      let block = 0;
      for (let r = 0; r < dirRepeats; r++) {
        const dirs = randomDirections(dirsPerRepeat, dirRng);
        for (let start = 0; start < dirsPerRepeat; start += chunk) {
          const k = Math.min(chunk, dirsPerRepeat - start);
          if (descB !== descA) {
            // [147][k]: the matMul's right-hand side.
            const dirsT = transposeF32(dirs.subarray(start * DESCRIPTOR_DIMS, (start + k) * DESCRIPTOR_DIMS), k, DESCRIPTOR_DIMS);
            const slot = slots[block++ % slots.length];
            project(descA[l], dirsT, k, n, slot.a);
            project(descB[l], dirsT, k, n, slot.b);
            if (pool) {
              total += pool.wait(); // the previous block
              pool.start(slot.a, slot.b, k, n);
            } else {
              total += sortedDistanceSum(slot.a, slot.b, k, n, sorter);
            }
          }
          doneChunks++;
          opts.onProgress?.(doneChunks, totalChunks);
        }
      }
      if (pool) total += pool.wait();
      // Mean over neighbourhoods and directions, then over repeats (equal weights, so one mean), ×1e3.
      results.push({ resolution: levels[l], swd: (total / (n * dirRepeats * dirsPerRepeat)) * 1e3 });
    }
  } finally {
    if (pool) {
      try {
        pool.wait();
      } catch {
        // already failing; the original error wins
      }
    }
  }
  const mean = results.reduce((s, x) => s + x.swd, 0) / results.length;
  return { levels: results, mean, images: a.count };
}

/** Σ over k directions and n sorted positions of |sortedA − sortedB| (rows of [k][n] blocks, sorted in place). */
function sortedDistanceSum(projA: Float32Array, projB: Float32Array, k: number, n: number, sorter: Float32RadixSorter): number {
  let total = 0;
  for (let d = 0; d < k; d++) {
    const rowA = sorter.sort(projA.subarray(d * n, (d + 1) * n));
    const rowB = sorter.sort(projB.subarray(d * n, (d + 1) * n));
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(rowA[i] - rowB[i]);
    total += s;
  }
  return total;
}

/** Descriptors per matMul: bounds the backend memory SWD needs (≈ 10 MB in, 8 MB out) whatever the set size. */
const ROWS_PER_MATMUL = 16384;

/** Projections of all n descriptors on k directions into out, [k][n] row-major (one row per direction). */
function project(desc: Float32Array, dirsT: Float32Array, k: number, n: number, out: Float32Array): void {
  const dirTensor = tf.tensor2d(dirsT, [DESCRIPTOR_DIMS, k]);
  try {
    for (let start = 0; start < n; start += ROWS_PER_MATMUL) {
      const rows = Math.min(ROWS_PER_MATMUL, n - start);
      const block = tf.tensor2d(desc.subarray(start * DESCRIPTOR_DIMS, (start + rows) * DESCRIPTOR_DIMS), [rows, DESCRIPTOR_DIMS]);
      const projected = tf.matMul(block, dirTensor);
      try {
        const values = projected.dataSync() as Float32Array; // [rows][k]
        for (let i = 0; i < rows; i++) {
          const src = i * k;
          const dst = start + i;
          for (let d = 0; d < k; d++) out[d * n + dst] = values[src + d];
        }
      } finally {
        block.dispose();
        projected.dispose();
      }
    }
  } finally {
    dirTensor.dispose();
  }
}

export interface SwdFloorResult extends SwdResult {
  /** true when the two halves share no image (the set had at least 2 × samples images). */
  disjoint: boolean;
}

/**
 * The real-vs-real noise floor at a sample count (PGGAN's "Reals2" pass): SWD between two disjoint random
 * subsets of `samples` images when the set has 2 × samples, else between two different random subsets of that
 * size (overlapping, so the floor is an underestimate; `disjoint` says which).
 */
export function swdFloor(real: ImageBatch, samples: number, opts: SwdOptions = {}): SwdFloorResult {
  assertImageBatch(real, "SWD floor set");
  if (!Number.isInteger(samples) || samples < 1) throw new MetricInputError(`SWD floor: samples must be a positive integer, got ${samples}`);
  if (real.count < samples) throw new MetricInputError(`SWD floor needs at least ${samples} real images, the set has ${real.count}`);
  const seed = opts.seed ?? 0;
  const rng = new MetricRng(seed, 300);
  let first: Uint32Array;
  let second: Uint32Array;
  const disjoint = real.count >= 2 * samples;
  if (disjoint) {
    const perm = rng.permutation(real.count);
    first = perm.slice(0, samples);
    second = perm.slice(samples, 2 * samples);
  } else {
    first = rng.choose(real.count, samples);
    second = rng.choose(real.count, samples);
  }
  const result = slicedWassersteinDistance(selectImages(real, first), selectImages(real, second), opts);
  return { ...result, disjoint };
}
