/**
 * A whole training run as an async stream of events: what the runner and `ganboard train` consume.
 * The engine itself knows nothing of storage: the caller decides what to do with each event
 * (log metrics, store grids and checkpoint bytes). Stop requests are honoured between steps with a
 * checkpoint, and a run resumed from checkpoint bytes continues exactly as it would have gone on.
 */
import type { BackendInfo } from "./backend.ts";
import { selectBackend } from "./backend.ts";
import type { TrainConfig } from "./config.ts";
import { BatchLoader, loadDataset, sampleImageSet, type ImageSet } from "./data/index.ts";
import { encodeGridPng } from "./media/index.ts";
import { imagesFromTanh, msSsimDiversity, slicedWassersteinDistance, swdFloor, swdMetricRecord, type ImageBatch } from "./metrics/index.ts";
import { Prng } from "./random.ts";
import { GanTrainer, type StepMetrics, type TrainingPosition } from "./trainer.ts";

export type LogLevel = "info" | "warn" | "error";

export interface RunTrainingOptions {
  /** The images to train on; else loadDataset(config.dataset, config.resolution). */
  dataset?: ImageSet;
  /** Checkpoint bytes: continue exactly where that run stopped (same backend for bit-exactness). */
  resumeFrom?: Uint8Array;
  /** Polled after every step (and after each epoch's evaluation); "checkpoint" → a "stop" checkpoint event, then the stream ends. */
  stopRequested?: () => false | "checkpoint";
  onLog?: (level: LogLevel, message: string) => void;
  /** Dataset cache directory (default: loadDataset's). */
  cacheDir?: string;
  /** Aborts dataset loading. */
  signal?: AbortSignal;
}

export interface DatasetSummary {
  source: string;
  count: number;
  hash: string;
  resolution: number;
  skipped: ImageSet["skipped"];
}

export type TrainingEvent =
  | {
      type: "started";
      backend: BackendInfo;
      dataset: DatasetSummary;
      stepsPerEpoch: number;
      totalSteps: number;
      resumedAt?: { epoch: number; step: number };
    }
  | { type: "step"; epoch: number; step: number; metrics: StepMetrics; imagesPerSecond: number; wallTime: number }
  | { type: "epoch"; epoch: number; step: number; gridPng: Buffer; quality: Record<string, number> }
  | {
      type: "checkpoint";
      epoch: number;
      step: number;
      data: Uint8Array;
      reason: "periodic" | "stop" | "final";
      /** On "stop": the fixed-noise grid at the moment of stopping (the last epoch grid may be stale). */
      gridPng?: Buffer;
    }
  | { type: "finished"; epoch: number; step: number; objective: number | null };

/** Largest generator forward batch used for evaluation images (bounded memory at 128px). */
const EVAL_CHUNK = 64;
/** MS-SSIM pairs per epoch: enough for a stable mean (±0.01), cheap next to SWD. */
const MS_SSIM_PAIRS = 256;

export async function* runTraining(config: TrainConfig, opts: RunTrainingOptions = {}): AsyncGenerator<TrainingEvent> {
  const log = opts.onLog ?? (() => {});
  const backend = await selectBackend(config.backend);
  log("info", `backend ${backend.name} on ${backend.device} (${Object.entries(backend.versions).map(([k, v]) => `${k} ${v}`).join(", ")})`);

  let set = opts.dataset;
  if (!set) {
    log("info", `loading dataset ${config.dataset.kind} at ${config.resolution}px`);
    let lastReport = 0;
    set = await loadDataset(config.dataset, config.resolution, {
      cacheDir: opts.cacheDir,
      signal: opts.signal,
      onProgress: (done, total) => {
        const now = Date.now();
        if (now - lastReport > 5000 || done === total) {
          lastReport = now;
          log("info", `dataset: ${done}/${total} images prepared`);
        }
      },
    });
  }
  if (set.resolution !== config.resolution) {
    throw new Error(`dataset images are ${set.resolution}px but the config trains at ${config.resolution}px`);
  }
  const skippedTotal = set.skipped.corrupt + set.skipped.notImage + set.skipped.tooSmall;
  if (skippedTotal > 0) {
    log("warn", `dataset skipped ${skippedTotal} files (corrupt ${set.skipped.corrupt}, not images ${set.skipped.notImage}, too small ${set.skipped.tooSmall})`);
  }

  const loader = new BatchLoader(set, config.batch_size, config.seed);
  const stepsPerEpoch = Math.floor(loader.batchesPerEpoch / config.d_steps);
  if (stepsPerEpoch < 1) {
    throw new Error(
      `dataset of ${set.count} images gives ${loader.batchesPerEpoch} batches of ${config.batch_size} per epoch, fewer than d_steps (${config.d_steps}): lower batch_size or d_steps, or add images`,
    );
  }

  let trainer: GanTrainer;
  let position: TrainingPosition;
  if (opts.resumeFrom) {
    const restored = GanTrainer.fromCheckpoint(opts.resumeFrom, config);
    trainer = restored.trainer;
    position = restored.position;
    if (restored.header.backend && restored.header.backend !== backend.name) {
      log("warn", `checkpoint was written on ${restored.header.backend}, resuming on ${backend.name}: training continues but not bit-identically`);
    }
  } else {
    trainer = new GanTrainer(config);
    position = { epoch: 1, stepInEpoch: 0 };
  }

  try {
    const grid = config.grid_size * config.grid_size;
    const gridNoise = Prng.derive(config.seed, "grid-noise").normal(grid * config.z_dim);
    const quality = new QualityEvaluator(config, set, log);
    const serialize = (p: TrainingPosition) => trainer.serialize(p, { backend: backend.name });
    const gridPng = async () => encodeGridPng(trainer.generate(gridNoise, grid, { chunk: grid }), grid, config.resolution, { columns: config.grid_size });

    yield {
      type: "started",
      backend,
      dataset: { source: set.source, count: set.count, hash: set.hash, resolution: set.resolution, skipped: { ...set.skipped } },
      stepsPerEpoch,
      totalSteps: stepsPerEpoch * config.epochs,
      ...(opts.resumeFrom ? { resumedAt: { epoch: position.epoch, step: trainer.step } } : {}),
    };

    const rate = new RateWindow(20);
    let objective: number | null = null;
    let lastEpoch = position.epoch - 1;
    for (let epoch = position.epoch; epoch <= config.epochs; epoch++) {
      const firstStep = epoch === position.epoch ? position.stepInEpoch : 0;
      for (let s = firstStep; s < stepsPerEpoch; s++) {
        const t0 = performance.now();
        const batches = Array.from({ length: config.d_steps }, (_, k) => loader.batch(epoch, s * config.d_steps + k));
        const metrics = trainer.trainStep(batches);
        // A macrotask turn: lets the loader prefetch the next batch and signal handlers run.
        await new Promise<void>((resolve) => setImmediate(resolve));
        rate.add(config.batch_size * config.d_steps, performance.now() - t0);
        yield { type: "step", epoch, step: trainer.step, metrics, imagesPerSecond: rate.perSecond(), wallTime: Date.now() / 1000 };
        if (opts.stopRequested?.() === "checkpoint") {
          yield { type: "checkpoint", epoch, step: trainer.step, data: await serialize({ epoch, stepInEpoch: s + 1 }), reason: "stop", gridPng: await gridPng() };
          return;
        }
      }

      const t0 = performance.now();
      const png = await gridPng();
      const scores = await quality.evaluate(trainer);
      if (scores.swd !== undefined) objective = scores.swd;
      log("info", `epoch ${epoch}: evaluated in ${((performance.now() - t0) / 1000).toFixed(1)} s${scores.swd !== undefined ? ` (swd ${scores.swd.toFixed(2)}, floor ${scores.swd_floor.toFixed(2)})` : ""}`);
      yield { type: "epoch", epoch, step: trainer.step, gridPng: png, quality: scores };
      lastEpoch = epoch;

      const next = { epoch: epoch + 1, stepInEpoch: 0 };
      if (epoch < config.epochs && epoch % config.checkpoint_every === 0) {
        yield { type: "checkpoint", epoch, step: trainer.step, data: await serialize(next), reason: "periodic" };
      }
      if (epoch < config.epochs && opts.stopRequested?.() === "checkpoint") {
        yield { type: "checkpoint", epoch, step: trainer.step, data: await serialize(next), reason: "stop", gridPng: png };
        return;
      }
    }

    const finalEpoch = Math.max(lastEpoch, config.epochs);
    yield { type: "checkpoint", epoch: finalEpoch, step: trainer.step, data: await serialize({ epoch: finalEpoch + 1, stepInEpoch: 0 }), reason: "final" };
    yield { type: "finished", epoch: finalEpoch, step: trainer.step, objective };
  } finally {
    trainer.dispose();
  }
}

/**
 * Per-epoch sample quality: SWD of generated images against a fixed real sample (plus the
 * real-vs-real floor at the same count, computed once) and MS-SSIM diversity of generated pairs
 * (plus the real baseline). Evaluation noise comes from its own seeded stream, so evaluating never
 * disturbs training randomness and a resumed run scores exactly as an uninterrupted one.
 */
class QualityEvaluator {
  private readonly samples: number;
  private real: ImageBatch | null = null;
  private baseline: Record<string, number> | null = null;
  private readonly noise: Float32Array | null;

  constructor(
    private readonly config: TrainConfig,
    private readonly set: ImageSet,
    private readonly log: (level: LogLevel, message: string) => void,
  ) {
    this.samples = Math.min(config.swd_samples, set.count);
    if (config.swd_samples > set.count) {
      log("warn", `swd_samples ${config.swd_samples} exceeds the dataset (${set.count} images): using ${set.count}`);
    }
    this.noise = this.samples > 0 ? Prng.derive(config.seed, "eval-noise").normal(this.samples * config.z_dim) : null;
  }

  async evaluate(trainer: GanTrainer): Promise<Record<string, number>> {
    if (this.samples === 0 || !this.noise) return {};
    const seed = this.config.seed;
    const pairs = Math.min(MS_SSIM_PAIRS, Math.floor(this.samples / 2));
    if (!this.real || !this.baseline) {
      this.real = sampleImageSet(this.set, this.samples, seed);
      const floor = swdFloor(this.set, this.samples, { seed });
      if (!floor.disjoint) this.log("warn", `swd_floor uses overlapping real samples (the dataset has fewer than 2 × ${this.samples} images): it underestimates the noise floor`);
      this.baseline = { ...swdMetricRecord(floor, "swd_floor") };
      if (pairs >= 1) this.baseline.ms_ssim_real = msSsimDiversity(this.real, { pairs, seed });
    }
    const fake = imagesFromTanh(trainer.generate(this.noise, this.samples, { chunk: EVAL_CHUNK }), this.samples, this.config.resolution);
    const swd = slicedWassersteinDistance(this.real, fake, { seed });
    const out: Record<string, number> = { ...swdMetricRecord(swd), ...this.baseline };
    if (pairs >= 1) out.ms_ssim = msSsimDiversity(fake, { pairs, seed });
    return out;
  }
}

/** Images per second over the last few steps (one slow step does not swing the figure). */
class RateWindow {
  private readonly items: { images: number; ms: number }[] = [];
  constructor(private readonly size: number) {}
  add(images: number, ms: number): void {
    this.items.push({ images, ms });
    if (this.items.length > this.size) this.items.shift();
  }
  perSecond(): number {
    let images = 0;
    let ms = 0;
    for (const i of this.items) {
      images += i.images;
      ms += i.ms;
    }
    return ms > 0 ? (images * 1000) / ms : 0;
  }
}
