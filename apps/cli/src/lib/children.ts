import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Keeps the last lines a child printed, so a failure can show them instead of a bare exit code. */
export class OutputTail {
  private lines: string[] = [];
  constructor(private readonly max = 40) {}
  push(chunk: string): void {
    for (const line of chunk.split(/\r?\n/)) {
      if (line.trim() === "") continue;
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  text(indent = "  "): string {
    return this.lines.map((line) => indent + line).join("\n");
  }
}

export interface ManagedChild {
  name: string;
  /** How long it may take to stop after SIGTERM before it is killed. */
  stopGraceMs?: number;
  process: ChildProcess;
  tail: OutputTail;
  logFile: string;
  /** Resolves once the process has exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Spawns a child whose stdout+stderr go to a log file (and into a tail buffer); `onLine` receives
 * each stderr line so the caller can echo errors to the terminal.
 */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { logFile: string; onStderrLine?: (line: string) => void; onStdoutLine?: (line: string) => void },
): ManagedChild {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.createWriteStream(options.logFile, { flags: "a" });
  log.write(`\n--- ${new Date().toISOString()} ${command} ${args.join(" ")}\n`);
  // Own process group: a terminal's Ctrl-C reaches only the supervising `ganboard up`, which then
  // signals each child exactly once (a runner treats a second signal as "quit without checkpoint").
  const child = spawn(command, args, { detached: true, ...options, stdio: ["ignore", "pipe", "pipe"] });
  const tail = new OutputTail();
  let info: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  const wire = (stream: NodeJS.ReadableStream | null, onLine?: (line: string) => void): void => {
    if (!stream) return;
    let pending = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      log.write(chunk);
      tail.push(chunk);
      if (!onLine) return;
      pending += chunk;
      const parts = pending.split(/\r?\n/);
      pending = parts.pop() ?? "";
      for (const line of parts) if (line.trim() !== "") onLine(line);
    });
  };
  wire(child.stdout, options.onStdoutLine);
  wire(child.stderr, options.onStderrLine);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", (error) => {
      tail.push(`failed to start: ${error.message}`);
      info ??= { code: 127, signal: null };
      log.end();
      resolve(info);
    });
    child.once("exit", (code, signal) => {
      info = { code, signal };
      log.end();
      resolve(info);
    });
  });
  return { name, process: child, tail, logFile: options.logFile, exited, exitInfo: () => info };
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the child is gone. */
export async function stopChild(child: ManagedChild, graceMs = child.stopGraceMs ?? 10_000): Promise<void> {
  if (child.exitInfo() || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}
