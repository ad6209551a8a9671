import { router } from "./trpc.ts";
import { statusProcedure } from "./routers/status.ts";

export const appRouter = router({
  status: statusProcedure,
});

export type AppRouter = typeof appRouter;
export type { ApiContext } from "./context.ts";
export { createCallerFactory } from "./trpc.ts";
export { RUNNER_OFFLINE_AFTER_MS } from "./routers/status.ts";
