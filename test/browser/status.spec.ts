import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { repoRoot, startCli, type LongRunningCli } from "../helpers/cli.ts";
import { artifactsDir, freshTarget, postgresProcessesUsing, serverVersion, UP_READY_TIMEOUT_MS } from "./support.ts";

// The real thing: `ganboard up` (database, migrations, `next build` if needed, `next start`) on a
// free port, the status page in Chromium, then Ctrl-C-style shutdown that must leave nothing behind.

const migrationsTotal = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, "drizzle", "meta", "_journal.json"), "utf8")) as { entries: unknown[] }
).entries.length;

test("ganboard up serves the status page and shuts down cleanly", async ({ page }) => {
  const target = await freshTarget();
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  try {
    // No runners: this spec is about the foundation (database, dashboard, shutdown), not training.
    up = startCli(["up", "--port", String(port), "--runners", "0"], { env: target.env });
    const url = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    expect(url).toBe(`http://127.0.0.1:${port}/`);

    const databaseUrl = await target.url();
    const version = await serverVersion(databaseUrl);

    // The home page lists sweeps; the system status has its own page.
    expect((await page.goto(url))?.status()).toBe(200);
    await expect(page).toHaveTitle("Sweeps · ganboard");
    const response = await page.goto(new URL("status", url).toString());
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

    // Clean shutdown on Ctrl-C (SIGINT, what a person presses; SIGTERM is the same handler and is
    // what the other specs stop with): exit 0, every child gone, the port free, no postgres left behind.
    const home = target.env.GANBOARD_HOME ?? "";
    if (target.embedded) expect(postgresProcessesUsing(home).length).toBeGreaterThan(0); // the check can see it
    const exit = await up.stop("SIGINT", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
    expect(up.stderr()).toContain("Stopped cleanly");
    await expect(fetch(url)).rejects.toThrow();
    if (target.embedded) expect(postgresProcessesUsing(home)).toEqual([]);
  } finally {
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
