/**
 * Sweeps in Postgres: create / stop / list / show, and the locked reads and writes the runner's
 * claim-and-suggest step is made of. No search logic lives here: packages/sweeps decides (pure), the
 * runner glues (packages/runner/src/sweep-work.ts), and this file only stores what was decided.
 *
 * Every decision about a sweep (next trial, prune, PBT exploit, stop) is taken inside `withSweepLock`,
 * a transaction holding the sweep's advisory lock, so runners on any number of hosts take turns and
 * each sees the history the previous one left.
 */
import type postgres from "postgres";
import type { Sql } from "../client.ts";
import { SWEEP_METHODS, type SweepMethod, type SweepStatus, type TrialStatus } from "../schema.ts";
import { TRIAL_QUEUE_CHANNEL, type ClaimedTrial } from "./trial-queue.ts";

/** A transaction opened by `withSweepLock`. */
export type SweepTx = postgres.TransactionSql;

export class SweepNotFoundError extends Error {
  constructor(readonly sweepId: string) {
    super(`no sweep with id ${sweepId}`);
    this.name = "SweepNotFoundError";
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A malformed id is "not found", not a Postgres cast error. */
const isUuid = (id: string) => UUID.test(id);

/**
 * Stores a sweep (status running) and wakes idle runners. `spec` must already be validated by
 * @ganboard/sweeps (the CLI, API and dashboard do that); only name and method are read from it here.
 */
export async function createSweep(sql: Sql, spec: unknown, opts: { name?: string } = {}): Promise<{ id: string; name: string; method: SweepMethod }> {
  const s = (spec ?? {}) as { name?: unknown; method?: unknown };
  const name = opts.name ?? s.name;
  if (typeof spec !== "object" || spec === null) throw new TypeError("createSweep: spec must be a validated sweep spec object");
  if (typeof name !== "string" || name.trim() === "") throw new TypeError("createSweep: spec.name must be a non-empty string");
  if (!SWEEP_METHODS.includes(s.method as SweepMethod)) throw new TypeError(`createSweep: spec.method must be one of ${SWEEP_METHODS.join(", ")}`);
  const method = s.method as SweepMethod;
  return sql.begin(async (tx) => {
    const [row] = await tx<{ id: string }[]>`
      insert into sweeps (name, spec, method) values (${name}, ${JSON.stringify(spec)}::text::jsonb, ${method}) returning id`;
    await tx`select pg_notify(${TRIAL_QUEUE_CHANNEL}, ${"sweep:" + row.id})`;
    return { id: row.id, name, method };
  });
}

export interface StopSweepResult {
  /** The sweep's status after the call (a finished sweep stays finished). */
  status: SweepStatus;
  /** Queued trials that were cancelled. */
  cancelledQueued: number;
  /** Running trials asked to stop (cancelRunning); they end `cancelled` at their next heartbeat. */
  cancellingRunning: number;
  /** Trials left running to finish on their own. */
  stillRunning: number;
}

/**
 * Stops a sweep: no trial is handed out after this returns; queued trials are cancelled; running ones
 * finish, or with `cancelRunning` go to `cancelling` (their runner checkpoints and stops). Taken under
 * the sweep's lock, so a runner mid-claim either finished its claim before (its trial is running and
 * counted here) or sees the sweep stopped.
 */
export async function stopSweep(sql: Sql, sweepId: string, opts: { cancelRunning: boolean }): Promise<StopSweepResult> {
  if (!isUuid(sweepId)) throw new SweepNotFoundError(sweepId);
  return withSweepLock(sql, sweepId, async (tx) => {
    const [sweep] = await tx<{ status: SweepStatus }[]>`
      update sweeps set status = case when status = 'running' then 'stopped'::sweep_status else status end,
        finished_at = coalesce(finished_at, now())
      where id = ${sweepId} returning status`;
    if (!sweep) throw new SweepNotFoundError(sweepId);
    const queued = await tx`
      update trials set status = 'cancelled', finished_at = now(), error = 'sweep stopped before this trial started'
      where sweep_id = ${sweepId} and status = 'queued' returning id`;
    const cancelling = opts.cancelRunning
      ? await tx`update trials set status = 'cancelling' where sweep_id = ${sweepId} and status = 'running' returning id`
      : [];
    const [running] = await tx<{ n: number }[]>`
      select count(*)::int as n from trials where sweep_id = ${sweepId} and status in ('running', 'cancelling')`;
    return { status: sweep.status, cancelledQueued: queued.length, cancellingRunning: cancelling.length, stillRunning: running.n };
  });
}

export type SweepTrialCounts = Record<TrialStatus, number> & { total: number };

export interface SweepListItem {
  id: string;
  name: string;
  method: SweepMethod;
  status: SweepStatus;
  spec: unknown;
  createdAt: Date;
  finishedAt: Date | null;
  trials: SweepTrialCounts;
  /** Best objective among completed trials, by the spec's metric goal (minimize unless it says maximize). */
  best: { trialId: string; number: number; objective: number } | null;
}

interface SummaryRow {
  id: string;
  name: string;
  method: SweepMethod;
  status: SweepStatus;
  spec: unknown;
  created_at: string | Date;
  finished_at: string | Date | null;
  counts: Partial<Record<TrialStatus, number>> | null;
  best_id: string | null;
  best_number: number | null;
  best_objective: number | null;
}

const summarySelect = (sql: Sql, where: postgres.PendingQuery<postgres.Row[]>) => sql<SummaryRow[]>`
  select s.id, s.name, s.method, s.status, s.spec, s.created_at, s.finished_at,
    (select jsonb_object_agg(status, n) from (select status, count(*)::int as n from trials where sweep_id = s.id group by status) c) as counts,
    b.id as best_id, b.number as best_number, b.objective as best_objective
  from sweeps s
  left join lateral (
    select t.id, t.number, t.objective from trials t
    where t.sweep_id = s.id and t.status = 'completed' and t.objective is not null and t.objective <> 'NaN'::float8
    order by case when s.spec->'metric'->>'goal' = 'maximize' then -t.objective else t.objective end, t.number
    limit 1
  ) b on true
  ${where}`;

function toSummary(r: SummaryRow): SweepListItem {
  const counts = { queued: 0, running: 0, cancelling: 0, completed: 0, failed: 0, cancelled: 0, pruned: 0, ...(r.counts ?? {}) };
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    id: r.id,
    name: r.name,
    method: r.method,
    status: r.status,
    spec: r.spec,
    createdAt: new Date(r.created_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
    trials: { ...counts, total },
    best: r.best_id === null ? null : { trialId: r.best_id, number: r.best_number!, objective: r.best_objective! },
  };
}

/** Every sweep, newest first, with trial counts per status and the best completed trial. */
export async function listSweeps(sql: Sql): Promise<SweepListItem[]> {
  const rows = await summarySelect(sql, sql`order by s.created_at desc, s.id`);
  return rows.map(toSummary);
}

export interface SweepTrial {
  id: string;
  number: number;
  status: TrialStatus;
  config: unknown;
  objective: number | null;
  epoch: number;
  step: number;
  attempt: number;
  runnerId: string | null;
  error: string | null;
  parentTrialId: string | null;
  exploitEpoch: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One sweep with its trials (in number order), or null. */
export async function getSweep(sql: Sql, sweepId: string): Promise<(SweepListItem & { trialList: SweepTrial[] }) | null> {
  if (!isUuid(sweepId)) return null;
  const [row] = await summarySelect(sql, sql`where s.id = ${sweepId}`);
  if (!row) return null;
  // Columns aliased to the interface's names; timestamps may arrive as strings, so they are converted.
  const trials = await sql<(Omit<SweepTrial, "createdAt" | "startedAt" | "finishedAt"> & Record<"createdAt" | "startedAt" | "finishedAt", string | Date | null>)[]>`
    select id, number, status, config, objective, epoch, step, attempt, runner_id as "runnerId", error,
      parent_trial_id as "parentTrialId", exploit_epoch as "exploitEpoch",
      created_at as "createdAt", started_at as "startedAt", finished_at as "finishedAt"
    from trials where sweep_id = ${sweepId} order by number`;
  const date = (v: string | Date | null) => (v === null ? null : new Date(v));
  return {
    ...toSummary(row),
    trialList: trials.map((t) => ({ ...t, createdAt: new Date(t.createdAt!), startedAt: date(t.startedAt), finishedAt: date(t.finishedAt) })),
  };
}

// ---------------------------------------------------------------------------------------------------
// The locked steps of claim-and-suggest, early stopping and PBT (called by packages/runner).

/** Runs `fn` in a transaction holding the sweep's advisory lock (released at commit or rollback). */
export async function withSweepLock<T>(sql: Sql, sweepId: string, fn: (tx: SweepTx) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${"ganboard.sweep:" + sweepId}))`;
    return fn(tx);
  }) as Promise<T>;
}

/** Sweeps that may hand out trials (status running), oldest first: runners serve them in that order. */
export async function activeSweeps(sql: Sql): Promise<{ id: string; spec: unknown }[]> {
  return sql<{ id: string; spec: unknown }[]>`select id, spec from sweeps where status = 'running' order by created_at, id`;
}

/** A sweep's stored spec (null when the sweep is gone). */
export async function sweepSpecOf(sql: Sql, sweepId: string): Promise<unknown> {
  const [row] = await sql<{ spec: unknown }[]>`select spec from sweeps where id = ${sweepId}`;
  return row?.spec ?? null;
}

/** The sweep's status, read under its lock. */
export async function readSweepStatus(tx: SweepTx, sweepId: string): Promise<SweepStatus | null> {
  const [row] = await tx<{ status: SweepStatus }[]>`select status from sweeps where id = ${sweepId}`;
  return row?.status ?? null;
}

export interface SweepHistoryTrial {
  id: string;
  number: number;
  status: TrialStatus;
  config: unknown;
  objective: number | null;
  parentTrialId: string | null;
  /** The metric's per-epoch reports, by epoch (NaN kept). */
  reports: { epoch: number; value: number }[];
}

/**
 * Every trial of the sweep with its per-epoch reports of `metricKey` (two queries, any size). With
 * `lastReportOnly`, each trial's newest report alone: all that suggesting the next trial looks at
 * (pruning and PBT compare trials at earlier epochs and need them all).
 */
export async function sweepHistory(tx: SweepTx | Sql, sweepId: string, metricKey: string, opts: { lastReportOnly?: boolean } = {}): Promise<SweepHistoryTrial[]> {
  const q = tx as Sql;
  const trials = await q<{ id: string; number: number; status: TrialStatus; config: unknown; objective: number | null; parent_trial_id: string | null }[]>`
    select id, number, status, config, objective, parent_trial_id from trials where sweep_id = ${sweepId} order by number`;
  // Values as text: NaN and ±Infinity survive.
  // Newest report: one backward scan of the metrics primary key per trial.
  const reports = opts.lastReportOnly
    ? await q<{ trial_id: string; epoch: number; value: string }[]>`
        select t.id as trial_id, r.epoch, r.value::text as value from trials t
        cross join lateral (select epoch, value from metrics where trial_id = t.id and key = ${metricKey} order by step desc limit 1) r
        where t.sweep_id = ${sweepId}`
    : await q<{ trial_id: string; epoch: number; value: string }[]>`
        select m.trial_id, m.epoch, m.value::text as value from metrics m join trials t on t.id = m.trial_id
        where t.sweep_id = ${sweepId} and m.key = ${metricKey} order by m.trial_id, m.epoch, m.step`;
  const byTrial = new Map<string, { epoch: number; value: number }[]>();
  for (const r of reports) {
    let list = byTrial.get(r.trial_id);
    if (!list) byTrial.set(r.trial_id, (list = []));
    list.push({ epoch: r.epoch, value: Number(r.value) });
  }
  return trials.map((t) => ({
    id: t.id,
    number: t.number,
    status: t.status,
    config: t.config,
    objective: t.objective,
    parentTrialId: t.parent_trial_id,
    reports: byTrial.get(t.id) ?? [],
  }));
}

/**
 * Inserts a sweep trial already claimed by `runnerId` (status running, attempt 1): the suggestion and
 * the claim are one step, so no other runner can take it and parallelism counts it at once.
 */
export async function insertClaimedTrial(
  tx: SweepTx,
  input: { sweepId: string; number: number; config: unknown; runnerId: string; parentTrialId?: string | null; exploitEpoch?: number | null },
): Promise<ClaimedTrial> {
  // started_at is the moment of the claim (under the lock), not the transaction's start.
  const [row] = await tx<{ id: string; number: number; config: unknown; attempt: number; status: TrialStatus }[]>`
    insert into trials (sweep_id, number, config, status, runner_id, attempt, heartbeat_at, started_at, parent_trial_id, exploit_epoch)
    values (${input.sweepId}, ${input.number}, ${JSON.stringify(input.config)}::text::jsonb, 'running', ${input.runnerId}, 1, now(), clock_timestamp(),
      ${input.parentTrialId ?? null}, ${input.exploitEpoch ?? null})
    returning id, number, config, attempt, status`;
  await tx`update runners set current_trial_id = ${row.id}, last_seen_at = now() where id = ${input.runnerId}`;
  return { id: row.id, sweepId: input.sweepId, number: row.number, config: row.config, attempt: row.attempt, status: row.status };
}

/** Marks the sweep finished when nothing of it is queued or running any more; returns whether it did. */
export async function finishSweepIfIdle(tx: SweepTx, sweepId: string): Promise<boolean> {
  const rows = await tx`
    update sweeps set status = 'finished', finished_at = now()
    where id = ${sweepId} and status = 'running'
      and not exists (select 1 from trials where sweep_id = ${sweepId} and status in ('queued', 'running', 'cancelling'))
    returning id`;
  return rows.length === 1;
}

/**
 * The checkpoint a PBT exploit copies: the parent's newest at or before `atOrBefore` (the epoch its
 * rank was judged at), else its newest. Id and position only; the bytes are copied server-side.
 */
export async function exploitCheckpointRef(tx: SweepTx | Sql, trialId: string, atOrBefore: number): Promise<{ id: string; epoch: number; step: number } | null> {
  const q = tx as Sql;
  const [row] = await q<{ id: string; epoch: number; step: number }[]>`
    select id, epoch, step from checkpoints where trial_id = ${trialId}
    order by (epoch <= ${atOrBefore}) desc, step desc, created_at desc limit 1`;
  return row ?? null;
}

/**
 * PBT exploit, in one step under the sweep lock: the exploiting trial ends `pruned`, a child trial
 * (claimed by the same runner) records the lineage, and the parent's checkpoint bytes are copied to
 * the child (reason "exploit") so the child resumes from them. Returns null when the runner no longer
 * owns the exploiting trial.
 */
export async function exploitIntoChild(
  tx: SweepTx,
  input: {
    sweepId: string;
    trialId: string;
    runnerId: string;
    /** Where the exploiting trial got to, and its latest metric value. */
    progress: { epoch: number; step: number; objective: number | null };
    checkpointId: string;
    exploitEpoch: number;
    childNumber: number;
    childConfig: unknown;
  },
): Promise<ClaimedTrial | null> {
  const { epoch, step, objective } = input.progress;
  const ended = await tx`
    update trials set status = 'pruned', finished_at = now(), heartbeat_at = now(),
      epoch = greatest(epoch, ${epoch}::int), step = greatest(step, ${step}::int),
      objective = coalesce(${objective}::double precision, objective)
    where id = ${input.trialId} and runner_id = ${input.runnerId} and status = 'running' returning id`;
  if (ended.length === 0) return null;
  const [parent] = await tx<{ trial_id: string }[]>`select trial_id from checkpoints where id = ${input.checkpointId}`;
  if (!parent) throw new Error(`checkpoint ${input.checkpointId} vanished before the exploit could copy it`);
  const child = await insertClaimedTrial(tx, {
    sweepId: input.sweepId,
    number: input.childNumber,
    config: input.childConfig,
    runnerId: input.runnerId,
    parentTrialId: parent.trial_id,
    exploitEpoch: input.exploitEpoch,
  });
  await tx`
    insert into checkpoints (trial_id, epoch, step, data, reason)
    select ${child.id}, epoch, step, data, 'exploit' from checkpoints where id = ${input.checkpointId}`;
  return child;
}

/** Wakes idle runners (a sweep trial ended, so a parallelism slot opened). */
export async function notifyWork(sql: Sql, payload: string): Promise<void> {
  await sql`select pg_notify(${TRIAL_QUEUE_CHANNEL}, ${payload})`;
}
