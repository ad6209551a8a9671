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

/** Up to ~1M pixels spread evenly over all frames, for one palette that fits the whole animation. */
function sharedSample(frames: Uint8Array[]): Uint8Array {
  const totalPixels = frames.reduce((n, f) => n + f.length / 4, 0);
  const stride = Math.max(1, Math.ceil(totalPixels / 1_000_000));
  const sample = new Uint8Array(Math.ceil(totalPixels / stride) * 4 + 4 * frames.length);
  let o = 0;
  for (const f of frames) {
    for (let p = 0; p < f.length / 4; p += stride) {
      sample.set(f.subarray(p * 4, p * 4 + 4), o);
      o += 4;
    }
  }
  return sample.subarray(0, o);
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
  const frames: Uint8Array[] = [];
  let width = first.width;
  let height = first.height;
  for (const i of picked) {
    // A frame of another size (say, the grid size changed on resume) is letterboxed into the first's.
    let frame = i === picked[0] ? first : await decodeFrame(gridPngs[i]);
    if (frame.width !== size.width || frame.height !== size.height) frame = await decodeFrame(gridPngs[i], size);
    if (label) frame = withLabel(frame, opts.labels?.[i] ?? `epoch ${i + 1}`);
    width = frame.width;
    height = frame.height;
    frames.push(toRgba(frame.data));
  }
  const shared = opts.palette === "shared" ? gifenc.quantize(sharedSample(frames), 256) : undefined;
  const gif = gifenc.GIFEncoder({ initialCapacity: 1 << 20 });
  for (let i = 0; i < frames.length; i++) {
    const palette = shared ?? gifenc.quantize(frames[i], 256);
    const index = gifenc.applyPalette(frames[i], palette);
    gif.writeFrame(index, width, height, {
      palette: shared && i > 0 ? undefined : palette,
      delay: i === frames.length - 1 ? lastDelay : delay,
      repeat: 0,
    });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}
