import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readMigrationFiles, type MigrationMeta } from "drizzle-orm/migrator";
import postgres from "postgres";
import type { Sql } from "./client.ts";
import { assertPostgresUrl } from "./url.ts";

/**
 * Applies drizzle-kit's migrations from drizzle/ (repo root). Uses drizzle's own bookkeeping table
 * (drizzle.__drizzle_migrations), so `drizzle-kit migrate` and this runner agree, but serialises
 * concurrent callers with a transaction-scoped advisory lock: two processes starting at once both
 * succeed, and the second applies nothing.
 */

/** Advisory lock key for migrations (an arbitrary constant: "ganb" "migr"). */
export const MIGRATION_LOCK_KEY = 0x67616e62_6d696772n;

const JOURNAL = path.join("meta", "_journal.json");

/** Where the migrations live: opts → $GANBOARD_MIGRATIONS_DIR → next to this package → upwards from cwd. */
export function migrationsFolder(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (process.env.GANBOARD_MIGRATIONS_DIR) candidates.push(process.env.GANBOARD_MIGRATIONS_DIR);
  try {
    candidates.push(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../drizzle"));
  } catch {
    /* bundled without a file URL (e.g. inside Next.js): fall through to the cwd search */
  }
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, "drizzle"));
    if (path.dirname(dir) === dir) break;
  }
  for (const candidate of candidates) {
    if (fs.existsSync(path.join(candidate, JOURNAL))) return candidate;
  }
  throw new Error(
    `Cannot find ganboard's database migrations (drizzle/meta/_journal.json). Looked in: ${candidates.slice(0, 3).join(", ")}. ` +
      "Run from the ganboard checkout or set GANBOARD_MIGRATIONS_DIR.",
  );
}

export function readMigrations(folder?: string): MigrationMeta[] {
  return readMigrationFiles({ migrationsFolder: migrationsFolder(folder) });
}

export interface MigrationResult {
  /** Migrations applied by this call. */
  applied: number;
  /** Migrations in drizzle/. */
  total: number;
}

async function withSql<T>(target: string | Sql, fn: (sql: Sql) => Promise<T>): Promise<T> {
  if (typeof target !== "string") return fn(target);
  assertPostgresUrl(target, "database URL");
  const sql = postgres(target, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Applies pending migrations. Idempotent and safe to call from several processes at once. */
export async function migrate(target: string | Sql, opts: { migrationsFolder?: string } = {}): Promise<MigrationResult> {
  const migrations = readMigrations(opts.migrationsFolder);
  return withSql(target, (sql) =>
    sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
      await tx`create schema if not exists drizzle`;
      await tx`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`;
      const [last] = await tx<{ created_at: string | null }[]>`
        select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`;
      const lastMillis = last?.created_at == null ? -Infinity : Number(last.created_at);
      let applied = 0;
      for (const migration of migrations) {
        if (migration.folderMillis <= lastMillis) continue;
        for (const statement of migration.sql) {
          if (statement.trim()) await tx.unsafe(statement);
        }
        await tx`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`;
        applied++;
      }
      return { applied, total: migrations.length };
    }),
  );
}

export interface MigrationStatus {
  /** Migrations recorded as applied in this database. */
  applied: number;
  /** Migrations in drizzle/. */
  total: number;
  /** Tag (file name without .sql) of the newest applied migration, or null when none. */
  latest: string | null;
}

/** What has been applied; never changes the database. */
export async function migrationStatus(target: string | Sql, opts: { migrationsFolder?: string } = {}): Promise<MigrationStatus> {
  const folder = migrationsFolder(opts.migrationsFolder);
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  const journal = JSON.parse(fs.readFileSync(path.join(folder, JOURNAL), "utf8")) as { entries: { tag: string; when: number }[] };
  return withSql(target, async (sql) => {
    const [exists] = await sql<{ present: boolean }[]>`select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
    if (!exists.present) return { applied: 0, total: migrations.length, latest: null };
    const rows = await sql<{ created_at: string }[]>`select created_at from drizzle.__drizzle_migrations order by created_at`;
    const appliedMillis = new Set(rows.map((r) => Number(r.created_at)));
    const lastMillis = rows.length ? Number(rows[rows.length - 1].created_at) : null;
    const latest = lastMillis == null ? null : (journal.entries.find((e) => e.when === lastMillis)?.tag ?? `unknown (${lastMillis})`);
    return { applied: appliedMillis.size, total: migrations.length, latest };
  });
}
