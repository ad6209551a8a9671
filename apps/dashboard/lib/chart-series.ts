/**
 * Turning bucketed metric series (from the API) into chart points: the x-axis choice (step, epoch,
 * wall time), EMA smoothing and the log-scale filter. Pure, so it is unit-tested (test/dashboard).
 */

/** The bucket shape the API sends (SeriesBucket in @ganboard/db, serialised). */
export interface Bucket {
  step: number;
  epoch: number;
  wallTime: number;
  value: number | null;
  min: number | null;
  max: number | null;
  count: number;
  nonFinite: number;
}

export type XAxisMode = "step" | "epoch" | "wall";

export const X_AXIS_LABELS: Record<XAxisMode, string> = { step: "Step", epoch: "Epoch", wall: "Wall time (s)" };

export interface ChartPoint {
  x: number;
  /** The (smoothed) line. */
  y: number;
  /** The bucket's raw range: the envelope. */
  range: [number, number];
}

/**
 * Fractional epoch of a step, from the steps at which epochs ended (sample grids are written at the
 * last step of each epoch): epoch e spans (end[e-1], end[e]], so step s maps to (e − 1) + share.
 * Steps past the last finished epoch extrapolate with the last epoch's length.
 */
export function fractionalEpoch(step: number, epoch: number, epochEnds: ReadonlyMap<number, number>): number {
  const end = epochEnds.get(epoch);
  const prevEnd = epoch <= 1 ? 0 : epochEnds.get(epoch - 1);
  if (prevEnd === undefined) return epoch;
  const length = end !== undefined ? end - prevEnd : prevEnd - (epochEnds.get(epoch - 2) ?? 0);
  if (!(length > 0)) return epoch;
  return epoch - 1 + Math.min(1, Math.max(0, (step - prevEnd) / length));
}

/**
 * TensorBoard-style exponential moving average with debiasing (the first points are not pulled
 * towards 0). weight 0 = no smoothing; 0.99 = very smooth. Null values (buckets with only NaN) are
 * skipped and stay null.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  if (weight === 0) return [...values];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

export interface ToPointsOptions {
  xAxis: XAxisMode;
  smoothing: number;
  logScale: boolean;
  /** epoch → step at which it ended (for the epoch axis). */
  epochEnds: ReadonlyMap<number, number>;
  /** Seconds since the Unix epoch of the run's first point (for the wall-time axis). */
  wallStart: number;
}

/** Chart points of one series; log scale drops points that are not > 0 (they have no place on it). */
export function toChartPoints(buckets: readonly Bucket[], opts: ToPointsOptions): ChartPoint[] {
  const smoothed = emaSmooth(
    buckets.map((b) => b.value),
    opts.smoothing,
  );
  const out: ChartPoint[] = [];
  buckets.forEach((b, i) => {
    const y = smoothed[i];
    if (y === null || b.min === null || b.max === null) return;
    if (opts.logScale && !(y > 0 && b.min > 0)) return;
    const x = opts.xAxis === "step" ? b.step : opts.xAxis === "epoch" ? fractionalEpoch(b.step, b.epoch, opts.epochEnds) : b.wallTime - opts.wallStart;
    out.push({ x, y, range: [b.min, b.max] });
  });
  return out;
}

/** First wall time of a run over all its series (x = 0 on the wall-time axis). */
export function wallStartOf(series: readonly { buckets: readonly Bucket[] }[]): number {
  let start = Infinity;
  for (const s of series) if (s.buckets.length > 0) start = Math.min(start, s.buckets[0].wallTime);
  return Number.isFinite(start) ? start : 0;
}

/** Distinguishable colours for up to 10 runs (Tableau 10), in order. */
export const RUN_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"] as const;

/** Config flattened to dotted keys ("dataset.kind") for the compare table. */
export function flattenConfig(value: unknown, prefix = ""): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { [prefix || "(config)"]: JSON.stringify(value) ?? "—" };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flattenConfig(v, key));
    else out[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return out;
}

/** Rows of a config table over several runs; `onlyDifferences` keeps keys whose values are not all equal. */
export function configRows(configs: readonly unknown[], onlyDifferences: boolean): { key: string; values: (string | undefined)[] }[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return keys
    .map((key) => ({ key, values: flat.map((f) => f[key]) }))
    .filter((row) => !onlyDifferences || new Set(row.values.map((v) => v ?? "\u0000missing")).size > 1);
}

/** Parses `?runs=a,b,c`: unique, non-empty ids in order. */
export function parseRunsParam(param: string | null): string[] {
  if (!param) return [];
  return [...new Set(param.split(",").map((s) => s.trim()).filter(Boolean))];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isRunId(value: string): boolean {
  return UUID_RE.test(value);
}

/** The API's column form of a series (parallel arrays), as sent by runs.view / runs.compare. */
export interface SeriesColumns {
  step: number[];
  epoch: number[];
  wallTime: number[];
  value: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  count: number[];
  nonFinite: number[];
}

export function fromColumns(c: SeriesColumns): Bucket[] {
  return c.step.map((step, i) => ({
    step,
    epoch: c.epoch[i],
    wallTime: c.wallTime[i],
    value: c.value[i],
    min: c.min[i],
    max: c.max[i],
    count: c.count[i],
    nonFinite: c.nonFinite[i],
  }));
}

/** A payload's series with buckets rebuilt from columns (used as react-query's `select`). */
export function withBuckets<T extends { series: { key: string; points: number; columns: SeriesColumns }[] }>(
  data: T,
): Omit<T, "series"> & { series: { key: string; points: number; buckets: Bucket[] }[] } {
  return { ...data, series: data.series.map((s) => ({ key: s.key, points: s.points, buckets: fromColumns(s.columns) })) };
}
