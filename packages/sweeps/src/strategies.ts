import { TrainConfigSchema, ConfigError, formatZodIssues, type TrainConfig } from "@ganboard/gan/config";
import { createRng } from "./rng.ts";
import { domainOf, domainSize, domainValueAt, sampleDomain, type Scalar } from "./space.ts";
import { gridSize, pbtSettings, searchedParameterNames, type SweepSpec } from "./spec.ts";
import { tpeSuggest } from "./tpe.ts";
import type { TrialRecord } from "./trials.ts";

/**
 * Grid points in a stable order: parameters in spec order, the last one varying fastest (like
 * itertools.product), each parameter's values in listed / ascending order. Index → point is direct
 * (mixed radix), so a DB layer can hand out "the smallest unused index" without enumerating the grid.
 */
export function gridPoint(spec: Pick<SweepSpec, "parameters">, index: number): Record<string, Scalar> {
  const size = gridSize(spec);
  if (size === null) throw new Error("gridPoint: the spec has a continuous parameter");
  if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`grid index ${index} is outside 0..${size - 1}`);
  const entries = Object.entries(spec.parameters).map(([name, p]) => [name, domainOf(p)] as const);
  const params: Record<string, Scalar> = {};
  let rest = index;
  for (let i = entries.length - 1; i >= 0; i--) {
    const [name, d] = entries[i];
    const radix = domainSize(d)!;
    if (d.kind !== "fixed") params[name] = domainValueAt(d, rest % radix);
    rest = Math.floor(rest / radix);
  }
  // Keep spec order in the object for readability.
  return Object.fromEntries(entries.filter(([, d]) => d.kind !== "fixed").map(([name]) => [name, params[name]]));
}

/** Every grid point, in order, up to `limit` (default run_cap, else the whole grid). */
export function gridPoints(spec: Pick<SweepSpec, "parameters" | "run_cap">, limit?: number): Array<Record<string, Scalar>> {
  const size = gridSize(spec);
  if (size === null) throw new Error("gridPoints: the spec has a continuous parameter");
  const n = Math.min(size, limit ?? spec.run_cap ?? size);
  return Array.from({ length: n }, (_, i) => gridPoint(spec, i));
}

/** How many trials the sweep runs in total. */
export function trialBudget(spec: SweepSpec): number {
  if (spec.method === "grid") return Math.min(gridSize(spec)!, spec.run_cap ?? Infinity);
  if (spec.method === "pbt") return pbtSettings(spec).population;
  return spec.run_cap!;
}

/** Uniform random parameters for trial `trialNumber`; depends only on (spec.seed, trialNumber). */
export function randomParams(spec: Pick<SweepSpec, "parameters" | "seed">, trialNumber: number, purpose = "random"): Record<string, Scalar> {
  const params: Record<string, Scalar> = {};
  for (const name of searchedParameterNames(spec)) {
    // One stream per parameter: adding a parameter to a spec does not change the others' draws.
    params[name] = sampleDomain(domainOf(spec.parameters[name]), createRng(spec.seed, purpose, trialNumber, name));
  }
  return params;
}

/**
 * The full training config of a trial: the engine defaults, then `base`, then fixed parameters, then
 * the trial's searched parameters. Throws ConfigError (field-level) if the engine would reject it.
 */
export function resolveTrialConfig(spec: Pick<SweepSpec, "base" | "parameters">, params: Readonly<Record<string, Scalar>>): TrainConfig {
  const merged: Record<string, unknown> = { ...(spec.base as Record<string, unknown>) };
  for (const [name, p] of Object.entries(spec.parameters)) {
    const d = domainOf(p);
    if (d.kind === "fixed") merged[name] = d.value;
  }
  Object.assign(merged, params);
  const result = TrainConfigSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatZodIssues(result.error), "the trial's resolved config");
  return result.data;
}

export type Suggestion =
  | {
      status: "trial";
      /** Sweep-local number of the new trial (= history.length). */
      trialNumber: number;
      params: Record<string, Scalar>;
      config: TrainConfig;
      /** Grid sweeps: the grid point handed out. */
      gridIndex: number | null;
      /** How it was chosen, for logs and the dashboard. */
      source: "grid" | "random" | "tpe" | "tpe-startup" | "pbt-initial";
    }
  | { status: "wait"; reason: string }
  | { status: "done"; reason: string };

/**
 * The next trial to start, decided from the sweep's whole history (call it under the sweep's lock, with
 * every trial of the sweep). Pure: the same spec and history always give the same answer.
 */
export function suggestNext(spec: SweepSpec, history: readonly TrialRecord[]): Suggestion {
  const budget = trialBudget(spec);
  const started = spec.method === "pbt" ? history.filter((t) => !t.parentTrialId).length : history.length;
  if (started >= budget) {
    const reason =
      spec.method === "grid"
        ? `all ${budget} grid points${spec.run_cap !== undefined && spec.run_cap < gridSize(spec)! ? ` within run_cap (grid has ${gridSize(spec)})` : ""} have been handed out`
        : spec.method === "pbt"
          ? `the population of ${budget} has started; PBT continues inside those trials`
          : `run_cap ${budget} reached (${history.length} trials)`;
    return { status: "done", reason };
  }
  const running = history.filter((t) => t.state === "running").length;
  if (spec.parallelism !== undefined && running >= spec.parallelism) {
    return { status: "wait", reason: `parallelism ${spec.parallelism} reached (${running} trials running)` };
  }
  const trialNumber = history.length === 0 ? 0 : Math.max(history.length, Math.max(...history.map((t) => t.number)) + 1);
  const make = (params: Record<string, Scalar>, source: Extract<Suggestion, { status: "trial" }>["source"], gridIndex: number | null = null): Suggestion => ({
    status: "trial",
    trialNumber,
    params,
    config: resolveTrialConfig(spec, params),
    gridIndex,
    source,
  });
  switch (spec.method) {
    case "grid": {
      const used = new Set(history.map((t) => t.gridIndex).filter((i): i is number => typeof i === "number"));
      for (let i = 0; i < budget; i++) if (!used.has(i)) return make(gridPoint(spec, i), "grid", i);
      return { status: "done", reason: `all ${budget} grid points have been handed out` };
    }
    case "random":
      return make(randomParams(spec, trialNumber), "random");
    case "tpe": {
      const { params, startup } = tpeSuggest(spec, history, trialNumber);
      return make(params, startup ? "tpe-startup" : "tpe");
    }
    case "pbt":
      return make(randomParams(spec, trialNumber, "pbt-initial"), "pbt-initial");
  }
}

/** The best trial so far by final value (completed trials), for `sweep show` and the dashboard. */
export function bestTrial(spec: Pick<SweepSpec, "metric">, history: readonly TrialRecord[]): TrialRecord | null {
  const sign = spec.metric.goal === "minimize" ? 1 : -1;
  let best: TrialRecord | null = null;
  for (const t of history) {
    if (t.state !== "completed" || t.value === undefined || t.value === null || !Number.isFinite(t.value)) continue;
    if (best === null || sign * t.value < sign * (best.value as number)) best = t;
  }
  return best;
}
