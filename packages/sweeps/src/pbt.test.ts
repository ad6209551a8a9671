import { describe, expect, it } from "vitest";
import { explore, pbtDecision } from "./pbt.ts";
import { createRng } from "./rng.ts";
import { parseSweepSpec, type SweepSpec } from "./spec.ts";
import type { TrialRecord } from "./trials.ts";

function pbtSpec(seed = 0, pbt: Record<string, unknown> = {}, extraParams: Record<string, unknown> = {}): SweepSpec {
  return parseSweepSpec({
    name: "pbt",
    method: "pbt",
    seed,
    parameters: {
      lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-2 },
      lr_d: { distribution: "log_uniform", min: 1e-5, max: 1e-2 },
      ngf: { values: [32, 64] },
      ...extraParams,
    },
    base: { epochs: 40 },
    pbt: { population: 8, interval: 4, ...pbt },
  }).spec;
}

/** 8 members; member i has metric 0.1·(i+1) at epoch 4 (member 0 best). */
function population(): TrialRecord[] {
  return Array.from({ length: 8 }, (_, i) => ({
    number: i,
    id: `m${i}`,
    state: "running" as const,
    params: { lr_g: 1e-4 * (i + 1), lr_d: 2e-4, ngf: i % 2 ? 64 : 32 },
    intermediate: [
      { epoch: 2, value: 1 },
      { epoch: 4, value: 0.1 * (i + 1) },
    ],
  }));
}

describe("PBT exploit", () => {
  it("only the bottom quantile exploits, only at interval epochs", () => {
    const pop = population();
    const exploiting = pop.filter((t) => pbtDecision(pbtSpec(), pop, t, 4).exploit !== null).map((t) => t.id);
    expect(exploiting).toEqual(["m6", "m7"]);
    expect(pbtDecision(pbtSpec(), pop, pop[3], 4)).toEqual({ exploit: null, reason: "ranks 4 of 8 at epoch 4; only the bottom 2 exploit" });
    expect(pbtDecision(pbtSpec(), pop, pop[7], 6)).toEqual({ exploit: null, reason: "epoch 6 is not a PBT step (every 4 epochs)" });
  });

  it("picks the parent uniformly from the top quantile and copies its shape-fixing settings", () => {
    const pop = population();
    const parents = new Map<string, number>();
    const base = pbtSpec();
    for (let seed = 0; seed < 400; seed++) {
      const d = pbtDecision({ ...base, seed }, pop, pop[7], 4);
      if (!d.exploit) throw new Error(d.reason);
      parents.set(d.exploit.parentTrialId, (parents.get(d.exploit.parentTrialId) ?? 0) + 1);
      const parent = pop.find((t) => t.id === d.exploit!.parentTrialId)!;
      expect(d.exploit.newParams.ngf).toBe(parent.params.ngf);
    }
    expect([...parents.keys()].sort()).toEqual(["m0", "m1"]);
    expect(parents.get("m0")! / 400).toBeGreaterThan(0.42);
    expect(parents.get("m0")! / 400).toBeLessThan(0.58);
  });

  it("ranks members at the exploiting trial's epoch, so members that are ahead gain nothing from extra epochs", () => {
    const pop = population();
    // m7 is ahead (epoch 8) with a great value there, but at epoch 4 it is still the worst.
    pop[7] = { ...pop[7], intermediate: [...pop[7].intermediate!, { epoch: 8, value: 0.01 }] };
    expect(pbtDecision(pbtSpec(), pop, pop[6], 4).exploit).not.toBeNull();
    const d = pbtDecision(pbtSpec(), pop, pop[7], 4);
    expect(d.exploit).not.toBeNull();
    // Failed/pruned members and members without a report are not ranked.
    const mixed: TrialRecord[] = [...population().slice(0, 3), { number: 8, id: "x", state: "failed", params: {}, intermediate: [{ epoch: 4, value: 0 }] }, { number: 9, id: "y", state: "running", params: {} }];
    expect(pbtDecision(pbtSpec(), mixed, mixed[2], 4).reason).toBe("ranks 3 of 3 at epoch 4 (bottom 1); copies trial m0 (top 1) and perturbs lr_g ×0.8, lr_d resampled");
  });

  it("flips ranking for maximize and is deterministic", () => {
    const up = parseSweepSpec({ ...pbtSpec(), metric: { name: "kid", goal: "maximize" } }).spec;
    const pop = population();
    expect(pop.filter((t) => pbtDecision(up, pop, t, 4).exploit !== null).map((t) => t.id)).toEqual(["m0", "m1"]);
    expect(pbtDecision(pbtSpec(3), pop, pop[6], 8)).toEqual(pbtDecision(pbtSpec(3), pop, pop[6], 8));
  });

  it("needs at least two ranked members", () => {
    const pop = population().slice(0, 1);
    expect(pbtDecision(pbtSpec(), pop, pop[0], 4)).toEqual({ exploit: null, reason: "only 1 member has reported; nothing to compare" });
  });
});

describe("PBT explore", () => {
  const parent = { lr_g: 1e-3, lr_d: 1e-2, ngf: 64 };

  it("resamples with probability 0.25, otherwise multiplies by 0.8 or 1.2 (clamped to the bounds)", () => {
    const spec = pbtSpec();
    let resampled = 0;
    let up = 0;
    let down = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const { params, changes } = explore(spec, parent, createRng("explore-test", i));
      const g = changes.find((c) => c.name === "lr_g")!;
      expect(params.lr_g).toBeGreaterThanOrEqual(1e-5);
      expect(params.lr_g).toBeLessThanOrEqual(1e-2);
      expect(params.lr_d).toBeLessThanOrEqual(1e-2);
      if (g.how === "resampled") resampled++;
      else if (g.how === "×1.2") {
        up++;
        expect(params.lr_g).toBeCloseTo(1.2e-3, 12);
      } else {
        down++;
        expect(g.how).toBe("×0.8");
        expect(params.lr_g).toBeCloseTo(0.8e-3, 12);
      }
      // lr_d sits at the upper bound: ×1.2 is clamped to it.
      const d = changes.find((c) => c.name === "lr_d")!;
      if (d.how === "×1.2") expect(params.lr_d).toBe(1e-2);
      expect(params.ngf).toBe(64);
      expect(changes.map((c) => c.name)).toEqual(["lr_g", "lr_d"]);
    }
    expect(resampled / n).toBeGreaterThan(0.23);
    expect(resampled / n).toBeLessThan(0.27);
    expect(up / (up + down)).toBeGreaterThan(0.46);
    expect(up / (up + down)).toBeLessThan(0.54);
  });

  it("honours resample_probability 0 and 1 and custom perturbation factors", () => {
    const never = pbtSpec(0, { resample_probability: 0, perturbation_factors: [0.5, 2] });
    for (let i = 0; i < 200; i++) {
      const { params } = explore(never, { lr_g: 1e-4, lr_d: 1e-4 }, createRng(i));
      expect([5e-5, 2e-4]).toContainEqual(params.lr_g);
    }
    const always = pbtSpec(0, { resample_probability: 1 });
    const draws = Array.from({ length: 200 }, (_, i) => explore(always, parent, createRng(i)).changes.every((c) => c.how === "resampled"));
    expect(draws.every(Boolean)).toBe(true);
  });

  it("moves whole-number settings at least one step, choices to a neighbour, and resamples values outside the spec", () => {
    const spec = pbtSpec(0, { resample_probability: 0 }, { d_steps: { distribution: "int_uniform", min: 1, max: 5 }, loss: ["bce", "lsgan", "hinge"] });
    const seen = { d: new Set<number>(), loss: new Set<string>() };
    for (let i = 0; i < 200; i++) {
      const { params, changes } = explore(spec, { lr_g: 1e-4, lr_d: 1e-4, ngf: 32, d_steps: 1, loss: "lsgan" }, createRng(i));
      seen.d.add(params.d_steps as number);
      seen.loss.add(params.loss as string);
      const lossChange = changes.find((c) => c.name === "loss")!;
      expect(lossChange.how).toBe(params.loss === "hinge" ? "next choice" : "previous choice");
    }
    // 1 × 0.8 clamps to 1; 1 × 1.2 rounds back to 1, so it moves one step up to 2.
    expect([...seen.d].sort()).toEqual([1, 2]);
    expect([...seen.loss].sort()).toEqual(["bce", "hinge"]);
    const odd = explore(spec, { lr_g: 5, lr_d: 1e-4, d_steps: 1, loss: "lsgan" }, createRng(1));
    expect(odd.changes.find((c) => c.name === "lr_g")!.how).toBe("resampled");
  });
});
