import type { Scalar } from "./space.ts";

/**
 * What the pure strategies need to know about a trial: the DB layer maps its rows onto this.
 * `epoch` numbers are 1-based: the report for epoch 1 is written when the first epoch ends.
 */
export type TrialState = "running" | "completed" | "pruned" | "failed" | "cancelled";

export interface EpochValue {
  epoch: number;
  /** The sweep metric at the end of that epoch (NaN when the engine produced one). */
  value: number;
}

export interface TrialRecord {
  /** Sweep-local sequence number, 0-based, in the order trials were created. */
  number: number;
  /** The DB id; PBT decisions name parents by it. Defaults to String(number). */
  id?: string;
  state: TrialState;
  /** The searched parameters this trial ran with (fixed ones live in the spec). */
  params: Readonly<Record<string, Scalar>>;
  /** Final metric value of a completed trial. */
  value?: number | null;
  /** Per-epoch metric reports, any order. */
  intermediate?: ReadonlyArray<EpochValue>;
  /** Grid sweeps: which grid point this trial is. */
  gridIndex?: number | null;
  /** PBT: the trial whose checkpoint this one was cloned from; null/absent for initial members. */
  parentTrialId?: string | null;
}

export function trialId(trial: Pick<TrialRecord, "id" | "number">): string {
  return trial.id ?? String(trial.number);
}

/** Reports sorted by epoch, last report per epoch winning. */
export function sortedReports(trial: Pick<TrialRecord, "intermediate">): EpochValue[] {
  const byEpoch = new Map<number, number>();
  for (const r of trial.intermediate ?? []) byEpoch.set(r.epoch, r.value);
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, value]) => ({ epoch, value }));
}

/** The value reported at the latest epoch ≤ `epoch`, or undefined if none. */
export function valueAtOrBefore(reports: readonly EpochValue[], epoch: number): EpochValue | undefined {
  let found: EpochValue | undefined;
  for (const r of reports) {
    if (r.epoch <= epoch) found = r;
    else break;
  }
  return found;
}

/** +1 when smaller is better, -1 when larger is better: `sign * value` is always "smaller is better". */
export function goalSign(goal: "minimize" | "maximize"): 1 | -1 {
  return goal === "minimize" ? 1 : -1;
}

/** NaN/±Infinity reports count as the worst possible result. */
export function lossOf(value: number, sign: 1 | -1): number {
  return Number.isFinite(value) ? sign * value : Infinity;
}
