export * from "./trial-queue.ts";
export * from "./trial-records.ts";
export * from "./runner-registry.ts";
export * from "./sweep-views.ts";
export * from "./sweeps.ts";
export * from "./trial-views.ts";
