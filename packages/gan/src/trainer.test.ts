import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { CheckpointError, DivergenceError } from "./errors.ts";
import { syntheticBatch, tinyConfig } from "./test-helpers.ts";
import { GanTrainer, STEP_METRIC_KEYS, type StepMetrics } from "./trainer.ts";

beforeAll(async () => {
  // wasm: several times faster than the pure-JS cpu backend even for these tiny models.
  await selectBackend(process.env.GANBOARD_TEST_BACKEND === "cpu" ? "cpu" : "wasm");
});

const batches = Array.from({ length: 6 }, (_, i) => syntheticBatch(4, 32, 100 + i));

function run(trainer: GanTrainer, from: number, to: number): StepMetrics[] {
  const out: StepMetrics[] = [];
  for (let i = from; i < to; i++) out.push(trainer.trainStep(batches[i]));
  return out;
}

describe("GanTrainer", () => {
  it("one step updates G and D and reports every metric", () => {
    const trainer = new GanTrainer(tinyConfig());
    const g0 = trainer.G.params.get("convT1.weight")!.dataSync().slice();
    const d0 = trainer.D.params.get("conv0.weight")!.dataSync().slice();
    const [m] = run(trainer, 0, 1);
    expect(Object.keys(m).sort()).toEqual([...STEP_METRIC_KEYS].sort());
    for (const key of STEP_METRIC_KEYS) expect(Number.isFinite(m[key])).toBe(true);
    for (const key of ["d_real", "d_fake", "d_fake_after"] as const) {
      expect(m[key]).toBeGreaterThan(0);
      expect(m[key]).toBeLessThan(1);
    }
    expect(m.loss_d).toBeGreaterThan(0);
    expect(m.grad_norm_d).toBeGreaterThan(0);
    expect(m.grad_norm_g).toBeGreaterThan(0);
    // the D step raised D's score on fakes' complement: after it, D rates the same fakes lower
    expect(m.d_fake_after).toBeLessThan(m.d_fake);
    expect(trainer.G.params.get("convT1.weight")!.dataSync()).not.toEqual(g0);
    expect(trainer.D.params.get("conv0.weight")!.dataSync()).not.toEqual(d0);
    expect(trainer.step).toBe(1);
    expect(trainer.optD.t).toBe(1);
    expect(trainer.optG.t).toBe(1);
    trainer.dispose();
  });

  it("d_steps 2 takes two D updates per G update", () => {
    const trainer = new GanTrainer(tinyConfig({ d_steps: 2 }));
    trainer.trainStep([batches[0], batches[1]]);
    expect(trainer.optD.t).toBe(2);
    expect(trainer.optG.t).toBe(1);
    trainer.dispose();
  });

  it("is deterministic for a seed: same seed, same first-step losses; another seed, different", () => {
    const first = (seed: number) => {
      const t = new GanTrainer(tinyConfig({ seed }));
      const m = run(t, 0, 2);
      t.dispose();
      return m;
    };
    expect(first(3)).toEqual(first(3));
    expect(first(4)[0].loss_d).not.toBe(first(3)[0].loss_d);
  });

  it("dispose() frees every tensor the trainer made", () => {
    const before = tf.memory().numTensors;
    const trainer = new GanTrainer(tinyConfig({ ema: 0.9 }));
    run(trainer, 0, 1);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("leaks no tensors across steps (incl. EMA, lsgan and d_steps)", () => {
    for (const overrides of [{}, { ema: 0.99, loss: "lsgan" as const, d_steps: 2 }, { loss: "hinge" as const }]) {
      const trainer = new GanTrainer(tinyConfig(overrides));
      run(trainer, 0, 1);
      const before = tf.memory().numTensors;
      run(trainer, 1, 4);
      expect(tf.memory().numTensors).toBe(before);
      trainer.generate(new Float32Array(3 * 8), 3);
      expect(tf.memory().numTensors).toBe(before);
      trainer.dispose();
    }
  });

  it("EMA: the EMA generator trails G and samples come from it", () => {
    const trainer = new GanTrainer(tinyConfig({ ema: 0.5 }));
    run(trainer, 0, 2);
    const g = trainer.G.params.get("convT1.weight")!.dataSync();
    const e = trainer.emaG!.params.get("convT1.weight")!.dataSync();
    expect(Array.from(e)).not.toEqual(Array.from(g));
    const noise = new Float32Array(2 * 8).fill(0.3);
    expect(Array.from(trainer.generate(noise, 2))).not.toEqual(Array.from(trainer.generate(noise, 2, { useEma: false })));
    trainer.dispose();
  });

  it("checkpoint round-trip: resumed training gives exactly the losses of uninterrupted training", async () => {
    const config = tinyConfig({ ema: 0.9, seed: 9 });
    const uninterrupted = new GanTrainer(config);
    run(uninterrupted, 0, 3);
    const expected = run(uninterrupted, 3, 6);
    uninterrupted.dispose();

    const original = new GanTrainer(config);
    run(original, 0, 3);
    const bytes = await original.serialize({ epoch: 2, stepInEpoch: 1 });
    original.dispose();
    const { trainer, position } = GanTrainer.fromCheckpoint(bytes);
    expect(position).toEqual({ epoch: 2, stepInEpoch: 1 });
    expect(trainer.step).toBe(3);
    expect(trainer.optG.t).toBe(3);
    expect(run(trainer, 3, 6)).toEqual(expected);
    trainer.dispose();
  });

  it("restore accepts changed optimiser hyperparameters (PBT) and refuses another architecture", async () => {
    const config = tinyConfig();
    const t = new GanTrainer(config);
    run(t, 0, 1);
    const bytes = await t.serialize();
    t.dispose();
    const perturbed = GanTrainer.fromCheckpoint(bytes, { ...config, lr_g: config.lr_g * 1.2, lr_d: config.lr_d * 0.8 });
    expect(perturbed.trainer.optG.hyper.lr).toBeCloseTo(config.lr_g * 1.2, 12);
    expect(perturbed.trainer.optD.hyper.lr).toBeCloseTo(config.lr_d * 0.8, 12);
    expect(Number.isFinite(perturbed.trainer.trainStep(batches[1]).loss_g)).toBe(true);
    perturbed.trainer.dispose();
    const before = tf.memory().numTensors;
    expect(() => GanTrainer.fromCheckpoint(bytes, { ...config, ngf: 8 })).toThrow(CheckpointError);
    expect(() => GanTrainer.fromCheckpoint(bytes, { ...config, ngf: 8, resolution: 64 })).toThrow(/resolution 32 → 64, ngf 4 → 8/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("a NaN loss is reported as DivergenceError naming the step and the loss", () => {
    const trainer = new GanTrainer(tinyConfig());
    run(trainer, 0, 1);
    const poisoned = batches[1].slice();
    poisoned[5] = Number.NaN;
    try {
      trainer.trainStep(poisoned);
      expect.unreachable("a NaN batch must not train silently");
    } catch (error) {
      expect(error).toBeInstanceOf(DivergenceError);
      expect((error as DivergenceError).step).toBe(2);
      expect((error as Error).message).toMatch(/step 2: loss_d is NaN/);
    }
    trainer.dispose();
  });

  it("rejects a batch of the wrong size", () => {
    const trainer = new GanTrainer(tinyConfig());
    expect(() => trainer.trainStep(new Float32Array(10))).toThrow(/expected 4×32×32×3/);
    trainer.dispose();
  });
});
