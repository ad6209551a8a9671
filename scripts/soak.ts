/**
 * Soak: `npm run soak -- --minutes N [--runners 4] [--kill-every 40] [--restart-every 4]`
 *
 * A dedicated embedded PostgreSQL (its own temp GANBOARD_HOME, deleted afterwards), a random-search
 * sweep of tiny trials (2–5 epochs of a 32px width-4 DCGAN), N runner processes, and faults: a random
 * runner kill -9'd (and replaced) every --kill-every seconds, the database stopped and started again
 * every --restart-every minutes, an API client reading all along. At the end the sweep is stopped,
 * the running trials finish, and every trial's points are counted against what it should have:
 * lost, duplicated and stale (a step an abandoned attempt left behind) must all be 0 (exit code 1 otherwise).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { appRouter, createCallerFactory } from "@ganboard/api";
import { connect, createSweep, maskUrl, migrate, startOrJoinEmbedded, stopSweep, type EmbeddedHandle } from "@ganboard/db";
import { parseSweepSpec } from "@ganboard/sweeps";
import { staleAttemptPoints } from "../test/reliability/helpers.ts";
import { spawnRunner, tinyConfig, type RunnerProcess } from "../test/runner/helpers.ts";

const STEP_KEYS = ["loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g"];
const STEPS_PER_EPOCH = 4; // 16 faces, batch 4

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    runners: { type: "string", default: "4" },
    "kill-every": { type: "string", default: "40" },
    "restart-every": { type: "string", default: "4" },
    seed: { type: "string" },
  },
});
const minutes = Number(args.minutes);
const runnerCount = Number(args.runners);
const killEveryMs = Number(args["kill-every"]) * 1000;
const restartEveryMs = Number(args["restart-every"]) * 60_000;
if (![minutes, runnerCount, killEveryMs, restartEveryMs].every((v) => Number.isFinite(v) && v > 0)) {
  console.error("usage: npm run soak -- --minutes N [--runners 4] [--kill-every SECONDS] [--restart-every MINUTES]");
  process.exit(2);
}
// A small seeded generator, so a run can be repeated with --seed.
let state = Number(args.seed ?? Date.now() % 2 ** 31) >>> 0;
const seedUsed = state;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (message: string) => console.log(`[${stamp()}] ${message}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const base = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-soak-"));
fs.chmodSync(base, 0o755); // as root the embedded server runs as `postgres`, which must reach it
const pgHome = path.join(base, "pg");
const runnerHome = path.join(base, "runners");
fs.mkdirSync(runnerHome);

let server: EmbeddedHandle = await startOrJoinEmbedded({ home: pgHome, handleSignals: false, initNoSync: true });
const url = server.url;
const api = connect(url, { max: 2, applicationName: "ganboard-soak-api" });
await migrate(api.sql);
const caller = createCallerFactory(appRouter)({ sql: api.sql, db: api.db, database: { maskedUrl: maskUrl(url), embedded: true } });

const { spec } = parseSweepSpec({
  name: "soak",
  method: "random",
  run_cap: 1_000_000,
  base: tinyConfig({ epochs: 3, swd_samples: 0 }),
  parameters: { epochs: { values: [2, 3, 5] }, lr_g: { distribution: "log_uniform", min: 1e-4, max: 1e-3 }, loss: { values: ["bce", "lsgan", "hinge"] } },
  seed: seedUsed % 1000,
});
const sweep = await createSweep(api.sql, spec);
log(`soak: ${minutes} min, ${runnerCount} runners, a kill every ~${killEveryMs / 1000} s, a database restart every ${restartEveryMs / 60_000} min (seed ${seedUsed}); sweep ${sweep.id}; database ${maskUrl(url)}`);

let generation = 0;
const runners: { name: string; proc: RunnerProcess }[] = [];
const start = (): void => {
  const name = `soak-${++generation}`;
  runners.push({ name, proc: spawnRunner(url, runnerHome, ["--name", name]) });
};
for (let i = 0; i < runnerCount; i++) start();

let kills = 0;
let exitedOnTheirOwn = 0;
let restarts = 0;
let apiReads = 0;
let apiFailures = 0;
let stopping = false;
const apiLoop = (async () => {
  while (!stopping) {
    try {
      await caller.sweeps.get({ id: sweep.id });
      apiReads++;
    } catch {
      apiFailures++;
    }
    await sleep(2_000);
  }
})();

const deadline = Date.now() + minutes * 60_000;
let nextKill = Date.now() + killEveryMs * (0.5 + random());
let nextRestart = Date.now() + restartEveryMs;
while (Date.now() < deadline) {
  await sleep(250);
  if (Date.now() >= nextKill) {
    nextKill = Date.now() + killEveryMs * (0.5 + random());
    const victim = runners.splice(Math.floor(random() * runners.length), 1)[0];
    const [trial] = await api.sql<{ number: number; step: number }[]>`select number, step from trials where runner_id = ${victim.name} and status = 'running'`.catch(() => []);
    victim.proc.child.kill("SIGKILL");
    await victim.proc.exited;
    kills++;
    log(`kill -9 ${victim.name}${trial ? ` (training trial #${trial.number}, step ${trial.step})` : " (idle)"}; starting a replacement`);
    start();
  }
  if (Date.now() >= nextRestart) {
    nextRestart = Date.now() + restartEveryMs;
    log("stopping the database");
    await server.release();
    await sleep(2_000 + random() * 3_000);
    server = await startOrJoinEmbedded({ home: pgHome, handleSignals: false });
    restarts++;
    if (server.url !== url) log(`WARNING: the database came back on another URL (${maskUrl(server.url)}); runners cannot follow`);
    log("database started again");
  }
  for (const r of [...runners]) {
    if (r.proc.child.exitCode === null && r.proc.child.signalCode === null) continue;
    exitedOnTheirOwn++;
    log(`runner ${r.name} exited on its own (code ${r.proc.child.exitCode}); last output:\n${r.proc.output().slice(-1500)}`);
    runners.splice(runners.indexOf(r), 1);
    start();
  }
}

log("time is up: stopping the sweep and letting running trials finish");
await stopSweep(api.sql, sweep.id, { cancelRunning: false });
const drainUntil = Date.now() + 5 * 60_000;
while (Date.now() < drainUntil) {
  const [row] = await api.sql<{ n: number }[]>`select count(*)::int as n from trials where status in ('queued', 'running', 'cancelling')`;
  if (row.n === 0) break;
  await sleep(1_000);
}
stopping = true;
await apiLoop;
for (const r of runners) r.proc.child.kill("SIGTERM");
await Promise.all(runners.map((r) => r.proc.exited));

// Accounting: every trial's per-step points against what its epochs call for.
const trials = await api.sql<{ id: string; number: number; status: string; attempt: number; error: string | null; epochs: number; last_step: number }[]>`
  select id, number, status, attempt, error, (config->>'epochs')::int as epochs, step as last_step from trials where sweep_id = ${sweep.id} order by number`;
const points = await api.sql<{ trial_id: string; n: number; distinct_points: number; max_step: number | null }[]>`
  select trial_id, count(*)::int as n, count(distinct (key, step))::int as distinct_points, max(step) as max_step
  from metrics where trial_id in (select id from trials where sweep_id = ${sweep.id}) and key = any(${STEP_KEYS}) group by trial_id`;
const grids = await api.sql<{ trial_id: string; n: number }[]>`
  select trial_id, count(*)::int as n from samples where trial_id in (select id from trials where sweep_id = ${sweep.id}) group by trial_id`;
const byTrial = new Map(points.map((p) => [p.trial_id, p]));
const gridsByTrial = new Map(grids.map((g) => [g.trial_id, g.n]));
let expected = 0;
let written = 0;
let lost = 0;
let duplicated = 0;
let missingGrids = 0;
const problems: string[] = [];
for (const t of trials) {
  const p = byTrial.get(t.id) ?? { n: 0, distinct_points: 0, max_step: 0 };
  written += p.n;
  duplicated += p.n - p.distinct_points;
  // Completed: all of its epochs. Otherwise: every step up to the last one it reached, without gaps.
  const steps = t.status === "completed" ? t.epochs * STEPS_PER_EPOCH : (p.max_step ?? 0);
  const want = steps * STEP_KEYS.length;
  expected += want;
  if (p.distinct_points < want) {
    lost += want - p.distinct_points;
    problems.push(`trial #${t.number} (${t.status}): ${p.distinct_points} of ${want} points`);
  }
  if (t.status === "completed" && (gridsByTrial.get(t.id) ?? 0) !== t.epochs) {
    missingGrids += t.epochs - (gridsByTrial.get(t.id) ?? 0);
    problems.push(`trial #${t.number}: ${gridsByTrial.get(t.id) ?? 0} of ${t.epochs} grids`);
  }
}
// Two rows for one step cannot exist (primary key); a step whose value an abandoned attempt left behind can.
const stale = await staleAttemptPoints(api.sql, trials.map((t) => t.id), STEP_KEYS);
if (stale > 0) problems.push(`${stale} points out of time order: left by an abandoned attempt`);
const count = (status: string) => trials.filter((t) => t.status === status).length;
const attempts = trials.reduce<Record<number, number>>((acc, t) => ((acc[t.attempt] = (acc[t.attempt] ?? 0) + 1), acc), {});
await api.close();
await server.release();
fs.rmSync(base, { recursive: true, force: true });

console.log("");
console.log(`soak finished after ${minutes} min: ${kills} runner kills, ${restarts} database restarts, ${exitedOnTheirOwn} runners exited on their own, API reads ${apiReads} ok / ${apiFailures} failed (during restarts)`);
console.log(`trials: ${count("completed")} completed, ${count("failed")} failed, ${count("cancelled")} cancelled, ${trials.length} in all; attempts ${JSON.stringify(attempts)}`);
for (const t of trials.filter((x) => x.status === "failed")) console.log(`  failed trial #${t.number}: ${t.error}`);
console.log(`points written ${written} vs expected ${expected}; lost ${lost} / duplicated ${duplicated} (two rows for a step) / stale ${stale} (an abandoned attempt's step surviving); missing grids ${missingGrids}`);
for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
process.exit(lost === 0 && duplicated === 0 && stale === 0 && missingGrids === 0 && count("failed") === 0 && exitedOnTheirOwn === 0 ? 0 : 1);
