/**
 * Training kernels for TensorFlow.js's wasm backend.
 *
 * tfjs-backend-wasm 4.22 can run a DCGAN forward pass but not train one at a usable speed:
 * - `Conv2DBackpropFilter` (the weight gradient of every conv) is not implemented at all;
 * - `Conv2DBackpropInput` (the input gradient of conv2d AND the forward pass of conv2dTranspose,
 *   i.e. most of a DCGAN generator) is a naive scalar loop, ~5× slower than XNNPACK's conv;
 * - several kernels a training step leans on are scalar loops or copies: BatchMatMul with a
 *   transposed operand, Identity (the engine clones every tensor it saves for backprop), Sum/Mean
 *   over N,H,W (batch norm), LeakyRelu and the Greater/Select of its gradient.
 *
 * Each is replaced here by an exact composition of kernels the wasm backend runs fast (XNNPACK
 * Conv2D, plain BatchMatMul, AvgPool, Step, Multiply, Transpose) plus small data movement
 * done in JS over the wasm heap. Nothing is approximated: every output element is the same sum of
 * products as in the reference definition, only summed in another order, so results agree with the
 * cpu backend to float32 rounding (tested in wasm-kernels.test.ts). Cases a composition does not
 * cover (NCHW, unequal strides, non-float dtypes...) run the original wasm kernel.
 *
 * Kernels are called directly through the kernel registry on the wasm backend (not through tf ops),
 * so nothing is recorded on the gradient tape and intermediates are freed at once by refcount.
 */
import * as tf from "@tensorflow/tfjs";
// Registers the wasm backend's own kernels first, so the originals below are found and kept.
import "@tensorflow/tfjs-backend-wasm";
import { backend_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from "@tensorflow/tfjs";

const BACKEND = "wasm";
/** Debug aid: with GANBOARD_WASM_KERNEL_TIMES=1, wall ms spent in each wasm kernel called by the compositions. */
export const INNER_TIMES: Map<string, number> | null =
  typeof process !== "undefined" && process.env.GANBOARD_WASM_KERNEL_TIMES ? new Map() : null;

/** The subset of the wasm backend object the compositions need (refcounted dispose). */
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}
interface WasmHeapBackend extends WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Shape4 = [number, number, number, number];

/**
 * Small data-movement kernels written directly over the wasm heap in JS: tfjs-wasm's StridedSlice,
 * Reverse and DepthToSpace are per-element loops with index arithmetic that cost more than the
 * convolutions they feed (measured: DepthToSpace ~30 ms for a 1 MB tensor).
 */
class HeapOps {
  constructor(private readonly backend: WasmHeapBackend, private readonly track: (t: TensorInfo) => TensorInfo) {}

  private view(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  scalar(value: number): TensorInfo {
    const out = this.track(this.backend.makeOutput([], "float32"));
    this.view(out)[0] = value;
    return out;
  }

  /**
   * Phase sub-filter for Conv2DBackpropInput: sub[jh, jw, o, i] = W[rh + s(th-1-jh), rw + s(tw-1-jw), i, o]
   * (taps of one phase, spatially flipped, in/out channels swapped) from W [kh, kw, ci, co].
   */
  subFilter(filter: TensorInfo, rh: number, rw: number, th: number, tw: number, s: number): TensorInfo {
    const [, kw, ci, co] = filter.shape as Shape4;
    const out = this.track(this.backend.makeOutput([th, tw, co, ci], "float32"));
    const src = this.view(filter);
    const dst = this.view(out);
    let d = 0;
    for (let jh = 0; jh < th; jh++) {
      const y = rh + s * (th - 1 - jh);
      for (let jw = 0; jw < tw; jw++) {
        const base = (y * kw + rw + s * (tw - 1 - jw)) * ci * co;
        for (let o = 0; o < co; o++) {
          for (let i = 0; i < ci; i++) dst[d++] = src[base + i * co + o]!;
        }
      }
    }
    return out;
  }

  /**
   * out[b, ph + s·y, pw + s·x, c] = parts[ph·s + pw][b, y, x, c], cropped to `shape`; a null part is
   * zeros. Each part is [n, qh, qw, c].
   */
  interleave(parts: (TensorInfo | null)[], s: number, shape: Shape4, qh: number, qw: number): TensorInfo {
    const [n, h, w, c] = shape;
    const out = this.track(this.backend.makeOutput(shape, "float32"));
    const dst = this.view(out);
    for (let ph = 0; ph < s; ph++) {
      for (let pw = 0; pw < s; pw++) {
        const part = parts[ph * s + pw];
        const src = part == null ? null : this.view(part);
        for (let b = 0; b < n; b++) {
          for (let y = 0, oy = ph; y < qh && oy < h; y++, oy += s) {
            let si = ((b * qh + y) * qw) * c;
            for (let x = 0, ox = pw; x < qw && ox < w; x++, ox += s) {
              const di = ((b * h + oy) * w + ox) * c;
              if (src == null) dst.fill(0, di, di + c);
              else for (let k = 0; k < c; k++) dst[di + k] = src[si + k]!;
              si += c;
            }
          }
        }
      }
    }
    return out;
  }
}

/** Runs wasm kernels by name and frees intermediates; one instance per kernel invocation. */
class KernelCalls {
  private readonly temps: TensorInfo[] = [];
  readonly js: HeapOps;
  constructor(private readonly backend: WasmHeapBackend, private readonly originals: Map<string, KernelFunc>) {
    this.js = new HeapOps(backend, (t) => {
      this.temps.push(t);
      return t;
    });
  }

  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const original = this.originals.get(name);
    const kernel = original ?? tf.getKernel(name, BACKEND)?.kernelFunc;
    if (kernel == null) throw new Error(`wasm backend has no ${name} kernel`);
    const t0 = performance.now();
    const out = kernel({ inputs, attrs, backend: this.backend as never }) as TensorInfo;
    if (INNER_TIMES) INNER_TIMES.set(name, (INNER_TIMES.get(name) ?? 0) + performance.now() - t0);
    this.temps.push(out);
    return out;
  }

  /** Hands `result` to the caller and frees every other intermediate. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }

  /** A new reference to x's data (no copy). */
  share(x: TensorInfo): TensorInfo {
    return shareData(this.backend as WasmHeapBackend & { incRef(dataId: object): void }, x);
  }

  /** Frees everything (on error). */
  abort(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    if (perm.every((p, i) => p === i)) return x;
    return this.run("Transpose", { x }, { perm });
  }
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    if (size.every((s, i) => s === x.shape[i]) && begin.every((b) => b === 0)) return x;
    return this.run("Slice", { x }, { begin, size });
  }
  stridedSlice(x: TensorInfo, begin: number[], end: number[], strides: number[]): TensorInfo {
    return this.run("StridedSlice", { x }, {
      begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }
  zeros(shape: number[]): TensorInfo {
    return this.run("Fill", {}, { shape, value: 0, dtype: "float32" });
  }
  /** Stride-1 (optionally dilated) NHWC conv with explicit padding. */
  conv(x: TensorInfo, filter: TensorInfo, pads: [number, number, number, number], dilations: [number, number] = [1, 1]): TensorInfo {
    const [t, b, l, r] = pads;
    return this.run("Conv2D", { x, filter }, {
      strides: [1, 1], pad: [[0, 0], [t, b], [l, r], [0, 0]], dataFormat: "NHWC", dilations, dimRoundingMode: undefined as never,
    });
  }
}

/**
 * Crops then pads one spatial axis so that an explicit-padding conv reads rows [start, start+len) of
 * `size` available rows: negative pads become crops (XNNPACK takes only non-negative padding).
 */
function cropPad(start: number, len: number, size: number): { begin: number; keep: number; padBefore: number; padAfter: number } {
  const begin = Math.max(0, start);
  const end = Math.min(size, start + len);
  const keep = Math.max(0, end - begin);
  return { begin, keep, padBefore: Math.max(0, -start), padAfter: Math.max(0, start + len - Math.max(size, start)) };
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xpad[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co]
 * is a stride-1 conv whose "batch" is ci, whose input channels are b, whose filter is dy
 * (spatially oh×ow, dilated by the forward stride): conv(x as [ci,H,W,b], dy as [oh,ow,b,co]).
 */
function conv2DBackpropFilter(calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, format);
  const channelsLast = info.dataFormat === "channelsLast";
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;

  // Rows of the (padded) input that the last filter tap reads: (oh-1)*s + k.
  const rows = cropPad(-info.padInfo.top, (oh - 1) * sh + kh, h);
  const cols = cropPad(-info.padInfo.left, (ow - 1) * sw + kw, w);
  if (rows.keep === 0 || cols.keep === 0) return calls.zeros(filterShape);

  // x → [ci, H, W, b]; dy → [oh, ow, b, co]
  let xt = calls.transpose(x, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
  xt = calls.slice(xt, [0, rows.begin, cols.begin, 0], [xt.shape[0], rows.keep, cols.keep, xt.shape[3]]);
  const dyt = calls.transpose(dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);
  const out = calls.conv(xt, dyt, [rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter], [sh, sw]); // [ci, kh, kw, co]
  return calls.transpose(out, [1, 2, 0, 3]);
}

/**
 * dx[b, i, j, ci] = Σ dy[b, oh, ow, co] · W[kh, kw, ci, co] over i + padTop = oh·s + kh.
 * Split output rows by phase p = i mod s (likewise columns): for a phase only the taps
 * kh ≡ (p + padTop) mod s contribute, and they form a stride-1 correlation of dy with the flipped
 * sub-kernel W[r + s·m]. So s² small stride-1 convs (no inserted zeros), interleaved by DepthToSpace.
 */
function conv2DBackpropInput(calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo | null {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, format);
  if (info.dataFormat !== "channelsLast" || info.strideHeight !== info.strideWidth) return null;
  const s = info.strideHeight;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;

  // Fully connected case (the generator's first layer: 1×1 latent → k×k): one matmul.
  if (oh === 1 && ow === 1 && s === 1 && padTop === 0 && padLeft === 0 && h === kh && w === kw) {
    const dy2 = calls.reshape(dy, [1, n, co]);
    const w2 = calls.reshape(filter, [1, kh * kw * ci, co]);
    const prod = calls.run("BatchMatMul", { a: dy2, b: w2 }, { transposeA: false, transposeB: true });
    return calls.reshape(prod, [n, h, w, ci]);
  }

  const qh = Math.ceil(h / s);
  const qw = Math.ceil(w / s);
  const phase = (p: number, padBefore: number, k: number) => {
    const r = (p + padBefore) % s;
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    const c = (p + padBefore - r) / s;
    return { r, taps, windowStart: c - taps + 1 };
  };

  const parts: (TensorInfo | null)[] = [];
  for (let ph = 0; ph < s; ph++) {
    const py = phase(ph, padTop, kh);
    for (let pw = 0; pw < s; pw++) {
      const px = phase(pw, padLeft, kw);
      const rows = cropPad(py.windowStart, qh + py.taps - 1, oh);
      const cols = cropPad(px.windowStart, qw + px.taps - 1, ow);
      if (py.taps === 0 || px.taps === 0 || rows.keep === 0 || cols.keep === 0) {
        parts.push(null); // no tap of the filter reaches this phase: zeros
        continue;
      }
      const sub = calls.js.subFilter(filter, py.r, px.r, py.taps, px.taps, s);
      const input = calls.slice(dy, [0, rows.begin, cols.begin, 0], [n, rows.keep, cols.keep, co]);
      parts.push(calls.conv(input, sub, [rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter]));
    }
  }
  if (s === 1 && parts[0] != null && qh === h && qw === w) return parts[0];
  return calls.js.interleave(parts, s, [n, h, w, ci], qh, qw);
}

/** Returns null when the case is not covered, and the original kernel runs instead. */
/**
 * tfjs-wasm's BatchMatMul is fast only for plain A·B; with transposeA/transposeB it runs a strided
 * loop 10–25× slower (the generator's first-layer weight gradient zᵀ·dY took 17 ms instead of 0.7).
 * Transposing the operand explicitly (a cheap copy) and multiplying plainly is exact and faster.
 */
function batchMatMul(calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo | null {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (!transposeA && !transposeB) return null;
  const swapLast = (t: TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return calls.transpose(t, perm);
  };
  return calls.run("BatchMatMul", { a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b }, { transposeA: false, transposeB: false });
}

/**
 * The engine clones every tensor it saves for the backward pass through Identity, and tfjs-wasm's
 * Identity copies the data (300+ copies per DCGAN step). Tensor data is immutable in tfjs, so sharing
 * the buffer by reference count is exact — it is what the cpu backend's Identity does.
 */
function shareData(backend: WasmHeapBackend & { incRef(dataId: object): void }, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * tfjs-wasm's LeakyRelu is a scalar loop (0.64 ms for 131k values). x · step(x, α) — step gives 1
 * where x > 0 and α elsewhere — is the same float32 value (x·1 = x; α·x as before) from two fast
 * elementwise kernels.
 */
function leakyRelu(calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo };
  if (x.dtype !== "float32") return null;
  const factor = calls.run("Step", { x }, { alpha: (attrs as unknown as tf.LeakyReluAttrs).alpha });
  return calls.run("Multiply", { a: x, b: factor });
}

/**
 * Batch norm reduces NHWC tensors over every axis but the channels. tfjs-wasm's Sum/Mean first
 * transpose the input so the reduced axes are innermost (a full copy), then loop; XNNPACK's average
 * pooling over one window covering all rows does the same reduction 5–7× faster. The sum is
 * float32 in a different order, so results agree with the cpu backend to float32 rounding.
 */
function reduceLeadingAxes(kind: "Sum" | "Mean") {
  return (calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo | null => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    if (x.dtype !== "float32" || rank < 2) return null;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return null;
    const channels = x.shape[rank - 1]!;
    const cols = x.shape[rank - 2]!;
    const rows = x.shape.slice(0, rank - 2).reduce((p, q) => p * q, 1);
    if (rows * cols === 0 || channels === 0) return null;
    const outShape = keepDims ? [...x.shape.slice(0, rank - 1).map(() => 1), channels] : [channels];
    if (rows * cols === 1) return calls.reshape(x, outShape);
    const pooled = calls.run("AvgPool", { x: calls.reshape(x, [1, rows, cols, channels]) }, {
      filterSize: [rows, cols], strides: [1, 1], pad: "valid", dimRoundingMode: undefined as never,
    });
    const mean = calls.reshape(pooled, outShape);
    return kind === "Mean" ? mean : calls.run("Multiply", { a: mean, b: calls.js.scalar(rows * cols) });
  };
}

type Composition = (calls: KernelCalls, inputs: NamedTensorInfoMap, attrs: NamedAttrMap) => TensorInfo | null;

const COMPOSITIONS: Record<string, Composition> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  BatchMatMul: batchMatMul,
  LeakyRelu: leakyRelu,
  Sum: reduceLeadingAxes("Sum"),
  Mean: reduceLeadingAxes("Mean"),
  Identity: (calls, inputs) => {
    const { x } = inputs as { x: TensorInfo };
    return x.dtype === "string" ? null : calls.share(x);
  },
  // Cast to the same dtype is an Identity (the gradient of clone() is such a Cast).
  Cast: (calls, inputs, attrs) => {
    const { x } = inputs as { x: TensorInfo };
    return x.dtype === (attrs as unknown as tf.CastAttrs).dtype && x.dtype !== "string" ? calls.share(x) : null;
  },
};

/** Kernel names this module registers or replaces on the wasm backend. */
export const WASM_TRAINING_KERNELS = Object.keys(COMPOSITIONS);

const originals = new Map<string, KernelFunc>();
let registered = false;

function missingKernel(name: string): KernelFunc {
  return () => {
    throw new Error(`wasm backend has no ${name} kernel for this case`);
  };
}

/**
 * LeakyRelu's gradient in tfjs-core is where(greater(x, 0), dy, dy·α): on wasm, Greater and Select
 * are scalar loops costing more than the convolution they follow. step(x, α) is exactly the
 * derivative factor (1 where x > 0, else α) and runs fast, so dy·step(x, α) gives the same float32
 * values (dy·1 = dy; dy·α as before). Gradients are registered per kernel, not per backend, so other
 * backends keep tfjs-core's gradient.
 */
function registerLeakyReluGradient(): void {
  const original = tf.getGradient("LeakyRelu");
  if (original == null) return;
  tf.registerGradient({
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== BACKEND || x!.dtype !== "float32" || Array.isArray(dy)) return original.gradFunc(dy, saved, attrs);
      const { alpha } = attrs as unknown as tf.LeakyReluAttrs;
      return { x: () => tf.mul(dy, tf.step(x!, alpha)) };
    },
  });
}

/**
 * Registers (or replaces) the training kernels on the wasm backend. Idempotent; call after
 * `tf.setBackend("wasm")` (it also works before, since kernels are registered by backend name).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const [name, compose] of Object.entries(COMPOSITIONS)) {
    const existing = tf.getKernel(name, BACKEND);
    const original = existing?.kernelFunc ?? missingKernel(name);
    if (existing) {
      originals.set(name, existing.kernelFunc);
      tf.unregisterKernel(name, BACKEND);
    }
    const config: KernelConfig = {
      kernelName: name,
      backendName: BACKEND,
      setupFunc: existing?.setupFunc,
      disposeFunc: existing?.disposeFunc,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const calls = new KernelCalls(backend as unknown as WasmHeapBackend, originals);
        try {
          const result = compose(calls, inputs, attrs ?? {});
          if (result === null) {
            calls.abort();
            return original({ inputs, attrs, backend });
          }
          return calls.finish(result);
        } catch (error) {
          calls.abort();
          throw error;
        }
      },
    };
    tf.registerKernel(config);
  }
  registerLeakyReluGradient();
  registered = true;
}
