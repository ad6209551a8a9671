/**
 * Claim-and-suggest latency (issue 5): runners ask a TPE sweep for work; each claim takes the sweep's
 * advisory lock, loads the whole history (trials + per-epoch reports) from Postgres, runs TPE and
 * inserts the claimed trial. Measured alone and with 8 runners competing (each its own connection),
 * over a sweep that already holds --history finished trials with --epochs reports each.
 *
 *   npm run bench:sweep-claim [-- --history 100,1000 --claims 160 --epochs 10]
 * Uses DATABASE_URL when set, else a throwaway embedded PostgreSQL.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { connect, createSweep, finishTrial, registerRunner, withSweepLock, insertClaimedTrial, writeMetrics, type Sql } from "@ganboard/db";
import { createTestDatabase } from "@ganboard/db/testing";
import { parseSweepSpec, randomParams, resolveTrialConfig, type SweepSpec } from "@ganboard/sweeps";
import { SweepWork } from "../src/sweep-work.ts";

const { values: args } = parseArgs({
  options: { history: { type: "string", default: "100,1000" }, claims: { type: "string", default: "160" }, epochs: { type: "string", default: "10" } },
});
const histories = args.history.split(",").map(Number);
const claimsPerRun = Number(args.claims);
const epochs = Number(args.epochs);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const fmt = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms`;

/** Synthetic objective with its optimum at lr 2e-4 / beta1 0.5, improving over epochs. */
function objective(cfg: { lr_g: number; lr_d: number; beta1: number }, epoch: number): number {
  return (Math.log(cfg.lr_g / 2e-4) ** 2 + Math.log(cfg.lr_d / 2e-4) ** 2 + (cfg.beta1 - 0.5) ** 2) * (1 + 5 / epoch) + 10 / epoch;
}

/** Reports every epoch and completes the trial, as a runner would at the end of training. */
async function complete(sql: Sql, runnerId: string, trial: { id: string; config: unknown }): Promise<void> {
  const cfg = trial.config as { lr_g: number; lr_d: number; beta1: number };
  const now = new Date();
  await writeMetrics(sql, trial.id, Array.from({ length: epochs }, (_, e) => ({ key: "swd", step: (e + 1) * 10, epoch: e + 1, value: objective(cfg, e + 1), wallTime: now })));
  await finishTrial(sql, trial.id, runnerId, { status: "completed", objective: objective(cfg, epochs), epoch: epochs, step: epochs * 10 });
}

const db = await createTestDatabase();
try {
  const input = {
    name: "bench-tpe",
    method: "tpe",
    parameters: {
      lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-2 },
      lr_d: { distribution: "log_uniform", min: 1e-5, max: 1e-2 },
      beta1: { distribution: "uniform", min: 0, max: 0.9 },
      loss: { values: ["bce", "lsgan", "hinge"] },
    },
    base: { dataset: { kind: "cartoon-faces", count: 512 }, resolution: 32, epochs },
    run_cap: 100_000,
    seed: 0,
  };
  const { spec } = parseSweepSpec(input);
  console.log(`claim-and-suggest on a TPE sweep (4 parameters, ${epochs} reports per trial); ${os.cpus().length} CPUs`);
  for (const history of histories) {
    const { id: sweepId } = await createSweep(db.sql, spec);
    await registerRunner(db.sql, { id: "seed", hostname: os.hostname(), pid: process.pid, backend: null, device: null });
    // History: finished trials with random parameters (inserted directly: faster than suggesting each).
    for (let i = 0; i < history; i++) {
      const config = resolveTrialConfig(spec as SweepSpec, randomParams(spec, i + 1_000_000));
      const trial = await withSweepLock(db.sql, sweepId, (tx) => insertClaimedTrial(tx, { sweepId, number: i + 1, config, runnerId: "seed" }));
      await complete(db.sql, "seed", trial);
    }

    // Alone: one runner, claims back to back.
    const alone: number[] = [];
    {
      const conn = connect(db.url, { max: 2 });
      await registerRunner(conn.sql, { id: "alone", hostname: os.hostname(), pid: process.pid, backend: null, device: null });
      const work = new SweepWork(conn.sql, "alone");
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const { trial } = await work.claimNext();
        alone.push(performance.now() - t0);
        await complete(conn.sql, "alone", trial!);
      }
      await conn.close();
    }

    // 8 runners competing for the same sweep.
    const latencies: number[] = [];
    let remaining = claimsPerRun;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, r) => {
        const conn = connect(db.url, { max: 2 });
        const runnerId = `bench-${r}`;
        await registerRunner(conn.sql, { id: runnerId, hostname: os.hostname(), pid: process.pid, backend: null, device: null });
        const work = new SweepWork(conn.sql, runnerId);
        while (remaining-- > 0) {
          const t = performance.now();
          const { trial } = await work.claimNext();
          latencies.push(performance.now() - t);
          await complete(conn.sql, runnerId, trial!);
        }
        await conn.close();
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    console.log(`history ${history} trials: alone ${fmt(alone)}; 8 runners competing ${fmt(latencies)} (${latencies.length} claims, ${(latencies.length / wall).toFixed(1)} claims/s)`);
  }
} finally {
  await db.drop();
}
