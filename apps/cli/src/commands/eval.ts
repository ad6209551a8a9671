// `ganboard eval DIR_A DIR_B`: compare two image folders the way pytorch-fid's command line does, with the
// offline metrics first (SWD per pyramid level, MS-SSIM diversity of each folder) and FID/KID when the user has
// configured a local Inception graph model (--inception or GANBOARD_INCEPTION_MODEL). Nothing is downloaded.

import { Command, InvalidArgumentError } from "commander";
import { selectBackend, type BackendInfo } from "@ganboard/gan/backend";
import { BACKENDS, type BackendName } from "@ganboard/gan/config";
import { loadImageFolder, type ImageSet } from "@ganboard/gan/data";
import {
  configuredInceptionPath,
  featureStatistics,
  frechetDistance,
  kernelInceptionDistance,
  loadGraphModelExtractor,
  MetricRng,
  msSsimDiversity,
  selectImages,
  slicedWassersteinDistance,
  SWD_MIN_RESOLUTION,
  type FeatureExtractor,
  type ImageBatch,
} from "@ganboard/gan/metrics";
import { formatDuration, startProgress, type Progress } from "../lib/terminal.ts";

export interface EvalOptions {
  resolution: number;
  /** Images per folder to use (a seeded random subset); default all, i.e. the smaller folder's count. */
  samples?: number;
  seed: number;
  inception?: string;
  /** MS-SSIM pairs per folder; default min(images / 2, 1000). */
  msSsimPairs?: number;
  backend?: string;
  /** Show progress on stderr (the CLI does; tests don't). */
  progress?: boolean;
}

export interface FolderSummary {
  path: string;
  /** Usable images found (after skipping corrupt, non-image and too-small files). */
  images: number;
  /** Images the metrics used. */
  used: number;
  hash: string;
  skipped: { corrupt: number; notImage: number; tooSmall: number };
  ms_ssim: number;
}

export interface EvalResult {
  a: FolderSummary;
  b: FolderSummary;
  resolution: number;
  samples: number;
  seed: number;
  backend: string;
  /** SWD ×1e3 per pyramid level (keys are resolutions) and averaged. */
  swd: { levels: Record<string, number>; mean: number };
  fid: number | null;
  kid: { mean: number; std: number; subset_size: number; subsets: number } | null;
  /** Why FID/KID are null, and how to enable them. */
  fid_skipped: string | null;
  feature_model: string | null;
  warnings: string[];
  seconds: Record<string, number>;
}

export class EvalUsageError extends Error {
  override name = "EvalUsageError";
}

const FID_SKIPPED =
  "FID/KID skipped: no Inception model configured. Convert an Inception-v3 network to a TF.js graph model (tensorflowjs_converter) " +
  "and pass --inception PATH or set GANBOARD_INCEPTION_MODEL; nothing is downloaded.";

function quiet(): Progress {
  return { update() {}, done() {}, fail() {} };
}

/** Runs the evaluation; pure apart from reading the folders (and the feature model). */
export async function runEval(dirA: string, dirB: string, opts: EvalOptions): Promise<EvalResult> {
  if (!Number.isInteger(opts.resolution) || opts.resolution < SWD_MIN_RESOLUTION) {
    throw new EvalUsageError(`--resolution must be an integer of at least ${SWD_MIN_RESOLUTION}, got ${opts.resolution}`);
  }
  const progress = (label: string): Progress => (opts.progress ? startProgress(label) : quiet());
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      seconds[name] = Math.round(performance.now() - t0) / 1000;
    }
  };
  const warnings: string[] = [];

  if (opts.backend !== undefined && !(BACKENDS as readonly string[]).includes(opts.backend)) {
    throw new EvalUsageError(`--backend ${opts.backend} is not a backend; use one of ${BACKENDS.join(", ")}`);
  }
  const backend: BackendInfo = await selectBackend(opts.backend as BackendName | undefined);

  // Load the feature model first so a bad path fails before minutes of work.
  const inception = configuredInceptionPath(opts.inception);
  const extractor = inception === null ? null : await timed("feature_model_load", () => loadGraphModelExtractor(inception));
  try {
    return await evaluate(extractor);
  } finally {
    extractor?.dispose();
  }

  async function evaluate(extractor: FeatureExtractor | null): Promise<EvalResult> {
    const load = async (dir: string, label: string): Promise<ImageSet> => {
      const bar = progress(`Loading ${label} ${dir}`);
      try {
        const set = await loadImageFolder(dir, opts.resolution, { onProgress: (done, total) => bar.update(`Loading ${label} ${dir}`, total ? done / total : undefined) });
        const skipped = set.skipped.corrupt + set.skipped.notImage + set.skipped.tooSmall;
        bar.done(`${label}: ${set.count} images from ${dir}${skipped ? ` (${skipped} skipped)` : ""}`);
        return set;
      } catch (error) {
        bar.fail(`${label}: ${dir}`);
        throw error;
      }
    };
    const setA = await timed("load_a", () => load(dirA, "A"));
    const setB = await timed("load_b", () => load(dirB, "B"));

    const available = Math.min(setA.count, setB.count);
    if (opts.samples !== undefined && opts.samples > available) {
      throw new EvalUsageError(`--samples ${opts.samples} is more than the folders hold (A has ${setA.count} usable images, B has ${setB.count})`);
    }
    const samples = opts.samples ?? available;
    if (samples < 2) throw new EvalUsageError(`Need at least 2 usable images per folder, found ${setA.count} in A and ${setB.count} in B`);
    if (opts.samples === undefined && setA.count !== setB.count) {
      warnings.push(`The folders differ in size (${setA.count} vs ${setB.count}); using a random ${samples} of each, since SWD and FID depend on the sample count.`);
    }
    const subset = (set: ImageSet, stream: number): ImageBatch =>
      set.count === samples ? set : selectImages(set, new MetricRng(opts.seed, 600 + stream).choose(set.count, samples));
    const a = subset(setA, 1);
    const b = subset(setB, 2);

    const swdBar = progress(`SWD (${samples} vs ${samples} images)`);
    const swd = await timed("swd", () =>
      slicedWassersteinDistance(a, b, { seed: opts.seed, onProgress: (done, total) => swdBar.update(`SWD (${samples} vs ${samples} images)`, done / total) }),
    );
    swdBar.done(`SWD ${swd.mean.toFixed(3)}`);

    const pairs = opts.msSsimPairs ?? Math.min(Math.floor(samples / 2), 1000);
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > Math.floor(samples / 2)) {
      throw new EvalUsageError(`--ms-ssim-pairs must be between 1 and ${Math.floor(samples / 2)} for ${samples} images, got ${opts.msSsimPairs}`);
    }
    const diversity = async (set: ImageBatch, label: string): Promise<number> => {
      const bar = progress(`MS-SSIM of ${label} (${pairs} pairs)`);
      const value = msSsimDiversity(set, { pairs, seed: opts.seed, onProgress: (done, total) => bar.update(`MS-SSIM of ${label} (${pairs} pairs)`, done / total) });
      bar.done(`MS-SSIM of ${label} ${value.toFixed(4)}`);
      return value;
    };
    const msA = await timed("ms_ssim_a", () => diversity(a, "A"));
    const msB = await timed("ms_ssim_b", () => diversity(b, "B"));

    let fid: number | null = null;
    let kid: EvalResult["kid"] = null;
    let fidSkipped: string | null = null;
    let featureModel: string | null = null;
    if (extractor === null) {
      fidSkipped = FID_SKIPPED;
    } else {
      featureModel = extractor.name;
      const extract = async (set: ImageBatch, label: string): Promise<Float32Array> => {
        const bar = progress(`Features of ${label}`);
        const features = await extractor.extract(set, { onProgress: (done, total) => bar.update(`Features of ${label}`, done / total) });
        bar.done(`Features of ${label}: ${set.count} × ${extractor.dims}`);
        return features;
      };
      const fa = await timed("features_a", () => extract(a, "A"));
      const fb = await timed("features_b", () => extract(b, "B"));
      const dims = extractor.dims;
      fid = await timed("fid", () => {
        const sa = featureStatistics({ data: fa, count: samples, dims });
        const sb = featureStatistics({ data: fb, count: samples, dims });
        return frechetDistance(sa.mu, sa.sigma, sb.mu, sb.sigma);
      });
      const k = await timed("kid", () => kernelInceptionDistance({ data: fa, count: samples, dims }, { data: fb, count: samples, dims }, { seed: opts.seed }));
      kid = { mean: k.mean, std: k.std, subset_size: k.subsetSize, subsets: k.subsets };
      if (samples < 10_000) {
        warnings.push(`FID from ${samples} images per set is strongly biased upwards (e.g. ~177 at 2,000 and ~42 at 10,000 for two samples of the same distribution); compare FIDs only at the same sample count, or use KID.`);
      }
      if (samples <= dims) warnings.push(`With ${samples} images and ${dims}-d features the covariances are rank-deficient; FID is still defined but even more biased.`);
    }

    const levels: Record<string, number> = {};
    for (const level of swd.levels) levels[String(level.resolution)] = level.swd;
    const summary = (set: ImageSet, path: string, msSsim: number): FolderSummary => ({
      path,
      images: set.count,
      used: samples,
      hash: set.hash,
      skipped: { ...set.skipped },
      ms_ssim: msSsim,
    });
    return {
      a: summary(setA, setA.source, msA),
      b: summary(setB, setB.source, msB),
      resolution: opts.resolution,
      samples,
      seed: opts.seed,
      backend: `${backend.name} — ${backend.device}`,
      swd: { levels, mean: swd.mean },
      fid,
      kid,
      fid_skipped: fidSkipped,
      feature_model: featureModel,
      warnings,
      seconds,
    };
  }
}

/** The human-readable report. */
export function formatEvalReport(r: EvalResult): string {
  const lines: string[] = [];
  lines.push(`A: ${r.a.path} (${r.a.images} images, using ${r.a.used})`);
  lines.push(`B: ${r.b.path} (${r.b.images} images, using ${r.b.used})`);
  lines.push(`resolution ${r.resolution}px, seed ${r.seed}, backend ${r.backend}`);
  lines.push("");
  lines.push("SWD ×1e3 (lower is closer; compare only at the same sample count)");
  for (const [res, value] of Object.entries(r.swd.levels).sort((x, y) => Number(y[0]) - Number(x[0]))) lines.push(`  ${`${res}px`.padEnd(7)} ${value.toFixed(3)}`);
  lines.push(`  ${"mean".padEnd(7)} ${r.swd.mean.toFixed(3)}`);
  lines.push("");
  lines.push("MS-SSIM diversity (mean over image pairs; higher = less diverse)");
  lines.push(`  A       ${r.a.ms_ssim.toFixed(4)}`);
  lines.push(`  B       ${r.b.ms_ssim.toFixed(4)}`);
  lines.push("");
  if (r.fid !== null && r.kid !== null) {
    lines.push(`FID     ${r.fid.toFixed(3)}   (${r.feature_model})`);
    lines.push(`KID     ${r.kid.mean.toFixed(6)} ± ${r.kid.std.toFixed(6)}   (${r.kid.subsets} subsets of ${r.kid.subset_size})`);
  } else {
    lines.push(r.fid_skipped ?? "FID/KID skipped.");
  }
  for (const w of r.warnings) lines.push(`note: ${w}`);
  const total = Object.values(r.seconds).reduce((s, v) => s + v, 0);
  lines.push(`(${formatDuration(total * 1000)})`);
  return lines.join("\n");
}

function positiveInt(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command("eval")
    .description(
      "Compare two image folders: SWD per pyramid level (Progressive GAN), MS-SSIM diversity of each, and FID/KID when an Inception TF.js model is configured",
    )
    .argument("<dir_a>", "first image folder (e.g. real images)")
    .argument("<dir_b>", "second image folder (e.g. generated samples)")
    .option("--resolution <px>", "resize (centre crop) both folders to this size", positiveInt("--resolution", SWD_MIN_RESOLUTION), 64)
    .option("--samples <n>", "images per folder (a seeded random subset); default all (the smaller folder's count)", positiveInt("--samples", 2))
    .option("--seed <n>", "seed for subsets, patches and projections", positiveInt("--seed", 0), 0)
    .option("--ms-ssim-pairs <n>", "image pairs per folder for MS-SSIM (default min(samples/2, 1000))", positiveInt("--ms-ssim-pairs"))
    .option("--inception <path>", "TF.js graph model (model.json or its folder) of an Inception-v3 feature network; default $GANBOARD_INCEPTION_MODEL")
    .option("--backend <name>", "tfjs backend (default: fastest available; or GANBOARD_BACKEND)")
    .option("--json", "print one JSON object (for scripts) instead of the report")
    .action(async (dirA: string, dirB: string, options: { resolution: number; samples?: number; seed: number; msSsimPairs?: number; inception?: string; backend?: string; json?: boolean }) => {
      const result = await runEval(dirA, dirB, {
        resolution: options.resolution,
        samples: options.samples,
        seed: options.seed,
        msSsimPairs: options.msSsimPairs,
        inception: options.inception,
        backend: options.backend,
        progress: Boolean(process.stderr.isTTY) || !options.json,
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        process.stdout.write(`${formatEvalReport(result)}\n`);
      }
    });
}
