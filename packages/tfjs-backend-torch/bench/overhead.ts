/**
 * Where a training step's time goes on the torch backend: inside kernel functions (native ATen work plus
 * our argument/shape handling) vs everything else (tfjs engine bookkeeping, tape, gradients' JS, the
 * trainer's JS). Uses the engine's real GanTrainer.
 *   npx tsx packages/tfjs-backend-torch/bench/overhead.ts [--size 32|64] [--steps N] [--threads N]
 * The engine's batch norm and Adam take the backend's fused kernels by themselves (packages/gan/src/backend-fused.ts).
 * Prints a table and, last, one JSON line.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { parseTrainConfig } from "../../gan/src/config.ts";
import { GanTrainer } from "../../gan/src/trainer.ts";
import {
  getNumThreads, kernelCallCounts, kernelTimesMs, registerTorchBackend, resetKernelCallCounts, setKernelTiming, setNumThreads,
} from "../src/index.ts";

const { values } = parseArgs({ options: { size: { type: "string", default: "32" }, steps: { type: "string", default: "5" }, threads: { type: "string" } } });
const size = Number(values.size);
if (size !== 32 && size !== 64) throw new Error("--size must be 32 or 64");
const steps = Number(values.steps);
const status = await registerTorchBackend();
if (!status.available) throw new Error(`torch backend unavailable: ${status.reason}`);
if (values.threads) setNumThreads(Number(values.threads));
await tf.setBackend("torch");

const config = parseTrainConfig({ resolution: size, batch_size: size, ngf: size, ndf: size, z_dim: 100, seed: 1 });
const trainer = new GanTrainer(config);
const batch = new Float32Array(size * size * size * 3).map((_, i) => Math.sin(i) * 0.9);
trainer.trainStep(batch); // warm-up (oneDNN primitive creation)
trainer.trainStep(batch);

const walls: number[] = [];
const cpus: number[] = [];
const kernels: number[] = [];
let calls = 0;
const perKernel = new Map<string, { ms: number; calls: number }>();
for (let i = 0; i < steps; i++) {
  resetKernelCallCounts();
  setKernelTiming(true);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  trainer.trainStep(batch);
  walls.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
  const times = kernelTimesMs();
  setKernelTiming(false);
  kernels.push([...times.values()].reduce((a, b) => a + b, 0));
  const counts = kernelCallCounts();
  calls = [...counts.values()].reduce((a, b) => a + b, 0);
  for (const [k, ms] of times) {
    const e = perKernel.get(k) ?? { ms: 0, calls: 0 };
    e.ms += ms / steps;
    e.calls = counts.get(k) ?? 0;
    perKernel.set(k, e);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const wall = median(walls);
const kernel = median(kernels);
console.log(`${size}px, batch ${size}, width ${size}; ${getNumThreads()} ATen thread(s); ${status.device}`);
console.log(`step ${wall.toFixed(1)} ms (median of ${steps}; ${median(cpus).toFixed(1)} ms of CPU in this process): kernels ${kernel.toFixed(1)} ms, outside kernels ${(wall - kernel).toFixed(1)} ms; ${calls} kernel calls/step (${(((wall - kernel) / calls) * 1000).toFixed(1)} µs overhead per call)`);
for (const [k, e] of [...perKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
  console.log(`  ${k.padEnd(26)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)} calls`);
}
console.log(JSON.stringify({ size, threads: getNumThreads(), step_ms: +wall.toFixed(1), cpu_ms: +median(cpus).toFixed(1), kernel_ms: +kernel.toFixed(1), overhead_ms: +(wall - kernel).toFixed(1), calls_per_step: calls }));

