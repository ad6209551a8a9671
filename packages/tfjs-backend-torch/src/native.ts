/**
 * Loads the compiled addon (build/Release/torch_backend.node). The addon exists only when the install
 * step found a libtorch; `loadNative()` says why when it does not.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const DTYPE_CODE = { float32: 0, int32: 1, bool: 2 } as const;
export type NativeDType = keyof typeof DTYPE_CODE;

/** The addon's functions: ids in, ids out. See native/addon.cc for each signature. */
export interface NativeAddon {
  fromData(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): number;
  read(id: number): Float32Array | Int32Array | Uint8Array;
  readAsync(id: number): Promise<Float32Array | Int32Array | Uint8Array>;
  free(id: number): void;
  shape(id: number): number[];
  dtypeOf(id: number): number;
  stats(): { live: number; slots: number; bytes: number };
  unary(op: number, id: number, dtype: number, p1: number, p2: number): number;
  binary(op: number, a: number, b: number, dtype: number, p?: number): number;
  select(cond: number, a: number, b: number): number;
  addN(ids: number[]): number;
  reduce(op: number, id: number, axes: number[], keepDims: boolean, dtype: number): number;
  cumulative(id: number, axis: number, exclusive: boolean, reverse: boolean, prod: boolean): number;
  cast(id: number, dtype: number): number;
  reshape(id: number, shape: number[]): number;
  transpose(id: number, perm: number[]): number;
  broadcastTo(id: number, shape: number[]): number;
  tile(id: number, reps: number[]): number;
  reverse(id: number, dims: number[]): number;
  slice(id: number, begin: number[], size: number[]): number;
  stridedSlice(id: number, begin: number[], counts: number[], strides: number[], outShape: number[]): number;
  concat(ids: number[], axis: number): number;
  stack(ids: number[], axis: number): number;
  unstack(id: number, axis: number): number[];
  split(id: number, sizes: number[], axis: number): number[];
  pad(id: number, flatPaddings: number[], value: number): number;
  indexPerDim(id: number, indices: (Int32Array | null)[]): number;
  gather(id: number, indices: number, axis: number, outShape: number[]): number;
  nonzero(id: number): number;
  topk(id: number, k: number, sorted: boolean): [number, number];
  fill(shape: number[], value: number, dtype: number): number;
  range(start: number, step: number, count: number, dtype: number): number;
  oneHot(id: number, depth: number, on: number, off: number, dtype: number): number;
  softmax(id: number, dim: number): number;
  matmul(a: number, b: number, transA: boolean, transB: boolean, bias: number, act: number, alpha: number, prelu: number): number;
  conv2d(x: number, w: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number, dh: number, dw: number,
    depthwise: boolean, bias: number, act: number, alpha: number, prelu: number): number;
  conv2dBackpropInput(dy: number, w: number, inShape: number[], sh: number, sw: number, pt: number, pb: number, pl: number,
    pr: number, dh: number, dw: number, depthwise: boolean): number;
  conv2dBackpropFilter(x: number, dy: number, filterShape: number[], sh: number, sw: number, pt: number, pb: number, pl: number,
    pr: number, dh: number, dw: number, depthwise: boolean): number;
  pool(kind: number, x: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number): number;
  avgPoolGrad(dy: number, xShape: number[], kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number): number;
  maxPoolGrad(dy: number, x: number, kh: number, kw: number, sh: number, sw: number, pt: number, pb: number, pl: number, pr: number): number;
  batchNorm(x: number, mean: number, variance: number, offset: number, scale: number, eps: number): number;
  batchNormTrain(x: number, gamma: number, beta: number, eps: number): [number, number, number];
  batchNormTrainGrad(dy: number, x: number, gamma: number, mean: number, variance: number, eps: number, dmean: number, dvar: number): [number, number, number];
  adamUpdate(w: number, m: number, v: number, g: number, lr: number, beta1: number, beta2: number, eps: number, t: number): [number, number, number];
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setDevice(name: string): void;
  info(): { torchVersion: string; cudaAvailable: boolean; builtWithCuda: boolean; numThreads: number; device: string; mkldnn: boolean };
  synchronize(): void;
}

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const defaultAddonPath = join(packageDir, "build", "Release", "torch_backend.node");

export type LoadResult = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

let cached: LoadResult | undefined;

const HOW_TO =
  "install libtorch (`apt-get install libtorch-dev`, or `pip install torch` and set LIBTORCH=<site-packages>/torch), " +
  "then run `npm rebuild @ganboard/tfjs-backend-torch`";

/** GANBOARD_TORCH_ADDON overrides the addon path (tests use it to simulate a machine without the build). */
export function loadNative(): LoadResult {
  if (cached) return cached;
  const path = process.env.GANBOARD_TORCH_ADDON || defaultAddonPath;
  if (!existsSync(path)) {
    return (cached = { ok: false, reason: `the native addon was not built (no libtorch found at install time); ${HOW_TO}` });
  }
  // libgomp reads this once, when libtorch loads it: idle OpenMP workers then sleep instead of spinning.
  // Spinning workers cost ~10x per step on a host shared with other processes (measured with 2 threads at
  // load 17: 2.8 s vs 0.24 s per tiny DCGAN step). A value the user set wins.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  // Debian's libtorch calls a pthreads OpenBLAS (matmuls) whose own thread pool would compete with ATen's
  // OpenMP threads; PyTorch is run the same way in our benchmark (the issue measured it several times
  // slower otherwise). The DCGAN's matmuls are small; a value the user set wins.
  process.env.OPENBLAS_NUM_THREADS ??= "1";
  try {
    const require = createRequire(import.meta.url);
    return (cached = { ok: true, addon: require(path) as NativeAddon, path });
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return (cached = { ok: false, reason: `the native addon failed to load (${message}); ${HOW_TO}` });
  }
}
