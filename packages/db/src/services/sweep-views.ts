/**
 * Extra reads for the dashboard's sweep pages, beside sweeps.ts (listSweeps / getSweep give the
 * sweeps, counts, best trial and trials): each sweep's results in finishing order (sparklines) and
 * the sweep metric per trial and epoch (objective-by-epoch chart).
 */
import type { Sql } from "../client.ts";

// NaN sorts above every number in Postgres and ±Infinity cannot be drawn, so both are left out.
const finite = (sql: Sql, column: string) => sql`${sql(column)} not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)`;

/**
 * For each sweep, the finite objectives of its completed trials in the order they finished (the
 * newest `limit`), for the best-so-far sparkline on the sweeps list.
 */
export async function sweepResultHistories(sql: Sql, sweepIds: readonly string[], limit = 200): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(sweepIds.map((id) => [id, []]));
  if (sweepIds.length === 0) return out;
  const rows = await sql<{ sweep_id: string; objectives: number[] }[]>`
    select s.id as sweep_id, coalesce(h.objectives, '{}') as objectives
    from unnest(${sweepIds as string[]}::uuid[]) as s(id)
    left join lateral (
      select array_agg(objective order by finished_at, number) as objectives from (
        select objective, finished_at, number from trials
        where sweep_id = s.id and status = 'completed' and objective is not null and ${finite(sql, "objective")}
        order by finished_at desc nulls last, number desc limit ${limit}
      ) newest
    ) h on true`;
  for (const r of rows) out.set(r.sweep_id, r.objectives);
  return out;
}

export interface EpochObjective {
  trialId: string;
  epoch: number;
  value: number;
}

/**
 * The sweep metric as each trial reported it per epoch (the last value logged in each epoch), for the
 * objective-by-epoch chart. Served by the metrics primary key (trial_id, key, step).
 */
export async function sweepEpochObjectives(sql: Sql, sweepId: string, metricName: string): Promise<EpochObjective[]> {
  const rows = await sql<{ trial_id: string; epoch: number; value: number }[]>`
    select distinct on (m.trial_id, m.epoch) m.trial_id, m.epoch, m.value
    from trials t join metrics m on m.trial_id = t.id and m.key = ${metricName}
    where t.sweep_id = ${sweepId} and ${finite(sql, "m.value")}
    order by m.trial_id, m.epoch, m.step desc`;
  return rows.map((r) => ({ trialId: r.trial_id, epoch: r.epoch, value: r.value }));
}
