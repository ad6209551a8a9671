import { Command } from "commander";
import { connect, migrate, migrationStatus, resolveDatabase, serverVersion } from "@ganboard/db";
import { note, startProgress } from "../lib/terminal.ts";

type ResolvedDatabase = Awaited<ReturnType<typeof resolveDatabase>>;

async function openDatabase(): Promise<ResolvedDatabase> {
  const external = Boolean(process.env.DATABASE_URL);
  const progress = startProgress(external ? "Connecting to DATABASE_URL" : "Finding the embedded PostgreSQL");
  try {
    const database = await resolveDatabase({ onProgress: (message: string) => progress.update(message) });
    progress.done(
      database.embedded ? `Embedded PostgreSQL ${database.owner ? "started" : "already running"}` : "Using DATABASE_URL",
    );
    return database;
  } catch (error) {
    progress.fail(external ? "Cannot use DATABASE_URL" : "The embedded PostgreSQL did not start");
    throw error;
  }
}

/** Resolves when the user presses Ctrl-C or the process gets SIGTERM/SIGHUP. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // Signal listeners alone do not keep Node running; this timer does, until a signal arrives.
    const keepAlive = setInterval(() => {}, 60_000);
    const handler = (signal: NodeJS.Signals): void => {
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(s, handler);
      clearInterval(keepAlive);
      resolve(signal);
    };
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, handler);
  });
}

export function register(program: Command): void {
  const db = program
    .command("db")
    .description("Inspect and manage the database ganboard uses (DATABASE_URL, else the embedded PostgreSQL).");

  db.command("url")
    .description(
      "Print the connection URL of the database in use, e.g. for `psql`. Starts the embedded PostgreSQL if nothing runs it, and then keeps it running until Ctrl-C.",
    )
    .addHelpText("after", '\nExample:\n  psql "$(npx ganboard db url)"     # while `ganboard up` runs')
    .action(async () => {
      const database = await openDatabase();
      process.stdout.write(`${database.url}\n`);
      if (database.embedded && database.owner) {
        // This process started the server, so it must stay alive for the URL to stay valid.
        note("This command started the embedded PostgreSQL; it runs until you press Ctrl-C.");
        const signal = await untilStopped();
        const stopping = startProgress(`Stopping the embedded PostgreSQL (${signal})`);
        await database.release();
        stopping.done("Stopped the embedded PostgreSQL");
      } else {
        await database.release();
      }
    });

  db.command("migrate")
    .description("Apply pending database migrations (`ganboard up` does this on every start).")
    .action(async () => {
      const database = await openDatabase();
      try {
        const progress = startProgress("Applying migrations");
        const result = await migrate(database.url);
        progress.done(result.applied === 0 ? `Already up to date (${result.total} migrations)` : `Applied ${result.applied} of ${result.total} migrations`);
      } finally {
        await database.release();
      }
    });

  db.command("status")
    .description("Show the database server version, where it runs, and which migrations are applied.")
    .action(async () => {
      const database = await openDatabase();
      const connection = connect(database.url, { max: 1 });
      try {
        const [version, migrations] = await Promise.all([serverVersion(connection.sql), migrationStatus(connection.sql)]);
        const pending = migrations.total - migrations.applied;
        const lines = [
          `server      ${version}`,
          `mode        ${database.embedded ? "embedded PostgreSQL" : "external (DATABASE_URL)"}`,
          `url         ${database.maskedUrl}`,
          `migrations  ${migrations.applied} of ${migrations.total} applied${migrations.latest ? ` (latest: ${migrations.latest})` : ""}${pending > 0 ? ` — ${pending} pending: run \`ganboard db migrate\`` : ""}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      } finally {
        await connection.close();
        await database.release();
      }
    });
}
