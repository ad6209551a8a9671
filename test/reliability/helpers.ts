/** Shared pieces of the reliability suite: row counts (nothing half-written) and metric-series checks. */
import type { Sql } from "@ganboard/db";

export const TABLES = ["sweeps", "trials", "metrics", "samples", "checkpoints", "trial_logs", "runners"] as const;
export type RowCounts = Record<(typeof TABLES)[number], number>;

/** Rows in every table ganboard writes: compared before and after a refused input. */
export async function rowCounts(sql: Sql): Promise<RowCounts> {
  const out = {} as RowCounts;
  for (const table of TABLES) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
    out[table] = row.n;
  }
  return out;
}

/** Per metric key of one trial: points, distinct steps, first and last step. */
export async function stepSeries(sql: Sql, trialId: string, key = "loss_d") {
  const [row] = await sql<{ n: number; distinct_steps: number; min: number | null; max: number | null }[]>`
    select count(*)::int as n, count(distinct step)::int as distinct_steps, min(step) as min, max(step) as max
    from metrics where trial_id = ${trialId} and key = ${key}`;
  return row;
}

/** Epoch numbers that have a sample grid, ascending. */
export async function gridEpochs(sql: Sql, trialId: string): Promise<number[]> {
  const rows = await sql<{ epoch: number }[]>`select distinct epoch from samples where trial_id = ${trialId} order by epoch`;
  return rows.map((r) => r.epoch);
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Points that an abandoned attempt left behind: within one trial and key, a step whose wall time is
 * earlier than the step before it. The primary key already makes two rows for one step impossible, so
 * this is how a step "logged twice" would show: the dead attempt's value surviving the resumed one's.
 */
export async function staleAttemptPoints(sql: Sql, trialIds: readonly string[], keys: readonly string[]): Promise<number> {
  if (trialIds.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select wall_time < lag(wall_time) over (partition by trial_id, key order by step) as backwards
      from metrics where trial_id in ${sql(trialIds)} and key in ${sql(keys)}
    ) ordered where backwards`;
  return row.n;
}
