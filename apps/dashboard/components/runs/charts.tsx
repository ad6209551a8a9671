"use client";

import { memo } from "react";
import { RUN_COLOURS, toChartPoints, X_AXIS_LABELS, type Bucket, type XAxisMode } from "@/lib/chart-series";
import { MetricChart, type ChartLine } from "./metric-chart";
import styles from "./runs.module.css";

export interface RunSeries {
  key: string;
  points: number;
  buckets: Bucket[];
}

export interface ChartSettings {
  xAxis: XAxisMode;
  smoothing: number;
  logScale: boolean;
  /** Shade each bucket's min–max around the line. */
  envelope: boolean;
}

/**
 * The run page's charts: related metrics share a chart (`match` gathers families such as the
 * per-resolution SWD levels swd_16, swd_floor_32, …); anything else gets its own.
 */
const GROUPS: ReadonlyArray<{ title: string; keys: readonly string[]; match?: RegExp; referenceY?: number }> = [
  { title: "Losses", keys: ["loss_d", "loss_g"] },
  { title: "D(x) and D(G(z))", keys: ["d_real", "d_fake", "d_fake_after"], referenceY: 0.5 },
  { title: "Gradient norms", keys: ["grad_norm_d", "grad_norm_g"] },
  { title: "SWD per epoch", keys: ["swd", "swd_floor"] },
  { title: "MS-SSIM per epoch (diversity)", keys: ["ms_ssim", "ms_ssim_real"] },
  { title: "SWD per resolution", keys: [], match: /^swd(_floor)?_\d+$/ },
];

/** Known metrics first, in the order of the groups above; others after them by name. */
export function compareMetricKeys(a: string, b: string): number {
  const rank = (key: string) => {
    let i = 0;
    for (const g of GROUPS) {
      const at = g.keys.indexOf(key);
      if (at >= 0) return i + at;
      i += g.keys.length;
      if (g.match?.test(key)) return i;
      i += 1;
    }
    return i;
  };
  return rank(a) - rank(b) || a.localeCompare(b, undefined, { numeric: true });
}

/** Per-epoch metrics are a few points: smoothing them would only lag. */
export const isPerEpoch = (key: string): boolean => /^(swd|ms_ssim)/.test(key);
const DASHED = (key: string): boolean => key === "d_fake_after" || /^(swd_floor|ms_ssim_real)/.test(key);

export function chartGroups(keys: readonly string[]): { title: string; keys: string[]; referenceY?: number }[] {
  const present = [...new Set(keys)].sort(compareMetricKeys);
  const used = new Set<string>();
  const out: { title: string; keys: string[]; referenceY?: number }[] = [];
  for (const g of GROUPS) {
    const k = present.filter((key) => g.keys.includes(key) || g.match?.test(key));
    if (k.length === 0) continue;
    k.forEach((key) => used.add(key));
    out.push({ title: g.title, keys: k, referenceY: g.referenceY });
  }
  for (const key of present) if (!used.has(key)) out.push({ title: key, keys: [key] });
  return out;
}

export interface ChartContext {
  epochEnds: ReadonlyMap<number, number>;
  wallStart: number;
}

/** Every metric of one run. Memoised: the Epoch slider and log polling re-render the page, not the charts. */
export const RunCharts = memo(function RunCharts({ series, settings, context }: { series: readonly RunSeries[]; settings: ChartSettings; context: ChartContext }) {
  if (series.length === 0) return <p className={styles.muted}>No metrics logged yet. Charts appear with the first training steps.</p>;
  const byKey = new Map(series.map((s) => [s.key, s]));
  return (
    <div className={styles.chartGrid}>
      {chartGroups(series.map((s) => s.key)).map((group) => {
        const lines: ChartLine[] = group.keys.map((key, i) => ({
          id: key,
          name: key,
          colour: RUN_COLOURS[i % RUN_COLOURS.length],
          dashed: DASHED(key),
          points: toChartPoints(byKey.get(key)?.buckets ?? [], {
            ...settings,
            smoothing: isPerEpoch(key) ? 0 : settings.smoothing,
            ...context,
          }),
        }));
        return (
          <MetricChart
            key={group.title}
            title={group.title}
            lines={lines}
            xLabel={X_AXIS_LABELS[settings.xAxis]}
            logScale={settings.logScale}
            envelope={settings.envelope}
            referenceY={group.referenceY}
          />
        );
      })}
    </div>
  );
});

export function ChartControls({ settings, onChange }: { settings: ChartSettings; onChange: (s: ChartSettings) => void }) {
  return (
    <div className={styles.controls} role="group" aria-label="Chart settings">
      <label>
        X axis{" "}
        <select value={settings.xAxis} onChange={(e) => onChange({ ...settings, xAxis: e.target.value as XAxisMode })}>
          <option value="step">Step</option>
          <option value="epoch">Epoch</option>
          <option value="wall">Wall time</option>
        </select>
      </label>
      <label>
        Smoothing{" "}
        <select
          aria-label="Smoothing method"
          value={settings.smoothing > 0 ? "ema" : "none"}
          onChange={(e) => onChange({ ...settings, smoothing: e.target.value === "ema" ? (settings.smoothing > 0 ? settings.smoothing : 0.6) : 0 })}
        >
          <option value="none">None</option>
          <option value="ema">EMA</option>
        </select>
      </label>
      <label>
        EMA weight{" "}
        <input
          type="range"
          aria-label="EMA weight"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          onChange={(e) => onChange({ ...settings, smoothing: Number(e.target.value) })}
        />
        <output className={styles.sliderValue}>{settings.smoothing.toFixed(2)}</output>
      </label>
      <label>
        <input type="checkbox" checked={settings.logScale} onChange={(e) => onChange({ ...settings, logScale: e.target.checked })} /> Log scale
      </label>
      <label>
        <input type="checkbox" checked={settings.envelope} onChange={(e) => onChange({ ...settings, envelope: e.target.checked })} /> Min–max band
      </label>
    </div>
  );
}

export const DEFAULT_CHART_SETTINGS: ChartSettings = { xAxis: "step", smoothing: 0, logScale: false, envelope: true };

/** epoch → last step, from the run's sample grids (written at the end of each epoch). */
export function epochEndsOf(samples: readonly { epoch: number; step: number }[]): Map<number, number> {
  return new Map(samples.map((s) => [s.epoch, s.step]));
}
