import type { SweepSpec } from "./spec.ts";
import { goalSign, lossOf, sortedReports, trialId, valueAtOrBefore, type EpochValue, type TrialRecord } from "./trials.ts";

export interface PruneDecision {
  prune: boolean;
  /** Why, in words a person reads in the dashboard / runner log. */
  reason: string;
  /** ASHA: the rung epoch that was judged. */
  rung?: number;
}

/** ASHA rung epochs up to `maxEpoch`: min_epochs · η^k. */
export function ashaRungs(minEpochs: number, reductionFactor: number, maxEpoch: number): number[] {
  const rungs: number[] = [];
  for (let r = minEpochs; r <= maxEpoch; r *= reductionFactor) rungs.push(r);
  return rungs;
}

/**
 * A trial's value at a rung: its newest report at or before the rung epoch; if its first report already
 * lies past the rung (epochs skipped), that first report.
 */
function valueForRung(reports: readonly EpochValue[], rung: number): EpochValue {
  return valueAtOrBefore(reports, rung) ?? reports.find((r) => r.epoch >= rung) ?? reports[reports.length - 1];
}

function sameTrial(a: TrialRecord, b: TrialRecord): boolean {
  return trialId(a) === trialId(b);
}

/**
 * Should `trial` stop now, right after its newest report? Call it after each epoch's report, with
 * every trial of the sweep in `allTrials` (the trial itself may or may not be among them).
 *
 * ASHA (asynchronous successive halving): rungs at min_epochs·η^k. When a report crosses a rung, the
 * trial's value at the rung competes with the values at that rung of every trial that reached it
 * (itself included, any state). With n of them it continues only if it ranks within the top
 * floor(n/η) (ties continue); while n < η it must be the best so far (Optuna's
 * SuccessiveHalvingPruner rule).
 *
 * Median: from epoch min_epochs on, stop if the trial's best value so far is worse than the median of
 * the other trials' values at this same epoch; needs at least min_trials such values.
 */
export function shouldPrune(spec: Pick<SweepSpec, "early_terminate" | "metric">, trial: TrialRecord, allTrials: readonly TrialRecord[]): PruneDecision {
  const et = spec.early_terminate;
  if (!et) return { prune: false, reason: "the sweep has no early_terminate" };
  const sign = goalSign(spec.metric.goal);
  const reports = sortedReports(trial);
  if (reports.length === 0) return { prune: false, reason: "no epoch reported yet" };
  const latest = reports[reports.length - 1];
  const others = allTrials.filter((t) => !sameTrial(t, trial));

  if (et.type === "asha") {
    const previousEpoch = reports.length > 1 ? reports[reports.length - 2].epoch : 0;
    const crossed = ashaRungs(et.min_epochs, et.reduction_factor, latest.epoch).filter((r) => r > previousEpoch);
    if (crossed.length === 0) {
      const next = ashaRungs(et.min_epochs, et.reduction_factor, latest.epoch * et.reduction_factor + et.min_epochs).find((r) => r > latest.epoch);
      return { prune: false, reason: `epoch ${latest.epoch} is not an ASHA rung (next rung: epoch ${next})` };
    }
    // Judge the highest rung this report crossed (normally the rung equals the epoch).
    const rung = crossed[crossed.length - 1];
    const own = lossOf(valueForRung(reports, rung).value, sign);
    const competitors: number[] = [own];
    for (const t of others) {
      const r = sortedReports(t);
      if (r.length === 0 || r[r.length - 1].epoch < rung) continue;
      competitors.push(lossOf(valueForRung(r, rung).value, sign));
    }
    const n = competitors.length;
    const keep = Math.max(1, Math.floor(n / et.reduction_factor));
    const sorted = [...competitors].sort((a, b) => a - b);
    const threshold = sorted[keep - 1];
    const rank = 1 + competitors.filter((v) => v < own).length;
    if (own <= threshold && Number.isFinite(own)) {
      return { prune: false, reason: `rung epoch ${rung}: ranks ${rank} of ${n}, within the top ${keep} (1/${et.reduction_factor}) that continue`, rung };
    }
    return {
      prune: true,
      reason: Number.isFinite(own)
        ? `rung epoch ${rung}: ranks ${rank} of ${n}; only the top ${keep} (1/${et.reduction_factor}) continue`
        : `rung epoch ${rung}: metric ${spec.metric.name} is not a finite number`,
      rung,
    };
  }

  // Median rule.
  if (latest.epoch < et.min_epochs) return { prune: false, reason: `epoch ${latest.epoch} < min_epochs ${et.min_epochs}` };
  let best = Infinity;
  for (const r of reports) best = Math.min(best, lossOf(r.value, sign));
  if (!Number.isFinite(best)) return { prune: true, reason: `metric ${spec.metric.name} has no finite value yet at epoch ${latest.epoch}` };
  const peers: number[] = [];
  for (const t of others) {
    const at = (t.intermediate ?? []).filter((r) => r.epoch === latest.epoch);
    const v = at.length > 0 ? at[at.length - 1].value : undefined;
    if (v !== undefined && Number.isFinite(v)) peers.push(sign * v);
  }
  if (peers.length < et.min_trials) {
    return { prune: false, reason: `only ${peers.length} other trial(s) reported epoch ${latest.epoch}; the median rule needs ${et.min_trials}` };
  }
  peers.sort((a, b) => a - b);
  const mid = peers.length / 2;
  const median = peers.length % 2 === 1 ? peers[Math.floor(mid)] : (peers[mid - 1] + peers[mid]) / 2;
  const shown = (x: number) => sign * x;
  if (best > median) {
    return { prune: true, reason: `epoch ${latest.epoch}: best ${spec.metric.name} so far ${shown(best)} is worse than the median ${shown(median)} of ${peers.length} other trials` };
  }
  return { prune: false, reason: `epoch ${latest.epoch}: best ${spec.metric.name} so far ${shown(best)} is no worse than the median ${shown(median)} of ${peers.length} other trials` };
}
