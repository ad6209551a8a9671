/**
 * Faults while real runner processes train tiny real models, each test counting what was logged:
 * - a runner kill -9'd at a random moment, five times in a row on one trial;
 * - the PostgreSQL server restarted (a dedicated embedded one: the shared test server must stay up
 *   for the other test files) while two runners train and an API client reads;
 * - a checkpoint write that the database refuses (disk full).
 * Nothing may be lost or duplicated: every metric key has each step exactly once, 1..last, and
 * every epoch has its sample grid.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCallerFactory } from "@ganboard/api";
import { connect, enqueueTrial, getTrial, maskUrl, migrate, startOrJoinEmbedded, type Sql } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { killLeftoverRunners, spawnRunner, tempHome, tinyConfig, waitFor, type RunnerProcess } from "../runner/helpers.ts";
import { gridEpochs, range, staleAttemptPoints, stepSeries } from "./helpers.ts";

const STEP_KEYS = ["loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g"];
const STEPS_PER_EPOCH = 4; // tinyConfig: 16 faces, batch 4

/** Every step of every per-step key exactly once from 1 to the last, and a grid for every epoch. */
async function expectComplete(sql: Sql, trialId: string, epochs: number): Promise<void> {
  const steps = epochs * STEPS_PER_EPOCH;
  for (const key of STEP_KEYS) expect(await stepSeries(sql, trialId, key), key).toEqual({ n: steps, distinct_steps: steps, min: 1, max: steps });
  expect(await gridEpochs(sql, trialId)).toEqual(range(1, epochs));
}

/** The exit code, or a failure carrying the runner's output when it is still running after ms. */
async function exitWithin(runner: RunnerProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`runner still running after ${ms} ms:\n${runner.output().slice(-4000)}`)), ms);
  });
  try {
    return await Promise.race([runner.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const home = tempHome();
afterEach(killLeftoverRunners);
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("on the shared test server", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("kill -9 at a random moment, 5 times in a row on one trial: it completes, every attempt recorded, steps unique and gap-free, a grid per epoch", async () => {
    const epochs = 120;
    const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs }) });
    // Six runners wait idle; each kill is picked up by one of the others as soon as the trial goes
    // stale (within two heartbeat periods), with no process start in between.
    const runners = new Map<string, RunnerProcess>(range(1, 6).map((i) => [`r${i}`, spawnRunner(t.url, home, ["--max-trials", "1", "--name", `r${i}`])] as const));
    const claimers: string[] = [];
    const moments: string[] = [];
    const maxStep = async () => (await stepSeries(t.sql, id)).max ?? 0;
    for (let kill = 1; kill <= 5; kill++) {
      const claimer = await waitFor(`attempt ${kill} to be claimed`, async () => {
        const trial = await getTrial(t.sql, id);
        return trial?.attempt === kill && trial.status === "running" && trial.runnerId;
      }, 90_000, 20);
      claimers.push(claimer);
      // The first kill lands anywhere in start-up (checkpoint load, dataset, backend); the others
      // once this attempt has written steps of its own: mid-epoch, mid-grid or mid-checkpoint.
      if (kill > 1) {
        const from = await maxStep();
        await waitFor(`attempt ${kill} to train`, async () => (await maxStep()) > from, 60_000, 20);
      }
      const delay = Math.round(Math.random() * (kill === 1 ? 1_500 : 1_000));
      await new Promise((r) => setTimeout(r, delay));
      const victim = runners.get(claimer)!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      moments.push(`${claimer} +${delay} ms at step ${await maxStep()}`);
      expect((await getTrial(t.sql, id))?.status, `kills: ${moments.join("; ")}: the trial must not have finished yet`).toBe("running");
    }
    const finisher = await waitFor("attempt 6 to be claimed", async () => {
      const trial = await getTrial(t.sql, id);
      return trial?.attempt === 6 && trial.runnerId;
    }, 90_000, 20);
    expect(await runners.get(finisher)!.exited, `${runners.get(finisher)!.output()}\nkills: ${moments.join("; ")}`).toBe(0);

    const trial = await getTrial(t.sql, id);
    expect(trial?.status).toBe("completed");
    expect(trial?.attempt).toBe(6);
    expect([trial?.epoch, trial?.step]).toEqual([epochs, epochs * STEPS_PER_EPOCH]);
    // Log lines are written in batches, so a kill can take the last second or two of them along;
    // those that reached the database name each attempt with the runner that claimed it, in order.
    const attempts = await t.sql<{ message: string }[]>`
      select message from trial_logs where trial_id = ${id} and message ~ '^attempt \\d+ on ' order by id`;
    const logged = attempts.map((a) => /^attempt (\d+) on (\S+?):?\s/.exec(a.message)!.slice(1, 3));
    expect(logged.at(-1)).toEqual(["6", finisher]);
    for (const [n, runner] of logged) expect(runner).toBe([...claimers, finisher][Number(n) - 1]);
    expect(logged.map(([n]) => Number(n))).toEqual([...new Set(logged.map(([n]) => Number(n)))].sort((a, b) => a - b));
    await expectComplete(t.sql, id, epochs);
    // No step kept a value from one of the five killed attempts past the attempt that resumed it.
    expect(await staleAttemptPoints(t.sql, [id], STEP_KEYS)).toBe(0);
  });

  it("a checkpoint write the database refuses (disk full): that trial fails with the reason, the runner goes on to the next", async () => {
    const doomed = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 3 }) });
    const next = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 1, seed: 1 }) });
    // What Postgres says when its disk fills: SQLSTATE 53100, here for this trial's checkpoints only.
    await t.sql.unsafe(`
      create function refuse_checkpoint() returns trigger language plpgsql as $$
      begin
        if new.trial_id = '${doomed.id}' then
          raise exception 'could not extend file "base/16384/24576": No space left on device' using errcode = '53100';
        end if;
        return new;
      end $$;
      create trigger refuse_checkpoint before insert or update on checkpoints for each row execute function refuse_checkpoint();`);
    try {
      const runner = spawnRunner(t.url, home, ["--once", "--name", "full-disk"]);
      expect(await runner.exited, runner.output()).toBe(0);
      const failed = await getTrial(t.sql, doomed.id);
      expect(failed?.status).toBe("failed");
      expect(failed?.error).toMatch(/No space left on device/);
      expect(runner.output()).toMatch(/trial #\d+ failed: .*No space left on device/);
      const [checkpoints] = await t.sql<{ n: number }[]>`select count(*)::int as n from checkpoints where trial_id = ${doomed.id}`;
      expect(checkpoints.n).toBe(0);
      // The points of the epoch before the refused checkpoint are kept, each step once.
      expect(await stepSeries(t.sql, doomed.id)).toEqual({ n: 4, distinct_steps: 4, min: 1, max: 4 });
      expect((await getTrial(t.sql, next.id))?.status).toBe("completed");
      await expectComplete(t.sql, next.id, 1);
    } finally {
      await t.sql.unsafe(`drop trigger refuse_checkpoint on checkpoints; drop function refuse_checkpoint();`);
    }
  });
});

describe("on a dedicated embedded PostgreSQL", () => {
  const pgHome = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-restart-test-")), "home");
  fs.chmodSync(path.dirname(pgHome), 0o755); // as root the server runs as `postgres`, which must reach it
  afterAll(() => fs.rmSync(path.dirname(pgHome), { recursive: true, force: true }));

  it("the server restarted while 2 runners train and the API reads: all recover by themselves, 0 points lost", async () => {
    let server = await startOrJoinEmbedded({ home: pgHome, handleSignals: false, initNoSync: true });
    const url = server.url;
    const api = connect(url, { max: 2, applicationName: "ganboard-test-api" });
    const runners: RunnerProcess[] = [];
    try {
      await migrate(api.sql);
      const caller = createCallerFactory(appRouter)({ sql: api.sql, db: api.db, database: { maskedUrl: maskUrl(url), embedded: true } });
      const epochs = 25;
      const ids = [
        (await enqueueTrial(api.sql, { config: tinyConfig({ epochs, seed: 1 }) })).id,
        (await enqueueTrial(api.sql, { config: tinyConfig({ epochs, seed: 2 }) })).id,
      ];
      runners.push(...[1, 2].map((i) => spawnRunner(url, home, ["--once", "--name", `survivor-${i}`])));
      await waitFor("both trials to be training", async () => {
        const rows = await api.sql<{ n: number }[]>`select count(distinct trial_id)::int as n from metrics where key = 'loss_d'`;
        return rows[0].n === 2;
      }, 90_000);
      expect((await caller.status()).database.migrations.pending).toBe(0);

      await server.release(); // a clean stop: every session is terminated (57P01)
      // A runner started while the server is down waits for it rather than exiting.
      const late = spawnRunner(url, home, ["--once", "--name", "late"]);
      await waitFor("the late runner to wait for the database", async () => /database unavailable \(/.test(late.output()), 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      server = await startOrJoinEmbedded({ home: pgHome, handleSignals: false });
      expect(server.url).toBe(url); // same port, so the runners' URL still points at it

      // The API's pool reconnects on its own: the next read succeeds (after at most one failed query).
      await waitFor("the API to read again", async () => (await caller.status().catch(() => null))?.database.migrations.pending === 0, 30_000, 200);
      expect(await exitWithin(late, 60_000), late.output()).toBe(0);
      expect(late.output()).toMatch(/runner late ready/);
      const codes = await Promise.all(runners.map((r) => exitWithin(r, 60_000)));
      expect(codes, runners.map((r) => r.output()).join("\n----\n")).toEqual([0, 0]);
      expect(runners.map((r) => r.output()).join("\n")).toMatch(/database unavailable while/);
      for (const id of ids) {
        expect((await getTrial(api.sql, id))?.status).toBe("completed");
        await expectComplete(api.sql, id, epochs);
      }
    } finally {
      await killLeftoverRunners();
      await api.close();
      await server.release();
    }
  });
});
