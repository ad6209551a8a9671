import { getTrialViews, latestCheckpoint } from "@ganboard/db";
import { createContext } from "@/lib/trpc/server";
import { fileStem, parseTrialId, textError } from "@/lib/trial-files";

export const dynamic = "force-dynamic";

/** The run's newest checkpoint (engine format, as `ganboard train --resume` reads it). */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const parsed = parseTrialId((await params).id);
  if ("error" in parsed) return parsed.error;
  const { sql } = createContext();
  const [trial] = await getTrialViews(sql, [parsed.id]);
  if (!trial) return textError(404, `No run with id ${parsed.id}.`);
  const ckpt = await latestCheckpoint(sql, parsed.id);
  if (!ckpt) return textError(404, "This run has no checkpoint yet: one is written at the end of each epoch (checkpoint_every).");
  const name = `${fileStem(`${trial.sweepName ?? "run"}-${trial.number}`)}-epoch-${ckpt.epoch}.bin`;
  return new Response(new Uint8Array(ckpt.data), {
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(ckpt.data.byteLength),
      "Content-Disposition": `attachment; filename="${name}"`,
      "Cache-Control": "private, no-cache",
    },
  });
}
