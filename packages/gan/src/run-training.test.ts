import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { readCheckpointHeader } from "./checkpoint.ts";
import { runTraining, type TrainingEvent } from "./run-training.ts";
import { syntheticImageSet, tinyConfig } from "./test-helpers.ts";

// 24 images, batch 4 → 6 steps per epoch; SWD on 8 images (floor on 2 disjoint sets of 8).
const dataset = syntheticImageSet(24, 32, 5);
const config = tinyConfig({ backend: "wasm", epochs: 2, swd_samples: 8, seed: 3 });
// The backend the run reports: GANBOARD_TEST_BACKEND replaces the config's choice (see backend.ts).
const chosenBackend = process.env.GANBOARD_TEST_BACKEND?.trim() || "wasm";

async function collect(gen: AsyncGenerator<TrainingEvent>): Promise<TrainingEvent[]> {
  const events: TrainingEvent[] = [];
  for await (const e of gen) events.push(e);
  return events;
}
const steps = (events: TrainingEvent[]) => events.filter((e) => e.type === "step");

describe("runTraining", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });
  let uninterrupted: TrainingEvent[] = [];

  it("emits started, steps, per-epoch grid + quality, checkpoints and finished, in order", async () => {
    const before = tf.memory().numTensors;
    uninterrupted = await collect(runTraining(config, { dataset }));
    expect(uninterrupted.map((e) => (e.type === "checkpoint" ? `checkpoint:${e.reason}` : e.type))).toEqual([
      "started",
      ...Array(6).fill("step"),
      "epoch",
      "checkpoint:periodic",
      ...Array(6).fill("step"),
      "epoch",
      "checkpoint:final",
      "finished",
    ]);
    const started = uninterrupted[0] as Extract<TrainingEvent, { type: "started" }>;
    expect(started.backend.name).toBe(chosenBackend);
    expect(started.stepsPerEpoch).toBe(6);
    expect(started.totalSteps).toBe(12);
    expect(started.dataset).toMatchObject({ count: 24, hash: dataset.hash, resolution: 32 });
    expect(steps(uninterrupted).map((e) => (e as { step: number }).step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const step = steps(uninterrupted)[0] as Extract<TrainingEvent, { type: "step" }>;
    expect(step.epoch).toBe(1);
    expect(step.imagesPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(step.metrics.loss_g)).toBe(true);
    const epochs = uninterrupted.filter((e) => e.type === "epoch") as Extract<TrainingEvent, { type: "epoch" }>[];
    expect(epochs.map((e) => [e.epoch, e.step])).toEqual([[1, 6], [2, 12]]);
    for (const e of epochs) {
      expect(e.gridPng.subarray(1, 4).toString()).toBe("PNG");
      expect(Object.keys(e.quality).sort()).toEqual(["ms_ssim", "ms_ssim_real", "swd", "swd_16", "swd_32", "swd_floor", "swd_floor_16", "swd_floor_32"]);
      for (const v of Object.values(e.quality)) expect(Number.isFinite(v)).toBe(true);
    }
    const finished = uninterrupted.at(-1) as Extract<TrainingEvent, { type: "finished" }>;
    expect(finished).toMatchObject({ epoch: 2, step: 12 });
    expect(finished.objective).toBe(epochs[1].quality.swd);
    const final = uninterrupted.at(-2) as Extract<TrainingEvent, { type: "checkpoint" }>;
    expect(readCheckpointHeader(final.data)).toMatchObject({ step: 12, position: { epoch: 3, stepInEpoch: 0 }, backend: chosenBackend });
    expect(tf.memory().numTensors).toBe(before); // the run disposed its models
  });

  it("a stop request mid-epoch checkpoints; resuming from it continues exactly as uninterrupted", async () => {
    let polls = 0;
    const first = await collect(runTraining(config, { dataset, stopRequested: () => (++polls === 4 ? "checkpoint" : false) }));
    const stop = first.at(-1) as Extract<TrainingEvent, { type: "checkpoint" }>;
    expect(stop).toMatchObject({ type: "checkpoint", reason: "stop", epoch: 1, step: 4 });
    expect(stop.gridPng?.subarray(1, 4).toString()).toBe("PNG");
    expect(steps(first)).toHaveLength(4);

    const resumed = await collect(runTraining(config, { dataset, resumeFrom: stop.data }));
    expect(resumed[0]).toMatchObject({ type: "started", resumedAt: { epoch: 1, step: 4 } });
    const strip = (events: TrainingEvent[]) =>
      events.map((e) => (e.type === "step" ? { step: e.step, epoch: e.epoch, metrics: e.metrics } : e.type === "epoch" ? { epoch: e.epoch, quality: e.quality, grid: e.gridPng } : e.type === "finished" ? e : null)).filter(Boolean);
    expect(strip(resumed.slice(1))).toEqual(strip(uninterrupted.slice(1)).slice(4));
  });

  it("checkpoints every checkpoint_every epochs and can resume from a periodic checkpoint", async () => {
    const three = { ...config, epochs: 3, checkpoint_every: 2, swd_samples: 0 };
    const events = await collect(runTraining(three, { dataset }));
    const checkpoints = events.filter((e) => e.type === "checkpoint") as Extract<TrainingEvent, { type: "checkpoint" }>[];
    expect(checkpoints.map((c) => [c.reason, c.epoch])).toEqual([["periodic", 2], ["final", 3]]);
    const finished = events.at(-1) as Extract<TrainingEvent, { type: "finished" }>;
    expect(finished.objective).toBeNull(); // swd off
    const resumed = await collect(runTraining(three, { dataset, resumeFrom: checkpoints[0].data }));
    expect(resumed.filter((e) => e.type === "step").map((e) => (e as { step: number }).step)).toEqual([13, 14, 15, 16, 17, 18]);
    const lastStep = (evs: TrainingEvent[]) => (evs.filter((e) => e.type === "step").at(-1) as Extract<TrainingEvent, { type: "step" }>).metrics;
    expect(lastStep(resumed)).toEqual(lastStep(events));
  });

  it("refuses a dataset at another resolution and a dataset smaller than one batch", async () => {
    await expect(collect(runTraining(config, { dataset: syntheticImageSet(8, 64) }))).rejects.toThrow(/64px but the config trains at 32px/);
    await expect(collect(runTraining({ ...config, batch_size: 32 }, { dataset }))).rejects.toThrow(/fewer than one batch/);
  });
});
