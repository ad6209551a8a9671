import { initTRPC } from "@trpc/server";
import type { ApiContext } from "./context.ts";

// One tRPC instance for every router; procedures stay thin and call services in @ganboard/db.
const t = initTRPC.context<ApiContext>().create();

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
