import fs from "node:fs";
import path from "node:path";

/**
 * ganboard's local state folder: $GANBOARD_HOME, else `.ganboard` in the ganboard checkout that contains
 * the working directory (so the CLI, the dashboard started from apps/dashboard and runners all agree),
 * else `.ganboard` in the working directory.
 */
export function ganboardHome(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.GANBOARD_HOME) return path.resolve(process.env.GANBOARD_HOME);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "drizzle", "meta", "_journal.json")) && fs.existsSync(path.join(dir, "package.json"))) {
      return path.join(dir, ".ganboard");
    }
    if (path.dirname(dir) === dir) break;
  }
  return path.join(process.cwd(), ".ganboard");
}

export interface EmbeddedPaths {
  home: string;
  /** PGDATA. */
  dataDir: string;
  /** Runtime record of the running server: EmbeddedState. Present only while a server runs. */
  stateFile: string;
  /** Credentials chosen at initdb time, and the last port (reused when free). */
  credentialsFile: string;
  /** Serialises start/stop between processes. */
  lockFile: string;
  /** The server's stderr log. */
  logFile: string;
}

export function embeddedPaths(home: string): EmbeddedPaths {
  return {
    home,
    dataDir: path.join(home, "postgres"),
    stateFile: path.join(home, "postgres.json"),
    credentialsFile: path.join(home, "postgres-credentials.json"),
    lockFile: path.join(home, "postgres.lock"),
    logFile: path.join(home, "postgres.log"),
  };
}
