import type { connect } from "@ganboard/db";

type Connection = ReturnType<typeof connect>;

/** What every procedure gets: the shared database handles and how the server reached the database. */
export interface ApiContext {
  sql: Connection["sql"];
  db: Connection["db"];
  database: {
    /** The URL with any password replaced, safe to show. */
    maskedUrl: string;
    /** True when ganboard started the embedded PostgreSQL, false for a DATABASE_URL server. */
    embedded: boolean;
  };
}
