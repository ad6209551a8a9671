import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { claimTrial, enqueueTrial, finishTrial, registerRunner, writeMetrics } from "@ganboard/db";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCallerFactory } from "./index.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const quickstart: unknown = parse(fs.readFileSync(path.join(repoRoot, "examples/sweeps/quickstart.yaml"), "utf8"));

describe("sweeps router (real Postgres)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  const caller = () =>
    createCallerFactory(appRouter)({
      sql: database.sql,
      db: database.db,
      database: { maskedUrl: "postgres://x:***@127.0.0.1:1/x", embedded: true },
    });
  const sweepCount = async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from sweeps`)[0].n;

  it("refuses an invalid spec with field issues and creates nothing", async () => {
    const bad = { ...(quickstart as object), run_cap: 0, parameters: { lr_g: { distribution: "log_uniform", min: 0.1, max: 0.01 } } };
    const result = await caller().sweeps.create({ spec: bad });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual(
      expect.arrayContaining([
        { path: "run_cap", message: "must be ≥ 1 (got 0)" },
        { path: "parameters.lr_g.min", message: "must be < max (got min 0.1, max 0.01)" },
      ]),
    );
    expect(await sweepCount()).toBe(0);
    expect(await caller().sweeps.list()).toEqual([]);
  });

  it("creates a sweep, lists it with progress, best result and history, and shows its trials", async () => {
    const created = await caller().sweeps.create({ spec: quickstart });
    expect(created).toMatchObject({ ok: true });
    if (!created.ok) return;

    // Three trials: two finish (swd 120 then 90), one keeps running.
    await registerRunner(database.sql, { id: "r1", hostname: "box", pid: 1, backend: "wasm", device: "cpu" });
    const ids: string[] = [];
    for (const lr of [1e-4, 2e-4, 3e-4]) ids.push((await enqueueTrial(database.sql, { sweepId: created.id, config: { lr_g: lr, lr_d: 1e-4 } })).id);
    for (const objective of [120, 90]) {
      const claimed = await claimTrial(database.sql, "r1");
      await writeMetrics(database.sql, claimed!.id, [
        { key: "swd", step: 3, epoch: 1, value: objective + 50, wallTime: new Date() },
        { key: "swd", step: 6, epoch: 2, value: objective, wallTime: new Date() },
      ]);
      await finishTrial(database.sql, claimed!.id, "r1", { status: "completed", objective });
    }
    await claimTrial(database.sql, "r1");

    const [listed] = await caller().sweeps.list();
    expect(listed).toMatchObject({ id: created.id, name: "quickstart-cartoon-lr", method: "random", status: "running", runCap: 4, metric: { name: "swd", goal: "minimize" } });
    expect(listed.trials).toMatchObject({ total: 3, completed: 2, running: 1, queued: 0 });
    expect(listed.best).toMatchObject({ trialId: ids[1], objective: 90 });
    expect(listed.results).toEqual([120, 90]);

    const sweep = await caller().sweeps.get({ id: created.id });
    expect(sweep.spec?.parameters.lr_g).toEqual({ distribution: "log_uniform", min: 0.00005, max: 0.001 });
    expect(sweep.trials.map((t) => [t.number, t.status, t.objective])).toEqual([
      [1, "completed", 120],
      [2, "completed", 90],
      [3, "running", null],
    ]);
    expect(sweep.trials[0].config).toEqual({ lr_g: 1e-4, lr_d: 1e-4 });
    expect(typeof sweep.trials[0].finishedAt).toBe("string");
    expect(sweep.epochObjectives).toEqual(
      expect.arrayContaining([
        { trialId: ids[0], epoch: 1, value: 170 },
        { trialId: ids[0], epoch: 2, value: 120 },
      ]),
    );
    expect(sweep.epochObjectives).toHaveLength(4);

    const stopped = await caller().sweeps.stop({ id: created.id, cancelRunning: true });
    expect(stopped).toMatchObject({ status: "stopped", cancellingRunning: 1 });
    expect((await caller().sweeps.get({ id: created.id })).status).toBe("stopped");
  });

  it("says clearly when an id is not a UUID or names no sweep", async () => {
    await expect(caller().sweeps.get({ id: "'; drop table sweeps; --" })).rejects.toThrow(/not a sweep id: expected a UUID/);
    await expect(caller().sweeps.get({ id: "00000000-0000-4000-8000-000000000000" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller().sweeps.stop({ id: "00000000-0000-4000-8000-000000000000" })).rejects.toThrow(/nothing was stopped/);
  });
});
