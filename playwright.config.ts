import fs from "node:fs";
import { chromium, defineConfig } from "@playwright/test";

/**
 * Browser tests run in a real Chromium: Playwright's own build when `npx playwright install chromium`
 * has been run, else the system one (Debian's /usr/bin/chromium). Nothing is downloaded here.
 */
function findChromium(): string {
  const candidates: string[] = [];
  if (process.env.GANBOARD_CHROMIUM) candidates.push(process.env.GANBOARD_CHROMIUM);
  try {
    candidates.push(chromium.executablePath());
  } catch {
    // Playwright throws when it has no browser registry entry for this platform; fall through.
  }
  candidates.push("/usr/bin/chromium", "/usr/bin/chromium-browser");
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (found) return found;
  throw new Error(
    "No Chromium found for the browser tests. Install one with `npx playwright install chromium` " +
      "(Playwright's build) or `sudo apt-get install chromium` (Debian/Ubuntu), or point GANBOARD_CHROMIUM " +
      `at a Chromium binary. Looked in: ${candidates.join(", ")}`,
  );
}

export default defineConfig({
  testDir: "test/browser",
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
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
