import { describe, expect, it } from "vitest";
import { bestSoFar, compareCells, layoutLineage, parallelAxes, parameterImportance, ranks, thin } from "../../apps/dashboard/lib/sweep-analysis.ts";

describe("sweep analysis helpers", () => {
  it("tracks the best value so far by goal, skipping non-finite values", () => {
    expect(bestSoFar([5, 7, NaN, 3, 4, Infinity], "minimize")).toEqual([5, 5, 5, 3, 3, 3]);
    expect(bestSoFar([NaN, 5, 7, 3], "maximize")).toEqual([null, 5, 7, 7]);
  });

  it("thins a series evenly, keeping both ends", () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([0, 3, 6, 9]);
  });

  it("ranks with ties averaged", () => {
    expect(ranks([10, 20, 10, 30])).toEqual([1.5, 3, 1.5, 4]);
  });

  it("scores a parameter that orders the results at 1 and one that does not near 0", () => {
    // lr_g decides the result monotonically (through a log-like curve); seed is noise; loss splits by group.
    const rows = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
      params: { lr_g: 10 ** -i, seed: [1, 4, 6, 7, 8, 5, 3, 2][i - 1], loss: i % 2 === 0 ? "hinge" : "bce", fixed: 1 },
      value: Math.log(i) + (i % 2) * 0.001,
    }));
    const scores = parameterImportance(rows, ["lr_g", "seed", "loss", "fixed", "missing"]);
    expect(scores.map((s) => s.name)).toEqual(["lr_g", "loss", "seed"]);
    expect(scores[0]).toMatchObject({ name: "lr_g", method: "spearman", direction: -1, n: 8 });
    expect(scores[0].score).toBeCloseTo(1, 10);
    const seed = scores.find((s) => s.name === "seed")!;
    expect(seed.score).toBeCloseTo(0, 10); // a permutation with Spearman ρ exactly 0
    const loss = scores.find((s) => s.name === "loss")!;
    expect(loss.method).toBe("eta");
    // Odd vs even ranks of 1..8: group means 4 and 5 around 4.5 → η = √(8·0.25 / 42).
    expect(loss.score).toBeCloseTo(Math.sqrt(2 / 42), 10);
    // A categorical that splits results perfectly scores 1.
    const split = parameterImportance(
      [0, 1, 2, 3, 4, 5].map((i) => ({ params: { loss: i < 3 ? "bce" : "hinge" }, value: i })),
      ["loss"],
    );
    expect(split[0].score).toBeCloseTo(Math.sqrt(27 / 35), 10);
    // Too few results or NaN objectives: nothing to say.
    expect(parameterImportance([{ params: { a: 1 }, value: 1 }, { params: { a: 2 }, value: NaN }, { params: { a: 3 }, value: 2 }], ["a"])).toEqual([]);
  });

  it("builds parallel axes: log for log_uniform, categories spaced, fixed ones skipped, objective last", () => {
    const axes = parallelAxes(
      {
        lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-3 },
        loss: { values: ["bce", "lsgan", "hinge"] },
        beta2: { value: 0.99 },
        beta1: { distribution: "uniform", min: 0, max: 0.5 },
      },
      [{ beta1: 0.9 }],
      { name: "swd", values: [100, 50, NaN] },
    );
    expect(axes.map((a) => [a.name, a.kind])).toEqual([
      ["lr_g", "log"],
      ["loss", "categorical"],
      ["beta1", "linear"],
      ["swd", "linear"],
    ]);
    expect(axes[0].position(1e-4)).toBeCloseTo(0.5, 10);
    expect(axes[1].position("lsgan")).toBe(0.5);
    expect(axes[1].position("wgan")).toBeNull();
    expect(axes[2].position(0.9)).toBe(1); // widened to the observed value
    expect(axes[3].position(75)).toBe(0.5);
    expect(axes[0].ticks.map((t) => t.label)).toEqual(["1.0e-5", "1.0e-4", "0.001"]);
    // Close values keep distinct tick labels.
    const [close] = parallelAxes({}, [], { name: "swd", values: [181.0, 181.5] });
    expect(close.ticks.map((t) => t.label)).toEqual(["181", "181.3", "181.5"]);
  });

  it("lays out PBT lineage: children under their parent, spans from the exploit epoch", () => {
    const { nodes, edges, maxEpoch } = layoutLineage([
      { id: "a", number: 1, parentTrialId: null, exploitEpoch: null, epoch: 4 },
      { id: "b", number: 2, parentTrialId: null, exploitEpoch: null, epoch: 12 },
      { id: "c", number: 3, parentTrialId: "b", exploitEpoch: 4, epoch: 12 },
      { id: "d", number: 4, parentTrialId: "c", exploitEpoch: 8, epoch: 10 },
      { id: "e", number: 5, parentTrialId: "gone", exploitEpoch: 8, epoch: 9 },
    ]);
    expect(nodes.map((n) => [n.id, n.row, n.from, n.to, n.depth])).toEqual([
      ["a", 0, 0, 4, 0],
      ["b", 1, 0, 12, 0],
      ["c", 2, 4, 12, 1],
      ["d", 3, 8, 10, 2],
      ["e", 4, 0, 9, 0],
    ]);
    expect(edges).toEqual([
      { parentId: "b", childId: "c", epoch: 4, fromRow: 1, toRow: 2 },
      { parentId: "c", childId: "d", epoch: 8, fromRow: 2, toRow: 3 },
    ]);
    expect(maxEpoch).toBe(12);
    // A cycle (corrupt data) still lays out every trial once.
    const cyclic = layoutLineage([
      { id: "x", number: 1, parentTrialId: "y", exploitEpoch: 1, epoch: 2 },
      { id: "y", number: 2, parentTrialId: "x", exploitEpoch: 1, epoch: 2 },
    ]);
    expect(cyclic.nodes.map((n) => n.id).sort()).toEqual(["x", "y"]);
  });

  it("sorts cells with empty and non-finite values last in both directions", () => {
    const values = [3, null, 1, NaN, 2];
    expect([...values].sort((a, b) => compareCells(a, b, "ascending"))).toEqual([1, 2, 3, null, NaN]);
    expect([...values].sort((a, b) => compareCells(a, b, "descending"))).toEqual([3, 2, 1, null, NaN]);
    expect(["trial 10", "trial 9"].sort((a, b) => compareCells(a, b, "ascending"))).toEqual(["trial 9", "trial 10"]);
  });
});
