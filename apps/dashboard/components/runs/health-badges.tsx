import styles from "./runs.module.css";

export interface HealthBadge {
  id: string;
  label: string;
  state: "ok" | "warn" | "bad" | "unknown";
  explanation: string;
}

const STATE_TEXT = { ok: "OK", warn: "Watch", bad: "Problem", unknown: "Not enough data" } as const;

export function HealthBadges({ badges }: { badges: readonly HealthBadge[] }) {
  return (
    <ul className={styles.health} aria-label="GAN health">
      {badges.map((b) => (
        <li key={b.id} className={`${styles.badge} ${styles[`health_${b.state}`]}`} data-testid={`health-${b.id}`} data-state={b.state}>
          <strong>{b.label}</strong> <span className={styles.badgeState}>{STATE_TEXT[b.state]}</span>
          <span className={styles.badgeText}>{b.explanation}</span>
        </li>
      ))}
    </ul>
  );
}

const STATUS_CLASS: Record<string, string> = {
  queued: "status_queued",
  running: "status_running",
  cancelling: "status_running",
  completed: "status_ok",
  failed: "status_bad",
  cancelled: "status_muted",
  pruned: "status_muted",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`${styles.status} ${styles[STATUS_CLASS[status] ?? "status_muted"]}`} data-testid="run-status">
      {status}
    </span>
  );
}
