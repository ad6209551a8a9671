/**
 * Every torch kernel against tfjs's cpu backend: same ops, same inputs, values/shapes/dtypes compared.
 * Runs only where the addon was built (it is on this machine and CI, where libtorch-dev is installed).
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KERNEL_NAMES, TORCH_ADAM_UPDATE, TORCH_BATCH_NORM_TRAIN, TorchBackend, kernelCallCounts, nativeStats, nativeStatus,
  registerTorchBackend, resetKernelCallCounts,
} from "./index.ts";

const status = nativeStatus();
if (!status.built) console.warn(`[tfjs-backend-torch] kernel tests skipped: ${status.reason}`);

/** Deterministic data (no Math.random in tests). */
function rand(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const T = (shape: number[], seed: number, lo?: number, hi?: number): tf.Tensor => tf.tensor(rand(size(shape), seed, lo, hi), shape);
const I = (shape: number[], seed: number, lo: number, hi: number): tf.Tensor =>
  tf.tensor(Int32Array.from(rand(size(shape), seed, lo, hi), Math.floor), shape, "int32");

interface Result {
  shape: number[];
  dtype: string;
  values: number[];
}

function runOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Result[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const out = f();
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
  });
}

/** Max error relative to the reference's scale (max |value|, at least 1): float32 summation-order noise. */
function check(name: string, f: () => tf.Tensor | tf.Tensor[], tol = 1e-5): void {
  const want = runOn("cpu", f);
  let got: Result[];
  try {
    got = runOn("torch", f);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
  expect(got.length, name).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    expect(got[k].shape, `${name}[${k}] shape`).toEqual(want[k].shape);
    expect(got[k].dtype, `${name}[${k}] dtype`).toBe(want[k].dtype);
    const scale = Math.max(1, ...want[k].values.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
    let worst = 0;
    for (let i = 0; i < want[k].values.length; i++) {
      const a = got[k].values[i];
      const b = want[k].values[i];
      if (Number.isNaN(b) || !Number.isFinite(b)) {
        expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${name}[${k}] at ${i}: ${a} vs ${b}`).toBe(true);
        continue;
      }
      worst = Math.max(worst, Math.abs(a - b) / Math.max(Math.abs(b), scale * 1e-2, 1e-6));
    }
    expect(worst, `${name}[${k}] relative error`).toBeLessThan(tol);
  }
}

describe.skipIf(!status.built)("torch kernels match the cpu backend", () => {
  beforeAll(async () => {
    const s = await registerTorchBackend();
    expect(s.available).toBe(true);
    await tf.setBackend("torch");
    (tf.backend() as TorchBackend).checkOutputs = true;
    resetKernelCallCounts();
  });
  afterAll(() => {
    tf.setBackend("torch");
    (tf.backend() as TorchBackend).checkOutputs = false;
  });

  it("unary elementwise ops (float32, and int32 where tfjs allows)", () => {
    const x = (): tf.Tensor => T([2, 3, 4], 1, -3, 3);
    const pos = (): tf.Tensor => T([2, 3, 4], 2, 0.1, 4);
    const unit = (): tf.Tensor => T([2, 3, 4], 3, -0.95, 0.95);
    const ops: [string, () => tf.Tensor][] = [
      ["abs", () => tf.abs(x())], ["neg", () => tf.neg(x())], ["exp", () => tf.exp(x())], ["log", () => tf.log(pos())],
      ["log1p", () => tf.log1p(pos())], ["sqrt", () => tf.sqrt(pos())], ["rsqrt", () => tf.rsqrt(pos())],
      ["square", () => tf.square(x())], ["tanh", () => tf.tanh(x())], ["sigmoid", () => tf.sigmoid(x())],
      ["softplus", () => tf.softplus(T([50], 4, -30, 30))], ["relu", () => tf.relu(x())], ["relu6", () => tf.relu6(tf.mul(x(), 3))],
      ["elu", () => tf.elu(x())], ["selu", () => tf.selu(x())], ["floor", () => tf.floor(x())], ["ceil", () => tf.ceil(x())],
      ["round", () => tf.round(tf.tensor1d([0.5, 1.5, 2.5, -0.5, -1.5, 1.2, -2.7]))], ["sign", () => tf.sign(tf.tensor1d([-2, 0, 3]))],
      ["step", () => tf.step(tf.tensor1d([-1, 0, 2, NaN]), 0.3)], ["leakyRelu", () => tf.leakyRelu(x(), 0.2)],
      ["reciprocal", () => tf.reciprocal(pos())], ["sin", () => tf.sin(x())], ["cos", () => tf.cos(x())],
      ["expm1", () => tf.expm1(x())], ["erf", () => tf.erf(x())], ["tan", () => tf.tan(unit())], ["asin", () => tf.asin(unit())],
      ["acos", () => tf.acos(unit())], ["atan", () => tf.atan(x())], ["sinh", () => tf.sinh(x())], ["cosh", () => tf.cosh(x())],
      ["asinh", () => tf.asinh(x())], ["acosh", () => tf.acosh(tf.add(pos(), 1))], ["atanh", () => tf.atanh(unit())],
      ["isNaN", () => tf.isNaN(tf.tensor1d([1, NaN, Infinity]))], ["isInf", () => tf.isInf(tf.tensor1d([1, NaN, -Infinity]))],
      ["isFinite", () => tf.isFinite(tf.tensor1d([1, NaN, Infinity]))], ["logicalNot", () => tf.logicalNot(tf.tensor1d([1, 0, 1], "bool"))],
      ["zerosLike", () => tf.zerosLike(x())], ["onesLike", () => tf.onesLike(I([3], 1, -5, 5))], ["clone", () => tf.clone(x())],
      ["clipByValue", () => tf.clipByValue(x(), -1, 0.5)], ["prelu", () => tf.prelu(x(), T([4], 5, 0, 0.5))],
      ["abs int", () => tf.abs(I([5], 6, -9, 9))], ["neg int", () => tf.neg(I([5], 7, -9, 9))], ["relu int", () => tf.relu(I([5], 8, -9, 9))],
      ["square int", () => tf.square(I([5], 9, -9, 9))],
    ];
    for (const [name, f] of ops) check(name, f);
  });

  it("binary ops with broadcasting, both dtypes", () => {
    const shapes: [number[], number[]][] = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[3, 1], [1, 4]], [[2, 3], []]];
    for (const [sa, sb] of shapes) {
      const a = (): tf.Tensor => tf.round(tf.mul(T(sa, 11, -3, 3), 2)).div(2); // repeated values exercise == and <=
      const b = (): tf.Tensor => tf.round(tf.mul(T(sb, 12, -3, 3), 2)).div(2).add(0.25);
      const ops: [string, () => tf.Tensor][] = [
        ["add", () => tf.add(a(), b())], ["sub", () => tf.sub(a(), b())], ["mul", () => tf.mul(a(), b())],
        ["div", () => tf.div(a(), b())], ["floorDiv", () => tf.floorDiv(a(), b())], ["mod", () => tf.mod(a(), b())],
        ["maximum", () => tf.maximum(a(), b())], ["minimum", () => tf.minimum(a(), b())], ["pow", () => tf.pow(tf.abs(a()).add(0.5), b())],
        ["squaredDifference", () => tf.squaredDifference(a(), b())], ["equal", () => tf.equal(a(), tf.round(b()))],
        ["notEqual", () => tf.notEqual(a(), tf.round(b()))], ["less", () => tf.less(a(), b())], ["lessEqual", () => tf.lessEqual(a(), tf.round(b()))],
        ["greater", () => tf.greater(a(), b())], ["greaterEqual", () => tf.greaterEqual(a(), tf.round(b()))],
        ["logicalAnd", () => tf.logicalAnd(tf.greater(a(), 0), tf.greater(b(), 0))], ["logicalOr", () => tf.logicalOr(tf.greater(a(), 0), tf.greater(b(), 0))],
        ["logicalXor", () => tf.logicalXor(tf.greater(a(), 0), tf.greater(b(), 0))], ["atan2", () => tf.atan2(a(), b())],
        ["divNoNan", () => tf.divNoNan(a(), tf.round(b()))],
        ["add int", () => tf.add(I(sa, 13, -9, 9), I(sb, 14, -9, 9))], ["mul int", () => tf.mul(I(sa, 15, -9, 9), I(sb, 16, -9, 9))],
        ["sub int", () => tf.sub(I(sa, 17, -9, 9), I(sb, 18, -9, 9))], ["maximum int", () => tf.maximum(I(sa, 19, -9, 9), I(sb, 20, -9, 9))],
        ["floorDiv int", () => tf.floorDiv(I(sa, 21, -9, 9), I(sb, 22, 1, 9))], ["div int", () => tf.div(I(sa, 23, -9, 9), I(sb, 24, 1, 9))],
        ["mod int", () => tf.mod(I(sa, 25, -9, 9), I(sb, 26, 1, 9))],
      ];
      for (const [name, f] of ops) check(`${name} ${JSON.stringify(sa)}x${JSON.stringify(sb)}`, f);
    }
    check("addN", () => tf.addN([T([3, 4], 1), T([3, 4], 2), T([3, 4], 3)]));
  });

  it("reductions over axes, keepDims, dtypes", () => {
    const x = (): tf.Tensor => T([3, 4, 5], 31, -2, 2);
    for (const axis of [undefined, 0, 1, 2, -1, [0, 2], [1, 2]] as (number | number[] | undefined)[]) {
      for (const keep of [false, true]) {
        const tag = `${JSON.stringify(axis)} keep=${keep}`;
        check(`sum ${tag}`, () => tf.sum(x(), axis, keep));
        check(`mean ${tag}`, () => tf.mean(x(), axis, keep));
        check(`max ${tag}`, () => tf.max(x(), axis, keep));
        check(`min ${tag}`, () => tf.min(x(), axis, keep));
        check(`prod ${tag}`, () => tf.prod(T([3, 4, 5], 32, 0.5, 1.5), axis, keep));
        check(`all ${tag}`, () => tf.all(tf.greater(x(), -1.5), axis, keep));
        check(`any ${tag}`, () => tf.any(tf.greater(x(), 1.5), axis, keep));
        check(`sum int ${tag}`, () => tf.sum(I([3, 4, 5], 33, -9, 9), axis, keep));
        check(`sum bool ${tag}`, () => tf.sum(tf.greater(x(), 0), axis, keep));
        check(`max int ${tag}`, () => tf.max(I([3, 4, 5], 34, -9, 9), axis, keep));
      }
    }
    for (const axis of [0, 1, 2]) {
      check(`argMax ${axis}`, () => tf.argMax(x(), axis));
      check(`argMin ${axis}`, () => tf.argMin(x(), axis));
    }
    check("mean int", () => tf.mean(I([4, 5], 35, -9, 9), 1));
    check("mean scalar", () => tf.mean(tf.scalar(3)));
    for (const [exclusive, reverse] of [[false, false], [true, false], [false, true], [true, true]]) {
      check(`cumsum ${exclusive} ${reverse}`, () => tf.cumsum(T([3, 5], 36), 1, exclusive, reverse));
      check(`cumsum axis0 ${exclusive} ${reverse}`, () => tf.cumsum(T([3, 5], 37), 0, exclusive, reverse));
      check(`cumprod ${exclusive} ${reverse}`, () => tf.cumprod(T([3, 5], 38, 0.5, 1.5), 1, exclusive, reverse));
    }
    check("softmax", () => tf.softmax(T([3, 7], 39, -5, 5)));
  });

  it("shape ops: reshape, transpose, slicing, concat, stack, pad, gather, topk, fill, range, oneHot, select, cast", () => {
    const x = (): tf.Tensor => T([2, 3, 4], 41);
    check("reshape", () => tf.reshape(x(), [4, -1]));
    check("transpose", () => tf.transpose(x(), [2, 0, 1]));
    check("transpose 4d", () => tf.transpose(T([2, 3, 4, 5], 42), [0, 3, 1, 2]));
    check("broadcastTo", () => tf.broadcastTo(T([3, 1], 43), [2, 3, 4]));
    check("tile", () => tf.tile(x(), [2, 1, 3]));
    check("reverse", () => tf.reverse(x(), [0, 2]));
    check("slice", () => tf.slice(x(), [1, 0, 1], [1, -1, 2]));
    check("slice of transposed (strided view)", () => tf.slice(tf.transpose(x(), [2, 1, 0]), [1, 1, 0], [2, 2, 2]).add(1));
    check("stridedSlice step 2", () => tf.stridedSlice(x(), [0, 0, 0], [2, 3, 4], [1, 2, 2]));
    check("stridedSlice negative", () => tf.stridedSlice(x(), [1, 2, 3], [-3, -4, 0], [-1, -1, -2], 0, 0));
    check("stridedSlice masks", () => tf.stridedSlice(x(), [1, 0, 0], [2, 0, 3], [1, 1, 1], 2, 2, 0, 0, 1));
    check("stridedSlice newAxis", () => tf.stridedSlice(x(), [0, 0], [1, 2], [1, 1], 0, 0, 0, 1, 0));
    check("concat axis 0", () => tf.concat([x(), T([1, 3, 4], 44)], 0));
    check("concat axis -1", () => tf.concat([x(), T([2, 3, 1], 45), T([2, 3, 0], 46)], -1));
    check("concat int", () => tf.concat([I([2, 2], 47, 0, 9), I([2, 3], 48, 0, 9)], 1));
    check("stack", () => tf.stack([T([3, 4], 1), T([3, 4], 2)], 1));
    check("unstack", () => tf.unstack(x(), 1));
    check("split", () => tf.split(x(), [1, 3], 2));
    check("split even", () => tf.split(x(), 3, 1));
    check("pad", () => tf.pad(x(), [[1, 0], [0, 2], [1, 1]], 0.5));
    check("mirrorPad reflect", () => tf.mirrorPad(T([3, 4], 49), [[2, 1], [1, 3]], "reflect"));
    check("mirrorPad symmetric", () => tf.mirrorPad(T([1, 4, 5, 2], 50), [[0, 0], [2, 3], [3, 1], [0, 0]], "symmetric"));
    check("gather axis 0", () => tf.gather(x(), tf.tensor1d([1, 0, 1], "int32"), 0));
    check("gather axis 2, 2-D indices", () => tf.gather(x(), tf.tensor2d([[3, 0], [1, 1]], [2, 2], "int32"), 2));
    check("topk", () => Object.values(tf.topk(T([3, 9], 51), 4)));
    check("fill", () => tf.fill([2, 3], 1.5));
    check("fill int", () => tf.fill([4], 7, "int32"));
    check("range", () => tf.range(0, 10, 3));
    check("range negative float", () => tf.range(5, -2, -1.5));
    check("range int", () => tf.range(1, 9, 2, "int32"));
    check("oneHot", () => tf.oneHot(tf.tensor1d([0, 3, 1, 7], "int32"), 4, 2, -1));
    check("where", () => tf.where(tf.greater(x(), 0), x(), tf.neg(x())));
    check("where broadcast condition", () => tf.where(tf.tensor1d([1, 0, 0, 1], "bool"), x(), tf.zerosLike(x())));
    // (tfjs's cpu Select mishandles a rank-1 condition with rank > 1 values, so that form is checked by hand.)
    tf.setBackend("torch");
    const rows = tf.tidy(() => {
      const t = tf.range(1, 7).reshape([2, 3]);
      return (tf.engine().runKernel("Select", { condition: tf.tensor1d([1, 0], "bool"), t, e: tf.zerosLike(t) }, {}) as tf.Tensor).arraySync();
    });
    expect(rows).toEqual([[1, 2, 3], [0, 0, 0]]);
    // tf.broadcastTo lowers to Tile; the BroadcastTo kernel is reached by runKernel (as tfjs-converter does).
    const b = tf.tidy(() => (tf.engine().runKernel("BroadcastTo", { x: tf.tensor2d([[1], [2]]) }, { shape: [3, 2, 2], inputShape: [2, 1] }) as tf.Tensor).arraySync());
    expect(b).toEqual([[[1, 1], [2, 2]], [[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
    check("cast float->int", () => tf.cast(T([7], 52, -5, 5), "int32"));
    check("cast int->float", () => tf.cast(I([7], 53, -5, 5), "float32"));
    check("cast float->bool", () => tf.cast(tf.tensor1d([0, 1.5, -2, 0]), "bool"));
    check("expandDims+squeeze", () => tf.squeeze(tf.expandDims(x(), 1), [1]));
  });

  it("matmul: transposes, batches, broadcast, fused bias and activations", () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = (): tf.Tensor2D => T(ta ? [5, 3] : [3, 5], 61) as tf.Tensor2D;
      const b = (): tf.Tensor2D => T(tb ? [4, 5] : [5, 4], 62) as tf.Tensor2D;
      check(`matMul ${ta} ${tb}`, () => tf.matMul(a(), b(), ta, tb));
    }
    check("batched", () => tf.matMul(T([2, 3, 5], 63), T([2, 5, 4], 64)));
    check("batch broadcast", () => tf.matMul(T([2, 3, 5], 65), T([1, 5, 4], 66)));
    for (const activation of ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu", "prelu"] as const) {
      check(`fused matMul ${activation}`, () =>
        tf.fused.matMul({
          a: T([6, 8], 67) as tf.Tensor2D, b: T([8, 5], 68) as tf.Tensor2D, bias: T([5], 69), activation,
          preluActivationWeights: activation === "prelu" ? T([5], 70, 0, 0.5) : undefined, leakyreluAlpha: 0.1,
        }),
      );
    }
  });

  it("conv2d / transposed conv / depthwise: strides, SAME (asymmetric), VALID, explicit, rounding, dilations", () => {
    type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
    const cases: { x: number[]; f: number[]; s: number; pad: Pad; d?: number; round?: "floor" | "ceil" | "round" }[] = [
      { x: [2, 8, 8, 3], f: [4, 4, 3, 5], s: 2, pad: "same" },
      { x: [2, 8, 8, 3], f: [5, 5, 3, 4], s: 2, pad: "same" }, // asymmetric SAME
      { x: [1, 9, 7, 2], f: [4, 3, 2, 3], s: 2, pad: "same" }, // asymmetric, odd sizes
      { x: [2, 8, 8, 3], f: [4, 4, 3, 2], s: 2, pad: "valid" },
      { x: [1, 7, 7, 2], f: [3, 3, 2, 2], s: 1, pad: "same", d: 2 },
      { x: [1, 6, 6, 2], f: [3, 3, 2, 3], s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
      { x: [1, 8, 8, 2], f: [3, 3, 2, 3], s: 2, pad: 1, round: "ceil" },
      { x: [1, 4, 4, 8], f: [4, 4, 8, 1], s: 1, pad: "valid" }, // DCGAN discriminator head
    ];
    for (const c of cases) {
      const tag = JSON.stringify(c);
      const x = (): tf.Tensor4D => T(c.x, 71) as tf.Tensor4D;
      const f = (): tf.Tensor4D => T(c.f, 72, -0.5, 0.5) as tf.Tensor4D;
      const conv = (xx: tf.Tensor4D, ff: tf.Tensor4D): tf.Tensor4D =>
        tf.conv2d(xx, ff, c.s, c.pad as "same", "NHWC", c.d ?? 1, c.round);
      check(`conv2d ${tag}`, () => conv(x(), f()));
      const y = runOn("cpu", () => conv(x(), f()))[0];
      const dy = (): tf.Tensor4D => T(y.shape, 73) as tf.Tensor4D;
      // tfjs's Conv2D gradient drops dimRoundingMode (and has no dilated gradient), so those get forward checks only.
      if ((c.d ?? 1) === 1 && c.round === undefined) check(`conv grads ${tag}`, () => {
        const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => conv(xx as tf.Tensor4D, ff as tf.Tensor4D))([x(), f()], dy());
        return g;
      });
      if ((c.d ?? 1) === 1 && c.round === undefined) {
        check(`conv2dTranspose ${tag}`, () =>
          tf.conv2dTranspose(dy(), f(), c.x as [number, number, number, number], c.s, c.pad as "same"),
        );
        check(`depthwise ${tag}`, () => {
          const df = T([c.f[0], c.f[1], c.x[3], 2], 74, -0.5, 0.5) as tf.Tensor4D;
          const dw = (xx: tf.Tensor, ff: tf.Tensor): tf.Tensor =>
            tf.depthwiseConv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.s, c.pad as "same");
          const out = dw(x(), df);
          const g = tf.grads(dw)([x(), df], tf.onesLike(out).mul(T(out.shape, 75)));
          return [out, ...g];
        });
      }
    }
    check("fused conv2d bias+leakyrelu", () =>
      tf.fused.conv2d({
        x: T([2, 6, 6, 3], 76) as tf.Tensor4D, filter: T([3, 3, 3, 4], 77) as tf.Tensor4D, strides: 1, pad: "same",
        bias: T([4], 78), activation: "leakyrelu", leakyreluAlpha: 0.2,
      }),
    );
    check("fused depthwise bias+relu", () =>
      tf.fused.depthwiseConv2d({
        x: T([1, 6, 6, 3], 79) as tf.Tensor4D, filter: T([3, 3, 3, 1], 80) as tf.Tensor4D, strides: 1, pad: "same",
        bias: T([3], 81), activation: "relu",
      }),
    );
  });

  it("pooling (avg/max, SAME/VALID) and their gradients, batch norm and its gradient", () => {
    for (const [k, s, pad] of [[2, 2, "valid"], [3, 2, "same"], [3, 1, "same"], [2, 2, "same"]] as [number, number, "same" | "valid"][]) {
      const x = (): tf.Tensor4D => T([2, 7, 6, 3], 91) as tf.Tensor4D;
      check(`avgPool ${k} ${s} ${pad}`, () => tf.avgPool(x(), k, s, pad));
      check(`maxPool ${k} ${s} ${pad}`, () => tf.maxPool(x(), k, s, pad));
      const outShape = runOn("cpu", () => tf.avgPool(x(), k, s, pad))[0].shape;
      // tfjs's cpu AvgPoolGrad divides by the full window even where SAME padding cut it short (unlike its own
      // forward pass); the reference here is the exact gradient of that forward pass, built from convolutions.
      const avgGrad = (pool: (xx: tf.Tensor4D) => tf.Tensor) => () =>
        tf.grad((xx: tf.Tensor) => pool(xx as tf.Tensor4D).mul(T(outShape, 92)).sum())(x());
      const viaConv = (xx: tf.Tensor4D): tf.Tensor => {
        const ones = tf.ones([k, k, 3, 1]) as tf.Tensor4D;
        return tf.depthwiseConv2d(xx, ones, s, pad).div(tf.depthwiseConv2d(tf.onesLike(xx), ones, s, pad));
      };
      const want = runOn("cpu", avgGrad(viaConv));
      const got = runOn("torch", avgGrad((xx) => tf.avgPool(xx, k, s, pad)));
      expect(got[0].shape).toEqual(want[0].shape);
      got[0].values.forEach((v, i) => expect(Math.abs(v - want[0].values[i]), `avgPool grad ${k} ${s} ${pad} at ${i}`).toBeLessThan(1e-5));
      check(`maxPool grad ${k} ${s} ${pad}`, () => tf.grad((xx: tf.Tensor) => tf.maxPool(xx as tf.Tensor4D, k, s, pad).mul(T(outShape, 93)).sum())(x()));
    }
    const x = (): tf.Tensor4D => T([4, 3, 3, 5], 94) as tf.Tensor4D;
    check("batchNorm", () => tf.batchNorm(x(), T([5], 95), T([5], 96, 0.5, 2), T([5], 97), T([5], 98), 1e-3));
    check("batchNorm no scale/offset", () => tf.batchNorm(x(), T([5], 95), T([5], 96, 0.5, 2)));
    check("batchNorm training-mode gradient", () => {
      const f = (xx: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        return tf.batchNorm(xx as tf.Tensor4D, mean, variance, beta, gamma, 1e-5).mul(T([4, 3, 3, 5], 99)).sum();
      };
      return tf.grads(f)([x(), T([5], 100, 0.5, 1.5), T([5], 101)]);
    }, 1e-4);
    check("leakyRelu gradient (fused on torch)", () => tf.grad((xx: tf.Tensor) => tf.leakyRelu(xx, 0.2).mul(T([2, 3, 4], 102)).sum())(T([2, 3, 4], 103)));
    check("relu gradient (fused on torch)", () => tf.grad((xx: tf.Tensor) => tf.relu(xx).mul(T([2, 3, 4], 106)).sum())(tf.tensor([-1, 0, 2, -3, 4, 0.5]).reshape([1, 2, 3]).tile([2, 3, 4]).slice([0, 0, 0], [2, 3, 4])));
    check("elu gradient", () => tf.grad((xx: tf.Tensor) => tf.elu(xx).mul(T([2, 3, 4], 104)).sum())(T([2, 3, 4], 105)));
  });

  it("fused training kernels (batch norm with its gradient, Adam) match the same maths in plain ops on cpu", () => {
    // Plain-op references: what packages/gan's model.ts and adam.ts compute.
    const bnPlain = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor[] => {
      const mean = tf.mean(x, [0, 1, 2]);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), [0, 1, 2]);
      return [tf.add(tf.mul(centered, tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)))), beta), mean, variance];
    };
    const bnFused = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor[] =>
      tf.engine().runKernel(TORCH_BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon: eps }) as tf.Tensor[];
    const compare = (name: string, want: Result[], got: Result[], tol: number) => {
      expect(got.length, name).toBe(want.length);
      for (let k = 0; k < want.length; k++) {
        expect(got[k].shape, `${name}[${k}] shape`).toEqual(want[k].shape);
        const scale = Math.max(1e-3, ...want[k].values.map(Math.abs));
        const worst = Math.max(...want[k].values.map((b, i) => Math.abs(got[k].values[i] - b) / scale));
        expect(worst, `${name}[${k}] error relative to the largest value`).toBeLessThan(tol);
      }
    };
    for (const [shape, shift] of [[[4, 3, 3, 5], 0], [[8, 4, 4, 16], 3], [[2, 1, 1, 3], 0]] as [number[], number][]) {
      const x = (): tf.Tensor => T(shape, 111, -2 + shift, 2 + shift);
      const c = shape[3];
      const gamma = (): tf.Tensor => T([c], 112, 0.5, 1.5);
      const beta = (): tf.Tensor => T([c], 113);
      const w1 = (): tf.Tensor => T(shape, 114);
      const w2 = (): tf.Tensor => T([c], 115);
      const w3 = (): tf.Tensor => T([c], 116);
      const forward = (bn: typeof bnPlain) => () => bn(x(), gamma(), beta(), 1e-5);
      compare(`batchNormTrain ${shape}`, runOn("cpu", forward(bnPlain)), runOn("torch", forward(bnFused)), 1e-5);
      // Gradient through y alone (what training uses) and through mean and variance too.
      for (const all of [false, true]) {
        const grads = (bn: typeof bnPlain) => () =>
          tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
            const [y, mean, variance] = bn(xx, gg, bb, 1e-5);
            const loss = tf.sum(tf.mul(y, w1()));
            return all ? tf.add(loss, tf.add(tf.sum(tf.mul(mean, w2())), tf.sum(tf.mul(variance, w3())))) : loss;
          })([x(), gamma(), beta()]);
        compare(`batchNormTrain grad ${shape} ${all ? "y, mean, variance" : "y"}`, runOn("cpu", grads(bnPlain)), runOn("torch", grads(bnFused)), 1e-4);
      }
    }
    const hyper = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
    const adamPlain = (w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, step: number): tf.Tensor[] => {
      const m2 = tf.add(tf.mul(m, hyper.beta1), tf.mul(g, 1 - hyper.beta1));
      const v2 = tf.add(tf.mul(v, hyper.beta2), tf.mul(tf.square(g), 1 - hyper.beta2));
      const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - hyper.beta2 ** step)), hyper.epsilon);
      return [tf.sub(w, tf.mul(tf.div(m2, denom), hyper.lr / (1 - hyper.beta1 ** step))), m2, v2];
    };
    const adamFused = (w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, step: number): tf.Tensor[] =>
      tf.engine().runKernel(TORCH_ADAM_UPDATE, { w, m, v, g }, { ...hyper, step }) as tf.Tensor[];
    for (const step of [1, 7, 1000]) {
      const shape = [3, 4, 2, 5];
      const run = (adam: typeof adamPlain) => () => adam(T(shape, 121), T(shape, 122, -0.1, 0.1), T(shape, 123, 0, 0.01), T(shape, 124, -0.1, 0.1), step);
      compare(`adam step ${step}`, runOn("cpu", run(adamPlain)), runOn("torch", run(adamFused)), 1e-6);
    }
  });

  it("every registered kernel was exercised above", () => {
    const seen = kernelCallCounts();
    const missing = KERNEL_NAMES.filter((k) => !seen.has(k));
    expect(missing, `exercised: ${[...seen.keys()].sort().join(" ")}`).toEqual([]);
  });

  it("a kernel the backend lacks fails loudly instead of falling back", () => {
    tf.setBackend("torch");
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => tf.image.resizeBilinear(x, [8, 8])).toThrow(/Kernel 'ResizeBilinear' not registered for backend 'torch'/);
    expect(() => tf.engine().runKernel("NotAKernel", { x }, {})).toThrow(/not registered for backend 'torch'/);
    x.dispose();
  });

  it("native errors surface as JS errors and free nothing twice", () => {
    tf.setBackend("torch");
    const before = nativeStats().live;
    expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])))).toThrow();
    const a = tf.tensor1d([1, 2, 3], "int32");
    expect(() => tf.tidy(() => tf.gather(tf.ones([3]), tf.tensor1d([5], "int32")))).toThrow(/index|out of range|range/i);
    a.dispose();
    expect(nativeStats().live).toBe(before);
    expect(nativeStats().live).toBe(tf.memory().numTensors);
  });
});
