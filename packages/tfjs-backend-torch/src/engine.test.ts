/**
 * The whole engine pipeline (runTraining: backend selection, training steps, per-epoch sample grid,
 * SWD / MS-SSIM quality metrics, checkpoints) with the backend forced to "torch", against "cpu".
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { readCheckpointHeader } from "../../gan/src/checkpoint.ts";
import { runTraining, type TrainingEvent } from "../../gan/src/run-training.ts";
import { syntheticImageSet, tinyConfig } from "../../gan/src/test-helpers.ts";
import { nativeStatus } from "./index.ts";

const status = nativeStatus();
if (!status.built) console.warn(`[tfjs-backend-torch] engine tests skipped: ${status.reason}`);

const dataset = syntheticImageSet(16, 32, 5);

async function run(backend: "torch" | "cpu"): Promise<TrainingEvent[]> {
  const events: TrainingEvent[] = [];
  for await (const e of runTraining(tinyConfig({ backend, epochs: 1, swd_samples: 8, seed: 3 }), { dataset })) events.push(e);
  return events;
}

describe.skipIf(!status.built)("engine with backend torch", () => {
  it("runTraining on torch: same events and, within float32 noise, the same losses and quality as cpu", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const got = await run("torch");
    expect(tf.memory().numTensors).toBe(before);
    const want = await run("cpu");
    expect(got.map((e) => e.type)).toEqual(want.map((e) => e.type));
    const started = got[0] as Extract<TrainingEvent, { type: "started" }>;
    expect(started.backend.name).toBe("torch");
    expect(started.backend.versions.libtorch).toMatch(/^\d+\.\d+/);
    expect(started.backend.device).toMatch(/libtorch/);
    for (let i = 0; i < got.length; i++) {
      const a = got[i];
      const b = want[i];
      if (a.type === "step" && b.type === "step") {
        for (const key of ["loss_d", "loss_g", "d_real", "d_fake"] as const) {
          expect(Math.abs(a.metrics[key] - b.metrics[key]), `step ${a.step} ${key}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(b.metrics[key])));
        }
      }
      if (a.type === "epoch" && b.type === "epoch") {
        expect(Object.keys(a.quality).sort()).toEqual(Object.keys(b.quality).sort());
        for (const key of Object.keys(b.quality)) {
          expect(Math.abs(a.quality[key] - b.quality[key]), `quality ${key}: torch ${a.quality[key]} cpu ${b.quality[key]}`).toBeLessThan(
            1e-2 * Math.max(1, Math.abs(b.quality[key])),
          );
        }
        expect(a.gridPng.subarray(1, 4).toString()).toBe("PNG");
      }
      if (a.type === "checkpoint") expect(readCheckpointHeader(a.data)).toMatchObject({ backend: "torch" });
    }
  });
});
