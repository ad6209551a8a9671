/**
 * README screenshots from real training: `npm run screenshots [-- --sweep FILE --runners N]`.
 *
 * Starts `ganboard up` on a throwaway data folder (or DATABASE_URL's server), creates the sweep
 * (default: docs/screenshots/readme-sweep.yaml), waits until it has finished with its local runners, then
 * photographs the sweep page, the best trial's run page and the compare page of the two best trials
 * into docs/screenshots/ (sweep.png, run.png, compare.png).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "@playwright/test";
import { connect } from "@ganboard/db";
import { findFreePort } from "../apps/cli/src/lib/net.ts";
import { cliEnv, repoRoot, runCli, startCli } from "../test/helpers/cli.ts";
import { CHROMIUM_ARGS, findChromium } from "../test/browser/chromium.ts";

const { values: args } = parseArgs({
  options: {
    sweep: { type: "string", default: "docs/screenshots/readme-sweep.yaml" },
    runners: { type: "string", default: "2" },
    "timeout-minutes": { type: "string", default: "30" },
    out: { type: "string", default: "docs/screenshots" },
  },
});
const outDir = path.resolve(repoRoot, args.out!);
const deadline = Date.now() + Number(args["timeout-minutes"]) * 60_000;

const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-screenshots-"));
fs.chmodSync(home, 0o755); // as root the embedded server runs as `postgres`, which must reach it
const env = cliEnv({ GANBOARD_HOME: home });
const port = await findFreePort();
const up = startCli(["up", "--port", String(port), "--runners", args.runners!], { env });
try {
  const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, 10 * 60_000);
  console.log(`dashboard at ${base}`);
  const created = await runCli(["sweep", "create", args.sweep!], { env });
  if (created.code !== 0) throw new Error(`sweep create failed:\n${created.stderr}`);
  const sweepId = created.stdout.trim();
  const dbUrl = (await runCli(["db", "url"], { env })).stdout.trim();
  const { sql, close } = connect(dbUrl, { max: 1 });
  let best: string[] = [];
  try {
    for (;;) {
      const [sweep] = await sql<{ status: string }[]>`select status from sweeps where id = ${sweepId}`;
      const counts = await sql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from trials where sweep_id = ${sweepId} group by status order by status`;
      console.log(`${new Date().toISOString().slice(11, 19)} sweep ${sweep.status}: ${counts.map((c) => `${c.n} ${c.status}`).join(", ") || "no trials yet"}`);
      if (sweep.status !== "running") break;
      if (Date.now() > deadline) throw new Error("the sweep did not finish in time (raise --timeout-minutes)");
      await new Promise((resolve) => setTimeout(resolve, 15_000));
    }
    best = (
      await sql<{ id: string }[]>`
        select id from trials where sweep_id = ${sweepId} and status = 'completed' and objective is not null
        order by objective asc limit 2`
    ).map((row) => row.id);
  } finally {
    await close();
  }
  if (best.length < 2) throw new Error(`need two completed trials to compare, found ${best.length}`);

  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    fs.mkdirSync(outDir, { recursive: true });
    const shoot = async (route: string, file: string, ready: (page: Page) => Promise<void>) => {
      await page.goto(new URL(route, base).toString());
      await ready(page);
      await page.waitForTimeout(1000); // chart animations settle
      await page.screenshot({ path: path.join(outDir, file), fullPage: true });
      console.log(`wrote ${path.relative(repoRoot, path.join(outDir, file))}`);
    };
    const chartsDrawn = async (p: Page) => {
      await p.locator(".recharts-line-curve").first().waitFor();
    };
    const gridsLoaded = async (p: Page) => {
      await chartsDrawn(p);
      await p.evaluate(() => window.scrollTo(0, document.body.scrollHeight)); // lazy grids below the fold load too
      await p.waitForFunction(() => [...document.images].every((img) => img.complete && img.naturalWidth > 0));
    };
    await shoot(`sweeps/${sweepId}`, "sweep.png", chartsDrawn);
    await shoot(`runs/${best[0]}`, "run.png", gridsLoaded);
    await shoot(`compare?runs=${best.join(",")}`, "compare.png", gridsLoaded);
  } finally {
    await browser.close();
  }
} finally {
  await up.stop("SIGINT", 60_000);
  fs.rmSync(home, { recursive: true, force: true });
}
