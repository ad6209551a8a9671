/**
 * Runners coordinating through Postgres alone, as real processes training tiny real models:
 * every trial runs exactly once, a killed runner's trial is resumed from its checkpoint with no
 * duplicated or missing steps, cancel and SIGTERM stop promptly, a trial whose runners keep dying
 * gives up after GANBOARD_MAX_ATTEMPTS, and a bad or diverging config fails only itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cancelTrial, enqueueTrial, getTrial } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { killLeftoverRunners, spawnRunner, tempHome, tinyConfig, waitFor } from "./helpers.ts";

let t: TestDatabase;
const home = tempHome();

beforeAll(async () => {
  t = await createTestDatabase();
});
afterEach(killLeftoverRunners);
afterAll(async () => {
  await t?.drop();
});

async function stepSeries(trialId: string, key = "loss_d") {
  const [row] = await t.sql<{ n: number; distinct_steps: number; min: number; max: number }[]>`
    select count(*)::int as n, count(distinct step)::int as distinct_steps, min(step) as min, max(step) as max
    from metrics where trial_id = ${trialId} and key = ${key}`;
  return row;
}

async function statusOf(id: string) {
  return (await getTrial(t.sql, id))?.status;
}

describe("ganboard runner", () => {
  it("3 runners share 10 queued trials: each runs exactly once and completes", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 1, seed: i }) })).id);
    const runners = [0, 1, 2].map((i) => spawnRunner(t.url, home, ["--once", "--name", `r${i}`]));
    const codes = await Promise.all(runners.map((r) => r.exited));
    expect(codes, runners.map((r) => r.output()).join("\n----\n")).toEqual([0, 0, 0]);

    const rows = await t.sql<{ id: string; status: string; attempt: number; runner_id: string | null; backend: string; epoch: number; step: number }[]>`
      select id, status, attempt, runner_id, backend, epoch, step from trials where id = any(${ids}::uuid[])`;
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.status).toBe("completed");
      expect([row.epoch, row.step]).toEqual([1, 4]);
      expect(row.attempt).toBe(1);
      expect(row.backend).toBe("wasm");
      expect(await stepSeries(row.id)).toEqual({ n: 4, distinct_steps: 4, min: 1, max: 4 });
    }
    // Each trial was trained by exactly one runner: its log says which, once.
    const starts = await t.sql<{ trial_id: string; n: number }[]>`
      select trial_id, count(*)::int as n from trial_logs where trial_id = any(${ids}::uuid[]) and message like 'attempt 1 on %' group by trial_id`;
    expect(starts.map((s) => s.n)).toEqual(Array(10).fill(1));
    const [samples] = await t.sql<{ n: number }[]>`select count(*)::int as n from samples where trial_id = any(${ids}::uuid[])`;
    expect(samples.n).toBe(10);
    const [offline] = await t.sql<{ n: number }[]>`select count(*)::int as n from runners where id in ('r0','r1','r2') and stopped_at is not null`;
    expect(offline.n).toBe(3);
  });

  it("kill -9 mid-trial: requeued within two heartbeat periods, resumed from the checkpoint (attempt 2), every step exactly once", async () => {
    // Two idle runners; whichever claims the trial is the victim, the other one rescues it. (Starting
    // the rescuer only after the claim let a fast machine finish the whole trial before it was up.)
    const epochs = 60;
    const a = spawnRunner(t.url, home, ["--max-trials", "1", "--name", "runner-a"]);
    const b = spawnRunner(t.url, home, ["--max-trials", "1", "--name", "runner-b"]);
    await waitFor("both runners to be idle", async () => /waiting for queued trials/.test(a.output()) && /waiting for queued trials/.test(b.output()), 60_000);
    const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs }) });
    const claimer = await waitFor("a runner to claim the trial", async () => (await getTrial(t.sql, id))?.runnerId);
    const [first, second] = claimer === "runner-a" ? [a, b] : [b, a];
    // Kill mid-way, once a checkpoint exists.
    await waitFor("a checkpoint of the running trial", async () => {
      const [row] = await t.sql<{ n: number }[]>`select count(*)::int as n from checkpoints where trial_id = ${id}`;
      return row.n > 0;
    }, 60_000, 20);
    expect(await statusOf(id)).toBe("running");
    first.child.kill("SIGKILL");
    await first.exited;
    const killedAt = Date.now();
    await waitFor("the trial to be requeued and reclaimed", async () => ((await getTrial(t.sql, id))?.attempt ?? 0) >= 2, 30_000, 20);
    // Heartbeat 1 s: stale after 1.75 periods, noticed within a quarter period by the idle runner, so
    // requeued (and here reclaimed at once) within two periods; plus 1 s for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 1_000);
    expect(await second.exited, second.output()).toBe(0);

    const trial = await getTrial(t.sql, id);
    expect(trial?.status).toBe("completed");
    expect(trial?.attempt).toBe(2);
    expect(second.output()).toMatch(/resuming at step \d+/);
    const steps = epochs * 4;
    for (const key of ["loss_d", "loss_g", "d_real", "grad_norm_g"]) expect(await stepSeries(id, key)).toEqual({ n: steps, distinct_steps: steps, min: 1, max: steps });
    const [grids] = await t.sql<{ n: number }[]>`select count(*)::int as n from samples where trial_id = ${id}`;
    expect(grids.n).toBe(epochs);
  });

  it("cancel mid-epoch ends the trial cancelled promptly, with a checkpoint", async () => {
    const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 200 }) });
    const runner = spawnRunner(t.url, home, ["--once", "--name", "canceller"]);
    await waitFor("training steps", async () => (await stepSeries(id)).n > 2);
    const asked = Date.now();
    expect(await cancelTrial(t.sql, id)).toBe("cancelling");
    await waitFor("cancelled", async () => (await statusOf(id)) === "cancelled", 20_000, 50);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(await runner.exited, runner.output()).toBe(0);
    const [ckpt] = await t.sql<{ n: number }[]>`select count(*)::int as n from checkpoints where trial_id = ${id} and reason = 'stop'`;
    expect(ckpt.n).toBe(1);
    // A final grid shows where it got to, even mid-epoch: written at (or after) the step it stopped at.
    const [stop] = await t.sql<{ step: number }[]>`select step from checkpoints where trial_id = ${id} and reason = 'stop'`;
    expect(stop.step).toBeGreaterThan(2);
    expect((await getTrial(t.sql, id))?.step).toBe(stop.step);
    const [grid] = await t.sql<{ n: number }[]>`select count(*)::int as n from samples where trial_id = ${id} and step >= ${stop.step}`;
    expect(grid.n).toBe(1);
  });

  it("SIGTERM puts the trial back in the queue and exits 0; a later runner finishes it", async () => {
    const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 5 }) });
    const first = spawnRunner(t.url, home, ["--name", "terminated"]);
    await waitFor("training steps", async () => (await stepSeries(id)).n > 2);
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    expect(await statusOf(id)).toBe("queued");
    const [runner] = await t.sql<{ stopped: boolean }[]>`select stopped_at is not null as stopped from runners where id = 'terminated'`;
    expect(runner.stopped).toBe(true);
    // Read before the second runner's checkpoints replace it (only the newest three are kept).
    const stops = await t.sql<{ epoch: number; step: number }[]>`select epoch, step from checkpoints where trial_id = ${id} and reason = 'stop'`;
    expect(stops).toHaveLength(1);
    const [stop] = stops;
    expect(stop.step).toBeGreaterThan(2);

    const second = spawnRunner(t.url, home, ["--once", "--name", "finisher"]);
    expect(await second.exited, second.output()).toBe(0);
    const trial = await getTrial(t.sql, id);
    expect(trial?.status).toBe("completed");
    expect(trial?.attempt).toBe(2);
    expect(await stepSeries(id)).toEqual({ n: 20, distinct_steps: 20, min: 1, max: 20 });
    // Attempt 2 resumed from the stop checkpoint, not from step 0.
    expect(second.output()).toContain(`attempt 2, resuming at step ${stop.step}`);
    const starts = await t.sql<{ message: string }[]>`select message from trial_logs where trial_id = ${id} and message like 'attempt 2 on %' order by id`;
    expect(starts.map((l) => l.message)).toEqual([`attempt 2 on finisher: resuming from the checkpoint at epoch ${stop.epoch}, step ${stop.step}`]);
  });

  it("GANBOARD_MAX_ATTEMPTS=2: a trial whose runner is killed -9 at both attempts fails, saying it gave up", async () => {
    // Three idle runners: two victims, and one that notices the second death.
    const names = ["ma-0", "ma-1", "ma-2"];
    const runners = new Map(names.map((name) => [name, spawnRunner(t.url, home, ["--name", name], { GANBOARD_MAX_ATTEMPTS: "2" })]));
    await waitFor("the runners to be idle", async () => [...runners.values()].every((r) => /waiting for queued trials/.test(r.output())), 60_000);
    const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 60 }) });
    for (const attempt of [1, 2]) {
      const owner = await waitFor(`attempt ${attempt} to be claimed`, async () => {
        const trial = await getTrial(t.sql, id);
        return trial?.status === "running" && trial.attempt === attempt && trial.runnerId;
      }, 20_000, 20);
      const victim = runners.get(owner)!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      runners.delete(owner);
    }
    await waitFor("the trial to fail", async () => (await statusOf(id)) === "failed", 15_000, 50);
    const trial = await getTrial(t.sql, id);
    expect(trial?.attempt).toBe(2);
    expect(trial?.error).toBe("gave up after 2 attempts: the last runner stopped sending heartbeats");
    expect(trial?.finishedAt).not.toBeNull();
    // The survivor never trained it and stops cleanly.
    const [survivor] = [...runners.values()];
    survivor.child.kill("SIGTERM");
    expect(await survivor.exited, survivor.output()).toBe(0);
    expect(survivor.output()).not.toMatch(/attempt 3/);
  });

  it("a diverging config (NaN) fails that trial with the divergence; the same runner completes the next one", async () => {
    // Hinge loss at lr 1 with beta2 0 and 4 D steps per G step: NaN at step 1 for seed 0 (checked on
    // the wasm and cpu backends; divergence at other seeds is chaotic, so the seed is pinned).
    const diverging = await enqueueTrial(t.sql, {
      config: tinyConfig({ epochs: 1, batch_size: 1, loss: "hinge", lr_g: 1, lr_d: 1, beta1: 0.999, beta2: 0, d_steps: 4, seed: 0 }),
    });
    const next = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 1 }) });
    const runner = spawnRunner(t.url, home, ["--once", "--name", "diverger"]);
    expect(await runner.exited, runner.output()).toBe(0);
    const failed = await getTrial(t.sql, diverging.id);
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toMatch(/^Training diverged at step \d+: (loss_d|loss_g|grad_norm_d|grad_norm_g) is (NaN|-?Infinity) \(try a lower learning rate\)$/);
    expect(failed?.runnerId).toBe("diverger");
    expect(runner.output()).toMatch(/trial #\d+ failed: Training diverged at step/);
    const completed = await getTrial(t.sql, next.id);
    expect(completed).toMatchObject({ status: "completed", runnerId: "diverger", attempt: 1 });
    expect(await stepSeries(next.id)).toEqual({ n: 4, distinct_steps: 4, min: 1, max: 4 });
  });

  it("an invalid config fails that trial with a readable error; the runner goes on to the next", async () => {
    const bad = await enqueueTrial(t.sql, { config: { ...tinyConfig(), resolution: 48, batch_size: 0 } });
    const good = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 1 }) });
    const runner = spawnRunner(t.url, home, ["--once", "--name", "picky"]);
    expect(await runner.exited, runner.output()).toBe(0);
    const failed = await getTrial(t.sql, bad.id);
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toMatch(/resolution: resolution must be 32, 64 or 128/);
    expect(failed?.error).toMatch(/batch_size/);
    expect(await statusOf(good.id)).toBe("completed");
  });
});
