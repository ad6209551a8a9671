/** The sweep services on a real database: create, list, show, stop (queued cancelled, running kept or cancelling). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSweep, enqueueTrial, getSweep, listSweeps, stopSweep, SweepNotFoundError } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const spec = (name: string, goal = "minimize") => ({ name, method: "random", metric: { name: "swd", goal }, parameters: { lr_g: { values: [0.001] } }, base: {}, run_cap: 3, seed: 0 });

describe("sweep services", () => {
  it("createSweep stores the spec, status running; list and get show it with counts and the best trial by goal", async () => {
    const { id, method } = await createSweep(t.sql, spec("max-sweep", "maximize"));
    expect(method).toBe("random");
    const a = await enqueueTrial(t.sql, { sweepId: id, config: { x: 1 } });
    const b = await enqueueTrial(t.sql, { sweepId: id, config: { x: 2 } });
    await t.sql`update trials set status = 'completed', objective = case when id = ${a.id} then 1 else 5 end where sweep_id = ${id}`;
    await enqueueTrial(t.sql, { sweepId: id, config: { x: 3 } });
    const listed = (await listSweeps(t.sql)).find((s) => s.id === id)!;
    expect(listed).toMatchObject({ name: "max-sweep", status: "running", trials: { completed: 2, queued: 1, total: 3 } });
    expect(listed.best).toEqual({ trialId: b.id, number: 2, objective: 5 });
    const shown = (await getSweep(t.sql, id))!;
    expect(shown.trialList.map((x) => x.number)).toEqual([1, 2, 3]);
    expect(shown.spec).toEqual(spec("max-sweep", "maximize"));
    expect(await getSweep(t.sql, "not-a-uuid")).toBeNull();
    await expect(createSweep(t.sql, { name: "x", method: "bayes" })).rejects.toThrow(/method must be one of/);
  });

  it("stopSweep cancels queued trials, leaves running ones (or marks them cancelling) and is idempotent", async () => {
    const { id } = await createSweep(t.sql, spec("stop-me"));
    const q = await enqueueTrial(t.sql, { sweepId: id, config: {} });
    const r = await enqueueTrial(t.sql, { sweepId: id, config: {} });
    await t.sql`update trials set status = 'running' where id = ${r.id}`;
    expect(await stopSweep(t.sql, id, { cancelRunning: false })).toEqual({ status: "stopped", cancelledQueued: 1, cancellingRunning: 0, stillRunning: 1 });
    const statuses = Object.fromEntries((await getSweep(t.sql, id))!.trialList.map((x) => [x.id, x.status]));
    expect(statuses).toEqual({ [q.id]: "cancelled", [r.id]: "running" });
    expect(await stopSweep(t.sql, id, { cancelRunning: true })).toEqual({ status: "stopped", cancelledQueued: 0, cancellingRunning: 1, stillRunning: 1 });
    await expect(stopSweep(t.sql, "00000000-0000-0000-0000-000000000000", { cancelRunning: false })).rejects.toBeInstanceOf(SweepNotFoundError);
  });
});
