import { router } from "./trpc.ts";
import { statusProcedure } from "./routers/status.ts";
import { sweepsRouter } from "./routers/sweeps.ts";
import { runsRouter } from "./routers/runs.ts";
import { runnersRouter } from "./routers/runners.ts";

export const appRouter = router({
  status: statusProcedure,
  sweeps: sweepsRouter,
  runs: runsRouter,
  runners: runnersRouter,
});

export type AppRouter = typeof appRouter;
export type { ApiContext } from "./context.ts";
export { createCallerFactory } from "./trpc.ts";
export { RUNNER_OFFLINE_AFTER_MS } from "./routers/status.ts";
