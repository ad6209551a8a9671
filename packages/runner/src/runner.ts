/**
 * A headless runner: registers itself, claims queued trials from Postgres, trains them with the
 * engine and records everything they produce. Postgres is the only coordinator: runners on any
 * number of hosts share one database and nothing else.
 */
import os from "node:os";
import crypto from "node:crypto";
import {
  type ClaimedTrial,
  type LogLine,
  type MetricPoint,
  type Sql,
  TRIAL_QUEUE_CHANNEL,
  appendTrialLogs,
  claimTrial,
  discardMetricsAfter,
  finishTrial,
  latestCheckpoint,
  registerRunner,
  releaseTrial,
  requeueStaleTrials,
  saveCheckpoint,
  saveSample,
  setTrialBackend,
  stopRunner,
  trialLeaseSettings,
  writeMetrics,
  notifyWork,
} from "@ganboard/db";
import { ConfigError, parseTrainConfig, type BackendName } from "@ganboard/gan/config";
import { runTraining, selectBackend, STEP_METRIC_KEYS, type BackendInfo } from "@ganboard/gan";
import { BatchWriter } from "./batch-writer.ts";
import { Heartbeat, type HeartbeatMessage } from "./heartbeat.ts";
import { isTransientDatabaseError, withRetry } from "./retry.ts";
import { SweepWork } from "./sweep-work.ts";

export interface RunnerOptions {
  sql: Sql;
  /** The same database as `sql`: the heartbeat thread opens its own connection. */
  databaseUrl: string;
  /** Runner id; default `${hostname}-${pid}-${random}`. */
  name?: string;
  backend?: BackendName;
  /** Exit when the queue is empty instead of waiting for work. */
  once?: boolean;
  /** Stop after this many trials. */
  maxTrials?: number;
  /** Train only this queued trial (then stop); another runner may claim it first. */
  onlyTrialId?: string;
  /**
   * Train only the trial this creates once the runner is registered (then stop), e.g. with
   * createClaimedTrial: `ganboard run --local`, whose run no other runner may take.
   */
  createTrial?: (runnerId: string) => Promise<ClaimedTrial>;
  /** How often the runner proves it is alive (default DEFAULT_HEARTBEAT_MS, 2 s). */
  heartbeatMs?: number;
  /** A trial whose heartbeat is older than this is requeued (default 1.75 heartbeat periods). */
  staleAfterMs?: number;
  /** A main thread blocked this long (a hung step) stops the heartbeats, so the trial moves on (default 5 min). */
  stallMs?: number;
  /** Attempts before a trial that keeps losing its runner fails (default DEFAULT_MAX_ATTEMPTS, 8). */
  maxAttempts?: number;
  /** Polling fallback when no NOTIFY arrives (default 5 s). */
  pollMs?: number;
  onEvent?: (event: RunnerEvent) => void;
}

export type RunnerEvent =
  | { type: "registered"; runnerId: string; backend: BackendInfo }
  | { type: "waiting" }
  | { type: "trial-started"; trial: ClaimedTrial; resumedFromStep: number | null }
  | {
      type: "progress";
      trial: ClaimedTrial;
      epoch: number;
      epochs: number;
      step: number;
      totalSteps: number;
      imagesPerSecond: number;
      lossD: number;
      lossG: number;
    }
  | {
      type: "trial-ended";
      trial: ClaimedTrial;
      /** pruned: early-stopped by the sweep's rule; exploited: a PBT exploit replaced it with a child trial this runner continues. */
      status: "completed" | "failed" | "cancelled" | "requeued" | "lost" | "pruned" | "exploited";
      error?: string;
      stats?: TrialStats;
    }
  | { type: "log"; level: LogLine["level"]; message: string }
  | { type: "stopped"; trialsRun: number };

/** Where a trial's time went: training, versus the training loop waiting on the runner's recording. */
export interface TrialStats {
  wallMs: number;
  /** Time the training loop spent in the runner's handlers (buffering points, awaited flushes, grids, checkpoints). */
  recordingMs: number;
  /** The part of recordingMs spent per step (pushing points): the cost logging adds to every step. */
  stepRecordingMs: number;
  steps: number;
  points: number;
  /** Time the background writer spent writing points (off the training loop). */
  pointWriteMs: number;
}

type StopReason = "cancel" | "shutdown" | "lost" | "pruned" | "exploited";

export function defaultRunnerId(): string {
  return `${os.hostname()}-${process.pid}-${crypto.randomBytes(2).toString("hex")}`;
}

export class Runner {
  readonly id: string;
  private readonly sql: Sql;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly maxAttempts: number;
  private readonly pollMs: number;
  private shutdownRequested = false;
  private wake: (() => void) | null = null;
  private backend: BackendInfo | null = null;
  private readonly sweeps: SweepWork;
  trialsRun = 0;

  constructor(private readonly opts: RunnerOptions) {
    this.sql = opts.sql;
    this.id = opts.name ?? defaultRunnerId();
    // The same defaults the dashboard uses when it requeues dead runners' trials.
    const lease = trialLeaseSettings({ heartbeatMs: opts.heartbeatMs, staleAfterMs: opts.staleAfterMs, maxAttempts: opts.maxAttempts });
    this.heartbeatMs = lease.heartbeatMs;
    this.staleAfterMs = lease.staleAfterMs;
    this.maxAttempts = lease.maxAttempts;
    this.pollMs = opts.pollMs ?? 5_000;
    this.sweeps = new SweepWork(this.sql, this.id, (level, message) => this.log(level, message));
  }

  private emit(event: RunnerEvent): void {
    this.opts.onEvent?.(event);
  }

  private log(level: LogLine["level"], message: string): void {
    this.emit({ type: "log", level, message });
  }

  private retry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, {
      onRetry: (error, attempt, delay) =>
        this.log("warn", `database unavailable while ${what} (${(error as Error).message}); retry ${attempt} in ${delay} ms`),
    });
  }

  /** Finish the current step, checkpoint, put the trial back in the queue and stop. */
  requestShutdown(): void {
    this.shutdownRequested = true;
    this.wake?.();
  }

  async run(): Promise<void> {
    this.backend = await selectBackend(this.opts.backend);
    await this.retry("registering", () =>
      registerRunner(this.sql, { id: this.id, hostname: os.hostname(), pid: process.pid, backend: this.backend!.name, device: this.backend!.device }),
    );
    this.emit({ type: "registered", runnerId: this.id, backend: this.backend });
    this.heartbeat = new Heartbeat({ url: this.opts.databaseUrl, runnerId: this.id, intervalMs: this.heartbeatMs, stallMs: this.opts.stallMs ?? 300_000 });
    this.heartbeat.onMessage((message) => this.onHeartbeat(message));
    await this.heartbeat.ready;
    const listener = await this.sql
      .listen(TRIAL_QUEUE_CHANNEL, () => this.wake?.())
      .catch((error: Error) => {
        this.log("warn", `LISTEN failed (${error.message}); polling every ${this.pollMs} ms instead`);
        return null;
      });
    let idle = false;
    try {
      while (!this.shutdownRequested && (this.opts.maxTrials === undefined || this.trialsRun < this.opts.maxTrials)) {
        await this.retry("requeueing stale trials", () =>
          requeueStaleTrials(this.sql, { graceSeconds: this.staleAfterMs / 1000, maxAttempts: this.maxAttempts }),
        );
        const single = Boolean(this.opts.onlyTrialId || this.opts.createTrial);
        // Queued trials (ad-hoc runs, requeued ones) first, then claim-and-suggest from running sweeps.
        // An own trial is born claimed; not retried, since a lost reply must not create a second one.
        let trial = this.opts.createTrial
          ? await this.opts.createTrial(this.id)
          : await this.retry("claiming a trial", () => claimTrial(this.sql, this.id, { onlyTrialId: this.opts.onlyTrialId }));
        let sweepsActive = false;
        if (!trial && !single) ({ trial, sweepsActive } = await this.retry("claiming a sweep trial", () => this.sweeps.claimNext()));
        if (!trial) {
          // --once: leave when nothing is queued and no sweep can hand out more.
          if (this.opts.once && !sweepsActive) break;
          if (!idle) this.emit({ type: "waiting" });
          idle = true;
          await this.waitForWork();
          continue;
        }
        idle = false;
        // A PBT exploit hands back the child trial, which continues here from the copied checkpoint.
        for (let next: ClaimedTrial | null = trial; next; ) next = await this.runTrial(next);
        this.trialsRun++;
        if (single) break;
      }
    } finally {
      await this.heartbeat?.stop();
      await listener?.unlisten().catch(() => {});
      await this.retry("marking the runner offline", () => stopRunner(this.sql, this.id)).catch(() => {});
      this.emit({ type: "stopped", trialsRun: this.trialsRun });
    }
  }

  /** Sleeps until a NOTIFY says work arrived, the poll interval passes, or shutdown is requested. */
  private waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      // Idle runners also wake every quarter heartbeat period to requeue trials whose runner died: with
      // the grace of 1.75 periods, a dead runner's trial is back in the queue within two periods.
      const timer = setTimeout(done, Math.min(this.pollMs, this.heartbeatMs / 4));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Trains one trial; returns the child trial to continue with after a PBT exploit, else null. */
  private async runTrial(trial: ClaimedTrial): Promise<ClaimedTrial | null> {
    const next = await this.trainTrial(trial);
    if (trial.sweepId && !next) {
      // A parallelism slot opened: wake idle runners; the sweep may be finished now.
      await this.retry("settling the sweep", async () => {
        await notifyWork(this.sql, `trial-ended:${trial.id}`);
        await this.sweeps.settle(trial.sweepId!);
      });
    }
    return next;
  }

  private async trainTrial(trial: ClaimedTrial): Promise<ClaimedTrial | null> {
    const sql = this.sql;
    const logs = new BatchWriter<LogLine>((lines) => this.retry("writing logs", () => appendTrialLogs(sql, trial.id, lines)), { intervalMs: 2_000 });
    const trialLog = (level: LogLine["level"], message: string) => {
      logs.push({ ts: new Date(), level, message });
      this.log(level, `trial #${trial.number}: ${message}`);
    };

    let config;
    try {
      config = parseTrainConfig(trial.config, `trial #${trial.number}`);
    } catch (error) {
      const message = error instanceof ConfigError ? error.message : `Invalid config: ${(error as Error).message}`;
      trialLog("error", message);
      await logs.flush().catch(() => {});
      await this.retry("failing the trial", () => finishTrial(sql, trial.id, this.id, { status: "failed", error: message }));
      this.emit({ type: "trial-ended", trial, status: "failed", error: message });
      return null;
    }
    if (this.opts.backend && !config.backend) config = { ...config, backend: this.opts.backend };

    // Sweep trials report the sweep's metric (its latest value is the trial's objective) and, with
    // early stopping or PBT, ask the sweep after every epoch whether to go on.
    let sweep = trial.sweepId ? await this.retry("loading the sweep spec", () => this.sweeps.spec(trial.sweepId!)) : null;
    if (sweep instanceof Error) {
      trialLog("warn", `${sweep.message}; training without pruning or PBT`);
      sweep = null;
    }
    if (sweep) trialLog("info", `${sweep.method} sweep "${sweep.name}": ${this.sweeps.describeParams(sweep, trial.config)}`);
    const metricKey = sweep?.metric.name ?? "swd";
    const decides = sweep !== null && this.sweeps.decidesPerEpoch(sweep);
    let child: ClaimedTrial | null = null;

    // A PBT child's first attempt starts from the checkpoint its exploit copied from the parent.
    const checkpoint = trial.attempt > 1 || trial.sweepId ? await this.retry("loading the checkpoint", () => latestCheckpoint(sql, trial.id)) : null;
    // Steps after the checkpoint will be logged again by this attempt: drop the old ones first.
    if (trial.attempt > 1) await this.retry("discarding steps after the checkpoint", () => discardMetricsAfter(sql, trial.id, checkpoint?.step ?? 0));
    this.emit({ type: "trial-started", trial, resumedFromStep: checkpoint?.step ?? null });
    trialLog(
      "info",
      checkpoint
        ? `attempt ${trial.attempt} on ${this.id}: resuming from the checkpoint at epoch ${checkpoint.epoch}, step ${checkpoint.step}`
        : `attempt ${trial.attempt} on ${this.id}: starting`,
    );

    const points = new BatchWriter<MetricPoint>(
      async (batch) => {
        await this.retry("writing metrics", () => writeMetrics(sql, trial.id, batch));
      },
      { maxItems: 5_000, intervalMs: 1_000 },
    );

    this.stop = null;
    this.currentTrialId = trial.id;
    let progress = { epoch: checkpoint?.epoch ?? 0, step: checkpoint?.step ?? 0, objective: null as number | null };
    const heartbeat = this.heartbeat!;
    heartbeat.beginTrial(trial.id, progress);

    let outcome: "completed" | "cancelled" | "requeued" | "lost" | "pruned" | "exploited" = "completed";
    const trialStarted = performance.now();
    const stats: TrialStats = { wallMs: 0, recordingMs: 0, stepRecordingMs: 0, steps: 0, points: 0, pointWriteMs: 0 };
    let epochs = config.epochs;
    try {
      const events = runTraining(config, {
        resumeFrom: checkpoint?.data,
        stopRequested: () => {
          if (this.shutdownRequested) this.stop ??= "shutdown";
          return this.stop === "cancel" || this.stop === "shutdown" ? "checkpoint" : false;
        },
        onLog: (level, message) => trialLog(level, message),
      });
      for await (const event of events) {
        if (this.stop === "lost") break;
        const handled = performance.now();
        switch (event.type) {
          case "started":
            epochs = config.epochs;
            await this.retry("recording the backend", () => setTrialBackend(sql, trial.id, this.id, event.backend.name, event.backend.device));
            trialLog("info", `training on ${event.backend.name} (${event.backend.device}); data: ${event.dataset.source}, ${event.dataset.count} images`);
            this.totalSteps = event.totalSteps;
            break;
          case "step": {
            const wallTime = new Date(event.wallTime * 1000);
            for (const key of STEP_METRIC_KEYS) points.push({ key, step: event.step, epoch: event.epoch, value: event.metrics[key], wallTime });
            progress = { ...progress, epoch: event.epoch, step: event.step };
            heartbeat.progress(progress);
            this.emit({
              type: "progress",
              trial,
              epoch: event.epoch,
              epochs,
              step: event.step,
              totalSteps: this.totalSteps,
              imagesPerSecond: event.imagesPerSecond,
              lossD: event.metrics.loss_d,
              lossG: event.metrics.loss_g,
            });
            break;
          }
          case "epoch": {
            const wallTime = new Date();
            for (const [key, value] of Object.entries(event.quality)) points.push({ key, step: event.step, epoch: event.epoch, value, wallTime });
            const size = pngSize(event.gridPng);
            await this.retry("saving the sample grid", () => saveSample(sql, trial.id, { epoch: event.epoch, step: event.step, png: event.gridPng, ...size }));
            const value = event.quality[metricKey];
            if (typeof value === "number" && Number.isFinite(value)) progress = { ...progress, objective: value };
            heartbeat.progress(progress);
            const scores = Object.entries(event.quality).map(([k, v]) => `${k} ${v.toFixed(3)}`);
            if (scores.length > 0) trialLog("info", `epoch ${event.epoch}/${epochs}: ${scores.join(", ")}`);
            if (decides && typeof value === "number") {
              // The sweep judges the stored history: this report must be in it.
              await points.flush();
              const verdict = await this.retry("asking the sweep after the epoch", () => this.sweeps.afterEpoch(trial, sweep!, { epoch: event.epoch, step: event.step, value }, config.epochs));
              if (verdict.action === "prune") {
                this.stop ??= "pruned";
                trialLog("info", `pruned after epoch ${event.epoch}: ${verdict.reason}`);
              } else if (verdict.action === "exploit") {
                this.stop = "exploited";
                child = verdict.child;
                trialLog("info", `PBT exploit after epoch ${event.epoch}: ${verdict.reason}; continues as trial #${child.number} from trial ${verdict.parentTrialId}'s checkpoint at epoch ${verdict.checkpointEpoch}`);
              }
            }
            break;
          }
          case "checkpoint":
            // Points up to the checkpoint must be stored before it: a resume starts after it.
            await points.flush();
            await this.retry("saving a checkpoint", () => saveCheckpoint(sql, trial.id, { epoch: event.epoch, step: event.step, data: event.data, reason: event.reason }));
            if (event.reason === "stop" && event.gridPng && this.stop === "cancel") {
              // A cancelled run keeps a grid of where it got to, even mid-epoch.
              const png = event.gridPng;
              await this.retry("saving the final grid", () => saveSample(sql, trial.id, { epoch: event.epoch, step: event.step, png, ...pngSize(png) }));
            }
            break;
          case "finished":
            progress = { epoch: event.epoch, step: event.step, objective: metricKey === "swd" ? (event.objective ?? progress.objective) : progress.objective };
            break;
        }
        const spent = performance.now() - handled;
        stats.recordingMs += spent;
        if (event.type === "step") {
          stats.stepRecordingMs += spent;
          stats.steps++;
        }
        if (this.stop === "pruned" || this.stop === "exploited") break;
      }
      // Set by the heartbeat thread's messages as well: read it as the wide type.
      const stop = this.stop as StopReason | null;
      if (stop === "lost") outcome = "lost";
      else if (stop === "pruned") outcome = "pruned";
      else if (stop === "exploited") outcome = "exploited";
      else if (stop === "cancel") outcome = "cancelled";
      else if (stop === "shutdown") outcome = "requeued";
    } catch (error) {
      heartbeat.endTrial();
      const message = error instanceof Error ? error.message : String(error);
      trialLog("error", `failed: ${message}`);
      await points.flush().catch(() => {});
      await logs.flush().catch(() => {});
      await this.retry("failing the trial", () => finishTrial(sql, trial.id, this.id, { status: "failed", error: message })).catch(() => {});
      this.emit({ type: "trial-ended", trial, status: "failed", error: message });
      return null;
    } finally {
      heartbeat.endTrial();
      this.currentTrialId = null;
    }

    if (outcome === "lost") {
      // Another runner requeued the trial after our heartbeats went missing; it owns the data now.
      points.discard();
      logs.discard();
      this.log("warn", `trial #${trial.number}: lost the trial to another runner (heartbeats missed); stopping it here`);
      this.emit({ type: "trial-ended", trial, status: "lost" });
      return null;
    }
    await points.flush();
    if (outcome === "exploited") {
      // The exploit already ended this trial (pruned) and created the child in the same transaction.
      await logs.flush().catch(() => {});
    } else if (outcome === "requeued") {
      trialLog("info", `runner ${this.id} shutting down: back in the queue at step ${progress.step}, resumable from its checkpoint`);
      await logs.flush().catch(() => {});
      await this.retry("requeueing the trial", () => releaseTrial(sql, trial.id, this.id));
    } else {
      if (outcome !== "pruned") trialLog("info", outcome === "cancelled" ? `cancelled at step ${progress.step}` : `completed (objective ${progress.objective ?? "n/a"})`);
      await logs.flush().catch(() => {});
      await this.retry("finishing the trial", () =>
        finishTrial(sql, trial.id, this.id, { status: outcome, objective: progress.objective, epoch: progress.epoch, step: progress.step }),
      );
    }
    Object.assign(stats, { wallMs: performance.now() - trialStarted, points: points.written, pointWriteMs: points.writeMs });
    this.emit({ type: "trial-ended", trial, status: outcome, stats });
    return child;
  }

  private totalSteps = 0;
  private heartbeat: Heartbeat | null = null;
  private currentTrialId: string | null = null;
  private stop: StopReason | null = null;

  private onHeartbeat(message: HeartbeatMessage): void {
    if (message.type === "status") {
      if (message.trialId !== this.currentTrialId) return;
      // After an exploit the old trial is no longer ours by design (it ended pruned): not "lost".
      if (message.status === null && this.stop !== "exploited") this.stop = "lost";
      else if (message.status === "cancelling") this.stop ??= "cancel";
    } else if (message.type === "error") {
      if (!isTransientDatabaseError(message)) this.log("warn", `heartbeat failed: ${message.message}`);
    } else {
      this.log("error", "the training thread has not responded for a long time; heartbeats stopped so another runner can take the trial");
    }
  }
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
