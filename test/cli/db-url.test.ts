import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@ganboard/db/testing";
import { cliEnv, runCli, startCli } from "../helpers/cli.ts";

async function serverVersionAt(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    return row.version;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe("ganboard db url", () => {
  it("prints DATABASE_URL as is when it is set, and exits", async () => {
    // The test run's own server (DATABASE_URL's, or the suite's embedded one) stands in for "yours".
    const db = await createTestDatabase({ empty: true });
    try {
      const result = await runCli(["db", "url"], { env: cliEnv({ DATABASE_URL: db.url }) });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(db.url);
      expect(await serverVersionAt(result.stdout.trim())).toMatch(/^\d+/);
    } finally {
      await db.drop();
    }
  });

  describe("embedded PostgreSQL (no DATABASE_URL)", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-dburl-"));
    fs.chmodSync(home, 0o755); // as root, the embedded server runs as `postgres`, which must reach it
    afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
    const env = cliEnv({ DATABASE_URL: undefined, GANBOARD_HOME: home });

    it("starts the server, prints a connectable URL, and stops cleanly on SIGTERM", async () => {
      const holder = startCli(["db", "url"], { env });
      const url = await holder.waitForStdout(/^postgres(ql)?:\/\//, 90_000);
      expect(url).toMatch(/^postgres(ql)?:\/\/[^@]+@(127\.0\.0\.1|localhost):\d+\//);
      expect(url).not.toMatch(/:5432\//); // never the system server's port
      expect(await serverVersionAt(url)).toMatch(/^\d+/);

      // A second `db url` joins the running server instead of starting another one, and exits.
      const joined = await runCli(["db", "url"], { env, timeoutMs: 60_000 });
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stdout.trim()).toBe(url);

      const stopped = await holder.stop("SIGTERM");
      expect(stopped, holder.stderr()).toEqual({ code: 0, signal: null });
      await expect(serverVersionAt(url)).rejects.toThrow();
    });
  });
});
