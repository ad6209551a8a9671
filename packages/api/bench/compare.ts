/**
 * Compare-page figures (issue 6): N runs × S steps × 4 metrics of synthetic data, then the
 * `runs.compare` query as the dashboard calls it — cold (bucketing in Postgres) and warm (finished
 * runs' series come from the in-process cache) — and the payload size.
 *
 *   npx tsx packages/api/bench/compare.ts [--runs 20 --steps 100000 --repeats 20 --keep]
 * Uses the test database server (DATABASE_URL when set, else a throwaway embedded PostgreSQL).
 * --keep leaves the database and prints its URL (to point a dashboard at it).
 */
import { parseArgs } from "node:util";
import { bucketedMetricSeries } from "@ganboard/db";
import { createTestDatabase } from "@ganboard/db/testing";
import { appRouter, createCallerFactory } from "../src/index.ts";
import { clearSeriesCache } from "../src/routers/runs.ts";
import { BENCH_KEYS, seedCompareRuns } from "./seed-compare.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    steps: { type: "string", default: "100000" },
    repeats: { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
  },
});
const RUNS = Number(args.runs);
const STEPS = Number(args.steps);
const REPEATS = Number(args.repeats);
const KEYS = BENCH_KEYS;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const ms = (x: number) => `${x.toFixed(1)} ms`;

const db = await createTestDatabase({ max: 4 });
const { sql } = db;
try {
  const t0 = performance.now();
  const ids = await seedCompareRuns(sql, { runs: RUNS, steps: STEPS });
  console.log(`seeded ${RUNS} runs × ${STEPS} steps × ${KEYS.length} metrics (${(RUNS * STEPS * KEYS.length).toLocaleString()} points) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const caller = createCallerFactory(appRouter)({ sql, db: db.db, database: { maskedUrl: "bench", embedded: true } });
  const cold: number[] = [];
  const warm: number[] = [];
  let bytes = 0;
  for (let i = 0; i < Math.max(3, Math.ceil(REPEATS / 4)); i++) {
    clearSeriesCache();
    const t = performance.now();
    const out = await caller.runs.compare({ ids: ids.slice(0, 10) });
    cold.push(performance.now() - t);
    bytes = JSON.stringify(out).length;
  }
  const perSeries: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await bucketedMetricSeries(sql, [ids[0]], { maxBuckets: 1500, keys: ["loss_d"] });
    perSeries.push(performance.now() - t);
  }
  await caller.runs.compare({ ids: ids.slice(0, 10) });
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await caller.runs.compare({ ids: ids.slice(0, 10) });
    warm.push(performance.now() - t);
  }
  console.log(`one 100k-point series bucketed in SQL: median ${ms(quantile(perSeries, 0.5))}`);
  console.log(`runs.compare, ${Math.min(10, RUNS)} runs × ${KEYS.length} series, cold (SQL bucketing): p50 ${ms(quantile(cold, 0.5))}, p95 ${ms(quantile(cold, 0.95))}`);
  console.log(`runs.compare, ${Math.min(10, RUNS)} runs, warm (finished runs cached):   p50 ${ms(quantile(warm, 0.5))}, p95 ${ms(quantile(warm, 0.95))}`);
  console.log(`payload ${(bytes / 1024).toFixed(0)} kB for ${Math.min(10, RUNS)} runs (≤ 1500 buckets per series)`);
  if (args.keep) console.log(`kept database: ${db.url}\nrun ids: ${ids.join(",")}`);
} finally {
  if (!args.keep) await db.drop();
  else await sql.end();
}
