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

/** The run page's charts: related metrics share a chart; anything else gets its own. */
const GROUPS: ReadonlyArray<{ title: string; keys: readonly string[]; referenceY?: number; smooth?: boolean }> = [
  { title: "Losses", keys: ["loss_d", "loss_g"] },
  { title: "D(x) and D(G(z))", keys: ["d_real", "d_fake", "d_fake_after"], referenceY: 0.5 },
  { title: "Gradient norms", keys: ["grad_norm_d", "grad_norm_g"] },
  { title: "SWD per epoch", keys: ["swd", "swd_floor"], smooth: false },
  { title: "MS-SSIM per epoch (diversity)", keys: ["ms_ssim", "ms_ssim_real"], smooth: false },
];

/** Known metrics first, in the order of the groups above; others after them by name. */
export function compareMetricKeys(a: string, b: string): number {
  const order = GROUPS.flatMap((g) => g.keys);
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
}

/** Per-epoch metrics are a few points: smoothing them would only lag. */
export const isPerEpoch = (key: string): boolean => /^(swd|ms_ssim)/.test(key);
const DASHED = new Set(["swd_floor", "ms_ssim_real", "d_fake_after"]);

export function chartGroups(keys: readonly string[]): { title: string; keys: string[]; referenceY?: number }[] {
  const present = new Set(keys);
  const used = new Set<string>();
  const out: { title: string; keys: string[]; referenceY?: number }[] = [];
  for (const g of GROUPS) {
    const k = g.keys.filter((key) => present.has(key));
    if (k.length === 0) continue;
    k.forEach((key) => used.add(key));
    out.push({ title: g.title, keys: k, referenceY: g.referenceY });
  }
  for (const key of [...present].sort()) if (!used.has(key)) out.push({ title: key, keys: [key] });
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
          dashed: DASHED.has(key),
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
