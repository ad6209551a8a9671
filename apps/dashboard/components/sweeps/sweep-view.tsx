"use client";

import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { searchedParameterNames, toYaml } from "@ganboard/sweeps";
import { useTRPC } from "@/lib/trpc/client";
import { describeError } from "@/lib/errors";
import { compareCells, type ParameterRange, type Scalar, type SortDirection } from "@/lib/sweep-analysis";
import { BestSoFarChart, EpochObjectiveChart, ImportanceChart, LineageGraph, ParallelCoordinates, type ChartTrial } from "./sweep-charts";
import { Progress } from "./sweep-list";
import { formatDuration, formatNumber, formatTime, formatValue } from "./format";
import styles from "./sweeps.module.css";

/** ≤ 2 s behind while trials run; slower while the sweep waits for runners; silent once nothing can change. */
const ACTIVE_MS = 1_000;
const WAITING_MS = 2_000;
const ACTIVE = new Set(["queued", "running", "cancelling"]);
const MAX_COMPARE = 10;

type SortKey = "number" | "status" | "objective" | "epoch" | "runner" | "duration" | `param:${string}`;

type SweepData = NonNullable<ReturnType<typeof useSweepQuery>["data"]>;

function useSweepQuery(id: string) {
  const trpc = useTRPC();
  return useQuery(
    trpc.sweeps.get.queryOptions(
      { id },
      {
        refetchInterval: (query) => {
          const data = query.state.data;
          if (!data) return false;
          if (data.trials.some((t) => ACTIVE.has(t.status))) return ACTIVE_MS;
          return data.status === "running" ? WAITING_MS : false;
        },
        // A bad or unknown id will not get better by asking again.
        retry: (count, error) => count < 2 && !/NOT_FOUND|BAD_REQUEST|not a sweep id|No sweep/i.test(describeError(error)),
      },
    ),
  );
}

/** The best completed trial's settings, with the way to its run page. */
function BestTrialCard({ trial, paramNames, metric }: { trial: SweepData["trials"][number] | undefined; paramNames: string[]; metric: string }) {
  return (
    <section className={styles.card} aria-label="Best trial">
      <h2>Best trial</h2>
      {trial ? (
        <>
          <p className={styles.cardNote}>
            <Link href={`/runs/${trial.id}`}>Trial #{trial.number}</Link>: {metric} {formatNumber(trial.objective)} after {trial.epoch} epoch{trial.epoch === 1 ? "" : "s"}.
          </p>
          <dl className={styles.facts}>
            {paramNames.map((n) => (
              <div key={n}>
                <dt>{n}</dt>
                <dd>{formatValue(trial.config[n])}</dd>
              </div>
            ))}
          </dl>
        </>
      ) : (
        <p className={styles.muted}>Appears when the first trial completes.</p>
      )}
    </section>
  );
}

export function SweepView({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sweep = useSweepQuery(id);
  const [statusFilter, setStatusFilter] = useState("all");
  const [sort, setSort] = useState<{ key: SortKey; direction: SortDirection }>({ key: "number", direction: "ascending" });
  const [selected, setSelected] = useState<string[]>([]);
  const [cancelRunning, setCancelRunning] = useState(false);
  const stop = useMutation(
    trpc.sweeps.stop.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.sweeps.get.queryKey({ id }) }),
    }),
  );

  const name = sweep.data?.name;
  useEffect(() => {
    if (name) document.title = `${name} · ganboard`;
  }, [name]);

  const data = sweep.data;
  const paramNames = useMemo(() => (data?.spec ? searchedParameterNames(data.spec) : []), [data?.spec]);
  const chartTrials: ChartTrial[] = useMemo(() => {
    // The epoch a trial reached: its own counter, or its newest metric report when that is later.
    const reported = new Map<string, number>();
    for (const p of data?.epochObjectives ?? []) reported.set(p.trialId, Math.max(reported.get(p.trialId) ?? 0, p.epoch));
    return (data?.trials ?? []).map((t) => ({
        id: t.id,
        number: t.number,
        status: t.status,
        objective: t.objective,
        epoch: Math.max(t.epoch, reported.get(t.id) ?? 0),
        params: Object.fromEntries(paramNames.map((n) => [n, t.config[n] as Scalar | undefined])),
        parentTrialId: t.parentTrialId,
        exploitEpoch: t.exploitEpoch,
      }));
  }, [data?.trials, data?.epochObjectives, paramNames]);

  if (sweep.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading sweep…
      </p>
    );
  }
  if (sweep.isError || !data) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot show this sweep.</strong> {describeError(sweep.error)} <Link href="/">Back to all sweeps</Link>
      </div>
    );
  }

  const now = Date.now();
  const rows = data.trials
    .filter((t) => statusFilter === "all" || t.status === statusFilter)
    .map((t) => ({
      trial: t,
      cells: {
        number: t.number,
        status: t.status,
        objective: t.objective,
        epoch: t.epoch,
        runner: t.runnerId,
        duration: t.startedAt ? (t.finishedAt ? Date.parse(t.finishedAt) : now) - Date.parse(t.startedAt) : null,
        ...Object.fromEntries(paramNames.map((n) => [`param:${n}`, t.config[n]])),
      } as Record<string, unknown>,
    }))
    .sort((a, b) => compareCells(a.cells[sort.key], b.cells[sort.key], sort.direction) || a.trial.number - b.trial.number);

  const statusCounts = new Map<string, number>();
  for (const t of data.trials) statusCounts.set(t.status, (statusCounts.get(t.status) ?? 0) + 1);
  const byId = new Map(data.trials.map((t) => [t.id, t]));
  const selectedValid = selected.filter((s) => byId.has(s));
  const canCompare = selectedValid.length >= 2 && selectedValid.length <= MAX_COMPARE;
  const active = data.trials.some((t) => ACTIVE.has(t.status));
  const counts = data.counts;

  const sortHeader = (key: SortKey, label: string, numeric = false) => (
    <th key={key} scope="col" className={numeric ? styles.num : undefined} aria-sort={sort.key === key ? sort.direction : "none"}>
      <button
        type="button"
        className={styles.sortButton}
        onClick={() => setSort(sort.key === key ? { key, direction: sort.direction === "ascending" ? "descending" : "ascending" } : { key, direction: "ascending" })}
      >
        {label}
        {sort.key === key ? (sort.direction === "ascending" ? " ▲" : " ▼") : ""}
      </button>
    </th>
  );

  const parameters = (data.spec?.parameters ?? {}) as Record<string, ParameterRange>;

  return (
    <>
      <div className={styles.header}>
        <div>
          <h1>{data.name}</h1>
          <p className={styles.subtitle}>
            <span className={`${styles.badge} ${styles[`status-${data.status}`] ?? ""}`} data-testid="sweep-status">
              {data.status}
            </span>{" "}
            {data.method} · {data.metric.name} ({data.metric.goal}) · created {formatTime(data.createdAt)}
            {active ? " · live" : ""}
          </p>
        </div>
        {data.status === "running" ? (
          <div className={styles.stopBox}>
            <label>
              <input type="checkbox" checked={cancelRunning} onChange={(e) => setCancelRunning(e.target.checked)} /> also cancel running trials
            </label>
            <button type="button" className={styles.buttonDanger} disabled={stop.isPending} onClick={() => stop.mutate({ id: data.id, cancelRunning })}>
              {stop.isPending ? "Stopping…" : "Stop sweep"}
            </button>
          </div>
        ) : null}
      </div>
      {stop.isError ? (
        <div role="alert" className={styles.error}>
          <strong>The sweep was not stopped.</strong> {describeError(stop.error)}
        </div>
      ) : null}
      {stop.data ? (
        <p role="status" className={styles.warning}>
          Stopped: no new trials start. {stop.data.cancelledQueued} queued trial{stop.data.cancelledQueued === 1 ? "" : "s"} cancelled
          {stop.data.cancellingRunning > 0 ? `, ${stop.data.cancellingRunning} running asked to stop` : ""}
          {stop.data.stillRunning - stop.data.cancellingRunning > 0 ? `, ${stop.data.stillRunning - stop.data.cancellingRunning} left to finish` : ""}.
        </p>
      ) : null}

      <section className={styles.card} aria-label="Summary">
        <dl className={styles.facts}>
          <div>
            <dt>Trials</dt>
            <dd>
              <Progress done={counts.completed + counts.failed + counts.pruned + counts.cancelled} running={counts.running + counts.cancelling} queued={counts.queued} cap={data.spec?.method === "pbt" ? null : (data.spec?.run_cap ?? null)} />
            </dd>
          </div>
          <div>
            <dt>Best {data.metric.name}</dt>
            <dd data-testid="sweep-best">
              {data.best ? (
                <>
                  {formatNumber(data.best.objective)} (<Link href={`/runs/${data.best.trialId}`}>trial #{data.best.number}</Link>)
                </>
              ) : (
                "—"
              )}
            </dd>
          </div>
          <div>
            <dt>Completed / pruned / failed</dt>
            <dd>
              {counts.completed} / {counts.pruned} / {counts.failed}
            </dd>
          </div>
          {data.spec?.parallelism ? (
            <div>
              <dt>Parallelism</dt>
              <dd>{data.spec.parallelism}</dd>
            </div>
          ) : null}
        </dl>
        {data.trials.length === 0 && data.status === "running" ? (
          <p className={styles.muted}>
            Waiting for a runner to start the first trial. Runners started by <code>npx ganboard up</code> (or <code>ganboard runner</code>) pick up work from every
            running sweep.
          </p>
        ) : null}
      </section>

      <div className={styles.grid2} style={{ marginBottom: "1.25rem" }}>
        <BestSoFarChart trials={chartTrials} goal={data.metric.goal} metric={data.metric.name} />
        <EpochObjectiveChart trials={chartTrials} points={data.epochObjectives} goal={data.metric.goal} metric={data.metric.name} />
        <ImportanceChart trials={chartTrials} names={paramNames} metric={data.metric.name} />
        <BestTrialCard trial={data.best ? byId.get(data.best.trialId) : undefined} paramNames={paramNames} metric={data.metric.name} />
        <ParallelCoordinates trials={chartTrials} parameters={parameters} goal={data.metric.goal} metric={data.metric.name} />
      </div>
      {data.method === "pbt" ? (
        <div style={{ marginBottom: "1.25rem" }}>
          <LineageGraph trials={chartTrials} />
        </div>
      ) : null}

      <section className={styles.card} aria-labelledby="trials-heading">
        <h2 id="trials-heading">Trials</h2>
        <div className={styles.toolbar}>
          <label>
            Status
            <select value={statusFilter} onChange={(e) => setStatusFilter(e.target.value)}>
              <option value="all">all ({data.trials.length})</option>
              {[...statusCounts].map(([status, n]) => (
                <option key={status} value={status}>
                  {status} ({n})
                </option>
              ))}
            </select>
          </label>
          {canCompare ? (
            <Link className={styles.button} href={`/compare?runs=${selectedValid.join(",")}`}>
              Compare {selectedValid.length} runs
            </Link>
          ) : (
            <button type="button" className={styles.buttonSecondary} disabled>
              Compare
            </button>
          )}
          <span className={styles.hint}>
            {selectedValid.length === 0 ? "Tick 2–10 trials to compare their curves and grids." : selectedValid.length > MAX_COMPARE ? `At most ${MAX_COMPARE} at once (${selectedValid.length} ticked).` : `${selectedValid.length} ticked.`}
          </span>
          {selectedValid.length > 0 ? (
            <button type="button" className={styles.buttonSecondary} onClick={() => setSelected([])}>
              Clear selection
            </button>
          ) : null}
        </div>
        {data.trials.length === 0 ? (
          <p className={styles.muted}>No trials yet.</p>
        ) : (
          <div className={styles.tableWrap}>
            <table className={styles.table} aria-labelledby="trials-heading">
              <thead>
                <tr>
                  <th scope="col" aria-label="Select" />
                  {sortHeader("number", "Trial")}
                  {sortHeader("status", "Status")}
                  {sortHeader("objective", data.metric.name, true)}
                  {paramNames.map((n) => sortHeader(`param:${n}`, n, true))}
                  {sortHeader("epoch", "Epoch", true)}
                  {sortHeader("duration", "Time", true)}
                  {sortHeader("runner", "Runner")}
                  {data.method === "pbt" ? <th scope="col">Copied from</th> : null}
                </tr>
              </thead>
              <tbody>
                {rows.map(({ trial: t, cells }) => {
                  const parent = t.parentTrialId ? byId.get(t.parentTrialId) : undefined;
                  return (
                    <tr key={t.id} data-testid="trial-row">
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Select trial #${t.number}`}
                          checked={selected.includes(t.id)}
                          onChange={(e) => setSelected(e.target.checked ? [...selected, t.id] : selected.filter((s) => s !== t.id))}
                        />
                      </td>
                      <td>
                        <Link href={`/runs/${t.id}`}>#{t.number}</Link>
                      </td>
                      <td>
                        <span className={`${styles.badge} ${styles[`status-${t.status}`] ?? ""}`} title={t.error ?? undefined}>
                          {t.status}
                        </span>
                      </td>
                      <td className={styles.num}>{formatNumber(t.objective)}</td>
                      {paramNames.map((n) => (
                        <td key={n} className={styles.num}>
                          {formatValue(t.config[n])}
                        </td>
                      ))}
                      <td className={styles.num}>{t.epoch}</td>
                      <td className={styles.num}>{typeof cells.duration === "number" ? formatDuration(cells.duration) : "—"}</td>
                      <td>{t.runnerId ? <code>{t.runnerId.length > 24 ? `${t.runnerId.slice(0, 24)}…` : t.runnerId}</code> : <span className={styles.muted}>—</span>}</td>
                      {data.method === "pbt" ? (
                        <td>
                          {parent ? (
                            <>
                              <Link href={`/runs/${parent.id}`}>#{parent.number}</Link> at epoch {t.exploitEpoch ?? "?"}
                            </>
                          ) : (
                            <span className={styles.muted}>—</span>
                          )}
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <details className={`${styles.card} ${styles.details}`}>
        <summary>Spec</summary>
        <pre>{data.spec ? toYaml(data.spec) : JSON.stringify(data.storedSpec, null, 2)}</pre>
      </details>
    </>
  );
}
