import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { laplacianPyramid, pyrDown, pyrUp, slicedWassersteinDistance, swdFloor, swdMetricRecord, swdResolutions } from "./swd.ts";
import { Float32RadixSorter } from "./sort.ts";
import { MetricInputError } from "./images.ts";
import { blobImages, withBlur, withNoise } from "./testing-images.ts";

// Small but real: 48 images × 32 patches × 2×32 directions keeps each SWD call well under a second on cpu.
const fast = { patchesPerImage: 32, dirRepeats: 2, dirsPerRepeat: 32, seed: 7 };

describe("radix sort", () => {
  it("matches Float32Array.prototype.sort bit for bit, negatives, zeros and duplicates included", () => {
    const sorter = new Float32RadixSorter();
    const values = new Float32Array(5000);
    for (let i = 0; i < values.length; i++) values[i] = i % 7 === 0 ? 0 : i % 11 === 0 ? -0 : Math.fround((Math.sin(i * 12.9898) * 43758.5453) % 50);
    values[3] = Infinity;
    values[4] = -Infinity;
    const expected = values.slice().sort();
    const got = sorter.sort(values.slice());
    expect(Array.from(got).map(String)).toEqual(Array.from(expected).map(String));
    for (let i = 1; i < got.length; i++) expect(got[i - 1] <= got[i]).toBe(true);
  });
});

describe("Laplacian pyramid", () => {
  it("reconstructs the image exactly from its levels (up to float32 rounding)", () => {
    const size = 32;
    const plane = new Float32Array(size * size);
    for (let i = 0; i < plane.length; i++) plane[i] = (i * 37) % 255;
    const levels = laplacianPyramid(plane, size, 2);
    expect(levels.map((l) => l.length)).toEqual([32 * 32, 16 * 16]);
    const up = pyrUp(levels[1], 16);
    for (let i = 0; i < plane.length; i++) expect(levels[0][i] + up[i]).toBeCloseTo(plane[i], 3);
  });

  it("keeps a constant image constant (binomial filter sums to 1, mirror padding)", () => {
    const plane = new Float32Array(16 * 16).fill(100);
    const down = pyrDown(plane, 16);
    expect(down.length).toBe(64);
    for (const v of down) expect(v).toBeCloseTo(100, 4);
    for (const v of pyrUp(down, 8)) expect(v).toBeCloseTo(100, 4);
  });
});

describe("slicedWassersteinDistance", () => {
  const clean = blobImages(48, 32, 1);

  it("reports one level per resolution down to 16px, with the runner's metric keys", () => {
    expect(swdResolutions(32)).toEqual([32, 16]);
    expect(swdResolutions(64)).toEqual([64, 32, 16]);
    expect(swdResolutions(128)).toEqual([128, 64, 32, 16]);
    const result = slicedWassersteinDistance(clean, withNoise(clean, 20, 1), fast);
    expect(result.levels.map((l) => l.resolution)).toEqual([32, 16]);
    expect(result.mean).toBeCloseTo((result.levels[0].swd + result.levels[1].swd) / 2, 12);
    expect(result.images).toBe(48);
    expect(Object.keys(swdMetricRecord(result)).sort()).toEqual(["swd", "swd_16", "swd_32"]);
  });

  it("is 0 for a set against itself and symmetric", () => {
    const other = blobImages(48, 32, 2);
    expect(slicedWassersteinDistance(clean, { ...clean, pixels: clean.pixels.slice() }, fast).mean).toBe(0);
    const ab = slicedWassersteinDistance(clean, other, fast);
    const ba = slicedWassersteinDistance(other, clean, fast);
    expect(ab.mean).toBeGreaterThan(0);
    expect(ba.mean).toBeCloseTo(ab.mean, 9);
  });

  it("is deterministic for a seed and changes with the seed", () => {
    const other = blobImages(48, 32, 3);
    const first = slicedWassersteinDistance(clean, other, fast);
    const again = slicedWassersteinDistance(clean, other, fast);
    expect(again).toEqual(first);
    const reseeded = slicedWassersteinDistance(clean, other, { ...fast, seed: 8 });
    expect(reseeded.mean).not.toBe(first.mean);
    expect(Math.abs(reseeded.mean - first.mean) / first.mean).toBeLessThan(0.5);
  });

  it("grows monotonically with noise and with blur", () => {
    const noise = [0, 8, 24, 64].map((sigma) => slicedWassersteinDistance(clean, sigma === 0 ? clean : withNoise(clean, sigma, 5), fast));
    for (let i = 1; i < noise.length; i++) {
      expect(noise[i].mean).toBeGreaterThan(noise[i - 1].mean);
      // The finest level is where pixel noise shows most.
      expect(noise[i].levels[0].swd).toBeGreaterThan(noise[i - 1].levels[0].swd);
    }
    const blur = [1, 2, 4].map((r) => slicedWassersteinDistance(clean, withBlur(clean, r), fast).mean);
    expect(blur[0]).toBeGreaterThan(0);
    expect(blur[1]).toBeGreaterThan(blur[0]);
    expect(blur[2]).toBeGreaterThan(blur[1]);
  });

  it("gives the same value with sort workers (1 or 3 threads) as on the calling thread", () => {
    const other = blobImages(48, 32, 5);
    const saved = process.env.GANBOARD_SWD_THREADS;
    try {
      const inline = slicedWassersteinDistance(clean, other, { ...fast, sortThreads: 0 });
      for (const threads of ["1", "3"]) {
        process.env.GANBOARD_SWD_THREADS = threads;
        const pooled = slicedWassersteinDistance(clean, other, fast);
        expect(pooled.levels.length).toBe(2);
        for (let l = 0; l < 2; l++) expect(pooled.levels[l].swd).toBeCloseTo(inline.levels[l].swd, 9);
      }
    } finally {
      if (saved === undefined) delete process.env.GANBOARD_SWD_THREADS;
      else process.env.GANBOARD_SWD_THREADS = saved;
    }
  });

  it("leaks no tensors", () => {
    const before = tf.memory().numTensors;
    slicedWassersteinDistance(clean, blobImages(48, 32, 4), fast);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects sets it cannot compare with a clear error", () => {
    expect(() => slicedWassersteinDistance(clean, blobImages(47, 32, 2), fast)).toThrow(/same size/);
    expect(() => slicedWassersteinDistance(clean, blobImages(48, 64, 2), fast)).toThrow(/same resolution/);
    expect(() => slicedWassersteinDistance(blobImages(4, 8, 1), blobImages(4, 8, 2), fast)).toThrow(MetricInputError);
    expect(() => swdResolutions(48 * 2 + 1)).toThrow(/halves evenly/);
    expect(() => slicedWassersteinDistance({ ...clean, pixels: clean.pixels.subarray(0, 100) }, clean, fast)).toThrow(/bytes of pixels/);
  });
});

describe("swdFloor", () => {
  it("uses disjoint halves when there are enough images and sits far below a distorted set", () => {
    const real = blobImages(96, 32, 11);
    const floor = swdFloor(real, 48, fast);
    expect(floor.disjoint).toBe(true);
    expect(floor.images).toBe(48);
    const half = { pixels: real.pixels.subarray(0, 48 * 32 * 32 * 3), count: 48, resolution: 32 };
    const distorted = slicedWassersteinDistance(half, withNoise(blobImages(48, 32, 12), 40, 3), fast);
    expect(floor.mean).toBeGreaterThan(0);
    expect(floor.mean).toBeLessThan(distorted.mean / 2);
    expect(swdFloor(real, 60, fast).disjoint).toBe(false);
    expect(() => swdFloor(real, 97, fast)).toThrow(/at least 97/);
  });
});
