/**
 * Chooses the tfjs backend a run trains on, fastest first:
 *   tensorflow-gpu (@tensorflow/tfjs-node-gpu) → torch (@ganboard/tfjs-backend-torch, CUDA then CPU)
 *   → tensorflow (@tensorflow/tfjs-node) → wasm (with our training kernels) → cpu.
 * GANBOARD_BACKEND or the argument forces one; a forced backend that cannot be used is an error
 * that says why. GANBOARD_TEST_BACKEND replaces every choice, explicit ones included: it runs the
 * engine's test suite on one backend (`GANBOARD_TEST_BACKEND=torch npx vitest run packages/gan`).
 * Everything is local: the wasm binaries are read from node_modules, never fetched.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { BACKENDS, type BackendName } from "./config.ts";
import { registerWasmTrainingKernels } from "./backends/wasm-kernels.ts";
import { BackendUnavailableError } from "./errors.ts";

export type { BackendName };

export interface BackendInfo {
  name: BackendName;
  /** Human description of the device, e.g. "CPU (wasm, SIMD, 1 thread)" or a GPU name. */
  device: string;
  versions: Record<string, string>;
}

type Attempt = { ok: true; info: BackendInfo } | { ok: false; reason: string };

const require = createRequire(import.meta.url);
let current: BackendInfo | null = null;

/** The backend chosen by the last selectBackend call in this process, if any. */
export function currentBackend(): BackendInfo | null {
  return current;
}

export async function selectBackend(preferred?: BackendName): Promise<BackendInfo> {
  const forced = parseEnvBackend("GANBOARD_TEST_BACKEND") ?? preferred ?? parseEnvBackend("GANBOARD_BACKEND");
  if (forced) {
    if (current?.name === forced && tf.getBackend() === tfjsName(forced)) return current;
    const attempt = await tryBackend(forced);
    if (!attempt.ok) throw new BackendUnavailableError(forced, attempt.reason);
    return (current = attempt.info);
  }
  if (current && tf.getBackend() === tfjsName(current.name)) return current;
  const reasons: string[] = [];
  for (const name of BACKENDS) {
    const attempt = await tryBackend(name);
    if (attempt.ok) return (current = attempt.info);
    reasons.push(`${name}: ${attempt.reason}`);
  }
  throw new Error(`no tfjs backend could be started:\n  ${reasons.join("\n  ")}`);
}

function parseEnvBackend(variable: "GANBOARD_BACKEND" | "GANBOARD_TEST_BACKEND"): BackendName | undefined {
  const value = process.env[variable]?.trim();
  if (!value) return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new Error(`${variable}=${value} is not a backend; use one of ${BACKENDS.join(", ")}`);
  }
  return value as BackendName;
}

function tfjsName(name: BackendName): string {
  return name === "tensorflow-gpu" ? "tensorflow" : name;
}

async function tryBackend(name: BackendName): Promise<Attempt> {
  try {
    switch (name) {
      case "tensorflow-gpu":
        return await tryTfjsNode("@tensorflow/tfjs-node-gpu", "tensorflow-gpu");
      case "tensorflow":
        return await tryTfjsNode("@tensorflow/tfjs-node", "tensorflow");
      case "torch":
        return await tryTorch();
      case "wasm":
        return await tryWasm();
      case "cpu":
        await activate("cpu");
        return { ok: true, info: { name: "cpu", device: "CPU (pure JavaScript)", versions: { "tfjs-core": tf.version_core } } };
    }
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function activate(tfName: string): Promise<void> {
  if (tf.getBackend() === tfName) return;
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend("${tfName}") failed to initialise`);
  await tf.ready();
}

async function tryTfjsNode(pkg: string, name: "tensorflow" | "tensorflow-gpu"): Promise<Attempt> {
  let mod: { version?: Record<string, string> };
  try {
    mod = (await import(/* @vite-ignore */ pkg)) as typeof mod;
  } catch (error) {
    return { ok: false, reason: `${pkg} is not installed or failed to load (${firstLine(error)})` };
  }
  await activate("tensorflow");
  const versions: Record<string, string> = { "tfjs-core": tf.version_core, ...(mod.version ?? {}) };
  let device = "CPU (libtensorflow)";
  if (name === "tensorflow-gpu") {
    // tfjs-node-gpu exposes no device query, and libtensorflow silently runs on the CPU when CUDA 11.2 /
    // cuDNN 8.1 cannot be loaded: say so rather than claim a GPU we cannot confirm.
    device = "GPU if CUDA 11.2/cuDNN 8.1 load, else CPU (libtensorflow; see its log)";
  }
  return { ok: true, info: { name, device, versions } };
}

interface TorchModule {
  registerTorchBackend(opts?: { device?: "cpu" | "cuda" }): Promise<{ available: boolean; reason?: string; device: string; versions: Record<string, string> }>;
}

/**
 * The devices the torch backend tries, in order: CUDA then CPU, or only the one GANBOARD_TORCH_DEVICE
 * names (e.g. `cpu` on a GPU host whose GPU another job uses).
 */
export function torchDevices(env: NodeJS.ProcessEnv = process.env): ("cuda" | "cpu")[] {
  const wanted = env.GANBOARD_TORCH_DEVICE?.trim().toLowerCase();
  if (!wanted) return ["cuda", "cpu"];
  if (wanted === "cuda" || wanted === "cpu") return [wanted];
  throw new Error(`GANBOARD_TORCH_DEVICE must be cuda or cpu, got "${env.GANBOARD_TORCH_DEVICE}"`);
}

async function tryTorch(): Promise<Attempt> {
  const pkg = "@ganboard/tfjs-backend-torch";
  let mod: TorchModule;
  try {
    mod = (await import(/* @vite-ignore */ pkg)) as TorchModule;
  } catch (error) {
    return { ok: false, reason: `${pkg} is not installed or failed to load (${firstLine(error)})` };
  }
  const reasons: string[] = [];
  for (const device of torchDevices()) {
    const result = await mod.registerTorchBackend({ device });
    if (result.available) {
      await activate("torch");
      return { ok: true, info: { name: "torch", device: result.device, versions: { "tfjs-core": tf.version_core, ...result.versions } } };
    }
    reasons.push(`${device}: ${result.reason ?? "unavailable"}`);
  }
  return { ok: false, reason: reasons.join("; ") };
}

async function tryWasm(): Promise<Attempt> {
  const distDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  // A file-system prefix: the Node build of the wasm backend reads the binaries from here.
  setWasmPaths(join(distDir, "/"));
  await activate("wasm");
  registerWasmTrainingKernels();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  return {
    ok: true,
    info: {
      name: "wasm",
      device: `CPU (wasm${simd ? ", SIMD" : ""}, ${threads ? "multi-threaded" : "1 thread"})`,
      versions: { "tfjs-core": tf.version_core, "tfjs-backend-wasm": readVersion("@tensorflow/tfjs-backend-wasm") },
    },
  };
}

function readVersion(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
