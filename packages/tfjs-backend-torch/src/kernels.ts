/**
 * tfjs kernels for the "torch" backend. Each kernel computes the output shape/dtype in JS (with tfjs's own
 * helpers, so they agree with the cpu backend) and makes one native call. A kernel that is not listed here
 * is not registered, so tfjs throws "Kernel 'X' not registered for backend 'torch'": nothing falls back.
 */
import * as tf from "@tensorflow/tfjs";
import type { TorchBackend } from "./backend.ts";
import { DTYPE_CODE, type NativeDType } from "./native.ts";

export const BACKEND_NAME = "torch";

type Inputs = tf.NamedTensorInfoMap;
type Attrs = tf.NamedAttrMap;
type KernelResult = tf.TensorInfo | tf.TensorInfo[];
type Kernel = (inputs: Inputs, backend: TorchBackend, attrs: Attrs) => KernelResult;

const { backend_util, util, slice_util } = tf;

function code(dtype: tf.DataType): number {
  const c = DTYPE_CODE[dtype as NativeDType];
  if (c === undefined) throw new Error(`tfjs-backend-torch: dtype ${dtype} is not supported`);
  return c;
}

function input(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`tfjs-backend-torch: missing input ${name}`);
  return t as tf.TensorInfo;
}
function optional(inputs: Inputs, name: string): tf.TensorInfo | undefined {
  return (inputs[name] as tf.TensorInfo | undefined) ?? undefined;
}
function list(inputs: Inputs): tf.TensorInfo[] {
  return (inputs as unknown as tf.TensorInfo[] | Record<string, tf.TensorInfo>) instanceof Array
    ? (inputs as unknown as tf.TensorInfo[])
    : Object.values(inputs as Record<string, tf.TensorInfo>);
}
function pair(v: unknown): [number, number] {
  return typeof v === "number" ? [v, v] : (v as [number, number]);
}

// ---- elementwise ------------------------------------------------------------------------------------
// [kernel, native opcode, output dtype: "same" as x | "float32" | "bool"]
const UNARY: [string, number, "same" | "float32" | "bool"][] = [
  ["Abs", 0, "same"], ["Neg", 1, "same"], ["Exp", 2, "float32"], ["Log", 3, "float32"], ["Log1p", 4, "float32"],
  ["Sqrt", 5, "float32"], ["Rsqrt", 6, "float32"], ["Square", 7, "same"], ["Tanh", 8, "float32"],
  ["Sigmoid", 9, "float32"], ["Softplus", 10, "float32"], ["Relu", 11, "same"], ["Relu6", 12, "same"],
  ["Elu", 13, "float32"], ["Selu", 14, "float32"], ["Floor", 15, "same"], ["Ceil", 16, "same"], ["Round", 17, "same"],
  ["Sign", 18, "same"], ["Reciprocal", 21, "float32"], ["Sin", 22, "float32"], ["Cos", 23, "float32"],
  ["Expm1", 24, "float32"], ["Erf", 25, "float32"], ["IsNan", 26, "bool"], ["IsInf", 27, "bool"],
  ["IsFinite", 28, "bool"], ["LogicalNot", 29, "bool"], ["ZerosLike", 30, "same"], ["OnesLike", 31, "same"],
  ["Identity", 32, "same"], ["Tan", 34, "float32"], ["Asin", 35, "float32"], ["Acos", 36, "float32"],
  ["Atan", 37, "float32"], ["Sinh", 38, "float32"], ["Cosh", 39, "float32"], ["Asinh", 40, "float32"],
  ["Acosh", 41, "float32"], ["Atanh", 42, "float32"],
];
const U_STEP = 19, U_LEAKYRELU = 20, U_CLIP = 33;

// [kernel, native opcode, output dtype: "upcast" of the inputs | "float32" | "bool"]
const BINARY: [string, number, "upcast" | "float32" | "bool" | "int32"][] = [
  ["Add", 0, "upcast"], ["Sub", 1, "upcast"], ["Multiply", 2, "upcast"], ["RealDiv", 3, "float32"],
  ["FloorDiv", 4, "int32"], ["Mod", 5, "upcast"], ["Maximum", 6, "upcast"], ["Minimum", 7, "upcast"],
  ["Pow", 8, "upcast"], ["SquaredDifference", 9, "upcast"], ["Equal", 10, "bool"], ["NotEqual", 11, "bool"],
  ["Less", 12, "bool"], ["LessEqual", 13, "bool"], ["Greater", 14, "bool"], ["GreaterEqual", 15, "bool"],
  ["LogicalAnd", 16, "bool"], ["LogicalOr", 17, "bool"], ["Atan2", 19, "float32"],
  ["Prelu", 20, "upcast"], ["EluGrad", 22, "float32"],
];
/** Fused leakyRelu gradient, registered under a torch-only kernel name (see fused.ts). */
export const TORCH_LEAKY_RELU_GRAD = "TorchLeakyReluGrad";
export const TORCH_RELU_GRAD = "TorchReluGrad";
/**
 * Fused training ops for engines that ask for them by kernel name (`tf.getKernel(name, tf.getBackend())`):
 * one native call where tfjs composes ~10 ops (see fused.ts and the README).
 *   TorchBatchNormTrain {x (NHWC), gamma, beta} {epsilon} -> [y, mean, variance (biased)], with a gradient.
 *   TorchAdamUpdate {w, m, v, g} {lr, beta1, beta2, epsilon, step} -> [w', m', v'].
 */
export const TORCH_BATCH_NORM_TRAIN = "TorchBatchNormTrain";
export const TORCH_BATCH_NORM_TRAIN_GRAD = "TorchBatchNormTrainGrad";
export const TORCH_ADAM_UPDATE = "TorchAdamUpdate";
const B_LEAKYRELUGRAD = 23, B_RELUGRAD = 24;

function unary(op: number, rule: "same" | "float32" | "bool"): Kernel {
  return (inputs, backend) => {
    const x = input(inputs, "x");
    const dtype = rule === "same" ? x.dtype : rule;
    return backend.out(backend.native.unary(op, backend.id(x), code(dtype), 0, 0), x.shape.slice(), dtype);
  };
}

const BINARY_INPUTS: Record<string, [string, string]> = { Prelu: ["x", "alpha"], EluGrad: ["dy", "y"] };

function binary(op: number, rule: "upcast" | "float32" | "bool" | "int32", names: [string, string] = ["a", "b"]): Kernel {
  return (inputs, backend) => {
    const a = input(inputs, names[0]);
    const b = input(inputs, names[1]);
    const dtype = rule === "upcast" ? tf.upcastType(a.dtype, b.dtype) : rule;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return backend.out(backend.native.binary(op, backend.id(a), backend.id(b), code(dtype)), shape, dtype);
  };
}

// ---- reductions ---------------------------------------------------------------------------------------
const R = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4, All: 5, Any: 6, ArgMax: 7, ArgMin: 8 } as const;

function reduction(op: number, axisAttr: string, dtypeOf: (x: tf.TensorInfo) => tf.DataType): Kernel {
  return (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const keepDims = Boolean(attrs.keepDims);
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const dtype = dtypeOf(x);
    return backend.out(backend.native.reduce(op, backend.id(x), axes, keepDims, code(dtype)), shape, dtype);
  };
}

function argReduction(op: number): Kernel {
  return (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const axes = util.parseAxisParam(attrs.axis as number, x.shape);
    const [shape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    return backend.out(backend.native.reduce(op, backend.id(x), axes, false, code("int32")), shape, "int32");
  };
}

// ---- convolution geometry -----------------------------------------------------------------------------
type Geometry = [number, number, number, number, number, number, number, number];

/**
 * [sh, sw, pt, pb, pl, pr, dh, dw] from tfjs's conv info. With dimRoundingMode "ceil"/"round" tfjs can ask
 * for one more output row than floor division gives; the extra bottom/right padding makes ATen produce it
 * (tfjs skips out-of-range taps, i.e. treats them as zeros).
 */
function geometry(info: tf.backend_util.Conv2DInfo): Geometry {
  const { top, bottom, left, right } = info.padInfo;
  const needH = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - top;
  const needW = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - left;
  return [
    info.strideHeight, info.strideWidth, top, Math.max(bottom, needH), left, Math.max(right, needW),
    info.dilationHeight, info.dilationWidth,
  ];
}

function assertNHWC(dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`tfjs-backend-torch: only NHWC data is supported, got ${String(dataFormat)}`);
  }
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 };
function activationCode(name: unknown): number {
  const c = ACTIVATIONS[(name as string | undefined) ?? "linear"];
  if (c === undefined) throw new Error(`tfjs-backend-torch: unsupported fused activation ${String(name)}`);
  return c;
}

function conv(depthwise: boolean, fused: boolean): Kernel {
  return (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const filter = input(inputs, "filter");
    assertNHWC(attrs.dataFormat);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides as [number, number], (attrs.dilations ?? 1) as [number, number],
      attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined, depthwise,
    );
    const bias = fused ? optional(inputs, "bias") : undefined;
    const prelu = fused ? optional(inputs, "preluActivationWeights") : undefined;
    const id = backend.native.conv2d(
      backend.id(x), backend.id(filter), ...geometry(info), depthwise, bias ? backend.id(bias) : -1,
      fused ? activationCode(attrs.activation) : 0, (attrs.leakyreluAlpha as number | undefined) ?? 0.2,
      prelu ? backend.id(prelu) : -1,
    );
    return backend.out(id, info.outShape, "float32");
  };
}

function convBackpropInput(depthwise: boolean): Kernel {
  return (inputs, backend, attrs) => {
    const dy = input(inputs, "dy");
    const filter = input(inputs, "filter");
    assertNHWC(attrs.dataFormat);
    const inShape = attrs.inputShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      inShape, filter.shape as [number, number, number, number], attrs.strides as [number, number],
      (attrs.dilations ?? 1) as [number, number], attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined, depthwise,
    );
    const id = backend.native.conv2dBackpropInput(backend.id(dy), backend.id(filter), inShape, ...geometry(info), depthwise);
    return backend.out(id, inShape.slice(), "float32");
  };
}

function convBackpropFilter(depthwise: boolean): Kernel {
  return (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const dy = input(inputs, "dy");
    assertNHWC(attrs.dataFormat);
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, attrs.strides as [number, number],
      (attrs.dilations ?? 1) as [number, number], attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined, depthwise,
    );
    const id = backend.native.conv2dBackpropFilter(backend.id(x), backend.id(dy), filterShape, ...geometry(info), depthwise);
    return backend.out(id, filterShape.slice(), "float32");
  };
}

function poolInfo(x: tf.TensorInfo, attrs: Attrs): tf.backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], attrs.filterSize as [number, number], attrs.strides as [number, number],
    1, attrs.pad as "same", attrs.dimRoundingMode as "floor" | undefined,
  );
}
function poolArgs(info: tf.backend_util.Conv2DInfo): [number, number, number, number, number, number, number, number] {
  const g = geometry(info);
  return [info.filterHeight, info.filterWidth, g[0], g[1], g[2], g[3], g[4], g[5]];
}

// ---- kernel table -------------------------------------------------------------------------------------
function kernels(): Record<string, Kernel> {
  const k: Record<string, Kernel> = {};
  for (const [name, op, rule] of UNARY) k[name] = unary(op, rule);
  for (const [name, op, rule] of BINARY) k[name] = binary(op, rule, BINARY_INPUTS[name]);

  k.Step = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    return backend.out(backend.native.unary(U_STEP, backend.id(x), code(x.dtype), (attrs.alpha as number) ?? 0, 0), x.shape.slice(), x.dtype);
  };
  k.LeakyRelu = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    return backend.out(backend.native.unary(U_LEAKYRELU, backend.id(x), code(x.dtype), attrs.alpha as number, 0), x.shape.slice(), x.dtype);
  };
  k[TORCH_LEAKY_RELU_GRAD] = (inputs, backend, attrs) => {
    const dy = input(inputs, "dy");
    const x = input(inputs, "x");
    return backend.out(backend.native.binary(B_LEAKYRELUGRAD, backend.id(dy), backend.id(x), code("float32"), attrs.alpha as number), dy.shape.slice(), "float32");
  };
  k[TORCH_RELU_GRAD] = (inputs, backend) => {
    const dy = input(inputs, "dy");
    const x = input(inputs, "x");
    return backend.out(backend.native.binary(B_RELUGRAD, backend.id(dy), backend.id(x), code("float32")), dy.shape.slice(), "float32");
  };
  k.ClipByValue = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const id = backend.native.unary(U_CLIP, backend.id(x), code(x.dtype), attrs.clipValueMin as number, attrs.clipValueMax as number);
    return backend.out(id, x.shape.slice(), x.dtype);
  };
  k.Cast = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const dtype = attrs.dtype as tf.DataType;
    return backend.out(backend.native.cast(backend.id(x), code(dtype)), x.shape.slice(), dtype);
  };
  k.Select = (inputs, backend) => {
    const cond = input(inputs, "condition");
    const t = input(inputs, "t");
    const e = input(inputs, "e");
    let condId = backend.id(cond);
    let reshaped = -1;
    if (cond.shape.length === 1 && t.shape.length > 1) {
      // tfjs: a rank-1 condition selects whole rows of t/e.
      reshaped = condId = backend.native.reshape(condId, [cond.shape[0], ...t.shape.slice(1).map(() => 1)]);
    }
    const dtype = tf.upcastType(t.dtype, e.dtype);
    let id = backend.native.select(condId, backend.id(t), backend.id(e));
    if (reshaped >= 0) backend.native.free(reshaped);
    if (dtype !== t.dtype || dtype !== e.dtype) {
      const cast = backend.native.cast(id, code(dtype));
      backend.native.free(id);
      id = cast;
    }
    return backend.out(id, t.shape.slice(), dtype);
  };
  k.AddN = (inputs, backend) => {
    const xs = list(inputs);
    return backend.out(backend.native.addN(xs.map((x) => backend.id(x))), xs[0].shape.slice(), xs[0].dtype);
  };

  // reductions
  const sumDtype = (x: tf.TensorInfo): tf.DataType => tf.upcastType(x.dtype, "int32");
  k.Sum = reduction(R.Sum, "axis", sumDtype);
  k.Prod = reduction(R.Prod, "axis", sumDtype);
  k.Mean = reduction(R.Mean, "axis", () => "float32");
  k.Max = reduction(R.Max, "reductionIndices", (x) => x.dtype);
  k.Min = reduction(R.Min, "axis", (x) => x.dtype);
  k.All = reduction(R.All, "axis", () => "bool");
  k.Any = reduction(R.Any, "axis", () => "bool");
  k.ArgMax = argReduction(R.ArgMax);
  k.ArgMin = argReduction(R.ArgMin);
  const cumulative = (prod: boolean): Kernel => (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const dtype = tf.upcastType(x.dtype, "int32");
    let id = backend.native.cumulative(backend.id(x), axis, Boolean(attrs.exclusive), Boolean(attrs.reverse), prod);
    if (dtype !== x.dtype) {
      const cast = backend.native.cast(id, code(dtype));
      backend.native.free(id);
      id = cast;
    }
    return backend.out(id, x.shape.slice(), dtype);
  };
  k.Cumsum = cumulative(false);
  k.Cumprod = cumulative(true);

  // shapes
  k.Reshape = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const shape = util.inferFromImplicitShape((attrs.shape as number[]).slice(), util.sizeFromShape(x.shape));
    return backend.out(backend.native.reshape(backend.id(x), shape), shape, x.dtype);
  };
  k.ExpandDims = (inputs, backend, attrs) => {
    const x = input(inputs, "input");
    let dim = attrs.dim as number;
    if (dim < 0) dim += x.shape.length + 1;
    const shape = x.shape.slice();
    shape.splice(dim, 0, 1);
    return backend.out(backend.native.reshape(backend.id(x), shape), shape, x.dtype);
  };
  k.Transpose = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const perm = attrs.perm as number[];
    return backend.out(backend.native.transpose(backend.id(x), perm), perm.map((p) => x.shape[p]), x.dtype);
  };
  k.BroadcastTo = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const shape = (attrs.shape as number[]).slice();
    return backend.out(backend.native.broadcastTo(backend.id(x), shape), shape, x.dtype);
  };
  k.Tile = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const reps = attrs.reps as number[];
    return backend.out(backend.native.tile(backend.id(x), reps), x.shape.map((d, i) => d * reps[i]), x.dtype);
  };
  k.Reverse = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const dims = util.parseAxisParam(attrs.dims as number | number[], x.shape);
    return backend.out(backend.native.reverse(backend.id(x), dims), x.shape.slice(), x.dtype);
  };
  k.Slice = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const [begin, size] = slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    slice_util.assertParamsValid(x, begin, size);
    return backend.out(backend.native.slice(backend.id(x), begin, size), size, x.dtype);
  };
  k.StridedSlice = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const s = slice_util.sliceInfo(
      x.shape, attrs.begin as number[], attrs.end as number[], attrs.strides as number[], attrs.beginMask as number,
      attrs.endMask as number, attrs.ellipsisMask as number, attrs.newAxisMask as number, attrs.shrinkAxisMask as number,
    );
    if (s.isIdentity) return backend.out(backend.native.reshape(backend.id(x), s.finalShape), s.finalShape, x.dtype);
    // Dense per-dimension counts (finalShapeSparse drops shrunk axes).
    const counts = slice_util.computeOutShape(s.begin, s.end, s.strides);
    const id = backend.native.stridedSlice(backend.id(x), s.begin, counts, s.strides, s.finalShape);
    return backend.out(id, s.finalShape, x.dtype);
  };
  k.Concat = (inputs, backend, attrs) => {
    const xs = list(inputs);
    const axis = util.parseAxisParam(attrs.axis as number, xs[0].shape)[0];
    const shape = backend_util.computeOutShape(xs.map((x) => x.shape), axis);
    const dtype = xs.map((x) => x.dtype).reduce((a, b) => tf.upcastType(a, b));
    const ids = xs.filter((x) => util.sizeFromShape(x.shape) > 0 || xs.length === 1).map((x) => backend.id(x));
    if (ids.length === 0) return backend.out(backend.native.fill(shape, 0, code(dtype)), shape, dtype);
    let id = backend.native.concat(ids, axis);
    if (backend.native.dtypeOf(id) !== code(dtype)) {
      const cast = backend.native.cast(id, code(dtype));
      backend.native.free(id);
      id = cast;
    }
    return backend.out(id, shape, dtype);
  };
  k.Pack = (inputs, backend, attrs) => {
    const xs = list(inputs);
    const rank = xs[0].shape.length;
    let axis = attrs.axis as number;
    if (axis < 0) axis += rank + 1;
    const shape = xs[0].shape.slice();
    shape.splice(axis, 0, xs.length);
    return backend.out(backend.native.stack(xs.map((x) => backend.id(x)), axis), shape, xs[0].dtype);
  };
  k.Unpack = (inputs, backend, attrs) => {
    const x = input(inputs, "value");
    let axis = attrs.axis as number;
    if (axis < 0) axis += x.shape.length;
    const shape = x.shape.filter((_, i) => i !== axis);
    return backend.native.unstack(backend.id(x), axis).map((id) => backend.out(id, shape.slice(), x.dtype));
  };
  k.SplitV = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    return backend.native.split(backend.id(x), sizes, axis).map((id, i) => {
      const shape = x.shape.slice();
      shape[axis] = sizes[i];
      return backend.out(id, shape, x.dtype);
    });
  };
  k.PadV2 = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const paddings = attrs.paddings as [number, number][];
    const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    const id = backend.native.pad(backend.id(x), paddings.flat(), (attrs.constantValue as number) ?? 0);
    return backend.out(id, shape, x.dtype);
  };
  k.MirrorPad = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const paddings = attrs.paddings as [number, number][];
    const offset = attrs.mode === "reflect" ? 0 : 1;
    const indices = x.shape.map((n, d) => {
      const [before, after] = paddings[d];
      if (before === 0 && after === 0) return null;
      const idx = new Int32Array(before + n + after);
      for (let p = 0; p < idx.length; p++) {
        let c = p;
        if (c < before) c = 2 * before - c - offset;
        else if (c >= before + n) c = 2 * (before + n - 1) - c + offset;
        idx[p] = c - before;
      }
      return idx;
    });
    const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    return backend.out(backend.native.indexPerDim(backend.id(x), indices), shape, x.dtype);
  };
  k.GatherV2 = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const indices = input(inputs, "indices");
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    if ((attrs.batchDims as number | undefined) ?? 0) {
      throw new Error("tfjs-backend-torch: GatherV2 with batchDims > 0 is not supported");
    }
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    return backend.out(backend.native.gather(backend.id(x), backend.id(indices), axis, shape), shape, x.dtype);
  };
  k.TopK = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const kk = attrs.k as number;
    const shape = [...x.shape.slice(0, -1), kk];
    const [values, idx] = backend.native.topk(backend.id(x), kk, attrs.sorted !== false);
    return [backend.out(values, shape, x.dtype), backend.out(idx, shape.slice(), "int32")];
  };
  k.Fill = (_inputs, backend, attrs) => {
    const dtype = (attrs.dtype as tf.DataType | undefined) ?? "float32";
    const shape = (attrs.shape as number[]).slice();
    return backend.out(backend.native.fill(shape, attrs.value as number, code(dtype)), shape, dtype);
  };
  k.Range = (_inputs, backend, attrs) => {
    const { start, stop, step } = attrs as { start: number; stop: number; step: number };
    const dtype = (attrs.dtype as tf.DataType | undefined) ?? "float32";
    const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
    const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
    return backend.out(backend.native.range(start, step, n, code(dtype)), [n], dtype);
  };
  k.OneHot = (inputs, backend, attrs) => {
    const indices = input(inputs, "indices");
    const depth = attrs.depth as number;
    const dtype = (attrs.dtype as tf.DataType | undefined) ?? "int32";
    const id = backend.native.oneHot(backend.id(indices), depth, attrs.onValue as number, attrs.offValue as number, code(dtype));
    return backend.out(id, [...indices.shape, depth], dtype);
  };
  k.Softmax = (inputs, backend, attrs) => {
    const x = input(inputs, "logits");
    const dim = attrs.dim as number;
    return backend.out(backend.native.softmax(backend.id(x), dim < 0 ? dim + x.shape.length : dim), x.shape.slice(), x.dtype);
  };

  // linear algebra
  const matmul = (fused: boolean): Kernel => (inputs, backend, attrs) => {
    const a = input(inputs, "a");
    const b = input(inputs, "b");
    const transA = Boolean(attrs.transposeA);
    const transB = Boolean(attrs.transposeB);
    const m = transA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const n = transB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const batch = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const bias = fused ? optional(inputs, "bias") : undefined;
    const prelu = fused ? optional(inputs, "preluActivationWeights") : undefined;
    const id = backend.native.matmul(
      backend.id(a), backend.id(b), transA, transB, bias ? backend.id(bias) : -1,
      fused ? activationCode(attrs.activation) : 0, (attrs.leakyreluAlpha as number | undefined) ?? 0.2,
      prelu ? backend.id(prelu) : -1,
    );
    return backend.out(id, [...batch, m, n], "float32");
  };
  k.BatchMatMul = matmul(false);
  k._FusedMatMul = matmul(true);

  // convolution and pooling
  k.Conv2D = conv(false, false);
  k.FusedConv2D = conv(false, true);
  k.DepthwiseConv2dNative = conv(true, false);
  k.FusedDepthwiseConv2D = conv(true, true);
  k.Conv2DBackpropInput = convBackpropInput(false);
  k.DepthwiseConv2dNativeBackpropInput = convBackpropInput(true);
  k.Conv2DBackpropFilter = convBackpropFilter(false);
  k.DepthwiseConv2dNativeBackpropFilter = convBackpropFilter(true);
  const pool = (kind: number): Kernel => (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const info = poolInfo(x, attrs);
    return backend.out(backend.native.pool(kind, backend.id(x), ...poolArgs(info)), info.outShape, x.dtype);
  };
  k.AvgPool = pool(0);
  k.MaxPool = pool(1);
  k.AvgPoolGrad = (inputs, backend, attrs) => {
    const dy = input(inputs, "dy");
    const x = input(inputs, "input");
    const info = poolInfo(x, attrs);
    return backend.out(backend.native.avgPoolGrad(backend.id(dy), x.shape, ...poolArgs(info)), x.shape.slice(), "float32");
  };
  k.MaxPoolGrad = (inputs, backend, attrs) => {
    const dy = input(inputs, "dy");
    const x = input(inputs, "input");
    const info = poolInfo(x, attrs);
    return backend.out(backend.native.maxPoolGrad(backend.id(dy), backend.id(x), ...poolArgs(info)), x.shape.slice(), "float32");
  };
  k[TORCH_BATCH_NORM_TRAIN] = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const gamma = input(inputs, "gamma");
    if (x.shape.length !== 4) throw new Error(`${TORCH_BATCH_NORM_TRAIN}: x must be NHWC (rank 4), got [${x.shape}]`);
    const c = x.shape[3];
    const [y, mean, variance] = backend.native.batchNormTrain(backend.id(x), backend.id(gamma), backend.id(input(inputs, "beta")), attrs.epsilon as number);
    return [backend.out(y, x.shape.slice(), "float32"), backend.out(mean, [c], "float32"), backend.out(variance, [c], "float32")];
  };
  k[TORCH_BATCH_NORM_TRAIN_GRAD] = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const dmean = optional(inputs, "dmean");
    const dvar = optional(inputs, "dvariance");
    const c = x.shape[3];
    const [dx, dgamma, dbeta] = backend.native.batchNormTrainGrad(
      backend.id(input(inputs, "dy")), backend.id(x), backend.id(input(inputs, "gamma")), backend.id(input(inputs, "mean")),
      backend.id(input(inputs, "variance")), attrs.epsilon as number, dmean ? backend.id(dmean) : -1, dvar ? backend.id(dvar) : -1,
    );
    return [backend.out(dx, x.shape.slice(), "float32"), backend.out(dgamma, [c], "float32"), backend.out(dbeta, [c], "float32")];
  };
  k[TORCH_ADAM_UPDATE] = (inputs, backend, attrs) => {
    const w = input(inputs, "w");
    const a = attrs as { lr: number; beta1: number; beta2: number; epsilon: number; step: number };
    const ids = backend.native.adamUpdate(
      backend.id(w), backend.id(input(inputs, "m")), backend.id(input(inputs, "v")), backend.id(input(inputs, "g")),
      a.lr, a.beta1, a.beta2, a.epsilon, a.step,
    );
    return ids.map((id) => backend.out(id, w.shape.slice(), "float32"));
  };
  k.FusedBatchNorm = (inputs, backend, attrs) => {
    const x = input(inputs, "x");
    const offset = optional(inputs, "offset");
    const scale = optional(inputs, "scale");
    const id = backend.native.batchNorm(
      backend.id(x), backend.id(input(inputs, "mean")), backend.id(input(inputs, "variance")),
      offset ? backend.id(offset) : -1, scale ? backend.id(scale) : -1, (attrs.varianceEpsilon as number) ?? 0.001,
    );
    return backend.out(id, x.shape.slice(), "float32");
  };
  return k;
}

export const KERNEL_NAMES: readonly string[] = Object.keys(kernels());

const callCounts = new Map<string, number>();
/** How often each torch kernel ran since the last reset (profiling, and tests' coverage check). */
export function kernelCallCounts(): Map<string, number> {
  return new Map(callCounts);
}
export function resetKernelCallCounts(): void {
  callCounts.clear();
}

let timing = false;
const kernelNs = new Map<string, bigint>();
/** Times each kernel function (the native call plus our shape bookkeeping) while on. */
export function setKernelTiming(on: boolean): void {
  timing = on;
  kernelNs.clear();
}
/** Milliseconds spent inside each kernel function since timing was switched on. */
export function kernelTimesMs(): Map<string, number> {
  return new Map([...kernelNs].map(([k, ns]) => [k, Number(ns) / 1e6]));
}

let registered = false;
/** Registers every kernel for the "torch" backend (idempotent). */
export function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, fn] of Object.entries(kernels())) {
    tf.registerKernel({
      kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: ({ inputs, backend, attrs }) => {
        callCounts.set(kernelName, (callCounts.get(kernelName) ?? 0) + 1);
        if (!timing) return fn(inputs, backend as TorchBackend, attrs ?? {});
        const start = process.hrtime.bigint();
        try {
          return fn(inputs, backend as TorchBackend, attrs ?? {});
        } finally {
          kernelNs.set(kernelName, (kernelNs.get(kernelName) ?? 0n) + process.hrtime.bigint() - start);
        }
      },
    });
  }
}
