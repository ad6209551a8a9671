import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing.ts";
import { enqueueTrial } from "./trial-queue.ts";
import { discardMetricsAfter, writeMetrics, type MetricPoint } from "./trial-records.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const point = (key: string, step: number, value: number, wallTime = new Date("2026-01-02T03:04:05.678Z")): MetricPoint => ({ key, step, epoch: 1, value, wallTime });

async function series(trialId: string) {
  return t.sql<{ key: string; step: number; value: number; wall_ms: number }[]>`
    select key, step, value, (extract(epoch from wall_time) * 1000)::float8 as wall_ms from metrics where trial_id = ${trialId} order by key, step`;
}

describe("writeMetrics", () => {
  it("stores NaN and ±Infinity as such (a divergence stays visible), tiny and huge values exactly", async () => {
    const { id } = await enqueueTrial(t.sql, { config: {} });
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, -1.2345678901234567e300, 0.1 + 0.2];
    expect(await writeMetrics(t.sql, id, values.map((v, i) => point("loss_d", i + 1, v)))).toBe(values.length);
    const rows = await series(id);
    expect(rows.map((r) => r.value)).toEqual(values);
    expect(rows.every((r) => r.wall_ms === Date.parse("2026-01-02T03:04:05.678Z"))).toBe(true);
  });

  it("keeps keys with quotes, commas, braces and backslashes verbatim", async () => {
    const { id } = await enqueueTrial(t.sql, { config: {} });
    const keys = ['a"b', "c,d", "{e}", "f\\g", "NULL", "", "h i", "ü/λ"];
    await writeMetrics(t.sql, id, keys.map((k) => point(k, 1, 1)));
    expect((await series(id)).map((r) => r.key).sort()).toEqual([...keys].sort());
  });

  it("overwrites a re-logged step instead of duplicating it, within a batch and across batches", async () => {
    const { id } = await enqueueTrial(t.sql, { config: {} });
    await writeMetrics(t.sql, id, [point("loss_g", 1, 1), point("loss_g", 2, 2), point("loss_g", 2, 3)]);
    await writeMetrics(t.sql, id, [point("loss_g", 1, 10), point("loss_g", 3, 30)]);
    expect((await series(id)).map((r) => [r.step, r.value])).toEqual([[1, 10], [2, 3], [3, 30]]);
    expect(await discardMetricsAfter(t.sql, id, 1)).toBe(2);
    expect((await series(id)).map((r) => r.step)).toEqual([1]);
  });

  it("refuses a fractional step before writing anything", async () => {
    const { id } = await enqueueTrial(t.sql, { config: {} });
    await expect(writeMetrics(t.sql, id, [point("loss_d", 1, 1), point("loss_d", 1.5, 1)])).rejects.toThrow(/whole number, got 1.5/);
    expect(await series(id)).toEqual([]);
  });
});
