#!/usr/bin/env node
// `npm test`: every suite — vitest (unit + integration against real Postgres), then Playwright (real
// Chromium against a real `ganboard up`). Exits non-zero if anything failed, and ends with one
// summary line `N passed, N failed` that CI reads.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const reportsDir = path.join(root, "test", "artifacts", "reports");
fs.mkdirSync(reportsDir, { recursive: true });

function bin(name) {
  return path.join(root, "node_modules", ".bin", name);
}

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", (error) => {
      console.error(`cannot run ${command}: ${error.message}`);
      resolve({ code: 127, seconds: (Date.now() - started) / 1000 });
    });
    child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), seconds: (Date.now() - started) / 1000 }));
  });
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (interrupted = true));

const database = process.env.DATABASE_URL ? "DATABASE_URL" : "the embedded PostgreSQL (GANBOARD_HOME or .ganboard/)";
console.log(`ganboard tests — database: ${database}\n`);

const results = [];

// 1. vitest: unit and integration suites.
{
  const reportFile = path.join(reportsDir, "vitest.json");
  fs.rmSync(reportFile, { force: true });
  const { code, seconds } = await run(bin("vitest"), [
    "run",
    "--passWithNoTests",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${reportFile}`,
  ]);
  const report = readJson(reportFile);
  let passed = report?.numPassedTests ?? 0;
  let failed = report?.numFailedTests ?? 0;
  // A suite that fails to load (syntax error, missing module) has no tests but is still a failure.
  const brokenSuites = (report?.testResults ?? []).filter((suite) => suite.status === "failed" && suite.assertionResults?.length === 0).length;
  failed += brokenSuites;
  if (code !== 0 && failed === 0) failed = 1; // vitest failed without a usable report: count it.
  results.push({ name: "vitest", passed, failed, seconds, code });
}

// 2. Playwright: browser tests in Chromium.
if (!interrupted) {
  const reportFile = path.join(reportsDir, "playwright.json");
  fs.rmSync(reportFile, { force: true });
  const { code, seconds } = await run(bin("playwright"), ["test", "--reporter=list,json"], {
    PLAYWRIGHT_JSON_OUTPUT_FILE: reportFile,
  });
  const stats = readJson(reportFile)?.stats;
  const passed = (stats?.expected ?? 0) + (stats?.flaky ?? 0);
  let failed = stats?.unexpected ?? 0;
  if (code !== 0 && failed === 0) failed = 1; // config error, no browser, crash: still a failure.
  results.push({ name: "browser", passed, failed, seconds, code });
}

console.log("");
for (const r of results) {
  console.log(`${r.name.padEnd(8)} ${r.passed} passed, ${r.failed} failed in ${r.seconds.toFixed(1)} s${r.code !== 0 ? ` (exit ${r.code})` : ""}`);
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0) + (interrupted ? 1 : 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || results.some((r) => r.code !== 0) ? 1 : 0);
