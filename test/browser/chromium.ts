import fs from "node:fs";
import { chromium } from "@playwright/test";

/**
 * The Chromium that browser tests and scripts drive: Playwright's own build when
 * `npx playwright install chromium` has been run, else the system one (Debian's /usr/bin/chromium).
 * Nothing is downloaded here.
 */
export function findChromium(): string {
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

/** Headless flags for a closed network: no background connections that would be refused. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
