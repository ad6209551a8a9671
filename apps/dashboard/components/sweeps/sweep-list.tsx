"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc/client";
import { describeError } from "@/lib/errors";
import { bestSoFar, thin } from "@/lib/sweep-analysis";
import { formatNumber, formatTime } from "./format";
import styles from "./sweeps.module.css";

/** While a sweep runs the list refreshes this often; with none running it stops asking. */
const LIVE_MS = 2_000;

function Sparkline({ values, goal, label }: { values: number[]; goal: "minimize" | "maximize"; label: string }) {
  const best = thin(bestSoFar(values, goal).filter((v): v is number => v !== null), 60);
  if (best.length < 2) return <span className={styles.muted}>—</span>;
  const lo = Math.min(...best);
  const hi = Math.max(...best);
  const w = 110;
  const h = 28;
  const points = best.map((v, i) => `${((i / (best.length - 1)) * w).toFixed(1)},${(hi === lo ? h / 2 : 2 + (1 - (v - lo) / (hi - lo)) * (h - 4)).toFixed(1)}`);
  return (
    <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={points.join(" ")} fill="none" stroke="var(--accent)" strokeWidth="1.6" />
    </svg>
  );
}

export function Progress({ done, running, queued, cap }: { done: number; running: number; queued: number; cap: number | null }) {
  const total = Math.max(cap ?? 0, done + running + queued, 1);
  const pct = (n: number) => `${(100 * n) / total}%`;
  return (
    <div>
      <div className={styles.progress} aria-hidden="true">
        <div className={styles.progressDone} style={{ width: pct(done) }} />
        <div className={styles.progressRunning} style={{ width: pct(running) }} />
        <div className={styles.progressQueued} style={{ width: pct(queued) }} />
      </div>
      <span className={styles.progressText}>
        {done} done · {running} running · {queued} queued{cap !== null ? ` · cap ${cap}` : ""}
      </span>
    </div>
  );
}

export function SweepList() {
  const trpc = useTRPC();
  const sweeps = useQuery(
    trpc.sweeps.list.queryOptions(undefined, {
      refetchInterval: (query) => (query.state.data?.some((s) => s.status === "running") ? LIVE_MS : false),
    }),
  );

  if (sweeps.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading sweeps…
      </p>
    );
  }
  if (sweeps.isError) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot load the sweeps.</strong> {describeError(sweeps.error)} — is the database up? The <Link href="/status">Status</Link> page says.
      </div>
    );
  }
  if (sweeps.data.length === 0) {
    return (
      <section className={`${styles.card} ${styles.empty}`} aria-labelledby="no-sweeps">
        <h2 id="no-sweeps">No sweeps yet</h2>
        <p>
          A sweep trains many GANs with different settings and keeps the best. The quickstart searches two learning rates on
          generated cartoon faces at 32px and finishes in minutes on a laptop CPU. Runners started by <code>npx ganboard up</code>{" "}
          pick up its trials.
        </p>
        <Link className={styles.button} href="/sweeps/new?template=quickstart">
          Start the quickstart
        </Link>
      </section>
    );
  }
  return (
    <div className={`${styles.card} ${styles.tableWrap}`}>
      <table className={styles.table} aria-label="Sweeps">
        <thead>
          <tr>
            <th scope="col">Sweep</th>
            <th scope="col">Method</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col" className={styles.num}>
              Best
            </th>
            <th scope="col">Best so far</th>
          </tr>
        </thead>
        <tbody>
          {sweeps.data.map((s) => (
            <tr key={s.id}>
              <td>
                <Link className={styles.name} href={`/sweeps/${s.id}`}>
                  {s.name}
                </Link>
                <div className={styles.progressText}>{formatTime(s.createdAt)}</div>
              </td>
              <td>{s.method}</td>
              <td>
                <span className={`${styles.badge} ${styles[`status-${s.status}`] ?? ""}`}>{s.status}</span>
              </td>
              <td>
                <Progress done={s.trials.completed + s.trials.failed + s.trials.pruned + s.trials.cancelled} running={s.trials.running + s.trials.cancelling} queued={s.trials.queued} cap={s.runCap} />
              </td>
              <td className={styles.num}>
                {s.best ? (
                  <span title={`trial #${s.best.number}`}>
                    {s.metric.name} {formatNumber(s.best.objective)} {s.metric.goal === "minimize" ? "↓" : "↑"}
                  </span>
                ) : (
                  <span className={styles.muted}>—</span>
                )}
              </td>
              <td>
                <Sparkline values={s.results} goal={s.metric.goal} label={`Best ${s.metric.name} so far over ${s.results.length} finished trials`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
