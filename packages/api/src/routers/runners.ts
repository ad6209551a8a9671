import { listRunnerViews } from "@ganboard/db";
import { polledProcedure } from "../lib/stale-trials.ts";
import { router } from "../trpc.ts";
import { isRunnerOnline } from "./status.ts";

export const runnersRouter = router({
  /** Every runner with its current trial; online/offline as on the status page. */
  list: polledProcedure.query(async ({ ctx }) => {
    const now = Date.now();
    const rows = await listRunnerViews(ctx.sql);
    return {
      runners: rows.map((r) => ({
        ...r,
        startedAt: r.startedAt.toISOString(),
        lastSeenAt: r.lastSeenAt.toISOString(),
        stoppedAt: r.stoppedAt?.toISOString() ?? null,
        online: isRunnerOnline(r, now),
      })),
      checkedAt: new Date(now).toISOString(),
    };
  }),
});
