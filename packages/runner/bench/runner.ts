/**
 * Runner figures (issue 4): metric ingest rate into Postgres against COPY (the fastest bulk path,
 * measured in the same run), claim latency with 8 runners competing, and the share of a real tiny
 * trial's time the training loop spends on recording.
 *
 *   npm run bench:runner [-- --points 200000 --repeats 5 --trials 400]
 * Uses DATABASE_URL when set, else a throwaway embedded PostgreSQL.
 */
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { parseArgs } from "node:util";
import { claimTrial, connect, enqueueTrial, registerRunner, writeMetrics, type MetricPoint } from "@ganboard/db";
import { createTestDatabase } from "@ganboard/db/testing";
import { Runner, type TrialStats } from "../src/index.ts";

const { values: args } = parseArgs({
  options: { points: { type: "string", default: "200000" }, repeats: { type: "string", default: "5" }, trials: { type: "string", default: "400" } },
});
const totalPoints = Number(args.points);
const repeats = Number(args.repeats);
const claimTrials = Number(args.trials);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const db = await createTestDatabase();
const { sql } = db;
try {
  // 1. Ingest: the runner's path (unnest upsert, 5000 points a batch) vs COPY of the same rows.
  const KEYS = ["loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g"];
  const makePoints = (n: number): MetricPoint[] =>
    Array.from({ length: n }, (_, i) => ({ key: KEYS[i % KEYS.length], step: Math.floor(i / KEYS.length) + 1, epoch: 1, value: Math.random(), wallTime: new Date() }));
  const points = makePoints(totalPoints);
  const ours: number[] = [];
  const copy: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const { id } = await enqueueTrial(sql, { config: {} });
    let t0 = performance.now();
    for (let i = 0; i < points.length; i += 5000) await writeMetrics(sql, id, points.slice(i, i + 5000));
    ours.push(totalPoints / ((performance.now() - t0) / 1000));

    const other = await enqueueTrial(sql, { config: {} });
    t0 = performance.now();
    const writable = await sql`copy metrics (trial_id, key, step, epoch, value, wall_time) from stdin`.writable();
    const now = new Date().toISOString();
    for (let i = 0; i < points.length; i += 5000) {
      let chunk = "";
      for (const p of points.slice(i, i + 5000)) chunk += `${other.id}\t${p.key}\t${p.step}\t1\t${p.value}\t${now}\n`;
      if (!writable.write(chunk)) await new Promise((r) => writable.once("drain", r));
    }
    await new Promise<void>((resolve, reject) => writable.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await new Promise((r) => setTimeout(r, 50));
    copy.push(totalPoints / ((performance.now() - t0) / 1000));
  }
  console.log(`ingest: ${Math.round(median(ours))} points/s (median of ${repeats}; runs ${ours.map(Math.round).join(", ")})`);
  console.log(`ingest reference COPY: ${Math.round(median(copy))} points/s; ratio ${(median(ours) / median(copy)).toFixed(2)}`);

  // 2. Claim latency: 8 runners, each on its own connection, racing for the same queue.
  for (let i = 0; i < claimTrials; i++) await enqueueTrial(sql, { config: {} });
  const latencies: number[] = [];
  const claimed = new Set<string>();
  await Promise.all(
    Array.from({ length: 8 }, async (_, r) => {
      const conn = connect(db.url, { max: 1 });
      const runnerId = `bench-${r}`;
      await registerRunner(conn.sql, { id: runnerId, hostname: os.hostname(), pid: process.pid, backend: null, device: null });
      for (;;) {
        const t0 = performance.now();
        const trial = await claimTrial(conn.sql, runnerId);
        if (!trial) break;
        latencies.push(performance.now() - t0);
        if (claimed.has(trial.id)) throw new Error(`trial ${trial.id} claimed twice`);
        claimed.add(trial.id);
      }
      await conn.close();
    }),
  );
  console.log(`claim latency, 8 runners, ${claimed.size} trials: p50 ${median(latencies).toFixed(2)} ms, p95 ${quantile(latencies, 0.95).toFixed(2)} ms`);

  // 3. Recording overhead on a real trial (tiny model, wasm): time the training loop spent in the runner's handlers.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-bench-"));
  process.env.GANBOARD_HOME = home;
  const trial = await enqueueTrial(sql, {
    config: { dataset: { kind: "cartoon-faces", count: 256, seed: 0 }, resolution: 32, epochs: 2, batch_size: 16, ngf: 16, ndf: 16, swd_samples: 0, backend: "wasm" },
  });
  let stats: TrialStats | undefined;
  const runner = new Runner({ sql, databaseUrl: db.url, onlyTrialId: trial.id, once: true, onEvent: (e) => e.type === "trial-ended" && (stats = e.stats) });
  await runner.run();
  if (!stats) throw new Error("the trial did not finish");
  console.log(
    `recording: ${stats.steps} steps, ${stats.points} points; per-step recording ${(stats.stepRecordingMs / stats.steps).toFixed(3)} ms of ${(stats.wallMs / stats.steps).toFixed(1)} ms a step ` +
      `(${((100 * stats.stepRecordingMs) / stats.wallMs).toFixed(2)}%); all recording incl. grids/checkpoints ${((100 * stats.recordingMs) / stats.wallMs).toFixed(2)}%; ` +
      `background point writes ${stats.pointWriteMs.toFixed(0)} ms`,
  );
  fs.rmSync(home, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      ingest_points_per_s: Math.round(median(ours)),
      copy_points_per_s: Math.round(median(copy)),
      ingest_ratio_vs_copy: Number((median(ours) / median(copy)).toFixed(3)),
      claim_p50_ms: Number(median(latencies).toFixed(2)),
      claim_p95_ms: Number(quantile(latencies, 0.95).toFixed(2)),
      step_recording_fraction: Number((stats.stepRecordingMs / stats.wallMs).toFixed(5)),
      recording_fraction: Number((stats.recordingMs / stats.wallMs).toFixed(5)),
    }),
  );
} finally {
  await db.drop();
  process.exit(0);
}
