import fs from "node:fs";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import sharp from "sharp";
import {
  appendTrialLogs,
  claimTrial,
  connect,
  enqueueTrial,
  finishTrial,
  recordHeartbeat,
  registerRunner,
  saveCheckpoint,
  saveSample,
  setTrialBackend,
  touchRunner,
  writeMetrics,
  type MetricPoint,
  type Sql,
} from "@ganboard/db";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { startCli, type LongRunningCli } from "../helpers/cli.ts";
import { artifactsDir, freshTarget, UP_READY_TIMEOUT_MS } from "./support.ts";

// The run side of the dashboard against a real `ganboard up`: trials are seeded through the db
// services exactly as a runner writes them (metrics, per-epoch grids, checkpoint, logs), and one
// stays "running" under a registered runner so live updates, cancel and requeue can be watched.

const STEPS_PER_EPOCH = 40;
const RUNNER_ID = "e2e-runner";

/** A distinct 64×64 PNG per (run, epoch), so a changed grid is a changed image. */
function gridPng(seed: number): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 64, channels: 3, background: { r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 31) % 256 } } })
    .png()
    .toBuffer();
}

/** Per-step metrics and per-epoch SWD for `epochs` epochs, shaped like a run that learns. */
async function writeEpochs(sql: Sql, trialId: string, fromEpoch: number, toEpoch: number, flavour: number): Promise<void> {
  const t0 = Date.now() / 1000 - 600;
  const points: MetricPoint[] = [];
  for (let epoch = fromEpoch; epoch <= toEpoch; epoch++) {
    for (let s = 1; s <= STEPS_PER_EPOCH; s++) {
      const step = (epoch - 1) * STEPS_PER_EPOCH + s;
      const wallTime = new Date((t0 + step * 0.5) * 1000);
      const wobble = Math.sin(step / 5) * 0.05;
      const metric = (key: string, value: number) => points.push({ key, step, epoch, value, wallTime });
      metric("loss_d", 1.3 - 0.2 * flavour + wobble);
      metric("loss_g", 0.8 + 0.3 * flavour - wobble);
      metric("d_real", 0.6 + wobble);
      metric("d_fake", 0.4 - wobble);
      metric("grad_norm_d", 2 + flavour + wobble);
      metric("grad_norm_g", 1.5 + wobble);
      if (s === STEPS_PER_EPOCH) metric("swd", 10 / epoch + flavour);
    }
    await saveSample(sql, trialId, { epoch, step: epoch * STEPS_PER_EPOCH, png: await gridPng(flavour * 100 + epoch), width: 64, height: 64 });
  }
  await writeMetrics(sql, trialId, points);
}

async function drawnLines(chart: Locator): Promise<number> {
  return chart.locator("path.recharts-line-curve[d]").count();
}

async function imageLoaded(page: Page, img: Locator): Promise<boolean> {
  return img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0);
}

test("run page, compare page and runners page against a live database", async ({ page }) => {
  // The "runner" here is the test itself, which beats once: the dashboard must not requeue its trial.
  const target = await freshTarget({ GANBOARD_STALE_AFTER_MS: "600000" });
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    up = startCli(["up", "--port", String(port), "--runners", "0"], { env: target.env });
    const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const connection = connect(await target.url(), { max: 2 });
    close = connection.close;
    const { sql } = connection;

    // Run A: running on a registered runner, 3 epochs so far. Run B: completed, another config.
    await registerRunner(sql, { id: RUNNER_ID, hostname: "e2e-host", pid: 4242, backend: "wasm", device: "cpu (e2e)" });
    const a = await enqueueTrial(sql, { config: { lr: 0.0002, ngf: 4, dataset: { kind: "cartoon-faces" } } });
    const b = await enqueueTrial(sql, { config: { lr: 0.001, ngf: 4, dataset: { kind: "cartoon-faces" } } });
    await claimTrial(sql, RUNNER_ID, { onlyTrialId: b.id });
    await writeEpochs(sql, b.id, 1, 3, 1);
    await finishTrial(sql, b.id, RUNNER_ID, { status: "completed", objective: 4.3 });
    await claimTrial(sql, RUNNER_ID, { onlyTrialId: a.id });
    await setTrialBackend(sql, a.id, RUNNER_ID, "wasm", "cpu (e2e)");
    await writeEpochs(sql, a.id, 1, 3, 0);
    await recordHeartbeat(sql, a.id, RUNNER_ID, { epoch: 3, step: 3 * STEPS_PER_EPOCH });
    const checkpointBytes = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));
    await saveCheckpoint(sql, a.id, { epoch: 3, step: 3 * STEPS_PER_EPOCH, data: checkpointBytes, reason: "periodic" });
    await appendTrialLogs(sql, a.id, [
      { ts: new Date(), level: "info", message: "epoch 3: evaluated in 0.4 s <script>alert(1)</script>" },
      { ts: new Date(), level: "warn", message: "slow data loader" },
    ]);

    // --- Run page -------------------------------------------------------------------------------
    await page.goto(new URL(`runs/${a.id}`, base).toString());
    await expect(page.getByRole("heading", { level: 1, name: "run #1" })).toBeVisible();
    await expect(page.getByTestId("run-status")).toHaveText("running");
    await expect(page.getByTestId("run-runner")).toHaveText("e2e-host");
    await expect(page.getByTestId("run-backend")).toHaveText("wasm · cpu (e2e)");
    await expect(page.getByTestId("run-progress")).toHaveText("epoch 3 · step 120");
    // Names and log lines are shown verbatim, never as markup.
    await expect(page.getByRole("list", { name: "Log lines" })).toContainText("<script>alert(1)</script>");

    const losses = page.getByRole("figure", { name: "Losses" });
    await expect.poll(() => drawnLines(losses)).toBe(2);
    await expect.poll(() => drawnLines(page.getByRole("figure", { name: "D(x) and D(G(z))" }))).toBe(2);
    await expect.poll(() => drawnLines(page.getByRole("figure", { name: "Gradient norms" }))).toBe(2);
    await expect.poll(() => drawnLines(page.getByRole("figure", { name: "SWD per epoch" }))).toBe(1);
    const health = page.getByRole("list", { name: "GAN health" });
    await expect(health.getByRole("listitem")).toHaveCount(4);
    await expect(page.getByTestId("health-d_loss_zero")).toHaveAttribute("data-state", "ok");

    // The Epoch slider picks the grid; the newest is shown first.
    const slider = page.getByRole("slider", { name: "Epoch" });
    const grid = page.getByRole("img", { name: /^Sample grid at epoch/ });
    await expect(grid).toHaveAccessibleName("Sample grid at epoch 3");
    const src3 = await grid.getAttribute("src");
    await slider.fill("1");
    await expect(grid).toHaveAccessibleName("Sample grid at epoch 1");
    expect(await grid.getAttribute("src")).not.toBe(src3);
    await expect.poll(() => imageLoaded(page, grid)).toBe(true);
    const image = await page.request.get(new URL(String(await grid.getAttribute("src")), base).toString());
    expect(image.headers()["content-type"]).toBe("image/png");
    expect(image.headers()["cache-control"]).toContain("immutable");
    expect(Buffer.from(await image.body()).equals(await gridPng(1))).toBe(true);

    // Timelapse GIF and checkpoint downloads.
    const [gif] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download timelapse GIF" }).click()]);
    expect(gif.suggestedFilename()).toBe("run-1-timelapse.gif");
    const gifBytes = fs.readFileSync(await gif.path());
    expect(gifBytes.subarray(0, 6).toString("latin1")).toBe("GIF89a");
    const [ckpt] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /^Download checkpoint \(epoch 3/ }).click()]);
    expect(new Uint8Array(fs.readFileSync(await ckpt.path()))).toEqual(checkpointBytes);

    // Live: a new epoch from the "runner" shows up without a reload (the slider follows once moved back to the end).
    await slider.fill("3");
    await writeEpochs(sql, a.id, 4, 4, 0);
    await expect(grid).toHaveAccessibleName("Sample grid at epoch 4", { timeout: 5_000 });
    fs.mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, "run.png"), fullPage: true });

    // Cancel → cancelling until the runner stops → cancelled (live), then Requeue puts it back in the queue.
    await page.getByRole("button", { name: "Cancel run" }).click();
    await expect(page.getByTestId("run-status")).toHaveText("cancelling");
    await finishTrial(sql, a.id, RUNNER_ID, { status: "cancelled" });
    await expect(page.getByTestId("run-status")).toHaveText("cancelled", { timeout: 5_000 });
    await page.getByRole("button", { name: "Requeue" }).click();
    await expect(page.getByTestId("run-status")).toHaveText("queued");

    // A malformed id gets a clear message, not a crash.
    await page.goto(new URL("runs/not-a-run", base).toString());
    await expect(page.getByRole("alert").filter({ hasText: "is not a run id" })).toContainText("“not-a-run” is not a run id.");

    // --- Compare page ---------------------------------------------------------------------------
    await page.goto(new URL(`compare?runs=${a.id},${b.id}`, base).toString());
    const chips = page.getByRole("list", { name: "Compared runs" });
    await expect(chips.getByRole("listitem")).toHaveCount(2);
    for (const key of ["loss_d", "loss_g", "swd"]) await expect.poll(() => drawnLines(page.getByRole("figure", { name: key }))).toBe(2);
    const grids = page.getByRole("img", { name: /^Sample grid of run #\d at epoch/ });
    await expect(grids).toHaveCount(2);
    // One shared slider drives both grids (run B has no epoch 4: it keeps showing its newest, epoch 3).
    const sharedSlider = page.getByRole("slider", { name: "Epoch" });
    await sharedSlider.fill("2");
    await expect(page.getByRole("img", { name: "Sample grid of run #1 at epoch 2" })).toBeVisible();
    await expect(page.getByRole("img", { name: "Sample grid of run #2 at epoch 2" })).toBeVisible();
    // Config table: only the differing setting by default.
    const config = page.getByRole("table", { name: "Config" });
    await expect(config.getByRole("row")).toHaveCount(2);
    await expect(config).toContainText("lr");
    await page.getByLabel("Only differences").uncheck();
    await expect(config.getByRole("row")).toHaveCount(4);
    await page.screenshot({ path: path.join(artifactsDir, "compare.png"), fullPage: true });

    // Remove and re-add a run: the URL follows and round-trips through a reload.
    await page.getByRole("button", { name: "Remove run #2" }).click();
    await expect(page).toHaveURL(new RegExp(`/compare\\?runs=${a.id}$`));
    await page.getByRole("combobox", { name: "Add run" }).selectOption({ label: "run #2 · completed" });
    await expect(page).toHaveURL(new RegExp(`/compare\\?runs=${a.id}(,|%2C)${b.id}$`));
    await page.reload();
    await expect(chips.getByRole("listitem")).toHaveCount(2);
    await expect.poll(() => drawnLines(page.getByRole("figure", { name: "loss_g" }))).toBe(2);

    // Chart controls redraw the lines: the x axis (its label and ticks), EMA smoothing, log scale.
    const settings = page.getByRole("group", { name: "Chart settings" });
    const lossD = page.getByRole("figure", { name: "loss_d" });
    const firstLine = () => lossD.locator("path.recharts-line-curve[d]").first().getAttribute("d");
    const xTicks = () => lossD.locator(".recharts-cartesian-axis-tick-value").allTextContents(); // both axes' ticks; y stays
    await expect(lossD).toContainText("Step");
    const stepTicks = await xTicks();
    expect(stepTicks.length).toBeGreaterThan(0);
    await settings.getByLabel("X axis").selectOption("wall");
    await expect(lossD).toContainText("Wall time (s)");
    await expect.poll(xTicks).not.toEqual(stepTicks);
    await settings.getByLabel("X axis").selectOption("epoch");
    await expect(lossD).toContainText("Epoch");
    const raw = await firstLine();
    await settings.getByLabel("Smoothing method").selectOption("ema");
    await expect(settings.getByLabel("EMA weight")).toHaveValue("0.6");
    await expect.poll(firstLine).not.toBe(raw); // the wobble is smoothed away
    const smoothed = await firstLine();
    await settings.getByLabel("Log scale").check();
    await expect.poll(firstLine).not.toBe(smoothed);
    await expect.poll(() => drawnLines(lossD)).toBe(2);

    // --- Runners page ---------------------------------------------------------------------------
    await claimTrial(sql, RUNNER_ID, { onlyTrialId: a.id }); // the requeued trial, picked up again
    await touchRunner(sql, RUNNER_ID);
    await page.goto(new URL("runners", base).toString());
    const row = page.getByRole("row", { name: /e2e-host/ });
    await expect(row).toContainText("wasm");
    await expect(row).toContainText("cpu (e2e)");
    await expect(row).toContainText("online");
    await row.getByRole("link", { name: "run #1" }).click();
    await expect(page).toHaveURL(new RegExp(`/runs/${a.id}$`));
    await expect(page.getByTestId("run-status")).toHaveText("running");
    await page.goto(new URL("runners", base).toString());
    await expect(page.getByRole("row", { name: /e2e-host/ })).toBeVisible();
    await page.screenshot({ path: path.join(artifactsDir, "runners.png"), fullPage: true });
  } finally {
    await close?.();
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
