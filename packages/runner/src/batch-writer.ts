/**
 * Collects items (metric points, log lines) and writes them in batches, one round trip each, off the
 * training loop's path. A failed write keeps its items for the next flush, so an outage delays data
 * but never drops it; `flush()` resolves once everything pushed so far is stored.
 */
export class BatchWriter<T> {
  private pending: T[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** Items stored so far, and the time spent storing them. */
  written = 0;
  writeMs = 0;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly opts: { maxItems?: number; intervalMs?: number; onError?: (error: unknown) => void } = {},
  ) {}

  push(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= (this.opts.maxItems ?? 5_000)) this.flushInBackground();
    else this.timer ??= setTimeout(() => this.flushInBackground(), this.opts.intervalMs ?? 1_000);
  }

  get size(): number {
    return this.pending.length;
  }

  private flushInBackground(): void {
    this.flush().catch((error) => {
      this.opts.onError?.(error);
      // Keep trying while items wait: the next push or timer would otherwise be the only trigger.
      this.timer ??= setTimeout(() => this.flushInBackground(), this.opts.intervalMs ?? 1_000);
    });
  }

  /** Writes everything pushed so far; rejects if the write failed (the items stay queued). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.writing
      .catch(() => {})
      .then(async () => {
        if (this.pending.length === 0) return;
        const batch = this.pending;
        this.pending = [];
        const started = performance.now();
        try {
          await this.write(batch);
          this.written += batch.length;
        } catch (error) {
          this.pending = batch.concat(this.pending);
          throw error;
        } finally {
          this.writeMs += performance.now() - started;
        }
      });
    this.writing = next;
    return next;
  }

  /** Drops queued items without writing them (the trial now belongs to another runner). */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }
}
