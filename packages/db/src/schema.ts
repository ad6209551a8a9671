/**
 * ganboard's Postgres schema — the one source of truth for every table.
 *
 * Reading these tables from outside the dashboard (psql, notebooks, Grafana, scripts):
 * - Get a connection URL with `npx ganboard db url` (embedded default) or use your DATABASE_URL.
 * - `sweeps` holds one row per hyperparameter sweep; `spec` is the validated sweep spec (JSON).
 * - `trials` holds one row per training run. Ad-hoc runs have `sweep_id IS NULL`. `config` is the
 *   fully resolved training config (JSON). `objective` is the sweep metric's latest value.
 *   `parent_trial_id` + `exploit_epoch` record PBT lineage (this trial cloned the parent's checkpoint
 *   at that epoch).
 * - `metrics` is a long table: one row per (trial_id, key, step). Per-step losses use keys such as
 *   `loss_d`, `loss_g`, `d_real`, `d_fake`; per-epoch quality metrics (e.g. `swd`) are logged at the
 *   last step of their epoch. Re-logging a step overwrites it (primary key), so a series never has
 *   duplicates. Example: `SELECT step, value FROM metrics WHERE trial_id = $1 AND key = 'loss_g' ORDER BY step`.
 * - `samples` holds the fixed-noise sample grid of each epoch as PNG bytes: `SELECT png FROM samples
 *   WHERE trial_id = $1 AND epoch = $2`.
 * - `checkpoints` holds opaque engine checkpoint bytes; the newest few per trial are kept.
 * - `runners` lists runner processes; a runner is offline when `stopped_at` is set or `last_seen_at`
 *   is older than a few heartbeats.
 * - `trial_logs` holds a trial's log lines in insertion order (`id`).
 * All timestamps are `timestamptz`. Deleting a sweep deletes its trials; deleting a trial deletes
 * its metrics, samples, checkpoints and logs. Never write to these tables from outside ganboard while
 * runners are active; reading is always safe.
 *
 * Changing this file: run `npm run db:generate` to write a new migration into drizzle/ and commit it.
 */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Binary column mapped to Node's Buffer (a Uint8Array) by postgres.js. */
export const bytea = customType<{ data: Uint8Array; driverData: Buffer }>({
  dataType() {
    return "bytea";
  },
  toDriver(value: Uint8Array): Buffer {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
  fromDriver(value: Buffer): Uint8Array {
    return value;
  },
});

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const SWEEP_STATUSES = ["running", "finished", "stopped"] as const;
export type SweepStatus = (typeof SWEEP_STATUSES)[number];
export const sweepStatus = pgEnum("sweep_status", SWEEP_STATUSES);

export const SWEEP_METHODS = ["grid", "random", "tpe", "pbt"] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];
export const sweepMethod = pgEnum("sweep_method", SWEEP_METHODS);

export const TRIAL_STATUSES = ["queued", "running", "cancelling", "completed", "failed", "cancelled", "pruned"] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];
export const trialStatus = pgEnum("trial_status", TRIAL_STATUSES);
/** Statuses a trial never leaves. */
export const FINAL_TRIAL_STATUSES = ["completed", "failed", "cancelled", "pruned"] as const satisfies readonly TrialStatus[];

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const logLevel = pgEnum("log_level", LOG_LEVELS);

export const sweeps = pgTable("sweeps", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  /** The validated sweep spec (packages/sweeps' schema). */
  spec: jsonb("spec").notNull(),
  method: sweepMethod("method").notNull(),
  status: sweepStatus("status").notNull().default("running"),
  /** Strategy state that is not derivable from trials (e.g. PBT generation, grid cursor); owned by packages/sweeps. */
  sweepState: jsonb("sweep_state").notNull().default(sql`'{}'::jsonb`),
  createdAt: createdAt(),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
});

export const runners = pgTable("runners", {
  /** Chosen by the runner, e.g. `${hostname}-${pid}-${random}`. */
  id: text("id").primaryKey(),
  hostname: text("hostname").notNull(),
  pid: integer("pid").notNull(),
  backend: text("backend"),
  device: text("device"),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
  /** Set when the runner shuts down cleanly; a crashed runner is recognised by a stale last_seen_at. */
  stoppedAt: timestamp("stopped_at", { withTimezone: true }),
  currentTrialId: uuid("current_trial_id").references((): AnyPgColumn => trials.id, { onDelete: "set null" }),
});

export const trials = pgTable(
  "trials",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** NULL for an ad-hoc run. */
    sweepId: uuid("sweep_id").references(() => sweeps.id, { onDelete: "cascade" }),
    /** 1-based number within its sweep (ad-hoc runs are numbered among ad-hoc runs). */
    number: integer("number").notNull(),
    /** Resolved hyperparameters: a full training config. */
    config: jsonb("config").notNull(),
    status: trialStatus("status").notNull().default("queued"),
    runnerId: text("runner_id").references(() => runners.id, { onDelete: "set null" }),
    /** Number of times a runner has claimed this trial (0 = never started). */
    attempt: integer("attempt").notNull().default(0),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    error: text("error"),
    backend: text("backend"),
    device: text("device"),
    epoch: integer("epoch").notNull().default(0),
    step: integer("step").notNull().default(0),
    objective: doublePrecision("objective"),
    /** PBT lineage: the trial whose checkpoint this one was cloned from. */
    parentTrialId: uuid("parent_trial_id").references((): AnyPgColumn => trials.id, { onDelete: "set null" }),
    /** PBT: epoch of the parent's checkpoint at which this trial was cloned. */
    exploitEpoch: integer("exploit_epoch"),
    createdAt: createdAt(),
  },
  (t) => [
    // Claiming: SELECT … WHERE status = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED.
    index("trials_queued_idx").on(t.createdAt, t.id).where(sql`${t.status} = 'queued'`),
    // Requeueing dead runners' trials: status IN ('running','cancelling') AND heartbeat_at < now() - grace.
    index("trials_heartbeat_idx").on(t.heartbeatAt).where(sql`${t.status} in ('running', 'cancelling')`),
    // Trials of a sweep, in order; also makes numbers unique within a sweep.
    uniqueIndex("trials_sweep_number_idx").on(t.sweepId, t.number),
    index("trials_parent_idx").on(t.parentTrialId),
    index("trials_runner_idx").on(t.runnerId),
    check("trials_attempt_nonnegative", sql`${t.attempt} >= 0`),
  ],
);

export const metrics = pgTable(
  "metrics",
  {
    trialId: uuid("trial_id")
      .notNull()
      .references(() => trials.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    step: integer("step").notNull(),
    epoch: integer("epoch").notNull(),
    value: doublePrecision("value").notNull(),
    wallTime: timestamp("wall_time", { withTimezone: true }).notNull().defaultNow(),
  },
  // The primary key also serves "a trial's series by key, ordered by step".
  (t) => [primaryKey({ name: "metrics_pkey", columns: [t.trialId, t.key, t.step] })],
);

export const samples = pgTable(
  "samples",
  {
    trialId: uuid("trial_id")
      .notNull()
      .references(() => trials.id, { onDelete: "cascade" }),
    epoch: integer("epoch").notNull(),
    step: integer("step").notNull(),
    png: bytea("png").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    createdAt: createdAt(),
  },
  // Unique (trial_id, epoch): one grid per epoch, re-written on resume.
  (t) => [primaryKey({ name: "samples_pkey", columns: [t.trialId, t.epoch] })],
);

export const checkpoints = pgTable(
  "checkpoints",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    trialId: uuid("trial_id")
      .notNull()
      .references(() => trials.id, { onDelete: "cascade" }),
    epoch: integer("epoch").notNull(),
    step: integer("step").notNull(),
    data: bytea("data").notNull(),
    /** Why it was written: periodic | stop | final | exploit (free text for forward compatibility). */
    reason: text("reason"),
    createdAt: createdAt(),
  },
  // Newest checkpoint of a trial: ORDER BY step DESC, created_at DESC LIMIT 1.
  (t) => [index("checkpoints_trial_step_idx").on(t.trialId, t.step, t.createdAt)],
);

export const trialLogs = pgTable(
  "trial_logs",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    trialId: uuid("trial_id")
      .notNull()
      .references(() => trials.id, { onDelete: "cascade" }),
    ts: timestamp("ts", { withTimezone: true }).notNull().defaultNow(),
    level: logLevel("level").notNull().default("info"),
    message: text("message").notNull(),
  },
  (t) => [index("trial_logs_trial_idx").on(t.trialId, t.id)],
);

export type Sweep = typeof sweeps.$inferSelect;
export type NewSweep = typeof sweeps.$inferInsert;
export type Trial = typeof trials.$inferSelect;
export type NewTrial = typeof trials.$inferInsert;
export type Metric = typeof metrics.$inferSelect;
export type NewMetric = typeof metrics.$inferInsert;
export type Sample = typeof samples.$inferSelect;
export type NewSample = typeof samples.$inferInsert;
export type Checkpoint = typeof checkpoints.$inferSelect;
export type NewCheckpoint = typeof checkpoints.$inferInsert;
export type Runner = typeof runners.$inferSelect;
export type NewRunner = typeof runners.$inferInsert;
export type TrialLog = typeof trialLogs.$inferSelect;
export type NewTrialLog = typeof trialLogs.$inferInsert;
