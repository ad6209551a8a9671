import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { spawnLogged, type ManagedChild } from "./children.ts";
import { dashboardDir, logsDir, repoRoot } from "./paths.ts";
import { startProgress } from "./terminal.ts";

/** A workspace package's folder from its name, through the npm workspace link in node_modules. */
function workspaceDir(name: string): string | undefined {
  try {
    return fs.realpathSync(path.join(repoRoot, "node_modules", ...name.split("/")));
  } catch {
    return undefined;
  }
}

/** @ganboard/* packages the dashboard bundles: its own dependencies, transitively, plus api and db. */
function bundledWorkspacePackages(): string[] {
  const seen = new Set<string>();
  const queue = ["@ganboard/api", "@ganboard/db"];
  const readDeps = (dir: string): string[] => {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => name.startsWith("@ganboard/"));
    } catch {
      return [];
    }
  };
  queue.push(...readDeps(dashboardDir));
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = workspaceDir(name);
    if (dir) queue.push(...readDeps(dir));
  }
  return [...seen].flatMap((name) => {
    const dir = workspaceDir(name);
    return dir ? [path.join(dir, "src"), path.join(dir, "package.json")] : [];
  });
}

/**
 * Everything the production build of the dashboard is made from. A source newer than the last
 * build triggers a rebuild, so `ganboard up` never serves stale pages after a `git pull`.
 */
function buildInputs(): string[] {
  return [dashboardDir, ...bundledWorkspacePackages(), path.join(repoRoot, "package-lock.json")];
}
const IGNORED_NAMES = new Set(["node_modules", ".next", "next-env.d.ts", ".turbo", ".build.lock"]);
const IGNORED_SUFFIXES = [".test.ts", ".test.tsx", ".tsbuildinfo"];

const buildIdFile = path.join(dashboardDir, ".next", "BUILD_ID");

function newestMtime(entry: string): { mtimeMs: number; file: string } {
  let newest = { mtimeMs: 0, file: entry };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(entry);
  } catch {
    return newest;
  }
  if (!stat.isDirectory()) return { mtimeMs: stat.mtimeMs, file: entry };
  for (const name of fs.readdirSync(entry)) {
    if (IGNORED_NAMES.has(name) || IGNORED_SUFFIXES.some((suffix) => name.endsWith(suffix))) continue;
    const candidate = newestMtime(path.join(entry, name));
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** Why a build is needed, or undefined when the existing one is current. */
export function dashboardBuildReason(): string | undefined {
  let builtAt: number;
  try {
    builtAt = fs.statSync(buildIdFile).mtimeMs;
  } catch {
    return "no build of the dashboard yet (first start)";
  }
  const newest = buildInputs().map(newestMtime).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  if (newest.mtimeMs > builtAt) return `sources changed since the last build (${path.relative(repoRoot, newest.file)})`;
  return undefined;
}

function nextBin(): string {
  return createRequire(path.join(dashboardDir, "package.json")).resolve("next/dist/bin/next");
}

/** Rough position in `next build` from the lines it prints, for the progress bar. */
export function buildPhase(line: string): { text: string; fraction: number } | undefined {
  const clean = line.replace(/\x1b\[[0-9;]*m/g, "").trim();
  if (/Creating an optimized production build/i.test(clean)) return { text: "compiling", fraction: 0.1 };
  if (/Compiled successfully|Compiled with warnings/i.test(clean)) return { text: "compiled", fraction: 0.55 };
  if (/(Running TypeScript|Linting and checking|Checking validity of types)/i.test(clean)) return { text: "type-checking", fraction: 0.6 };
  if (/Collecting page data/i.test(clean)) return { text: "collecting page data", fraction: 0.75 };
  const pages = /Generating static pages.*?\((\d+)\/(\d+)\)/i.exec(clean);
  if (pages) {
    const done = Number(pages[1]);
    const total = Math.max(1, Number(pages[2]));
    return { text: `generating pages ${done}/${total}`, fraction: 0.8 + 0.15 * (done / total) };
  }
  if (/Finalizing page optimization|Collecting build traces/i.test(clean)) return { text: "finalizing", fraction: 0.97 };
  return undefined;
}

export class DashboardBuildError extends Error {
  override name = "DashboardBuildError";
}

const buildLockFile = path.join(dashboardDir, ".build.lock");

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One `next build` at a time per checkout (two `ganboard up`s, or `npm test` beside `npm start`). */
async function withBuildLock<T>(onWait: (holder: number) => void, fn: () => Promise<T>): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      fs.writeFileSync(buildLockFile, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(buildLockFile, "utf8").trim());
      if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
        fs.rmSync(buildLockFile, { force: true }); // left by a killed build
        continue;
      }
      if (!waited) onWait(holder);
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(buildLockFile, { force: true });
  }
}

/** Builds the dashboard when there is no build or its sources changed; otherwise does nothing. */
export async function ensureDashboardBuilt(): Promise<void> {
  if (!dashboardBuildReason()) return;
  await withBuildLock(
    (holder) => process.stderr.write(`… Waiting for another dashboard build (pid ${holder}) to finish\n`),
    async () => {
      // Another process may have built it while we waited.
      const reason = dashboardBuildReason();
      if (reason) await buildDashboard(reason);
    },
  );
}

/** Runs `next build` in apps/dashboard with a progress bar; output goes to a log file. */
export async function buildDashboard(reason: string): Promise<void> {
  const logFile = path.join(logsDir(), "dashboard-build.log");
  const progress = startProgress(`Building the dashboard: ${reason}`);
  const child = spawnLogged("next build", process.execPath, [nextBin(), "build"], {
    cwd: dashboardDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    logFile,
    onStdoutLine: (line) => {
      const phase = buildPhase(line);
      if (phase) progress.update(`Building the dashboard: ${phase.text}`, phase.fraction);
    },
  });
  const stop = (): void => {
    child.process.kill("SIGTERM");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const { code, signal } = await child.exited;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  if (code === 0) {
    progress.done("Built the dashboard");
    return;
  }
  progress.fail("Building the dashboard failed");
  throw new DashboardBuildError(
    `\`next build\` ${signal ? `was stopped by ${signal}` : `exited with code ${code}`}. Last lines:\n${child.tail.text()}\nFull log: ${logFile}`,
  );
}

export interface DashboardOptions {
  host: string;
  port: number;
  env: Record<string, string>;
  onStderrLine?: (line: string) => void;
}

/** Starts `next start` on host:port; the caller waits for it to answer. */
export function startDashboard(options: DashboardOptions): ManagedChild {
  return spawnLogged("dashboard", process.execPath, [nextBin(), "start", "--hostname", options.host, "--port", String(options.port)], {
    cwd: dashboardDir,
    env: { ...process.env, ...options.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    logFile: path.join(logsDir(), "dashboard.log"),
    onStderrLine: options.onStderrLine,
  });
}
