"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc/client";
import { StatusBadge } from "./health-badges";
import styles from "./runs.module.css";

/** Fast while some runner is online (its current trial changes), slow otherwise (only to notice one arriving). */
const REFRESH_MS = 2_000;
const IDLE_REFRESH_MS = 10_000;

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

export function RunnersTable() {
  const trpc = useTRPC();
  const list = useQuery(trpc.runners.list.queryOptions(undefined, {
      refetchInterval: (q) => (q.state.data?.runners.some((r) => r.online) ? REFRESH_MS : IDLE_REFRESH_MS),
    }));
  if (list.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading runners…
      </p>
    );
  }
  if (list.isError) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot list the runners.</strong> {list.error.message}
      </div>
    );
  }
  const { runners, checkedAt } = list.data;
  const now = Date.parse(checkedAt);
  if (runners.length === 0) {
    return (
      <p className={styles.muted} data-testid="runners-empty">
        No runner has connected yet. Start one with <code>npx ganboard runner</code> on any machine that reaches this database (
        <code>npx ganboard up</code> starts local ones).
      </p>
    );
  }
  return (
    <div className={styles.tableWrap}>
      <table className={styles.table} aria-label="Runners">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Backend</th>
            <th scope="col">Device</th>
            <th scope="col">Current trial</th>
            <th scope="col">Last seen</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {runners.map((r) => (
            <tr key={r.id}>
              <td>
                {r.hostname} <span className={styles.muted}>pid {r.pid}</span>
              </td>
              <td>{r.backend ?? "—"}</td>
              <td>{r.device ?? "—"}</td>
              <td>
                {r.currentTrial ? (
                  <>
                    <Link href={`/runs/${r.currentTrial.id}`}>{`${r.currentTrial.sweepName ?? "run"} #${r.currentTrial.number}`}</Link>{" "}
                    <StatusBadge status={r.currentTrial.status} />
                  </>
                ) : (
                  <span className={styles.muted}>idle</span>
                )}
              </td>
              <td>
                <time dateTime={r.lastSeenAt} title={new Date(r.lastSeenAt).toLocaleString()}>
                  {ago(r.lastSeenAt, now)}
                </time>
              </td>
              <td>
                <span className={r.online ? styles.online : styles.offline}>{r.online ? "online" : "offline"}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
