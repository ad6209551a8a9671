import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eq } from "drizzle-orm";
import { createTestDatabase, TEST_URL_ENV, type TestDatabase } from "./testing.ts";
import { migrationStatus } from "./migrate.ts";
import { sweeps, trials, metrics } from "./schema.ts";

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
});
