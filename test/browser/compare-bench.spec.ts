import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { connect } from "@ganboard/db";
import { seedCompareRuns } from "../../packages/api/bench/seed-compare.ts";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { startCli, type LongRunningCli } from "../helpers/cli.ts";
import { artifactsDir, freshTarget, UP_READY_TIMEOUT_MS } from "./support.ts";

// Figures for issue 6, not part of the default suite (seeding 8M points takes minutes; playwright.config.ts
// leaves this file out unless GANBOARD_BENCH is set):
//   npm run bench:compare-page
// 20 runs × 100k steps × 4 metrics; the Compare page with 10 of them: time until its charts and
// grids are drawn, and how long an Epoch-slider change takes to show every run's new grid.

const RUNS = Number(process.env.GANBOARD_BENCH_RUNS ?? 20);
const STEPS = Number(process.env.GANBOARD_BENCH_STEPS ?? 100_000);
const COMPARED = Math.min(10, RUNS);

test.setTimeout(30 * 60_000);

test("compare page figures with long runs", async ({ page }) => {
  const target = await freshTarget();
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    up = startCli(["up", "--port", String(port), "--runners", "0"], { env: target.env });
    const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const connection = connect(await target.url(), { max: 2 });
    close = connection.close;
    const seedStart = Date.now();
    const ids = (await seedCompareRuns(connection.sql, { runs: RUNS, steps: STEPS })).slice(0, COMPARED);
    console.log(`seeded ${RUNS} runs × ${STEPS} steps in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);
    const url = new URL(`compare?runs=${ids.join(",")}`, base).toString();

    // Interactive = every chart has one drawn line per run and the slider can be used.
    const load = async (): Promise<number> => {
      const t0 = Date.now();
      await page.goto(url);
      await expect(page.getByRole("figure", { name: "loss_d" }).locator("path.recharts-line-curve[d]")).toHaveCount(COMPARED, { timeout: 60_000 });
      await expect(page.getByRole("figure", { name: "d_fake" }).locator("path.recharts-line-curve[d]")).toHaveCount(COMPARED);
      await expect(page.getByRole("slider", { name: "Epoch" })).toBeEnabled();
      return Date.now() - t0;
    };
    const coldMs = await load(); // server cache empty: bucketing in Postgres
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push(await load());

    // Epoch slider: from input event to every run's new grid decoded and shown.
    const lastEpoch = Math.ceil(STEPS / 1000);
    const slider: number[] = [];
    for (const epoch of [lastEpoch - 1, lastEpoch - 2, lastEpoch - 3, 50, 49, 48, 10, 9, 8, 7]) {
      slider.push(
        await page.evaluate(
          ({ epoch, runs }) =>
            new Promise<number>((resolve) => {
              const input = document.querySelector<HTMLInputElement>('input[aria-label="Epoch"]') as HTMLInputElement;
              const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set as (v: string) => void;
              const t0 = performance.now();
              setValue.call(input, String(epoch));
              input.dispatchEvent(new Event("input", { bubbles: true }));
              const check = () => {
                const imgs = [...document.querySelectorAll<HTMLImageElement>(`img[alt$=" at epoch ${epoch}"]`)];
                if (imgs.length === runs && imgs.every((img) => img.complete && img.naturalWidth > 0)) resolve(performance.now() - t0);
                else requestAnimationFrame(check);
              };
              check();
            }),
          { epoch, runs: COMPARED },
        ),
      );
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const figures = {
      runs: RUNS,
      steps: STEPS,
      compared: COMPARED,
      interactiveColdMs: coldMs,
      interactiveWarmMedianMs: sorted(warm)[Math.floor(warm.length / 2)],
      sliderMedianMs: Math.round(sorted(slider)[Math.floor(slider.length / 2)]),
      sliderMaxMs: Math.round(sorted(slider)[slider.length - 1]),
    };
    console.log(JSON.stringify(figures));
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, "compare-bench.json"), `${JSON.stringify(figures, null, 2)}\n`);
    await page.screenshot({ path: path.join(artifactsDir, "compare-bench.png"), fullPage: true });
  } finally {
    await close?.();
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
