import { describe, expect, it } from "vitest";
import { downsample, type RawPoint } from "./downsample.ts";

const series = (n: number, f: (step: number) => number = (s) => s): RawPoint[] =>
  Array.from({ length: n }, (_, i) => ({ step: i + 1, epoch: Math.floor(i / 10) + 1, wallTime: 1000 + i, value: f(i + 1) }));

describe("downsample", () => {
  it("keeps every point of a short series as its own bucket", () => {
    const out = downsample(series(5), 10);
    expect(out.map((b) => [b.step, b.value, b.min, b.max, b.count])).toEqual([
      [1, 1, 1, 1, 1],
      [2, 2, 2, 2, 1],
      [3, 3, 3, 3, 1],
      [4, 4, 4, 4, 1],
      [5, 5, 5, 5, 1],
    ]);
  });

  it("cuts 100k points into at most maxBuckets equal step ranges with mean, min and max", () => {
    const out = downsample(series(100_000), 1500);
    expect(out.length).toBeLessThanOrEqual(1500);
    expect(out.length).toBeGreaterThan(1400);
    expect(out.reduce((n, b) => n + b.count, 0)).toBe(100_000);
    for (const b of out) {
      expect(b.min).toBe(b.step - b.count + 1); // value = step: the bucket spans [min, max] exactly
      expect(b.max).toBe(b.step);
      expect(b.value).toBeCloseTo(((b.min as number) + (b.max as number)) / 2, 9);
    }
    expect(out[out.length - 1].step).toBe(100_000);
    expect(out[out.length - 1].wallTime).toBe(1000 + 99_999);
  });

  it("keeps a single spike in the envelope though the mean hides it", () => {
    const out = downsample(series(10_000, (s) => (s === 5000 ? 1000 : 1)), 100);
    const spiked = out.find((b) => b.max === 1000);
    expect(spiked).toBeDefined();
    expect(spiked?.value).toBeLessThan(20);
    expect(out.filter((b) => b.max === 1000)).toHaveLength(1);
  });

  it("counts NaN and infinities instead of averaging them", () => {
    const out = downsample(series(1000, (s) => (s === 10 ? Number.NaN : s === 11 ? Infinity : 2)), 10);
    expect(out[0]).toMatchObject({ value: 2, min: 2, max: 2, nonFinite: 2, count: 100 });
    expect(out.slice(1).every((b) => b.nonFinite === 0)).toBe(true);
    const allBad = downsample([{ step: 1, epoch: 1, wallTime: 0, value: Number.NaN }], 10);
    expect(allBad[0]).toMatchObject({ value: null, min: null, max: null, nonFinite: 1 });
  });

  it("handles unordered input, sparse steps and rejects a bad bucket count", () => {
    const pts = [7, 3, 900, 1].map((step) => ({ step, epoch: 1, wallTime: step, value: step }));
    expect(downsample(pts, 2).map((b) => [b.step, b.count])).toEqual([
      [7, 3],
      [900, 1],
    ]);
    expect(downsample([], 5)).toEqual([]);
    expect(() => downsample(pts, 0)).toThrow(/positive integer/);
  });
});
