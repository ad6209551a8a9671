/** What a runner writes while a trial trains: metric points, sample grids, checkpoints, log lines. */
import type { Sql } from "../client.ts";
import type { LogLevel } from "../schema.ts";

export interface MetricPoint {
  key: string;
  step: number;
  epoch: number;
  value: number;
  wallTime: Date;
}

/**
 * Upserts a batch of points in one round trip. Re-logging (trial, key, step) overwrites, so a resumed
 * attempt that repeats steps never duplicates them. Non-finite values are stored as NaN/Infinity,
 * which double precision holds, so a divergence stays visible in the series.
 */
export async function writeMetrics(sql: Sql, trialId: string, points: readonly MetricPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  // One statement cannot update the same row twice: keep the last point of each (key, step).
  const latest = new Map<string, MetricPoint>();
  for (const p of points) latest.set(`${p.key}\u0000${p.step}`, p);
  const rows = [...latest.values()];
  // Each column travels as one pre-built array literal (a text parameter cast in SQL): NaN/Infinity
  // survive (postgres.js turns them into NULL in a float8[] parameter) and it skips the driver's
  // per-element array serialiser, which was the largest cost of a batch.
  await sql`
    insert into metrics (trial_id, key, step, epoch, value, wall_time)
    select ${trialId}::uuid, k, s, e, v, to_timestamp(w)
    from unnest(${arrayLiteral(rows.map((p) => quoteElement(p.key)))}::text[], ${arrayLiteral(rows.map((p) => integerElement(p.step)))}::int[],
                ${arrayLiteral(rows.map((p) => integerElement(p.epoch)))}::int[], ${arrayLiteral(rows.map((p) => floatElement(p.value)))}::float8[],
                ${arrayLiteral(rows.map((p) => floatElement(p.wallTime.getTime() / 1000)))}::float8[]) as u(k, s, e, v, w)
    on conflict (trial_id, key, step) do update set value = excluded.value, epoch = excluded.epoch, wall_time = excluded.wall_time`;
  return rows.length;
}

const arrayLiteral = (elements: string[]) => `{${elements.join(",")}}`;
/** A text element of a Postgres array literal: quoted, with backslashes and quotes escaped. */
const quoteElement = (text: string) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const integerElement = (n: number) => {
  if (!Number.isSafeInteger(n)) throw new TypeError(`metric step/epoch must be a whole number, got ${n}`);
  return String(n);
};
// String(NaN) / String(±Infinity) are "NaN" / "Infinity" / "-Infinity", which float8 accepts.
const floatElement = (x: number) => String(x);

/** Forgets points after `step`: a resumed attempt restarts from its checkpoint and logs them again. */
export async function discardMetricsAfter(sql: Sql, trialId: string, step: number): Promise<number> {
  const rows = await sql`delete from metrics where trial_id = ${trialId} and step > ${step} returning 1`;
  return rows.length;
}

export async function saveSample(sql: Sql, trialId: string, sample: { epoch: number; step: number; png: Uint8Array; width: number; height: number }): Promise<void> {
  await sql`
    insert into samples (trial_id, epoch, step, png, width, height)
    values (${trialId}, ${sample.epoch}, ${sample.step}, ${Buffer.from(sample.png.buffer, sample.png.byteOffset, sample.png.byteLength)}, ${sample.width}, ${sample.height})
    on conflict (trial_id, epoch) do update set step = excluded.step, png = excluded.png, width = excluded.width,
      height = excluded.height, created_at = now()`;
}

/** Stores a checkpoint and keeps only the newest `keep` of the trial. */
export async function saveCheckpoint(sql: Sql, trialId: string, ckpt: { epoch: number; step: number; data: Uint8Array; reason: string }, keep = 3): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into checkpoints (trial_id, epoch, step, data, reason)
      values (${trialId}, ${ckpt.epoch}, ${ckpt.step}, ${Buffer.from(ckpt.data.buffer, ckpt.data.byteOffset, ckpt.data.byteLength)}, ${ckpt.reason})`;
    await tx`
      delete from checkpoints where trial_id = ${trialId} and id not in (
        select id from checkpoints where trial_id = ${trialId} order by step desc, created_at desc limit ${keep})`;
  });
}

export async function latestCheckpoint(sql: Sql, trialId: string): Promise<{ epoch: number; step: number; data: Uint8Array; reason: string | null; createdAt: Date } | null> {
  const rows = await sql<{ epoch: number; step: number; data: Buffer; reason: string | null; created_at: string | Date }[]>`
    select epoch, step, data, reason, created_at from checkpoints where trial_id = ${trialId}
    order by step desc, created_at desc limit 1`;
  const r = rows[0];
  return r ? { epoch: r.epoch, step: r.step, data: r.data, reason: r.reason, createdAt: new Date(r.created_at) } : null;
}

export interface LogLine {
  ts: Date;
  level: LogLevel;
  message: string;
}

export async function appendTrialLogs(sql: Sql, trialId: string, lines: readonly LogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await sql`
    insert into trial_logs (trial_id, ts, level, message)
    select ${trialId}::uuid, to_timestamp(t), l::log_level, m
    from unnest(${lines.map((l) => l.ts.getTime() / 1000)}::float8[], ${lines.map((l) => l.level)}::text[],
                ${lines.map((l) => l.message)}::text[]) with ordinality as u(t, l, m, n)
    order by n`;
}
