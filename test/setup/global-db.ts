/**
 * Vitest globalSetup: one PostgreSQL server for the whole test run.
 * - DATABASE_URL set → that server.
 * - else → one throwaway embedded PostgreSQL in a temp folder, stopped and deleted after the run.
 * Test files get their own fresh database on it through `createTestDatabase()` from `@ganboard/db/testing`.
 * The server URL reaches workers both through vitest's provide/inject and through the environment
 * (GANBOARD_TEST_DATABASE_URL), so child processes that tests spawn can see it too.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startOrJoinEmbedded, type EmbeddedHandle } from "../../packages/db/src/embedded/server.ts";
import { cleanupStaleTestResources, dropRunDatabases, TEST_ERROR_ENV, TEST_RUN_ID_ENV, TEST_URL_ENV } from "../../packages/db/src/testing.ts";

declare module "vitest" {
  export interface ProvidedContext {
    ganboardTestDatabaseUrl: string;
    ganboardTestRunId: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Starts with a base-36 timestamp (8 digits) so later runs can tell abandoned databases by age.
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  // Killed runs leave servers and databases behind; clear those older than 6 h whose owner is gone.
  await cleanupStaleTestResources(process.env.DATABASE_URL ?? null).catch(() => {});
  let embedded: EmbeddedHandle | null = null;
  let url = process.env.DATABASE_URL;
  if (!url) {
    // Temp home: concurrent vitest runs must not share (and stop) each other's server.
    let home: string | null = null;
    try {
      home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-test-pg-"));
      fs.chmodSync(home, 0o755); // as root the server runs as `postgres`, which must reach its data folder
      embedded = await startOrJoinEmbedded({ home, ephemeral: true, handleSignals: true });
      url = embedded.url;
    } catch (err) {
      // Tests that need no database must still run: report the failure where a database is asked for.
      process.env[TEST_ERROR_ENV] = (err as Error).message;
      if (home) fs.rmSync(home, { recursive: true, force: true });
      console.warn(`[ganboard] The embedded PostgreSQL for tests did not start: ${(err as Error).message}`);
      return async () => {};
    }
  }
  process.env[TEST_URL_ENV] = url;
  process.env[TEST_RUN_ID_ENV] = runId;
  project.provide("ganboardTestDatabaseUrl", url);
  project.provide("ganboardTestRunId", runId);

  return async () => {
    // Test files normally drop their own databases; this catches those that crashed or forgot.
    if (!embedded) await dropRunDatabases(url!, runId).catch(() => {});
    await embedded?.release();
  };
}
