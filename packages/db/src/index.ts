/**
 * @ganboard/db — the one schema, the database client, migrations and the embedded PostgreSQL.
 * All SQL lives in this package; other packages call the functions exported here.
 */
import { checkConnection } from "./client.ts";
import { startOrJoinEmbedded } from "./embedded/server.ts";
import { DatabaseUnavailableError, maskUrl } from "./url.ts";

export * from "./schema.ts";
export { connect, checkConnection, describeConnectionError, serverVersion } from "./client.ts";
export type { Connection, ConnectOptions, Db, Schema, Sql } from "./client.ts";
export { migrate, migrationStatus, migrationsFolder, readMigrations, MIGRATION_LOCK_KEY } from "./migrate.ts";
export type { MigrationResult, MigrationStatus } from "./migrate.ts";
export { maskUrl, scrubPassword, withDatabase, assertPostgresUrl, DatabaseUnavailableError } from "./url.ts";
export { startOrJoinEmbedded, inspectEmbedded, readEmbeddedState } from "./embedded/server.ts";
export type { EmbeddedHandle, EmbeddedOptions, EmbeddedState } from "./embedded/server.ts";
export { ganboardHome, embeddedPaths } from "./embedded/paths.ts";

export interface DatabaseHandle {
  /** Connection URL (contains the password: never print it; print maskedUrl). */
  url: string;
  maskedUrl: string;
  /** True for the embedded server, false for DATABASE_URL. */
  embedded: boolean;
  /** True when this process started (or adopted) the embedded server and will stop it on release(). */
  owner: boolean;
  /** Stops the embedded server if this process owns it; otherwise does nothing. Idempotent. */
  release(): Promise<void>;
}

export interface ResolveOptions {
  /** Use this server instead of DATABASE_URL. */
  databaseUrl?: string;
  /** Ignore DATABASE_URL and use the embedded server. */
  embedded?: boolean;
  /** ganboard's state folder (default: $GANBOARD_HOME, else .ganboard in the checkout). */
  home?: string;
  onProgress?: (msg: string) => void;
  /** Embedded owner: stop the server on SIGINT/SIGTERM/SIGHUP when nothing else handles them (default true). */
  handleSignals?: boolean;
}

/**
 * The database this process should use: opts.databaseUrl, else $DATABASE_URL (checked with one
 * connection; DatabaseUnavailableError with the password masked when unreachable), else the embedded
 * server (started, or joined when another ganboard process already runs it).
 */
export async function resolveDatabase(opts: ResolveOptions = {}): Promise<DatabaseHandle> {
  const external = opts.embedded ? undefined : (opts.databaseUrl ?? (process.env.DATABASE_URL || undefined));
  if (external) {
    const source = opts.databaseUrl ? "--database-url" : "DATABASE_URL";
    opts.onProgress?.(`Connecting to ${maskUrl(external)} (${source})…`);
    await checkConnection(external, { source });
    return { url: external, maskedUrl: maskUrl(external), embedded: false, owner: false, release: async () => {} };
  }
  try {
    const handle = await startOrJoinEmbedded({ home: opts.home, onProgress: opts.onProgress, handleSignals: opts.handleSignals });
    return { url: handle.url, maskedUrl: handle.maskedUrl, embedded: true, owner: handle.owner, release: handle.release };
  } catch (err) {
    if (err instanceof DatabaseUnavailableError) throw err;
    throw new DatabaseUnavailableError(`Could not start the embedded PostgreSQL: ${(err as Error).message}`, { cause: err });
  }
}
export * from "./services/index.ts";
