import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { appendTrialLogs, bucketedMetricSeries, claimTrial, enqueueTrial, finishTrial, getTrial, registerRunner, saveCheckpoint, saveSample, stopRunner, writeMetrics } from "@ganboard/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCallerFactory } from "./index.ts";
import { downsample, type RawPoint } from "./lib/downsample.ts";

describe("runs and runners routers (real Postgres)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  const caller = () =>
    createCallerFactory(appRouter)({ sql: database.sql, db: database.db, database: { maskedUrl: "postgres://x", embedded: true } });

  it("buckets series in SQL exactly as the pure downsample does (NaN and infinities included)", async () => {
    const { id } = await enqueueTrial(database.sql, { config: { epochs: 3 } });
    const t0 = Date.UTC(2026, 0, 1) / 1000;
    const points: RawPoint[] = Array.from({ length: 5000 }, (_, i) => ({
      step: i * 3 + 1, // sparse steps: buckets are step ranges, not point counts
      epoch: Math.floor(i / 1000) + 1,
      wallTime: t0 + i * 0.25,
      value: i === 1234 ? Number.NaN : i === 4321 ? -Infinity : Math.sin(i / 50) * (1 + (i % 7)),
    }));
    await writeMetrics(database.sql, id, points.map((p) => ({ key: "loss_d", ...p, wallTime: new Date(p.wallTime * 1000) })));
    await writeMetrics(database.sql, id, points.slice(0, 40).map((p) => ({ key: "swd", ...p, wallTime: new Date(p.wallTime * 1000) })));
    const [lossD, swd] = await bucketedMetricSeries(database.sql, [id], { maxBuckets: 700 });
    expect(lossD.key).toBe("loss_d");
    expect(lossD.points).toBe(5000);
    const expected = downsample(points, 700);
    expect(lossD.buckets).toHaveLength(expected.length);
    lossD.buckets.forEach((b, i) => {
      const e = expected[i];
      expect([b.step, b.epoch, b.count, b.nonFinite, b.min, b.max]).toEqual([e.step, e.epoch, e.count, e.nonFinite, e.min, e.max]);
      expect(b.value).toBeCloseTo(e.value as number, 9);
      expect(b.wallTime).toBeCloseTo(e.wallTime, 3);
    });
    expect(lossD.buckets.reduce((n, b) => n + b.nonFinite, 0)).toBe(2);
    expect(swd.buckets).toHaveLength(40); // short series: one bucket per point
  });

  it("shows a run with its grids, checkpoint, health and logs; cancel and requeue follow the rules", async () => {
    await registerRunner(database.sql, { id: "r-1", hostname: "gpu-box", pid: 42, backend: "wasm", device: "cpu" });
    const { id } = await enqueueTrial(database.sql, { config: { lr: 0.0002 } });
    await claimTrial(database.sql, "r-1", { onlyTrialId: id });
    const now = Date.now();
    await writeMetrics(
      database.sql,
      id,
      Array.from({ length: 100 }, (_, i) => ({ key: "loss_d", step: i + 1, epoch: 1, value: 0.01, wallTime: new Date(now + i) })),
    );
    await saveSample(database.sql, id, { epoch: 1, step: 100, png: new Uint8Array([1, 2, 3]), width: 64, height: 64 });
    await saveCheckpoint(database.sql, id, { epoch: 1, step: 100, data: new Uint8Array(10), reason: "periodic" });
    await appendTrialLogs(database.sql, id, [
      { ts: new Date(), level: "info", message: "epoch 1 <b>done</b>" },
      { ts: new Date(), level: "warn", message: "slow" },
    ]);

    const view = await caller().runs.view({ id });
    expect(view.run).toMatchObject({ id, title: "run #2", status: "running", attempt: 1, runnerHostname: "gpu-box", live: true });
    expect(view.samples).toMatchObject([{ epoch: 1, step: 100, width: 64, height: 64 }]);
    expect(view.checkpoint).toMatchObject({ epoch: 1, step: 100, reason: "periodic", bytes: 10 });
    expect(view.health.find((b) => b.id === "d_loss_zero")?.state).toBe("bad");
    const logs = await caller().runs.logs({ id });
    expect(logs.map((l) => [l.level, l.message])).toEqual([
      ["info", "epoch 1 <b>done</b>"],
      ["warn", "slow"],
    ]);
    expect(await caller().runs.logs({ id, afterId: logs[0].id })).toHaveLength(1);

    await expect(caller().runs.requeue({ id })).rejects.toThrow("This run is running: only failed or cancelled runs can be requeued.");
    expect(await caller().runs.cancel({ id })).toEqual({ status: "cancelling" });
    await finishTrial(database.sql, id, "r-1", { status: "cancelled" });
    await expect(caller().runs.cancel({ id })).rejects.toThrow("This run is cancelled: only queued or running runs can be cancelled.");
    expect(await caller().runs.requeue({ id })).toEqual({ status: "queued" });
    expect(await getTrial(database.sql, id)).toMatchObject({ status: "queued", runnerId: null, finishedAt: null, error: null });
  });

  it("answers malformed and unknown ids with a clear message", async () => {
    await expect(caller().runs.view({ id: "not-a-uuid" })).rejects.toThrow(/Not a run id: \\"not-a-uuid\\"/);
    await expect(caller().runs.view({ id: "00000000-0000-4000-8000-000000000000" })).rejects.toThrow(/No run with id 00000000-0000-4000-8000-000000000000/);
    await expect(caller().runs.cancel({ id: "00000000-0000-4000-8000-000000000000" })).rejects.toThrow(/No run with id/);
    await expect(caller().runs.compare({ ids: [] })).rejects.toThrow(/Pick at least one run/);
    const { id } = await enqueueTrial(database.sql, { config: {} });
    await expect(caller().runs.compare({ ids: [id, id] })).rejects.toThrow(/only once/);
    const compared = await caller().runs.compare({ ids: [id, "00000000-0000-4000-8000-000000000000"] });
    expect(compared.runs.map((r) => r.run.id)).toEqual([id]);
    expect(compared.missing).toEqual(["00000000-0000-4000-8000-000000000000"]);
  });

  it("lists runners with their current trial and online state", async () => {
    await registerRunner(database.sql, { id: "r-2", hostname: "laptop", pid: 7, backend: "torch", device: "cuda:0" });
    const { id } = await enqueueTrial(database.sql, { config: {} });
    await claimTrial(database.sql, "r-2", { onlyTrialId: id });
    await registerRunner(database.sql, { id: "r-3", hostname: "old", pid: 8, backend: null, device: null });
    await stopRunner(database.sql, "r-3");
    const { runners } = await caller().runners.list();
    const byId = Object.fromEntries(runners.map((r) => [r.id, r]));
    expect(byId["r-2"]).toMatchObject({ hostname: "laptop", backend: "torch", device: "cuda:0", online: true, currentTrial: { id, status: "running" } });
    expect(byId["r-3"]).toMatchObject({ online: false, currentTrial: null });
  });
});
