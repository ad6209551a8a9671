import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { createSweep, getSweep, listSweeps, stopSweep, SweepNotFoundError, sweepEpochObjectives, sweepResultHistories } from "@ganboard/db";
import { safeParseSweepSpec, type SpecIssue, type SweepSpec } from "@ganboard/sweeps";
import { polledProcedure } from "../lib/stale-trials.ts";
import { publicProcedure, router } from "../trpc.ts";

/** Sweep ids are Postgres UUIDs; anything else is refused before it reaches SQL. */
const SweepId = z.guid({ error: (issue) => `not a sweep id: expected a UUID such as 0b9e2c6e-5a1d-4c39-9f0e-2f7d1c4b8a10, got ${JSON.stringify(issue.input)}` });

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** The stored spec re-validated with today's schema; null when it no longer parses (shown as raw JSON then). */
function readSpec(stored: unknown): SweepSpec | null {
  const parsed = safeParseSweepSpec(stored);
  return parsed.success ? parsed.spec : null;
}

function metricOf(stored: unknown): { name: string; goal: "minimize" | "maximize" } {
  const m = (stored as { metric?: { name?: unknown; goal?: unknown } } | null)?.metric;
  return { name: typeof m?.name === "string" ? m.name : "swd", goal: m?.goal === "maximize" ? "maximize" : "minimize" };
}

export type CreateSweepResult = { ok: true; id: string; warnings: SpecIssue[] } | { ok: false; issues: SpecIssue[] };

/** Sweeps: list (home), one sweep with its trials, create (from the form or YAML), stop. */
export const sweepsRouter = router({
  list: polledProcedure.query(async ({ ctx }) => {
    const sweeps = await listSweeps(ctx.sql);
    const histories = await sweepResultHistories(
      ctx.sql,
      sweeps.map((s) => s.id),
    );
    return sweeps.map((s) => {
      const spec = s.spec as { run_cap?: unknown } | null;
      return {
        id: s.id,
        name: s.name,
        method: s.method,
        status: s.status,
        createdAt: s.createdAt.toISOString(),
        finishedAt: iso(s.finishedAt),
        metric: metricOf(s.spec),
        runCap: typeof spec?.run_cap === "number" ? spec.run_cap : null,
        trials: s.trials,
        best: s.best,
        results: histories.get(s.id) ?? [],
      };
    });
  }),

  get: polledProcedure.input(z.object({ id: SweepId })).query(async ({ ctx, input }) => {
    const sweep = await getSweep(ctx.sql, input.id);
    if (!sweep) throw new TRPCError({ code: "NOT_FOUND", message: `No sweep with id ${input.id}. It may have been deleted; the sweeps list shows every sweep.` });
    const metric = metricOf(sweep.spec);
    const epochObjectives = await sweepEpochObjectives(ctx.sql, sweep.id, metric.name);
    return {
      id: sweep.id,
      name: sweep.name,
      method: sweep.method,
      status: sweep.status,
      createdAt: sweep.createdAt.toISOString(),
      finishedAt: iso(sweep.finishedAt),
      metric,
      spec: readSpec(sweep.spec),
      storedSpec: sweep.spec,
      counts: sweep.trials,
      best: sweep.best,
      trials: sweep.trialList.map((t) => ({
        ...t,
        config: (t.config ?? {}) as Record<string, unknown>,
        createdAt: t.createdAt.toISOString(),
        startedAt: iso(t.startedAt),
        finishedAt: iso(t.finishedAt),
      })),
      epochObjectives,
    };
  }),

  /** Validates with @ganboard/sweeps' schema (as the form did); an invalid spec creates nothing and returns field issues. */
  create: publicProcedure.input(z.object({ spec: z.unknown() })).mutation(async ({ ctx, input }): Promise<CreateSweepResult> => {
    const parsed = safeParseSweepSpec(input.spec);
    if (!parsed.success) return { ok: false, issues: parsed.issues };
    const { id } = await createSweep(ctx.sql, parsed.spec);
    return { ok: true, id, warnings: parsed.warnings };
  }),

  stop: publicProcedure.input(z.object({ id: SweepId, cancelRunning: z.boolean().default(false) })).mutation(async ({ ctx, input }) => {
    try {
      return await stopSweep(ctx.sql, input.id, { cancelRunning: input.cancelRunning });
    } catch (error) {
      if (error instanceof SweepNotFoundError) throw new TRPCError({ code: "NOT_FOUND", message: `No sweep with id ${input.id}; nothing was stopped.` });
      throw error;
    }
  }),
});
