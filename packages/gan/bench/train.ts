/**
 * Training throughput benchmark: `npm run bench:train [-- --backend NAME --steps N --repeats N]`.
 *
 * Measures img/s of the engine's real GanTrainer (one iteration = D step on real + detached fake,
 * then G step, with all per-step metrics) on the chosen tfjs backend for
 *   (a) 32px, batch 32, ngf = ndf = 32
 *   (b) the classic 64px DCGAN, batch 64, ngf = ndf = 64
 * and, in the same run, the same architectures in PyTorch on the same CPU (bench/pytorch_dcgan.py with
 * Debian's /usr/bin/python3, OPENBLAS_NUM_THREADS=1, torch threads = --threads). Warm-up steps are
 * excluded; each figure is the median of --repeats timed runs of --steps iterations, and the two sides
 * alternate repeat by repeat. On a shared machine the wall-clock figures still move with other load,
 * so images per CPU-second of each process are printed too (the JSON line carries wall-clock).
 *
 * Prints a per-kernel breakdown of one profiled step per configuration, and as its last line exactly
 * one JSON object: {backend, a_img_per_s, a_ref_img_per_s, a_ratio, b_img_per_s, b_ref_img_per_s, b_ratio}.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { BACKENDS, parseTrainConfig, type BackendName } from "../src/config.ts";
import { selectBackend } from "../src/backend.ts";
import { GanTrainer } from "../src/trainer.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = "/usr/bin/python3";

interface BenchConfig {
  key: "a" | "b";
  label: string;
  resolution: number;
  batch: number;
  width: number;
  steps: number;
}

interface KernelShare {
  name: string;
  ms: number;
  calls: number;
}

function usage(message: string): never {
  console.error(`bench:train: ${message}
usage: npm run bench:train -- [--backend ${BACKENDS.join("|")}] [--steps N] [--steps-b N] [--repeats N]
                              [--warmup N] [--threads N] [--only a|b] [--no-ref]`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Same numbers every call: the benchmark times the step, not data loading. */
function fakeBatch(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function makeTrainer(c: BenchConfig): GanTrainer {
  return new GanTrainer(
    parseTrainConfig({ resolution: c.resolution, batch_size: c.batch, ngf: c.width, ndf: c.width, z_dim: 100, seed: 1 }),
  );
}

async function profileStep(trainer: GanTrainer, real: Float32Array): Promise<{ totalMs: number; wallMs: number; kernels: KernelShare[] }> {
  const t0 = performance.now();
  const info = await tf.profile(() => {
    trainer.trainStep(real);
  });
  const wallMs = performance.now() - t0;
  const byName = new Map<string, KernelShare>();
  for (const k of info.kernels) {
    const entry = byName.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    entry.calls += 1;
    byName.set(k.name, entry);
  }
  const kernels = [...byName.values()].sort((p, q) => q.ms - p.ms);
  return { totalMs: kernels.reduce((s, k) => s + k.ms, 0), wallMs, kernels };
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
}

/** `afterRepeat` runs between our timed repeats (the PyTorch side), so load changes hit both sides. */
async function benchOurs(
  c: BenchConfig,
  repeats: number,
  warmup: number,
  afterRepeat: (repeat: number) => void,
): Promise<{ imgPerS: number; rates: number[]; imgPerCpuS: number; breakdown: Awaited<ReturnType<typeof profileStep>> }> {
  const trainer = makeTrainer(c);
  const real = fakeBatch(c.batch * c.resolution * c.resolution * 3, 7);
  try {
    for (let i = 0; i < warmup; i++) {
      progress(`(${c.key}) warm-up ${i + 1}/${warmup}`);
      trainer.trainStep(real);
    }
    const tensorsBefore = tf.memory().numTensors;
    const rates: number[] = [];
    const cpuRates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < c.steps; i++) {
        progress(`(${c.key}) repeat ${r + 1}/${repeats}, step ${i + 1}/${c.steps}`);
        trainer.trainStep(real);
      }
      const cpu = process.cpuUsage(c0);
      rates.push((c.steps * c.batch * 1000) / (performance.now() - t0));
      cpuRates.push((c.steps * c.batch * 1e6) / (cpu.user + cpu.system));
      const tensors = tf.memory().numTensors;
      progress(`(${c.key}) pytorch repeat ${r + 1}/${repeats}`);
      afterRepeat(r);
      if (tf.memory().numTensors !== tensors) throw new Error("the reference run must not touch tfjs state");
    }
    progress("");
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) console.warn(`warning: (${c.key}) tensor count changed by ${leaked} over ${repeats * c.steps} steps`);
    const breakdown = await profileStep(trainer, real);
    return { imgPerS: median(rates), rates, imgPerCpuS: median(cpuRates), breakdown };
  } finally {
    trainer.G.dispose();
    trainer.D.dispose();
    trainer.emaG?.dispose();
    trainer.optG.dispose();
    trainer.optD.dispose();
  }
}

interface TorchResult {
  imgPerS: number;
  rates: number[];
  imgPerCpuS: number;
  version: string;
  threads: number;
}

function benchTorch(c: BenchConfig, repeats: number, warmup: number, threads: number): TorchResult | { error: string } {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  const script = join(HERE, "pytorch_dcgan.py");
  const proc = spawnSync(
    PYTHON,
    [script, "--config", `${c.key}:${c.resolution}:${c.batch}:${c.width}:${c.steps}`, "--repeats", String(repeats), "--warmup", String(warmup), "--threads", String(threads)],
    { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: String(threads) }, maxBuffer: 16 << 20 },
  );
  if (proc.error) return { error: proc.error.message };
  const lines = proc.stdout.trim().split("\n");
  if (proc.status !== 0 || lines.length === 0) {
    const why = (proc.stderr || proc.stdout).trim().split("\n").slice(-3).join(" | ");
    return { error: /No module named 'torch'/.test(why) ? "python3-torch is not installed" : `pytorch_dcgan.py failed: ${why}` };
  }
  const parsed = JSON.parse(lines[lines.length - 1]!) as { torch: string; threads: number; results: { img_per_s: number; repeats: number[]; img_per_cpu_s: number }[] };
  const r = parsed.results[0]!;
  return { imgPerS: r.img_per_s, rates: r.repeats, imgPerCpuS: r.img_per_cpu_s, version: parsed.torch, threads: parsed.threads };
}

function printBreakdown(c: BenchConfig, b: Awaited<ReturnType<typeof profileStep>>, top = 12): void {
  console.log(`  where the time goes in one (${c.key}) step: kernels ${b.totalMs.toFixed(0)} ms of ${b.wallMs.toFixed(0)} ms wall (profiled)`);
  for (const k of b.kernels.slice(0, top)) {
    const pct = (100 * k.ms) / b.totalMs;
    console.log(`    ${k.name.padEnd(24)} ${k.ms.toFixed(1).padStart(8)} ms ${pct.toFixed(1).padStart(5)}%  ${String(k.calls).padStart(4)} calls`);
  }
  const rest = b.kernels.slice(top);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.ms, 0);
    console.log(`    ${`(${rest.length} other kernels)`.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / b.totalMs).toFixed(1).padStart(5)}%  ${String(rest.reduce((s, k) => s + k.calls, 0)).padStart(4)} calls`);
  }
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        backend: { type: "string" },
        steps: { type: "string" },
        "steps-b": { type: "string" },
        repeats: { type: "string" },
        warmup: { type: "string" },
        threads: { type: "string" },
        only: { type: "string" },
        "no-ref": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) usage("training throughput vs PyTorch");
  const backendArg = values.backend as string | undefined;
  if (backendArg !== undefined && !(BACKENDS as readonly string[]).includes(backendArg)) usage(`unknown backend "${backendArg}"`);
  const only = values.only as string | undefined;
  if (only !== undefined && only !== "a" && only !== "b") usage(`--only must be a or b`);
  const steps = positiveInt("steps", values.steps as string | undefined, 6);
  const stepsB = positiveInt("steps-b", values["steps-b"] as string | undefined, values.steps ? steps : 2);
  const repeats = positiveInt("repeats", values.repeats as string | undefined, 3);
  const warmup = positiveInt("warmup", values.warmup as string | undefined, 2);

  const backend = await selectBackend(backendArg as BackendName | undefined);
  // Our wasm and cpu backends run on one thread: give PyTorch the same, so the ratio compares kernels.
  const defaultThreads = backend.name === "wasm" || backend.name === "cpu" ? 1 : availableParallelism();
  const threads = positiveInt("threads", values.threads as string | undefined, defaultThreads);

  const configs: BenchConfig[] = [
    { key: "a", label: "32px, batch 32, ngf=ndf=32", resolution: 32, batch: 32, width: 32, steps },
    { key: "b", label: "64px classic DCGAN, batch 64, ngf=ndf=64", resolution: 64, batch: 64, width: 64, steps: stepsB },
  ].filter((c) => !only || c.key === only) as BenchConfig[];

  console.log(`backend: ${backend.name} — ${backend.device} (${Object.entries(backend.versions).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  console.log(`PyTorch reference: ${values["no-ref"] ? "off" : `${PYTHON}, ${threads} thread(s), OPENBLAS_NUM_THREADS=1`}`);
  console.log(`median of ${repeats} repeats after ${warmup} warm-up steps, the two sides alternating per repeat; CPU cores visible: ${availableParallelism()} (shared: other load skews wall-clock figures)`);

  const out: Record<string, number | string | null> = { backend: backend.name };
  for (const c of configs) {
    console.log(`\n(${c.key}) ${c.label}, ${c.steps} steps per repeat`);
    // One PyTorch repeat (its own process, warmed up) after each of ours: both sides see the same load.
    const torchRates: number[] = [];
    const torchCpuRates: number[] = [];
    let torchMeta: { version: string; threads: number } | null = null;
    let torchError: string | null = values["no-ref"] ? "off (--no-ref)" : null;
    const ours = await benchOurs(c, repeats, warmup, () => {
      if (torchError !== null) return;
      const t = benchTorch(c, 1, warmup, threads);
      if ("error" in t) {
        torchError = t.error;
        return;
      }
      torchRates.push(...t.rates);
      torchCpuRates.push(t.imgPerCpuS);
      torchMeta = { version: t.version, threads: t.threads };
    });
    console.log(`  ${backend.name}: ${ours.imgPerS.toFixed(1)} img/s (repeats: ${ours.rates.map((r) => r.toFixed(1)).join(", ")}); ${ours.imgPerCpuS.toFixed(1)} img per CPU-second`);
    let ref: number | null = null;
    const meta = torchMeta as { version: string; threads: number } | null;
    if (torchError !== null || meta === null) console.log(`  pytorch: unavailable — ${torchError ?? "no result"}`);
    else {
      ref = median(torchRates);
      const refCpu = median(torchCpuRates);
      console.log(`  pytorch ${meta.version} (${meta.threads} thread${meta.threads === 1 ? "" : "s"}): ${ref.toFixed(1)} img/s (repeats: ${torchRates.map((r) => r.toFixed(1)).join(", ")}); ${refCpu.toFixed(1)} img per CPU-second`);
      console.log(`  ratio ${backend.name}/pytorch: ${(ours.imgPerS / ref).toFixed(3)}× wall-clock, ${(ours.imgPerCpuS / refCpu).toFixed(3)}× per CPU-second`);
    }
    printBreakdown(c, ours.breakdown);
    out[`${c.key}_img_per_s`] = round(ours.imgPerS);
    out[`${c.key}_ref_img_per_s`] = ref === null ? null : round(ref);
    out[`${c.key}_ratio`] = ref === null ? null : round(ours.imgPerS / ref, 3);
  }
  for (const k of ["a", "b"] as const) {
    for (const f of ["img_per_s", "ref_img_per_s", "ratio"]) out[`${k}_${f}`] ??= null;
  }
  const ordered = ["backend", "a_img_per_s", "a_ref_img_per_s", "a_ratio", "b_img_per_s", "b_ref_img_per_s", "b_ratio"];
  console.log(JSON.stringify(Object.fromEntries(ordered.map((k) => [k, out[k]]))));
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
