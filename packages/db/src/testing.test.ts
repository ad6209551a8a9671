import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eq } from "drizzle-orm";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cleanupStaleTestResources, createTestDatabase, testServerUrl, TEST_URL_ENV, type TestDatabase } from "./testing.ts";
import { migrationStatus } from "./migrate.ts";
import { checkpoints, metrics, samples, sweeps, trialLogs, trials } from "./schema.ts";

describe("createTestDatabase", () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it("gets the server from the global setup through the environment and inject", () => {
    expect(process.env[TEST_URL_ENV]).toBeTruthy();
    expect(inject("ganboardTestDatabaseUrl")).toBe(process.env[TEST_URL_ENV]);
    if (process.env.DATABASE_URL) expect(process.env[TEST_URL_ENV]).toBe(process.env.DATABASE_URL);
  });

  it("gives each caller its own migrated database", async () => {
    expect(a.name).not.toBe(b.name);
    expect(await migrationStatus(a.sql)).toMatchObject({ applied: 1, total: 1, latest: "0000_init" });
    const [sweep] = await a.db.insert(sweeps).values({ name: "s", spec: {}, method: "grid" }).returning();
    await a.db.insert(trials).values({ sweepId: sweep.id, number: 1, config: { lr: 1 } });
    expect(await a.db.select().from(trials)).toHaveLength(1);
    expect(await b.db.select().from(trials)).toHaveLength(0);
  });

  it("drop() removes the database", async () => {
    const c = await createTestDatabase();
    await c.db.insert(sweeps).values({ name: "x", spec: {}, method: "tpe" });
    await c.drop();
    await c.drop(); // idempotent
    const [row] = await a.sql`select count(*)::int as n from pg_database where datname = ${c.name}`;
    expect(row.n).toBe(0);
  });

  it("schema: upserting a metric step overwrites; deleting a trial cascades", async () => {
    const [t] = await a.db.insert(trials).values({ number: 99, config: {} }).returning();
    expect(t.status).toBe("queued");
    expect(t.attempt).toBe(0);
    for (const value of [1, 2]) {
      await a.db
        .insert(metrics)
        .values({ trialId: t.id, key: "loss_d", step: 5, epoch: 0, value })
        .onConflictDoUpdate({ target: [metrics.trialId, metrics.key, metrics.step], set: { value } });
    }
    const rows = await a.db.select().from(metrics).where(eq(metrics.trialId, t.id));
    expect(rows.map((r) => r.value)).toEqual([2]);
    await a.db.delete(trials).where(eq(trials.id, t.id));
    expect(await a.db.select().from(metrics).where(eq(metrics.trialId, t.id))).toHaveLength(0);
  });

  it("schema: bytea round-trips, enums and defaults apply, log ids are ordered", async () => {
    const [t] = await a.db.insert(trials).values({ number: 7, config: { lr_g: 2e-4 } }).returning();
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]);
    await a.db.insert(samples).values({ trialId: t.id, epoch: 0, step: 10, png, width: 2, height: 2 });
    const [sample] = await a.db.select().from(samples).where(eq(samples.trialId, t.id));
    expect(Array.from(sample.png)).toEqual(Array.from(png));
    const data = new Uint8Array(1 << 20).map((_, i) => i % 251);
    await a.db.insert(checkpoints).values({ trialId: t.id, epoch: 0, step: 10, data: data.subarray(1), reason: "periodic" });
    const [cp] = await a.db.select().from(checkpoints).where(eq(checkpoints.trialId, t.id));
    expect(cp.data.byteLength).toBe(data.byteLength - 1);
    expect(cp.data[0]).toBe(1);
    await a.db.insert(trialLogs).values([{ trialId: t.id, message: "one" }, { trialId: t.id, message: "two", level: "warn" }]);
    const logs = await a.db.select().from(trialLogs).where(eq(trialLogs.trialId, t.id)).orderBy(trialLogs.id);
    expect(logs.map((l) => [l.message, l.level])).toEqual([["one", "info"], ["two", "warn"]]);
    await expect(a.sql`update trials set status = 'bogus' where id = ${t.id}`).rejects.toThrow(/invalid input value for enum/);
    await expect(a.sql`update trials set attempt = -1 where id = ${t.id}`).rejects.toThrow(/trials_attempt_nonnegative/);
    await expect(a.db.insert(trials).values({ sweepId: null, number: 1, config: {} })).resolves.toBeDefined();
  });

  it("cleanupStaleTestResources removes only old leftovers of dead runs", async () => {
    const old = Date.now() - 7 * 3600_000;
    const oldDir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-test-pg-"));
    fs.mkdirSync(path.join(oldDir, "postgres"));
    fs.utimesSync(oldDir, old / 1000, old / 1000);
    const freshDir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-test-pg-"));
    fs.mkdirSync(path.join(freshDir, "postgres"));
    const oldDb = `gbt_${old.toString(36)}zz_cleanup_${process.pid}`;
    await a.sql.unsafe(`create database "${oldDb}"`);
    try {
      const result = await cleanupStaleTestResources(await testServerUrl());
      expect(result.folders).toBeGreaterThanOrEqual(1);
      expect(result.databases).toBeGreaterThanOrEqual(1);
      expect(fs.existsSync(oldDir)).toBe(false);
      expect(fs.existsSync(freshDir)).toBe(true);
      const names = (await a.sql<{ datname: string }[]>`select datname from pg_database`).map((r) => r.datname);
      expect(names).not.toContain(oldDb);
      expect(names).toContain(a.name);
      expect(names).toContain(b.name);
    } finally {
      fs.rmSync(freshDir, { recursive: true, force: true });
      await a.sql.unsafe(`drop database if exists "${oldDb}"`);
    }
  });
});
