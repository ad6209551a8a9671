import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { applyRunningUpdates, batchNormTrain, BN_EPSILON, Discriminator, Generator, type RunningUpdate } from "./model.ts";
import { Prng } from "./random.ts";

beforeAll(async () => {
  await selectBackend("cpu");
});

describe("DCGAN shapes", () => {
  for (const resolution of [32, 64, 128]) {
    it(`G: z → ${resolution}px image in (-1, 1); D: image → one logit (${resolution}px)`, () => {
      const arch = { resolution, zDim: 6, ngf: 2, ndf: 2 };
      const G = new Generator(arch, new Prng(1));
      const D = new Discriminator(arch, new Prng(2));
      const layers = Math.log2(resolution) - 2;
      // channel schedule as in the PyTorch recipe: G widest first, D doubling
      expect(G.channels).toEqual(Array.from({ length: layers }, (_, i) => 2 * 2 ** (layers - 1 - i)));
      expect(D.channels).toEqual(Array.from({ length: layers }, (_, i) => 2 * 2 ** i));
      tf.tidy(() => {
        const img = G.apply(tf.tensor2d(new Prng(3).normal(3 * 6), [3, 6]));
        expect(img.shape).toEqual([3, resolution, resolution, 3]);
        const values = Array.from(img.dataSync());
        expect(values.reduce((m, v) => Math.max(m, v), -Infinity)).toBeLessThan(1);
        expect(values.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThan(-1);
        expect(D.apply(img).shape).toEqual([3]);
      });
      // no biases: D has one weight per conv + BN γ/β on all but the first; G BN on all but the last
      expect([...D.params.keys()].filter((k) => k.endsWith("weight"))).toHaveLength(layers + 1);
      expect([...D.params.keys()].filter((k) => k.endsWith("gamma"))).toHaveLength(layers - 1);
      expect([...G.params.keys()].filter((k) => k.endsWith("gamma"))).toHaveLength(layers);
      G.dispose();
      D.dispose();
    });
  }
});

describe("initialisation", () => {
  it("weights ~ N(0, 0.02), BN γ ~ N(1, 0.02), β = 0, running stats 0 / 1", () => {
    const G = new Generator({ resolution: 64, zDim: 100, ngf: 16, ndf: 16 }, new Prng(7));
    const stats = (v: tf.Tensor) => {
      const a = Array.from(v.dataSync());
      const mean = a.reduce((s, x) => s + x, 0) / a.length;
      const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
      return { mean, std, n: a.length };
    };
    const w = stats(G.params.get("convT1.weight")!); // 4·4·64·128 values
    expect(Math.abs(w.mean)).toBeLessThan(0.001);
    expect(w.std).toBeGreaterThan(0.0195);
    expect(w.std).toBeLessThan(0.0205);
    const allGammas = tf.concat([...G.params.entries()].filter(([k]) => k.endsWith("gamma")).map(([, v]) => v));
    const g = stats(allGammas);
    expect(Math.abs(g.mean - 1)).toBeLessThan(0.005);
    expect(g.std).toBeGreaterThan(0.015);
    expect(g.std).toBeLessThan(0.025);
    allGammas.dispose();
    for (const [k, v] of G.params) if (k.endsWith("beta")) expect(Math.max(...Array.from(v.dataSync(), Math.abs))).toBe(0);
    expect([...G.buffers.get("bn0.running_mean")!.dataSync()].every((x) => x === 0)).toBe(true);
    expect([...G.buffers.get("bn0.running_var")!.dataSync()].every((x) => x === 1)).toBe(true);
    G.dispose();
  });

  it("the same seed gives the same weights, another seed different ones", () => {
    const arch = { resolution: 32, zDim: 4, ngf: 2, ndf: 2 };
    const a = new Generator(arch, new Prng(5)).params.get("convT1.weight")!.dataSync();
    const b = new Generator(arch, new Prng(5)).params.get("convT1.weight")!.dataSync();
    const c = new Generator(arch, new Prng(6)).params.get("convT1.weight")!.dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});

describe("batch norm (PyTorch semantics)", () => {
  it("train mode normalises by batch mean and biased variance with eps 1e-5", () => {
    const x = Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 3));
    const gamma = [1.5, 0.5, 2];
    const beta = [0.1, -0.2, 0.3];
    const { y, mean, variance } = batchNormTrain(tf.tensor4d(x, [2, 2, 2, 3]), tf.tensor1d(gamma), tf.tensor1d(beta));
    const yv = y.dataSync();
    for (let c = 0; c < 3; c++) {
      const vals = x.filter((_, i) => i % 3 === c);
      const m = vals.reduce((s, v) => s + v, 0) / vals.length;
      const v = vals.reduce((s, u) => s + (u - m) ** 2, 0) / vals.length;
      expect(mean.dataSync()[c]).toBeCloseTo(m, 5);
      expect(variance.dataSync()[c]).toBeCloseTo(v, 4);
      for (let i = c, k = 0; i < x.length; i += 3, k++) {
        expect(yv[i]).toBeCloseTo(((x[i] - m) / Math.sqrt(v + BN_EPSILON)) * gamma[c] + beta[c], 4);
      }
    }
  });

  it("running stats: 0.9·old + 0.1·batch, with the unbiased variance", () => {
    const arch = { resolution: 32, zDim: 5, ngf: 2, ndf: 2 };
    const G = new Generator(arch, new Prng(11));
    const z = tf.tensor2d(new Prng(12).normal(3 * 5), [3, 5]);
    // bn0 sees z·W reshaped to [3, 4, 4, C]
    const h = tf.reshape(tf.matMul(z, G.params.get("fc.weight")!), [3, 4, 4, G.channels[0]]).dataSync();
    const C = G.channels[0];
    const updates: RunningUpdate[] = [];
    tf.tidy(() => G.apply(z, "train", updates));
    applyRunningUpdates(updates);
    const rm = G.buffers.get("bn0.running_mean")!.dataSync();
    const rv = G.buffers.get("bn0.running_var")!.dataSync();
    for (let c = 0; c < C; c++) {
      const vals = Array.from(h).filter((_, i) => i % C === c);
      const n = vals.length; // 3·4·4 = 48
      const m = vals.reduce((s, v) => s + v, 0) / n;
      const unbiased = vals.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1);
      expect(rm[c]).toBeCloseTo(0.1 * m, 6);
      expect(rv[c]).toBeCloseTo(0.9 + 0.1 * unbiased, 6);
    }
    G.dispose();
    z.dispose();
  });
});

/** Direct implementations of PyTorch's ConvTranspose2d / Conv2d definitions (NHWC, one image). */
function torchConvTranspose(x: number[], H: number, Ci: number, w: number[], Co: number, k: number, s: number, p: number): number[] {
  const Ho = (H - 1) * s - 2 * p + k;
  const out = new Array(Ho * Ho * Co).fill(0);
  for (let iy = 0; iy < H; iy++)
    for (let ix = 0; ix < H; ix++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const oy = iy * s - p + ky;
          const ox = ix * s - p + kx;
          if (oy < 0 || ox < 0 || oy >= Ho || ox >= Ho) continue;
          for (let co = 0; co < Co; co++)
            for (let ci = 0; ci < Ci; ci++) out[(oy * Ho + ox) * Co + co] += x[(iy * H + ix) * Ci + ci] * w[((ky * k + kx) * Co + co) * Ci + ci];
        }
  return out;
}
function torchConv(x: number[], H: number, Ci: number, w: number[], Co: number, k: number, s: number, p: number): number[] {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const out = new Array(Ho * Ho * Co).fill(0);
  for (let oy = 0; oy < Ho; oy++)
    for (let ox = 0; ox < Ho; ox++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const iy = oy * s - p + ky;
          const ix = ox * s - p + kx;
          if (iy < 0 || ix < 0 || iy >= H || ix >= H) continue;
          for (let ci = 0; ci < Ci; ci++)
            for (let co = 0; co < Co; co++) out[(oy * Ho + ox) * Co + co] += x[(iy * H + ix) * Ci + ci] * w[((ky * k + kx) * Ci + ci) * Co + co];
        }
  return out;
}

describe("padding matches PyTorch k4 s2 p1", () => {
  const rng = new Prng(21);
  it("conv2dTranspose 'same' stride 2 = ConvTranspose2d(k4, s2, p1): output 2× input, same values", () => {
    const H = 3, Ci = 2, Co = 3;
    const x = Array.from(rng.normal(H * H * Ci));
    const w = Array.from(rng.normal(16 * Co * Ci)); // [kh, kw, out, in] as tfjs stores it
    const expected = torchConvTranspose(x, H, Ci, w, Co, 4, 2, 1);
    const got = tf.conv2dTranspose(tf.tensor4d(x, [1, H, H, Ci]), tf.tensor4d(w, [4, 4, Co, Ci]), [1, 2 * H, 2 * H, Co], 2, "same").dataSync();
    expect(got.length).toBe(expected.length);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  });
  it("conv2d 'same' stride 2 = Conv2d(k4, s2, p1): output ½ input, same values", () => {
    const H = 6, Ci = 2, Co = 3;
    const x = Array.from(rng.normal(H * H * Ci));
    const w = Array.from(rng.normal(16 * Ci * Co));
    const expected = torchConv(x, H, Ci, w, Co, 4, 2, 1);
    const got = tf.conv2d(tf.tensor4d(x, [1, H, H, Ci]), tf.tensor4d(w, [4, 4, Ci, Co]), 2, "same").dataSync();
    expect(got.length).toBe(expected.length);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  });
});
