"use client";

import { Area, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ChartPoint } from "@/lib/chart-series";
import styles from "./runs.module.css";

export interface ChartLine {
  id: string;
  name: string;
  colour: string;
  points: ChartPoint[];
  dashed?: boolean;
}

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) return v.toExponential(2);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return Number(v.toPrecision(4)).toString();
};

/**
 * One chart: a line per series (the bucket means, smoothed) over a shaded band of each bucket's
 * min–max, so spikes hidden by downsampling or smoothing stay visible.
 */
export function MetricChart(props: {
  title: string;
  lines: ChartLine[];
  xLabel: string;
  logScale?: boolean;
  referenceY?: number;
  envelope?: boolean;
  height?: number;
}) {
  const { title, lines, xLabel, logScale = false, referenceY, envelope = true, height = 220 } = props;
  const drawn = lines.filter((l) => l.points.length > 0);
  return (
    <figure className={styles.chart} aria-label={title} data-testid="metric-chart">
      <figcaption className={styles.chartTitle}>{title}</figcaption>
      {drawn.length === 0 ? (
        <p className={styles.chartEmpty}>{logScale ? "No positive values to show on a log scale." : "No points logged yet."}</p>
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          <ComposedChart margin={{ top: 6, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
            <XAxis
              type="number"
              dataKey="x"
              domain={["auto", "auto"]}
              tickFormatter={fmt}
              allowDuplicatedCategory={false}
              stroke="var(--muted)"
              fontSize={11}
              label={{ value: xLabel, position: "insideBottomRight", offset: -2, fontSize: 11, fill: "var(--muted)" }}
              height={34}
            />
            <YAxis
              scale={logScale ? "log" : "auto"}
              domain={logScale ? ["auto", "auto"] : [(min: number) => min, (max: number) => max]}
              allowDataOverflow={false}
              tickFormatter={fmt}
              stroke="var(--muted)"
              fontSize={11}
              width={56}
            />
            {referenceY !== undefined ? (
              <ReferenceLine y={referenceY} stroke="var(--muted)" strokeDasharray="4 4" ifOverflow="extendDomain" />
            ) : null}
            {envelope
              ? drawn.map((l) => (
                  <Area
                    key={`${l.id}-band`}
                    data={l.points}
                    dataKey="range"
                    stroke="none"
                    fill={l.colour}
                    fillOpacity={0.15}
                    isAnimationActive={false}
                    legendType="none"
                    tooltipType="none"
                    name={`${l.name} (min–max)`}
                  />
                ))
              : null}
            {drawn.map((l) => (
              <Line
                key={l.id}
                data={l.points}
                dataKey="y"
                name={l.name}
                stroke={l.colour}
                strokeWidth={1.6}
                strokeDasharray={l.dashed ? "5 3" : undefined}
                dot={l.points.length < 40 ? { r: 2 } : false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
            <Tooltip
              formatter={(value) => (typeof value === "number" ? fmt(value) : Array.isArray(value) ? value.map((v) => fmt(Number(v))).join(" – ") : String(value))}
              labelFormatter={(label) => `${xLabel} ${typeof label === "number" ? fmt(label) : String(label)}`}
              contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", fontSize: 12 }}
            />
            <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
          </ComposedChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
