/**
 * Sweeps through real runner processes training tiny real models: ASHA prunes exactly the trials its
 * rule says (replayed over the stored history), and a PBT exploit copies the parent's checkpoint bytes,
 * records the lineage and continues from them with perturbed learning rates.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSweep, getSweep, sweepHistory } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { parseSweepSpec, shouldPrune, type SweepSpecInput } from "@ganboard/sweeps";
import { SweepWork } from "../../packages/runner/src/sweep-work.ts";
import { killLeftoverRunners, spawnRunner, tempHome, tinyConfig } from "../runner/helpers.ts";

let t: TestDatabase;
const home = tempHome();
beforeAll(async () => {
  t = await createTestDatabase();
});
afterEach(killLeftoverRunners);
afterAll(async () => {
  await t?.drop();
});

async function runOnce(args: string[] = ["--once"]) {
  const r = spawnRunner(t.url, home, args);
  const code = await r.exited;
  expect(code, r.output()).toBe(0);
  return r.output();
}

describe("sweeps with real training", () => {
  it("4 runner processes on a grid sweep (parallelism 2): every point once, never more than 2 at once, all exit when it is finished", async () => {
    const { spec } = parseSweepSpec({
      name: "grid",
      method: "grid",
      parameters: { lr_g: { values: [0.0001, 0.0004] }, beta1: { values: [0, 0.5] } },
      base: tinyConfig({ epochs: 1 }),
      parallelism: 2,
      seed: 0,
    } satisfies SweepSpecInput);
    const { id } = await createSweep(t.sql, spec);
    const runners = [0, 1, 2, 3].map((i) => spawnRunner(t.url, home, ["--once", "--name", `grid-${i}`]));
    const codes = await Promise.all(runners.map((r) => r.exited));
    expect(codes, runners.map((r) => r.output()).join("\n----\n")).toEqual([0, 0, 0, 0]);
    const sweep = (await getSweep(t.sql, id))!;
    expect(sweep.status).toBe("finished");
    expect(sweep.trialList.map((x) => x.status)).toEqual(["completed", "completed", "completed", "completed"]);
    const points = sweep.trialList.map((x) => `${(x.config as { lr_g: number }).lr_g}/${(x.config as { beta1: number }).beta1}`);
    expect(points).toEqual(["0.0001/0", "0.0001/0.5", "0.0004/0", "0.0004/0.5"]);
    const events = sweep.trialList.flatMap((x) => [[x.startedAt!.getTime(), 1] as const, [x.finishedAt!.getTime(), -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let most = 0;
    for (const [, d] of events) most = Math.max(most, (running += d));
    expect(most).toBeLessThanOrEqual(2);
  });

  it("ASHA prunes exactly the trials the rule says", async () => {
    const input: SweepSpecInput = {
      name: "asha",
      method: "random",
      parameters: { lr_g: { distribution: "log_uniform", min: 0.00001, max: 0.05 }, lr_d: { distribution: "log_uniform", min: 0.00001, max: 0.05 } },
      base: tinyConfig({ epochs: 3, swd_samples: 16 }),
      run_cap: 5,
      // One at a time: each trial is judged against the finished ones, so the replay below is exact.
      parallelism: 1,
      early_terminate: { type: "asha", min_epochs: 1, reduction_factor: 2 },
      seed: 0,
    };
    const { spec } = parseSweepSpec(input);
    const { id } = await createSweep(t.sql, spec);
    await runOnce();

    const sweep = (await getSweep(t.sql, id))!;
    expect(sweep.status).toBe("finished");
    const records = new SweepWork(t.sql, "replay").records(id, spec, await sweepHistory(t.sql, id, "swd"));
    expect(records).toHaveLength(5);
    const outcomes: string[] = [];
    for (const [k, trial] of records.entries()) {
      const earlier = records.slice(0, k);
      let expected: { status: string; lastEpoch: number } = { status: "completed", lastEpoch: 3 };
      for (const report of trial.intermediate!) {
        const sofar = { ...trial, state: "running" as const, intermediate: trial.intermediate!.filter((r) => r.epoch <= report.epoch) };
        if (shouldPrune(spec, sofar, [...earlier, sofar]).prune) {
          expected = { status: "pruned", lastEpoch: report.epoch };
          break;
        }
      }
      const lastEpoch = trial.intermediate!.at(-1)!.epoch;
      expect({ status: trial.state, lastEpoch }, `trial #${k + 1}`).toEqual(expected);
      outcomes.push(trial.state);
    }
    // The rule did something both ways on this sweep (the first trial always survives its rungs).
    expect(outcomes).toContain("pruned");
    expect(outcomes[0]).toBe("completed");
  });

  it("PBT: the bottom member copies the top member's checkpoint bytes, records lineage, continues perturbed", async () => {
    const input: SweepSpecInput = {
      name: "pbt",
      method: "pbt",
      parameters: { lr_g: { distribution: "log_uniform", min: 0.0001, max: 0.001 }, lr_d: { distribution: "log_uniform", min: 0.0001, max: 0.001 } },
      base: tinyConfig({ epochs: 4, swd_samples: 16 }),
      parallelism: 1,
      pbt: { population: 2, interval: 2, quantile: 0.5, resample_probability: 0.25, perturbation_factors: [0.8, 1.2], mutate: ["lr_g", "lr_d"] },
      seed: 0,
    };
    const { spec } = parseSweepSpec(input);
    const { id } = await createSweep(t.sql, spec);
    // Member A trains alone (nothing to compare with at its PBT epoch) ...
    await runOnce(["--max-trials", "1"]);
    const [a] = (await getSweep(t.sql, id))!.trialList;
    expect(a.status).toBe("completed");
    // ... and is made the clear leader, so member B must exploit it at epoch 2.
    await t.sql`update metrics set value = 0 where trial_id = ${a.id} and key = 'swd'`;
    await runOnce();

    const sweep = (await getSweep(t.sql, id))!;
    expect(sweep.status).toBe("finished");
    const [, b, c] = sweep.trialList;
    expect(sweep.trialList.map((x) => [x.number, x.status])).toEqual([
      [1, "completed"],
      [2, "pruned"],
      [3, "completed"],
    ]);
    expect(b.epoch).toBe(2);
    expect(c).toMatchObject({ parentTrialId: a.id, exploitEpoch: 2, attempt: 1 });
    // The predecessor in the population slot ended in the exploit's transaction (how the dashboard pairs them).
    expect(b.finishedAt?.getTime()).toBe(c.createdAt.getTime());
    // The child's first checkpoint is a byte copy of the parent's at epoch 2.
    const ckpts = await t.sql<{ trial_id: string; epoch: number; step: number; reason: string; sha: string }[]>`
      select trial_id, epoch, step, reason, encode(sha256(data), 'hex') as sha from checkpoints where trial_id in (${a.id}, ${c.id}) and epoch = 2`;
    const parentCkpt = ckpts.find((x) => x.trial_id === a.id)!;
    const copy = ckpts.find((x) => x.trial_id === c.id)!;
    expect(copy).toMatchObject({ reason: "exploit", step: parentCkpt.step, sha: parentCkpt.sha });
    // It continued from there: epochs 3-4 only, steps right after the checkpoint.
    const [steps] = await t.sql<{ min: number; max: number; n: number }[]>`
      select min(step) as min, max(step) as max, count(*)::int as n from metrics where trial_id = ${c.id} and key = 'loss_d'`;
    expect(steps).toEqual({ min: parentCkpt.step + 1, max: parentCkpt.step * 2, n: parentCkpt.step });
    // Parent's parameters, learning rates perturbed; everything else identical.
    const ac = a.config as Record<string, unknown>;
    const cc = c.config as Record<string, unknown>;
    expect({ ...cc, lr_g: 0, lr_d: 0 }).toEqual({ ...ac, lr_g: 0, lr_d: 0 });
    expect([cc.lr_g, cc.lr_d]).not.toEqual([ac.lr_g, ac.lr_d]);
    const [log] = await t.sql<{ message: string }[]>`select message from trial_logs where trial_id = ${b.id} and message like 'PBT exploit%'`;
    expect(log.message).toContain(`continues as trial #3 from trial ${a.id}'s checkpoint at epoch 2`);
  });
});
