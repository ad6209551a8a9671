/**
 * What the dashboard reads about runs: one trial with its context, metric series bucketed in SQL
 * (a 100k-step series never leaves Postgres raw), sample grids, checkpoints, log lines, runners.
 */
import type { Sql } from "../client.ts";
import type { LogLevel, TrialStatus } from "../schema.ts";
import { TRIAL_QUEUE_CHANNEL } from "./trial-queue.ts";

export interface TrialView {
  id: string;
  sweepId: string | null;
  sweepName: string | null;
  number: number;
  config: unknown;
  status: TrialStatus;
  attempt: number;
  error: string | null;
  backend: string | null;
  device: string | null;
  epoch: number;
  step: number;
  objective: number | null;
  runnerId: string | null;
  runnerHostname: string | null;
  parentTrialId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
}

interface TrialViewRow {
  id: string;
  sweep_id: string | null;
  sweep_name: string | null;
  number: number;
  config: unknown;
  status: TrialStatus;
  attempt: number;
  error: string | null;
  backend: string | null;
  device: string | null;
  epoch: number;
  step: number;
  objective: number | null;
  runner_id: string | null;
  runner_hostname: string | null;
  parent_trial_id: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  heartbeat_at: Date | string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/** Trials with their sweep's name and runner's host, in the order of `ids`; unknown ids are left out. */
export async function getTrialViews(sql: Sql, ids: readonly string[]): Promise<TrialView[]> {
  if (ids.length === 0) return [];
  const rows = await sql<TrialViewRow[]>`
    select t.id, t.sweep_id, s.name as sweep_name, t.number, t.config, t.status, t.attempt, t.error, t.backend,
      t.device, t.epoch, t.step, t.objective, t.runner_id, r.hostname as runner_hostname, t.parent_trial_id,
      t.created_at, t.started_at, t.finished_at, t.heartbeat_at
    from trials t
    left join sweeps s on s.id = t.sweep_id
    left join runners r on r.id = t.runner_id
    where t.id = any(${ids as string[]}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    if (!r) return [];
    return [
      {
        id: r.id,
        sweepId: r.sweep_id,
        sweepName: r.sweep_name,
        number: r.number,
        config: r.config,
        status: r.status,
        attempt: r.attempt,
        error: r.error,
        backend: r.backend,
        device: r.device,
        epoch: r.epoch,
        step: r.step,
        objective: r.objective,
        runnerId: r.runner_id,
        runnerHostname: r.runner_hostname,
        parentTrialId: r.parent_trial_id,
        createdAt: new Date(r.created_at),
        startedAt: date(r.started_at),
        finishedAt: date(r.finished_at),
        heartbeatAt: date(r.heartbeat_at),
      },
    ];
  });
}

/**
 * One bucket of a metric series. `value` is the mean of its finite points (null when it has none),
 * `min`/`max` their range (the envelope), `nonFinite` how many NaN/±Infinity points it held.
 * `step`/`epoch`/`wallTime` belong to the bucket's last point.
 */
export interface SeriesBucket {
  step: number;
  epoch: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
  value: number | null;
  min: number | null;
  max: number | null;
  count: number;
  nonFinite: number;
}

export interface MetricSeries {
  trialId: string;
  key: string;
  /** Points stored for this series (before bucketing). */
  points: number;
  buckets: SeriesBucket[];
}

interface BucketRow {
  trial_id: string;
  key: string;
  points: number;
  bucket: number;
  step: number;
  epoch: number;
  wall: number;
  value: number | null;
  lo: number | null;
  hi: number | null;
  n: number;
  bad: number;
}

/**
 * Every metric series of the given trials, each cut into at most `maxBuckets` equal step ranges:
 * bucket = floor((step − first) · maxBuckets / (last − first + 1)), so a series spanning at most
 * `maxBuckets` steps keeps one bucket per point. Aggregation happens in Postgres, so only the
 * buckets travel. Series come ordered by trial (as given), key, step.
 */
export async function bucketedMetricSeries(
  sql: Sql,
  trialIds: readonly string[],
  opts: { maxBuckets: number; keys?: readonly string[] },
): Promise<MetricSeries[]> {
  const max = Math.max(1, Math.floor(opts.maxBuckets));
  const keys = opts.keys ? [...opts.keys] : null;
  // One transaction per trial, run side by side (the pool spreads them over connections and cores).
  const perTrial = await Promise.all(
    [...new Set(trialIds)].map((trialId) =>
      sql.begin(async (tx) => {
        // Each series' keys and step range from the primary key alone (a loose index scan: a few
        // probes per key, whatever the series length).
        const ranges = await tx<{ key: string; lo: number; hi: number }[]>`
          with recursive k as (
            select min(key) as key from metrics where trial_id = ${trialId}
            union all
            select (select min(m.key) from metrics m where m.trial_id = ${trialId} and m.key > k.key) from k where k.key is not null
          )
          select key,
            (select min(step) from metrics m where m.trial_id = ${trialId} and m.key = k.key) as lo,
            (select max(step) from metrics m where m.trial_id = ${trialId} and m.key = k.key) as hi
          from k where key is not null and (${keys}::text[] is null or key = any(${keys}::text[]))`;
        if (ranges.length === 0) return [];
        // A few thousand groups at most: hashing them beats sorting 100k+ rows, but the planner
        // only sees "one group per step" and would sort (spilling to disk) within the default work_mem.
        await tx`set local work_mem = '64MB'`;
        await tx`set local enable_sort = off`;
        // Finite test: Postgres sorts NaN above +Infinity, so `< 'Infinity'` also rejects NaN.
        const rows = await tx<Omit<BucketRow, "trial_id" | "points">[]>`
          select m.key, floor((m.step - r.lo)::float8 * ${max} / (r.hi - r.lo + 1))::int as bucket,
            max(m.step)::int as step,
            max(m.epoch)::int as epoch, -- epochs never decrease with steps: the last point's
            extract(epoch from max(m.wall_time))::float8 as wall,
            avg(m.value) filter (where m.value > '-Infinity'::float8 and m.value < 'Infinity'::float8) as value,
            min(m.value) filter (where m.value > '-Infinity'::float8 and m.value < 'Infinity'::float8) as lo,
            max(m.value) filter (where m.value > '-Infinity'::float8 and m.value < 'Infinity'::float8) as hi,
            count(*)::int as n,
            (count(*) filter (where not (m.value > '-Infinity'::float8 and m.value < 'Infinity'::float8)))::int as bad
          from metrics m
          join unnest(${ranges.map((r) => r.key)}::text[], ${ranges.map((r) => r.lo)}::int[], ${ranges.map((r) => r.hi)}::int[]) as r(key, lo, hi)
            on m.key = r.key
          where m.trial_id = ${trialId}
          group by m.key, bucket`;
        const byKey = new Map<string, MetricSeries>();
        for (const r of ranges) byKey.set(r.key, { trialId, key: r.key, points: 0, buckets: [] });
        for (const r of [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.bucket - b.bucket))) {
          const s = byKey.get(r.key) as MetricSeries;
          s.points += r.n;
          s.buckets.push({ step: r.step, epoch: r.epoch, wallTime: r.wall, value: r.value, min: r.lo, max: r.hi, count: r.n, nonFinite: r.bad });
        }
        return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }),
    ),
  );
  return perTrial.flat();
}

export interface SampleInfo {
  epoch: number;
  step: number;
  width: number;
  height: number;
  /** Changes when a resumed attempt re-writes the grid (part of its cache-busting URL). */
  version: number;
}

/** Which epochs of each trial have a sample grid (no image bytes), oldest first. */
export async function listSamples(sql: Sql, trialIds: readonly string[]): Promise<Map<string, SampleInfo[]>> {
  const out = new Map<string, SampleInfo[]>(trialIds.map((id) => [id, []]));
  if (trialIds.length === 0) return out;
  const rows = await sql<{ trial_id: string; epoch: number; step: number; width: number; height: number; version: number }[]>`
    select trial_id, epoch, step, width, height, (extract(epoch from created_at) * 1000)::float8 as version
    from samples where trial_id = any(${trialIds as string[]}::uuid[]) order by trial_id, epoch`;
  for (const r of rows) out.get(r.trial_id)?.push({ epoch: r.epoch, step: r.step, width: r.width, height: r.height, version: Math.round(r.version) });
  return out;
}

/** One epoch's grid with its version (as in SampleInfo), or null. */
export async function getSamplePng(sql: Sql, trialId: string, epoch: number): Promise<{ png: Buffer; version: number } | null> {
  const rows = await sql<{ png: Buffer; version: number }[]>`
    select png, (extract(epoch from created_at) * 1000)::float8 as version from samples where trial_id = ${trialId} and epoch = ${epoch}`;
  return rows[0] ? { png: rows[0].png, version: Math.round(rows[0].version) } : null;
}

/** Every grid of a trial in epoch order (for the timelapse GIF). */
export async function allSamplePngs(sql: Sql, trialId: string): Promise<{ epoch: number; png: Buffer }[]> {
  return sql<{ epoch: number; png: Buffer }[]>`select epoch, png from samples where trial_id = ${trialId} order by epoch`;
}

export interface CheckpointInfo {
  epoch: number;
  step: number;
  reason: string | null;
  bytes: number;
  createdAt: Date;
}

/** The newest checkpoint's description (not its bytes), or null. */
export async function latestCheckpointInfo(sql: Sql, trialId: string): Promise<CheckpointInfo | null> {
  const rows = await sql<{ epoch: number; step: number; reason: string | null; bytes: number; created_at: Date | string }[]>`
    select epoch, step, reason, octet_length(data)::int as bytes, created_at from checkpoints where trial_id = ${trialId}
    order by step desc, created_at desc limit 1`;
  const r = rows[0];
  return r ? { epoch: r.epoch, step: r.step, reason: r.reason, bytes: r.bytes, createdAt: new Date(r.created_at) } : null;
}

export interface TrialLogLine {
  id: number;
  ts: Date;
  level: LogLevel;
  message: string;
}

/** The newest `limit` log lines of a trial (only those after `afterId` when given), oldest first. */
export async function recentTrialLogs(sql: Sql, trialId: string, opts: { limit: number; afterId?: number }): Promise<TrialLogLine[]> {
  const rows = await sql<{ id: string | number; ts: Date | string; level: LogLevel; message: string }[]>`
    select id, ts, level, message from (
      select id, ts, level, message from trial_logs
      where trial_id = ${trialId} and id > ${opts.afterId ?? 0}
      order by id desc limit ${opts.limit}
    ) newest order by id`;
  return rows.map((r) => ({ id: Number(r.id), ts: new Date(r.ts), level: r.level, message: r.message }));
}

/**
 * Puts a failed or cancelled trial back in the queue for another attempt (it resumes from its
 * newest checkpoint when it has one). Returns the new status, or null when the trial is in any other
 * state (queued, running, completed, pruned: nothing to retry).
 */
export async function requeueTrial(sql: Sql, trialId: string): Promise<TrialStatus | null> {
  const rows = await sql<{ status: TrialStatus }[]>`
    update trials set status = 'queued', error = null, finished_at = null, runner_id = null, heartbeat_at = null
    where id = ${trialId} and status in ('failed', 'cancelled')
    returning status`;
  if (rows.length > 0) await sql`select pg_notify(${TRIAL_QUEUE_CHANNEL}, ${trialId})`;
  return rows[0]?.status ?? null;
}

/** Recent trials for pickers (newest first), with their sweep's name. */
export async function listRecentTrials(sql: Sql, limit: number): Promise<{ id: string; number: number; sweepName: string | null; status: TrialStatus; createdAt: Date }[]> {
  const rows = await sql<{ id: string; number: number; sweep_name: string | null; status: TrialStatus; created_at: Date | string }[]>`
    select t.id, t.number, s.name as sweep_name, t.status, t.created_at from trials t left join sweeps s on s.id = t.sweep_id
    order by t.created_at desc, t.id limit ${limit}`;
  return rows.map((r) => ({ id: r.id, number: r.number, sweepName: r.sweep_name, status: r.status, createdAt: new Date(r.created_at) }));
}

export interface RunnerView {
  id: string;
  hostname: string;
  pid: number;
  backend: string | null;
  device: string | null;
  startedAt: Date;
  lastSeenAt: Date;
  stoppedAt: Date | null;
  currentTrial: { id: string; number: number; sweepName: string | null; status: TrialStatus } | null;
}

/** Every runner (most recently seen first) with the trial it works on. */
export async function listRunnerViews(sql: Sql): Promise<RunnerView[]> {
  const rows = await sql<{
    id: string; hostname: string; pid: number; backend: string | null; device: string | null;
    started_at: Date | string; last_seen_at: Date | string; stopped_at: Date | string | null;
    trial_id: string | null; trial_number: number | null; sweep_name: string | null; trial_status: TrialStatus | null;
  }[]>`
    select r.id, r.hostname, r.pid, r.backend, r.device, r.started_at, r.last_seen_at, r.stopped_at,
      t.id as trial_id, t.number as trial_number, s.name as sweep_name, t.status as trial_status
    from runners r
    left join trials t on t.id = r.current_trial_id
    left join sweeps s on s.id = t.sweep_id
    order by r.last_seen_at desc, r.id`;
  return rows.map((r) => ({
    id: r.id,
    hostname: r.hostname,
    pid: r.pid,
    backend: r.backend,
    device: r.device,
    startedAt: new Date(r.started_at),
    lastSeenAt: new Date(r.last_seen_at),
    stoppedAt: date(r.stopped_at),
    currentTrial:
      r.trial_id !== null && r.trial_number !== null && r.trial_status !== null
        ? { id: r.trial_id, number: r.trial_number, sweepName: r.sweep_name, status: r.trial_status }
        : null,
  }));
}
