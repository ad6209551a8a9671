import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { msSsim, msSsimDiversity } from "./ms-ssim.ts";
import { blobImages, noiseImages, withNoise } from "./testing-images.ts";
import type { ImageBatch } from "./images.ts";

const reference = JSON.parse(readFileSync(new URL("./fixtures/reference.json", import.meta.url), "utf8")) as {
  msssim: { name: string; resolution: number; a: number[]; b: number[]; msssim: number }[];
};

function image(set: ImageBatch, i: number) {
  const size = set.resolution * set.resolution * 3;
  return { pixels: set.pixels.subarray(i * size, (i + 1) * size), resolution: set.resolution };
}

describe("msSsim", () => {
  it("matches a direct numpy port of PGGAN's ms_ssim.py (incl. the shrunk windows at 16 and 32px)", () => {
    expect(reference.msssim.length).toBe(3);
    for (const c of reference.msssim) {
      const got = msSsim({ pixels: c.a, resolution: c.resolution }, { pixels: c.b, resolution: c.resolution });
      expect(Math.abs(got - c.msssim) / c.msssim, c.name).toBeLessThan(1e-9);
    }
  });

  it("is 1 for an image with itself and falls as noise grows", () => {
    const set = blobImages(1, 32, 3);
    expect(msSsim(image(set, 0), image(set, 0))).toBeCloseTo(1, 12);
    const scores = [5, 15, 40, 90].map((sigma) => msSsim(image(set, 0), image(withNoise(set, sigma, 1), 0)));
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThan(scores[i - 1]);
    expect(scores[0]).toBeLessThan(1);
    expect(scores[3]).toBeGreaterThanOrEqual(0);
  });

  it("works at 64px and rejects images too small for 5 scales", () => {
    const set = blobImages(2, 64, 4);
    const s = msSsim(image(set, 0), image(set, 1));
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(1);
    const tiny = blobImages(2, 8, 1);
    expect(() => msSsim(image(tiny, 0), image(tiny, 1))).toThrow(/at least 16px/);
    expect(() => msSsim(image(set, 0), image(blobImages(1, 32, 1), 0))).toThrow(/same size/);
  });
});

describe("msSsimDiversity", () => {
  it("is 1 for a set of identical images, low for random noise, in between for varied images", () => {
    const one = blobImages(1, 32, 9);
    const copies: ImageBatch = { pixels: new Uint8Array(20 * one.pixels.length), count: 20, resolution: 32 };
    for (let i = 0; i < 20; i++) copies.pixels.set(one.pixels, i * one.pixels.length);
    expect(msSsimDiversity(copies)).toBeCloseTo(1, 12);
    const noise = msSsimDiversity(noiseImages(20, 32, 1));
    expect(noise).toBeLessThan(0.05);
    const varied = msSsimDiversity(blobImages(40, 32, 2));
    expect(varied).toBeGreaterThan(noise);
    expect(varied).toBeLessThan(0.9);
  });

  it("flags a collapsed set: near-duplicates score above the varied real baseline", () => {
    const real = blobImages(40, 32, 5);
    const base = blobImages(1, 32, 6);
    const collapsed: ImageBatch = { pixels: new Uint8Array(40 * base.pixels.length), count: 40, resolution: 32 };
    for (let i = 0; i < 40; i++) collapsed.pixels.set(withNoise(base, 6, i).pixels, i * base.pixels.length);
    expect(msSsimDiversity(collapsed)).toBeGreaterThan(msSsimDiversity(real) + 0.2);
  });

  it("is deterministic for a seed, honours pairs, and rejects impossible requests", () => {
    const set = blobImages(30, 32, 7);
    expect(msSsimDiversity(set, { seed: 3 })).toBe(msSsimDiversity(set, { seed: 3 }));
    expect(msSsimDiversity(set, { seed: 3, pairs: 5 })).not.toBe(msSsimDiversity(set, { seed: 3 }));
    expect(() => msSsimDiversity(set, { pairs: 16 })).toThrow(/32 images/);
    expect(() => msSsimDiversity(blobImages(1, 32, 1))).toThrow(/at least 2 images/);
  });
});
