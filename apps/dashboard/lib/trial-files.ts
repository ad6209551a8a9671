import { isRunId } from "./chart-series";

/** A plain-text error response for the file routes (the page shows these as the link's failure). */
export function textError(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });
}

/** The trial id of a file route, or a 400 that says what was wrong. */
export function parseTrialId(raw: string): { id: string } | { error: Response } {
  const id = decodeURIComponent(raw).toLowerCase();
  if (!isRunId(id)) return { error: textError(400, `Not a run id: "${raw}" (run ids are UUIDs).`) };
  return { id };
}

/** A download filename from a run title: "quick start #3" → "quick-start-3" (header-safe ASCII). */
export function fileStem(title: string): string {
  return (
    title
      .normalize("NFKD")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 80) || "run"
  );
}
