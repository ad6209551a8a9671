import { createRequire } from "node:module";
import sharp from "sharp";
import { drawText, GLYPH_HEIGHT, textWidth } from "./font.ts";

// gifenc ships CommonJS without types; require() gives its named exports under both Node and vitest.
type Palette = number[][];
interface GifEncoder {
  writeFrame(index: Uint8Array, width: number, height: number, opts?: { palette?: Palette; delay?: number; repeat?: number }): void;
  finish(): void;
  bytes(): Uint8Array;
}
interface GifencModule {
  GIFEncoder(opts?: { initialCapacity?: number }): GifEncoder;
  quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: "rgb565" | "rgb444" | "rgba4444" }): Palette;
  applyPalette(rgba: Uint8Array, palette: Palette, format?: "rgb565" | "rgb444" | "rgba4444"): Uint8Array;
}
const gifenc = createRequire(import.meta.url)("gifenc") as GifencModule;

export interface TimelapseOptions {
  /** Time each frame is shown (default 500 ms; GIF stores hundredths of a second). */
  frameDelayMs?: number;
  /** Time the last frame is held before the loop restarts (default 4 × frameDelayMs). */
  lastFrameDelayMs?: number;
  /** Draw a small label bar under each frame (default true): "epoch N", or `labels[i]` when given. */
  label?: boolean;
  labels?: readonly string[];
  /** "per-frame" (default): each frame gets its own 256 colours, best for grids that change a lot. */
  palette?: "per-frame" | "shared";
  /**
   * At most this many frames (default 200): a longer run keeps evenly spaced epochs, always the first
   * and the last, labelled with their real epoch numbers, so a 1000-epoch timelapse stays a few MB.
   */
  maxFrames?: number;
}

/** Indices of at most `max` evenly spaced frames out of `n`, including the first and the last. */
export function pickFrames(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max === 1) return [n - 1];
  return Array.from({ length: max }, (_, k) => Math.round((k * (n - 1)) / (max - 1)));
}

interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

async function decodeFrame(png: Buffer, size?: { width: number; height: number }): Promise<RgbFrame> {
  let pipeline = sharp(png).flatten({ background: "#000000" }).removeAlpha().toColourspace("srgb");
  if (size) pipeline = pipeline.resize(size.width, size.height, { fit: "contain", background: "#000000" });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function withLabel(frame: RgbFrame, text: string): RgbFrame {
  const scale = frame.width >= 320 ? 2 : 1;
  const margin = 2 * scale;
  const barHeight = GLYPH_HEIGHT * scale + 2 * margin;
  const height = frame.height + barHeight;
  const data = new Uint8Array(frame.width * height * 3); // black bar
  data.set(frame.data, 0);
  // On a very narrow frame "epoch 12" does not fit: the number alone still tells frames apart.
  if (textWidth(text, scale) > frame.width - 2 * margin) text = text.replace(/^\D+/, "");
  const x = Math.max(margin, Math.floor((frame.width - textWidth(text, scale)) / 2));
  drawText(data, frame.width, height, text, x, frame.height + margin, scale, [235, 235, 235]);
  return { data, width: frame.width, height };
}

function toRgba(rgb: Uint8Array): Uint8Array {
  const rgba = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i];
    rgba[j + 1] = rgb[i + 1];
    rgba[j + 2] = rgb[i + 2];
    rgba[j + 3] = 255;
  }
  return rgba;
}

/** Every `stride`-th pixel of an RGBA frame: the frames' share of the sample one shared palette is built from. */
function subsample(rgba: Uint8Array, stride: number): Uint8Array {
  const pixels = Math.ceil(rgba.length / 4 / stride);
  const out = new Uint8Array(pixels * 4);
  for (let p = 0, o = 0; o < out.length; p += stride, o += 4) out.set(rgba.subarray(p * 4, p * 4 + 4), o);
  return out;
}

/** Per-epoch grid PNGs → an animated GIF that loops forever ("how the samples evolved"). */
export async function encodeTimelapseGif(gridPngs: Buffer[], opts: TimelapseOptions = {}): Promise<Buffer> {
  if (gridPngs.length === 0) throw new RangeError("a timelapse needs at least one frame");
  const delay = opts.frameDelayMs ?? 500;
  const lastDelay = opts.lastFrameDelayMs ?? delay * 4;
  if (!(delay >= 0) || !(lastDelay >= 0)) throw new RangeError("frame delays must be >= 0 ms");
  if (opts.labels && opts.labels.length !== gridPngs.length) {
    throw new RangeError(`got ${opts.labels.length} labels for ${gridPngs.length} frames`);
  }
  const label = opts.label ?? true;
  const maxFrames = opts.maxFrames ?? 200;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new RangeError(`maxFrames must be a positive integer, got ${maxFrames}`);
  const picked = pickFrames(gridPngs.length, maxFrames);
  const first = await decodeFrame(gridPngs[picked[0]]);
  const size = { width: first.width, height: first.height };
  // Frames are decoded one at a time (twice for a shared palette) rather than all held at once:
  // 200 frames of a 128px 8×8 grid would be ~900 MB of RGBA.
  const frameRgba = async (i: number): Promise<{ rgba: Uint8Array; width: number; height: number }> => {
    // A frame of another size (say, the grid size changed on resume) is letterboxed into the first's.
    let frame = i === picked[0] ? first : await decodeFrame(gridPngs[i]);
    if (frame.width !== size.width || frame.height !== size.height) frame = await decodeFrame(gridPngs[i], size);
    if (label) frame = withLabel(frame, opts.labels?.[i] ?? `epoch ${i + 1}`);
    return { rgba: toRgba(frame.data), width: frame.width, height: frame.height };
  };
  let shared: Palette | undefined;
  if (opts.palette === "shared") {
    // ~1M sample pixels spread evenly over all frames.
    const stride = Math.max(1, Math.ceil((picked.length * size.width * size.height) / 1_000_000));
    const parts: Uint8Array[] = [];
    for (const i of picked) parts.push(subsample((await frameRgba(i)).rgba, stride));
    const sample = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (sample.set(p, o), o + p.length), 0);
    shared = gifenc.quantize(sample, 256);
  }
  const gif = gifenc.GIFEncoder({ initialCapacity: 1 << 20 });
  for (let k = 0; k < picked.length; k++) {
    const { rgba, width, height } = await frameRgba(picked[k]);
    const palette = shared ?? gifenc.quantize(rgba, 256);
    gif.writeFrame(gifenc.applyPalette(rgba, palette), width, height, {
      palette: shared && k > 0 ? undefined : palette,
      delay: k === picked.length - 1 ? lastDelay : delay,
      repeat: 0,
    });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}
