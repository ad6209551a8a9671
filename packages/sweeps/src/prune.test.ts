import { describe, expect, it } from "vitest";
import { ashaRungs, shouldPrune } from "./prune.ts";
import { parseSweepSpec } from "./spec.ts";
import type { TrialRecord } from "./trials.ts";

const spec = (early_terminate: Record<string, unknown>, goal: "minimize" | "maximize" = "minimize") =>
  parseSweepSpec({
    name: "p",
    method: "random",
    run_cap: 100,
    metric: { name: "swd", goal },
    parameters: { lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-3 } },
    base: { epochs: 30 },
    early_terminate,
  }).spec;

/** A trial with one report per epoch, values in epoch order starting at epoch 1. */
function trial(number: number, values: number[], state: TrialRecord["state"] = "running"): TrialRecord {
  return { number, state, params: {}, intermediate: values.map((value, i) => ({ epoch: i + 1, value })) };
}

describe("ASHA", () => {
  const asha = spec({ type: "asha", min_epochs: 1, reduction_factor: 3 });

  it("places rungs at min_epochs·η^k", () => {
    expect(ashaRungs(1, 3, 30)).toEqual([1, 3, 9, 27]);
    expect(ashaRungs(2, 2, 20)).toEqual([2, 4, 8, 16]);
  });

  it("keeps exactly the top floor(n/η) of the trials at a rung (9 trials: the best 3)", () => {
    const values = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6];
    const all = values.map((v, i) => trial(i, [v]));
    const pruned = all.filter((t) => shouldPrune(asha, t, all).prune).map((t) => t.number);
    // Kept: 0.1 (#1), 0.2 (#5), 0.3 (#3).
    expect(pruned.sort()).toEqual([0, 2, 4, 6, 7, 8]);
    expect(shouldPrune(asha, all[1], all)).toEqual({ prune: false, reason: "rung epoch 1: ranks 1 of 9, within the top 3 (1/3) that continue", rung: 1 });
    expect(shouldPrune(asha, all[3], all).reason).toBe("rung epoch 1: ranks 3 of 9, within the top 3 (1/3) that continue");
    expect(shouldPrune(asha, all[7], all)).toEqual({ prune: true, reason: "rung epoch 1: ranks 4 of 9; only the top 3 (1/3) continue", rung: 1 });
  });

  it("decides asynchronously as trials arrive: while n < η only the best so far continues", () => {
    const arriving = [0.5, 0.3, 0.6, 0.2, 0.9, 0.4];
    const seen: TrialRecord[] = [];
    const decisions = arriving.map((v, i) => {
      const t = trial(i, [v]);
      seen.push(t);
      return shouldPrune(asha, t, seen).prune;
    });
    // n=1 keep; n=2 best; n=3 (keep 1) 0.6 loses; n=4 (keep 1) 0.2 best; n=5 (keep 1) loses;
    // n=6 (keep 2: 0.2, 0.3) 0.4 loses. Pruned trials still count as having reached the rung.
    expect(decisions).toEqual([false, false, true, false, true, true]);
  });

  it("judges only when a report crosses a rung, against trials that reached that rung", () => {
    const others = [trial(1, [0.2, 0.2, 0.1]), trial(2, [0.3, 0.3, 0.35]), trial(3, [0.1, 0.1]), trial(4, [0.4, 0.4, 0.4])];
    const t = trial(0, [0.25, 0.25]);
    expect(shouldPrune(asha, t, others)).toEqual({ prune: false, reason: "epoch 2 is not an ASHA rung (next rung: epoch 3)" });
    // At rung 3, four trials reached it (#3 stopped at epoch 2): 0.1, 0.35, 0.4 and ours. keep = max(1, floor(4/3)) = 1.
    expect(shouldPrune(asha, trial(0, [0.25, 0.25, 0.05]), others)).toMatchObject({ prune: false, rung: 3 });
    expect(shouldPrune(asha, trial(0, [0.25, 0.25, 0.2]), others)).toEqual({ prune: true, reason: "rung epoch 3: ranks 2 of 4; only the top 1 (1/3) continue", rung: 3 });
    // A report that skips over a rung is judged at that rung with the newest value before it.
    const skipping: TrialRecord = { number: 9, state: "running", params: {}, intermediate: [{ epoch: 1, value: 0.05 }, { epoch: 5, value: 0.9 }] };
    expect(shouldPrune(asha, skipping, others)).toMatchObject({ prune: false, rung: 3 });
    // A first report past several rungs is judged at the highest one it crossed, with that report.
    const late: TrialRecord = { number: 10, state: "running", params: {}, intermediate: [{ epoch: 4, value: 0.9 }] };
    expect(shouldPrune(asha, late, others)).toEqual({ prune: true, reason: "rung epoch 3: ranks 4 of 4; only the top 1 (1/3) continue", rung: 3 });
  });

  it("flips for maximize, prunes non-finite metrics, and does nothing without early_terminate", () => {
    const up = spec({ type: "asha", min_epochs: 1, reduction_factor: 2 }, "maximize");
    const all = [trial(0, [0.9]), trial(1, [0.1]), trial(2, [0.5]), trial(3, [0.7])];
    expect(all.map((t) => shouldPrune(up, t, all).prune)).toEqual([false, true, true, false]);
    const nan = trial(5, [Number.NaN]);
    expect(shouldPrune(asha, nan, [...all, nan])).toMatchObject({ prune: true, reason: "rung epoch 1: metric swd is not a finite number" });
    const none = parseSweepSpec({ name: "n", method: "random", run_cap: 2, parameters: { lr_g: [1e-4, 2e-4] } }).spec;
    expect(shouldPrune(none, trial(0, [9]), all)).toEqual({ prune: false, reason: "the sweep has no early_terminate" });
  });
});

describe("median rule", () => {
  const median = spec({ type: "median", min_epochs: 2, min_trials: 3 });

  it("prunes when the best value so far is worse than the median of the others at the same epoch", () => {
    const others = [trial(1, [0.5, 0.4, 0.3]), trial(2, [0.5, 0.45, 0.4]), trial(3, [0.7, 0.65, 0.6], "completed")];
    expect(shouldPrune(median, trial(0, [0.9, 0.5, 0.45]), others)).toEqual({
      prune: true,
      reason: "epoch 3: best swd so far 0.45 is worse than the median 0.4 of 3 other trials",
    });
    // The best value so far counts, not the latest one.
    expect(shouldPrune(median, trial(0, [0.35, 0.5, 0.45]), others).prune).toBe(false);
    // Equal to the median is not worse.
    expect(shouldPrune(median, trial(0, [0.9, 0.5, 0.4]), others).prune).toBe(false);
  });

  it("averages the two middle values for an even count, and needs min_trials peers at that exact epoch", () => {
    const four = [trial(1, [1, 1, 0.3]), trial(2, [1, 1, 0.4]), trial(3, [1, 1, 0.5]), trial(4, [1, 1, 0.6])];
    expect(shouldPrune(median, trial(0, [1, 1, 0.46]), four).prune).toBe(true);
    expect(shouldPrune(median, trial(0, [1, 1, 0.44]), four).prune).toBe(false);
    const twoAtEpoch3 = [trial(1, [1, 1, 0.1]), trial(2, [1, 1, 0.1]), trial(3, [1, 0.1])];
    expect(shouldPrune(median, trial(0, [1, 1, 0.9]), twoAtEpoch3)).toEqual({
      prune: false,
      reason: "only 2 other trial(s) reported epoch 3; the median rule needs 3",
    });
  });

  it("waits until min_epochs and flips for maximize", () => {
    const others = [trial(1, [0.9, 0.9]), trial(2, [0.9, 0.9]), trial(3, [0.9, 0.9])];
    expect(shouldPrune(median, trial(0, [0.1]), others)).toEqual({ prune: false, reason: "epoch 1 < min_epochs 2" });
    expect(shouldPrune(median, trial(0, [0.1, 0.1]), others).prune).toBe(false);
    expect(shouldPrune(median, trial(0, [0.95, 0.95]), others).prune).toBe(true);
    const up = spec({ type: "median", min_epochs: 2, min_trials: 3 }, "maximize");
    expect(shouldPrune(up, trial(0, [0.1, 0.1]), others).prune).toBe(true);
    expect(shouldPrune(up, trial(0, [0.1, 0.95]), others).prune).toBe(false);
  });
});
