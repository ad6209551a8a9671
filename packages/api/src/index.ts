import { router } from "./trpc.ts";
import { statusProcedure } from "./routers/status.ts";
import { sweepsRouter } from "./routers/sweeps.ts";

export const appRouter = router({
  status: statusProcedure,
  sweeps: sweepsRouter,
});

export type AppRouter = typeof appRouter;
export type { ApiContext } from "./context.ts";
export { createCallerFactory } from "./trpc.ts";
export { RUNNER_OFFLINE_AFTER_MS } from "./routers/status.ts";
