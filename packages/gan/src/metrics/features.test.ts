import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { configuredInceptionPath, FeatureModelError, loadGraphModelExtractor, resizeBilinearInto } from "./features.ts";
import { fidFromFeatures } from "./fid.ts";
import { blobImages } from "./testing-images.ts";
import { TINY_MODEL_PROJECTION as PROJECTION, writeTinyGraphModel } from "./testing-models.ts";

let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ganboard-features-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("resizeBilinearInto", () => {
  it("matches tf.image.resizeBilinear with half-pixel centres, up and down", () => {
    const set = blobImages(1, 16, 3);
    for (const size of [7, 16, 37]) {
      const out = new Float32Array(size * size * 3);
      resizeBilinearInto(set.pixels, 16, size, size, out);
      const expected = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(set.pixels, [16, 16, 3], "float32"), [size, size], false, true).dataSync());
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-3);
    }
  });
});

describe("loadGraphModelExtractor", () => {
  it("loads a graph model from disk and returns per-image features (resized, scaled to the declared range)", async () => {
    const dir = join(root, "tiny");
    await writeTinyGraphModel(dir, { inputRange: [0, 255] });
    const extractor = await loadGraphModelExtractor(dir);
    expect(extractor.dims).toBe(4);
    const set = blobImages(5, 16, 1); // 16px → resized to the model's 8px input
    const before = tf.memory().numTensors;
    const features = await extractor.extract(set, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(features.length).toBe(5 * 4);
    // Bilinear 2× downscale of an image keeps the channel means close: check against the model's formula.
    for (let i = 0; i < 5; i++) {
      const mean = [0, 0, 0];
      for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) mean[c] += set.pixels[(i * 256 + p) * 3 + c] / 256;
      for (let k = 0; k < 4; k++) {
        const expected = mean[0] * PROJECTION[k] + mean[1] * PROJECTION[4 + k] + mean[2] * PROJECTION[8 + k];
        expect(Math.abs(features[i * 4 + k] - expected)).toBeLessThan(12);
      }
    }
    const fid = fidFromFeatures({ data: features, count: 5, dims: 4 }, { data: features, count: 5, dims: 4 });
    expect(Math.abs(fid)).toBeLessThan(1e-6);
    extractor.dispose();
  });

  it("scales to [-1, 1] by default and feeds same-size images without resizing", async () => {
    const dir = join(root, "default-range");
    await writeTinyGraphModel(dir);
    const extractor = await loadGraphModelExtractor(join(dir, "model.json"));
    const white = { pixels: new Uint8Array(8 * 8 * 3).fill(255), count: 1, resolution: 8 };
    const features = await extractor.extract(white);
    expect(Array.from(features)).toEqual([1, 1, 1, -0.5].map((v, k) => PROJECTION[k] + PROJECTION[4 + k] + PROJECTION[8 + k]).map((v) => Math.fround(v)));
    extractor.dispose();
  });

  it("explains what is wrong with a missing or broken model", async () => {
    await expect(loadGraphModelExtractor(join(root, "nope"))).rejects.toThrow(/Feature model not found/);
    await mkdir(join(root, "empty"));
    await expect(loadGraphModelExtractor(join(root, "empty"))).rejects.toThrow(/without a model.json/);
    const broken = join(root, "broken");
    await writeTinyGraphModel(broken);
    await rm(join(broken, "group1-shard1of1.bin"));
    await expect(loadGraphModelExtractor(broken)).rejects.toThrow(FeatureModelError);
    await expect(loadGraphModelExtractor(broken)).rejects.toThrow(/group1-shard1of1.bin/);
    await writeFile(join(root, "not-a-model.json"), "{\"hello\": 1}");
    await expect(loadGraphModelExtractor(join(root, "not-a-model.json"))).rejects.toThrow(/not a TF.js model.json/);
  });

  it("reads the model path from the option, else GANBOARD_INCEPTION_MODEL", () => {
    const saved = process.env.GANBOARD_INCEPTION_MODEL;
    try {
      delete process.env.GANBOARD_INCEPTION_MODEL;
      expect(configuredInceptionPath()).toBeNull();
      process.env.GANBOARD_INCEPTION_MODEL = "/models/inception";
      expect(configuredInceptionPath()).toBe("/models/inception");
      expect(configuredInceptionPath("/explicit")).toBe("/explicit");
    } finally {
      if (saved === undefined) delete process.env.GANBOARD_INCEPTION_MODEL;
      else process.env.GANBOARD_INCEPTION_MODEL = saved;
    }
  });
});
