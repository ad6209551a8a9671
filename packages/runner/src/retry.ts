/** Retrying database writes through short outages (a restarted Postgres, a network blip). */

/** Errors worth retrying: the connection, not the statement, failed. */
export function isTransientDatabaseError(error: unknown): boolean {
  const e = error as { code?: string; errno?: string; message?: string } | null;
  const code = e?.code ?? e?.errno ?? "";
  if (["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"].includes(code)) return true;
  // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
  if (["57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004"].includes(code)) return true;
  return /terminating connection|connection.*(closed|ended|refused)|the database system is (starting up|shutting down)/i.test(e?.message ?? "");
}

export interface RetryOptions {
  /** First wait in ms; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long in total (default: 10 minutes). */
  giveUpAfterMs?: number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export async function withRetry<T>(operation: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const started = Date.now();
  let delay = opts.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const elapsed = Date.now() - started;
      if (!isTransientDatabaseError(error) || elapsed > (opts.giveUpAfterMs ?? 600_000) || opts.signal?.aborted) throw error;
      opts.onRetry?.(error, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5_000);
    }
  }
}
