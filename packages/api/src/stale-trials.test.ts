import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { claimTrial, connect, enqueueTrial, getTrial, registerRunner, releaseTrial, TRIAL_QUEUE_CHANNEL, type Sql } from "@ganboard/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCallerFactory, type ApiContext } from "./index.ts";
import { requeueStaleTrialsThrottled, STALE_TRIAL_CHECK_INTERVAL_MS } from "./lib/stale-trials.ts";

// No runner process anywhere: only the dashboard's reads can notice that a runner died.
describe("the dashboard requeues trials of dead runners (real Postgres)", () => {
  let database: TestDatabase;
  const savedMaxAttempts = process.env.GANBOARD_MAX_ATTEMPTS;
  beforeAll(async () => {
    // The runners' own setting: the dashboard must read the same one.
    process.env.GANBOARD_MAX_ATTEMPTS = "2";
    database = await createTestDatabase();
    await registerRunner(database.sql, { id: "dead-box", hostname: "dead-box", pid: 1, backend: "wasm", device: "cpu" });
    await registerRunner(database.sql, { id: "live-box", hostname: "live-box", pid: 2, backend: "wasm", device: "cpu" });
  });
  afterAll(async () => {
    if (savedMaxAttempts === undefined) delete process.env.GANBOARD_MAX_ATTEMPTS;
    else process.env.GANBOARD_MAX_ATTEMPTS = savedMaxAttempts;
    await database?.drop();
  });

  const callerOn = (sql: Sql, db: ApiContext["db"]) => createCallerFactory(appRouter)({ sql, db, database: { maskedUrl: "postgres://x", embedded: true } });

  /** A trial claimed `attempts` times, the last time by `runnerId`, optionally with a heartbeat an hour old. */
  async function claimedTrial(runnerId: string, attempts: number, stale: boolean): Promise<string> {
    const { id } = await enqueueTrial(database.sql, { config: { epochs: 1 } });
    for (let i = 1; i <= attempts; i++) {
      await claimTrial(database.sql, runnerId, { onlyTrialId: id });
      if (i < attempts) await releaseTrial(database.sql, id, runnerId);
    }
    if (stale) await database.sql`update trials set heartbeat_at = now() - interval '1 hour' where id = ${id}`;
    return id;
  }

  it("a read requeues a stale trial (attempt kept until re-claimed) and fails one out of attempts with the reason", async () => {
    const stale = await claimedTrial("dead-box", 1, true);
    const exhausted = await claimedTrial("dead-box", 2, true);
    const alive = await claimedTrial("live-box", 1, false);
    const notified = new Promise<void>((resolve) => {
      void database.sql.listen(TRIAL_QUEUE_CHANNEL, (payload) => payload === "requeued" && resolve());
    });
    await new Promise((r) => setTimeout(r, 50)); // LISTEN is in place before the requeue notifies

    const view = await callerOn(database.sql, database.db).runs.view({ id: stale });
    expect(view.run).toMatchObject({ status: "queued", attempt: 1, runnerId: null, live: true });
    // Idle runners are woken to take it.
    await expect(Promise.race([notified.then(() => "notified"), new Promise((r) => setTimeout(() => r("silent"), 5_000))])).resolves.toBe("notified");

    const failed = await getTrial(database.sql, exhausted);
    expect(failed).toMatchObject({ status: "failed", attempt: 2, runnerId: null });
    expect(failed?.error).toBe("gave up after 2 attempts: the last runner stopped sending heartbeats");
    expect(failed?.finishedAt).not.toBeNull();
    expect(await getTrial(database.sql, alive)).toMatchObject({ status: "running", runnerId: "live-box", attempt: 1 });

    const reclaimed = await claimTrial(database.sql, "live-box", { onlyTrialId: stale });
    expect(reclaimed).toMatchObject({ id: stale, attempt: 2, status: "running" });
  });

  it("every polled procedure requeues, at most once per interval per database handle", async () => {
    const polled: Array<[string, (caller: ReturnType<typeof callerOn>, trialId: string) => Promise<unknown>]> = [
      ["status", (c) => c.status()],
      ["runners.list", (c) => c.runners.list()],
      ["runs.view", (c, id) => c.runs.view({ id })],
      ["runs.compare", (c, id) => c.runs.compare({ ids: [id] })],
      ["runs.recent", (c) => c.runs.recent()],
      ["sweeps.list", (c) => c.sweeps.list()],
      // An unknown sweep is NOT_FOUND, but the requeue runs before the lookup.
      ["sweeps.get", (c) => c.sweeps.get({ id: randomUUID() }).catch((error: Error) => expect(error.message).toMatch(/No sweep/))],
    ];
    for (const [name, call] of polled) {
      // A handle of its own: the throttle is per handle, so each procedure gets a fresh one.
      const connection = connect(database.url, { max: 2 });
      try {
        const caller = callerOn(connection.sql, connection.db);
        const first = await claimedTrial("dead-box", 1, true);
        await call(caller, first);
        expect((await getTrial(database.sql, first))?.status, name).toBe("queued");

        // Within the interval the next poll does not sweep again; after it, it does.
        const second = await claimedTrial("dead-box", 1, true);
        await call(caller, second);
        expect((await getTrial(database.sql, second))?.status, `${name}, throttled`).toBe("running");
        await requeueStaleTrialsThrottled(connection.sql, Date.now() + STALE_TRIAL_CHECK_INTERVAL_MS);
        expect((await getTrial(database.sql, second))?.status, `${name}, next interval`).toBe("queued");
      } finally {
        await connection.close();
      }
    }
  });
});
