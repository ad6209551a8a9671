import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Locator } from "@playwright/test";
import { connect, enqueueTrial, startOrJoinEmbedded, type EmbeddedHandle, type Sql } from "@ganboard/db";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { cliEnv, startCli, type LongRunningCli } from "../helpers/cli.ts";
import { gridEpochs, range, stepSeries } from "../reliability/helpers.ts";
import { tinyConfig } from "../runner/helpers.ts";
import { UP_READY_TIMEOUT_MS } from "./support.ts";

// The PostgreSQL server restarted under a real `ganboard up` (Next.js dashboard + 2 runners) with a run
// page open: nobody restarts anything by hand, the page goes on updating, and no point is lost.
// The server is the test's own embedded PostgreSQL, reached through DATABASE_URL, so it can be stopped.

const EPOCHS = 60;
const STEPS_PER_EPOCH = 4; // tinyConfig: 16 faces, batch 4
const STEP_KEYS = ["loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g"];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // as root the embedded server runs as `postgres`, which must reach it
  return dir;
}

async function drawnLines(chart: Locator): Promise<number> {
  return chart.locator("path.recharts-line-curve[d]").count();
}

/** The step shown in the run page's progress line ("epoch 3 · step 12"). */
async function shownStep(progress: Locator): Promise<number> {
  const match = /step (\d+)/.exec((await progress.textContent()) ?? "");
  return match ? Number(match[1]) : -1;
}

async function statuses(sql: Sql, ids: string[]): Promise<string[]> {
  const rows = await sql<{ id: string; status: string }[]>`select id, status from trials where id in ${sql(ids)}`;
  return ids.map((id) => rows.find((row) => row.id === id)?.status ?? "missing");
}

test("the database restarted under a running dashboard and 2 runners: the page and the runners recover by themselves, 0 points lost", async ({ page }) => {
  test.setTimeout(8 * 60_000);
  const pgHome = path.join(tempDir("ganboard-restart-pg-"), "home");
  const upHome = tempDir("ganboard-restart-up-");
  let server: EmbeddedHandle | undefined = await startOrJoinEmbedded({ home: pgHome, handleSignals: false, initNoSync: true });
  const url = server.url;
  const env = cliEnv({ DATABASE_URL: url, GANBOARD_HOME: upHome, GANBOARD_HEARTBEAT_MS: "1000", GANBOARD_POLL_MS: "1000" });
  const connection = connect(url, { max: 2, applicationName: "ganboard-test" });
  let up: LongRunningCli | undefined;
  try {
    up = startCli(["up", "--port", String(await findFreePort()), "--runners", "2"], { env });
    const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const { sql } = connection;
    const ids: string[] = [];
    for (const seed of [1, 2]) ids.push((await enqueueTrial(sql, { config: tinyConfig({ epochs: EPOCHS, seed }) })).id);

    await page.goto(new URL(`runs/${ids[0]}`, base).toString());
    const status = page.getByTestId("run-status");
    const progress = page.getByTestId("run-progress");
    await expect(status).toHaveText("running", { timeout: 120_000 });
    await expect.poll(() => drawnLines(page.getByRole("figure", { name: "Losses" })), { timeout: 30_000 }).toBe(2);
    await expect.poll(async () => (await statuses(sql, ids)).every((s) => s === "running"), { timeout: 60_000 }).toBe(true);
    const stepBefore = await shownStep(progress);
    expect(stepBefore).toBeLessThan(EPOCHS * STEPS_PER_EPOCH); // the restart lands mid-training

    await server.release(); // a clean stop: every session is terminated
    server = undefined;
    await page.waitForTimeout(2_000); // the page and the runners see the database gone
    server = await startOrJoinEmbedded({ home: pgHome, handleSignals: false });
    expect(server.url).toBe(url); // same port: every process's URL still points at it

    // Without a reload, the page shows training moving on again, then the end.
    await expect.poll(() => shownStep(progress), { timeout: 60_000 }).toBeGreaterThan(stepBefore);
    await expect.poll(() => statuses(sql, ids), { timeout: 240_000, intervals: [1_000] }).toEqual(["completed", "completed"]);
    await expect(status).toHaveText("completed", { timeout: 10_000 });
    await expect(page.getByRole("main").getByRole("alert")).toHaveCount(0); // no error left on the page
    const api = await page.request.get(new URL("api/trpc/status", base).toString());
    expect(api.status()).toBe(200);

    // Every step of every series exactly once with no gap, and a grid for every epoch.
    const steps = EPOCHS * STEPS_PER_EPOCH;
    for (const id of ids) {
      for (const key of STEP_KEYS) expect(await stepSeries(sql, id, key), `${id} ${key}`).toEqual({ n: steps, distinct_steps: steps, min: 1, max: steps });
      expect(await gridEpochs(sql, id)).toEqual(range(1, EPOCHS));
    }
    // The runners noticed the outage and waited it out.
    const runnerLogs = fs.readdirSync(path.join(upHome, "logs")).filter((name) => name.startsWith("runner-"));
    const logs = runnerLogs.map((name) => fs.readFileSync(path.join(upHome, "logs", name), "utf8")).join("\n");
    expect(logs).toMatch(/database unavailable/);

    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
  } finally {
    if (up) await up.stop("SIGTERM", 30_000);
    await connection.close();
    await server?.release();
    fs.rmSync(path.dirname(pgHome), { recursive: true, force: true });
    fs.rmSync(upHome, { recursive: true, force: true });
  }
});
