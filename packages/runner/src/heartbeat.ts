import { Worker } from "node:worker_threads";
import type { TrialStatus } from "@ganboard/db";

/** Float64 slots shared with the heartbeat thread. */
export const SLOT = { mainTick: 0, trialIndex: 1, epoch: 2, step: 3, objective: 4 } as const;

export interface HeartbeatWorkerData {
  url: string;
  runnerId: string;
  intervalMs: number;
  /** Beats stop when the main thread has not ticked for this long (a hung runner loses its trial). */
  stallMs: number;
  shared: SharedArrayBuffer;
  trialIds: Record<number, string>;
}

export type HeartbeatMessage =
  | { type: "status"; trialId: string; status: TrialStatus | null }
  | { type: "error"; message: string; code?: string }
  | { type: "stalled" }
  | { type: "ready" };

/**
 * Heartbeats for the runner and its current trial, sent from a worker thread so that long
 * synchronous training steps cannot delay them.
 */
export class Heartbeat {
  private readonly worker: Worker;
  private readonly shared = new SharedArrayBuffer(8 * 5);
  private readonly slots = new Float64Array(this.shared);
  private readonly ticker: NodeJS.Timeout;
  private trialIndex = 0;
  private listener: ((message: HeartbeatMessage) => void) | null = null;
  /** Resolves once the thread beats: claim no trial before then, or its first beats come late. */
  readonly ready: Promise<void>;

  constructor(opts: { url: string; runnerId: string; intervalMs: number; stallMs: number }) {
    this.slots[SLOT.mainTick] = Date.now();
    this.slots[SLOT.objective] = NaN;
    const workerData: HeartbeatWorkerData = { ...opts, shared: this.shared, trialIds: {} };
    this.worker = new Worker(new URL("./heartbeat-thread.mjs", import.meta.url), { workerData });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.on("message", (message: HeartbeatMessage) => (message.type === "ready" ? resolve() : this.listener?.(message)));
    });
    this.worker.on("error", (error) => this.listener?.({ type: "error", message: `heartbeat thread: ${error.message}` }));
    // Unref'd only once it is up: while the thread boots, the runner may have no other handle (its idle
    // database sockets closed by a restarting server), and Node would end the process mid-await (exit 13).
    void this.ready.then(
      () => this.worker.unref(),
      () => {},
    );
    this.ticker = setInterval(() => (this.slots[SLOT.mainTick] = Date.now()), Math.min(1_000, opts.intervalMs));
    this.ticker.unref();
  }

  onMessage(listener: (message: HeartbeatMessage) => void): void {
    this.listener = listener;
  }

  /** Starts beating for a trial (its progress comes from `progress`). */
  beginTrial(trialId: string, progress: { epoch: number; step: number; objective: number | null }): void {
    this.trialIndex++;
    this.worker.postMessage({ type: "trial", index: this.trialIndex, trialId });
    this.progress(progress);
    this.slots[SLOT.trialIndex] = this.trialIndex;
  }

  progress(p: { epoch: number; step: number; objective: number | null }): void {
    this.slots[SLOT.mainTick] = Date.now();
    this.slots[SLOT.epoch] = p.epoch;
    this.slots[SLOT.step] = p.step;
    this.slots[SLOT.objective] = p.objective ?? NaN;
  }

  endTrial(): void {
    this.slots[SLOT.trialIndex] = 0;
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.worker.postMessage({ type: "stop" });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 3_000);
      this.worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
