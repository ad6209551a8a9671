import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is apps/cli/src/lib/paths.ts). */
export const repoRoot = path.resolve(fileURLToPath(new URL("../../../../", import.meta.url)));

export const dashboardDir = path.join(repoRoot, "apps", "dashboard");

/** Where ganboard keeps local state (embedded database, logs): GANBOARD_HOME or `<repo>/.ganboard`. */
export function ganboardHome(): string {
  const fromEnv = process.env.GANBOARD_HOME?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(repoRoot, ".ganboard");
}

export function logsDir(): string {
  return path.join(ganboardHome(), "logs");
}
