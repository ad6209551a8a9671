import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { featureStatistics, fidFromFeatures, frechetDistance, kernelInceptionDistance } from "./fid.ts";
import { symmetricEigen } from "./linalg.ts";
import { MetricRng } from "./random.ts";

// Reference values computed independently with numpy (eigvals of the non-symmetric C1·C2) by
// fixtures/make_fixtures.py; see that script.
interface FrechetCase { name: string; mu1: number[]; sigma1: number[]; mu2: number[]; sigma2: number[]; fid: number; features1?: number[]; features2?: number[]; n1?: number; n2?: number; dims?: number }
interface KidCase { name: string; dims: number; n: number; features1: number[]; features2: number[]; kid: number }
const reference = JSON.parse(readFileSync(new URL("./fixtures/reference.json", import.meta.url), "utf8")) as { frechet: FrechetCase[]; kid: KidCase[] };

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe("symmetricEigen", () => {
  it("decomposes a random symmetric matrix: A·v = λ·v, orthonormal vectors, ascending values", () => {
    const n = 30;
    const rng = new MetricRng(1);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.gaussian();
    const { values, vectors } = symmetricEigen(a, n);
    const v = vectors as Float64Array;
    for (let k = 0; k < n; k++) {
      if (k > 0) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j] * v[j * n + k];
        expect(Math.abs(av - values[k] * v[i * n + k])).toBeLessThan(1e-10);
      }
      for (let l = 0; l < n; l++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += v[i * n + k] * v[i * n + l];
        expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-10);
      }
    }
    expect(symmetricEigen(a, n, false).values).toEqual(values);
  });
});

describe("frechetDistance", () => {
  it("matches the independent numpy reference values (rel err < 1e-6), non-commuting and rank-deficient included", () => {
    expect(reference.frechet.map((c) => c.name)).toEqual(["diagonal d=4", "full rank d=16", "non-commuting d=32", "rank-deficient d=24 n=10"]);
    for (const c of reference.frechet) {
      const got = frechetDistance(c.mu1, c.sigma1, c.mu2, c.sigma2);
      expect(relErr(got, c.fid), `${c.name}: ${got} vs ${c.fid}`).toBeLessThan(1e-6);
    }
    expect(reference.frechet[0].fid).toBe(7.5); // hand-checkable diagonal case
  });

  it("computes the same statistics as numpy.cov from raw features", () => {
    for (const c of reference.frechet.filter((x) => x.features1)) {
      const stats = featureStatistics({ data: Float64Array.from(c.features1 as number[]), count: c.n1 as number, dims: c.dims as number });
      for (let i = 0; i < stats.sigma.length; i++) expect(Math.abs(stats.sigma[i] - c.sigma1[i])).toBeLessThan(1e-9 * (1 + Math.abs(c.sigma1[i])));
      for (let i = 0; i < stats.mu.length; i++) expect(Math.abs(stats.mu[i] - c.mu1[i])).toBeLessThan(1e-9 * (1 + Math.abs(c.mu1[i])));
      const fid = fidFromFeatures({ data: Float64Array.from(c.features1 as number[]), count: c.n1 as number, dims: c.dims as number }, { data: Float64Array.from(c.features2 as number[]), count: c.n2 as number, dims: c.dims as number });
      expect(relErr(fid, c.fid), c.name).toBeLessThan(1e-6);
    }
  });

  it("is 0 for identical statistics, accepts arrays of rows, and rejects bad input", () => {
    const c = reference.frechet[1];
    expect(Math.abs(frechetDistance(c.mu1, c.sigma1, c.mu1, c.sigma1))).toBeLessThan(1e-9);
    const rows = [[2, 0.5], [0.5, 1]];
    expect(frechetDistance([0, 0], rows, [0, 0], [2, 0.5, 0.5, 1])).toBeCloseTo(0, 10);
    expect(() => frechetDistance([0, 0], rows, [0], rows)).toThrow(/different lengths/);
    expect(() => frechetDistance([0, 0], [1, 0, 0], [0, 0], rows)).toThrow(/2×2/);
    expect(() => frechetDistance([0, NaN], rows, [0, 0], rows)).toThrow(/non-finite/);
  });
});

describe("kernelInceptionDistance", () => {
  it("matches clean-fid's kernel_distance on the reference features (whole-set subset, deterministic)", () => {
    for (const c of reference.kid) {
      const got = kernelInceptionDistance({ data: Float64Array.from(c.features1), count: c.n, dims: c.dims }, { data: Float64Array.from(c.features2), count: c.n, dims: c.dims });
      expect(got.subsets).toBe(1);
      expect(Math.abs(got.mean - c.kid), c.name).toBeLessThan(1e-9 * Math.max(1, Math.abs(c.kid)));
    }
  });

  it("is ≈ 0 for the same distribution and clearly > 0 for different ones, with subsets", () => {
    const rng = new MetricRng(5);
    const dims = 16;
    const draw = (n: number, shift: number) => Array.from({ length: n }, () => Array.from({ length: dims }, () => Math.max(0, rng.gaussian() + shift)));
    const same = kernelInceptionDistance(draw(300, 0), draw(300, 0), { subsetSize: 100, subsets: 50, seed: 1 });
    const different = kernelInceptionDistance(draw(300, 0), draw(300, 0.4), { subsetSize: 100, subsets: 50, seed: 1 });
    expect(same.subsets).toBe(50);
    expect(same.subsetSize).toBe(100);
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 1e-3);
    expect(different.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(different.mean).toBeGreaterThan(different.std);
    expect(() => kernelInceptionDistance(draw(3, 0), [[1, 2]])).toThrow(/different dimensions/);
  });
});
