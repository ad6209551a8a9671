import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { migrate, resolveDatabase } from "@ganboard/db";
import { spawnLogged, stopChild, type ManagedChild } from "../lib/children.ts";
import { ensureDashboardBuilt, startDashboard } from "../lib/dashboard.ts";
import { assertPortAvailable, browserUrl, isLoopbackHost, waitForHttpOk } from "../lib/net.ts";
import { claimInstance } from "../lib/instance.ts";
import { ganboardHome, logsDir, repoRoot } from "../lib/paths.ts";
import { note, startProgress } from "../lib/terminal.ts";

export interface UpOptions {
  host: string;
  port: number;
  runners: number;
}

/** How long a runner may take to checkpoint and requeue its trial after SIGTERM before it is killed. */
const RUNNER_STOP_GRACE_MS = 60_000;

/** A dashboard that dies is restarted, unless it died this often within the window (then `up` stops). */
const DASHBOARD_MAX_RESTARTS = 5;
const DASHBOARD_RESTART_WINDOW_MS = 60_000;

/** How long the dashboard may take to answer its first request after `next start`. */
const DASHBOARD_READY_TIMEOUT_MS = 120_000;

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new InvalidArgumentError("a port is a whole number from 1 to 65535.");
  return port;
}

function parseRunnerCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new InvalidArgumentError("give a whole number of runners from 0 to 64.");
  return count;
}

export class UpError extends Error {
  override name = "UpError";
}

/** Refuses to open the dashboard to the network without a token (issue 6's security rule). */
export function assertHostAllowed(host: string, env: NodeJS.ProcessEnv = process.env): void {
  if (isLoopbackHost(host)) return;
  if (env.GANBOARD_TOKEN && env.GANBOARD_TOKEN.trim().length > 0) return;
  throw new UpError(
    `refusing to serve the dashboard on ${host}: that address is reachable from other machines and ` +
      "GANBOARD_TOKEN is not set. Use the default --host 127.0.0.1 (and an SSH tunnel for remote access), " +
      "or set GANBOARD_TOKEN to a long random secret before binding to a network address.",
  );
}

export function register(program: Command): void {
  program
    .command("up")
    .description(
      "Start ganboard: the database (embedded PostgreSQL unless DATABASE_URL is set), migrations, the dashboard and local runners. Ctrl-C stops everything.",
    )
    .option("--host <host>", "address the dashboard listens on (a non-loopback address requires GANBOARD_TOKEN)", "127.0.0.1")
    .option("--port <port>", "port the dashboard listens on", parsePort, 3000)
    .option(
      "--runners <count>",
      "local runner processes to start, each `ganboard runner` on this machine's backend (none start in a build without the `runner` command)",
      parseRunnerCount,
      1,
    )
    .addHelpText(
      "after",
      `
Environment:
  DATABASE_URL    use this PostgreSQL server instead of the embedded one
  GANBOARD_HOME   where the embedded database and logs live (default: <repo>/.ganboard);
                  one \`ganboard up\` per folder (a second one says where the first runs)
  GANBOARD_TOKEN  required with a non-loopback --host; every page and API call then needs it
                  (Authorization: Bearer <token>, or sign in at /login)

The dashboard is built (next build) on first start and whenever its sources change.
Logs: <GANBOARD_HOME>/logs/ (dashboard.log, dashboard-build.log, runner-N.log)`,
    )
    .action(async (options: UpOptions) => {
      try {
        process.exitCode = await up(options);
      } finally {
        // Whatever a library left open (timers, sockets) must not keep a stopped ganboard alive.
        setTimeout(() => process.exit(), 3_000).unref();
      }
    });
}

/** Runs until Ctrl-C/SIGTERM (exit code 0) or until a child dies (1). Start-up failures throw. */
export async function up(options: UpOptions): Promise<number> {
  assertHostAllowed(options.host);
  // Before anything starts: a second `up` on this data folder says where the first is and stops.
  const instance = claimInstance(ganboardHome(), { host: options.host, port: options.port });
  try {
    await assertPortAvailable(options.host, options.port);
  } catch (error) {
    instance.release();
    throw error;
  }

  // From here on a signal means "stop what has started, then exit 0".
  let stopSignal: NodeJS.Signals | undefined;
  let stopSignalAt = 0;
  let wakeOnSignal: () => void = () => {};
  const signalled = new Promise<void>((resolve) => (wakeOnSignal = resolve));
  const children: ManagedChild[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal) {
      // Under `npm start`, one Ctrl-C reaches us twice (terminal and npm both send it): only a
      // second press, a moment later, means "force".
      if (Date.now() - stopSignalAt < 1_500) return;
      note(`Received ${signal} again: killing everything now.`);
      for (const child of children) child.process.kill("SIGKILL");
      process.exit(130);
    }
    stopSignal = signal;
    stopSignalAt = Date.now();
    note(`\nStopping ganboard (${signal}); press Ctrl-C again to force.`);
    wakeOnSignal();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  let database: Awaited<ReturnType<typeof resolveDatabase>> | undefined;
  let exitCode = 0;
  try {
    database = await startDatabase();
    if (stopSignal) return 0;

    await ensureDashboardBuilt();
    if (stopSignal) return 0;

    const url = browserUrl(options.host, options.port);
    const serve = startProgress(`Starting the dashboard on ${url}`);
    const dashboardEnv = {
      DATABASE_URL: database.url,
      GANBOARD_DATABASE_EMBEDDED: database.embedded ? "1" : "0",
      GANBOARD_MIGRATIONS_DIR: path.join(repoRoot, "drizzle"),
    };
    const launchDashboard = () =>
      startDashboard({ host: options.host, port: options.port, env: dashboardEnv, onStderrLine: (line) => note(`[dashboard] ${line}`) });
    let dashboard = launchDashboard();
    children.push(dashboard);
    try {
      await Promise.race([
        waitForHttpOk(url, {
          timeoutMs: DASHBOARD_READY_TIMEOUT_MS,
          // With a token the page answers only to it (anything else is sent to /login).
          headers: process.env.GANBOARD_TOKEN?.trim() ? { Authorization: `Bearer ${process.env.GANBOARD_TOKEN.trim()}` } : undefined,
          shouldStop: () => {
            if (stopSignal) return "stopped";
            const info = dashboard.exitInfo();
            if (!info) return undefined;
            return `the dashboard exited during start-up (${info.signal ?? `code ${info.code}`}). Last lines:\n${dashboard.tail.text()}\nFull log: ${dashboard.logFile}`;
          },
        }),
        signalled,
      ]);
    } catch (error) {
      serve.fail("The dashboard did not start");
      if (stopSignal) return 0;
      throw new UpError(error instanceof Error ? error.message : String(error));
    }
    if (stopSignal) return 0;
    serve.done(`Dashboard ready`);

    children.push(...startRunners(options.runners, database.url));

    note("");
    note(`ganboard is up: ${url}`);
    note(`  database   ${database.embedded ? "embedded PostgreSQL" : "DATABASE_URL"} ${database.maskedUrl}`);
    note(`  logs       ${logsDir()}`);
    note("Press Ctrl-C to stop.");
    instance.ready(url);
    // The URL alone on stdout, for scripts: `ganboard up | head -1`.
    process.stdout.write(`${url}\n`);

    const restarts: number[] = [];
    for (;;) {
      const crashed = new Promise<ManagedChild>((resolve) => {
        for (const child of children) void child.exited.then(() => resolve(child));
      });
      const first = await Promise.race([signalled.then(() => undefined), crashed]);
      if (!first || stopSignal) break;
      const info = first.exitInfo();
      const why = `${first.name} stopped unexpectedly (${info?.signal ?? `code ${info?.code}`}).`;
      // The dashboard holds no state: bring it back, and leave the runners training meanwhile.
      const recent = restarts.filter((at) => Date.now() - at < DASHBOARD_RESTART_WINDOW_MS);
      if (first === dashboard && recent.length < DASHBOARD_MAX_RESTARTS) {
        restarts.splice(0, restarts.length, ...recent, Date.now());
        note(`${why} Restarting it (runners keep training). Log: ${first.logFile}`);
        dashboard = launchDashboard();
        children.splice(children.indexOf(first), 1, dashboard);
        continue;
      }
      note(`${why} Last lines:\n${first.tail.text()}\nFull log: ${first.logFile}`);
      exitCode = 1;
      break;
    }
    return exitCode;
  } finally {
    await shutdown(children, database);
    instance.release();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
  }
}

async function startDatabase(): Promise<Awaited<ReturnType<typeof resolveDatabase>>> {
  const external = Boolean(process.env.DATABASE_URL);
  const progress = startProgress(external ? "Connecting to DATABASE_URL" : "Starting the embedded PostgreSQL");
  let database: Awaited<ReturnType<typeof resolveDatabase>>;
  try {
    database = await resolveDatabase({ handleSignals: false, onProgress: (message: string) => progress.update(message) });
  } catch (error) {
    progress.fail(external ? "Cannot use DATABASE_URL" : "The embedded PostgreSQL did not start");
    throw error;
  }
  progress.done(`Database ready: ${database.maskedUrl}${database.embedded ? (database.owner ? " (embedded, started)" : " (embedded, joined)") : ""}`);
  const migrating = startProgress("Applying database migrations");
  try {
    const result = await migrate(database.url);
    migrating.done(result.applied === 0 ? `Migrations up to date (${result.total})` : `Applied ${result.applied} migration(s); ${result.total} in total`);
  } catch (error) {
    migrating.fail("Migrations failed");
    await database.release();
    throw error;
  }
  return database;
}

/** Local runners: `ganboard runner` child processes on this machine, pointed at the same database. */
function startRunners(count: number, databaseUrl: string): ManagedChild[] {
  if (count === 0) return [];
  const cliEntry = path.join(repoRoot, "apps", "cli", "bin", "ganboard.mjs");
  const runners: ManagedChild[] = [];
  for (let index = 1; index <= count; index++) {
    const runner = spawnLogged(`runner ${index}`, process.execPath, [cliEntry, "runner"], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, GANBOARD_RUNNER_INDEX: String(index) },
      logFile: path.join(logsDir(), `runner-${index}.log`),
      onStderrLine: (line) => note(`[runner ${index}] ${line}`),
    });
    // On SIGTERM a runner finishes its step, checkpoints and requeues its trial: give it time.
    runner.stopGraceMs = RUNNER_STOP_GRACE_MS;
    runners.push(runner);
  }
  note(`Runners: started ${count} (logs in ${logsDir()}).`);
  return runners;
}

async function shutdown(children: ManagedChild[], database: Awaited<ReturnType<typeof resolveDatabase>> | undefined): Promise<void> {
  if (children.length === 0 && !database) return;
  const progress = startProgress(children.some((c) => c.name.startsWith("runner")) ? "Stopping (runners checkpoint first)" : "Stopping");
  // Runners and dashboard first (they hold database connections), then the database.
  await Promise.all(children.map((child) => stopChild(child)));
  if (database) {
    progress.update(database.embedded && database.owner ? "Stopping the embedded PostgreSQL" : "Closing the database");
    try {
      await database.release();
    } catch (error) {
      progress.fail(`Stopping the database failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
  }
  progress.done("Stopped cleanly");
}
