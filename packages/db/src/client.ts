import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";
import { DatabaseUnavailableError, assertPostgresUrl, maskUrl, scrubPassword } from "./url.ts";

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
export type Sql = postgres.Sql;

export interface ConnectOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Seconds to wait for a connection before failing (default 10). */
  connectTimeoutSeconds?: number;
  /** Close idle connections after this many seconds (default 0 = never). */
  idleTimeoutSeconds?: number;
  /** application_name shown in pg_stat_activity (default "ganboard"). */
  applicationName?: string;
}

export interface Connection {
  sql: Sql;
  db: Db;
  close(): Promise<void>;
}

/** A postgres.js pool plus a drizzle instance over it. Connections open lazily on first query. */
export function connect(url: string, opts: ConnectOptions = {}): Connection {
  assertPostgresUrl(url, "database URL");
  const sql = postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutSeconds ?? 10,
    idle_timeout: opts.idleTimeoutSeconds ?? 0,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? "ganboard" },
  });
  const db = drizzle(sql, { schema });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}

/** One-line, human reason for a connection failure (no stack, password scrubbed). */
export function describeConnectionError(err: unknown, url: string): string {
  const e = err as { code?: string; message?: string; errno?: string } | undefined;
  const code = e?.code ?? e?.errno;
  let reason: string;
  switch (code) {
    case "ECONNREFUSED":
      reason = "connection refused (is the server running and listening on that host and port?)";
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      reason = "host not found";
      break;
    case "ETIMEDOUT":
    case "CONNECT_TIMEOUT":
      reason = "timed out while connecting";
      break;
    case "28P01":
    case "28000":
      reason = `authentication failed (${e?.message ?? "check user and password"})`;
      break;
    case "3D000":
      reason = e?.message ?? "database does not exist";
      break;
    default:
      reason = e?.message ?? String(err);
  }
  return scrubPassword(reason, url);
}

/**
 * Connects once and runs `select 1`. Throws DatabaseUnavailableError naming the URL (password masked)
 * when the server cannot be reached.
 */
export async function checkConnection(url: string, opts: { timeoutSeconds?: number; source?: string } = {}): Promise<void> {
  assertPostgresUrl(url, opts.source ?? "database URL");
  const sql = postgres(url, { max: 1, connect_timeout: opts.timeoutSeconds ?? 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (err) {
    throw new DatabaseUnavailableError(
      `Cannot connect to the database at ${maskUrl(url)}${opts.source ? ` (from ${opts.source})` : ""}: ${describeConnectionError(err, url)}`,
      { maskedUrl: maskUrl(url), cause: err },
    );
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** e.g. "PostgreSQL 18.1 on x86_64-pc-linux-gnu …" shortened to "PostgreSQL 18.1". */
export async function serverVersion(sql: Sql): Promise<string> {
  const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
  return `PostgreSQL ${row.version}`;
}
