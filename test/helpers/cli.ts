import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const cliEntry = path.join(repoRoot, "apps", "cli", "bin", "ganboard.mjs");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child CLI: the caller's, minus anything that would leak between tests. */
export function cliEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs `ganboard <args>` to completion (killed after timeoutMs). */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { cwd: repoRoot, env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface LongRunningCli {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern`; rejects if the process exits first or time runs out. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Sends `signal` and resolves with the exit status (SIGKILL after graceMs). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `ganboard <args>` and leaves it running (e.g. `up`, or `db url` holding the embedded server). */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): LongRunningCli {
  const child = spawn(process.execPath, [cliEntry, ...args], { cwd: repoRoot, env: opts.env ?? process.env });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitForStdout(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = stdout.split("\n").find((candidate) => pattern.test(candidate));
        if (line !== undefined) return line.trim();
        if (done) throw new Error(`ganboard ${args.join(" ")} exited before printing ${pattern}.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`ganboard ${args.join(" ")} printed no ${pattern} within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    },
    async stop(signal = "SIGTERM", graceMs = 30_000) {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** True when a line of a stack trace (`    at fn (file:line:col)`) appears in text. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+(\(|:\d+:\d+)/m.test(text);
}
