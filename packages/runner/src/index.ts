export { Runner, defaultRunnerId, pngSize } from "./runner.ts";
export type { RunnerEvent, RunnerOptions } from "./runner.ts";
export { BatchWriter } from "./batch-writer.ts";
export { withRetry, isTransientDatabaseError } from "./retry.ts";
