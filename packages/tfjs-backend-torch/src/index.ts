/**
 * @ganboard/tfjs-backend-torch: a TensorFlow.js backend named "torch" whose kernels run ATen (libtorch)
 * through a Node native addon. `registerTorchBackend()` reports why it is unavailable instead of throwing,
 * so the engine can fall through to the next backend.
 */
import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { TorchBackend } from "./backend.ts";
import { BACKEND_NAME, KERNEL_NAMES, registerKernels } from "./kernels.ts";
import { registerFusedGradients } from "./fused.ts";
import { loadNative, type NativeAddon } from "./native.ts";

export { TorchBackend } from "./backend.ts";
export { TORCH_ADAM_UPDATE, TORCH_BATCH_NORM_TRAIN } from "./kernels.ts";
export { BACKEND_NAME, KERNEL_NAMES, kernelCallCounts, kernelTimesMs, resetKernelCallCounts, setKernelTiming } from "./kernels.ts";

export interface TorchBackendStatus {
  available: boolean;
  reason?: string;
  /** Human description, e.g. "CPU (libtorch 1.13.0, oneDNN, 2 threads)". */
  device: string;
  versions: Record<string, string>;
}

let registeredDevice: "cpu" | "cuda" | null = null;

function describe(native: NativeAddon): TorchBackendStatus {
  const info = native.info();
  const device = info.device.startsWith("cuda")
    ? `GPU (${info.device}, libtorch ${info.torchVersion})`
    : `CPU (libtorch ${info.torchVersion}${info.mkldnn ? ", oneDNN" : ""}, ${info.numThreads} thread${info.numThreads === 1 ? "" : "s"})`;
  return { available: true, device, versions: { libtorch: info.torchVersion, "torch-device": info.device } };
}

/**
 * Registers the "torch" backend and its kernels with tfjs (does not make it the active backend).
 * device "cuda" needs an addon built against a CUDA libtorch (pip torch with CUDA) and a visible GPU.
 */
export async function registerTorchBackend(opts: { device?: "cpu" | "cuda" } = {}): Promise<TorchBackendStatus> {
  const wanted = opts.device ?? "cpu";
  const loaded = loadNative();
  if (!loaded.ok) return { available: false, reason: loaded.reason, device: wanted, versions: {} };
  const native = loaded.addon;
  const info = native.info();
  if (wanted === "cuda" && !info.cudaAvailable) {
    const reason = info.builtWithCuda
      ? "libtorch was built with CUDA but no GPU is visible"
      : `the addon is linked against a CPU-only libtorch ${info.torchVersion} (use a pip torch with CUDA and rebuild)`;
    return { available: false, reason, device: wanted, versions: { libtorch: info.torchVersion } };
  }
  if (registeredDevice !== null && registeredDevice !== wanted) {
    if (native.stats().live > 0) {
      return { available: false, reason: `the torch backend already holds tensors on ${registeredDevice}`, device: wanted, versions: {} };
    }
  }
  native.setDevice(wanted);
  if (registeredDevice === null) {
    if (process.env.GANBOARD_TORCH_THREADS) setNumThreads(Number(process.env.GANBOARD_TORCH_THREADS));
    else native.setNumThreads(availableParallelism());
    registerKernels();
    registerFusedGradients();
    tf.registerBackend(BACKEND_NAME, () => new TorchBackend(native), 3);
  }
  registeredDevice = wanted;
  return describe(native);
}

/** Intra-op threads ATen uses (default: all cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  const loaded = loadNative();
  if (!loaded.ok) throw new Error(`tfjs-backend-torch: ${loaded.reason}`);
  loaded.addon.setNumThreads(n);
}

export function getNumThreads(): number {
  const loaded = loadNative();
  if (!loaded.ok) throw new Error(`tfjs-backend-torch: ${loaded.reason}`);
  return loaded.addon.getNumThreads();
}

/** Whether the native addon is built and loadable here, and if not, why (and how to get it). */
export function nativeStatus(): { built: boolean; reason?: string } {
  const loaded = loadNative();
  return loaded.ok ? { built: true } : { built: false, reason: loaded.reason };
}

/** Live native tensors and their bytes: equals tfjs's tensor count when nothing leaks. */
export function nativeStats(): { live: number; slots: number; bytes: number } {
  const loaded = loadNative();
  if (!loaded.ok) throw new Error(`tfjs-backend-torch: ${loaded.reason}`);
  return loaded.addon.stats();
}

export const kernelCount = (): number => KERNEL_NAMES.length;
