import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.ts";
import { bceWithLogits, discriminatorLoss, generatorLoss } from "./losses.ts";

beforeAll(async () => {
  await selectBackend("cpu");
});

const real = [2, -1, 0.5];
const fake = [-3, 0, 1];
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const bce = (l: number[], t: number) => mean(l.map((x) => -(t * Math.log(sig(x)) + (1 - t) * Math.log(1 - sig(x)))));
const value = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]);

describe("losses on known logits", () => {
  it("bce: D = BCE(real, 1) + BCE(fake, 0); G non-saturating = BCE(fake, 1)", () => {
    expect(value(() => discriminatorLoss("bce", tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(bce(real, 1) + bce(fake, 0), 5);
    expect(value(() => generatorLoss("bce", tf.tensor1d(fake)))).toBeCloseTo(bce(fake, 1), 5);
  });
  it("bce with one-sided label smoothing: real target 0.9, fake target stays 0", () => {
    expect(value(() => discriminatorLoss("bce", tf.tensor1d(real), tf.tensor1d(fake), 0.1))).toBeCloseTo(bce(real, 0.9) + bce(fake, 0), 5);
  });
  it("bce is stable for large logits", () => {
    expect(value(() => bceWithLogits(tf.tensor1d([100, -100]), 1))).toBeCloseTo(50, 3);
  });
  it("lsgan: ½E[(D(x)−1)²] + ½E[D(G(z))²]; G ½E[(D(G(z))−1)²]", () => {
    const d = 0.5 * mean(real.map((x) => (x - 1) ** 2)) + 0.5 * mean(fake.map((x) => x ** 2));
    expect(value(() => discriminatorLoss("lsgan", tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(d, 5);
    expect(value(() => generatorLoss("lsgan", tf.tensor1d(fake)))).toBeCloseTo(0.5 * mean(fake.map((x) => (x - 1) ** 2)), 5);
  });
  it("hinge: E[max(0, 1−D(x))] + E[max(0, 1+D(G(z)))]; G −E[D(G(z))]", () => {
    const d = mean(real.map((x) => Math.max(0, 1 - x))) + mean(fake.map((x) => Math.max(0, 1 + x)));
    expect(value(() => discriminatorLoss("hinge", tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(d, 5);
    expect(value(() => generatorLoss("hinge", tf.tensor1d(fake)))).toBeCloseTo(-mean(fake), 5);
  });
});
