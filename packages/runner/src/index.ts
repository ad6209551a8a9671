export { Runner, defaultRunnerId, pngSize } from "./runner.ts";
export type { RunnerEvent, RunnerOptions, TrialStats } from "./runner.ts";
export { BatchWriter } from "./batch-writer.ts";
export { withRetry, isTransientDatabaseError } from "./retry.ts";
