import { desc } from "drizzle-orm";
import { migrationStatus, runners as runnersTable, serverVersion } from "@ganboard/db";
import { polledProcedure } from "../lib/stale-trials.ts";

/** A runner that has not been seen for this long is shown offline (runners heartbeat every few seconds). */
export const RUNNER_OFFLINE_AFTER_MS = 30_000;

/** Online = not stopped cleanly and seen within RUNNER_OFFLINE_AFTER_MS (shared by the status and runners pages). */
export function isRunnerOnline(runner: { stoppedAt: Date | null; lastSeenAt: Date }, now: number = Date.now()): boolean {
  return runner.stoppedAt === null && now - runner.lastSeenAt.getTime() < RUNNER_OFFLINE_AFTER_MS;
}

export interface RunnerStatus {
  id: string;
  hostname: string;
  pid: number;
  backend: string | null;
  device: string | null;
  startedAt: string;
  lastSeenAt: string;
  currentTrialId: string | null;
  online: boolean;
}

export interface SystemStatus {
  database: {
    version: string;
    embedded: boolean;
    url: string;
    migrations: { applied: number; total: number; latest: string | null; pending: number };
  };
  runners: RunnerStatus[];
  checkedAt: string;
}

/** The status page: which database, how far migrated, and which runners are around. */
export const statusProcedure = polledProcedure.query(async ({ ctx }): Promise<SystemStatus> => {
  const [version, migrations, runnerRows] = await Promise.all([
    serverVersion(ctx.sql),
    migrationStatus(ctx.sql),
    ctx.db.select().from(runnersTable).orderBy(desc(runnersTable.lastSeenAt)),
  ]);
  const now = Date.now();
  return {
    database: {
      version,
      embedded: ctx.database.embedded,
      url: ctx.database.maskedUrl,
      migrations: { ...migrations, pending: migrations.total - migrations.applied },
    },
    runners: runnerRows.map((row) => ({
      id: row.id,
      hostname: row.hostname,
      pid: row.pid,
      backend: row.backend,
      device: row.device,
      startedAt: row.startedAt.toISOString(),
      lastSeenAt: row.lastSeenAt.toISOString(),
      currentTrialId: row.currentTrialId,
      online: isRunnerOnline(row, now),
    })),
    checkedAt: new Date(now).toISOString(),
  };
});
