/**
 * Where a training step's time goes on the torch backend: inside kernel functions (native ATen work plus
 * our argument/shape handling) vs everything else (tfjs engine bookkeeping, tape, gradients' JS, the
 * trainer's JS). Uses the engine's real GanTrainer.
 *   npx tsx packages/tfjs-backend-torch/bench/overhead.ts [--size 32|64] [--steps N] [--threads N] [--fused-engine]
 * --fused-engine routes the engine's batch norm and Adam through the torch backend's fused kernels
 * (packages/gan/src/backend-fused.ts) even where the engine does not call them yet, to measure the gain.
 * Prints a table and, last, one JSON line.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../../gan/src/adam.ts";
import { fusedAdamUpdate, fusedBatchNormTrain } from "../../gan/src/backend-fused.ts";
import { parseTrainConfig } from "../../gan/src/config.ts";
import { BN_EPSILON, BN_MOMENTUM, Network, type ForwardMode, type RunningUpdate } from "../../gan/src/model.ts";
import { GanTrainer } from "../../gan/src/trainer.ts";
import {
  getNumThreads, kernelCallCounts, kernelTimesMs, registerTorchBackend, resetKernelCallCounts, setKernelTiming, setNumThreads,
} from "../src/index.ts";

const { values } = parseArgs({ options: { size: { type: "string", default: "32" }, steps: { type: "string", default: "5" }, threads: { type: "string" }, "fused-engine": { type: "boolean" } } });
if (values["fused-engine"]) useFusedEngineOps();
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

/** What packages/gan's Network.batchNorm (train mode) and Adam.apply do, through the fused kernels. */
function useFusedEngineOps(): void {
  type Bn = { gamma: tf.Variable; beta: tf.Variable; runningMean: tf.Variable; runningVar: tf.Variable };
  type BatchNormFn = (x: tf.Tensor4D, name: string, mode: ForwardMode, updates?: RunningUpdate[]) => tf.Tensor4D;
  const proto = Network.prototype as unknown as { batchNorm: BatchNormFn };
  const original = proto.batchNorm;
  proto.batchNorm = function (this: { bns: Map<string, Bn> }, x, name, mode, updates) {
    if (mode === "eval") return original.call(this, x, name, mode, updates);
    const bn = this.bns.get(name)!;
    const fused = fusedBatchNormTrain(x, bn.gamma, bn.beta, BN_EPSILON);
    if (!fused) throw new Error("the active backend has no fused batch norm");
    if (updates) {
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const unbiased = tf.mul(fused.variance, n / (n - 1));
      updates.push({ target: bn.runningMean, value: tf.keep(tf.add(tf.mul(bn.runningMean, 1 - BN_MOMENTUM), tf.mul(fused.mean, BN_MOMENTUM))) });
      updates.push({ target: bn.runningVar, value: tf.keep(tf.add(tf.mul(bn.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM))) });
    }
    return fused.y;
  } as BatchNormFn;
  Adam.prototype.apply = function (this: Adam, grads: tf.Tensor[]) {
    this.t += 1;
    const hyper = { ...this.hyper, step: this.t };
    tf.tidy(() => {
      for (let i = 0; i < this.variables.length; i++) {
        const out = fusedAdamUpdate(this.variables[i], this.m[i], this.v[i], grads[i], hyper);
        if (!out) throw new Error("the active backend has no fused Adam");
        this.variables[i].assign(out[0]);
        this.m[i].assign(out[1]);
        this.v[i].assign(out[2]);
      }
    });
  };
}
