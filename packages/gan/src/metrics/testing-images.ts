// Synthetic image sets for the metric tests and benchmarks: smooth random colour blobs on a random background
// (structure at several scales, like faces on a backdrop), plus the distortions the tests dial up.

import type { ImageBatch } from "./images.ts";
import { MetricRng } from "./random.ts";

export function blobImages(count: number, resolution: number, seed: number): ImageBatch {
  const rng = new MetricRng(seed, 9000);
  const pixels = new Uint8Array(count * resolution * resolution * 3);
  const plane = new Float32Array(resolution * resolution * 3);
  for (let img = 0; img < count; img++) {
    const bg = [rng.next() * 255, rng.next() * 255, rng.next() * 255];
    for (let p = 0; p < resolution * resolution; p++) for (let c = 0; c < 3; c++) plane[3 * p + c] = bg[c];
    const blobs = 3 + rng.int(0, 4);
    for (let k = 0; k < blobs; k++) {
      const cx = rng.next() * resolution;
      const cy = rng.next() * resolution;
      const radius = resolution * (0.08 + rng.next() * 0.25);
      const colour = [rng.next() * 255, rng.next() * 255, rng.next() * 255];
      for (let y = 0; y < resolution; y++) {
        for (let x = 0; x < resolution; x++) {
          const d2 = ((x - cx) ** 2 + (y - cy) ** 2) / (radius * radius);
          const w = Math.exp(-d2 * 2);
          const p = 3 * (y * resolution + x);
          for (let c = 0; c < 3; c++) plane[p + c] = plane[p + c] * (1 - w) + colour[c] * w;
        }
      }
    }
    const base = img * resolution * resolution * 3;
    for (let i = 0; i < plane.length; i++) pixels[base + i] = Math.max(0, Math.min(255, Math.round(plane[i])));
  }
  return { pixels, count, resolution };
}

/** Adds Gaussian pixel noise of standard deviation `sigma` (0..255 units). */
export function withNoise(set: ImageBatch, sigma: number, seed: number): ImageBatch {
  const rng = new MetricRng(seed, 9001);
  const pixels = new Uint8Array(set.pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, Math.round(set.pixels[i] + sigma * rng.gaussian())));
  return { pixels, count: set.count, resolution: set.resolution };
}

/** Box blur of radius r (clamped edges). */
export function withBlur(set: ImageBatch, radius: number): ImageBatch {
  const res = set.resolution;
  const pixels = new Uint8Array(set.pixels.length);
  for (let img = 0; img < set.count; img++) {
    const base = img * res * res * 3;
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          let n = 0;
          for (let dy = -radius; dy <= radius; dy++) {
            for (let dx = -radius; dx <= radius; dx++) {
              const yy = Math.min(res - 1, Math.max(0, y + dy));
              const xx = Math.min(res - 1, Math.max(0, x + dx));
              s += set.pixels[base + 3 * (yy * res + xx) + c];
              n++;
            }
          }
          pixels[base + 3 * (y * res + x) + c] = Math.round(s / n);
        }
      }
    }
  }
  return { pixels, count: set.count, resolution: res };
}

/** Uniform random noise images. */
export function noiseImages(count: number, resolution: number, seed: number): ImageBatch {
  const rng = new MetricRng(seed, 9002);
  const pixels = new Uint8Array(count * resolution * resolution * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.nextUint32() & 0xff;
  return { pixels, count, resolution };
}
