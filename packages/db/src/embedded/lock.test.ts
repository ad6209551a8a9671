import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, exclusiveCreateLock, LockTimeoutError } from "./lock.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-lock-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function serialises(acquire: () => Promise<{ release(): Promise<void> }>): Promise<string[]> {
  const events: string[] = [];
  const first = await acquire();
  events.push("first acquired");
  const second = acquire().then((lock) => {
    events.push("second acquired");
    return lock;
  });
  await new Promise((r) => setTimeout(r, 300));
  events.push("first releasing");
  await first.release();
  await (await second).release();
  return events;
}

describe("file lock", () => {
  it("flock: a second taker waits until the first releases", async () => {
    const file = path.join(dir, "a.lock");
    expect(await serialises(() => acquireLock(file))).toEqual(["first acquired", "first releasing", "second acquired"]);
  });

  it("flock: a holder killed with SIGKILL frees the lock (no stale lock possible)", async () => {
    const file = path.join(dir, "b.lock");
    // Another process takes the lock through acquireLock, then is killed without releasing it.
    const script = `import("${path.join(here, "lock.ts")}").then(async (m) => { await m.acquireLock(${JSON.stringify(file)}); console.log("locked"); setInterval(() => {}, 1e6); })`;
    const holder = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    await expect(acquireLock(file, { timeoutMs: 1000 })).rejects.toBeInstanceOf(LockTimeoutError);
    holder.kill("SIGKILL");
    await new Promise((r) => holder.once("exit", r));
    const lock = await acquireLock(file, { timeoutMs: 5000 });
    await lock.release();
  });

  it("exclusive-create fallback: serialises, and takes over a lock whose holder pid is dead", async () => {
    const file = path.join(dir, "c.lock.pid");
    expect(await serialises(() => exclusiveCreateLock(file, 10_000))).toEqual(["first acquired", "first releasing", "second acquired"]);
    const dead = spawn("true");
    await new Promise((r) => dead.once("exit", r));
    fs.writeFileSync(file, `${dead.pid}\n`);
    const lock = await exclusiveCreateLock(file, 2000);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    await lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });
});
