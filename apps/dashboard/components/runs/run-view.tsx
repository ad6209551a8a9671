"use client";

import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { isRunId, wallStartOf, withBuckets } from "@/lib/chart-series";
import { useTRPC } from "@/lib/trpc/client";
import { ChartControls, DEFAULT_CHART_SETTINGS, epochEndsOf, RunCharts, type ChartSettings } from "./charts";
import { EpochSlider, GridImage } from "./grid-viewer";
import { HealthBadges, StatusBadge } from "./health-badges";
import styles from "./runs.module.css";

/** Live runs refresh this often (the issue asks for ≤ 2 s lag); finished runs stop polling. */
export const LIVE_REFRESH_MS = 1_000;

const when = (iso: string | null): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "—");
const bytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`);

export function RunView({ id }: { id: string }) {
  if (!isRunId(id)) {
    return (
      <div role="alert" className={styles.error}>
        <strong>“{id}” is not a run id.</strong> Run ids are UUIDs; open a run from its sweep or from the <Link href="/runners">Runners</Link> page.
      </div>
    );
  }
  return <RunDetails id={id} />;
}

function RunDetails({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const view = useQuery(
    trpc.runs.view.queryOptions({ id }, { refetchInterval: (q) => (q.state.data?.run.live ? LIVE_REFRESH_MS : false), select: withBuckets }),
  );
  const live = view.data?.run.live ?? false;
  const logs = useQuery(trpc.runs.logs.queryOptions({ id, limit: 300 }, { refetchInterval: live ? LIVE_REFRESH_MS * 2 : false }));
  const [settings, setSettings] = useState<ChartSettings>(DEFAULT_CHART_SETTINGS);
  const [epoch, setEpoch] = useState<number | null>(null);

  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: trpc.runs.view.queryKey({ id }) }), queryClient.invalidateQueries({ queryKey: trpc.runs.logs.queryKey() })]);
  const cancel = useMutation(trpc.runs.cancel.mutationOptions({ onSettled: refresh }));
  const requeue = useMutation(trpc.runs.requeue.mutationOptions({ onSettled: refresh }));

  const context = useMemo(
    () => ({ epochEnds: epochEndsOf(view.data?.samples ?? []), wallStart: wallStartOf(view.data?.series ?? []) }),
    [view.data?.samples, view.data?.series],
  );

  if (view.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading run…
      </p>
    );
  }
  if (view.isError) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot show this run.</strong> {view.error.message}
      </div>
    );
  }

  const { run, samples, series, checkpoint, health } = view.data;
  const epochs = samples.map((s) => s.epoch);
  const shownEpoch = epoch ?? epochs[epochs.length - 1] ?? 1;
  const actionError = cancel.error ?? requeue.error;

  return (
    <div className={styles.page}>
      <div className={styles.titleRow}>
        <h1 className="page-title">{run.title}</h1>
        <StatusBadge status={run.status} />
        <div className={styles.actions}>
          {run.status === "queued" || run.status === "running" ? (
            <button type="button" className={`${styles.button} ${styles.danger}`} onClick={() => cancel.mutate({ id })} disabled={cancel.isPending}>
              Cancel run
            </button>
          ) : null}
          {run.status === "failed" || run.status === "cancelled" ? (
            <button type="button" className={styles.button} onClick={() => requeue.mutate({ id })} disabled={requeue.isPending}>
              Requeue
            </button>
          ) : null}
          <Link className={styles.button} href={`/compare?runs=${id}`}>
            Compare…
          </Link>
        </div>
      </div>
      {actionError ? (
        <div role="alert" className={styles.error}>
          {actionError.message}
        </div>
      ) : null}
      {run.status === "cancelling" ? (
        <p role="status" className={styles.muted}>
          Cancelling: the runner stops at its next heartbeat.
        </p>
      ) : null}

      <section className={styles.card} aria-labelledby="run-facts">
        <h2 id="run-facts" className={styles.visuallyHidden}>
          Details
        </h2>
        <dl className={styles.facts}>
          <dt>Sweep</dt>
          <dd>{run.sweepId ? <Link href={`/sweeps/${run.sweepId}`}>{run.sweepName}</Link> : "ad-hoc run"}</dd>
          <dt>Runner</dt>
          <dd data-testid="run-runner">{run.runnerHostname ?? (run.runnerId ? run.runnerId : "—")}</dd>
          <dt>Backend</dt>
          <dd data-testid="run-backend">
            {run.backend ?? "—"}
            {run.device ? ` · ${run.device}` : ""}
          </dd>
          <dt>Attempt</dt>
          <dd>{run.attempt}</dd>
          <dt>Progress</dt>
          <dd data-testid="run-progress">
            epoch {run.epoch} · step {run.step}
            {run.objective !== null ? ` · objective ${Number(run.objective.toPrecision(4))}` : ""}
          </dd>
          <dt>Started</dt>
          <dd>{when(run.startedAt)}</dd>
          <dt>Finished</dt>
          <dd>{when(run.finishedAt)}</dd>
          {run.error ? (
            <>
              <dt>Error</dt>
              <dd className={styles.errorText}>{run.error}</dd>
            </>
          ) : null}
        </dl>
      </section>

      <section aria-labelledby="health-heading">
        <h2 id="health-heading" className={styles.sectionTitle}>
          Health
        </h2>
        <HealthBadges badges={health} />
      </section>

      <section className={styles.card} aria-labelledby="samples-heading">
        <h2 id="samples-heading" className={styles.sectionTitle}>
          Samples
        </h2>
        <div className={styles.samples}>
          <GridImage trialId={id} samples={samples} epoch={shownEpoch} label="Sample grid" />
          <div className={styles.samplesSide}>
            <EpochSlider epochs={epochs} value={epoch} onChange={setEpoch} />
            <p className={styles.muted}>{samples.length === 0 ? "Grids are saved at the end of every epoch." : `${samples.length} epochs kept, fixed noise.`}</p>
            <div className={styles.downloads}>
              {samples.length > 0 ? (
                <a className={styles.button} href={`/api/trials/${id}/timelapse`} download>
                  Download timelapse GIF
                </a>
              ) : null}
              {checkpoint ? (
                <a className={styles.button} href={`/api/trials/${id}/checkpoint`} download>
                  Download checkpoint (epoch {checkpoint.epoch}, {bytes(checkpoint.bytes)})
                </a>
              ) : (
                <span className={styles.muted}>No checkpoint yet.</span>
              )}
            </div>
          </div>
        </div>
      </section>

      <section aria-labelledby="metrics-heading">
        <div className={styles.titleRow}>
          <h2 id="metrics-heading" className={styles.sectionTitle}>
            Metrics
          </h2>
          <ChartControls settings={settings} onChange={setSettings} />
        </div>
        <RunCharts series={series} settings={settings} context={context} />
      </section>

      <section className={styles.card} aria-labelledby="config-heading">
        <h2 id="config-heading" className={styles.sectionTitle}>
          Config
        </h2>
        <pre className={styles.pre}>{JSON.stringify(run.config, null, 2)}</pre>
      </section>

      <section className={styles.card} aria-labelledby="logs-heading">
        <h2 id="logs-heading" className={styles.sectionTitle}>
          Log
        </h2>
        {logs.isError ? (
          <div role="alert" className={styles.error}>
            Cannot read the log: {logs.error.message}
          </div>
        ) : !logs.data ? (
          <p className={styles.muted}>Loading log…</p>
        ) : logs.data.length === 0 ? (
          <p className={styles.muted}>No log lines yet.</p>
        ) : (
          <ol className={styles.logs} aria-label="Log lines">
            {logs.data.map((line) => (
              <li key={line.id} className={styles[`log_${line.level}`]}>
                <time dateTime={line.ts}>{new Date(line.ts).toLocaleTimeString()}</time> <span className={styles.logLevel}>{line.level}</span> {line.message}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
