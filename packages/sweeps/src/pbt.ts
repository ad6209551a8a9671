import { createRng, type Rng } from "./rng.ts";
import { domainContains, domainOf, sampleDomain, snap, type Scalar } from "./space.ts";
import { pbtMutableNames, pbtSettings, type SweepSpec } from "./spec.ts";
import { goalSign, lossOf, sortedReports, trialId, valueAtOrBefore, type TrialRecord } from "./trials.ts";

export interface ParamChange {
  name: string;
  from: Scalar | undefined;
  to: Scalar;
  /** "×0.8", "×1.2", "resampled", "next choice", "previous choice". */
  how: string;
}

export interface PbtDecision {
  /** Null: keep training with the current weights and parameters. */
  exploit: {
    /** Copy this trial's newest checkpoint (G, D, EMA, optimisers) before continuing. */
    parentTrialId: string;
    /** The parameters to continue with: the parent's, with the mutable ones perturbed. */
    newParams: Record<string, Scalar>;
    changes: ParamChange[];
  } | null;
  reason: string;
}

/**
 * Explore step (Ray Tune's PBT): for each mutable parameter, with resample_probability draw a fresh
 * value from the spec's distribution; otherwise multiply by one of the perturbation factors (a choice
 * moves to a neighbouring value), then snap to the step grid and clamp to the bounds. A whole-number
 * setting that rounding would leave unchanged moves one step in the factor's direction.
 */
export function explore(spec: SweepSpec, parentParams: Readonly<Record<string, Scalar>>, rng: Rng): { params: Record<string, Scalar>; changes: ParamChange[] } {
  const settings = pbtSettings(spec);
  const params: Record<string, Scalar> = { ...parentParams };
  const changes: ParamChange[] = [];
  for (const name of pbtMutableNames(spec)) {
    const d = domainOf(spec.parameters[name]);
    if (d.kind === "fixed") continue;
    const from = parentParams[name];
    const resample = rng.next() < settings.resample_probability;
    const factorIndex = rng.int(2);
    if (resample || from === undefined || !domainContains(d, from)) {
      const to = sampleDomain(d, rng);
      params[name] = to;
      changes.push({ name, from, to, how: "resampled" });
      continue;
    }
    const factor = settings.perturbation_factors[factorIndex];
    if (d.kind === "categorical") {
      const i = d.values.findIndex((v) => v === from);
      const j = Math.min(d.values.length - 1, Math.max(0, i + (factor >= 1 ? 1 : -1)));
      params[name] = d.values[j];
      changes.push({ name, from, to: d.values[j], how: factor >= 1 ? "next choice" : "previous choice" });
      continue;
    }
    let to = snap(d, (from as number) * factor);
    if (to === from && d.step !== null && factor !== 1) to = snap(d, (from as number) + (factor > 1 ? d.step : -d.step));
    params[name] = to;
    changes.push({ name, from, to, how: `×${factor}` });
  }
  return { params, changes };
}

/** A population member's metric for ranking at `epoch`: its newest report at or before that epoch. */
function scoreAt(trial: TrialRecord, epoch: number, sign: 1 | -1): number | undefined {
  const r = valueAtOrBefore(sortedReports(trial), epoch);
  return r === undefined ? undefined : lossOf(r.value, sign);
}

/**
 * Exploit/explore decision for `trialIdOrRecord` after it reported `epoch`. `population` holds the live
 * members (one per population slot: the newest trial of each lineage), running or completed.
 *
 * Every pbt.interval epochs, members that have reported are ranked by their metric at this epoch (their
 * newest report at or before it, so members that are ahead are not favoured by extra training). The top
 * and bottom groups each hold ceil(N·quantile) members (at most N/2). A member in the bottom group copies
 * a random top member's checkpoint and parameters and perturbs them (explore). Seeded by
 * (spec.seed, trial id, epoch): the same situation always gives the same decision.
 */
export function pbtDecision(spec: SweepSpec, population: readonly TrialRecord[], trial: TrialRecord | string, epoch: number): PbtDecision {
  const settings = pbtSettings(spec);
  const id = typeof trial === "string" ? trial : trialId(trial);
  if (!Number.isInteger(epoch) || epoch <= 0 || epoch % settings.interval !== 0) {
    return { exploit: null, reason: `epoch ${epoch} is not a PBT step (every ${settings.interval} epochs)` };
  }
  const sign = goalSign(spec.metric.goal);
  const members = population.some((t) => trialId(t) === id) || typeof trial === "string" ? [...population] : [...population, trial];
  const ranked = members
    .filter((t) => t.state === "running" || t.state === "completed")
    .map((t) => ({ t, score: scoreAt(t, epoch, sign) }))
    .filter((m): m is { t: TrialRecord; score: number } => m.score !== undefined)
    .sort((a, b) => a.score - b.score || a.t.number - b.t.number);
  const self = ranked.findIndex((m) => trialId(m.t) === id);
  if (self < 0) return { exploit: null, reason: `trial ${id} has no ${spec.metric.name} report at or before epoch ${epoch}` };
  if (ranked.length < 2) return { exploit: null, reason: `only ${ranked.length} member has reported; nothing to compare` };
  let groupSize = Math.ceil(ranked.length * settings.quantile);
  if (groupSize > ranked.length / 2) groupSize = Math.floor(ranked.length / 2);
  if (groupSize === 0) return { exploit: null, reason: `population of ${ranked.length} too small for quantile ${settings.quantile}` };
  const rank = self + 1;
  if (self < ranked.length - groupSize) {
    return { exploit: null, reason: `ranks ${rank} of ${ranked.length} at epoch ${epoch}; only the bottom ${groupSize} exploit` };
  }
  const rng = createRng(spec.seed, "pbt", id, epoch);
  const top = ranked.slice(0, groupSize);
  const parent = top[rng.int(top.length)].t;
  const { params, changes } = explore(spec, parent.params, rng);
  return {
    exploit: { parentTrialId: trialId(parent), newParams: params, changes },
    reason: `ranks ${rank} of ${ranked.length} at epoch ${epoch} (bottom ${groupSize}); copies trial ${trialId(parent)} (top ${groupSize}) and perturbs ${changes.map((c) => `${c.name} ${c.how}`).join(", ")}`,
  };
}
