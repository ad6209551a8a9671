import { describe, expect, it } from "vitest";
import { configRows, emaSmooth, flattenConfig, fractionalEpoch, parseRunsParam, toChartPoints, type Bucket } from "../../apps/dashboard/lib/chart-series.ts";

const bucket = (step: number, value: number | null, epoch = 1, extra: Partial<Bucket> = {}): Bucket => ({
  step,
  epoch,
  wallTime: 1000 + step,
  value,
  min: value,
  max: value,
  count: 1,
  nonFinite: value === null ? 1 : 0,
  ...extra,
});

describe("chart series helpers", () => {
  it("EMA: weight 0 is the identity; debiased so the first point is not pulled to 0", () => {
    expect(emaSmooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = emaSmooth([10, 10, 10, 20], 0.9) as number[];
    expect(s[0]).toBeCloseTo(10, 9);
    expect(s[2]).toBeCloseTo(10, 9);
    expect(s[3]).toBeGreaterThan(10);
    expect(s[3]).toBeLessThan(20);
    // 0.9 weight: the step to 20 moves the (debiased) average by 10 · 0.1 / (1 − 0.9⁴) ≈ 2.91.
    expect(s[3]).toBeCloseTo(10 + (10 * 0.1) / (1 - 0.9 ** 4), 6);
    expect(emaSmooth([1, null, 3], 0.5)).toEqual([1, null, expect.closeTo((0.5 * 0.5 + 0.5 * 3) / 0.75, 9)]);
    expect(() => emaSmooth([1], 1)).toThrow(/\[0, 1\)/);
  });

  it("fractional epochs from the steps at which epochs ended", () => {
    const ends = new Map([
      [1, 10],
      [2, 20],
    ]);
    expect(fractionalEpoch(5, 1, ends)).toBeCloseTo(0.5, 9);
    expect(fractionalEpoch(10, 1, ends)).toBeCloseTo(1, 9);
    expect(fractionalEpoch(15, 2, ends)).toBeCloseTo(1.5, 9);
    // The running epoch 3 has no end yet: extrapolate with epoch 2's length.
    expect(fractionalEpoch(25, 3, ends)).toBeCloseTo(2.5, 9);
    // Without grids there is nothing to interpolate with: the integer epoch.
    expect(fractionalEpoch(25, 3, new Map())).toBe(3);
  });

  it("chart points: x per axis mode, envelope from min/max, log scale drops non-positive values", () => {
    const buckets = [bucket(1, 2, 1, { min: 1, max: 3 }), bucket(2, null), bucket(3, -1), bucket(4, 4, 1, { min: 0, max: 5 })];
    const base = { smoothing: 0, logScale: false, epochEnds: new Map([[1, 4]]), wallStart: 1000 };
    expect(toChartPoints(buckets, { ...base, xAxis: "step" })).toEqual([
      { x: 1, y: 2, range: [1, 3] },
      { x: 3, y: -1, range: [-1, -1] },
      { x: 4, y: 4, range: [0, 5] },
    ]);
    expect(toChartPoints(buckets, { ...base, xAxis: "epoch" }).map((p) => p.x)).toEqual([0.25, 0.75, 1]);
    expect(toChartPoints(buckets, { ...base, xAxis: "wall" }).map((p) => p.x)).toEqual([1, 3, 4]);
    expect(toChartPoints(buckets, { ...base, xAxis: "step", logScale: true }).map((p) => p.x)).toEqual([1]);
  });

  it("config table: flattened keys, only differences, missing keys count as different", () => {
    expect(flattenConfig({ lr: 0.001, dataset: { kind: "cartoon-faces", count: 16 }, tags: ["a"] })).toEqual({
      lr: "0.001",
      "dataset.kind": "cartoon-faces",
      "dataset.count": "16",
      tags: '["a"]',
    });
    const a = { lr: 0.001, ngf: 64, dataset: { kind: "faces" } };
    const b = { lr: 0.0002, ngf: 64, dataset: { kind: "faces" }, ema: 0.99 };
    expect(configRows([a, b], true)).toEqual([
      { key: "ema", values: [undefined, "0.99"] },
      { key: "lr", values: ["0.001", "0.0002"] },
    ]);
    expect(configRows([a, b], false)).toHaveLength(4);
  });

  it("parses ?runs= into unique ids in order", () => {
    expect(parseRunsParam("b, a,,b ,c")).toEqual(["b", "a", "c"]);
    expect(parseRunsParam(null)).toEqual([]);
  });
});
