import { parseSweepSpec, type SweepSpec } from "./spec.ts";
import { suggestNext } from "./strategies.ts";
import type { Scalar } from "./space.ts";
import type { TrialRecord } from "./trials.ts";

/**
 * Synthetic objectives shaped like GAN hyperparameter landscapes, for tests and benchmarks that
 * compare TPE with random search without training anything. Both are minimised; both optima are 0.
 */
export interface SyntheticObjective {
  name: string;
  /** Spec fields besides method / run_cap / seed. */
  parameters: Record<string, unknown>;
  evaluate(params: Readonly<Record<string, Scalar>>): number;
}

const num = (v: Scalar | undefined): number => v as number;

/** A bowl in log-learning-rate space, off-centre, plus beta1: optimum lr_g 3.16e-4, lr_d 1e-3, beta1 0.5. */
export const logLrQuadratic: SyntheticObjective = {
  name: "log-lr quadratic",
  parameters: {
    lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-1 },
    lr_d: { distribution: "log_uniform", min: 1e-5, max: 1e-1 },
    beta1: { distribution: "uniform", min: 0, max: 0.95 },
  },
  evaluate: (p) => (Math.log10(num(p.lr_g)) + 3.5) ** 2 + (Math.log10(num(p.lr_d)) + 3) ** 2 + 4 * (num(p.beta1) - 0.5) ** 2,
};

const LOSS_PENALTY: Record<string, number> = { bce: 0.6, lsgan: 0, hinge: 0.3 };

/** Categorical + continuous + integer mix: loss, batch size, ngf (steps of 8), lr_g (log), label smoothing. */
export const mixedSpace: SyntheticObjective = {
  name: "categorical+continuous mix",
  parameters: {
    loss: { values: ["bce", "lsgan", "hinge"] },
    batch_size: { values: [16, 32, 64, 128] },
    ngf: { distribution: "int_uniform", min: 16, max: 128, q: 8 },
    lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-2 },
    label_smoothing: { distribution: "uniform", min: 0, max: 0.3 },
  },
  evaluate: (p) =>
    LOSS_PENALTY[String(p.loss)] +
    0.25 * Math.abs(Math.log2(num(p.batch_size)) - 6) +
    ((num(p.ngf) - 64) / 32) ** 2 +
    (Math.log10(num(p.lr_g)) + 3.7) ** 2 +
    3 * (num(p.label_smoothing) - 0.1) ** 2,
};

export function syntheticSpec(objective: SyntheticObjective, method: "random" | "tpe", runCap: number, seed: number): SweepSpec {
  return parseSweepSpec({ name: `${objective.name} (${method})`, method, run_cap: runCap, seed, parameters: objective.parameters, base: { epochs: 10 } }).spec;
}

/** Runs a sweep sequentially against the objective; returns the best value after each trial. */
export function simulate(spec: SweepSpec, objective: SyntheticObjective): number[] {
  const history: TrialRecord[] = [];
  const bestSoFar: number[] = [];
  let best = Infinity;
  for (;;) {
    const s = suggestNext(spec, history);
    if (s.status !== "trial") break;
    const value = objective.evaluate(s.params);
    history.push({ number: s.trialNumber, state: "completed", params: s.params, value });
    best = Math.min(best, value);
    bestSoFar.push(best);
  }
  return bestSoFar;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length / 2;
  return s.length % 2 ? s[Math.floor(m)] : (s[m - 1] + s[m]) / 2;
}
