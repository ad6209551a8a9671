import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { connect, createSweep, ganboardHome, getSweep, listSweeps, migrate, resolveDatabase, stopSweep, SweepNotFoundError, type Sql, type SweepListItem } from "@ganboard/db";
import { formatIssue, safeParseSweepSpec, safeParseSweepYaml, searchedParameterNames, trialBudget, type SweepSpec } from "@ganboard/sweeps";
import { note } from "../lib/terminal.ts";

/** Where `ganboard up` serves the dashboard unless told otherwise (its --host/--port defaults). */
const DEFAULT_DASHBOARD_URL = "http://127.0.0.1:3000";

/** --dashboard-url, else GANBOARD_URL, else the URL a running `ganboard up` recorded (GANBOARD_HOME/up.json), else up's default. */
export function dashboardUrl(explicit?: string): string {
  let recorded: string | undefined;
  try {
    const info = JSON.parse(fs.readFileSync(path.join(ganboardHome(), "up.json"), "utf8")) as { url?: unknown };
    if (typeof info.url === "string") recorded = info.url;
  } catch {
    // No ganboard up running from this data folder (or it is still starting).
  }
  return (explicit ?? process.env.GANBOARD_URL ?? recorded ?? DEFAULT_DASHBOARD_URL).replace(/\/+$/, "");
}

/** Reads and validates a sweep file; every problem is reported with its line, and nothing is created. */
export function readSweepFile(file: string): { spec: SweepSpec; warnings: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`Cannot read sweep file ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  const result = safeParseSweepYaml(text);
  if (!result.success) {
    const lines = result.issues.map((i) => `  ${file}:${i.line ?? 1}: ${i.path}: ${i.message}`);
    throw new Error(`${file} is not a valid sweep (${result.issues.length} problem${result.issues.length === 1 ? "" : "s"}; nothing was created):\n${lines.join("\n")}`);
  }
  return { spec: result.spec, warnings: result.warnings.map((w) => `${file}:${w.line ?? 1}: warning: ${formatIssue({ ...w, line: undefined })}`) };
}

async function withDb<T>(databaseUrl: string | undefined, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const database = await resolveDatabase({ databaseUrl, handleSignals: false });
  const connection = connect(database.url, { max: 2, applicationName: "ganboard-sweep" });
  try {
    await migrate(connection.sql);
    return await fn(connection.sql);
  } finally {
    await connection.close();
    await database.release();
  }
}

/** A full id, or a unique prefix of one (as printed by `sweep list`). */
async function resolveSweepId(sql: Sql, idOrPrefix: string): Promise<string> {
  const wanted = idOrPrefix.toLowerCase();
  const matches = (await listSweeps(sql)).filter((s) => s.id.startsWith(wanted));
  if (matches.length === 1) return matches[0].id;
  if (matches.length === 0) throw new SweepNotFoundError(idOrPrefix);
  throw new Error(`"${idOrPrefix}" matches ${matches.length} sweeps (${matches.map((m) => m.id.slice(0, 8)).join(", ")}): give more of the id`);
}

function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(2) : String(Number(value.toPrecision(4)));
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}

function progress(s: SweepListItem): string {
  const parsed = safeParseSweepSpec(s.spec);
  const done = s.trials.completed + s.trials.pruned + s.trials.failed + s.trials.cancelled;
  const budget = parsed.success ? trialBudget(parsed.spec) : null;
  return `${done}/${budget ?? s.trials.total}${s.trials.running + s.trials.cancelling > 0 ? ` (${s.trials.running + s.trials.cancelling} running)` : ""}`;
}

export function register(program: Command): void {
  const sweep = program.command("sweep").description("Hyperparameter sweeps: runners sample each trial from the sweep's history as they ask for work.");
  const dbOption = ["--database-url <url>", "Postgres to use (default: DATABASE_URL, else the embedded one)"] as const;

  sweep
    .command("create")
    .description("Create a sweep from a YAML file (see examples/sweeps/); prints its id and dashboard link.")
    .argument("<file>", "sweep file, e.g. examples/sweeps/quickstart.yaml")
    .option(...dbOption)
    .option("--dashboard-url <url>", `dashboard base URL for the link (default: GANBOARD_URL, else the running \`ganboard up\`'s, else ${DEFAULT_DASHBOARD_URL})`)
    .action(async (file: string, opts: { databaseUrl?: string; dashboardUrl?: string }) => {
      const { spec, warnings } = readSweepFile(file);
      for (const w of warnings) note(w);
      const created = await withDb(opts.databaseUrl, (sql) => createSweep(sql, spec));
      process.stdout.write(`${created.id}\n`);
      note(`Created ${spec.method} sweep "${spec.name}" (${trialBudget(spec)} trials${spec.parallelism ? `, at most ${spec.parallelism} at once` : ""}).`);
      note(`Watch it: ${dashboardUrl(opts.dashboardUrl)}/sweeps/${created.id}`);
      note("Runners (`npx ganboard runner`, or `ganboard up`) start its trials as they ask for work.");
    });

  sweep
    .command("list")
    .description("List sweeps, newest first: status, progress and best value so far.")
    .option(...dbOption)
    .action(async (opts: { databaseUrl?: string }) => {
      const sweeps = await withDb(opts.databaseUrl, listSweeps);
      if (sweeps.length === 0) {
        note("No sweeps yet. Create one: ganboard sweep create examples/sweeps/quickstart.yaml");
        return;
      }
      const rows = [["ID", "NAME", "METHOD", "STATUS", "TRIALS", "BEST", "CREATED"]];
      for (const s of sweeps) {
        const metric = (s.spec as { metric?: { name?: string } }).metric?.name ?? "swd";
        rows.push([s.id.slice(0, 8), s.name, s.method, s.status, progress(s), s.best ? `${metric} ${fmt(s.best.objective)} (#${s.best.number})` : "–", s.createdAt.toISOString().slice(0, 16).replace("T", " ")]);
      }
      process.stdout.write(`${table(rows)}\n`);
    });

  sweep
    .command("show")
    .description("Show a sweep's trials (parameters, status, metric) and the best so far.")
    .argument("<id>", "sweep id (or a unique prefix, as `sweep list` prints)")
    .option(...dbOption)
    .option("--dashboard-url <url>", "dashboard base URL for the link")
    .action(async (id: string, opts: { databaseUrl?: string; dashboardUrl?: string }) => {
      const s = await withDb(opts.databaseUrl, async (sql) => getSweep(sql, await resolveSweepId(sql, id)));
      if (!s) throw new SweepNotFoundError(id);
      const parsed = safeParseSweepSpec(s.spec);
      const names = parsed.success ? searchedParameterNames(parsed.spec) : [];
      const metric = parsed.success ? parsed.spec.metric : { name: "swd", goal: "minimize" };
      const out: string[] = [];
      out.push(`${s.name}  (${s.method}, ${s.status})  ${s.id}`);
      out.push(`metric: ${metric.name} (${metric.goal})   trials: ${progress(s)}   ${dashboardUrl(opts.dashboardUrl)}/sweeps/${s.id}`);
      out.push(s.best ? `best so far: trial #${s.best.number}, ${metric.name} ${fmt(s.best.objective)}` : "best so far: – (no completed trial yet)");
      if (s.trialList.length > 0) {
        const numberOf = new Map(s.trialList.map((t) => [t.id, t.number]));
        const rows = [["#", "STATUS", "EPOCH", metric.name.toUpperCase(), ...names, "FROM"]];
        for (const t of s.trialList) {
          const config = (t.config ?? {}) as Record<string, unknown>;
          const lineage = t.parentTrialId ? `#${numberOf.get(t.parentTrialId) ?? "?"} @ epoch ${t.exploitEpoch}` : "";
          rows.push([
            `${t.number}${s.best?.trialId === t.id ? "*" : ""}`,
            t.status,
            String(t.epoch),
            fmt(t.objective),
            ...names.map((n) => (typeof config[n] === "number" ? fmt(config[n] as number) : String(config[n] ?? "–"))),
            lineage,
          ]);
        }
        out.push("", table(rows));
      }
      process.stdout.write(`${out.join("\n")}\n`);
    });

  sweep
    .command("stop")
    .description("Stop a sweep: no new trials; queued ones are cancelled, running ones finish (or stop, with --cancel-running).")
    .argument("<id>", "sweep id (or a unique prefix)")
    .option("--cancel-running", "also stop running trials (they checkpoint and end cancelled)")
    .option(...dbOption)
    .action(async (id: string, opts: { cancelRunning?: boolean; databaseUrl?: string }) => {
      const result = await withDb(opts.databaseUrl, async (sql) => stopSweep(sql, await resolveSweepId(sql, id), { cancelRunning: Boolean(opts.cancelRunning) }));
      const parts = [`sweep ${result.status}`];
      if (result.cancelledQueued > 0) parts.push(`${result.cancelledQueued} queued trial(s) cancelled`);
      if (result.cancellingRunning > 0) parts.push(`${result.cancellingRunning} running trial(s) asked to stop`);
      else if (result.stillRunning > 0) parts.push(`${result.stillRunning} running trial(s) will finish (--cancel-running stops them)`);
      process.stdout.write(`${parts.join("; ")}\n`);
    });
}
