import { describe, expect, test } from "vitest";
import { BatchLoader } from "./batch-loader.ts";
import { sampleImageSet } from "./subset.ts";
import type { ImageSet } from "./types.ts";

const RES = 2;
const FRAME = RES * RES * 3;

/** Image i is filled with the byte value (i * 25) % 256, so a batch reveals which images it holds. */
function syntheticSet(count: number): ImageSet {
  const pixels = new Uint8Array(count * FRAME);
  for (let i = 0; i < count; i++) pixels.fill((i * 25) % 256, i * FRAME, (i + 1) * FRAME);
  return { pixels, count, resolution: RES, hash: "x", source: "synthetic", skipped: { corrupt: 0, notImage: 0, tooSmall: 0 } };
}

function imagesOf(batch: Float32Array, batchSize: number): number[] {
  return Array.from({ length: batchSize }, (_, b) => Math.round(((batch[b * FRAME] + 1) * 127.5) / 25));
}

describe("BatchLoader", () => {
  test("drops the last incomplete batch and serves each image at most once per epoch", () => {
    const loader = new BatchLoader(syntheticSet(10), 3, 7);
    expect(loader.batchesPerEpoch).toBe(3);
    const seen: number[] = [];
    for (let i = 0; i < loader.batchesPerEpoch; i++) {
      const batch = loader.batch(0, i);
      expect(batch.length).toBe(3 * FRAME);
      seen.push(...imagesOf(batch, 3));
    }
    expect(new Set(seen).size).toBe(9);
    expect(seen.every((i) => i >= 0 && i < 10)).toBe(true);
    expect(() => loader.batch(0, 3)).toThrow(/out of range/);
    loader.dispose();
  });

  test("deterministic for (seed, epoch) across instances; shuffles differ across epochs and seeds", () => {
    const set = syntheticSet(10);
    const a = new BatchLoader(set, 5, 42);
    const b = new BatchLoader(set, 5, 42);
    // b asks out of order: the permutation must not depend on call history.
    const b1 = b.batch(3, 1);
    const b0 = b.batch(3, 0);
    expect(Array.from(a.batch(3, 0))).toEqual(Array.from(b0));
    expect(Array.from(a.batch(3, 1))).toEqual(Array.from(b1));
    const orders = [0, 1, 2, 3].map((e) => Array.from(a.order(e)).join(","));
    expect(new Set(orders).size).toBe(4);
    expect(Array.from(new BatchLoader(set, 5, 43).order(3))).not.toEqual(Array.from(a.order(3)));
    for (const o of orders) expect(o.split(",").map(Number).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    a.dispose();
    b.dispose();
  });

  test("values are v / 127.5 - 1: exactly -1 for 0 and 1 for 255", () => {
    const pixels = new Uint8Array(4 * FRAME);
    pixels.fill(0, 0, FRAME);
    pixels.fill(255, FRAME, 2 * FRAME);
    pixels.fill(128, 2 * FRAME, 3 * FRAME);
    pixels.fill(51, 3 * FRAME);
    const loader = new BatchLoader({ pixels, count: 4, resolution: RES, hash: "", source: "", skipped: { corrupt: 0, notImage: 0, tooSmall: 0 } }, 4, 0);
    const batch = loader.batch(0, 0);
    const values = new Set(Array.from(batch));
    expect(values).toEqual(new Set([-1, 1, Math.fround(128 / 127.5 - 1), Math.fround(51 / 127.5 - 1)]));
    expect(Math.min(...batch)).toBe(-1);
    expect(Math.max(...batch)).toBe(1);
  });

  test("prefetched batch equals a freshly computed one; batchInto fills a caller buffer", async () => {
    const set = syntheticSet(64);
    const loader = new BatchLoader(set, 8, 5);
    const fresh = new BatchLoader(set, 8, 5);
    loader.batch(2, 0);
    await new Promise((r) => setImmediate(r)); // let the prefetch run
    expect(Array.from(loader.batch(2, 1))).toEqual(Array.from(fresh.batch(2, 1)));
    const out = new Float32Array(fresh.batchLength);
    expect(fresh.batchInto(2, 5, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(loader.batch(2, 5)));
    loader.dispose();
    fresh.dispose();
  });

  test("rejects a batch larger than the dataset and malformed sets", () => {
    expect(() => new BatchLoader(syntheticSet(3), 4, 0)).toThrow(/fewer than one batch/);
    expect(() => new BatchLoader(syntheticSet(3), 0, 0)).toThrow(/positive integer/);
    const bad = { ...syntheticSet(3), count: 4 };
    expect(() => new BatchLoader(bad, 2, 0)).toThrow(/expected/);
  });
});

describe("sampleImageSet", () => {
  test("n distinct images chosen by seed, in dataset order; all of them when n >= count", () => {
    const set = syntheticSet(10);
    const a = sampleImageSet(set, 4, 1);
    const b = sampleImageSet(set, 4, 1);
    expect(a.count).toBe(4);
    expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels));
    const ids = Array.from({ length: 4 }, (_, k) => a.pixels[k * FRAME] / 25);
    expect(new Set(ids).size).toBe(4);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    const others = new Set([2, 3, 4, 5].map((s) => Array.from({ length: 4 }, (_, k) => sampleImageSet(set, 4, s).pixels[k * FRAME]).join(",")));
    expect(others.size).toBeGreaterThan(1);
    expect(a.hash).not.toBe(set.hash);
    const all = sampleImageSet(set, 50, 1);
    expect(all.count).toBe(10);
    expect(Array.from(all.pixels)).toEqual(Array.from(set.pixels));
    expect(all.hash).toBe(set.hash);
  });
});
