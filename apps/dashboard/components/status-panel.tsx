"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc/client";
import styles from "./status-panel.module.css";

const REFRESH_MS = 5_000;

function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function StatusPanel() {
  const trpc = useTRPC();
  const status = useQuery(trpc.status.queryOptions(undefined, { refetchInterval: REFRESH_MS }));

  if (status.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading status…
      </p>
    );
  }
  if (status.isError) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot read the status.</strong> {status.error.message}
      </div>
    );
  }

  const { database, runners } = status.data;
  const { migrations } = database;
  return (
    <div className={styles.grid}>
      <section aria-labelledby="database-heading" className={styles.card}>
        <h2 id="database-heading">Database</h2>
        <dl className={styles.facts}>
          <dt>Server</dt>
          <dd data-testid="database-version">{database.version}</dd>
          <dt>Mode</dt>
          <dd data-testid="database-mode">
            {database.embedded ? "Embedded (started by ganboard)" : "External (DATABASE_URL)"}
          </dd>
          <dt>URL</dt>
          <dd>
            <code data-testid="database-url">{database.url}</code>
          </dd>
          <dt>Migrations</dt>
          <dd data-testid="database-migrations">
            <span className={migrations.pending === 0 ? styles.ok : styles.warn}>
              {migrations.applied} of {migrations.total} applied
            </span>
            {migrations.pending === 0 ? " · up to date" : ` · ${migrations.pending} pending (restart ganboard up to apply)`}
            {migrations.latest ? (
              <>
                {" · latest "}
                <code>{migrations.latest}</code>
              </>
            ) : null}
          </dd>
        </dl>
      </section>

      <section aria-labelledby="runners-heading" className={styles.card}>
        <h2 id="runners-heading">Runners</h2>
        {runners.length === 0 ? (
          <p className={styles.muted} data-testid="runners-empty">
            No runners have registered yet. Runners connect to this database and appear here with their host, backend
            and device.
          </p>
        ) : (
          <table className={styles.table} aria-labelledby="runners-heading">
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">PID</th>
                <th scope="col">Backend</th>
                <th scope="col">Device</th>
                <th scope="col">Current trial</th>
                <th scope="col">Last seen</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {runners.map((runner) => (
                <tr key={runner.id}>
                  <td>{runner.hostname}</td>
                  <td>{runner.pid}</td>
                  <td>{runner.backend ?? "—"}</td>
                  <td>{runner.device ?? "—"}</td>
                  <td>{runner.currentTrialId ? <code>{runner.currentTrialId.slice(0, 8)}</code> : "idle"}</td>
                  <td>{formatTime(runner.lastSeenAt)}</td>
                  <td>
                    <span className={runner.online ? styles.ok : styles.muted}>{runner.online ? "online" : "offline"}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <p className={styles.footnote}>
        Checked {formatTime(status.data.checkedAt)} · refreshes every {REFRESH_MS / 1000} s
      </p>
    </div>
  );
}
