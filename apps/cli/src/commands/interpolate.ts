// `ganboard interpolate CHECKPOINT [--seeds A,B] [--frames N] [--out strip.png] [--backend NAME]`: a latent
// walk from seed A's latent to seed B's as one row of images, drawn by the checkpoint's (EMA) generator. The
// checkpoint is what `ganboard train` writes (checkpoint-latest.bin / checkpoint-final.bin) or what the
// dashboard's checkpoint download gives: the same bytes.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { CheckpointError, encodeInterpolationStrip, interpolationStripFromCheckpoint, readCheckpointHeader, selectBackend, type BackendInfo } from "@ganboard/gan";
import { BACKENDS, type BackendName } from "@ganboard/gan/config";
import { parseBackend } from "../lib/options.ts";

export const DEFAULT_FRAMES = 8;
/** One batch of this many images is generated at once (batch norm uses the strip's statistics). */
export const MAX_FRAMES = 256;
export const DEFAULT_PADDING = 2;

export interface InterpolateOptions {
  seeds: [number, number];
  frames: number;
  out: string;
  backend?: BackendName;
  /** Pixels between and around frames (default 2, like the per-epoch sample grids). */
  padding?: number;
}

export interface InterpolateResult {
  out: string;
  frames: number;
  resolution: number;
  width: number;
  height: number;
  step: number;
  backend: BackendInfo;
}

/** Reads the checkpoint, renders the strip and writes the PNG. Errors are ones a person can act on. */
export async function interpolateCheckpoint(checkpointFile: string, opts: InterpolateOptions): Promise<InterpolateResult> {
  const buffer = await readFile(checkpointFile).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "it is a folder, not a checkpoint file" : error.message;
    throw new Error(`cannot read checkpoint ${checkpointFile}: ${why}`);
  });
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  // The header check first: a wrong or damaged file fails here, before a backend is started.
  let step: number;
  try {
    step = readCheckpointHeader(bytes).step;
  } catch (error) {
    throw new CheckpointError(`${checkpointFile}: ${(error as Error).message}`);
  }
  const backend = await selectBackend(opts.backend);
  let strip: Awaited<ReturnType<typeof interpolationStripFromCheckpoint>>;
  try {
    strip = await interpolationStripFromCheckpoint(bytes, { seedA: opts.seeds[0], seedB: opts.seeds[1], steps: opts.frames });
  } catch (error) {
    // A header that parses but tensors/config that do not fit the model (hand-edited or from another build).
    if (error instanceof CheckpointError) throw new CheckpointError(`${checkpointFile}: ${error.message}`);
    throw error;
  }
  const padding = opts.padding ?? DEFAULT_PADDING;
  const png = padding === DEFAULT_PADDING ? strip.png : await encodeInterpolationStrip(strip.images, strip.count, strip.resolution, { padding });
  const out = path.resolve(opts.out);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, png);
  return {
    out,
    frames: strip.count,
    resolution: strip.resolution,
    width: strip.count * strip.resolution + (strip.count + 1) * padding,
    height: strip.resolution + 2 * padding,
    step,
    backend,
  };
}

function parseSeed(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > 0xffffffff) throw new InvalidArgumentError(`seeds are integers from 0 to ${0xffffffff}, got "${text}"`);
  return Number(trimmed);
}

export function parseSeeds(value: string): [number, number] {
  const parts = value.split(",");
  if (parts.length !== 2) throw new InvalidArgumentError(`expected two seeds as A,B (e.g. 1,2), got "${value}"`);
  return [parseSeed(parts[0]), parseSeed(parts[1])];
}

function parseIntIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command("interpolate")
    .description("Render a latent interpolation strip (seed A → seed B, one row of images) from a checkpoint's generator")
    .argument("<checkpoint>", "checkpoint file written by `ganboard train` (checkpoint-final.bin / checkpoint-latest.bin) or downloaded from the dashboard")
    .addOption(new Option("--seeds <a,b>", "the two latent seeds, as A,B").argParser(parseSeeds).default([1, 2], "1,2"))
    .option("--frames <n>", `images in the strip, ends included (2–${MAX_FRAMES})`, parseIntIn(2, MAX_FRAMES), DEFAULT_FRAMES)
    .option("--out <file>", "PNG to write (default interpolation-<A>-<B>.png in the current folder)")
    .option("--padding <px>", "pixels between and around the frames", parseIntIn(0, 64), DEFAULT_PADDING)
    .option("--backend <name>", `force a backend: ${BACKENDS.join(", ")} (default: fastest available, or GANBOARD_BACKEND)`, parseBackend)
    .action(async (checkpoint: string, options: { seeds: [number, number]; frames: number; out?: string; padding: number; backend?: BackendName }) => {
      const out = options.out ?? `interpolation-${options.seeds[0]}-${options.seeds[1]}.png`;
      const result = await interpolateCheckpoint(checkpoint, { seeds: options.seeds, frames: options.frames, out, backend: options.backend, padding: options.padding });
      process.stderr.write(
        `wrote ${path.relative(process.cwd(), result.out) || result.out}: ${result.frames} frames of ${result.resolution}px (${result.width}×${result.height}),` +
          ` seed ${options.seeds[0]} → ${options.seeds[1]}, checkpoint at step ${result.step}, backend ${result.backend.name}\n`,
      );
    });
}
