// MS-SSIM (Wang et al. 2003) as Progressive GAN computes it (tkarras/progressive_growing_of_gans
// metrics/ms_ssim.py, adapted from tensorflow/models' msssim.py): images as 0..255 floats, 5 scales weighted
// [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], an 11×11 Gaussian window (σ 1.5) applied as a "valid" convolution,
// K1 0.01, K2 0.03, 2×2 average down-sampling between scales, negative SSIM/CS values clipped to 0, and
// score = Π_{s<4} cs_s^w_s · ssim_4^w_4 per image pair.
//
// Small images: the window can't be larger than the image, so at each scale it is shrunk to
// size = min(11, height, width) with σ scaled by size/11 (PGGAN does the same). At 32px the scales are
// 32, 16, 8, 4 and 2 px: from 8px down the window covers the whole image (size 8, 4, 2; an even size uses
// half-integer offsets like MATLAB's fspecial) and the "valid" output is a single position per channel,
// so the coarse scales compare global colour mean/variance/covariance. At 64px only the 4px scale is affected
// this way. Odd sizes down-sample to floor(size/2) (the last row/column is dropped).
//
// MS-SSIM diversity (Odena et al. 2017, ACGAN): the mean MS-SSIM over image pairs. Higher = less diverse; a
// generator whose value climbs above the real data's is collapsing.

import { assertImageBatch, MetricInputError, type ImageBatch } from "./images.ts";
import { MetricRng } from "./random.ts";

export const MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
const FILTER_SIZE = 11;
const FILTER_SIGMA = 1.5;
const K1 = 0.01;
const K2 = 0.03;
const MAX_VAL = 255;

/** One RGB image: resolution*resolution*3 values, HWC, 0..255 (a Uint8Array slice of an ImageSet works). */
export interface RgbImage {
  pixels: ArrayLike<number>;
  resolution: number;
}

/** 1-D factor of MATLAB's fspecial('gaussian') as the PGGAN code builds it (normalised). */
function gaussianWindow(size: number, sigma: number): Float64Array {
  const radius = size >> 1;
  const offset = size % 2 === 0 ? 0.5 : 0;
  const g = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = offset - radius + i;
    g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += g[i];
  }
  for (let i = 0; i < size; i++) g[i] /= sum;
  return g;
}

/** Separable "valid" Gaussian filtering of an HWC map; output (h−size+1)×(w−size+1)×3. */
function filterValid(src: Float64Array, h: number, w: number, g: Float64Array): Float64Array {
  const size = g.length;
  const ow = w - size + 1;
  const oh = h - size + 1;
  const tmp = new Float64Array(h * ow * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = 0; t < size; t++) s += g[t] * src[(y * w + x + t) * 3 + c];
        tmp[(y * ow + x) * 3 + c] = s;
      }
    }
  }
  const out = new Float64Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = 0; t < size; t++) s += g[t] * tmp[((y + t) * ow + x) * 3 + c];
        out[(y * ow + x) * 3 + c] = s;
      }
    }
  }
  return out;
}

function ssimAtScale(im1: Float64Array, im2: Float64Array, h: number, w: number): { ssim: number; cs: number } {
  const size = Math.min(FILTER_SIZE, h, w);
  const sigma = (size * FILTER_SIGMA) / FILTER_SIZE;
  const g = gaussianWindow(size, sigma);
  const n = im1.length;
  const p11 = new Float64Array(n);
  const p22 = new Float64Array(n);
  const p12 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    p11[i] = im1[i] * im1[i];
    p22[i] = im2[i] * im2[i];
    p12[i] = im1[i] * im2[i];
  }
  const mu1 = filterValid(im1, h, w, g);
  const mu2 = filterValid(im2, h, w, g);
  const s11 = filterValid(p11, h, w, g);
  const s22 = filterValid(p22, h, w, g);
  const s12 = filterValid(p12, h, w, g);
  const c1 = (K1 * MAX_VAL) ** 2;
  const c2 = (K2 * MAX_VAL) ** 2;
  let ssim = 0;
  let cs = 0;
  for (let i = 0; i < mu1.length; i++) {
    const mu11 = mu1[i] * mu1[i];
    const mu22 = mu2[i] * mu2[i];
    const mu12 = mu1[i] * mu2[i];
    const v1 = 2 * (s12[i] - mu12) + c2;
    const v2 = s11[i] - mu11 + (s22[i] - mu22) + c2;
    ssim += ((2 * mu12 + c1) * v1) / ((mu11 + mu22 + c1) * v2);
    cs += v1 / v2;
  }
  return { ssim: ssim / mu1.length, cs: cs / mu1.length };
}

function downsample2x2(src: Float64Array, h: number, w: number): Float64Array {
  const oh = h >> 1;
  const ow = w >> 1;
  const out = new Float64Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        const a = src[(2 * y * w + 2 * x) * 3 + c];
        const b = src[(2 * y * w + 2 * x + 1) * 3 + c];
        const d = src[((2 * y + 1) * w + 2 * x) * 3 + c];
        const e = src[((2 * y + 1) * w + 2 * x + 1) * 3 + c];
        out[(y * ow + x) * 3 + c] = (a + b + d + e) * 0.25;
      }
    }
  }
  return out;
}

/** The smallest resolution MS-SSIM accepts: 5 scales need 2^4 = 16px so the coarsest is at least 1px. */
export const MS_SSIM_MIN_RESOLUTION = 16;

/** MS-SSIM of two RGB images (1 for identical images; lower = less similar; in [0, 1]). */
export function msSsim(a: RgbImage, b: RgbImage): number {
  if (a.resolution !== b.resolution) throw new MetricInputError(`MS-SSIM needs images of the same size, got ${a.resolution}px and ${b.resolution}px`);
  const res = a.resolution;
  if (!Number.isInteger(res) || res < MS_SSIM_MIN_RESOLUTION) throw new MetricInputError(`MS-SSIM needs images of at least ${MS_SSIM_MIN_RESOLUTION}px (5 scales), got ${res}px`);
  const n = res * res * 3;
  if (a.pixels.length < n || b.pixels.length < n) throw new MetricInputError(`MS-SSIM: a ${res}px RGB image needs ${n} values`);
  let im1: Float64Array = Float64Array.from({ length: n }, (_, i) => a.pixels[i]);
  let im2: Float64Array = Float64Array.from({ length: n }, (_, i) => b.pixels[i]);
  let h = res;
  let score = 1;
  for (let s = 0; s < MS_SSIM_WEIGHTS.length; s++) {
    const { ssim, cs } = ssimAtScale(im1, im2, h, h);
    const last = s === MS_SSIM_WEIGHTS.length - 1;
    // Clip to zero (a negative base would make the fractional power NaN), as PGGAN does.
    score *= Math.max(0, last ? ssim : cs) ** MS_SSIM_WEIGHTS[s];
    if (!last) {
      im1 = downsample2x2(im1, h, h);
      im2 = downsample2x2(im2, h, h);
      h >>= 1;
    }
  }
  return score;
}

function imageAt(set: ImageBatch, index: number): RgbImage {
  const size = set.resolution * set.resolution * 3;
  return { pixels: set.pixels.subarray(index * size, (index + 1) * size), resolution: set.resolution };
}

export interface MsSsimDiversityOptions {
  /** How many pairs to average (default all: floor(count / 2)). */
  pairs?: number;
  /** Seed of the order the images are paired in (default 0). */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Mean MS-SSIM over disjoint image pairs: PGGAN's images[0::2] vs images[1::2], taken over a seeded random
 * order so that a folder's file order (often grouped) doesn't bias it. 1 for a set of identical images.
 */
export function msSsimDiversity(set: ImageBatch, opts: MsSsimDiversityOptions = {}): number {
  assertImageBatch(set, "MS-SSIM diversity set");
  const available = Math.floor(set.count / 2);
  if (available < 1) throw new MetricInputError(`MS-SSIM diversity needs at least 2 images, got ${set.count}`);
  const pairs = opts.pairs ?? available;
  if (!Number.isInteger(pairs) || pairs < 1) throw new MetricInputError(`MS-SSIM diversity: pairs must be a positive integer, got ${pairs}`);
  if (pairs > available) throw new MetricInputError(`MS-SSIM diversity: ${pairs} pairs need ${2 * pairs} images, the set has ${set.count}`);
  const order = new MetricRng(opts.seed ?? 0, 400).permutation(set.count);
  let sum = 0;
  for (let p = 0; p < pairs; p++) {
    sum += msSsim(imageAt(set, order[2 * p]), imageAt(set, order[2 * p + 1]));
    if (opts.onProgress && ((p + 1) % 64 === 0 || p + 1 === pairs)) opts.onProgress(p + 1, pairs);
  }
  return sum / pairs;
}
