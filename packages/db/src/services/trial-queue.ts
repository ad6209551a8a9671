/**
 * How runners share work through Postgres alone (as Optuna's RDB storage): a trial is claimed with
 * FOR UPDATE SKIP LOCKED, kept alive by heartbeats, and put back in the queue by whoever notices
 * that its heartbeat stopped. Every transition checks `runner_id`, so a runner that lost its lease
 * (it was presumed dead and the trial requeued) can never overwrite the new owner's state.
 */
import type { Sql } from "../client.ts";
import type { Trial, TrialStatus } from "../schema.ts";

/** NOTIFY channel raised when a trial becomes claimable. */
export const TRIAL_QUEUE_CHANNEL = "ganboard_trials";

export interface ClaimedTrial {
  id: string;
  sweepId: string | null;
  number: number;
  config: unknown;
  attempt: number;
  status: TrialStatus;
}

interface TrialRow {
  id: string;
  sweep_id: string | null;
  number: number;
  config: unknown;
  attempt: number;
  status: TrialStatus;
}

const toClaimed = (r: TrialRow): ClaimedTrial => ({
  id: r.id,
  sweepId: r.sweep_id,
  number: r.number,
  config: r.config,
  attempt: r.attempt,
  status: r.status,
});

/** Heartbeat period, grace and retry limit that every runner and the dashboard apply to trial leases. */
export interface TrialLeaseSettings {
  /** How often a runner proves it is alive. */
  heartbeatMs: number;
  /** A trial whose heartbeat is older than this is requeued. */
  staleAfterMs: number;
  /** Attempts before a trial that keeps losing its runner fails. */
  maxAttempts: number;
}

export const DEFAULT_HEARTBEAT_MS = 2_000;
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * Grace in heartbeat periods. A live trial's heartbeat is at most one period (plus a round trip) old,
 * and idle runners look every quarter period, so a dead runner's trial is requeued within two periods.
 */
export const STALE_AFTER_HEARTBEATS = 1.75;

/** Fills in the defaults: grace is 1.75 heartbeat periods unless given. */
export function trialLeaseSettings(overrides: Partial<TrialLeaseSettings> = {}): TrialLeaseSettings {
  const heartbeatMs = overrides.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  return { heartbeatMs, staleAfterMs: overrides.staleAfterMs ?? heartbeatMs * STALE_AFTER_HEARTBEATS, maxAttempts: overrides.maxAttempts ?? DEFAULT_MAX_ATTEMPTS };
}

/** A number from an environment variable (undefined when unset), or an error naming the variable and what it must be. */
function numberFromEnv(env: NodeJS.ProcessEnv, name: string, what: string, valid: (n: number) => boolean): number | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const value = Number(raw);
  if (!valid(value)) throw new Error(`${name} must be ${what} (got "${raw}")`);
  return value;
}

/** A positive number of milliseconds from an environment variable such as GANBOARD_POLL_MS; undefined when unset. */
export function msFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return numberFromEnv(env, name, "a positive number of milliseconds", (n) => Number.isFinite(n) && n > 0);
}

/**
 * The lease settings from GANBOARD_HEARTBEAT_MS, GANBOARD_STALE_AFTER_MS and GANBOARD_MAX_ATTEMPTS
 * (defaults where unset). Runners and the dashboard both read them here, so they agree on which trials are dead.
 */
export function trialLeaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TrialLeaseSettings {
  return trialLeaseSettings({
    heartbeatMs: msFromEnv("GANBOARD_HEARTBEAT_MS", env),
    staleAfterMs: msFromEnv("GANBOARD_STALE_AFTER_MS", env),
    maxAttempts: numberFromEnv(env, "GANBOARD_MAX_ATTEMPTS", "a positive integer", (n) => Number.isInteger(n) && n >= 1),
  });
}

type TrialInput = { config: unknown; sweepId?: string | null; parentTrialId?: string | null; exploitEpoch?: number | null };

/** Inserts a trial numbered next within its sweep; claimed by `runnerId` (attempt 1) when given, else queued. */
async function insertTrial(sql: Sql, input: TrialInput, runnerId: string | null): Promise<TrialRow> {
  const sweepId = input.sweepId ?? null;
  const claimed = runnerId !== null;
  return sql.begin(async (tx) => {
    // Numbers are per sweep; NULL sweep ids escape the unique index, so serialise numbering explicitly.
    await tx`select pg_advisory_xact_lock(hashtext(${"ganboard.trial-number:" + (sweepId ?? "adhoc")}))`;
    const [row] = await tx<TrialRow[]>`
      insert into trials (sweep_id, number, config, parent_trial_id, exploit_epoch, status, runner_id, attempt, heartbeat_at, started_at)
      select ${sweepId}::uuid, coalesce(max(number), 0) + 1, ${JSON.stringify(input.config)}::jsonb, ${input.parentTrialId ?? null}::uuid, ${input.exploitEpoch ?? null}::int,
        ${claimed ? "running" : "queued"}::trial_status, ${runnerId}::text, ${claimed ? 1 : 0}::int,
        case when ${claimed}::boolean then now() end, case when ${claimed}::boolean then now() end
      from trials where sweep_id is not distinct from ${sweepId}::uuid
      returning id, sweep_id, number, config, attempt, status`;
    // A claimed trial wakes nobody: no other runner may take it.
    if (!claimed) await tx`select pg_notify(${TRIAL_QUEUE_CHANNEL}, ${row.id})`;
    else await tx`update runners set current_trial_id = ${row.id}, last_seen_at = now() where id = ${runnerId}`;
    return row;
  });
}

/** Adds a queued trial (an ad-hoc run when sweepId is null), numbered next within its sweep, and wakes runners. */
export async function enqueueTrial(sql: Sql, input: TrialInput): Promise<{ id: string; number: number }> {
  const row = await insertTrial(sql, input, null);
  return { id: row.id, number: row.number };
}

/**
 * Adds a trial that is born claimed by this (registered) runner, so no other runner can take it:
 * `ganboard run --local` trains its own run even while idle runners wait on the same database.
 */
export async function createClaimedTrial(sql: Sql, runnerId: string, input: TrialInput): Promise<ClaimedTrial> {
  return toClaimed(await insertTrial(sql, input, runnerId));
}

/**
 * Atomically takes the oldest queued trial for this runner (attempt + 1), or null when none is
 * queued. With `onlyTrialId`, takes that trial or nothing.
 */
export async function claimTrial(sql: Sql, runnerId: string, opts: { onlyTrialId?: string } = {}): Promise<ClaimedTrial | null> {
  return sql.begin(async (tx) => {
    const rows = await tx<TrialRow[]>`
      with next as (
        select id from trials where status = 'queued' and (${opts.onlyTrialId ?? null}::uuid is null or id = ${opts.onlyTrialId ?? null}::uuid)
        order by created_at, id limit 1
        for update skip locked
      )
      update trials t set status = 'running', runner_id = ${runnerId}, attempt = t.attempt + 1,
        heartbeat_at = now(), started_at = coalesce(t.started_at, now()), error = null
      from next where t.id = next.id
      returning t.id, t.sweep_id, t.number, t.config, t.attempt, t.status`;
    if (rows.length === 0) return null;
    await tx`update runners set current_trial_id = ${rows[0].id}, last_seen_at = now() where id = ${runnerId}`;
    return toClaimed(rows[0]);
  });
}

export interface TrialProgress {
  epoch: number;
  step: number;
  objective?: number | null;
}

/**
 * Records that the runner still works on the trial. Returns the trial's status as the database sees
 * it ('cancelling' asks the runner to stop), or null when this runner no longer owns the trial.
 */
export async function recordHeartbeat(sql: Sql, trialId: string, runnerId: string, progress?: TrialProgress): Promise<TrialStatus | null> {
  const rows = progress
    ? await sql<{ status: TrialStatus }[]>`
        update trials set heartbeat_at = now(), epoch = ${progress.epoch}, step = ${progress.step},
          objective = coalesce(${progress.objective ?? null}::double precision, objective)
        where id = ${trialId} and runner_id = ${runnerId} and status in ('running', 'cancelling')
        returning status`
    : await sql<{ status: TrialStatus }[]>`
        update trials set heartbeat_at = now()
        where id = ${trialId} and runner_id = ${runnerId} and status in ('running', 'cancelling')
        returning status`;
  return rows[0]?.status ?? null;
}

/**
 * Requeues trials whose runner stopped sending heartbeats for `graceSeconds`; a trial that already
 * used `maxAttempts` fails instead, and one that was being cancelled ends cancelled.
 */
export async function requeueStaleTrials(sql: Sql, opts: { graceSeconds: number; maxAttempts: number }): Promise<{ id: string; status: TrialStatus }[]> {
  const rows = await sql<{ id: string; status: TrialStatus }[]>`
    update trials set
      status = (case
        when status = 'cancelling' then 'cancelled'
        when attempt >= ${opts.maxAttempts} then 'failed'
        else 'queued' end)::trial_status,
      error = case
        when status = 'running' and attempt >= ${opts.maxAttempts}
        then 'gave up after ' || attempt || ' attempts: the last runner stopped sending heartbeats'
        else error end,
      finished_at = case when status = 'cancelling' or attempt >= ${opts.maxAttempts} then now() else finished_at end,
      runner_id = null
    where status in ('running', 'cancelling')
      and heartbeat_at < now() - make_interval(secs => ${opts.graceSeconds})
    returning id, status`;
  if (rows.some((r) => r.status === "queued")) await sql`select pg_notify(${TRIAL_QUEUE_CHANNEL}, 'requeued')`;
  return rows;
}

/** Ends a trial this runner owns. Returns false when the runner had lost the trial meanwhile. */
export async function finishTrial(
  sql: Sql,
  trialId: string,
  runnerId: string,
  outcome: { status: "completed" | "failed" | "cancelled" | "pruned"; error?: string | null; objective?: number | null; epoch?: number; step?: number },
): Promise<boolean> {
  // Final epoch/step too: a short trial can end before any heartbeat carried its progress.
  const rows = await sql`
    update trials set status = ${outcome.status}, error = ${outcome.error ?? null}, finished_at = now(),
      heartbeat_at = now(), objective = coalesce(${outcome.objective ?? null}::double precision, objective),
      epoch = greatest(epoch, ${outcome.epoch ?? 0}::int), step = greatest(step, ${outcome.step ?? 0}::int)
    where id = ${trialId} and runner_id = ${runnerId} and status in ('running', 'cancelling')
    returning id`;
  await sql`update runners set current_trial_id = null where id = ${runnerId}`;
  return rows.length === 1;
}

/** Puts a trial this runner owns back in the queue (runner shutting down); its checkpoint lets the next attempt resume. */
export async function releaseTrial(sql: Sql, trialId: string, runnerId: string): Promise<boolean> {
  const rows = await sql`
    update trials set status = (case when status = 'cancelling' then 'cancelled' else 'queued' end)::trial_status,
      finished_at = case when status = 'cancelling' then now() else finished_at end,
      runner_id = null
    where id = ${trialId} and runner_id = ${runnerId} and status in ('running', 'cancelling')
    returning id`;
  await sql`update runners set current_trial_id = null where id = ${runnerId}`;
  await sql`select pg_notify(${TRIAL_QUEUE_CHANNEL}, ${trialId})`;
  return rows.length === 1;
}

/** Asks a queued or running trial to stop: queued ones end at once, running ones at their next heartbeat. */
export async function cancelTrial(sql: Sql, trialId: string): Promise<TrialStatus | null> {
  const rows = await sql<{ status: TrialStatus }[]>`
    update trials set
      status = (case when status = 'queued' then 'cancelled' else 'cancelling' end)::trial_status,
      finished_at = case when status = 'queued' then now() else finished_at end
    where id = ${trialId} and status in ('queued', 'running')
    returning status`;
  return rows[0]?.status ?? null;
}

export async function getTrial(sql: Sql, trialId: string): Promise<Trial | null> {
  const rows = await sql<Trial[]>`
    select id, sweep_id as "sweepId", number, config, status, runner_id as "runnerId", attempt,
      heartbeat_at as "heartbeatAt", started_at as "startedAt", finished_at as "finishedAt", error, backend, device,
      epoch, step, objective, parent_trial_id as "parentTrialId", exploit_epoch as "exploitEpoch", created_at as "createdAt"
    from trials where id = ${trialId}`;
  return rows[0] ?? null;
}

/** Records the backend and device a trial runs on (shown with every run). */
export async function setTrialBackend(sql: Sql, trialId: string, runnerId: string, backend: string, device: string): Promise<void> {
  await sql`update trials set backend = ${backend}, device = ${device} where id = ${trialId} and runner_id = ${runnerId}`;
}
