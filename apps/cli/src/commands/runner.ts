import { Command, Option } from "commander";
import { connect, DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_ATTEMPTS, STALE_AFTER_HEARTBEATS, migrate, msFromEnv, resolveDatabase, trialLeaseSettingsFromEnv } from "@ganboard/db";
import { BACKENDS, type BackendName } from "@ganboard/gan/config";
import { Runner, withRetry, type RunnerEvent } from "@ganboard/runner";
import { formatDuration, note, renderBar } from "../lib/terminal.ts";

/** How long a starting runner waits for an unreachable database before it gives up. */
const STARTUP_RETRY_MS = 60_000;

/** Renders runner events: a redrawn status line on a terminal, plain log lines otherwise. */
export function createRunnerDisplay(stream: NodeJS.WriteStream = process.stderr): (event: RunnerEvent) => void {
  const tty = Boolean(stream.isTTY) && process.env.TERM !== "dumb";
  let lastPlain = 0;
  let statusShown = false;
  let trialStarted = Date.now();
  let startStep = 0;
  const print = (line: string) => {
    if (tty && statusShown) stream.write("\r\x1b[2K");
    statusShown = false;
    stream.write(`${line}\n`);
  };
  return (event) => {
    switch (event.type) {
      case "registered":
        print(`runner ${event.runnerId} ready on ${event.backend.name} (${event.backend.device})`);
        break;
      case "waiting":
        if (!tty) print("waiting for queued trials…");
        else {
          stream.write(`\r\x1b[2Kwaiting for queued trials…`);
          statusShown = true;
        }
        break;
      case "trial-started":
        trialStarted = Date.now();
        startStep = event.resumedFromStep ?? 0;
        print(`trial #${event.trial.number} (${event.trial.id}) attempt ${event.trial.attempt}${event.resumedFromStep !== null ? `, resuming at step ${event.resumedFromStep}` : ""}`);
        break;
      case "progress": {
        const done = event.step - startStep;
        const left = event.totalSteps - event.step;
        const eta = done > 0 ? ((Date.now() - trialStarted) / done) * left : NaN;
        const text =
          `trial #${event.trial.number} epoch ${event.epoch}/${event.epochs} ${renderBar(event.step / Math.max(1, event.totalSteps), 20)} ` +
          `step ${event.step}/${event.totalSteps} · ${event.imagesPerSecond.toFixed(1)} img/s · ` +
          `loss D ${event.lossD.toFixed(3)} G ${event.lossG.toFixed(3)} · ETA ${Number.isFinite(eta) ? formatDuration(eta) : "…"}`;
        if (tty) {
          stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}`);
          statusShown = true;
        } else if (Date.now() - lastPlain > 5_000) {
          lastPlain = Date.now();
          print(text);
        }
        break;
      }
      case "trial-ended":
        print(`trial #${event.trial.number} ${event.status}${event.error ? `: ${event.error}` : ""}`);
        break;
      case "log":
        if (event.level !== "debug") print(`${event.level === "info" ? "" : `${event.level}: `}${event.message}`);
        break;
      case "stopped":
        print(`runner stopped after ${event.trialsRun} trial(s)`);
        break;
    }
  };
}

export function register(program: Command): void {
  program
    .command("runner")
    .description("Train queued trials from the database, one at a time (run one per GPU, on any number of hosts).")
    .option("--database-url <url>", "Postgres to take work from (default: DATABASE_URL, else the embedded one)")
    .addOption(new Option("--backend <name>", "force a training backend").choices([...BACKENDS]))
    .option("--once", "exit when the queue is empty instead of waiting for work")
    .option("--max-trials <n>", "stop after this many trials", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--max-trials must be a positive integer (got "${v}")`);
      return n;
    })
    .option("--name <name>", "runner id shown in the dashboard (default: host-pid-random)")
    .addHelpText(
      "after",
      "\nCtrl-C or SIGTERM finishes the current step, checkpoints, puts the trial back in the queue and exits;\n" +
        `a second Ctrl-C exits at once. Timings: GANBOARD_HEARTBEAT_MS (${DEFAULT_HEARTBEAT_MS}), GANBOARD_STALE_AFTER_MS (${STALE_AFTER_HEARTBEATS} heartbeats),\n` +
        `GANBOARD_POLL_MS (5000), GANBOARD_MAX_ATTEMPTS (${DEFAULT_MAX_ATTEMPTS}); the dashboard requeues with the same ones.`,
    )
    .action(async (opts: { databaseUrl?: string; backend?: BackendName; once?: boolean; maxTrials?: number; name?: string }) => {
      // A runner started while Postgres restarts (or before it is up) waits for it instead of exiting.
      const startup = { giveUpAfterMs: STARTUP_RETRY_MS, onRetry: (error: unknown, attempt: number, delay: number) => note(`database unavailable (${(error as Error).message}); retry ${attempt} in ${delay} ms`) };
      const database = await withRetry(() => resolveDatabase({ databaseUrl: opts.databaseUrl, handleSignals: false }), startup);
      const connection = connect(database.url, { max: 4, applicationName: "ganboard-runner" });
      // Read where the dashboard reads them, so both agree on which trials are dead.
      const lease = trialLeaseSettingsFromEnv();
      const runner = new Runner({
        sql: connection.sql,
        databaseUrl: database.url,
        name: opts.name,
        backend: opts.backend,
        once: opts.once,
        maxTrials: opts.maxTrials,
        ...lease,
        pollMs: msFromEnv("GANBOARD_POLL_MS"),
        onEvent: createRunnerDisplay(),
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          note(`\n${signal}: finishing the current step, checkpointing and requeueing the trial (Ctrl-C again to quit at once)`);
          runner.requestShutdown();
        } else {
          note("second signal: exiting now");
          process.exit(130);
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await withRetry(() => migrate(connection.sql), startup);
        await runner.run();
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await connection.close();
        await database.release();
      }
    });
}
