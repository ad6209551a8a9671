import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { interpolationStripFromCheckpoint, slerp } from "./interpolate.ts";
import { syntheticBatch, tinyConfig } from "./test-helpers.ts";
import { GanTrainer } from "./trainer.ts";

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("latent interpolation", () => {
  it("slerp starts at a, ends at b and keeps a Gaussian-typical norm in between", () => {
    const a = new Float32Array([1, 0, 0]);
    const b = new Float32Array([0, 1, 0]);
    expect(Array.from(slerp(a, b, 0))).toEqual([1, 0, 0]);
    expect(slerp(a, b, 1)[1]).toBeCloseTo(1, 6);
    const mid = slerp(a, b, 0.5);
    expect(Math.hypot(...mid)).toBeCloseTo(1, 6);
  });

  it("renders a strip from a checkpoint whose ends are the two seeds' images", async () => {
    const trainer = new GanTrainer(tinyConfig({ ema: 0.9 }));
    trainer.trainStep(syntheticBatch(4, 32, 1));
    const bytes = await trainer.serialize();
    trainer.dispose();
    const strip = await interpolationStripFromCheckpoint(bytes, { seedA: 1, seedB: 2, steps: 5 });
    expect(strip.count).toBe(5);
    expect(strip.images.length).toBe(5 * 32 * 32 * 3);
    expect(strip.png.subarray(1, 4).toString()).toBe("PNG");
    const frame = 32 * 32 * 3;
    const first = strip.images.subarray(0, frame);
    const last = strip.images.subarray(4 * frame);
    expect(Array.from(first)).not.toEqual(Array.from(last));
  });
});
