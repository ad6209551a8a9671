/**
 * Test helpers: `createTestDatabase()` gives each test file its own freshly migrated database on the
 * test server, so files never see each other's rows and can run in parallel.
 *
 * The test server is, in order: the one the vitest globalSetup (test/setup/global-db.ts) provides —
 * DATABASE_URL when set, else one embedded PostgreSQL for the whole run —, else $DATABASE_URL, else a
 * throwaway embedded PostgreSQL started for this process (slower; used when running outside vitest).
 *
 * Databases are cloned from a migrated template (one per migration set), which takes tens of ms.
 *
 *   const t = await createTestDatabase();   // beforeAll
 *   await t.db.insert(trials).values(…);    // t.url for child processes
 *   await t.drop();                         // afterAll
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { connect, type Db, type Sql } from "./client.ts";
import { readEmbeddedState, startOrJoinEmbedded, type EmbeddedHandle } from "./embedded/server.ts";
import { isPostmasterFor, isProcessAlive, stopPostmaster } from "./embedded/proc.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { DatabaseUnavailableError, withDatabase } from "./url.ts";

export const TEST_URL_ENV = "GANBOARD_TEST_DATABASE_URL";
export const TEST_RUN_ID_ENV = "GANBOARD_TEST_RUN_ID";
/** Set by the global setup when the test server could not be started. */
export const TEST_ERROR_ENV = "GANBOARD_TEST_DATABASE_ERROR";
const TEST_DB_PREFIX = "gbt_";
const TEMPLATE_PREFIX = "ganboard_tpl_";
/** Advisory lock serialising template creation between parallel workers and concurrent runs. */
const TEMPLATE_LOCK_KEY = 0x67616e62_74706c00n;

export interface TestDatabase {
  /** URL of the fresh database (hand it to child processes). */
  url: string;
  /** Database name. */
  name: string;
  sql: Sql;
  db: Db;
  /** Closes `sql` and drops the database (terminating any other connections to it). Idempotent. */
  drop(): Promise<void>;
}

/** Run ids start with a base-36 timestamp (8 digits) so cleanupStaleTestResources can age them. */
const processRunId = `${Date.now().toString(36)}${process.pid.toString(36)}`;

let fallbackServer: Promise<EmbeddedHandle> | null = null;

async function injected(key: "ganboardTestDatabaseUrl" | "ganboardTestRunId"): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  try {
    const { inject } = await import("vitest");
    return inject(key) || undefined;
  } catch {
    return undefined;
  }
}

/** URL of the server that test databases are created on (a maintenance connection target). */
export async function testServerUrl(): Promise<string> {
  if (process.env[TEST_ERROR_ENV]) {
    throw new DatabaseUnavailableError(`The test database server could not be started: ${process.env[TEST_ERROR_ENV]}`);
  }
  const provided = process.env[TEST_URL_ENV] || (await injected("ganboardTestDatabaseUrl")) || process.env.DATABASE_URL;
  if (provided) return provided;
  fallbackServer ??= (async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-test-pg-"));
    fs.chmodSync(home, 0o755);
    const handle = await startOrJoinEmbedded({ home, ephemeral: true });
    process.once("beforeExit", () => void handle.release());
    return handle;
  })();
  return (await fallbackServer).url;
}

async function runId(): Promise<string> {
  return process.env[TEST_RUN_ID_ENV] || (await injected("ganboardTestRunId")) || processRunId;
}

function templateName(): string {
  const hash = crypto.createHash("sha256");
  for (const m of readMigrations()) hash.update(m.hash);
  return `${TEMPLATE_PREFIX}${hash.digest("hex").slice(0, 16)}`;
}

const ensuredTemplates = new Map<string, Promise<void>>();

/** Creates the migrated template database for the current migrations if this server lacks it. */
async function ensureTemplate(serverUrl: string, name: string): Promise<void> {
  const key = `${serverUrl} ${name}`;
  let pending = ensuredTemplates.get(key);
  if (!pending) {
    pending = (async () => {
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        const [present] = await admin`select 1 as x from pg_database where datname = ${name}`;
        if (present) return;
        await admin`select pg_advisory_lock(${TEMPLATE_LOCK_KEY.toString()}::bigint)`;
        try {
          const [again] = await admin`select 1 as x from pg_database where datname = ${name}`;
          if (again) return;
          // Build under a temporary name, then rename: a template must have no connections when cloned,
          // and nobody may clone a half-migrated one.
          const building = `${name}_b${crypto.randomBytes(3).toString("hex")}`;
          await admin.unsafe(`create database "${building}"`);
          await migrate(withDatabase(serverUrl, building));
          await admin.unsafe(`alter database "${building}" rename to "${name}"`);
        } finally {
          await admin`select pg_advisory_unlock(${TEMPLATE_LOCK_KEY.toString()}::bigint)`;
        }
      } finally {
        await admin.end({ timeout: 5 });
      }
    })();
    ensuredTemplates.set(key, pending);
    pending.catch(() => ensuredTemplates.delete(key));
  }
  return pending;
}

/** A fresh, migrated, uniquely named database on the test server. */
export async function createTestDatabase(opts: { max?: number; /** No tables, not migrated (for migration tests). */ empty?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = await testServerUrl();
  const template = opts.empty ? "template0" : templateName();
  if (!opts.empty) await ensureTemplate(serverUrl, template);
  const name = `${TEST_DB_PREFIX}${await runId()}_${process.pid.toString(36)}_${crypto.randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (err) {
        // 55006: the template is briefly in use (e.g. another run's clone); retry shortly.
        if ((err as { code?: string }).code !== "55006" || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = withDatabase(serverUrl, name);
  const conn = connect(url, { max: opts.max ?? 5, applicationName: "ganboard-test" });
  let dropped: Promise<void> | null = null;
  return {
    url,
    name,
    sql: conn.sql,
    db: conn.db,
    drop: () => {
      dropped ??= (async () => {
        await conn.close();
        await dropDatabase(serverUrl, name);
      })();
      return dropped;
    },
  };
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Drops every test database a run left behind (called by the globalSetup teardown). */
export async function dropRunDatabases(serverUrl: string, run: string): Promise<number> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${TEST_DB_PREFIX}${run}\\_%`}`;
    for (const { datname } of rows) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    return rows.length;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Prefixes of the temp folders that test servers live in (global setup, fallback, lifecycle tests). */
export const TEST_HOME_PREFIXES = ["ganboard-test-pg-", "ganboard-embedded-test-"];

/**
 * Removes what killed test runs left behind: temp server folders older than `maxAgeMs` whose owning
 * process is dead (stopping their orphaned postmaster), and test databases on `serverUrl` whose run id
 * (a base-36 timestamp) is older than `maxAgeMs`. Never touches anything a live process owns.
 */
export async function cleanupStaleTestResources(serverUrl: string | null, maxAgeMs = 6 * 3600_000): Promise<{ folders: number; databases: number }> {
  let folders = 0;
  const tmp = os.tmpdir();
  for (const entry of fs.readdirSync(tmp)) {
    if (!TEST_HOME_PREFIXES.some((p) => entry.startsWith(p))) continue;
    const dir = path.join(tmp, entry);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs < maxAgeMs) continue;
      const homes = [dir, ...fs.readdirSync(dir).map((e) => path.join(dir, e))].filter((h) => fs.existsSync(path.join(h, "postgres")));
      let inUse = false;
      for (const home of homes) {
        const state = readEmbeddedState(home);
        if (state && isProcessAlive(state.pid)) inUse = true;
        const pidFile = path.join(home, "postgres", "postmaster.pid");
        const pid = fs.existsSync(pidFile) ? Number.parseInt(fs.readFileSync(pidFile, "utf8"), 10) : NaN;
        if (!inUse && Number.isFinite(pid) && isPostmasterFor(pid, path.join(home, "postgres"))) await stopPostmaster(pid, { fastTimeoutMs: 5000 });
      }
      if (inUse) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      folders++;
    } catch {
      /* raced with its owner or not ours to remove: leave it */
    }
  }
  let databases = 0;
  if (serverUrl) {
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${TEST_DB_PREFIX}%`}`;
      for (const { datname } of rows) {
        const started = Number.parseInt(datname.slice(TEST_DB_PREFIX.length, TEST_DB_PREFIX.length + 8), 36);
        if (!Number.isFinite(started) || Date.now() - started < maxAgeMs || started > Date.now()) continue;
        await admin.unsafe(`drop database if exists "${datname}" with (force)`).then(() => databases++, () => {});
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  }
  return { folders, databases };
}
