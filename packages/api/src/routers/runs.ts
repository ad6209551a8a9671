import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  bucketedMetricSeries,
  cancelTrial,
  FINAL_TRIAL_STATUSES,
  getTrialViews,
  latestCheckpointInfo,
  listRecentTrials,
  listSamples,
  recentTrialLogs,
  requeueTrial,
  type MetricSeries,
  type SampleInfo,
  type Sql,
  type TrialStatus,
  type TrialView,
} from "@ganboard/db";
import { MAX_CHART_POINTS, toColumns, type SeriesColumns } from "../lib/downsample.ts";
import { assessHealth, type HealthBadge } from "../lib/health.ts";
import { polledProcedure } from "../lib/stale-trials.ts";
import { publicProcedure, router } from "../trpc.ts";

/** A run id as the URL carries it: a clear message instead of a Postgres cast error. */
export const runId = z.uuid({ error: (issue) => `Not a run id: ${JSON.stringify(issue.input)} (run ids are UUIDs such as 0f8e2c1a-…).` });

export const MAX_COMPARE_RUNS = 10;

export interface RunSummary {
  id: string;
  sweepId: string | null;
  sweepName: string | null;
  number: number;
  /** "sweep-name #3", or "run #3" for an ad-hoc run. */
  title: string;
  config: unknown;
  status: TrialStatus;
  attempt: number;
  error: string | null;
  backend: string | null;
  device: string | null;
  epoch: number;
  step: number;
  objective: number | null;
  runnerId: string | null;
  runnerHostname: string | null;
  parentTrialId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  /** True while the run can still change (queued, running, cancelling): the page keeps polling. */
  live: boolean;
}

export interface RunData {
  run: RunSummary;
  samples: SampleInfo[];
  series: Array<{ key: string; points: number; columns: SeriesColumns }>;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const isFinal = (status: TrialStatus): boolean => (FINAL_TRIAL_STATUSES as readonly string[]).includes(status);

function summarize(t: TrialView): RunSummary {
  return {
    ...t,
    title: `${t.sweepName ?? "run"} #${t.number}`,
    createdAt: t.createdAt.toISOString(),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    heartbeatAt: iso(t.heartbeatAt),
    live: !isFinal(t.status),
  };
}

/**
 * Finished runs never change, so their bucketed series are kept in memory (keyed by finish time, so
 * a requeued run that finishes again is re-read): comparing 20 long runs reads Postgres once.
 */
const finishedSeries = new Map<string, MetricSeries[]>();
const FINISHED_CACHE_LIMIT = 400;

/** Forgets cached series (benchmarks measure the cold path with it). */
export function clearSeriesCache(): void {
  finishedSeries.clear();
}

async function seriesFor(sql: Sql, trials: readonly TrialView[], maxBuckets: number): Promise<Map<string, MetricSeries[]>> {
  const out = new Map<string, MetricSeries[]>(trials.map((t) => [t.id, []]));
  const cacheKey = (t: TrialView) => `${t.id}:${t.finishedAt?.getTime()}:${maxBuckets}`;
  const missing: string[] = [];
  for (const t of trials) {
    const cached = isFinal(t.status) && t.finishedAt ? finishedSeries.get(cacheKey(t)) : undefined;
    if (cached) out.set(t.id, cached);
    else missing.push(t.id);
  }
  if (missing.length > 0) {
    for (const s of await bucketedMetricSeries(sql, missing, { maxBuckets })) out.get(s.trialId)?.push(s);
    for (const t of trials) {
      if (!missing.includes(t.id) || !isFinal(t.status) || !t.finishedAt) continue;
      if (finishedSeries.size >= FINISHED_CACHE_LIMIT) finishedSeries.delete(finishedSeries.keys().next().value as string);
      finishedSeries.set(cacheKey(t), out.get(t.id) ?? []);
    }
  }
  return out;
}

async function loadRuns(sql: Sql, ids: readonly string[], maxBuckets: number): Promise<{ runs: RunData[]; missing: string[] }> {
  const trials = await getTrialViews(sql, ids);
  const [samples, series] = await Promise.all([
    listSamples(sql, trials.map((t) => t.id)),
    seriesFor(sql, trials, maxBuckets),
  ]);
  const found = new Set(trials.map((t) => t.id));
  return { runs: trials.map((t) => runData(t, samples.get(t.id) ?? [], series.get(t.id) ?? [])), missing: ids.filter((id) => !found.has(id)) };
}

function runData(t: TrialView, samples: SampleInfo[], series: readonly MetricSeries[]): RunData {
  return { run: summarize(t), samples, series: series.map(({ key, points, buckets }) => ({ key, points, columns: toColumns(buckets) })) };
}

const notFound = (id: string) => new TRPCError({ code: "NOT_FOUND", message: `No run with id ${id}: it may have been deleted with its sweep.` });

const maxPoints = z.number().int().min(10).max(5000).default(MAX_CHART_POINTS);

export const runsRouter = router({
  /** Everything the run page shows except logs: the run, its grids, its series and health. */
  view: polledProcedure.input(z.object({ id: runId, maxPoints })).query(async ({ ctx, input }) => {
    const [trial] = await getTrialViews(ctx.sql, [input.id]);
    if (!trial) throw notFound(input.id);
    const [samples, series, checkpoint] = await Promise.all([
      listSamples(ctx.sql, [trial.id]),
      seriesFor(ctx.sql, [trial], input.maxPoints),
      latestCheckpointInfo(ctx.sql, trial.id),
    ]);
    const own = series.get(trial.id) ?? [];
    const health: HealthBadge[] = assessHealth({ series: Object.fromEntries(own.map((s) => [s.key, s.buckets])), error: trial.error });
    const data = runData(trial, samples.get(trial.id) ?? [], own);
    return {
      ...data,
      checkpoint: checkpoint ? { ...checkpoint, createdAt: checkpoint.createdAt.toISOString() } : null,
      health,
    };
  }),

  /** Several runs for the compare page (unknown ids are reported, not fatal). */
  compare: polledProcedure
    .input(
      z.object({
        ids: z
          .array(runId)
          .min(1, { error: "Pick at least one run to compare." })
          .max(MAX_COMPARE_RUNS, { error: `Compare at most ${MAX_COMPARE_RUNS} runs at a time.` })
          .refine((ids) => new Set(ids).size === ids.length, { error: "Each run can appear only once." }),
        maxPoints,
      }),
    )
    .query(({ ctx, input }) => loadRuns(ctx.sql, input.ids, input.maxPoints)),

  logs: publicProcedure
    .input(z.object({ id: runId, afterId: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(2000).default(500) }))
    .query(async ({ ctx, input }) => {
      const lines = await recentTrialLogs(ctx.sql, input.id, { limit: input.limit, afterId: input.afterId });
      return lines.map((l) => ({ ...l, ts: l.ts.toISOString() }));
    }),

  /** Recent runs for the compare page's "Add run" picker. */
  recent: polledProcedure.input(z.object({ limit: z.number().int().min(1).max(500).default(100) }).optional()).query(async ({ ctx, input }) => {
    const rows = await listRecentTrials(ctx.sql, input?.limit ?? 100);
    return rows.map((r) => ({ ...r, title: `${r.sweepName ?? "run"} #${r.number}`, createdAt: r.createdAt.toISOString() }));
  }),

  cancel: publicProcedure.input(z.object({ id: runId })).mutation(async ({ ctx, input }) => {
    const status = await cancelTrial(ctx.sql, input.id);
    if (status) return { status };
    const [trial] = await getTrialViews(ctx.sql, [input.id]);
    if (!trial) throw notFound(input.id);
    throw new TRPCError({ code: "CONFLICT", message: `This run is ${trial.status}: only queued or running runs can be cancelled.` });
  }),

  requeue: publicProcedure.input(z.object({ id: runId })).mutation(async ({ ctx, input }) => {
    const status = await requeueTrial(ctx.sql, input.id);
    if (status) return { status };
    const [trial] = await getTrialViews(ctx.sql, [input.id]);
    if (!trial) throw notFound(input.id);
    throw new TRPCError({ code: "CONFLICT", message: `This run is ${trial.status}: only failed or cancelled runs can be requeued.` });
  }),
});
