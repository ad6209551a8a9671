import { z } from "zod";
import { Document, LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from "yaml";
import { TrainConfigSchema, type TrainConfigInput } from "@ganboard/gan/config";
import { PBT_MUTABLE_SETTINGS, SEARCHABLE_SETTINGS, SEARCHABLE_SETTING_NAMES, TRAIN_CONFIG_FIELDS } from "./settings.ts";
import { DISTRIBUTIONS, domainOf, domainSize, domainValueAt, type ParameterSpec, type Scalar } from "./space.ts";

/**
 * The sweep spec: one zod schema shared by the CLI (YAML files), the API and the dashboard form.
 * Every way a spec can be wrong produces an issue with a path, what is wrong and what is allowed;
 * things that are allowed but probably not what the user meant come back as warnings.
 */

export const METHODS = ["grid", "random", "tpe", "pbt"] as const;
export type SweepMethod = (typeof METHODS)[number];
export const GOALS = ["minimize", "maximize"] as const;
export const EARLY_TERMINATE_TYPES = ["asha", "median"] as const;

const ScalarSchema = z.union([z.number(), z.string(), z.boolean()], { error: "expected a number, string or boolean" });

const RawParameterSchema = z
  .object({
    value: ScalarSchema.optional(),
    values: z.array(ScalarSchema).optional(),
    distribution: z.enum(DISTRIBUTIONS).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    q: z.number().optional(),
  })
  .strict();

type RawParameter = z.output<typeof RawParameterSchema>;

function checkParameterShape(p: RawParameter, ctx: z.RefinementCtx): void {
  const kinds = (["value", "values", "distribution"] as const).filter((k) => p[k] !== undefined);
  if (kinds.length === 0) {
    ctx.addIssue({ code: "custom", message: "needs one of value (fixed), values (a list to choose from) or distribution (uniform, log_uniform, int_uniform, q_uniform)" });
    return;
  }
  if (kinds.length > 1) {
    ctx.addIssue({ code: "custom", message: `give only one of value, values or distribution (got ${kinds.join(" and ")})` });
    return;
  }
  if (p.distribution === undefined) {
    for (const key of ["min", "max", "q"] as const) {
      if (p[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `${key} only goes with a distribution (this parameter uses ${kinds[0]})` });
    }
  }
  if (p.values !== undefined) {
    if (p.values.length === 0) ctx.addIssue({ code: "custom", path: ["values"], message: "must list at least one value" });
    p.values.forEach((v, i) => {
      const first = p.values!.findIndex((w) => w === v);
      if (first < i) ctx.addIssue({ code: "custom", path: ["values", i], message: `duplicate of values[${first}] (${JSON.stringify(v)}); each value once` });
    });
    return;
  }
  const dist = p.distribution;
  if (dist === undefined) return;
  let bounds = true;
  for (const key of ["min", "max"] as const) {
    const v = p[key];
    if (v === undefined) {
      ctx.addIssue({ code: "custom", path: [key], message: `required for distribution ${dist}` });
      bounds = false;
    } else if (!Number.isFinite(v)) {
      ctx.addIssue({ code: "custom", path: [key], message: `must be a finite number (got ${v})` });
      bounds = false;
    }
  }
  if (dist === "q_uniform" && p.q === undefined) ctx.addIssue({ code: "custom", path: ["q"], message: "required for q_uniform (the step between values, e.g. q: 0.05)" });
  if (p.q !== undefined && !(p.q > 0 && Number.isFinite(p.q))) ctx.addIssue({ code: "custom", path: ["q"], message: `must be a number > 0 (got ${p.q})` });
  if (dist === "int_uniform") {
    for (const key of ["min", "max"] as const) {
      const v = p[key];
      if (v !== undefined && Number.isFinite(v) && !Number.isInteger(v)) ctx.addIssue({ code: "custom", path: [key], message: `int_uniform needs a whole number (got ${v})` });
    }
    if (p.q !== undefined && p.q > 0 && !Number.isInteger(p.q)) ctx.addIssue({ code: "custom", path: ["q"], message: `int_uniform needs a whole-number step (got ${p.q})` });
  }
  if (!bounds) return;
  const min = p.min!;
  const max = p.max!;
  if (!(min < max)) {
    ctx.addIssue({ code: "custom", path: ["min"], message: `must be < max (got min ${min}, max ${max})${min === max ? `; for a single value write value: ${min}` : ""}` });
    return;
  }
  if (dist === "log_uniform" && min <= 0) ctx.addIssue({ code: "custom", path: ["min"], message: `log_uniform needs min > 0 (got ${min}); a log scale cannot reach ${min <= 0 ? min : 0}` });
  if (p.q !== undefined && p.q > 0 && p.q > max - min) ctx.addIssue({ code: "custom", path: ["q"], message: `step ${p.q} is larger than the range [${min}, ${max}]` });
}

/** Also accepts the shorthands `lr_g: 0.0002` (fixed) and `batch_size: [32, 64]` (values). */
export const ParameterSpecSchema = z.preprocess(
  (input) => (Array.isArray(input) ? { values: input } : input !== null && typeof input === "object" ? input : input === undefined || input === null ? input : { value: input }),
  RawParameterSchema.superRefine(checkParameterShape).transform((p): ParameterSpec => {
    if (p.value !== undefined) return { value: p.value };
    if (p.values !== undefined) return { values: p.values };
    const out: ParameterSpec = { distribution: p.distribution!, min: p.min!, max: p.max! };
    if (p.q !== undefined) out.q = p.q;
    return out;
  }),
);

export const MetricSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:/-]+$/, "must be a metric name such as swd, loss_d or kid (letters, digits, _ . : / -)").default("swd"),
    goal: z.enum(GOALS).default("minimize"),
  })
  .strict();

export const EarlyTerminateSchema = z
  .object({
    type: z.enum(EARLY_TERMINATE_TYPES),
    /** First epoch at which a trial can be stopped; ASHA's first rung. */
    min_epochs: z.number().int().min(1).default(2),
    /** ASHA's η: rungs at min_epochs·η^k, and only the top 1/η at a rung continue. */
    reduction_factor: z.number().int().min(2).max(100).default(3),
    /** Median rule: how many other trials must have reported an epoch before it can stop a trial there. */
    min_trials: z.number().int().min(1).default(5),
  })
  .strict();

export const TpeSettingsSchema = z
  .object({
    n_startup_trials: z.number().int().min(0).default(10),
    n_ei_candidates: z.number().int().min(1).max(10_000).default(24),
    prior_weight: z.number().positive().default(1),
    consider_endpoints: z.boolean().default(false),
    consider_magic_clip: z.boolean().default(true),
    /** Treat running trials that have not reported yet as the worst result, so parallel runners spread out. */
    constant_liar: z.boolean().default(false),
  })
  .strict();

export const PbtSettingsSchema = z
  .object({
    population: z.number().int().min(2).max(1024).default(8),
    /** Every this many epochs a trial may exploit/explore. */
    interval: z.number().int().min(1).default(5),
    /** Bottom and top fraction of the population (Ray Tune's quantile_fraction). */
    quantile: z.number().gt(0).max(0.5).default(0.25),
    resample_probability: z.number().min(0).max(1).default(0.25),
    perturbation_factors: z.tuple([z.number().positive(), z.number().positive()]).default([0.8, 1.2]),
    /** Parameters to perturb; defaults to every searched parameter that can change mid-run. */
    mutate: z.array(z.string()).min(1).optional(),
  })
  .strict();

const BaseConfigSchema = z.custom<Partial<TrainConfigInput>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), {
  message: "must be a mapping of training settings, e.g. { dataset: { kind: cartoon-faces }, resolution: 32, epochs: 10 }",
});

const SweepSpecObject = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200),
    description: z.string().max(2000).optional(),
    method: z.enum(METHODS),
    metric: MetricSchema.default({ name: "swd", goal: "minimize" }),
    parameters: z.record(z.string(), ParameterSpecSchema),
    /** Settings every trial shares (any TrainConfig field); parameters override them. */
    base: BaseConfigSchema.default({}),
    /** Total trials, all states counted (failed ones too, so a broken config cannot loop forever). */
    run_cap: z.number().int().min(1).max(1_000_000).optional(),
    /** Most trials running at once. */
    parallelism: z.number().int().min(1).max(10_000).optional(),
    early_terminate: EarlyTerminateSchema.optional(),
    tpe: TpeSettingsSchema.optional(),
    pbt: PbtSettingsSchema.optional(),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  })
  .strict();

type SweepSpecShape = z.output<typeof SweepSpecObject>;

export const SweepSpecSchema = SweepSpecObject.superRefine(checkSpec);
export type SweepSpec = z.output<typeof SweepSpecSchema>;
export type SweepSpecInput = z.input<typeof SweepSpecSchema>;
export type EarlyTerminate = z.output<typeof EarlyTerminateSchema>;
export type TpeSettings = z.output<typeof TpeSettingsSchema>;
export type PbtSettings = z.output<typeof PbtSettingsSchema>;
export type Metric = z.output<typeof MetricSchema>;

export function tpeSettings(spec: Pick<SweepSpec, "tpe">): TpeSettings {
  return spec.tpe ?? TpeSettingsSchema.parse({});
}

export function pbtSettings(spec: Pick<SweepSpec, "pbt">): PbtSettings {
  return spec.pbt ?? PbtSettingsSchema.parse({});
}

/** Names of parameters that vary (not fixed `value`, not a single-entry `values`), in spec order. */
export function searchedParameterNames(spec: Pick<SweepSpec, "parameters">): string[] {
  return Object.entries(spec.parameters)
    .filter(([, p]) => domainOf(p).kind !== "fixed")
    .map(([name]) => name);
}

/** Parameters PBT perturbs: `pbt.mutate`, or every searched parameter that may change mid-run. */
export function pbtMutableNames(spec: Pick<SweepSpec, "parameters" | "pbt">): string[] {
  const searched = searchedParameterNames(spec);
  return spec.pbt?.mutate ?? searched.filter((name) => PBT_MUTABLE_SETTINGS.includes(name));
}

/** Number of grid points (product of the finite domain sizes), or null if some parameter is continuous. */
export function gridSize(spec: Pick<SweepSpec, "parameters">): number | null {
  let total = 1;
  for (const p of Object.values(spec.parameters)) {
    const size = domainSize(domainOf(p));
    if (size === null) return null;
    total *= size;
  }
  return total;
}

function largestEpochs(spec: SweepSpecShape): number {
  const epochsParam = spec.parameters.epochs;
  if (epochsParam) {
    const d = domainOf(epochsParam);
    if (d.kind === "fixed" && typeof d.value === "number") return d.value;
    if (d.kind === "categorical") return Math.max(...d.values.filter((v): v is number => typeof v === "number"));
    if (d.kind === "numeric") return d.high;
  }
  const fromBase = (spec.base as Record<string, unknown>).epochs;
  return typeof fromBase === "number" ? fromBase : TrainConfigSchema.parse({}).epochs;
}

// ---------------------------------------------------------------------------------------------------
// Cross-field checks

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function didYouMean(name: string, options: readonly string[]): string {
  const scored = options.map((o) => [o, editDistance(name.toLowerCase(), o)] as const);
  const bestDistance = Math.min(...scored.map(([, d]) => d));
  if (bestDistance > Math.max(2, Math.floor(name.length / 3))) return "";
  const closest = scored.filter(([, d]) => d === bestDistance).map(([o]) => o).slice(0, 3);
  return ` (did you mean ${closest.join(" or ")}?)`;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

/** Candidate values of a parameter worth running through the engine's schema. */
function candidates(p: ParameterSpec): Array<{ path: Array<string | number>; value: Scalar }> {
  if ("value" in p) return [{ path: ["value"], value: p.value }];
  if ("values" in p) return p.values.map((value, i) => ({ path: ["values", i], value }));
  const d = domainOf(p);
  if (d.kind !== "numeric") return [];
  const out: Array<{ path: Array<string | number>; value: Scalar }> = [
    { path: ["min"], value: d.low },
    { path: ["max"], value: d.high },
  ];
  // One interior grid point catches non-integer steps over whole-number settings.
  const size = domainSize(d);
  if (size !== null && size > 2) out.push({ path: ["q"], value: domainValueAt(d, 1) });
  return out;
}

function checkSpec(spec: SweepSpecShape, ctx: z.RefinementCtx): void {
  const base = spec.base as Record<string, unknown>;
  const names = Object.keys(spec.parameters);

  // Parameter names and kinds against the engine's settings.
  const known: string[] = [];
  for (const name of names) {
    const p = spec.parameters[name];
    const kind = SEARCHABLE_SETTINGS[name];
    if (!kind) {
      const message =
        name === "dataset"
          ? "the dataset cannot be searched; set it under base.dataset (one dataset per sweep)"
          : TRAIN_CONFIG_FIELDS.includes(name)
            ? `${name} cannot be searched`
            : `unknown setting "${name}"${didYouMean(name, SEARCHABLE_SETTING_NAMES)}; allowed: ${SEARCHABLE_SETTING_NAMES.join(", ")}`;
      ctx.addIssue({ code: "custom", path: ["parameters", name], message });
      continue;
    }
    if ("distribution" in p) {
      if (kind.type === "enum") {
        ctx.addIssue({
          code: "custom",
          path: ["parameters", name, "distribution"],
          message: `${name} is a choice (${kind.options.join(", ")}), not a number; use values: [${kind.options.slice(0, 2).join(", ")}] instead of a distribution`,
        });
        continue;
      }
      if (kind.type === "int" && p.distribution !== "int_uniform") {
        const stepOk = p.q !== undefined && Number.isInteger(p.q) && Number.isInteger(p.min);
        if (!stepOk) {
          ctx.addIssue({
            code: "custom",
            path: ["parameters", name, "distribution"],
            message: `${name} takes whole numbers; ${p.distribution} without a whole-number q would give fractions; use int_uniform, or add a whole-number q with a whole-number min`,
          });
          continue;
        }
      }
    }
    known.push(name);
  }

  // The base config alone, except fields that parameters override.
  const baseResult = TrainConfigSchema.safeParse(base);
  if (!baseResult.success) {
    for (const issue of baseResult.error.issues) {
      const top = issue.path[0];
      if (typeof top === "string" && names.includes(top)) continue;
      if (issue.code === "unrecognized_keys") {
        const allowed = issue.path.length === 0 ? TRAIN_CONFIG_FIELDS : null;
        for (const key of issue.keys) {
          ctx.addIssue({
            code: "custom",
            path: ["base", ...issue.path.map((k) => (typeof k === "symbol" ? String(k) : k)), key],
            message: `unknown training setting "${key}"${allowed ? `${didYouMean(key, allowed)}; allowed: ${allowed.join(", ")}` : ""}`,
          });
        }
        continue;
      }
      ctx.addIssue({ code: "custom", path: ["base", ...issue.path.map((k) => (typeof k === "symbol" ? String(k) : k))], message: engineMessage(issue, base) });
    }
  }

  // Every candidate value of every parameter, resolved into a config the engine would accept.
  for (const name of known) {
    const p = spec.parameters[name];
    for (const candidate of candidates(p)) {
      const result = TrainConfigSchema.safeParse({ ...base, [name]: candidate.value });
      if (result.success) continue;
      const own = result.error.issues.filter((issue) => issue.path[0] === name);
      for (const issue of own.slice(0, 1)) {
        ctx.addIssue({
          code: "custom",
          path: ["parameters", name, ...candidate.path],
          message: `${name} ${describe(candidate.value)} is rejected by the training config: ${engineMessage(issue, { [name]: candidate.value })}`,
        });
      }
    }
  }

  const searched = searchedParameterNames(spec);
  if (names.length > 0 && searched.length === 0) {
    ctx.addIssue({ code: "custom", path: ["parameters"], message: "nothing to search: every parameter is fixed; give at least one parameter values: [...] or a distribution" });
  } else if (names.length === 0) {
    ctx.addIssue({ code: "custom", path: ["parameters"], message: "nothing to search: add at least one parameter, e.g. lr_g: { distribution: log_uniform, min: 0.00005, max: 0.001 }" });
  }

  // Method-specific settings.
  if (spec.method === "grid") {
    for (const name of known) {
      const p = spec.parameters[name];
      if (domainSize(domainOf(p)) === null && "distribution" in p) {
        ctx.addIssue({
          code: "custom",
          path: ["parameters", name, "distribution"],
          message: `grid search needs a finite set of values, but ${p.distribution} over [${p.min}, ${p.max}] is continuous; use values: [...], int_uniform, or add q (a step)`,
        });
      }
    }
  }
  if ((spec.method === "random" || spec.method === "tpe") && spec.run_cap === undefined) {
    ctx.addIssue({ code: "custom", path: ["run_cap"], message: `required for method ${spec.method}: how many trials to run in total (e.g. run_cap: 20)` });
  }
  if (spec.tpe !== undefined && spec.method !== "tpe") {
    ctx.addIssue({ code: "custom", path: ["tpe"], message: `TPE settings only apply to method tpe (this sweep uses ${spec.method}); remove them or set method: tpe` });
  }
  if (spec.pbt !== undefined && spec.method !== "pbt") {
    ctx.addIssue({ code: "custom", path: ["pbt"], message: `PBT settings only apply to method pbt (this sweep uses ${spec.method}); remove them or set method: pbt` });
  }
  const maxEpochs = largestEpochs(spec);
  if (spec.method === "pbt") {
    if (spec.early_terminate !== undefined) {
      ctx.addIssue({ code: "custom", path: ["early_terminate"], message: "not used with method pbt: PBT replaces weak trials by exploiting strong ones instead of stopping them; remove early_terminate" });
    }
    const pbt = pbtSettings(spec);
    if (spec.pbt?.mutate) {
      spec.pbt.mutate.forEach((name, i) => {
        if (!searched.includes(name)) {
          ctx.addIssue({ code: "custom", path: ["pbt", "mutate", i], message: `"${name}" is not a searched parameter; allowed: ${searched.join(", ") || "(none)"}` });
        } else if (!PBT_MUTABLE_SETTINGS.includes(name)) {
          ctx.addIssue({
            code: "custom",
            path: ["pbt", "mutate", i],
            message: `${name} cannot change in the middle of a run (the copied checkpoint fixes it); allowed: ${PBT_MUTABLE_SETTINGS.join(", ")}`,
          });
        }
      });
    } else if (searched.length > 0 && pbtMutableNames(spec).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["parameters"],
        message: `PBT needs at least one searched parameter it can change mid-run: ${PBT_MUTABLE_SETTINGS.join(", ")} (got ${searched.join(", ")})`,
      });
    }
    if (pbt.interval >= maxEpochs) {
      ctx.addIssue({ code: "custom", path: ["pbt", "interval"], message: `must be < epochs (${maxEpochs}), or no trial ever reaches a PBT step (got ${pbt.interval})` });
    }
  }
  if (spec.early_terminate !== undefined && spec.early_terminate.min_epochs >= maxEpochs) {
    ctx.addIssue({
      code: "custom",
      path: ["early_terminate", "min_epochs"],
      message: `must be < epochs (${maxEpochs}), or no trial can ever be stopped early (got ${spec.early_terminate.min_epochs})`,
    });
  }
}

/** The engine's message for one of its issues, with the offending value when zod did not say it. */
function engineMessage(issue: z.core.$ZodIssue, source: Record<string, unknown>): string {
  const value = issue.path.reduce<unknown>((acc, key) => (acc !== null && typeof acc === "object" ? (acc as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined), source);
  return rewriteMessage(issue, value, null);
}

// ---------------------------------------------------------------------------------------------------
// Issues, formatting and YAML

export interface SpecIssue {
  /** Dotted path with [i] for list items, e.g. `parameters.loss.values[1]`; `(root)` for the spec itself. */
  path: string;
  message: string;
  /** 1-based line in the YAML source, when parsed from YAML. */
  line?: number;
}

export type SpecParseResult =
  | { success: true; spec: SweepSpec; warnings: SpecIssue[] }
  | { success: false; issues: SpecIssue[] };

export class SweepSpecError extends Error {
  constructor(
    public readonly issues: SpecIssue[],
    source?: string,
  ) {
    super(`Invalid sweep spec${source ? ` in ${source}` : ""}:\n` + issues.map((i) => `  - ${formatIssue(i)}`).join("\n"));
    this.name = "SweepSpecError";
  }
}

export function formatIssue(issue: SpecIssue): string {
  return `${issue.line !== undefined ? `line ${issue.line}: ` : ""}${issue.path}: ${issue.message}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out || "(root)";
}

const OBJECT_KEYS: Record<string, readonly string[]> = {
  "": Object.keys(SweepSpecObject.shape),
  metric: Object.keys(MetricSchema.shape),
  early_terminate: Object.keys(EarlyTerminateSchema.shape),
  tpe: Object.keys(TpeSettingsSchema.shape),
  pbt: Object.keys(PbtSettingsSchema.shape),
  parameter: Object.keys(RawParameterSchema.shape),
  base: TRAIN_CONFIG_FIELDS,
};

function allowedKeysAt(path: ReadonlyArray<PropertyKey>): readonly string[] | undefined {
  if (path.length === 0) return OBJECT_KEYS[""];
  if (path[0] === "parameters" && path.length === 2) return OBJECT_KEYS.parameter;
  if (path.length === 1) return OBJECT_KEYS[String(path[0])];
  return undefined;
}

function rewriteMessage(issue: z.core.$ZodIssue, input: unknown, path: ReadonlyArray<PropertyKey> | null): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = issue.expected === "object" || issue.expected === "record" ? "a mapping" : issue.expected;
      if (input === undefined) return `required (expected ${expected})`;
      const got = input === null ? "null" : Array.isArray(input) ? "a list" : typeof input === "object" ? "a mapping" : `${typeof input} ${describe(input)}`;
      return `expected ${expected}, got ${got}`;
    }
    case "invalid_value": {
      const allowed = issue.values.map((v) => String(v)).join(", ");
      if (input === undefined) return `required; allowed: ${allowed}`;
      const what = path && path.length > 0 ? String(path[path.length - 1]) : "value";
      return `unknown ${what} ${describe(input)}; allowed: ${allowed}`;
    }
    case "invalid_union":
      return input === undefined ? `required (${issue.message})` : `${issue.message} (got ${describe(input)})`;
    case "too_small": {
      if (issue.origin === "array") return issue.minimum === 1 ? "must not be empty" : `must have at least ${issue.minimum} items`;
      if (issue.origin === "string") return "must not be empty";
      return `must be ${issue.inclusive ? "≥" : ">"} ${issue.minimum} (got ${describe(input)})`;
    }
    case "too_big": {
      if (issue.origin === "array") return `must have at most ${issue.maximum} items`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? "≤" : "<"} ${issue.maximum} (got ${describe(input)})`;
    }
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor} (got ${describe(input)})`;
    default:
      return issue.message;
  }
}

function toSpecIssues(error: z.ZodError, input: unknown): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(path);
      for (const key of issue.keys) {
        out.push({
          path: formatPath([...path, key]),
          message: `unknown key "${key}"${allowed ? `${didYouMean(key, allowed)}; allowed: ${allowed.join(", ")}` : ""}`,
        });
      }
      continue;
    }
    const value = path.reduce<unknown>((acc, key) => (acc !== null && typeof acc === "object" ? (acc as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined), input);
    out.push({ path: formatPath(path), message: rewriteMessage(issue, value, path) });
  }
  return out;
}

/** Allowed-but-suspicious things about a valid spec, each with the path it concerns. */
export function specWarnings(spec: SweepSpec): SpecIssue[] {
  const warnings: SpecIssue[] = [];
  for (const [name, p] of Object.entries(spec.parameters)) {
    if ("distribution" in p && p.q !== undefined) {
      const d = domainOf(p);
      if (d.kind === "numeric" && d.high !== p.max) {
        warnings.push({ path: `parameters.${name}.max`, message: `max ${p.max} is not min + k·q; the largest value used is ${d.high}` });
      }
    }
  }
  if (spec.method === "grid") {
    const size = gridSize(spec);
    if (size !== null && spec.run_cap !== undefined && size > spec.run_cap) {
      warnings.push({ path: "run_cap", message: `the grid has ${size} points but run_cap is ${spec.run_cap}: only the first ${spec.run_cap} in grid order will run` });
    }
  }
  if (spec.method === "tpe" && spec.run_cap !== undefined && spec.run_cap <= tpeSettings(spec).n_startup_trials) {
    warnings.push({
      path: "run_cap",
      message: `run_cap ${spec.run_cap} ≤ tpe.n_startup_trials (${tpeSettings(spec).n_startup_trials}): every trial will be random; lower tpe.n_startup_trials or raise run_cap`,
    });
  }
  if (spec.method === "pbt") {
    const pbt = pbtSettings(spec);
    if (spec.run_cap !== undefined && spec.run_cap !== pbt.population) {
      warnings.push({ path: "run_cap", message: `ignored for method pbt: the sweep runs pbt.population (${pbt.population}) trials` });
    }
    if (spec.parallelism !== undefined && spec.parallelism < pbt.population) {
      warnings.push({
        path: "parallelism",
        message: `${spec.parallelism} < pbt.population (${pbt.population}): members run in turns, and early members can only exploit members that already reported`,
      });
    }
  }
  return warnings;
}

/** Validates a spec object (from JSON, the API or the dashboard form). */
export function safeParseSweepSpec(input: unknown): SpecParseResult {
  const result = SweepSpecSchema.safeParse(input, { reportInput: true });
  if (!result.success) return { success: false, issues: toSpecIssues(result.error, input) };
  return { success: true, spec: result.data, warnings: specWarnings(result.data) };
}

export function parseSweepSpec(input: unknown, source?: string): { spec: SweepSpec; warnings: SpecIssue[] } {
  const result = safeParseSweepSpec(input);
  if (!result.success) throw new SweepSpecError(result.issues, source);
  return { spec: result.spec, warnings: result.warnings };
}

/** The YAML node nearest to `path` (the deepest ancestor that exists), for line numbers. */
function nodeAt(doc: Document, path: ReadonlyArray<PropertyKey>): YamlNode | null {
  let node: unknown = doc.contents;
  let found: YamlNode | null = (doc.contents as YamlNode | null) ?? null;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const k = item.key as { value?: unknown } | null;
        return k !== null && typeof k === "object" && "value" in k ? String(k.value) === String(key) : String(k) === String(key);
      });
      if (!pair) break;
      node = pair.value ?? pair.key;
      found = (pair.value ?? pair.key) as YamlNode;
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key];
      if (item === undefined) break;
      node = item;
      found = item as YamlNode;
    } else {
      break;
    }
  }
  return found;
}

function parsePath(path: string): PropertyKey[] {
  if (path === "(root)") return [];
  const out: PropertyKey[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Validates YAML text; syntax errors and schema issues carry 1-based line numbers. */
export function safeParseSweepYaml(text: string): SpecParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      success: false,
      issues: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: "(yaml)", line: pos.line, message: `YAML syntax error at column ${pos.col}: ${e.message.split("\n")[0]}` };
      }),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { success: false, issues: [{ path: "(root)", line: 1, message: "the file must be a mapping with name, method, parameters, ... (got " + (data === null ? "an empty file" : Array.isArray(data) ? "a list" : typeof data) + ")" }] };
  }
  const result = safeParseSweepSpec(data);
  const withLines = (issues: SpecIssue[]): SpecIssue[] =>
    issues.map((issue) => {
      const node = nodeAt(doc, parsePath(issue.path));
      const offset = node?.range?.[0];
      return offset === undefined ? issue : { ...issue, line: lineCounter.linePos(offset).line };
    });
  if (!result.success) return { success: false, issues: withLines(result.issues) };
  return { success: true, spec: result.spec, warnings: withLines(result.warnings) };
}

export function parseSweepYaml(text: string, source?: string): { spec: SweepSpec; warnings: SpecIssue[] } {
  const result = safeParseSweepYaml(text);
  if (!result.success) throw new SweepSpecError(result.issues, source);
  return { spec: result.spec, warnings: result.warnings };
}

const KEY_ORDER = ["name", "description", "method", "metric", "parameters", "base", "run_cap", "parallelism", "early_terminate", "tpe", "pbt", "seed"] as const;

/** The spec as YAML for the dashboard's YAML view; parses back to an equal spec. Parameters are one line each. */
export function toYaml(spec: SweepSpec): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    const value = (spec as Record<string, unknown>)[key];
    if (value !== undefined) ordered[key] = value;
  }
  const doc = new Document(ordered);
  const params = doc.get("parameters", true);
  if (isMap(params)) {
    for (const pair of params.items) {
      const value = pair.value;
      if (isMap(value) || isSeq(value)) value.flow = true;
      if (isMap(value)) for (const inner of value.items) if (isSeq(inner.value)) inner.value.flow = true;
    }
  }
  const pf = doc.getIn(["pbt", "perturbation_factors"], true);
  if (isSeq(pf)) pf.flow = true;
  return doc.toString({ lineWidth: 0 });
}
