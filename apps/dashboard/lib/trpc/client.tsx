"use client";

import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@ganboard/api";

// Typed hooks for every page: `const trpc = useTRPC(); useQuery(trpc.status.queryOptions())`.
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();
