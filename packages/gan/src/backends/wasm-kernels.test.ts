/**
 * Every kernel registered or replaced by registerWasmTrainingKernels() is checked against tfjs's cpu
 * backend (the reference implementation) on the same inputs: float32 relative error < 1e-4, measured
 * as max |wasm − cpu| / max |cpu| over the output.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "./wasm-kernels.ts";

const TOLERANCE = 1e-4;
type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
type Attrs = Record<string, unknown>;

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")), "/"));
  expect(await tf.setBackend("wasm")).toBe(true);
  await tf.ready();
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
});

/** Deterministic values in [-1, 1). */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Input {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype?: "float32" | "int32";
}

async function runOn(backend: "cpu" | "wasm", kernel: string, inputs: Record<string, Input>, attrs: Attrs) {
  await tf.setBackend(backend);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.dtype ?? "float32")]));
  try {
    const out = tf.engine().runKernel(kernel, tensors, attrs as never) as tf.Tensor;
    const result = { shape: out.shape, dtype: out.dtype, data: await out.data() };
    out.dispose();
    return result;
  } finally {
    tf.dispose(Object.values(tensors));
    await tf.setBackend("wasm");
  }
}

/** Runs the kernel on both backends; returns the relative error (and checks shapes agree). */
async function compare(kernel: string, inputs: Record<string, Input>, attrs: Attrs): Promise<number> {
  const ref = await runOn("cpu", kernel, inputs, attrs);
  const got = await runOn("wasm", kernel, inputs, attrs);
  expect(got.shape).toEqual(ref.shape);
  expect(got.dtype).toEqual(ref.dtype);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Number(ref.data[i]);
    const g = Number(got.data[i]);
    if (Object.is(r, g) || (Number.isNaN(r) && Number.isNaN(g)) || r === g) continue; // also ±Infinity, NaN
    maxDiff = Math.max(maxDiff, Math.abs(g - r));
    if (Number.isFinite(r)) maxRef = Math.max(maxRef, Math.abs(r));
  }
  expect(Number.isFinite(maxDiff)).toBe(true);
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

interface ConvCase {
  batch: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number | [number, number];
  stride: number | [number, number];
  pad: Pad;
}

const label = (c: ConvCase) =>
  `b${c.batch} ${c.h}x${c.w}x${c.inC}→${c.outC} k${JSON.stringify(c.k)} s${JSON.stringify(c.stride)} pad ${JSON.stringify(c.pad)}`;

/** The grid the issue asks for: strides 1/2, kernel sizes 1/3/4/5, same/valid/explicit padding, odd sizes. */
function convGrid(): ConvCase[] {
  const cases: ConvCase[] = [];
  const pads: Pad[] = ["same", "valid", 1, 2, [[0, 0], [2, 1], [0, 3], [0, 0]]];
  const shapes = [
    { batch: 2, h: 8, w: 8, inC: 3, outC: 5 },
    { batch: 3, h: 7, w: 9, inC: 5, outC: 2 },
    { batch: 1, h: 5, w: 6, inC: 1, outC: 7 },
  ];
  let i = 0;
  for (const k of [1, 3, 4, 5]) {
    for (const stride of [1, 2]) {
      for (const pad of pads) {
        const shape = shapes[i++ % shapes.length]!;
        // tfjs requires valid output sizes: skip explicit paddings that leave no output.
        cases.push({ ...shape, k, stride, pad });
      }
    }
  }
  // Non-square kernels/strides and the DCGAN layer shapes (k4 s2 'same', 1×1 → 4×4, 4×4 → 1×1).
  cases.push({ batch: 2, h: 9, w: 6, inC: 3, outC: 4, k: [3, 2], stride: [2, 1], pad: "same" });
  cases.push({ batch: 2, h: 8, w: 8, inC: 6, outC: 4, k: 4, stride: [2, 2], pad: "same" });
  cases.push({ batch: 4, h: 16, w: 16, inC: 8, outC: 16, k: 4, stride: 2, pad: 1 });
  cases.push({ batch: 3, h: 4, w: 4, inC: 16, outC: 1, k: 4, stride: 1, pad: "valid" });
  return cases;
}

function outputShape(c: ConvCase): [number, number, number, number] | null {
  try {
    const k = Array.isArray(c.k) ? c.k : [c.k, c.k];
    const info = tf.backend_util.computeConv2DInfo([c.batch, c.h, c.w, c.inC], [k[0]!, k[1]!, c.inC, c.outC], c.stride, 1, c.pad);
    return info.outHeight > 0 && info.outWidth > 0 ? (info.outShape as [number, number, number, number]) : null;
  } catch {
    return null;
  }
}

describe("registerWasmTrainingKernels", () => {
  it("registers the kernels it lists, on wasm", () => {
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, "wasm"), name).toBeDefined();
    expect(WASM_TRAINING_KERNELS).toEqual(expect.arrayContaining(["Conv2DBackpropFilter", "Conv2DBackpropInput"]));
  });

  const grid = convGrid().filter((c) => outputShape(c) !== null);

  it(`Conv2DBackpropFilter matches cpu over ${grid.length} stride/kernel/padding/shape cases`, async () => {
    for (const c of grid) {
      const k = Array.isArray(c.k) ? c.k : [c.k, c.k];
      const xShape = [c.batch, c.h, c.w, c.inC];
      const dyShape = outputShape(c)!;
      const err = await compare("Conv2DBackpropFilter", { x: { data: values(sizeOf(xShape), 1), shape: xShape }, dy: { data: values(sizeOf(dyShape), 2), shape: dyShape } }, {
        strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, filterShape: [k[0], k[1], c.inC, c.outC],
      });
      expect(err, label(c)).toBeLessThan(TOLERANCE);
    }
  });

  it("Conv2DBackpropFilter matches cpu for NCHW data", async () => {
    const xShape = [2, 3, 7, 8];
    const dyShape = [2, 4, 4, 4]; // k3 s2 same → ceil(7/2)=4, ceil(8/2)=4
    const err = await compare("Conv2DBackpropFilter", { x: { data: values(sizeOf(xShape), 3), shape: xShape }, dy: { data: values(sizeOf(dyShape), 4), shape: dyShape } }, {
      strides: 2, pad: "same", dataFormat: "NCHW", dimRoundingMode: undefined, filterShape: [3, 3, 3, 4],
    });
    expect(err).toBeLessThan(TOLERANCE);
  });

  it(`Conv2DBackpropInput matches cpu over ${grid.length} stride/kernel/padding/shape cases`, async () => {
    for (const c of grid) {
      const k = Array.isArray(c.k) ? c.k : [c.k, c.k];
      const filterShape = [k[0]!, k[1]!, c.inC, c.outC];
      const dyShape = outputShape(c)!;
      const err = await compare("Conv2DBackpropInput", { dy: { data: values(sizeOf(dyShape), 5), shape: dyShape }, filter: { data: values(sizeOf(filterShape), 6), shape: filterShape } }, {
        strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, inputShape: [c.batch, c.h, c.w, c.inC],
      });
      expect(err, label(c)).toBeLessThan(TOLERANCE);
    }
  });

  it("Conv2DBackpropInput covers stride 3 (phases without taps) and the generator's 1×1 → 4×4 layer", async () => {
    const cases: { dy: number[]; filter: number[]; input: number[]; stride: number; pad: Pad }[] = [
      { dy: [2, 3, 3, 4], filter: [2, 2, 3, 4], input: [2, 8, 8, 3], stride: 3, pad: "same" }, // k < s: some phases are zeros
      { dy: [2, 3, 3, 4], filter: [5, 5, 3, 4], input: [2, 9, 9, 3], stride: 3, pad: "same" },
      { dy: [3, 1, 1, 6], filter: [4, 4, 5, 6], input: [3, 4, 4, 5], stride: 1, pad: "valid" }, // matmul path
    ];
    for (const c of cases) {
      const err = await compare("Conv2DBackpropInput", { dy: { data: values(sizeOf(c.dy), 7), shape: c.dy }, filter: { data: values(sizeOf(c.filter), 8), shape: c.filter } }, {
        strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, inputShape: c.input,
      });
      expect(err, JSON.stringify(c)).toBeLessThan(TOLERANCE);
    }
  });

  it("BatchMatMul matches cpu with every transpose combination, batched and broadcast", async () => {
    const cases = [
      { a: [32, 100], b: [32, 20], ta: true, tb: false },
      { a: [7, 5], b: [9, 5], ta: false, tb: true },
      { a: [5, 7], b: [9, 5], ta: true, tb: true },
      { a: [3, 4, 6], b: [3, 4, 5], ta: true, tb: false },
      { a: [3, 6, 4], b: [1, 5, 4], ta: false, tb: true }, // broadcast batch
      { a: [2, 4, 6], b: [2, 5, 4], ta: true, tb: true },
      { a: [4, 6], b: [6, 3], ta: false, tb: false }, // untouched path
    ];
    for (const c of cases) {
      const err = await compare("BatchMatMul", { a: { data: values(sizeOf(c.a), 9), shape: c.a }, b: { data: values(sizeOf(c.b), 10), shape: c.b } }, {
        transposeA: c.ta, transposeB: c.tb,
      });
      expect(err, JSON.stringify(c)).toBeLessThan(TOLERANCE);
    }
  });

  it("LeakyRelu matches cpu to float32 rounding (the slope is a float32 on wasm), for several slopes, NaN and ±Infinity", async () => {
    const data = values(2 * 5 * 7 * 3, 21);
    data[0] = 0;
    data[1] = -0;
    data[2] = Infinity;
    data[3] = -Infinity;
    for (const alpha of [0.2, 0.3, 0.01, 1, 0]) {
      expect(await compare("LeakyRelu", { x: { data, shape: [2, 5, 7, 3] } }, { alpha })).toBeLessThan(1e-6);
    }
    expect(await compare("LeakyRelu", { x: { data: new Int32Array([-3, 0, 4]), shape: [3], dtype: "int32" } }, { alpha: 0.5 })).toBe(0);
    const nan = tf.leakyRelu(tf.tensor1d([NaN, -1]), 0.2);
    expect(Array.from(await nan.data())[0]).toBeNaN();
    nan.dispose();
  });

  it("the LeakyRelu gradient on wasm matches cpu (dy·step(x, α) instead of where/greater)", async () => {
    const data = values(4 * 6 * 5 * 3, 23);
    data[0] = 0;
    const grad = async (backend: "cpu" | "wasm", alpha: number) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(data, [4, 6, 5, 3]);
      const dy = tf.tensor4d(values(data.length, 24), [4, 6, 5, 3]);
      const g = tf.grad((t: tf.Tensor) => tf.leakyRelu(t, alpha))(x, dy);
      const out = await g.data();
      tf.dispose([x, dy, g]);
      await tf.setBackend("wasm");
      return out;
    };
    for (const alpha of [0.2, 0.01]) {
      const ref = await grad("cpu", alpha);
      const got = await grad("wasm", alpha);
      expect(Array.from(got)).toEqual(Array.from(ref));
    }
    const x = tf.tensor1d([-1, 0, 2]);
    const profile = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.leakyRelu(t, 0.2))(x));
    expect(profile.kernels.map((k) => k.name)).not.toContain("Select");
    tf.dispose([x, profile.result as tf.Tensor]);
  });

  it("Sum and Mean match cpu over every axis but the last (batch norm), and elsewhere", async () => {
    const cases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
      { shape: [8, 6, 5, 7], axis: [0, 1, 2], keepDims: false },
      { shape: [8, 6, 5, 7], axis: [2, 0, 1], keepDims: true },
      { shape: [32, 16, 16, 3], axis: [0, 1, 2], keepDims: false },
      { shape: [9, 4], axis: 0, keepDims: false },
      { shape: [3, 5, 2], axis: [0, 1], keepDims: true },
      { shape: [1, 1, 1, 5], axis: [0, 1, 2], keepDims: false }, // nothing to reduce
      { shape: [4, 6, 5, 3], axis: [1, 2], keepDims: false }, // original kernel
      { shape: [4, 6], axis: -1, keepDims: false },
      { shape: [4, 6], axis: [0, 1], keepDims: false },
    ];
    for (const kernel of ["Sum", "Mean"]) {
      for (const c of cases) {
        const err = await compare(kernel, { x: { data: values(sizeOf(c.shape), 22), shape: c.shape } }, { axis: c.axis, keepDims: c.keepDims });
        expect(err, `${kernel} ${JSON.stringify(c)}`).toBeLessThan(TOLERANCE);
      }
    }
    const ints = await compare("Sum", { x: { data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2], dtype: "int32" } }, { axis: 0, keepDims: false });
    expect(ints).toBe(0);
  });

  it("Identity and Cast share data without changing values, and free it by refcount", async () => {
    const x = tf.tensor(values(24, 11), [2, 3, 4]);
    const before = tf.memory();
    const y = tf.engine().runKernel("Identity", { x }) as tf.Tensor;
    const z = tf.cast(x, "float32");
    const source = tf.tensor([1.7, -2.2, 3.9]);
    const i = tf.cast(source, "int32");
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
    expect(Array.from(await z.data())).toEqual(Array.from(await x.data()));
    expect(i.dtype).toBe("int32");
    expect(Array.from(await i.data())).toEqual([1, -2, 3]); // a real cast still converts (original kernel)
    x.dispose();
    expect(Array.from(await y.data())).toEqual(Array.from(values(24, 11))); // survives the source's dispose
    tf.dispose([y, z, i, source]);
    expect(tf.memory().numTensors).toBe(before.numTensors - 1);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(before.numDataBuffers - 1);
  });

  it("gradients of conv2d / conv2dTranspose / matMul on wasm match cpu and leak nothing", async () => {
    const run = async (backend: "cpu" | "wasm") => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(values(2 * 9 * 9 * 3, 14), [2, 9, 9, 3]);
      const w1 = tf.tensor4d(values(4 * 4 * 3 * 6, 15), [4, 4, 3, 6]);
      const w2 = tf.tensor4d(values(4 * 4 * 4 * 6, 16), [4, 4, 4, 6]);
      const w3 = tf.tensor2d(values(10 * 4 * 4, 17), [10, 4 * 4]);
      const f = (...args: tf.Tensor[]) => {
        const [a, b, c, d] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor2D];
        const h = tf.leakyRelu(tf.conv2d(a, b, 2, "same"), 0.2); // [2,5,5,6]
        const up = tf.conv2dTranspose(h, c, [2, 10, 10, 4], 2, "same"); // [2,10,10,4]
        const flat = tf.reshape(tf.slice(up, [0, 0, 0, 0], [2, 4, 4, 1]), [2, 16]) as tf.Tensor2D;
        return tf.sum(tf.square(tf.matMul(flat, d, false, true)));
      };
      const memBefore = tf.memory().numTensors;
      const grads = tf.grads(f)([x, w1, w2, w3]);
      const data = await Promise.all(grads.map((g) => g.data()));
      tf.dispose(grads);
      const leaked = tf.memory().numTensors - memBefore;
      tf.dispose([x, w1, w2, w3]);
      await tf.setBackend("wasm");
      return { data, leaked };
    };
    const ref = await run("cpu");
    const got = await run("wasm");
    expect(got.leaked).toBe(0);
    ref.data.forEach((r, i) => {
      let diff = 0;
      let scale = 0;
      for (let j = 0; j < r.length; j++) {
        diff = Math.max(diff, Math.abs(got.data[i]![j]! - r[j]!));
        scale = Math.max(scale, Math.abs(r[j]!));
      }
      expect(diff / scale, `gradient ${i}`).toBeLessThan(TOLERANCE);
    });
  });

  it("frees every intermediate: wasm data buffers are unchanged after a kernel call", async () => {
    const be = tf.backend() as unknown as { numDataIds(): number };
    const dy = tf.tensor4d(values(2 * 4 * 4 * 6, 18), [2, 4, 4, 6]);
    const w = tf.tensor4d(values(4 * 4 * 3 * 6, 19), [4, 4, 3, 6]);
    const x = tf.tensor4d(values(2 * 8 * 8 * 3, 20), [2, 8, 8, 3]);
    const before = be.numDataIds();
    for (let i = 0; i < 3; i++) {
      tf.conv2dTranspose(dy, w, [2, 8, 8, 3], 2, "same").dispose();
      (tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: 2, pad: "same", dataFormat: "NHWC", filterShape: [4, 4, 3, 6] } as never) as tf.Tensor).dispose();
      tf.tidy(() => tf.matMul(tf.reshape(x, [16, 24]) as tf.Tensor2D, tf.reshape(x, [16, 24]) as tf.Tensor2D, true, false)).dispose();
    }
    expect(be.numDataIds()).toBe(before);
    tf.dispose([dy, w, x]);
  });
});
