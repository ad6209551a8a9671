import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, findChromium } from "./test/browser/chromium.ts";

export default defineConfig({
  testDir: "test/browser",
  // The compare figures seed millions of points: a benchmark (npm run bench:compare-page), not a test.
  testIgnore: process.env.GANBOARD_BENCH ? [] : ["**/compare-bench.spec.ts"],
  outputDir: "test-results",
  // Each spec starts its own `ganboard up` (database, dashboard); on shared machines one at a time is faster.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  // The first run on a fresh clone includes `next build` inside `ganboard up`.
  timeout: 8 * 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: {
      executablePath: findChromium(),
      args: CHROMIUM_ARGS,
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
