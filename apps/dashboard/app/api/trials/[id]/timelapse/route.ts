import { allSamplePngs, getTrialViews } from "@ganboard/db";
import { encodeTimelapseGif } from "@ganboard/gan/media";
import { createContext } from "@/lib/trpc/server";
import { fileStem, parseTrialId, textError } from "@/lib/trial-files";

export const dynamic = "force-dynamic";

/** Every epoch's grid as a looping GIF, labelled with real epoch numbers. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const parsed = parseTrialId((await params).id);
  if ("error" in parsed) return parsed.error;
  const { sql } = createContext();
  const [trial] = await getTrialViews(sql, [parsed.id]);
  if (!trial) return textError(404, `No run with id ${parsed.id}.`);
  const frames = await allSamplePngs(sql, parsed.id);
  if (frames.length === 0) return textError(404, "This run has no sample grids yet: the timelapse needs at least one finished epoch.");
  const gif = await encodeTimelapseGif(
    frames.map((f) => f.png),
    { labels: frames.map((f) => `epoch ${f.epoch}`) },
  );
  const name = `${fileStem(`${trial.sweepName ?? "run"}-${trial.number}`)}-timelapse.gif`;
  return new Response(new Uint8Array(gif), {
    headers: {
      "Content-Type": "image/gif",
      "Content-Length": String(gif.byteLength),
      "Content-Disposition": `attachment; filename="${name}"`,
      // A running trial gains frames: always revalidate.
      "Cache-Control": "private, no-cache",
    },
  });
}
