import type { SeriesBucket } from "@ganboard/db";
import { describe, expect, it } from "vitest";
import { downsample } from "./downsample.ts";
import { assessHealth, recentMean, type HealthCheckId, type HealthState } from "./health.ts";

/** A per-step series of `n` steps where value(step) is given. */
const steps = (n: number, value: (step: number) => number): SeriesBucket[] =>
  downsample(Array.from({ length: n }, (_, i) => ({ step: i + 1, epoch: Math.floor(i / 50) + 1, wallTime: i, value: value(i + 1) })), 300);
/** A per-epoch series. */
const epochs = (values: number[]): SeriesBucket[] =>
  values.map((value, i) => ({ step: (i + 1) * 50, epoch: i + 1, wallTime: i, value, min: value, max: value, count: 1, nonFinite: 0 }));

const states = (series: Record<string, SeriesBucket[]>, error?: string): Record<HealthCheckId, HealthState> =>
  Object.fromEntries(assessHealth({ series, error }).map((b) => [b.id, b.state])) as Record<HealthCheckId, HealthState>;

const healthy = { loss_d: steps(1000, () => 1.2), loss_g: steps(1000, () => 0.9), d_fake: steps(1000, () => 0.4) };

describe("GAN health rules", () => {
  it("a balanced run is healthy on every rule it can judge", () => {
    const badges = assessHealth({ series: { ...healthy, swd: epochs([9, 7, 6, 5.5]) } });
    expect(badges.map((b) => [b.id, b.state])).toEqual([
      ["d_loss_zero", "ok"],
      ["d_fake_zero", "ok"],
      ["diversity_collapse", "ok"],
      ["diverged", "ok"],
    ]);
    for (const b of badges) expect(b.explanation).toMatch(/\S/);
  });

  it("flags D loss → 0 only on the recent window, not on an early dip", () => {
    expect(states({ ...healthy, loss_d: steps(1000, (s) => (s > 900 ? 0.01 : 1)) }).d_loss_zero).toBe("bad");
    expect(states({ ...healthy, loss_d: steps(1000, (s) => (s > 900 ? 0.1 : 1)) }).d_loss_zero).toBe("warn");
    expect(states({ ...healthy, loss_d: steps(1000, (s) => (s < 100 ? 0.001 : 1)) }).d_loss_zero).toBe("ok");
    const badge = assessHealth({ series: { ...healthy, loss_d: steps(1000, () => 0.02) } })[0];
    expect(badge.explanation).toBe("D loss averages 0.020 over the last 100 steps: D wins outright and G's gradients vanish.");
  });

  it("flags D(G(z)) → 0", () => {
    expect(states({ ...healthy, d_fake: steps(1000, () => 0.01) }).d_fake_zero).toBe("bad");
    expect(states({ ...healthy, d_fake: steps(1000, () => 0.1) }).d_fake_zero).toBe("warn");
  });

  it("is unknown, not ok, with too few steps", () => {
    expect(states({ loss_d: steps(10, () => 0.0) })).toMatchObject({ d_loss_zero: "unknown", d_fake_zero: "unknown", diversity_collapse: "unknown" });
    expect(states({}).diverged).toBe("unknown");
  });

  it("diversity collapse: MS-SSIM of samples above the data's, else SWD rising after its best", () => {
    expect(states({ ...healthy, ms_ssim: epochs([0.2, 0.5]), ms_ssim_real: epochs([0.2, 0.2]) }).diversity_collapse).toBe("bad");
    expect(states({ ...healthy, ms_ssim: epochs([0.3]), ms_ssim_real: epochs([0.2]) }).diversity_collapse).toBe("warn");
    expect(states({ ...healthy, ms_ssim: epochs([0.22]), ms_ssim_real: epochs([0.2]) }).diversity_collapse).toBe("ok");
    expect(states({ ...healthy, swd: epochs([8, 4, 5, 7]) }).diversity_collapse).toBe("warn");
    expect(states({ ...healthy, swd: epochs([8, 4, 6, 9]) }).diversity_collapse).toBe("bad");
    // A rise right after the best epoch is noise, not a trend.
    expect(states({ ...healthy, swd: epochs([8, 6, 4, 7]) }).diversity_collapse).toBe("ok");
    expect(states({ ...healthy, swd: epochs([8, 4]) }).diversity_collapse).toBe("unknown");
  });

  it("diverged: non-finite values anywhere, or a divergence error", () => {
    const nan = { ...healthy, loss_g: steps(1000, (s) => (s === 700 ? Number.NaN : 1)) };
    const badge = assessHealth({ series: nan }).find((b) => b.id === "diverged");
    expect(badge?.state).toBe("bad");
    expect(badge?.explanation).toMatch(/loss_g from about step 7\d\d/);
    expect(states(healthy, "DivergenceError: loss_d is NaN at step 12").diverged).toBe("bad");
    expect(states(healthy, "runner lost its database connection").diverged).toBe("ok");
  });

  it("recentMean weights bucket means by their finite counts", () => {
    const buckets = steps(1000, (s) => (s > 900 ? 3 : 1));
    expect(recentMean(buckets)?.mean).toBeCloseTo(3, 6);
    expect(recentMean(steps(19, () => 1))).toBeNull();
  });
});
