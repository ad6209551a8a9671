import { spawn } from "node:child_process";
import fs from "node:fs";
import { isProcessAlive } from "./proc.ts";

/**
 * An exclusive inter-process lock on a file, held until `release()` or until this process dies.
 *
 * On Linux/BSD we hold a real flock(2) through a tiny child (`flock -x FILE sh -c 'echo locked; exec cat'`):
 * the kernel drops the lock the moment the child's stdin closes, which happens when we release or when this
 * process dies for any reason (even SIGKILL), so a crashed holder can never leave a stale lock behind.
 * The child runs in its own process group so a terminal Ctrl-C does not break the lock mid-start.
 * Without a `flock` binary (e.g. macOS) we fall back to an exclusive-create lock file holding our pid,
 * taken over when that pid is dead.
 */
export interface FileLock {
  release(): Promise<void>;
}

export class LockTimeoutError extends Error {
  override readonly name = "LockTimeoutError";
}

export async function acquireLock(lockPath: string, opts: { timeoutMs?: number; onWait?: (holder: string) => void } = {}): Promise<FileLock> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  try {
    return await flockViaChild(lockPath, timeoutMs, opts.onWait);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return exclusiveCreateLock(`${lockPath}.pid`, timeoutMs, opts.onWait);
    throw err;
  }
}

function holderOf(lockPath: string): string {
  try {
    const text = fs.readFileSync(lockPath, "utf8").trim();
    return text ? `pid ${text}` : "another process";
  } catch {
    return "another process";
  }
}

function flockViaChild(lockPath: string, timeoutMs: number, onWait?: (holder: string) => void): Promise<FileLock> {
  return new Promise<FileLock>((resolve, reject) => {
    fs.closeSync(fs.openSync(lockPath, "a"));
    const waitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const child = spawn("flock", ["-x", "-w", String(waitSeconds), lockPath, "sh", "-c", "echo locked; exec cat"], {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let settled = false;
    let stderr = "";
    const waitNotice = setTimeout(() => onWait?.(holderOf(lockPath)), 500);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (err) => {
      clearTimeout(waitNotice);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (settled || !chunk.toString().includes("locked")) return;
      settled = true;
      clearTimeout(waitNotice);
      // Record the holder for people (and error messages); the flock itself is what excludes.
      try {
        fs.writeFileSync(lockPath, `${process.pid}\n`);
      } catch {
        /* informational only */
      }
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      resolve({
        async release() {
          try {
            fs.writeFileSync(lockPath, "");
          } catch {
            /* informational only */
          }
          child.stdin.end();
          await exited;
        },
      });
    });
    child.once("exit", (code) => {
      clearTimeout(waitNotice);
      if (settled) return;
      settled = true;
      reject(
        code === 1
          ? new LockTimeoutError(`Timed out after ${waitSeconds}s waiting for the lock ${lockPath} (held by ${holderOf(lockPath)}).`)
          : new Error(`flock exited with code ${code}: ${stderr.trim()}`),
      );
    });
  });
}

export async function exclusiveCreateLock(lockPath: string, timeoutMs: number, onWait?: (holder: string) => void): Promise<FileLock> {
  const deadline = Date.now() + timeoutMs;
  let noticed = false;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      return {
        async release() {
          try {
            if (fs.readFileSync(lockPath, "utf8").trim() === String(process.pid)) fs.unlinkSync(lockPath);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(fs.readFileSync(lockPath, "utf8"), 10);
    } catch {
      continue; // removed between our create and read: try again
    }
    const stale = Number.isFinite(holder) ? !isProcessAlive(holder) : Date.now() - fs.statSync(lockPath).mtimeMs > 5000;
    if (stale) {
      // Move the stale file aside atomically; only one contender wins the rename of this inode.
      const aside = `${lockPath}.stale-${process.pid}`;
      try {
        fs.renameSync(lockPath, aside);
        fs.unlinkSync(aside);
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (!noticed) {
      noticed = true;
      onWait?.(`pid ${holder}`);
    }
    if (Date.now() > deadline) throw new LockTimeoutError(`Timed out waiting for the lock ${lockPath} (held by pid ${holder}).`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
