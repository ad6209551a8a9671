/**
 * Downsampling of a metric series for charts: at most `maxBuckets` equal step ranges, each keeping
 * its mean (the line) and its min and max (the envelope), so a spike or a NaN inside a bucket of
 * 70 steps still shows. The same rule runs in SQL (bucketedMetricSeries in @ganboard/db) for
 * stored series; this pure version is its specification and serves series already in memory.
 */
import type { SeriesBucket } from "@ganboard/db";

export interface RawPoint {
  step: number;
  epoch: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
  value: number;
}

/** Default bucket count: about one per horizontal pixel of a wide chart. */
export const MAX_CHART_POINTS = 1500;

/**
 * Buckets `points` (any order, unique steps) into at most `maxBuckets` buckets by step:
 * bucket = floor((step − first) · maxBuckets / (last − first + 1)), so a series spanning at most
 * `maxBuckets` steps keeps every point as its own bucket. Non-finite values are counted, never averaged.
 */
export function downsample(points: readonly RawPoint[], maxBuckets: number = MAX_CHART_POINTS): SeriesBucket[] {
  if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new RangeError(`maxBuckets must be a positive integer, got ${maxBuckets}`);
  if (points.length === 0) return [];
  const sorted = [...points].sort((a, b) => a.step - b.step);
  const first = sorted[0].step;
  const last = sorted[sorted.length - 1].step;
  const bucketOf = (p: RawPoint) => Math.floor(((p.step - first) * maxBuckets) / (last - first + 1));
  const out: SeriesBucket[] = [];
  let current: number | undefined;
  let sum = 0;
  let finite = 0;
  let bucket: SeriesBucket | undefined;
  for (const p of sorted) {
    const b = bucketOf(p);
    if (b !== current || !bucket) {
      if (bucket) out.push(close(bucket, sum, finite));
      current = b;
      sum = 0;
      finite = 0;
      bucket = { step: p.step, epoch: p.epoch, wallTime: p.wallTime, value: null, min: null, max: null, count: 0, nonFinite: 0 };
    }
    bucket.step = p.step;
    bucket.epoch = p.epoch;
    bucket.wallTime = Math.max(bucket.wallTime, p.wallTime);
    bucket.count++;
    if (Number.isFinite(p.value)) {
      sum += p.value;
      finite++;
      bucket.min = bucket.min === null ? p.value : Math.min(bucket.min, p.value);
      bucket.max = bucket.max === null ? p.value : Math.max(bucket.max, p.value);
    } else {
      bucket.nonFinite++;
    }
  }
  if (bucket) out.push(close(bucket, sum, finite));
  return out;
}

function close(bucket: SeriesBucket, sum: number, finite: number): SeriesBucket {
  return { ...bucket, value: finite > 0 ? sum / finite : null };
}

/** Buckets as parallel arrays: the same data in about a third of the JSON (no repeated field names). */
export interface SeriesColumns {
  step: number[];
  epoch: number[];
  /** Seconds since the Unix epoch, to the millisecond. */
  wallTime: number[];
  value: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  count: number[];
  nonFinite: number[];
}

/** 7 significant digits: far below a chart's resolution, and half the characters of a full double. */
const round = (x: number | null): number | null => (x === null ? null : Number(x.toPrecision(7)));

export function toColumns(buckets: readonly SeriesBucket[]): SeriesColumns {
  return {
    step: buckets.map((b) => b.step),
    epoch: buckets.map((b) => b.epoch),
    wallTime: buckets.map((b) => Math.round(b.wallTime * 1000) / 1000),
    value: buckets.map((b) => round(b.value)),
    min: buckets.map((b) => round(b.min)),
    max: buckets.map((b) => round(b.max)),
    count: buckets.map((b) => b.count),
    nonFinite: buckets.map((b) => b.nonFinite),
  };
}
