import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { readMigrations, runners } from "@ganboard/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCallerFactory, RUNNER_OFFLINE_AFTER_MS } from "./index.ts";

describe("status procedure (real Postgres)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  const caller = () =>
    createCallerFactory(appRouter)({
      sql: database.sql,
      db: database.db,
      database: { maskedUrl: "postgres://ganboard:***@127.0.0.1:1/x", embedded: true },
    });

  it("reports the server version, the migrations and an empty runner list", async () => {
    const status = await caller().status();
    const [{ version }] = await database.sql<{ version: string }[]>`select current_setting('server_version') as version`;
    const total = readMigrations().length;
    expect(status.database.version).toBe(`PostgreSQL ${version}`);
    expect(status.database.migrations).toMatchObject({ applied: total, total, pending: 0 });
    expect(status.database.migrations.latest).toMatch(/^\d{4}_/);
    expect(status.database.embedded).toBe(true);
    expect(status.database.url).toBe("postgres://ganboard:***@127.0.0.1:1/x");
    expect(status.runners).toEqual([]);
    expect(Date.parse(status.checkedAt)).not.toBeNaN();
  });

  it("lists runners newest first, online only when recently seen and not stopped", async () => {
    const now = Date.now();
    await database.db.insert(runners).values([
      { id: "gpu-box-1", hostname: "gpu-box", pid: 101, backend: "tensorflow", device: "GPU 0", lastSeenAt: new Date(now - 2_000) },
      { id: "old-box-1", hostname: "old-box", pid: 202, backend: "wasm", device: "cpu", lastSeenAt: new Date(now - RUNNER_OFFLINE_AFTER_MS - 60_000) },
      { id: "done-box-1", hostname: "done-box", pid: 303, backend: "cpu", device: "cpu", lastSeenAt: new Date(now - 1_000), stoppedAt: new Date(now - 500) },
    ]);
    const { runners: listed } = await caller().status();
    expect(listed.map((r) => [r.id, r.online])).toEqual([
      ["done-box-1", false],
      ["gpu-box-1", true],
      ["old-box-1", false],
    ]);
    expect(listed[1]).toMatchObject({ hostname: "gpu-box", pid: 101, backend: "tensorflow", device: "GPU 0", currentTrialId: null });
  });
});
