/**
 * One GAN training iteration as in pytorch/examples dcgan: d_steps discriminator updates, each on a
 * real batch plus a detached fake batch, then one generator update through D on the last fake batch.
 * Everything random comes from the trainer's seeded Prng, so a run is reproducible on one backend
 * and a checkpoint captures the full state (weights, running stats, EMA, Adam moments and counts, RNG).
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "./config.ts";
import { Adam } from "./adam.ts";
import { decodeCheckpoint, encodeCheckpoint, type CheckpointHeader, type NamedArray } from "./checkpoint.ts";
import { CheckpointError, DivergenceError } from "./errors.ts";
import { generatorLoss, discriminatorLoss } from "./losses.ts";
import { applyRunningUpdates, architectureOf, Discriminator, Generator, type Architecture, type Network, type RunningUpdate } from "./model.ts";
import { Prng } from "./random.ts";

export interface StepMetrics {
  loss_d: number;
  loss_g: number;
  /** mean sigmoid(D(x)) on the real batch (last D step). */
  d_real: number;
  /** mean sigmoid(D(G(z))) before the D step. */
  d_fake: number;
  /** mean sigmoid(D(G(z))) after the D step (the G step's forward pass). */
  d_fake_after: number;
  /** Global L2 norm of D's gradients (last D step) and of G's. */
  grad_norm_d: number;
  grad_norm_g: number;
}

export const STEP_METRIC_KEYS = ["loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g"] as const;

/** Where the run is within its schedule; stored in checkpoints by whoever drives the trainer. */
export interface TrainingPosition {
  epoch: number;
  stepInEpoch: number;
}

/** Config fields that fix the shapes of the weights: a checkpoint only fits a config with the same values. */
const ARCHITECTURE_FIELDS = ["resolution", "z_dim", "ngf", "ndf"] as const;

const ADAM_EPSILON = 1e-8; // PyTorch's default (tfjs would use 1e-7)

export class GanTrainer {
  readonly arch: Architecture;
  readonly G: Generator;
  readonly D: Discriminator;
  /** EMA copy of G (weights averaged, batch-norm buffers copied); null when config.ema is 0. */
  emaG: Generator | null;
  readonly optG: Adam;
  readonly optD: Adam;
  rng: Prng;
  /** Global iterations completed. */
  step = 0;
  private config: TrainConfig;

  constructor(config: TrainConfig) {
    this.config = config;
    this.arch = architectureOf(config);
    this.rng = new Prng(config.seed);
    this.G = new Generator(this.arch, this.rng);
    this.D = new Discriminator(this.arch, this.rng);
    this.optG = new Adam(this.G.trainable, this.adamHyper("g"));
    this.optD = new Adam(this.D.trainable, this.adamHyper("d"));
    this.emaG = config.ema > 0 ? this.cloneGenerator() : null;
  }

  get currentConfig(): TrainConfig {
    return this.config;
  }

  get batchSize(): number {
    return this.config.batch_size;
  }

  /**
   * Swap in a config that differs only in training hyperparameters (learning rates, betas, loss,
   * d_steps, smoothing, EMA decay, epochs...). Architecture changes are refused.
   */
  setConfig(config: TrainConfig): void {
    assertSameArchitecture(this.config, config, "the new config");
    this.config = config;
    this.optG.hyper = this.adamHyper("g");
    this.optD.hyper = this.adamHyper("d");
    if (config.ema > 0 && !this.emaG) this.emaG = this.cloneGenerator();
    if (config.ema === 0 && this.emaG) {
      this.emaG.dispose();
      this.emaG = null;
    }
  }

  private adamHyper(which: "g" | "d") {
    const c = this.config;
    return { lr: which === "g" ? c.lr_g : c.lr_d, beta1: c.beta1, beta2: c.beta2, eps: ADAM_EPSILON };
  }

  private cloneGenerator(): Generator {
    // The init draws are discarded: the copy's values are overwritten right away, and a throwaway
    // Prng keeps the training stream untouched.
    const copy = new Generator(this.arch, new Prng(0), "EMA");
    for (const [name, v] of this.G.namedVariables()) (copy.params.get(name) ?? copy.buffers.get(name))!.assign(v);
    return copy;
  }

  /**
   * One iteration. `real` holds d_steps batches (one Float32Array each, NHWC in [-1, 1]), or a single
   * batch reused for every D step. Throws DivergenceError on a NaN/Inf loss or gradient norm.
   */
  trainStep(real: Float32Array | Float32Array[]): StepMetrics {
    const c = this.config;
    const b = c.batch_size;
    const R = this.arch.resolution;
    const batches = Array.isArray(real) ? real : [real];
    for (const batch of batches) {
      if (batch.length !== b * R * R * 3) {
        throw new Error(`real batch has ${batch.length} values, expected ${b}×${R}×${R}×3 = ${b * R * R * 3}`);
      }
    }
    const readings: tf.Scalar[] = [];
    let z: tf.Tensor2D | null = null;
    try {
      let dReadings: tf.Scalar[] = [];
      for (let k = 0; k < c.d_steps; k++) {
        z?.dispose();
        z = tf.tensor2d(this.rng.normal(b * this.arch.zDim), [b, this.arch.zDim]);
        for (const s of dReadings) s.dispose();
        dReadings = this.discriminatorStep(batches[k % batches.length], z);
      }
      readings.push(...dReadings);
      readings.push(...this.generatorStep(z!));
      if (this.emaG) this.updateEma(c.ema);
      const stacked = tf.stack(readings);
      const values = stacked.dataSync();
      stacked.dispose();
      this.step += 1;
      const [loss_d, d_real, d_fake, grad_norm_d, loss_g, d_fake_after, grad_norm_g] = Array.from(values);
      const metrics: StepMetrics = { loss_d, loss_g, d_real, d_fake, d_fake_after, grad_norm_d, grad_norm_g };
      for (const key of ["loss_d", "loss_g", "grad_norm_d", "grad_norm_g"] as const) {
        if (!Number.isFinite(metrics[key])) throw new DivergenceError(this.step, key, metrics[key]);
      }
      return metrics;
    } finally {
      z?.dispose();
      for (const s of readings) s.dispose();
    }
  }

  /** Returns [loss_d, d_real, d_fake, grad_norm_d] as kept scalars. */
  private discriminatorStep(realData: Float32Array, z: tf.Tensor2D): tf.Scalar[] {
    const c = this.config;
    const R = this.arch.resolution;
    const gUpdates: RunningUpdate[] = [];
    const dUpdates: RunningUpdate[] = [];
    // Detached fake: computed outside the gradient function, so no gradient reaches G.
    const fake = tf.tidy(() => this.G.apply(z, "train", gUpdates));
    const realT = tf.tensor4d(realData, [c.batch_size, R, R, 3]);
    let dReal: tf.Scalar | null = null;
    let dFake: tf.Scalar | null = null;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const realLogits = this.D.apply(realT, "train", dUpdates);
        const fakeLogits = this.D.apply(fake, "train", dUpdates);
        dReal = tf.keep(tf.mean(tf.sigmoid(realLogits)) as tf.Scalar);
        dFake = tf.keep(tf.mean(tf.sigmoid(fakeLogits)) as tf.Scalar);
        return discriminatorLoss(c.loss, realLogits, fakeLogits, c.label_smoothing);
      }, this.D.trainable);
      const gradList = this.D.trainable.map((v) => grads[v.name]);
      const norm = globalNorm(gradList);
      this.optD.apply(gradList);
      tf.dispose(grads);
      applyRunningUpdates(dUpdates);
      applyRunningUpdates(gUpdates);
      return [value, dReal!, dFake!, norm];
    } finally {
      fake.dispose();
      realT.dispose();
      for (const u of [...dUpdates, ...gUpdates]) u.value.dispose();
    }
  }

  /** Returns [loss_g, d_fake_after, grad_norm_g] as kept scalars. */
  private generatorStep(z: tf.Tensor2D): tf.Scalar[] {
    const c = this.config;
    const dUpdates: RunningUpdate[] = [];
    let dFakeAfter: tf.Scalar | null = null;
    try {
      // G's running statistics were already updated by the D step's forward pass on this same z
      // (PyTorch runs G once per iteration), so this recomputation leaves them alone.
      const { value, grads } = tf.variableGrads(() => {
        const fakeLogits = this.D.apply(this.G.apply(z, "train"), "train", dUpdates);
        dFakeAfter = tf.keep(tf.mean(tf.sigmoid(fakeLogits)) as tf.Scalar);
        return generatorLoss(c.loss, fakeLogits);
      }, this.G.trainable);
      const gradList = this.G.trainable.map((v) => grads[v.name]);
      const norm = globalNorm(gradList);
      this.optG.apply(gradList);
      tf.dispose(grads);
      applyRunningUpdates(dUpdates);
      return [value, dFakeAfter!, norm];
    } finally {
      for (const u of dUpdates) u.value.dispose();
    }
  }

  private updateEma(decay: number): void {
    const ema = this.emaG!;
    tf.tidy(() => {
      for (const [name, w] of this.G.params) {
        const e = ema.params.get(name)!;
        e.assign(tf.add(tf.mul(e, decay), tf.mul(w, 1 - decay)));
      }
      for (const [name, buf] of this.G.buffers) ema.buffers.get(name)!.assign(buf);
    });
  }

  /**
   * Images from the given noise (count × z_dim values), NHWC in [-1, 1]. Uses the EMA generator
   * when EMA is on. Batch norm uses batch statistics over each chunk, as the PyTorch recipe does
   * when it draws its fixed-noise grid (netG stays in train mode); running stats are not touched.
   */
  generate(noise: Float32Array, count: number, opts: { chunk?: number; useEma?: boolean } = {}): Float32Array {
    const zDim = this.arch.zDim;
    if (noise.length !== count * zDim) throw new Error(`noise has ${noise.length} values, expected ${count}×${zDim}`);
    const G = opts.useEma === false || !this.emaG ? this.G : this.emaG;
    const R = this.arch.resolution;
    const per = R * R * 3;
    const out = new Float32Array(count * per);
    const chunk = Math.max(1, opts.chunk ?? 64);
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const images = tf.tidy(() => G.apply(tf.tensor2d(noise.subarray(start * zDim, (start + n) * zDim), [n, zDim]), "train"));
      out.set(images.dataSync() as Float32Array, start * per);
      images.dispose();
    }
    return out;
  }

  /** Checkpoint bytes (see checkpoint.ts for the format). */
  async serialize(position: TrainingPosition = { epoch: 1, stepInEpoch: 0 }, extra: { backend?: string } = {}): Promise<Uint8Array> {
    const arrays: NamedArray[] = [];
    const add = async (name: string, v: tf.Variable) => {
      arrays.push({ name, shape: [...v.shape], data: (await v.data()) as Float32Array });
    };
    for (const [name, v] of this.G.namedVariables()) await add(`G/${name}`, v);
    for (const [name, v] of this.D.namedVariables()) await add(`D/${name}`, v);
    if (this.emaG) for (const [name, v] of this.emaG.namedVariables()) await add(`EMA/${name}`, v);
    const gNames = [...this.G.params.keys()];
    const dNames = [...this.D.params.keys()];
    for (let i = 0; i < gNames.length; i++) {
      await add(`adam_g/m/${gNames[i]}`, this.optG.m[i]);
      await add(`adam_g/v/${gNames[i]}`, this.optG.v[i]);
    }
    for (let i = 0; i < dNames.length; i++) {
      await add(`adam_d/m/${dNames[i]}`, this.optD.m[i]);
      await add(`adam_d/v/${dNames[i]}`, this.optD.v[i]);
    }
    return encodeCheckpoint(
      {
        createdAt: new Date().toISOString(),
        config: this.config as unknown as Record<string, unknown>,
        architecture: { ...this.arch },
        step: this.step,
        position,
        rng: this.rng.state,
        optimizers: { g: { t: this.optG.t }, d: { t: this.optD.t } },
        hasEma: this.emaG !== null,
        backend: extra.backend,
      },
      arrays,
    );
  }

  /**
   * A trainer restored from checkpoint bytes. `config` defaults to the checkpoint's own; a different
   * config may change training hyperparameters (PBT perturbs learning rates) but not the architecture.
   */
  static fromCheckpoint(bytes: Uint8Array, config?: TrainConfig): { trainer: GanTrainer; header: CheckpointHeader; position: TrainingPosition } {
    const { header, arrays } = decodeCheckpoint(bytes);
    const saved = header.config as unknown as TrainConfig;
    const target = config ?? saved;
    assertSameArchitecture(saved, target, "this run's config");
    const trainer = new GanTrainer({ ...target, ema: target.ema });
    try {
      const load = (name: string, v: tf.Variable) => {
        const a = arrays.get(name);
        if (!a) throw new CheckpointError(`checkpoint lacks tensor ${name}`);
        if (a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) {
          throw new CheckpointError(`checkpoint tensor ${name} has shape [${a.shape}], the model expects [${v.shape}]`);
        }
        v.assign(tf.tensor(a.data, a.shape));
      };
      tf.tidy(() => {
        for (const [name, v] of trainer.G.namedVariables()) load(`G/${name}`, v);
        for (const [name, v] of trainer.D.namedVariables()) load(`D/${name}`, v);
        if (trainer.emaG) {
          // A run that turns EMA on from a checkpoint without one starts its average at G.
          const prefix = header.hasEma ? "EMA" : "G";
          for (const [name, v] of trainer.emaG.namedVariables()) load(`${prefix}/${name}`, v);
        }
        const gNames = [...trainer.G.params.keys()];
        const dNames = [...trainer.D.params.keys()];
        gNames.forEach((n, i) => {
          load(`adam_g/m/${n}`, trainer.optG.m[i]);
          load(`adam_g/v/${n}`, trainer.optG.v[i]);
        });
        dNames.forEach((n, i) => {
          load(`adam_d/m/${n}`, trainer.optD.m[i]);
          load(`adam_d/v/${n}`, trainer.optD.v[i]);
        });
      });
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    trainer.optG.t = header.optimizers.g.t;
    trainer.optD.t = header.optimizers.d.t;
    trainer.rng = new Prng(header.rng);
    trainer.step = header.step;
    return { trainer, header, position: header.position };
  }

  dispose(): void {
    this.G.dispose();
    this.D.dispose();
    this.emaG?.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}

function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

export function assertSameArchitecture(a: Pick<TrainConfig, (typeof ARCHITECTURE_FIELDS)[number]>, b: Pick<TrainConfig, (typeof ARCHITECTURE_FIELDS)[number]>, what: string): void {
  const diffs = ARCHITECTURE_FIELDS.filter((f) => a[f] !== b[f]).map((f) => `${f} ${a[f]} → ${b[f]}`);
  if (diffs.length > 0) {
    throw new CheckpointError(`checkpoint architecture does not match ${what} (${diffs.join(", ")}); only training hyperparameters may change on resume`);
  }
}

export type { Network };
