import fs from "node:fs";
import path from "node:path";

/**
 * One `ganboard up` per data folder (GANBOARD_HOME). A second one would join the same embedded
 * database and start a second set of runners and a second dashboard beside the first; instead it is
 * told where the running one is, before it starts or changes anything.
 */
export interface InstanceInfo {
  pid: number;
  host: string;
  port: number;
  /** Set once the dashboard answers. */
  url: string | null;
  startedAt: string;
}

export class AlreadyRunningError extends Error {
  override name = "AlreadyRunningError";
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readInfo(file: string): InstanceInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<InstanceInfo>;
    return Number.isInteger(info.pid) ? (info as InstanceInfo) : null;
  } catch {
    return null;
  }
}

export interface Instance {
  file: string;
  /** Records the dashboard URL for the next `up` to point at. */
  ready(url: string): void;
  /** Removes the record if it is still ours. Idempotent. */
  release(): void;
}

export function claimInstance(home: string, where: { host: string; port: number }): Instance {
  fs.mkdirSync(home, { recursive: true });
  const file = path.join(home, "up.json");
  const info: InstanceInfo = { pid: process.pid, host: where.host, port: where.port, url: null, startedAt: new Date().toISOString() };
  for (let tries = 0; ; tries++) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(info)}\n`, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || tries > 20) throw error;
    }
    const holder = readInfo(file);
    if (holder && isAlive(holder.pid)) {
      const where = holder.url ?? `http://${holder.host}:${holder.port}/ (still starting)`;
      throw new AlreadyRunningError(
        `ganboard is already running from this data folder (${home}): pid ${holder.pid}, started ${holder.startedAt}, dashboard at ${where}. ` +
          `Use that one, or stop it first (Ctrl-C in its terminal, or \`kill ${holder.pid}\`); a second ganboard needs its own GANBOARD_HOME.`,
      );
    }
    if (!holder && Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2_000) {
      // Being written by a ganboard starting this very moment: look again shortly.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      continue;
    }
    // Left by a ganboard that was killed: take it over.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
      fs.rmSync(aside, { force: true });
    } catch {
      /* another starter moved it first */
    }
  }
  let released = false;
  return {
    file,
    ready(url) {
      if (released) return;
      fs.writeFileSync(file, `${JSON.stringify({ ...info, url })}\n`);
    },
    release() {
      if (released) return;
      released = true;
      if (readInfo(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
