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
  writeMetrics,
} from "@ganboard/db";
import { ConfigError, parseTrainConfig, type BackendName } from "@ganboard/gan/config";
import { runTraining, selectBackend, STEP_METRIC_KEYS, type BackendInfo } from "@ganboard/gan";
import { BatchWriter } from "./batch-writer.ts";
import { Heartbeat, type HeartbeatMessage } from "./heartbeat.ts";
import { isTransientDatabaseError, withRetry } from "./retry.ts";

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
  /** Train only this trial (then stop): `ganboard run --local`. */
  onlyTrialId?: string;
  /** How often the runner proves it is alive (default 2 s). */
  heartbeatMs?: number;
  /** A trial whose heartbeat is older than this is requeued (default two heartbeat periods). */
  staleAfterMs?: number;
  /** A main thread blocked this long (a hung step) stops the heartbeats, so the trial moves on (default 5 min). */
  stallMs?: number;
  /** Attempts before a trial that keeps losing its runner fails (default 8). */
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
  | { type: "trial-ended"; trial: ClaimedTrial; status: "completed" | "failed" | "cancelled" | "requeued" | "lost"; error?: string; stats?: TrialStats }
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

type StopReason = "cancel" | "shutdown" | "lost";

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
  trialsRun = 0;

  constructor(private readonly opts: RunnerOptions) {
    this.sql = opts.sql;
    this.id = opts.name ?? defaultRunnerId();
    this.heartbeatMs = opts.heartbeatMs ?? 2_000;
    this.staleAfterMs = opts.staleAfterMs ?? this.heartbeatMs * 2;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.pollMs = opts.pollMs ?? 5_000;
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
        const trial = await this.retry("claiming a trial", () => claimTrial(this.sql, this.id, { onlyTrialId: this.opts.onlyTrialId }));
        if (!trial) {
          if (this.opts.once) break;
          if (!idle) this.emit({ type: "waiting" });
          idle = true;
          await this.waitForWork();
          continue;
        }
        idle = false;
        await this.runTrial(trial);
        this.trialsRun++;
        if (this.opts.onlyTrialId) break;
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
      // Idle runners wake every heartbeat period too, to requeue trials whose runner died.
      const timer = setTimeout(done, Math.min(this.pollMs, this.heartbeatMs));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private async runTrial(trial: ClaimedTrial): Promise<void> {
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
      return;
    }
    if (this.opts.backend && !config.backend) config = { ...config, backend: this.opts.backend };

    const checkpoint = trial.attempt > 1 ? await this.retry("loading the checkpoint", () => latestCheckpoint(sql, trial.id)) : null;
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

    let outcome: "completed" | "cancelled" | "requeued" | "lost" = "completed";
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
            if (typeof event.quality.swd === "number" && Number.isFinite(event.quality.swd)) progress = { ...progress, objective: event.quality.swd };
            heartbeat.progress(progress);
            const scores = Object.entries(event.quality).map(([k, v]) => `${k} ${v.toFixed(3)}`);
            if (scores.length > 0) trialLog("info", `epoch ${event.epoch}/${epochs}: ${scores.join(", ")}`);
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
            progress = { epoch: event.epoch, step: event.step, objective: event.objective ?? progress.objective };
            break;
        }
        const spent = performance.now() - handled;
        stats.recordingMs += spent;
        if (event.type === "step") {
          stats.stepRecordingMs += spent;
          stats.steps++;
        }
      }
      if (this.stop === "lost") outcome = "lost";
      else if (this.stop === "cancel") outcome = "cancelled";
      else if (this.stop === "shutdown") outcome = "requeued";
    } catch (error) {
      heartbeat.endTrial();
      const message = error instanceof Error ? error.message : String(error);
      trialLog("error", `failed: ${message}`);
      await points.flush().catch(() => {});
      await logs.flush().catch(() => {});
      await this.retry("failing the trial", () => finishTrial(sql, trial.id, this.id, { status: "failed", error: message })).catch(() => {});
      this.emit({ type: "trial-ended", trial, status: "failed", error: message });
      return;
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
      return;
    }
    await points.flush();
    if (outcome === "requeued") {
      trialLog("info", `runner ${this.id} shutting down: back in the queue at step ${progress.step}, resumable from its checkpoint`);
      await logs.flush().catch(() => {});
      await this.retry("requeueing the trial", () => releaseTrial(sql, trial.id, this.id));
    } else {
      trialLog("info", outcome === "cancelled" ? `cancelled at step ${progress.step}` : `completed (objective ${progress.objective ?? "n/a"})`);
      await logs.flush().catch(() => {});
      await this.retry("finishing the trial", () =>
        finishTrial(sql, trial.id, this.id, { status: outcome === "cancelled" ? "cancelled" : "completed", objective: progress.objective, epoch: progress.epoch, step: progress.step }),
      );
    }
    Object.assign(stats, { wallMs: performance.now() - trialStarted, points: points.written, pointWriteMs: points.writeMs });
    this.emit({ type: "trial-ended", trial, status: outcome, stats });
  }

  private totalSteps = 0;
  private heartbeat: Heartbeat | null = null;
  private currentTrialId: string | null = null;
  private stop: StopReason | null = null;

  private onHeartbeat(message: HeartbeatMessage): void {
    if (message.type === "status") {
      if (message.trialId !== this.currentTrialId) return;
      if (message.status === null) this.stop = "lost";
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
