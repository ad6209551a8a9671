// Worker threads that sort SWD projections and sum |sortedA − sortedB| while the main thread computes the next
// block of projections on the tfjs backend. Sorting is about half of an SWD evaluation; with the overlap (and
// more workers on machines with more cores) it mostly disappears behind the matMuls.
//
// The API stays synchronous, because SWD is: jobs are posted to the workers (which run whether or not the main
// thread is blocked) and the main thread waits on a shared counter with Atomics.wait. A worker reports its own
// exceptions through shared memory, so a failure surfaces as an error here instead of a hang.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// Plain JS (workers can't load our TypeScript without a loader); the same radix sort as sort.ts.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const SIGN = -2147483648;
let scratch = new Int32Array(0);
const hist = new Int32Array(3 * 2048);
function sortInPlace(values) {
  const n = values.length;
  if (n < 2) return;
  if (scratch.length < n) scratch = new Int32Array(n);
  const keys = new Int32Array(values.buffer, values.byteOffset, n);
  const tmp = scratch;
  hist.fill(0);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const key = k ^ ((k >> 31) | SIGN);
    keys[i] = key;
    hist[key & 0x7ff]++;
    hist[2048 + ((key >>> 11) & 0x7ff)]++;
    hist[4096 + (key >>> 22)]++;
  }
  for (let pass = 0; pass < 3; pass++) {
    let sum = 0;
    const base = pass * 2048;
    for (let b = 0; b < 2048; b++) { const c = hist[base + b]; hist[base + b] = sum; sum += c; }
  }
  for (let i = 0; i < n; i++) { const key = keys[i]; tmp[hist[key & 0x7ff]++] = key; }
  for (let i = 0; i < n; i++) { const key = tmp[i]; keys[hist[2048 + ((key >>> 11) & 0x7ff)]++] = key; }
  for (let i = 0; i < n; i++) { const key = keys[i]; tmp[hist[4096 + (key >>> 22)]++] = key; }
  for (let i = 0; i < n; i++) { const key = tmp[i]; keys[i] = key < 0 ? key ^ SIGN : ~key; }
}
parentPort.on("message", (job) => {
  const { a, b, n, rowStart, rowEnd, control, results, index } = job;
  try {
    let total = 0;
    for (let d = rowStart; d < rowEnd; d++) {
      const ra = a.subarray(d * n, (d + 1) * n);
      const rb = b.subarray(d * n, (d + 1) * n);
      sortInPlace(ra);
      sortInPlace(rb);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(ra[i] - rb[i]);
      total += s;
    }
    results[index] = total;
  } catch (error) {
    results[index] = NaN;
    Atomics.store(control, 1, 1);
  }
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
});
`;

/** How long one job may take before we give up on the workers (a dead worker never reports). */
const JOB_TIMEOUT_MS = 10 * 60_000;

export class SortPool {
  private readonly workers: Worker[];
  private readonly control = new Int32Array(new SharedArrayBuffer(8)); // [finished jobs, error flag]
  private readonly results: Float64Array;
  private pending = 0;

  constructor(readonly threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref(); // never keeps the process alive
      return worker;
    });
    this.results = new Float64Array(new SharedArrayBuffer(8 * threads));
  }

  /** Starts sorting rows [0, k) of a and b (shared memory, [k][n] each). Non-blocking. */
  start(a: Float32Array, b: Float32Array, k: number, n: number): void {
    if (this.pending) throw new Error("SortPool: previous job not collected");
    Atomics.store(this.control, 0, 0);
    Atomics.store(this.control, 1, 0);
    const per = Math.ceil(k / this.threads);
    const ranges: [number, number][] = [];
    for (let w = 0; w < this.threads; w++) ranges.push([w * per, Math.min(k, (w + 1) * per)]);
    const idle = ranges.filter(([s, e]) => s >= e).length;
    // Workers without rows count as finished from the start (set before any worker can report).
    Atomics.store(this.control, 0, idle);
    ranges.forEach(([rowStart, rowEnd], w) => {
      if (rowStart >= rowEnd) {
        this.results[w] = 0;
        return;
      }
      this.workers[w].postMessage({ a, b, n, rowStart, rowEnd, control: this.control, results: this.results, index: w });
    });
    this.pending = this.threads;
  }

  /** Blocks until the started job is done; Σ|sortedA − sortedB| over its rows. */
  wait(): number {
    if (!this.pending) return 0;
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.control, 0);
      if (done >= this.pending) break;
      if (Date.now() > deadline) throw new Error("SWD sort workers did not finish (a worker thread died?)");
      Atomics.wait(this.control, 0, done, 1000);
    }
    this.pending = 0;
    if (Atomics.load(this.control, 1)) throw new Error("an SWD sort worker failed");
    let total = 0;
    for (let w = 0; w < this.threads; w++) total += this.results[w];
    return total;
  }

  close(): void {
    for (const worker of this.workers) void worker.terminate();
  }
}

let shared: SortPool | null = null;

/**
 * The process-wide pool: (cores − 1) workers, at most 8, so the main thread keeps a core for the matMuls.
 * Null on a single-core machine or with GANBOARD_SWD_THREADS=0 (then SWD sorts on the main thread).
 */
export function sortPool(): SortPool | null {
  const env = process.env.GANBOARD_SWD_THREADS;
  const wanted = env !== undefined && env.trim() !== "" ? Number(env) : Math.min(8, availableParallelism() - 1);
  const threads = Number.isInteger(wanted) && wanted > 0 ? wanted : 0;
  if (threads === 0) return null;
  if (shared && shared.threads !== threads) {
    shared.close();
    shared = null;
  }
  return (shared ??= new SortPool(threads));
}
