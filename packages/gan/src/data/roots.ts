import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveUserPath } from "./folder.ts";

/** The checkout (this file is packages/gan/src/data/roots.ts). */
const checkoutRoot = resolve(fileURLToPath(new URL("../../../../", import.meta.url)));

/**
 * Where folder datasets may live. Trials come from the dashboard and the API, so a runner must not
 * read whatever path a sweep names: only folders under these roots are loaded.
 * GANBOARD_DATA_ROOTS (a `:`-separated list, `~/` allowed) replaces the default, which is the
 * checkout's data/ folder and GANBOARD_HOME (default <checkout>/.ganboard).
 */
export function dataRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const configured = env.GANBOARD_DATA_ROOTS?.split(delimiter).map((p) => p.trim()).filter((p) => p.length > 0);
  if (configured && configured.length > 0) return configured.map(resolveUserPath);
  const home = env.GANBOARD_HOME?.trim() ? resolveUserPath(env.GANBOARD_HOME.trim()) : join(checkoutRoot, ".ganboard");
  return [join(checkoutRoot, "data"), home];
}
