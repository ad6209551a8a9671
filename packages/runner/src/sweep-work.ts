/**
 * Sweeps without a controller (Optuna's model): whichever runner asks for work takes the sweep's
 * advisory lock, loads the sweep's whole history from Postgres, asks @ganboard/sweeps for the next
 * trial and inserts it already claimed, all in one transaction. Pruning and PBT decisions are taken
 * the same way after each epoch report. The decisions are pure (packages/sweeps); the SQL lives in
 * packages/db; this file only maps rows to records and back.
 */
import {
  type ClaimedTrial,
  type Sql,
  type SweepHistoryTrial,
  type SweepTx,
  activeSweeps,
  exploitIntoChild,
  finishSweepIfIdle,
  insertClaimedTrial,
  exploitCheckpointRef,
  readSweepStatus,
  sweepHistory,
  sweepSpecOf,
  withSweepLock,
} from "@ganboard/db";
import {
  type Scalar,
  type SweepSpec,
  type TrialRecord,
  type TrialState,
  gridPoint,
  pbtDecision,
  pbtSettings,
  resolveTrialConfig,
  safeParseSweepSpec,
  searchedParameterNames,
  shouldPrune,
  suggestNext,
  trialBudget,
  formatIssue,
} from "@ganboard/sweeps";
import { isTransientDatabaseError as isConnectionError } from "./retry.ts";

/** What to do with a sweep trial after an epoch's report. */
export type EpochVerdict =
  | { action: "continue" }
  | { action: "prune"; reason: string }
  /** PBT: this trial already ended `pruned`; continue training as `child` from the parent's checkpoint. */
  | { action: "exploit"; child: ClaimedTrial; parentTrialId: string; checkpointEpoch: number; reason: string };

export interface ClaimResult {
  trial: ClaimedTrial | null;
  /** True while some sweep may still hand out trials later (running sweeps exist). */
  sweepsActive: boolean;
}

const DB_STATE: Record<SweepHistoryTrial["status"], TrialState> = {
  // A queued sweep trial was requeued after its runner died: it still holds a parallelism slot.
  queued: "running",
  running: "running",
  cancelling: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  pruned: "pruned",
};

export class SweepWork {
  private readonly specs = new Map<string, SweepSpec | Error>();
  /** Grid sweeps: "params key" → grid indices with those params (usually one), per sweep. */
  private readonly gridKeys = new Map<string, Map<string, number[]>>();

  constructor(
    private readonly sql: Sql,
    private readonly runnerId: string,
    private readonly log: (level: "info" | "warn", message: string) => void = () => {},
  ) {}

  /** The sweep's validated spec (cached: a spec never changes), or an Error saying why it is unusable. */
  async spec(sweepId: string, raw?: unknown): Promise<SweepSpec | Error> {
    let spec = this.specs.get(sweepId);
    if (spec) return spec;
    const stored = raw ?? (await sweepSpecOf(this.sql, sweepId));
    const parsed = safeParseSweepSpec(stored);
    spec = parsed.success ? parsed.spec : new Error(`sweep ${sweepId} has an invalid spec: ${parsed.issues.map(formatIssue).join("; ")}`);
    this.specs.set(sweepId, spec);
    return spec;
  }

  /**
   * Claim-and-suggest over the running sweeps, oldest first: the first that has a trial to hand out
   * inserts it claimed by this runner. A sweep that is done and idle is marked finished on the way.
   */
  async claimNext(): Promise<ClaimResult> {
    const sweeps = await activeSweeps(this.sql);
    let sweepsActive = false;
    for (const s of sweeps) {
      const spec = await this.spec(s.id, s.spec);
      if (spec instanceof Error) {
        this.log("warn", spec.message);
        continue;
      }
      let outcome: { trial: ClaimedTrial | null; active: boolean };
      try {
        outcome = await this.claimFrom(s.id, spec);
      } catch (error) {
        // One broken sweep (say, a combination the engine rejects) must not stop the runner serving others.
        if (isConnectionError(error)) throw error;
        this.log("warn", `sweep ${s.id}: could not suggest a trial: ${(error as Error).message}`);
        continue;
      }
      sweepsActive ||= outcome.active;
      if (outcome.trial) return { trial: outcome.trial, sweepsActive: true };
    }
    return { trial: null, sweepsActive };
  }

  private claimFrom(sweepId: string, spec: SweepSpec): Promise<{ trial: ClaimedTrial | null; active: boolean }> {
    return withSweepLock(this.sql, sweepId, async (tx) => {
      if ((await readSweepStatus(tx, sweepId)) !== "running") return { trial: null, active: false };
      const rows = await sweepHistory(tx, sweepId, spec.metric.name, { lastReportOnly: true });
      const next = suggestNext(spec, this.records(sweepId, spec, rows));
      if (next.status === "trial") {
        const trial = await insertClaimedTrial(tx, { sweepId, number: next.trialNumber + 1, config: next.config, runnerId: this.runnerId });
        return { trial, active: true };
      }
      if (next.status === "done") return { trial: null, active: !(await finishSweepIfIdle(tx, sweepId)) };
      return { trial: null, active: true };
    });
  }

  /** After a sweep trial ended: marks the sweep finished if it has nothing more to hand out and nothing runs. */
  async settle(sweepId: string): Promise<boolean> {
    const spec = await this.spec(sweepId);
    if (spec instanceof Error) return false;
    return withSweepLock(this.sql, sweepId, async (tx) => {
      if ((await readSweepStatus(tx, sweepId)) !== "running") return false;
      const next = suggestNext(spec, this.records(sweepId, spec, await sweepHistory(tx, sweepId, spec.metric.name, { lastReportOnly: true })));
      return next.status === "done" ? finishSweepIfIdle(tx, sweepId) : false;
    });
  }

  /** "lr_g=0.0002, loss=hinge": the searched parameters of a trial's config, for its log. */
  describeParams(spec: SweepSpec, config: unknown): string {
    const c = (config ?? {}) as Record<string, unknown>;
    return searchedParameterNames(spec).map((n) => `${n}=${typeof c[n] === "number" ? Number((c[n] as number).toPrecision(4)) : String(c[n])}`).join(", ");
  }

  /** Whether a trial of this sweep needs a decision after each epoch (pruning or PBT). */
  decidesPerEpoch(spec: SweepSpec): boolean {
    return spec.early_terminate !== undefined || spec.method === "pbt";
  }

  /**
   * After `trial` reported `epoch` (its report already written): early stopping, then PBT. Runs under
   * the sweep lock on the history as stored, so concurrent reports are judged one after another.
   */
  async afterEpoch(trial: ClaimedTrial, spec: SweepSpec, report: { epoch: number; step: number; value: number }, lastEpoch: number): Promise<EpochVerdict> {
    const { epoch } = report;
    const sweepId = trial.sweepId!;
    return withSweepLock(this.sql, sweepId, async (tx) => {
      const rows = await sweepHistory(tx, sweepId, spec.metric.name);
      const records = this.records(sweepId, spec, rows);
      const self = records.find((r) => r.id === trial.id);
      if (!self) return { action: "continue" };
      if (spec.early_terminate) {
        const decision = shouldPrune(spec, self, records);
        if (decision.prune) return { action: "prune", reason: decision.reason };
      }
      if (spec.method === "pbt" && epoch < lastEpoch && epoch % pbtSettings(spec).interval === 0) return this.exploit(tx, trial, spec, records, rows, report);
      return { action: "continue" };
    });
  }

  private async exploit(
    tx: SweepTx,
    trial: ClaimedTrial,
    spec: SweepSpec,
    records: TrialRecord[],
    rows: SweepHistoryTrial[],
    report: { epoch: number; step: number; value: number },
  ): Promise<EpochVerdict> {
    const { epoch } = report;
    const sweepId = trial.sweepId!;
    // A stopped sweep starts nothing new, children included: members keep training in place.
    if ((await readSweepStatus(tx, sweepId)) === "stopped") return { action: "continue" };
    // Live members: running or completed (an exploiter ends pruned and its child takes its slot).
    const decision = pbtDecision(spec, records.filter((r) => r.state === "running" || r.state === "completed"), trial.id, epoch);
    if (!decision.exploit) return { action: "continue" };
    const parentId = decision.exploit.parentTrialId;
    const ckpt = await exploitCheckpointRef(tx, parentId, epoch);
    const childConfig = resolveTrialConfig(spec, decision.exploit.newParams);
    if (!ckpt || ckpt.epoch >= childConfig.epochs) {
      this.log("info", `trial #${trial.number}: PBT would copy trial ${parentId}, but it has ${ckpt ? `only its final checkpoint (epoch ${ckpt.epoch})` : "no checkpoint yet"}; continuing in place`);
      return { action: "continue" };
    }
    const childNumber = Math.max(0, ...rows.map((r) => r.number)) + 1;
    const child = await exploitIntoChild(tx, {
      sweepId,
      trialId: trial.id,
      runnerId: this.runnerId,
      progress: { epoch, step: report.step, objective: Number.isFinite(report.value) ? report.value : null },
      checkpointId: ckpt.id,
      exploitEpoch: ckpt.epoch,
      childNumber,
      childConfig,
    });
    if (!child) return { action: "continue" };
    return { action: "exploit", child, parentTrialId: parentId, checkpointEpoch: ckpt.epoch, reason: decision.reason };
  }

  /** Rows → the records packages/sweeps decides on (numbers 0-based there, 1-based in the table). */
  records(sweepId: string, spec: SweepSpec, rows: readonly SweepHistoryTrial[]): TrialRecord[] {
    const names = searchedParameterNames(spec);
    const grid = spec.method === "grid" ? this.gridIndexOf(sweepId, spec, names) : null;
    return rows.map((row) => {
      const config = (row.config ?? {}) as Record<string, unknown>;
      const params: Record<string, Scalar> = {};
      for (const name of names) if (name in config) params[name] = config[name] as Scalar;
      const last = row.reports.length > 0 ? row.reports[row.reports.length - 1].value : null;
      const state = DB_STATE[row.status];
      return {
        number: row.number - 1,
        id: row.id,
        state,
        params,
        value: state === "completed" ? (last ?? row.objective) : null,
        intermediate: row.reports,
        gridIndex: grid ? grid(paramsKey(names, config)) : null,
        parentTrialId: row.parentTrialId,
      };
    });
  }

  /**
   * Grid index of a stored trial, recovered from its config (the table stores the resolved config, not
   * the index). Rows come in number order; each takes the smallest index with its params not taken
   * yet, so even a grid listing one value twice never hands a point out twice.
   */
  private gridIndexOf(sweepId: string, spec: SweepSpec, names: string[]): (key: string) => number | null {
    let keys = this.gridKeys.get(sweepId);
    if (!keys) {
      keys = new Map();
      for (let i = 0; i < trialBudget(spec); i++) {
        const key = paramsKey(names, resolveTrialConfig(spec, gridPoint(spec, i)) as unknown as Record<string, unknown>);
        keys.set(key, [...(keys.get(key) ?? []), i]);
      }
      this.gridKeys.set(sweepId, keys);
    }
    const taken = new Map<string, number>();
    const all = keys;
    return (key) => {
      const indices = all.get(key);
      const n = taken.get(key) ?? 0;
      taken.set(key, n + 1);
      return indices && n < indices.length ? indices[n] : null;
    };
  }
}

function paramsKey(names: readonly string[], config: Record<string, unknown>): string {
  return JSON.stringify(names.map((n) => config[n] ?? null));
}
