/** Synthetic finished runs for the compare figures: `steps` steps × 4 metrics each, a 256 px grid per epoch. */
import { claimTrial, enqueueTrial, finishTrial, registerRunner, saveSample, writeMetrics, type MetricPoint, type Sql } from "@ganboard/db";
import sharp from "sharp";

export const BENCH_KEYS = ["loss_d", "loss_g", "d_real", "d_fake"] as const;
export const BENCH_STEPS_PER_EPOCH = 1000;

export async function seedCompareRuns(sql: Sql, opts: { runs: number; steps: number }): Promise<string[]> {
  await registerRunner(sql, { id: "bench", hostname: "bench", pid: process.pid, backend: "cpu", device: "cpu" });
  const ids: string[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const { id } = await enqueueTrial(sql, { config: { lr: 0.0002 * (r + 1), ngf: 64 } });
    await claimTrial(sql, "bench", { onlyTrialId: id });
    const start = Date.now() / 1000 - opts.steps;
    for (let from = 1; from <= opts.steps; from += 5000) {
      const batch: MetricPoint[] = [];
      for (let step = from; step < Math.min(opts.steps + 1, from + 5000); step++) {
        const epoch = Math.ceil(step / BENCH_STEPS_PER_EPOCH);
        const wallTime = new Date((start + step) * 1000);
        const noise = Math.sin(step * 0.37 + r) * 0.1;
        batch.push(
          { key: "loss_d", step, epoch, value: 1.2 - step / (opts.steps * 4) + noise, wallTime },
          { key: "loss_g", step, epoch, value: 0.9 + step / (opts.steps * 3) - noise, wallTime },
          { key: "d_real", step, epoch, value: 0.6 + noise, wallTime },
          { key: "d_fake", step, epoch, value: 0.4 - noise, wallTime },
        );
      }
      await writeMetrics(sql, id, batch);
    }
    for (let epoch = 1; epoch <= Math.ceil(opts.steps / BENCH_STEPS_PER_EPOCH); epoch++) {
      const png = await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: (epoch * 7 + r * 40) % 256, g: 90, b: 160 } } })
        .png()
        .toBuffer();
      await saveSample(sql, id, { epoch, step: Math.min(opts.steps, epoch * BENCH_STEPS_PER_EPOCH), png, width: 256, height: 256 });
    }
    await finishTrial(sql, id, "bench", { status: "completed" });
    ids.push(id);
  }
  await sql`analyze metrics`;
  return ids;
}
