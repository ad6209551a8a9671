import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { claimTrial, connect, enqueueTrial, finishTrial, recordHeartbeat, registerRunner, writeMetrics, type Sql } from "@ganboard/db";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { runCli, startCli, type LongRunningCli } from "../helpers/cli.ts";
import { tinyConfig } from "../runner/helpers.ts";
import { artifactsDir, freshTarget, UP_READY_TIMEOUT_MS } from "./support.ts";

// The sweep pages against the real app (`ganboard up`, real Postgres). No runners: the test plays the
// runner through the db services (claim, metrics, finish), so trial timing is exact and the run is quick.

const HOSTILE_NAME = `<img src=x onerror="alert(1)"> '; drop table sweeps; --`;

async function sweepCount(sql: Sql): Promise<number> {
  return (await sql<{ n: number }[]>`select count(*)::int as n from sweeps`)[0].n;
}

/** Runs one trial as a runner would: claim it, report the metric per epoch, finish (or keep it running). */
async function playTrial(sql: Sql, trialId: string, swd: number[], finish: boolean): Promise<void> {
  const claimed = await claimTrial(sql, "test-runner", { onlyTrialId: trialId });
  if (!claimed) throw new Error(`trial ${trialId} was not claimable`);
  await writeMetrics(
    sql,
    trialId,
    swd.map((value, i) => ({ key: "swd", step: (i + 1) * 16, epoch: i + 1, value, wallTime: new Date() })),
  );
  await recordHeartbeat(sql, trialId, "test-runner", { epoch: swd.length, step: swd.length * 16, objective: swd[swd.length - 1] });
  if (finish) await finishTrial(sql, trialId, "test-runner", { status: "completed", objective: swd[swd.length - 1] });
}

/** Requests to sweeps.get during `ms`: polling must stop once nothing in the sweep can change. */
async function sweepPollsDuring(page: Page, ms: number): Promise<number> {
  let n = 0;
  const onRequest = (r: { url(): string }) => {
    if (r.url().includes("sweeps.get")) n++;
  };
  page.on("request", onRequest);
  await page.waitForTimeout(ms);
  page.off("request", onRequest);
  return n;
}

test("sweeps: empty state, create through the form and the YAML view, live trials with charts, stop", async ({ page }) => {
  // The test plays the runner and does not keep beating: the dashboard must not requeue its trials.
  const target = await freshTarget({ GANBOARD_STALE_AFTER_MS: "600000" });
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  let sql: Sql | undefined;
  fs.mkdirSync(artifactsDir, { recursive: true });
  const shot = (name: string) => page.screenshot({ path: path.join(artifactsDir, name), fullPage: true });
  try {
    up = startCli(["up", "--port", String(port), "--runners", "0"], { env: target.env });
    const url = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    sql = connect(await target.url(), { max: 2 }).sql;
    const main = page.getByRole("main");

    // Empty state offers the quickstart.
    await page.goto(url);
    await expect(page).toHaveTitle("Sweeps · ganboard");
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sweeps" })).toHaveAttribute("aria-current", "page");
    await expect(main.getByRole("heading", { name: "No sweeps yet" })).toBeVisible();
    await shot("sweeps-empty.png");
    await main.getByRole("link", { name: "Start the quickstart" }).click();
    await expect(page).toHaveURL(/\/sweeps\/new\?template=quickstart$/);
    await expect(main.getByRole("button", { name: /^Quickstart/ })).toHaveAttribute("aria-pressed", "true");

    // Bad values: each message sits on its field (form and YAML agree), and nothing is created.
    const yaml = main.getByLabel("YAML", { exact: true });
    await main.getByLabel("run_cap").fill("0");
    await expect(main.getByLabel("run_cap")).toHaveAttribute("aria-invalid", "true");
    await expect(main.getByLabel("run_cap")).toHaveAccessibleDescription(/must be ≥ 1 \(got 0\)/);
    await expect(yaml).toHaveValue(/^run_cap: 0$/m);
    await main.getByLabel("lr_g min").fill("-1");
    await expect(main.getByLabel("lr_g min")).toHaveAccessibleDescription(/log_uniform needs min > 0 \(got -1\)/);
    await main.getByRole("button", { name: "Create sweep" }).click();
    await expect(main.getByRole("alert")).toContainText(/Nothing was created: \d+ problems need fixing/);
    await expect(main.getByLabel("lr_g min")).toBeFocused(); // the first field with a message
    await expect(page).toHaveURL(/\/sweeps\/new/);
    expect(await sweepCount(sql)).toBe(0);
    await shot("new-sweep-invalid.png");

    // Method settings are form fields too (TPE's, PBT's), kept in the YAML, and dropped with their method.
    const method = main.getByLabel("method", { exact: true });
    await method.selectOption("tpe");
    await main.getByLabel("n_startup_trials").fill("-1");
    await expect(main.getByLabel("n_startup_trials")).toHaveAttribute("aria-invalid", "true");
    await main.getByLabel("n_startup_trials").fill("5");
    await main.getByLabel("constant_liar").selectOption("true");
    await expect(yaml).toHaveValue(/^tpe:\n(  .*\n)*  n_startup_trials: 5$/m);
    await expect(yaml).toHaveValue(/^  constant_liar: true$/m);
    await method.selectOption("pbt");
    await expect(yaml).not.toHaveValue(/^tpe:/m);
    await main.getByLabel("perturbation_factors").fill("0.7, 1.3");
    await expect(yaml).toHaveValue(/^  perturbation_factors: \[ ?0\.7, 1\.3 ?\]$/m);
    await method.selectOption("random");
    await expect(yaml).not.toHaveValue(/^pbt:/m);
    await expect(main.getByLabel("n_startup_trials")).toHaveCount(0);

    // Fixed, with a name full of HTML and SQL: created, and shown verbatim.
    await main.getByLabel("run_cap").fill("4");
    await main.getByLabel("lr_g min").fill("0.00005");
    await main.getByLabel("name", { exact: true }).fill(HOSTILE_NAME);
    await expect(yaml).toHaveValue(/^run_cap: 4$/m);
    await main.getByRole("button", { name: "Create sweep" }).click();
    await expect(page).toHaveURL(/\/sweeps\/[0-9a-f-]{36}$/);
    const quickstartId = page.url().split("/").pop() as string;
    await expect(main.getByRole("heading", { level: 1 })).toHaveText(HOSTILE_NAME);
    await expect(page.getByTestId("sweep-status")).toHaveText("running");
    await expect(main.getByText("Waiting for a runner")).toBeVisible();
    expect(await sweepCount(sql)).toBe(1);

    // Trials arrive while the page is open (no reload): 3 finish, 1 keeps running, 1 waits.
    const trialIds: string[] = [];
    for (const [lrG, lrD] of [
      [1e-4, 1e-4],
      [3e-4, 1e-4],
      [6e-4, 2e-4],
      [9e-4, 5e-4],
      [2e-4, 8e-4],
    ]) {
      trialIds.push((await enqueueTrial(sql, { sweepId: quickstartId, config: { lr_g: lrG, lr_d: lrD, epochs: 3 } })).id);
    }
    await registerRunner(sql, { id: "test-runner", hostname: "test-box", pid: process.pid, backend: "wasm", device: "cpu" });
    await playTrial(sql, trialIds[0], [180, 150, 130], true);
    await playTrial(sql, trialIds[1], [170, 140, 110], true);
    await playTrial(sql, trialIds[2], [175, 160, 150], true);
    await playTrial(sql, trialIds[3], [190, 165], false);

    const rows = main.getByTestId("trial-row");
    await expect(rows).toHaveCount(5);
    await expect(page.getByTestId("sweep-best")).toContainText("110");
    await expect(page.getByTestId("sweep-best")).toContainText("trial #2");
    const best = main.getByRole("figure", { name: "Best so far" });
    await expect(best.locator(".recharts-line-curve")).toHaveAttribute("d", /^M/);
    await expect(best.locator(".recharts-scatter-symbol")).toHaveCount(3);
    await expect(main.getByRole("figure", { name: "swd by epoch" }).locator(".recharts-line-curve")).toHaveCount(4);
    // Parallel coordinates: one line per trial with a result (the running one reports its latest).
    await expect(main.getByRole("figure", { name: "Parameters → objective" }).locator("polyline")).toHaveCount(4);
    await expect(main.getByRole("meter", { name: "lr_g importance" })).toBeVisible();
    await expect(main.getByRole("meter", { name: "lr_d importance" })).toBeVisible();

    // Sort by the objective, filter by status, select two for Compare.
    await main.getByRole("button", { name: "swd", exact: true }).click();
    await expect(main.getByRole("columnheader", { name: /swd/ })).toHaveAttribute("aria-sort", "ascending");
    await expect(rows.first().getByRole("link")).toHaveText("#2");
    await main.getByRole("button", { name: /^swd/ }).click();
    await expect(rows.first().getByRole("link")).toHaveText("#4"); // descending: 165 (running) above 150
    await main.getByLabel("Status").selectOption("running");
    await expect(rows).toHaveCount(1);
    await main.getByLabel("Status").selectOption("all");
    await expect(main.getByRole("button", { name: "Compare" })).toBeDisabled();
    await main.getByRole("checkbox", { name: "Select trial #1" }).check();
    await main.getByRole("checkbox", { name: "Select trial #2" }).check();
    await expect(main.getByRole("link", { name: "Compare 2 runs" })).toHaveAttribute("href", `/compare?runs=${trialIds[0]},${trialIds[1]}`);
    await expect(rows.filter({ hasText: "#3" }).getByRole("link", { name: "#3" })).toHaveAttribute("href", `/runs/${trialIds[2]}`);
    await shot("sweep.png");

    // Stop, cancelling the running trial: the queued one ends at once, the running one is asked to stop.
    await main.getByLabel("also cancel running trials").check();
    await main.getByRole("button", { name: "Stop sweep" }).click();
    await expect(page.getByTestId("sweep-status")).toHaveText("stopped");
    await expect(main.getByRole("status")).toContainText("1 queued trial cancelled, 1 running asked to stop");
    await expect(rows.filter({ hasText: "#5" })).toContainText("cancelled");
    await expect(rows.filter({ hasText: "#4" })).toContainText("cancelling");
    await expect(main.getByRole("button", { name: "Stop sweep" })).toHaveCount(0);
    // The runner notices at its next heartbeat and ends the trial; the page follows, then stops polling.
    await finishTrial(sql, trialIds[3], "test-runner", { status: "cancelled" });
    const changedAt = Date.now();
    await expect(rows.filter({ hasText: "#4" })).toContainText("cancelled");
    const lagMs = Date.now() - changedAt;
    console.log(`sweep page: a trial's new status showed ${lagMs} ms after the database changed`);
    expect(lagMs).toBeLessThanOrEqual(2_000); // the live bound; polls every second while trials are active
    expect(await sweepPollsDuring(page, 3_500)).toBe(0);

    // The YAML view: a PBT spec edited as text drives the form; an error there names its line.
    await page.goto(new URL("sweeps/new", url).toString());
    await main.getByRole("button", { name: /^PBT/ }).click();
    await expect(main.getByLabel("population")).toHaveValue("8");
    const pbtYaml = (await yaml.inputValue()).replace("name: cartoon-faces-pbt", "name: pbt-from-yaml").replace("population: 8", "population: 4").replace("parallelism: 8", "parallelism: 0");
    await yaml.fill(pbtYaml);
    await expect(main.getByLabel("population")).toHaveValue("4");
    await expect(main.getByLabel("name", { exact: true })).toHaveValue("pbt-from-yaml");
    await expect(main.getByLabel("parallelism")).toHaveAccessibleDescription(/must be ≥ 1 \(got 0\)/);
    await expect(yaml).toHaveAccessibleDescription(/line \d+: parallelism: must be ≥ 1 \(got 0\)/);
    await main.getByRole("button", { name: "Create sweep" }).click();
    await expect(main.getByRole("alert")).toContainText("Nothing was created");
    expect(await sweepCount(sql)).toBe(1);
    // Back in the form: the fix shows in the YAML.
    await main.getByLabel("parallelism").fill("4");
    await expect(yaml).toHaveValue(/^parallelism: 4$/m);
    await main.getByRole("button", { name: "Create sweep" }).click();
    await expect(page).toHaveURL(/\/sweeps\/[0-9a-f-]{36}$/);
    const pbtId = page.url().split("/").pop() as string;
    await expect(main.getByRole("heading", { level: 1 })).toHaveText("pbt-from-yaml");

    // PBT lineage: two members, the second's child copied it at epoch 4.
    const a = await enqueueTrial(sql, { sweepId: pbtId, config: { lr_g: 1e-4, lr_d: 1e-4 } });
    const b = await enqueueTrial(sql, { sweepId: pbtId, config: { lr_g: 5e-4, lr_d: 2e-4 } });
    await playTrial(sql, a.id, [200, 190, 185, 183], true);
    await playTrial(sql, b.id, [190, 170, 160, 150], true);
    const child = await enqueueTrial(sql, { sweepId: pbtId, config: { lr_g: 6e-4, lr_d: 2e-4 }, parentTrialId: b.id, exploitEpoch: 4 });
    await claimTrial(sql, "test-runner", { onlyTrialId: child.id });
    await writeMetrics(sql, child.id, [5, 6].map((epoch, i) => ({ key: "swd", step: epoch * 16, epoch, value: 140 - i * 10, wallTime: new Date() })));
    const lineage = main.getByRole("figure", { name: "PBT lineage" });
    await expect(lineage.getByRole("img")).toHaveAccessibleName("PBT lineage of 3 trials with 1 exploit steps");
    await expect(lineage.locator('path[data-edge="2->3"]')).toHaveCount(1);
    await expect(main.getByTestId("trial-row").filter({ hasText: "#3" })).toContainText("#2 at epoch 4");
    await shot("sweep-pbt.png");

    // The sweeps list: both sweeps with method, status, progress and best result.
    await page.goto(url);
    const list = main.getByRole("table", { name: "Sweeps" });
    await expect(list.getByRole("row")).toHaveCount(3);
    const quickRow = list.getByRole("row").filter({ hasText: HOSTILE_NAME });
    await expect(quickRow).toContainText("random");
    await expect(quickRow).toContainText("stopped");
    await expect(quickRow).toContainText("5 done · 0 running · 0 queued · cap 4");
    await expect(quickRow).toContainText("swd 110");
    await expect(quickRow.getByRole("img", { name: /Best swd so far over 3 finished trials/ })).toBeVisible();
    await expect(list.getByRole("row").filter({ hasText: "pbt-from-yaml" })).toContainText("1 running");
    await shot("sweeps.png");

    // A mistyped address explains itself instead of failing silently.
    await page.goto(new URL("sweeps/not-a-sweep", url).toString());
    await expect(main.getByRole("alert")).toContainText("not a sweep id");

    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
  } finally {
    await sql?.end({ timeout: 5 });
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});

// The whole loop with a real runner: a sweep typed into the YAML view, trials suggested by the runner,
// trained (tiny models) and reported, the sweep page following along without a reload.
const TINY_SWEEP_YAML = `name: tiny-real-training
method: random
metric: { name: swd, goal: minimize }
parameters:
  lr_g: { distribution: log_uniform, min: 0.0001, max: 0.001 }
  lr_d: { distribution: log_uniform, min: 0.0001, max: 0.001 }
base:
  dataset: { kind: cartoon-faces, count: 16, seed: 0 }
  resolution: 32
  epochs: 2
  batch_size: 4
  ngf: 4
  ndf: 4
  z_dim: 8
  grid_size: 2
  swd_samples: 16
  backend: wasm
run_cap: 2
parallelism: 1
seed: 3
`;

test("sweeps: a sweep created in the YAML view runs on a real runner and finishes live", async ({ page }) => {
  const target = await freshTarget({ GANBOARD_HEARTBEAT_MS: "1000", GANBOARD_POLL_MS: "1000" });
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  try {
    up = startCli(["up", "--port", String(port), "--runners", "1"], { env: target.env });
    const url = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const main = page.getByRole("main");
    await page.goto(new URL("sweeps/new", url).toString());
    await main.getByLabel("YAML", { exact: true }).fill(TINY_SWEEP_YAML);
    await expect(main.getByLabel("name", { exact: true })).toHaveValue("tiny-real-training");
    await expect(main.getByLabel("count")).toHaveValue("16");
    await main.getByRole("button", { name: "Create sweep" }).click();
    await expect(page).toHaveURL(/\/sweeps\/[0-9a-f-]{36}$/);

    const rows = main.getByTestId("trial-row");
    await expect(rows).toHaveCount(2, { timeout: 120_000 });
    await expect(rows.filter({ hasText: "completed" })).toHaveCount(2, { timeout: 120_000 });
    await expect(page.getByTestId("sweep-status")).toHaveText("finished", { timeout: 30_000 });
    await expect(page.getByTestId("sweep-best")).toContainText("trial #");
    await expect(main.getByRole("figure", { name: "Best so far" }).locator(".recharts-line-curve")).toHaveAttribute("d", /^M/);
    await expect(main.getByRole("figure", { name: "swd by epoch" }).locator(".recharts-line-curve")).toHaveCount(2);
    await expect(rows.first()).toContainText("2"); // epochs reached
    await page.screenshot({ path: path.join(artifactsDir, "sweep-real.png"), fullPage: true });

    // Tick both trained trials and compare them: one line per run on every chart, and two grids that
    // follow one shared Epoch slider.
    await main.getByLabel("Select trial #1").check();
    await main.getByLabel("Select trial #2").check();
    await main.getByRole("link", { name: "Compare 2 runs" }).click();
    await expect(page).toHaveURL(/\/compare\?runs=[0-9a-f-]{36}(,|%2C)[0-9a-f-]{36}$/);
    const charts = page.locator("figure:has(.recharts-wrapper)");
    await expect.poll(() => charts.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(7); // 7 step metrics + SWD
    const chartCount = await charts.count();
    for (let i = 0; i < chartCount; i++) {
      await expect.poll(() => charts.nth(i).locator("path.recharts-line-curve[d]").count(), { message: `chart ${i}` }).toBe(2);
    }
    await expect(page.getByRole("img", { name: /^Sample grid of tiny-real-training #\d at epoch 2$/ })).toHaveCount(2);
    const compareSlider = page.getByRole("slider", { name: "Epoch" });
    await compareSlider.fill("1");
    await expect(page.getByRole("img", { name: /^Sample grid of tiny-real-training #\d at epoch 1$/ })).toHaveCount(2);

    // A trained run's page: drawn charts, and the Epoch slider swaps the real grid image.
    await page.getByRole("list", { name: "Compared runs" }).getByRole("link", { name: "tiny-real-training #1" }).click();
    await expect(page).toHaveURL(/\/runs\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByRole("figure", { name: "Losses" }).locator("path.recharts-line-curve[d]").count()).toBe(2);
    const runGrid = page.getByRole("img", { name: /^Sample grid at epoch/ });
    await expect(runGrid).toHaveAccessibleName("Sample grid at epoch 2");
    const newestSrc = await runGrid.getAttribute("src");
    await page.getByRole("slider", { name: "Epoch" }).fill("1");
    await expect(runGrid).toHaveAccessibleName("Sample grid at epoch 1");
    expect(await runGrid.getAttribute("src")).not.toBe(newestSrc);
    await expect.poll(() => runGrid.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0)).toBe(true);

    // Cancel a run the real runner is training: it stops within a step of its next heartbeat.
    const configFile = path.join(target.env.GANBOARD_HOME ?? os.tmpdir(), "long-run.json");
    fs.writeFileSync(configFile, JSON.stringify(tinyConfig({ epochs: 500 })));
    const queued = await runCli(["run", configFile], { env: target.env });
    expect(queued.code, queued.stderr).toBe(0);
    await page.goto(new URL(`runs/${queued.stdout.trim()}`, url).toString());
    const runStatus = page.getByTestId("run-status");
    await expect(runStatus).toHaveText("running", { timeout: 60_000 });
    await expect.poll(async () => /step [1-9]/.test((await page.getByTestId("run-progress").textContent()) ?? ""), { timeout: 30_000 }).toBe(true);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await expect(runStatus).toHaveText("cancelled", { timeout: 15_000 });
    await expect(page.getByRole("button", { name: "Requeue" })).toBeVisible();

    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
  } finally {
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
