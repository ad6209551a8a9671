/**
 * GAN health badges for a run, from its (bucketed) metric series. Pure: the same series always give
 * the same badges, so the rules are tested on hand-made series.
 *
 * Rules (all losses ganboard trains with — bce, lsgan, hinge — are ≥ 0 with 0 meaning "D is perfect";
 * d_real / d_fake are mean sigmoid(D(·)) whatever the loss):
 * - "D loss → 0": recent mean loss_d < 0.05 (bad) or < 0.15 (warn). D separates real from fake
 *   perfectly, so G's gradients vanish.
 * - "D(G(z)) → 0": recent mean d_fake < 0.05 (bad) or < 0.15 (warn). D rejects every fake.
 * - "Diversity collapse": with MS-SSIM (per epoch), the fakes' latest ms_ssim exceeds the real
 *   images' ms_ssim_real by > 0.15 (bad) or > 0.07 (warn): the samples look more alike than the data.
 *   Without it, SWD rising: latest swd ≥ 1.5 × its best, reached ≥ 2 epochs earlier (warn), ≥ 2 ×
 *   (bad) — samples drift away from the data after having been closer.
 * - "Diverged": any NaN/±Infinity in a series, or a run that failed with a divergence error.
 * "Recent" = the last 10% of logged steps (at least the last 20 steps); fewer than 20 steps → unknown.
 */
import type { SeriesBucket } from "@ganboard/db";

export type HealthState = "ok" | "warn" | "bad" | "unknown";
export type HealthCheckId = "d_loss_zero" | "d_fake_zero" | "diversity_collapse" | "diverged";

export interface HealthBadge {
  id: HealthCheckId;
  label: string;
  state: HealthState;
  /** One line saying what was measured and what it means. */
  explanation: string;
}

export interface HealthInput {
  /** Bucketed series by metric key (oldest first). */
  series: Readonly<Record<string, readonly SeriesBucket[]>>;
  error?: string | null;
}

export const HEALTH_THRESHOLDS = {
  minSteps: 20,
  recentShare: 0.1,
  dLoss: { bad: 0.05, warn: 0.15 },
  dFake: { bad: 0.05, warn: 0.15 },
  msSsimExcess: { bad: 0.15, warn: 0.07 },
  swdRise: { bad: 2, warn: 1.5, minEpochsSinceBest: 2 },
} as const;

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2));

/** Mean of the finite points in the last 10% of steps (≥ 20 steps), from bucket means weighted by count. */
export function recentMean(buckets: readonly SeriesBucket[] | undefined): { mean: number; steps: number } | null {
  if (!buckets || buckets.length === 0) return null;
  const total = buckets.reduce((n, b) => n + b.count, 0);
  if (total < HEALTH_THRESHOLDS.minSteps) return null;
  const want = Math.max(HEALTH_THRESHOLDS.minSteps, Math.ceil(total * HEALTH_THRESHOLDS.recentShare));
  let steps = 0;
  let sum = 0;
  let finite = 0;
  for (let i = buckets.length - 1; i >= 0 && steps < want; i--) {
    const b = buckets[i];
    steps += b.count;
    const n = b.count - b.nonFinite;
    if (b.value !== null && n > 0) {
      sum += b.value * n;
      finite += n;
    }
  }
  return finite > 0 ? { mean: sum / finite, steps } : null;
}

function lowValueBadge(
  id: HealthCheckId,
  label: string,
  buckets: readonly SeriesBucket[] | undefined,
  limits: { bad: number; warn: number },
  what: (mean: string, steps: number) => string,
  healthy: (mean: string, steps: number) => string,
  missing: string,
): HealthBadge {
  const recent = recentMean(buckets);
  if (!recent) return { id, label, state: "unknown", explanation: missing };
  const mean = fmt(recent.mean);
  if (recent.mean < limits.warn) return { id, label, state: recent.mean < limits.bad ? "bad" : "warn", explanation: what(mean, recent.steps) };
  return { id, label, state: "ok", explanation: healthy(mean, recent.steps) };
}

function diversityBadge(series: HealthInput["series"]): HealthBadge {
  const id = "diversity_collapse";
  const label = "Diversity collapse";
  const last = (key: string): SeriesBucket | undefined => {
    const s = series[key];
    for (let i = (s?.length ?? 0) - 1; i >= 0; i--) if (s?.[i].value !== null) return s?.[i];
    return undefined;
  };
  const fake = last("ms_ssim");
  const real = last("ms_ssim_real");
  if (fake?.value != null && real?.value != null) {
    const excess = fake.value - real.value;
    const t = HEALTH_THRESHOLDS.msSsimExcess;
    const facts = `MS-SSIM of samples ${fmt(fake.value)} vs ${fmt(real.value)} for real images (epoch ${fake.epoch})`;
    if (excess > t.warn) return { id, label, state: excess > t.bad ? "bad" : "warn", explanation: `${facts}: samples look more alike than the data — mode collapse.` };
    return { id, label, state: "ok", explanation: `${facts}: samples are as varied as the data.` };
  }
  const swd = (series.swd ?? []).filter((b): b is SeriesBucket & { value: number } => b.value !== null);
  if (swd.length >= 3) {
    const best = swd.reduce((a, b) => (b.value < a.value ? b : a));
    const latest = swd[swd.length - 1];
    const t = HEALTH_THRESHOLDS.swdRise;
    const ratio = best.value > 0 ? latest.value / best.value : 1;
    if (ratio >= t.warn && latest.epoch - best.epoch >= t.minEpochsSinceBest) {
      return {
        id,
        label,
        state: ratio >= t.bad ? "bad" : "warn",
        explanation: `SWD rose from ${fmt(best.value)} (epoch ${best.epoch}) to ${fmt(latest.value)} (epoch ${latest.epoch}): samples drift away from the data.`,
      };
    }
    return { id, label, state: "ok", explanation: `SWD ${fmt(latest.value)} at epoch ${latest.epoch}, best ${fmt(best.value)}: no sign of collapse.` };
  }
  return { id, label, state: "unknown", explanation: "Needs per-epoch SWD or MS-SSIM on 3+ epochs (swd_samples > 0)." };
}

function divergedBadge(input: HealthInput): HealthBadge {
  const id = "diverged";
  const label = "Diverged";
  const broken = Object.entries(input.series)
    .map(([key, buckets]) => ({ key, bad: buckets.filter((b) => b.nonFinite > 0) }))
    .filter((s) => s.bad.length > 0);
  if (broken.length > 0) {
    const firstStep = Math.min(...broken.map((s) => s.bad[0].step));
    return { id, label, state: "bad", explanation: `Non-finite values (NaN/∞) in ${broken.map((s) => s.key).join(", ")} from about step ${firstStep}: training blew up.` };
  }
  if (input.error && /diverg|non-finite|\bnan\b|infinity/i.test(input.error)) {
    return { id, label, state: "bad", explanation: `The run stopped with: ${input.error.split("\n")[0]}` };
  }
  const any = Object.values(input.series).some((s) => s.length > 0);
  if (!any) return { id, label, state: "unknown", explanation: "No metrics logged yet." };
  return { id, label, state: "ok", explanation: "Every logged value is finite." };
}

/** The four badges, always in the same order. */
export function assessHealth(input: HealthInput): HealthBadge[] {
  const { series } = input;
  return [
    lowValueBadge(
      "d_loss_zero",
      "D loss → 0",
      series.loss_d,
      HEALTH_THRESHOLDS.dLoss,
      (m, n) => `D loss averages ${m} over the last ${n} steps: D wins outright and G's gradients vanish.`,
      (m, n) => `D loss averages ${m} over the last ${n} steps: D has not overpowered G.`,
      "Needs 20+ logged steps of loss_d.",
    ),
    lowValueBadge(
      "d_fake_zero",
      "D(G(z)) → 0",
      series.d_fake,
      HEALTH_THRESHOLDS.dFake,
      (m, n) => `D(G(z)) averages ${m} over the last ${n} steps: D rejects every fake, so G learns little.`,
      (m, n) => `D(G(z)) averages ${m} over the last ${n} steps: fakes still fool D some of the time.`,
      "Needs 20+ logged steps of d_fake.",
    ),
    diversityBadge(series),
    divergedBadge(input),
  ];
}
