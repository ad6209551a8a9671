import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { interpolationStripFromCheckpoint, slerp } from "./interpolate.ts";
import { Prng } from "./random.ts";
import { syntheticBatch, tinyConfig } from "./test-helpers.ts";
import { GanTrainer } from "./trainer.ts";

beforeAll(async () => {
  await selectBackend("wasm");
});

const R = 32;
const FRAME = R * R * 3;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const frame = (images: Float32Array, i: number) => images.subarray(i * FRAME, (i + 1) * FRAME);

async function trainedCheckpoint(): Promise<Uint8Array> {
  const trainer = new GanTrainer(tinyConfig({ ema: 0.9 }));
  trainer.trainStep(syntheticBatch(4, R, 1));
  trainer.trainStep(syntheticBatch(4, R, 2));
  const bytes = await trainer.serialize();
  trainer.dispose();
  return bytes;
}

/** The checkpoint's generator (EMA, as the strip uses) on the given latents, as one batch. */
function generatorImages(checkpoint: Uint8Array, latents: Float32Array[], useEma = true): Float32Array {
  const { trainer } = GanTrainer.fromCheckpoint(checkpoint);
  try {
    const zDim = trainer.arch.zDim;
    const noise = new Float32Array(latents.length * zDim);
    latents.forEach((z, i) => noise.set(z, i * zDim));
    return trainer.generate(noise, latents.length, { chunk: latents.length, useEma });
  } finally {
    trainer.dispose();
  }
}

describe("latent interpolation", () => {
  it("slerp starts at a, ends at b and keeps a Gaussian-typical norm in between", () => {
    const a = new Float32Array([1, 0, 0]);
    const b = new Float32Array([0, 1, 0]);
    expect(Array.from(slerp(a, b, 0))).toEqual([1, 0, 0]);
    expect(slerp(a, b, 1)[1]).toBeCloseTo(1, 6);
    const mid = slerp(a, b, 0.5);
    expect(Math.hypot(...mid)).toBeCloseTo(1, 6);
    // Endpoints are the inputs exactly, not merely close (the strip's end frames are the seeds' images).
    const za = new Prng(1).normal(8);
    const zb = new Prng(2).normal(8);
    expect(Array.from(slerp(za, zb, 0))).toEqual(Array.from(za));
    expect(Array.from(slerp(za, zb, 1))).toEqual(Array.from(zb));
  });

  // Batch norm normalises by the statistics of the batch being generated (trainer.generate, as the
  // PyTorch recipe's grid), so a frame's image is defined within its strip: the references below run
  // the checkpoint's generator on a batch of the same latents, built here from the seeds.
  it("a 2-frame strip is exactly the EMA generator's images for seed A's and seed B's latents", async () => {
    const bytes = await trainedCheckpoint();
    const zDim = tinyConfig().z_dim;
    const za = new Prng(11).normal(zDim);
    const zb = new Prng(22).normal(zDim);
    const strip = await interpolationStripFromCheckpoint(bytes, { seedA: 11, seedB: 22, steps: 2 });
    expect(strip).toMatchObject({ count: 2, resolution: R });
    const want = generatorImages(bytes, [za, zb]);
    expect(maxAbsDiff(frame(strip.images, 0), frame(want, 0))).toBeLessThan(1e-5);
    expect(maxAbsDiff(frame(strip.images, 1), frame(want, 1))).toBeLessThan(1e-5);
    // ...and A's image is not B's, and the EMA generator (not the raw one) drew them.
    expect(maxAbsDiff(frame(strip.images, 0), frame(strip.images, 1))).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(strip.images, generatorImages(bytes, [za, zb], false))).toBeGreaterThan(1e-4);
  });

  it("renders frames in order from seed A to seed B: ends are the seeds' images, reversing the seeds reverses the strip", async () => {
    const bytes = await trainedCheckpoint();
    const zDim = tinyConfig().z_dim;
    const steps = 5;
    const za = new Prng(1).normal(zDim);
    const zb = new Prng(2).normal(zDim);
    const strip = await interpolationStripFromCheckpoint(bytes, { seedA: 1, seedB: 2, steps });
    expect(strip.count).toBe(steps);
    expect(strip.images.length).toBe(steps * FRAME);
    expect(strip.png.subarray(1, 4).toString()).toBe("PNG");

    // Frame i is the latent at t = i / (steps − 1): first = seed A's, last = seed B's.
    const latents = Array.from({ length: steps }, (_, i) => slerp(za, zb, i / (steps - 1)));
    const want = generatorImages(bytes, latents);
    for (let i = 0; i < steps; i++) expect(maxAbsDiff(frame(strip.images, i), frame(want, i)), `frame ${i}`).toBeLessThan(1e-5);
    expect(maxAbsDiff(frame(strip.images, 0), frame(strip.images, steps - 1))).toBeGreaterThan(1e-3);

    // B→A is the same walk backwards (batch statistics do not depend on the order of the batch).
    const reversed = await interpolationStripFromCheckpoint(bytes, { seedA: 2, seedB: 1, steps });
    for (let i = 0; i < steps; i++) {
      expect(maxAbsDiff(frame(strip.images, i), frame(reversed.images, steps - 1 - i)), `frame ${i} vs reversed`).toBeLessThan(1e-4);
    }
    // Consecutive frames are closer to each other than the ends are (a walk, not a shuffle).
    const ends = maxAbsDiff(frame(strip.images, 0), frame(strip.images, steps - 1));
    for (let i = 1; i < steps; i++) expect(maxAbsDiff(frame(strip.images, i - 1), frame(strip.images, i))).toBeLessThan(ends);
  });

  it("refuses fewer than 2 frames", async () => {
    const bytes = await trainedCheckpoint();
    await expect(interpolationStripFromCheckpoint(bytes, { seedA: 1, seedB: 2, steps: 1 })).rejects.toThrow(/steps must be an integer >= 2/);
  });
});
