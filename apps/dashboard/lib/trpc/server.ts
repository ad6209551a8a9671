import { connect, maskUrl } from "@ganboard/db";
import type { ApiContext } from "@ganboard/api";

type Connection = ReturnType<typeof connect>;

// One connection pool per server process, kept across hot reloads in development.
const globalForDb = globalThis as typeof globalThis & { __ganboardDb?: Connection };

export class DashboardConfigError extends Error {
  override name = "DashboardConfigError";
}

/** The API context for a request: the shared pool plus what the status page says about it. */
export function createContext(): ApiContext {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new DashboardConfigError(
      "DATABASE_URL is not set for the dashboard. Start it with `npx ganboard up`, which provides the database.",
    );
  }
  globalForDb.__ganboardDb ??= connect(url);
  return {
    sql: globalForDb.__ganboardDb.sql,
    db: globalForDb.__ganboardDb.db,
    database: { maskedUrl: maskUrl(url), embedded: process.env.GANBOARD_DATABASE_EMBEDDED === "1" },
  };
}
