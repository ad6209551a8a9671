/**
 * Claim-and-suggest under contention: 8 runners' claim loops (each its own connection pool and
 * SweepWork, the real locked claim path) share a grid and a TPE sweep. Trials "train" for 50-250
 * ms and finish through finishTrial, as a runner would. run_cap and parallelism hold exactly, no grid
 * point is handed out twice, both sweeps end finished; a stopped sweep hands out nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { createSweep, finishTrial, getSweep, registerRunner, stopSweep, type Sql } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { gridPoints, parseSweepSpec, type SweepSpecInput } from "@ganboard/sweeps";
import { SweepWork } from "../../packages/runner/src/sweep-work.ts";
import { tinyConfig } from "../runner/helpers.ts";

let t: TestDatabase;
const pools: Sql[] = [];
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
  await t?.drop();
});

const base = tinyConfig({ epochs: 1 });
const gridSpec: SweepSpecInput = {
  name: "grid-contention",
  method: "grid",
  parameters: { lr_g: { values: [0.0001, 0.0002, 0.0004, 0.0008] }, beta1: { values: [0, 0.5, 0.9] } },
  base,
  run_cap: 10,
  parallelism: 3,
  seed: 0,
};
const tpeSpec: SweepSpecInput = {
  name: "tpe-contention",
  method: "tpe",
  parameters: { lr_g: { distribution: "log_uniform", min: 0.00001, max: 0.01 }, lr_d: { distribution: "log_uniform", min: 0.00001, max: 0.01 } },
  base,
  run_cap: 14,
  parallelism: 4,
  tpe: { n_startup_trials: 4 },
  seed: 3,
};

async function runner(i: number): Promise<{ id: string; sql: Sql; work: SweepWork }> {
  const sql = postgres(t.url, { max: 2, onnotice: () => {} }) as unknown as Sql;
  pools.push(sql);
  const id = `claimer-${i}`;
  await registerRunner(sql, { id, hostname: "test", pid: process.pid, backend: null, device: null });
  return { id, sql, work: new SweepWork(sql, id) };
}

/** Claims until no sweep is active; each trial "trains" 50-250 ms and completes with a made-up objective. */
async function claimLoop(r: { id: string; sql: Sql; work: SweepWork }, seed: number): Promise<number> {
  let claimed = 0;
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (;;) {
    const { trial, sweepsActive } = await r.work.claimNext();
    if (!trial) {
      if (!sweepsActive) return claimed;
      await new Promise((res) => setTimeout(res, 5));
      continue;
    }
    claimed++;
    await new Promise((res) => setTimeout(res, 50 + rand() * 200));
    const cfg = trial.config as { lr_g: number; lr_d: number };
    expect(await finishTrial(r.sql, trial.id, r.id, { status: "completed", objective: Math.abs(Math.log(cfg.lr_g / 0.0002)) + Math.abs(Math.log(cfg.lr_d / 0.0002)) })).toBe(true);
    await r.work.settle(trial.sweepId!);
  }
}

/** Most trials of a sweep running at once, from the claim (under the lock) and finish times. */
async function maxConcurrent(sweepId: string): Promise<number> {
  const rows = await t.sql<{ s: string; f: string }[]>`
    select extract(epoch from started_at)::text as s, extract(epoch from finished_at)::text as f from trials where sweep_id = ${sweepId}`;
  const events = rows.flatMap((r) => [[Number(r.s), 1] as const, [Number(r.f), -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

describe("claim-and-suggest with 8 runners", () => {
  it("run_cap and parallelism exactly, no duplicate grid point, both sweeps finished", async () => {
    const grid = await createSweep(t.sql, parseSweepSpec(gridSpec).spec);
    const tpe = await createSweep(t.sql, parseSweepSpec(tpeSpec).spec);
    const runners = await Promise.all(Array.from({ length: 8 }, (_, i) => runner(i)));
    const counts = await Promise.all(runners.map((r, i) => claimLoop(r, i + 1)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(24);
    // Contention was real: several runners got work.
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(3);

    const g = (await getSweep(t.sql, grid.id))!;
    expect(g.status).toBe("finished");
    expect(g.trialList.map((x) => x.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const handed = g.trialList.map((x) => JSON.stringify([(x.config as { lr_g: number }).lr_g, (x.config as { beta1: number }).beta1]));
    expect(new Set(handed).size).toBe(10);
    // Exactly the first 10 grid points (run_cap cuts the 12-point grid), in order.
    expect(handed).toEqual(gridPoints(parseSweepSpec(gridSpec).spec).map((p) => JSON.stringify([p.lr_g, p.beta1])));
    // Never above parallelism; and slots were really shared (the exact peak depends on the machine's load).
    expect(await maxConcurrent(grid.id)).toBeLessThanOrEqual(3);
    expect(await maxConcurrent(grid.id)).toBeGreaterThanOrEqual(2);

    const p = (await getSweep(t.sql, tpe.id))!;
    expect(p.status).toBe("finished");
    expect(p.trialList).toHaveLength(14);
    expect(p.trialList.every((x) => x.status === "completed" && x.attempt === 1)).toBe(true);
    expect(await maxConcurrent(tpe.id)).toBeLessThanOrEqual(4);
    expect(await maxConcurrent(tpe.id)).toBeGreaterThanOrEqual(2);
  });

  it("a stopped sweep hands out nothing, and stays stopped when its last trial ends", async () => {
    const { id } = await createSweep(t.sql, parseSweepSpec({ ...tpeSpec, name: "stopped" }).spec);
    const r = await runner(100);
    const first = await r.work.claimNext();
    expect(first.trial?.sweepId).toBe(id);
    expect(await stopSweep(t.sql, id, { cancelRunning: false })).toMatchObject({ status: "stopped", stillRunning: 1 });
    expect(await r.work.claimNext()).toEqual({ trial: null, sweepsActive: false });
    await finishTrial(r.sql, first.trial!.id, r.id, { status: "completed", objective: 1 });
    expect(await r.work.settle(id)).toBe(false);
    const s = (await getSweep(t.sql, id))!;
    expect(s.status).toBe("stopped");
    expect(s.trialList).toHaveLength(1);
  });
});
