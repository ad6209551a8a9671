import fs from "node:fs";

/** True when a process with this pid exists (EPERM means it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie still answers kill(0) but is gone for our purposes.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
  } catch {
    /* no /proc (macOS) or raced with exit */
  }
  return true;
}

/** Command line of a process, or null where /proc is unavailable. */
export function processCommandLine(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a postgres postmaster serving `dataDir`. Guards against pid reuse after a reboot or
 * a crash. Without /proc we can only trust that the pid is alive.
 */
export function isPostmasterFor(pid: number, dataDir: string): boolean {
  if (!isProcessAlive(pid)) return false;
  const cmd = processCommandLine(pid);
  if (cmd === null) return fs.existsSync("/proc") ? false : true;
  return cmd.some((arg) => arg.endsWith("postgres")) && cmd.includes(dataDir);
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isProcessAlive(pid);
}

/** Stops a postmaster: fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. */
export async function stopPostmaster(pid: number, opts: { fastTimeoutMs?: number } = {}): Promise<void> {
  const steps: [NodeJS.Signals, number][] = [
    ["SIGINT", opts.fastTimeoutMs ?? 30_000],
    ["SIGQUIT", 10_000],
    ["SIGKILL", 5_000],
  ];
  for (const [signal, wait] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    if (await waitForExit(pid, wait)) return;
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not stop.`);
}
