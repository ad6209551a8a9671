import type { Rng } from "./rng.ts";

/** A value a parameter can take: what ends up in a TrainConfig field. */
export type Scalar = number | string | boolean;

export const DISTRIBUTIONS = ["uniform", "log_uniform", "int_uniform", "q_uniform"] as const;
export type DistributionName = (typeof DISTRIBUTIONS)[number];

/** One entry of `parameters:` in a sweep spec, as the user writes it. */
export type ParameterSpec =
  | { value: Scalar }
  | { values: Scalar[] }
  | { distribution: DistributionName; min: number; max: number; q?: number };

/**
 * The search domain a parameter spec describes, normalised:
 * - numeric: [low, high], optionally on a step grid (int_uniform, q_uniform, or any distribution with q),
 *   optionally searched in log space. `high` is already lowered onto the step grid.
 */
export type Domain =
  | { kind: "fixed"; value: Scalar }
  | { kind: "categorical"; values: Scalar[] }
  | { kind: "numeric"; low: number; high: number; step: number | null; log: boolean };

/** Removes float noise such as 0.30000000000000004 from grid arithmetic. */
export function clean(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(12)) : x;
}

export function domainOf(spec: ParameterSpec): Domain {
  if ("value" in spec) return { kind: "fixed", value: spec.value };
  if ("values" in spec) return spec.values.length === 1 ? { kind: "fixed", value: spec.values[0] } : { kind: "categorical", values: spec.values };
  const step = spec.distribution === "int_uniform" ? (spec.q ?? 1) : (spec.q ?? null);
  const low = spec.min;
  let high = spec.max;
  if (step !== null) high = clean(low + Math.floor((high - low) / step + 1e-9) * step);
  return { kind: "numeric", low, high, step, log: spec.distribution === "log_uniform" };
}

/** Number of points on the step grid, or null when the domain is continuous. */
export function domainSize(domain: Domain): number | null {
  switch (domain.kind) {
    case "fixed":
      return 1;
    case "categorical":
      return domain.values.length;
    case "numeric":
      return domain.step === null ? null : Math.round((domain.high - domain.low) / domain.step) + 1;
  }
}

/** The i-th value of a finite domain, in ascending / listed order. */
export function domainValueAt(domain: Domain, index: number): Scalar {
  switch (domain.kind) {
    case "fixed":
      return domain.value;
    case "categorical":
      return domain.values[index];
    case "numeric":
      if (domain.step === null) throw new Error("a continuous domain has no i-th value");
      return clean(domain.low + index * domain.step);
  }
}

/** Rounds onto the step grid (if any) and clamps into [low, high]. */
export function snap(domain: Extract<Domain, { kind: "numeric" }>, x: number): number {
  let v = x;
  if (domain.step !== null) v = domain.low + Math.round((v - domain.low) / domain.step) * domain.step;
  return clean(Math.min(domain.high, Math.max(domain.low, v)));
}

export function domainContains(domain: Domain, value: unknown): boolean {
  switch (domain.kind) {
    case "fixed":
      return value === domain.value;
    case "categorical":
      return domain.values.some((v) => v === value);
    case "numeric":
      return typeof value === "number" && Number.isFinite(value) && value >= domain.low - 1e-12 && value <= domain.high + 1e-12;
  }
}

/**
 * One uniform draw from the domain, as Optuna's RandomSampler does it: log scales sample the exponent
 * uniformly; step grids sample [low - step/2, high + step/2] and round, so the end points get a full
 * share of probability.
 */
export function sampleDomain(domain: Domain, rng: Rng): Scalar {
  switch (domain.kind) {
    case "fixed":
      return domain.value;
    case "categorical":
      return domain.values[rng.int(domain.values.length)];
    case "numeric": {
      const { low, high, step, log } = domain;
      if (log) {
        const lo = step !== null && low - step / 2 > 0 ? low - step / 2 : low;
        const hi = step !== null ? high + step / 2 : high;
        return snap(domain, Math.exp(rng.uniform(Math.log(lo), Math.log(hi))));
      }
      if (step !== null) return snap(domain, rng.uniform(low - step / 2, high + step / 2));
      return clean(rng.uniform(low, high));
    }
  }
}
