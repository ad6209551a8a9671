import { getSamplePng } from "@ganboard/db";
import { createContext } from "@/lib/trpc/server";
import { parseTrialId, textError } from "@/lib/trial-files";

export const dynamic = "force-dynamic";

/**
 * One epoch's sample grid. The page asks for `?v=<version>`; when it matches, the bytes can never
 * change under that URL, so the browser keeps them for a year (private: behind a token they are
 * the user's, not a shared cache's).
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string; epoch: string }> }): Promise<Response> {
  const raw = await params;
  const parsed = parseTrialId(raw.id);
  if ("error" in parsed) return parsed.error;
  const epoch = Number(raw.epoch);
  if (!Number.isInteger(epoch) || epoch < 0) return textError(400, `Not an epoch number: "${raw.epoch}".`);
  const sample = await getSamplePng(createContext().sql, parsed.id, epoch);
  if (!sample) return textError(404, `Run ${parsed.id} has no sample grid for epoch ${epoch}.`);
  const asked = new URL(request.url).searchParams.get("v");
  const immutable = asked !== null && Number(asked) === sample.version;
  return new Response(new Uint8Array(sample.png), {
    headers: {
      "Content-Type": "image/png",
      "Content-Length": String(sample.png.byteLength),
      "Cache-Control": immutable ? "private, max-age=31536000, immutable" : "private, no-cache",
    },
  });
}
