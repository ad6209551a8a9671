import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { processCommandLine } from "../../packages/db/src/embedded/proc.ts";
import { cliEnv, repoRoot, runCli } from "../helpers/cli.ts";

export const artifactsDir = path.join(repoRoot, "test", "artifacts");

export interface Target {
  env: NodeJS.ProcessEnv;
  embedded: boolean;
  /** The unmasked URL the test itself uses to check the page against the server. */
  url(): Promise<string>;
  cleanup(): Promise<void>;
}

/** A fresh database: a new database on DATABASE_URL's server when set, else a fresh embedded home. */
export async function freshTarget(extraEnv: Record<string, string | undefined> = {}): Promise<Target> {
  if (process.env.DATABASE_URL) {
    const { createTestDatabase } = await import("@ganboard/db/testing");
    const database = await createTestDatabase();
    return {
      env: cliEnv({ ...extraEnv, DATABASE_URL: database.url }),
      embedded: false,
      url: async () => database.url,
      cleanup: () => database.drop(),
    };
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-browser-"));
  fs.chmodSync(home, 0o755); // as root, the embedded server runs as `postgres`, which must reach it
  const env = cliEnv({ ...extraEnv, DATABASE_URL: undefined, GANBOARD_HOME: home });
  return {
    env,
    embedded: true,
    // While `up` runs, `db url` joins its embedded server and prints the real URL.
    url: async () => {
      const result = await runCli(["db", "url"], { env, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`ganboard db url failed: ${result.stderr}`);
      return result.stdout.trim();
    },
    cleanup: async () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

export async function serverVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ version }] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    return version;
  } finally {
    await sql.end();
  }
}

/**
 * Postgres processes whose command line mentions `home` (the embedded data folder lives there). Reads
 * /proc directly: `pgrep` (procps) is not on every fresh machine, and a missing tool must not read as
 * "no processes".
 */
export function postgresProcessesUsing(home: string): string[] {
  if (!fs.existsSync("/proc/self/cmdline")) throw new Error("postgresProcessesUsing needs /proc (Linux)");
  const found: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = processCommandLine(Number(entry));
    if (cmd && cmd.some((arg) => path.basename(arg).startsWith("postgres")) && cmd.some((arg) => arg.includes(home))) {
      found.push(`${entry} ${cmd.join(" ")}`);
    }
  }
  return found;
}

/** `ganboard up` prints the URL alone on stdout once the page answers; the first run includes `next build`. */
export const UP_READY_TIMEOUT_MS = 7 * 60_000;
