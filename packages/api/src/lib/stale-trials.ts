/**
 * The dashboard requeues dead runners' trials too, as every runner does between trials: with no idle
 * runner around, a trial whose runner died would otherwise show `running` forever.
 */
import { requeueStaleTrials, trialLeaseSettingsFromEnv, type Sql } from "@ganboard/db";
import { publicProcedure } from "../trpc.ts";

/** Pages poll every few seconds, several procedures at a time: one sweep per interval is plenty. */
export const STALE_TRIAL_CHECK_INTERVAL_MS = 3_000;

interface CheckState {
  lastStartedAt: number;
  inFlight: Promise<void> | null;
}

// Per database handle, so separate servers (and test databases) in one process do not throttle each other.
const checks = new WeakMap<Sql, CheckState>();

/**
 * Requeues trials whose heartbeat is older than the runners' grace (failing those out of attempts),
 * at most once per STALE_TRIAL_CHECK_INTERVAL_MS per database handle. Concurrent callers wait for the
 * same sweep, so each reply already shows its outcome. Never throws: a failed sweep must not fail a page.
 */
export async function requeueStaleTrialsThrottled(sql: Sql, now: number = Date.now()): Promise<void> {
  const state = checks.get(sql) ?? { lastStartedAt: -Infinity, inFlight: null };
  checks.set(sql, state);
  if (state.inFlight) return state.inFlight;
  if (now - state.lastStartedAt < STALE_TRIAL_CHECK_INTERVAL_MS) return;
  state.lastStartedAt = now;
  const sweep = (async () => {
    try {
      // Read on each sweep (cheap), from the same variables `ganboard runner` reads.
      const { staleAfterMs, maxAttempts } = trialLeaseSettingsFromEnv();
      await requeueStaleTrials(sql, { graceSeconds: staleAfterMs / 1000, maxAttempts });
    } catch {
      // The next interval tries again; the page's own query reports a database that is down.
    }
  })();
  state.inFlight = sweep;
  void sweep.then(() => {
    if (state.inFlight === sweep) state.inFlight = null;
  });
  return sweep;
}

/** A query the dashboard polls: requeues stale trials (throttled) before reading. */
export const polledProcedure = publicProcedure.use(async ({ ctx, next }) => {
  await requeueStaleTrialsThrottled(ctx.sql);
  return next();
});
