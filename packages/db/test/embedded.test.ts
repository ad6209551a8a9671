/**
 * The embedded PostgreSQL's lifecycle, always on the embedded path (whatever DATABASE_URL says), each
 * test in its own temp GANBOARD_HOME: concurrent start-or-join from real processes, clean shutdown on
 * SIGTERM, restart keeping data, recovery after kill -9.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { inspectEmbedded, startOrJoinEmbedded, type EmbeddedHandle } from "../src/embedded/server.ts";
import { embeddedPaths } from "../src/embedded/paths.ts";
import { isProcessAlive, waitForExit } from "../src/embedded/proc.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../..");
const fixture = path.join(here, "fixtures/hold-embedded.ts");

const homes: string[] = [];
const children: ChildProcess[] = [];
const handles: EmbeddedHandle[] = [];

function tempHome(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-embedded-test-"));
  fs.chmodSync(dir, 0o755); // as root the server runs as `postgres`, which must reach the folder
  homes.push(dir);
  return path.join(dir, "home");
}

let seed: string;

/** A home whose data folder was initialised once (initdb is the slow part), copied with owners kept. */
function seededHome(): string {
  const home = tempHome();
  execFileSync("cp", ["-a", seed, home]);
  return home;
}

beforeAll(async () => {
  seed = tempHome();
  // initdb without its final fsync: the seed's durability is not what these tests check.
  const handle = await startOrJoinEmbedded({ home: seed, handleSignals: false, initNoSync: true });
  await handle.release();
});

interface HolderLine {
  url: string;
  owner: boolean;
  pid: number;
  postmasterPid: number | null;
}

function startHolder(home: string, mode?: "exit-without-release"): { child: ChildProcess; ready: Promise<HolderLine> } {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.GANBOARD_HOME;
  const child = spawn(process.execPath, ["--import", "tsx", fixture, home, ...(mode ? [mode] : [])], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const ready = new Promise<HolderLine>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as HolderLine);
    });
    child.once("exit", (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
  });
  return { child, ready };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Pids of postmasters serving `dataDir` (their command line names it) and of all their children. */
function postgresProcesses(dataDir: string): number[] {
  const postmasters: number[] = [];
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cmd.includes(dataDir)) postmasters.push(pid);
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  const all = new Set(postmasters);
  for (const [pid, ppid] of parentOf) if (all.has(ppid)) all.add(pid);
  return [...all];
}

function countPostmasters(dataDir: string): number {
  return postgresProcesses(dataDir).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(dataDir);
    } catch {
      return false;
    }
  }).length;
}

async function query<T extends postgres.Row>(url: string, fn: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exitOf(child);
    }
  }
  for (const handle of handles.splice(0)) await handle.release();
});

afterAll(() => {
  for (const dir of homes) {
    const dataDir = embeddedPaths(path.join(dir, "home")).dataDir;
    for (const pid of postgresProcesses(dataDir)) process.kill(pid, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("embedded PostgreSQL", () => {
  it("two processes starting at once share one server; SIGTERM to the owner stops it with no orphans", async () => {
    const home = tempHome();
    const { dataDir, stateFile } = embeddedPaths(home);
    const a = startHolder(home);
    const b = startHolder(home);
    const [la, lb] = await Promise.all([a.ready, b.ready]);

    expect(la.url).toBe(lb.url);
    expect([la.owner, lb.owner].filter(Boolean)).toHaveLength(1);
    expect(countPostmasters(dataDir)).toBe(1);
    expect(new URL(la.url).port).not.toBe("5432");
    const [row] = await query(la.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
    expect(row.one).toBe(1);

    const owner = la.owner ? a : b;
    const joiner = la.owner ? b : a;
    const ownerLine = la.owner ? la : lb;
    const before = postgresProcesses(dataDir);
    expect(before.length).toBeGreaterThan(1); // postmaster plus its workers
    owner.child.kill("SIGTERM");
    const exit = await exitOf(owner.child);
    expect(exit.code).toBe(128 + 15);
    expect(postgresProcesses(dataDir)).toEqual([]);
    for (const pid of before) expect(isProcessAlive(pid)).toBe(false);
    expect(isProcessAlive(ownerLine.postmasterPid!)).toBe(false);
    expect(fs.existsSync(stateFile)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, "postmaster.pid"))).toBe(false); // clean shutdown removes it
    // The joiner is not the owner and is unaffected in its own lifetime.
    expect(joiner.child.exitCode).toBeNull();
  });

  it("a restart keeps the data and the port", async () => {
    const home = seededHome();
    const first = await startOrJoinEmbedded({ home, handleSignals: false });
    expect(first.owner).toBe(true);
    await query(first.url, (sql) => sql`create table kept (v text)`);
    await query(first.url, (sql) => sql`insert into kept values ('survives restarts')`);
    await first.release();
    expect(postgresProcesses(first.dataDir)).toEqual([]);

    const second = await startOrJoinEmbedded({ home, handleSignals: false });
    handles.push(second);
    expect(second.owner).toBe(true);
    expect(second.url).toBe(first.url);
    const rows = await query(second.url, (sql) => sql<{ v: string }[]>`select v from kept`);
    expect(rows.map((r) => r.v)).toEqual(["survives restarts"]);
  });

  it("recovers after the owner was killed with SIGKILL: the orphaned server is adopted", async () => {
    const home = seededHome();
    const { dataDir, stateFile } = embeddedPaths(home);
    const holder = startHolder(home);
    const line = await holder.ready;
    expect(line.owner).toBe(true);
    await query(line.url, (sql) => sql`create table t (v int)`);
    holder.child.kill("SIGKILL");
    await exitOf(holder.child);
    // The owner died without cleaning up: its state file is stale and the server is orphaned.
    expect(JSON.parse(fs.readFileSync(stateFile, "utf8")).pid).toBe(line.pid);
    expect(isProcessAlive(line.postmasterPid!)).toBe(true);

    const handle = await startOrJoinEmbedded({ home, handleSignals: false });
    handles.push(handle);
    expect(handle.owner).toBe(true);
    expect(handle.url).toBe(line.url);
    expect(JSON.parse(fs.readFileSync(stateFile, "utf8")).pid).toBe(process.pid);
    expect(countPostmasters(dataDir)).toBe(1);
    await query(handle.url, (sql) => sql`insert into t values (1)`);
    await handle.release();
    expect(postgresProcesses(dataDir)).toEqual([]);
  });

  it("recovers when both the owner and the server were killed (stale state file and postmaster.pid)", async () => {
    const home = seededHome();
    const { dataDir, stateFile } = embeddedPaths(home);
    const holder = startHolder(home);
    const line = await holder.ready;
    await query(line.url, (sql) => sql`create table t (v int)`);
    await query(line.url, (sql) => sql`insert into t values (42)`);
    const workers = postgresProcesses(dataDir);
    holder.child.kill("SIGKILL");
    process.kill(line.postmasterPid!, "SIGKILL");
    await exitOf(holder.child);
    for (const pid of workers) await waitForExit(pid, 10_000);
    expect(fs.existsSync(stateFile)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, "postmaster.pid"))).toBe(true);

    const handle = await startOrJoinEmbedded({ home, handleSignals: false });
    handles.push(handle);
    expect(handle.owner).toBe(true);
    const rows = await query(handle.url, (sql) => sql<{ v: number }[]>`select v from t`);
    expect(rows.map((r) => r.v)).toEqual([42]);
    expect(countPostmasters(dataDir)).toBe(1);
  });

  it("an owner that exits without releasing still stops its server (exit hook)", async () => {
    const home = seededHome();
    const { dataDir, stateFile } = embeddedPaths(home);
    const holder = startHolder(home, "exit-without-release");
    const line = await holder.ready;
    expect(line.owner).toBe(true);
    expect((await exitOf(holder.child)).code).toBe(0);
    expect(await waitForExit(line.postmasterPid!, 30_000)).toBe(true);
    expect(postgresProcesses(dataDir)).toEqual([]);
    expect(fs.existsSync(stateFile)).toBe(false);
  });

  it("a joiner in the same process does not stop the server on release", async () => {
    const home = seededHome();
    const owner = await startOrJoinEmbedded({ home, handleSignals: false });
    handles.push(owner);
    const joiner = await startOrJoinEmbedded({ home, handleSignals: false });
    expect(joiner.owner).toBe(false);
    expect(joiner.url).toBe(owner.url);
    await joiner.release();
    const [row] = await query(owner.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
    expect(row.one).toBe(1);
    expect(await inspectEmbedded(home)).toMatchObject({ url: owner.url, pid: process.pid, ownerAlive: true });
    await owner.release();
    expect(await inspectEmbedded(home)).toBeNull();
  });

  it.runIf(process.getuid?.() === 0)("as root, a home the postgres user cannot enter keeps its data in a reachable folder, linked from the home", async () => {
    const privateDir = tempHome(); // …/home inside a 0755 temp dir
    fs.mkdirSync(privateDir, { mode: 0o700 }); // like a checkout under /root
    const home = path.join(privateDir, ".ganboard");
    const relocatedBase = path.join(path.dirname(privateDir), "var-lib-ganboard");
    const saved = process.env.GANBOARD_ROOT_DATA_DIR;
    process.env.GANBOARD_ROOT_DATA_DIR = relocatedBase;
    try {
      const handle = await startOrJoinEmbedded({ home, handleSignals: false, initNoSync: true });
      handles.push(handle);
      expect(handle.owner).toBe(true);
      expect(handle.dataDir.startsWith(relocatedBase)).toBe(true);
      expect(fs.lstatSync(path.join(home, "postgres")).isSymbolicLink()).toBe(true);
      const [row] = await query(handle.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
      expect(row.one).toBe(1);
      await handle.release();
      const again = await startOrJoinEmbedded({ home, handleSignals: false });
      handles.push(again);
      expect(again.dataDir).toBe(handle.dataDir);
      expect(again.url).toBe(handle.url);
    } finally {
      if (saved === undefined) delete process.env.GANBOARD_ROOT_DATA_DIR;
      else process.env.GANBOARD_ROOT_DATA_DIR = saved;
    }
  });
});
