/**
 * The engine's real DCGAN trainer on "torch" against "cpu": the same seeds give the same losses for
 * several steps, the step takes the fused batch-norm / Adam kernels, and 100 steps leave tfjs's tensor
 * count, the native table and RSS flat.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { parseTrainConfig, type TrainConfigInput } from "../../gan/src/config.ts";
import { GanTrainer, type StepMetrics } from "../../gan/src/trainer.ts";
import {
  TORCH_ADAM_UPDATE, TORCH_BATCH_NORM_TRAIN, kernelCallCounts, nativeStats, nativeStatus, registerTorchBackend, resetKernelCallCounts,
} from "./index.ts";

const status = nativeStatus();
if (!status.built) console.warn(`[tfjs-backend-torch] training tests skipped: ${status.reason}`);

function batch(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

async function train(backend: string, input: TrainConfigInput, steps: number): Promise<StepMetrics[]> {
  await tf.setBackend(backend);
  const config = parseTrainConfig(input);
  const trainer = new GanTrainer(config);
  const size = config.batch_size * config.resolution * config.resolution * 3;
  const out: StepMetrics[] = [];
  try {
    for (let i = 0; i < steps; i++) out.push(trainer.trainStep(batch(size, 100 + i)));
    // Sampling from the (EMA) generator runs on the backend too.
    const images = trainer.generate(batch(2 * config.z_dim, 7), 2);
    expect(images.every(Number.isFinite)).toBe(true);
  } finally {
    trainer.G.dispose();
    trainer.D.dispose();
    trainer.emaG?.dispose();
    trainer.optG.dispose();
    trainer.optD.dispose();
  }
  return out;
}

const tiny = { resolution: 32, batch_size: 4, z_dim: 16, ngf: 8, ndf: 8, seed: 3 } as const;

describe.skipIf(!status.built)("DCGAN training on torch", () => {
  it.each([
    ["bce", {}],
    ["lsgan with EMA", { loss: "lsgan", ema: 0.9 }],
    ["hinge, 2 D steps", { loss: "hinge", d_steps: 2 }],
  ] as const)("%s: torch matches cpu step by step", async (_label, extra) => {
    expect((await registerTorchBackend()).available).toBe(true);
    const input = { ...tiny, ...extra } as TrainConfigInput;
    const want = await train("cpu", input, 3);
    const got = await train("torch", input, 3);
    for (let step = 0; step < want.length; step++) {
      for (const key of Object.keys(want[step]) as (keyof StepMetrics)[]) {
        const a = got[step][key];
        const b = want[step][key];
        // float32 with different summation orders, through batch norm and 3 Adam steps.
        expect(Math.abs(a - b) / Math.max(Math.abs(b), 1e-3), `step ${step + 1} ${key}: torch ${a} cpu ${b}`).toBeLessThan(2e-3);
      }
    }
  });

  it("a training step takes the fused batch-norm and Adam kernels, not their plain-op versions", async () => {
    expect((await registerTorchBackend()).available).toBe(true);
    await tf.setBackend("torch");
    const config = parseTrainConfig(tiny);
    const trainer = new GanTrainer(config);
    const size = config.batch_size * config.resolution * config.resolution * 3;
    try {
      resetKernelCallCounts();
      trainer.trainStep(batch(size, 1));
      const counts = kernelCallCounts();
      // G: bn0..bn2 on 2 forward passes; D: bn1, bn2 on 3 forward passes (real, fake, G step).
      const gBns = trainer.G.channels.length;
      const dBns = trainer.D.channels.length - 1;
      expect(counts.get(TORCH_BATCH_NORM_TRAIN)).toBe(2 * gBns + 3 * dBns);
      // Backward through D (real + fake) for the D step, through D and G for the G step.
      expect(counts.get("TorchBatchNormTrainGrad")).toBe(2 * dBns + dBns + gBns);
      expect(counts.get(TORCH_ADAM_UPDATE)).toBe(trainer.G.trainable.length + trainer.D.trainable.length);
      // The plain-op batch norm's rsqrt never ran.
      expect(counts.get("Rsqrt") ?? 0).toBe(0);
    } finally {
      trainer.G.dispose();
      trainer.D.dispose();
      trainer.optG.dispose();
      trainer.optD.dispose();
    }
  });

  it("100 steps leave tensors, the native table and RSS flat", async () => {
    expect((await registerTorchBackend()).available).toBe(true);
    await tf.setBackend("torch");
    const config = parseTrainConfig({ ...tiny, ema: 0.99 });
    const trainer = new GanTrainer(config);
    const size = config.batch_size * config.resolution * config.resolution * 3;
    const data = [batch(size, 1), batch(size, 2)];
    for (let i = 0; i < 5; i++) trainer.trainStep(data[i % 2]);
    const tensors = tf.memory().numTensors;
    const native = nativeStats();
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) trainer.trainStep(data[i % 2]);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = nativeStats();
    expect(after.live).toBe(native.live);
    expect(after.bytes).toBe(native.bytes);
    // Every live tfjs tensor is one native tensor: nothing is held natively that tfjs forgot.
    expect(after.live).toBe(tf.engine().backend.numDataIds());
    const grownMiB = (process.memoryUsage().rss - rss) / 2 ** 20;
    expect(grownMiB, `RSS grew ${grownMiB.toFixed(1)} MiB over 100 steps`).toBeLessThan(48);
    trainer.G.dispose();
    trainer.D.dispose();
    trainer.emaG?.dispose();
    trainer.optG.dispose();
    trainer.optD.dispose();
  });
});
