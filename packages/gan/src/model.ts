/**
 * DCGAN generator and discriminator as plain tfjs variables + ops, following the PyTorch recipe
 * (pytorch/examples dcgan): no biases, weights N(0, 0.02), BN γ N(1, 0.02) β 0, LeakyReLU 0.2 and
 * PyTorch batch-norm semantics (train mode normalises by batch statistics; running stats updated with
 * momentum 0.1, unbiased variance, eps 1e-5).
 *
 * Two exact rewrites of the recipe's layers keep the step lean:
 * - G's first ConvT(k4 s1 p0) maps a 1×1 input to 4×4, which is a matmul z·W with W [z_dim, 4·4·C];
 * - D's last Conv(k4 s1 p0) maps 4×4 to 1×1, which is a matmul of the flattened features.
 * Strided layers use tfjs 'same' padding, which for k4 s2 on even sizes pads 1 on each side —
 * identical to PyTorch's p1 (checked against a direct implementation of PyTorch's formula in model.test.ts).
 * Train-mode batch norm is one fused kernel where the backend has one (torch: ATen's native_batch_norm
 * and its backward, see backend-fused.ts) and plain ops elsewhere: faster than tfjs's fused batch-norm
 * gradient on wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { fusedBatchNormTrain } from "./backend-fused.ts";
import type { Prng } from "./random.ts";

export const BN_EPSILON = 1e-5;
export const BN_MOMENTUM = 0.1;
export const LEAKY_SLOPE = 0.2;
export const INIT_STD = 0.02;

export interface Architecture {
  resolution: number;
  zDim: number;
  ngf: number;
  ndf: number;
}

interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
}

/** Number of stride-2 layers between 4×4 and the image: 3 at 32px, 4 at 64px, 5 at 128px. */
export function stridedLayerCount(resolution: number): number {
  const n = Math.log2(resolution) - 2;
  if (!Number.isInteger(n) || n < 1) throw new Error(`unsupported resolution ${resolution}: must be 32, 64 or 128`);
  return n;
}

/**
 * Trainable parameters (in a fixed order: that order is the checkpoint and optimiser order) and
 * batch-norm running statistics (buffers: saved, not trained).
 */
export abstract class Network {
  readonly params = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  protected readonly bns = new Map<string, BatchNormParams>();

  constructor(readonly arch: Architecture, readonly prefix: string) {}

  get trainable(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Every variable with its stable name: parameters then buffers. */
  namedVariables(): [string, tf.Variable][] {
    return [...this.params.entries(), ...this.buffers.entries()];
  }

  protected addWeight(name: string, shape: number[], rng: Prng): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = ownedVariable(tf.tensor(rng.normal(size, 0, INIT_STD), shape), true, `${this.prefix}/${name}/${uid()}`);
    this.params.set(name, v);
    return v;
  }

  protected addBatchNorm(name: string, channels: number, rng: Prng): void {
    const gamma = ownedVariable(tf.tensor1d(rng.normal(channels, 1, INIT_STD)), true, `${this.prefix}/${name}.gamma/${uid()}`);
    const beta = ownedVariable(tf.zeros([channels]), true, `${this.prefix}/${name}.beta/${uid()}`);
    const runningMean = ownedVariable(tf.zeros([channels]), false, `${this.prefix}/${name}.running_mean/${uid()}`);
    const runningVar = ownedVariable(tf.ones([channels]), false, `${this.prefix}/${name}.running_var/${uid()}`);
    this.params.set(`${name}.gamma`, gamma);
    this.params.set(`${name}.beta`, beta);
    this.buffers.set(`${name}.running_mean`, runningMean);
    this.buffers.set(`${name}.running_var`, runningVar);
    this.bns.set(name, { gamma, beta, runningMean, runningVar });
  }

  /**
   * Batch norm over N,H,W per channel. mode "train": batch statistics, and (when `updates` is given)
   * the new running statistics are computed and kept for the caller to assign after the step —
   * inside a gradient function variables must not be mutated. mode "eval": running statistics.
   */
  protected batchNorm(x: tf.Tensor4D, name: string, mode: ForwardMode, updates?: RunningUpdate[]): tf.Tensor4D {
    const bn = this.bns.get(name)!;
    if (mode === "eval") {
      const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.runningVar, BN_EPSILON)));
      return tf.add(tf.mul(tf.sub(x, bn.runningMean), scale), bn.beta) as tf.Tensor4D;
    }
    const { y, mean, variance } = fusedBatchNormTrain(x, bn.gamma, bn.beta, BN_EPSILON) ?? batchNormTrain(x, bn.gamma, bn.beta);
    if (updates) {
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
      updates.push({
        target: bn.runningMean,
        value: tf.keep(tf.add(tf.mul(bn.runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM))),
      });
      updates.push({
        target: bn.runningVar,
        value: tf.keep(tf.add(tf.mul(bn.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM))),
      });
    }
    return y;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

/**
 * Train-mode batch norm (PyTorch semantics): normalise by the batch mean and the biased batch
 * variance over N, H, W; returns the batch statistics too (for the running averages).
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D | tf.Variable, beta: tf.Tensor1D | tf.Variable): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = tf.mean(x, [0, 1, 2]) as tf.Tensor1D;
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), [0, 1, 2]) as tf.Tensor1D;
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON)));
  return { y: tf.add(tf.mul(centered, scale), beta) as tf.Tensor4D, mean, variance };
}

export type ForwardMode = "train" | "eval";

/** A running-statistics assignment produced during a forward pass, applied after the step. */
export interface RunningUpdate {
  target: tf.Variable;
  value: tf.Tensor;
}

export function applyRunningUpdates(updates: RunningUpdate[]): void {
  for (const u of updates) {
    u.target.assign(u.value);
    u.value.dispose();
  }
  updates.length = 0;
}

/**
 * A variable that owns its initial value: tf.variable() shares the data of the tensor it is given,
 * and that tensor would otherwise stay alive (and counted) for as long as the variable.
 */
export function ownedVariable(initial: tf.Tensor, trainable: boolean, name?: string): tf.Variable {
  const v = tf.variable(initial, trainable, name);
  initial.dispose();
  return v;
}

let uidCounter = 0;
function uid(): number {
  return uidCounter++;
}

export class Generator extends Network {
  /** Channels of each stage from 4×4 upward; the last entry is the widest-to-image input (ngf). */
  readonly channels: number[];

  constructor(arch: Architecture, rng: Prng, prefix = "G") {
    super(arch, prefix);
    const n = stridedLayerCount(arch.resolution);
    // 64px: 8ngf@4 → 4ngf@8 → 2ngf@16 → ngf@32 → 3@64
    this.channels = Array.from({ length: n }, (_, i) => arch.ngf * 2 ** (n - 1 - i));
    this.addWeight("fc.weight", [arch.zDim, 16 * this.channels[0]], rng);
    this.addBatchNorm("bn0", this.channels[0], rng);
    for (let i = 1; i < n; i++) {
      this.addWeight(`convT${i}.weight`, [4, 4, this.channels[i], this.channels[i - 1]], rng);
      this.addBatchNorm(`bn${i}`, this.channels[i], rng);
    }
    this.addWeight(`convT${n}.weight`, [4, 4, 3, this.channels[n - 1]], rng);
  }

  /** z [batch, z_dim] → images [batch, R, R, 3] in (-1, 1). */
  apply(z: tf.Tensor2D, mode: ForwardMode = "train", updates?: RunningUpdate[]): tf.Tensor4D {
    const b = z.shape[0];
    const n = this.channels.length;
    let h = tf.reshape(tf.matMul(z, this.params.get("fc.weight")!), [b, 4, 4, this.channels[0]]) as tf.Tensor4D;
    h = tf.relu(this.batchNorm(h, "bn0", mode, updates));
    let size = 4;
    for (let i = 1; i <= n; i++) {
      size *= 2;
      const w = this.params.get(`convT${i}.weight`)! as tf.Tensor4D;
      const outC = i === n ? 3 : this.channels[i];
      h = tf.conv2dTranspose(h, w, [b, size, size, outC], 2, "same");
      h = i === n ? tf.tanh(h) : tf.relu(this.batchNorm(h, `bn${i}`, mode, updates));
    }
    return h;
  }
}

export class Discriminator extends Network {
  readonly channels: number[];

  constructor(arch: Architecture, rng: Prng, prefix = "D") {
    super(arch, prefix);
    const n = stridedLayerCount(arch.resolution);
    // 64px: 3@64 → ndf@32 → 2ndf@16 → 4ndf@8 → 8ndf@4 → 1
    this.channels = Array.from({ length: n }, (_, i) => arch.ndf * 2 ** i);
    for (let i = 0; i < n; i++) {
      this.addWeight(`conv${i}.weight`, [4, 4, i === 0 ? 3 : this.channels[i - 1], this.channels[i]], rng);
      if (i > 0) this.addBatchNorm(`bn${i}`, this.channels[i], rng);
    }
    this.addWeight("out.weight", [16 * this.channels[n - 1], 1], rng);
  }

  /** images [batch, R, R, 3] → logits [batch]. */
  apply(x: tf.Tensor4D, mode: ForwardMode = "train", updates?: RunningUpdate[]): tf.Tensor1D {
    const b = x.shape[0];
    let h = x;
    for (let i = 0; i < this.channels.length; i++) {
      h = tf.conv2d(h, this.params.get(`conv${i}.weight`)! as tf.Tensor4D, 2, "same");
      if (i > 0) h = this.batchNorm(h, `bn${i}`, mode, updates);
      h = tf.leakyRelu(h, LEAKY_SLOPE);
    }
    const flat = tf.reshape(h, [b, 16 * this.channels[this.channels.length - 1]]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(flat, this.params.get("out.weight")!), [b]) as tf.Tensor1D;
  }
}

export function architectureOf(config: { resolution: number; z_dim: number; ngf: number; ndf: number }): Architecture {
  return { resolution: config.resolution, zDim: config.z_dim, ngf: config.ngf, ndf: config.ndf };
}
