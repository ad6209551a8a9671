import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, migrationsFolder, migrationStatus, readMigrations } from "./migrate.ts";
import { createTestDatabase, type TestDatabase } from "./testing.ts";
import { serverVersion } from "./client.ts";

const dbs: TestDatabase[] = [];
async function emptyDb(): Promise<TestDatabase> {
  const t = await createTestDatabase({ empty: true });
  dbs.push(t);
  return t;
}
afterAll(async () => {
  for (const t of dbs) await t.drop();
});

const tables = ["checkpoints", "metrics", "runners", "samples", "sweeps", "trial_logs", "trials"];

describe("migrations", () => {
  it("apply to an empty database, then a second run applies nothing", async () => {
    const t = await emptyDb();
    const total = readMigrations().length;
    expect(await migrationStatus(t.sql)).toEqual({ applied: 0, total, latest: null });
    expect(await migrate(t.url)).toEqual({ applied: total, total });
    expect(await migrate(t.sql)).toEqual({ applied: 0, total });
    const status = await migrationStatus(t.sql);
    expect(status.applied).toBe(total);
    expect(status.latest).toMatch(/^\d{4}_/);
    const rows = await t.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(rows.map((r) => r.table_name)).toEqual(tables);
    expect(await serverVersion(t.sql)).toMatch(/^PostgreSQL \d+/);
  });

  it("two connections migrating at once: both succeed, each migration applied exactly once", async () => {
    const t = await emptyDb();
    const total = readMigrations().length;
    const results = await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url)]);
    expect(results.map((r) => r.applied).sort()).toEqual([0, 0, total]);
    const [{ n }] = await t.sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(n).toBe(total);
  });

  it("creates the indexes the queue, heartbeat and series queries rely on", async () => {
    const t = await emptyDb();
    await migrate(t.sql);
    const rows = await t.sql<{ indexname: string; indexdef: string }[]>`
      select indexname, indexdef from pg_indexes where schemaname = 'public'`;
    const defs = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
    expect(defs.trials_queued_idx).toMatch(/WHERE \(status = 'queued'::trial_status\)/);
    expect(defs.trials_heartbeat_idx).toMatch(/heartbeat_at/);
    expect(defs.metrics_pkey).toMatch(/\(trial_id, key, step\)/);
    expect(defs.samples_pkey).toMatch(/\(trial_id, epoch\)/);
    expect(defs.trials_sweep_number_idx).toMatch(/UNIQUE.*\(sweep_id, number\)/);
    // The claim query uses the partial index.
    await t.sql`set enable_seqscan = off`;
    const plan = await t.sql<{ "QUERY PLAN": string }[]>`
      explain select id from trials where status = 'queued' order by created_at, id limit 1 for update skip locked`;
    expect(plan.map((p) => p["QUERY PLAN"]).join("\n")).toMatch(/trials_queued_idx/);
  });

  it("schema.ts has no changes missing from drizzle/ (run `npm run db:generate` after editing it)", () => {
    const committed = migrationsFolder();
    const repoRoot = path.dirname(committed);
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-drizzle-check-"));
    try {
      fs.cpSync(committed, copy, { recursive: true });
      const before = fs.readdirSync(copy).sort();
      const bin = path.join(repoRoot, "node_modules", ".bin", "drizzle-kit");
      const result = spawnSync(
        bin,
        ["generate", "--dialect", "postgresql", "--schema", "packages/db/src/schema.ts", "--out", path.relative(repoRoot, copy), "--name", "drift"],
        { cwd: repoRoot, encoding: "utf8" },
      );
      expect(result.status, result.stderr + result.stdout).toBe(0);
      expect(result.stdout).toMatch(/No schema changes/);
      expect(fs.readdirSync(copy).sort()).toEqual(before);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
