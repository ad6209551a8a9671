import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@ganboard/api";
import { createContext } from "@/lib/trpc/server";

export const dynamic = "force-dynamic";

function handler(request: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext,
    onError({ path, error }) {
      // Server-side log for the operator; the client gets tRPC's error shape.
      console.error(`tRPC ${path ?? "(unknown)"}: ${error.message}`);
    },
  });
}

export { handler as GET, handler as POST };
