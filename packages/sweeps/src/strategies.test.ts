import { describe, expect, it } from "vitest";
import { createRng } from "./rng.ts";
import { parseSweepSpec, type SweepSpec } from "./spec.ts";
import { bestTrial, gridPoint, gridPoints, randomParams, suggestNext } from "./strategies.ts";
import type { TrialRecord } from "./trials.ts";

function spec(input: Record<string, unknown>): SweepSpec {
  return parseSweepSpec({ name: "t", base: { epochs: 10 }, ...input }).spec;
}

const gridSpec = (runCap?: number) =>
  spec({
    method: "grid",
    run_cap: runCap,
    parameters: {
      lr_g: { values: [1e-4, 2e-4, 4e-4] },
      beta1: { value: 0.5 },
      loss: ["bce", "lsgan", "hinge"],
      ngf: { distribution: "int_uniform", min: 16, max: 64, q: 16 },
    },
  });

describe("grid", () => {
  it("enumerates every combination exactly once, in itertools.product order (last parameter fastest)", () => {
    const points = gridPoints(gridSpec());
    expect(points).toHaveLength(36);
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBe(36);
    const expected: unknown[] = [];
    for (const lr_g of [1e-4, 2e-4, 4e-4]) for (const loss of ["bce", "lsgan", "hinge"]) for (const ngf of [16, 32, 48, 64]) expected.push({ lr_g, loss, ngf });
    expect(points).toEqual(expected);
    // Fixed parameters are part of the config, not of the searched params.
    expect(points[0]).not.toHaveProperty("beta1");
    expect(gridPoint(gridSpec(), 35)).toEqual({ lr_g: 4e-4, loss: "hinge", ngf: 64 });
    expect(() => gridPoint(gridSpec(), 36)).toThrow(RangeError);
  });

  it("is stable: the same spec gives the same order every time, with clean float steps", () => {
    expect(gridPoints(gridSpec())).toEqual(gridPoints(gridSpec()));
    const q = spec({ method: "grid", parameters: { label_smoothing: { distribution: "q_uniform", min: 0, max: 0.3, q: 0.1 } } });
    expect(gridPoints(q).map((p) => p.label_smoothing)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it("hands out the smallest unused index, run_cap cuts the grid, then it is done", () => {
    const s = gridSpec(5);
    const history: TrialRecord[] = [];
    const handed: number[] = [];
    for (;;) {
      const next = suggestNext(s, history);
      if (next.status !== "trial") {
        expect(next.status).toBe("done");
        if (next.status === "done") expect(next.reason).toContain("within run_cap (grid has 36)");
        break;
      }
      handed.push(next.gridIndex!);
      expect(next.params).toEqual(gridPoint(s, next.gridIndex!));
      expect(next.config.beta1).toBe(0.5);
      history.push({ number: next.trialNumber, state: "completed", params: next.params, gridIndex: next.gridIndex, value: 1 });
    }
    expect(handed).toEqual([0, 1, 2, 3, 4]);
    // Gaps (e.g. a trial row deleted by hand) are filled first.
    const gappy: TrialRecord[] = [0, 2].map((i, n) => ({ number: n, state: "completed", params: gridPoint(s, i), gridIndex: i }));
    const next = suggestNext(s, gappy);
    expect(next.status === "trial" && next.gridIndex).toBe(1);
  });
});

const randomSpec = (seed = 0) =>
  spec({
    method: "random",
    run_cap: 100_000,
    seed,
    parameters: {
      lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-1 },
      beta1: { distribution: "uniform", min: 0.1, max: 0.9 },
      ngf: { distribution: "int_uniform", min: 16, max: 20 },
      label_smoothing: { distribution: "q_uniform", min: 0, max: 0.3, q: 0.1 },
      loss: ["bce", "lsgan", "hinge"],
    },
  });

describe("random", () => {
  const samples = Array.from({ length: 4000 }, (_, i) => randomParams(randomSpec(), i));

  it("stays within bounds, on integer and q grids", () => {
    for (const p of samples) {
      expect(p.lr_g).toBeGreaterThanOrEqual(1e-5);
      expect(p.lr_g).toBeLessThanOrEqual(1e-1);
      expect(p.beta1).toBeGreaterThanOrEqual(0.1);
      expect(p.beta1).toBeLessThan(0.9);
      expect([16, 17, 18, 19, 20]).toContain(p.ngf);
      expect([0, 0.1, 0.2, 0.3]).toContain(p.label_smoothing);
      expect(["bce", "lsgan", "hinge"]).toContain(p.loss);
    }
  });

  it("samples log_uniform uniformly in log space: half below the geometric mean, a quarter per decade", () => {
    const below = samples.filter((p) => (p.lr_g as number) < 1e-3).length / samples.length;
    expect(below).toBeGreaterThan(0.47);
    expect(below).toBeLessThan(0.53);
    for (let decade = -5; decade < -1; decade++) {
      const share = samples.filter((p) => Math.floor(Math.log10(p.lr_g as number)) === decade).length / samples.length;
      expect(share).toBeGreaterThan(0.22);
      expect(share).toBeLessThan(0.28);
    }
  });

  it("gives every integer, q step and choice (end points included) its equal share", () => {
    for (const v of [16, 17, 18, 19, 20]) {
      const share = samples.filter((p) => p.ngf === v).length / samples.length;
      expect(share).toBeGreaterThan(0.17);
      expect(share).toBeLessThan(0.23);
    }
    for (const v of [0, 0.1, 0.2, 0.3]) {
      const share = samples.filter((p) => p.label_smoothing === v).length / samples.length;
      expect(share).toBeGreaterThan(0.22);
      expect(share).toBeLessThan(0.28);
    }
    const bce = samples.filter((p) => p.loss === "bce").length / samples.length;
    expect(Math.abs(bce - 1 / 3)).toBeLessThan(0.03);
  });

  it("is deterministic for (seed, trial number) whatever the rest of the history", () => {
    const s = randomSpec(42);
    const a = suggestNext(s, []);
    const b = suggestNext(s, []);
    expect(a).toEqual(b);
    const historyA: TrialRecord[] = [{ number: 0, state: "completed", params: {}, value: 1 }];
    const historyB: TrialRecord[] = [{ number: 0, state: "failed", params: { lr_g: 0.5 } }];
    const nextA = suggestNext(s, historyA);
    const nextB = suggestNext(s, historyB);
    expect(nextA.status === "trial" && nextA.params).toEqual(nextB.status === "trial" && nextB.params);
    expect(nextA.status === "trial" && nextA.params).not.toEqual(a.status === "trial" && a.params);
    expect(randomParams(randomSpec(43), 0)).not.toEqual(randomParams(randomSpec(42), 0));
  });

  it("respects run_cap (failed trials count) and parallelism", () => {
    const s = spec({ method: "random", run_cap: 3, parallelism: 2, parameters: { lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-3 } } });
    const running = (n: number): TrialRecord => ({ number: n, state: "running", params: {} });
    expect(suggestNext(s, [running(0)]).status).toBe("trial");
    expect(suggestNext(s, [running(0), running(1)])).toEqual({ status: "wait", reason: "parallelism 2 reached (2 trials running)" });
    const full: TrialRecord[] = [running(0), { number: 1, state: "failed", params: {} }, { number: 2, state: "completed", params: {}, value: 1 }];
    expect(suggestNext(s, full)).toEqual({ status: "done", reason: "run_cap 3 reached (3 trials)" });
  });
});

describe("pbt initial population and best trial", () => {
  it("starts exactly pbt.population members; exploit children do not count", () => {
    const s = spec({ method: "pbt", parameters: { lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-3 } }, pbt: { population: 3, interval: 2 } });
    const history: TrialRecord[] = [];
    for (let i = 0; i < 3; i++) {
      const next = suggestNext(s, history);
      expect(next.status === "trial" && next.source).toBe("pbt-initial");
      if (next.status === "trial") history.push({ number: next.trialNumber, id: `t${i}`, state: "running", params: next.params });
    }
    expect(suggestNext(s, history).status).toBe("done");
    history.push({ number: 3, id: "t3", state: "running", params: {}, parentTrialId: "t0" });
    expect(suggestNext(s, history).status).toBe("done");
  });

  it("bestTrial picks the best completed value for the goal", () => {
    const trials: TrialRecord[] = [
      { number: 0, state: "completed", params: {}, value: 3 },
      { number: 1, state: "completed", params: {}, value: 1 },
      { number: 2, state: "pruned", params: {}, value: 0.1 },
      { number: 3, state: "completed", params: {}, value: Number.NaN },
    ];
    expect(bestTrial({ metric: { name: "swd", goal: "minimize" } }, trials)?.number).toBe(1);
    expect(bestTrial({ metric: { name: "kid", goal: "maximize" } }, trials)?.number).toBe(0);
    expect(bestTrial({ metric: { name: "swd", goal: "minimize" } }, [])).toBeNull();
  });
});

describe("seeded RNG", () => {
  it("is reproducible, seed-sensitive and uniform", () => {
    const a = createRng(1, "x");
    const b = createRng(1, "x");
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(createRng(2, "x").next()).not.toBe(seqA[0]);
    expect(createRng(1, "y").next()).not.toBe(seqA[0]);
    const r = createRng(7);
    const xs = Array.from({ length: 20000 }, () => r.next());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.003);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const zs = Array.from({ length: 20000 }, () => r.normal());
    const zMean = zs.reduce((s, x) => s + x, 0) / zs.length;
    const zVar = zs.reduce((s, x) => s + (x - zMean) ** 2, 0) / zs.length;
    expect(Math.abs(zMean)).toBeLessThan(0.03);
    expect(Math.abs(zVar - 1)).toBeLessThan(0.04);
  });
});
