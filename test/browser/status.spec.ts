import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import postgres from "postgres";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { cliEnv, repoRoot, runCli, startCli, type LongRunningCli } from "../helpers/cli.ts";

// The real thing: `ganboard up` (database, migrations, `next build` if needed, `next start`) on a
// free port, the status page in Chromium, then Ctrl-C-style shutdown that must leave nothing behind.

const artifactsDir = path.join(repoRoot, "test", "artifacts");
const migrationsTotal = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, "drizzle", "meta", "_journal.json"), "utf8")) as { entries: unknown[] }
).entries.length;

interface Target {
  env: NodeJS.ProcessEnv;
  embedded: boolean;
  /** The unmasked URL the test itself uses to check the page against the server. */
  url(): Promise<string>;
  cleanup(): Promise<void>;
}

/** A fresh database: a new database on DATABASE_URL's server when set, else a fresh embedded home. */
async function freshTarget(): Promise<Target> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const { createTestDatabase } = await import("@ganboard/db/testing");
    const database = await createTestDatabase();
    return {
      env: cliEnv({ DATABASE_URL: database.url }),
      embedded: false,
      url: async () => database.url,
      cleanup: () => database.drop(),
    };
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-browser-"));
  fs.chmodSync(home, 0o755); // as root, the embedded server runs as `postgres`, which must reach it
  const env = cliEnv({ DATABASE_URL: undefined, GANBOARD_HOME: home });
  return {
    env,
    embedded: true,
    // While `up` runs, `db url` joins its embedded server and prints the real URL.
    url: async () => {
      const result = await runCli(["db", "url"], { env, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`ganboard db url failed: ${result.stderr}`);
      return result.stdout.trim();
    },
    cleanup: async () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

function postgresProcessesUsing(home: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", "postgres"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(home));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test("ganboard up serves the status page and shuts down cleanly", async ({ page }) => {
  const target = await freshTarget();
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  try {
    // No runners: this spec is about the foundation (database, dashboard, shutdown), not training.
    up = startCli(["up", "--port", String(port), "--runners", "0"], { env: target.env });
    const url = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, 7 * 60_000);
    expect(url).toBe(`http://127.0.0.1:${port}/`);

    const databaseUrl = await target.url();
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const [{ version }] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    await sql.end();

    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(/Status · ganboard/);
    await expect(page.getByRole("link", { name: "ganboard" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Status" })).toHaveAttribute(
      "aria-current",
      "page",
    );
    await expect(page.getByRole("heading", { name: "Database" })).toBeVisible();
    await expect(page.getByTestId("database-version")).toHaveText(`PostgreSQL ${version}`);
    await expect(page.getByTestId("database-migrations")).toContainText(`${migrationsTotal} of ${migrationsTotal} applied`);
    await expect(page.getByTestId("database-migrations")).toContainText("up to date");
    await expect(page.getByTestId("database-mode")).toHaveText(target.embedded ? /Embedded/ : /External/);
    await expect(page.getByTestId("database-url")).not.toContainText(new URL(databaseUrl).password || "\u0000");
    await expect(page.getByRole("heading", { name: "Runners" })).toBeVisible();
    await expect(page.getByTestId("runners-empty")).toBeVisible();

    fs.mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, "status.png"), fullPage: true });
    if (process.env.GANBOARD_UPDATE_SCREENSHOTS === "1") {
      const docs = path.join(repoRoot, "docs", "screenshots");
      fs.mkdirSync(docs, { recursive: true });
      fs.copyFileSync(path.join(artifactsDir, "status.png"), path.join(docs, "status.png"));
    }

    // Clean shutdown: exit 0, every child gone, the port free, no postgres left behind.
    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
    expect(up.stderr()).toContain("Stopped cleanly");
    await expect(fetch(url)).rejects.toThrow();
    if (target.embedded) expect(postgresProcessesUsing(target.env.GANBOARD_HOME ?? "")).toEqual([]);
  } finally {
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
