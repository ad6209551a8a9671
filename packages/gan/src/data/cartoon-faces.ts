import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createAvatar, type Style } from "@dicebear/core";
import { adventurer, avataaars, bigSmile, lorelei, micah, notionists } from "@dicebear/collection";
import sharp from "sharp";
import { assertDatasetFits, cacheFilePath, cacheKey, defaultCacheDir, readCache, sha256Hex, tryWriteCache, type CacheHeader, type CacheRead } from "./cache.ts";
import { forEachConcurrent, hash32, mulberry32 } from "./rng.ts";
import { emptySkipCounts, type ImageSet, type LoadOptions } from "./types.ts";

/**
 * The built-in dataset: cartoon faces rendered offline from DiceBear styles, seeded per image, cropped
 * so the face fills the frame the way the classic anime-face crops do, on varied backgrounds.
 */

/** Bump whenever the rendering changes (crops, backgrounds, resampling) so old caches are not reused. */
export const CARTOON_RENDERER_VERSION = 3;

export type CartoonStyleName = "adventurer" | "lorelei" | "avataaars" | "big-smile" | "micah" | "notionists";
export type CartoonBackground = "varied" | "pastel" | "white";

export interface CartoonFacesParams {
  count: number;
  styles: readonly CartoonStyleName[];
  seed: number;
  /** Default "varied": random solid colours and two-colour gradients. */
  background?: CartoonBackground;
}

interface StyleEntry {
  style: Style<object>;
  /** Square crop of the style's viewBox that holds the head: centre x, centre y and side, as fractions. */
  crop: { cx: number; cy: number; size: number };
}

const STYLES: Record<CartoonStyleName, StyleEntry> = {
  adventurer: { style: adventurer, crop: { cx: 0.5, cy: 0.46, size: 0.86 } },
  lorelei: { style: lorelei, crop: { cx: 0.5, cy: 0.42, size: 0.7 } },
  avataaars: { style: avataaars, crop: { cx: 0.5, cy: 0.36, size: 0.62 } },
  "big-smile": { style: bigSmile, crop: { cx: 0.5, cy: 0.48, size: 0.9 } },
  micah: { style: micah, crop: { cx: 0.5, cy: 0.42, size: 0.64 } },
  notionists: { style: notionists, crop: { cx: 0.5, cy: 0.36, size: 0.56 } },
};

export const CARTOON_STYLE_NAMES = Object.keys(STYLES) as CartoonStyleName[];

// DiceBear's own pastel palette (the colours its docs show for these styles).
const PASTELS = ["b6e3f4", "c0aede", "d1d4f9", "ffd5dc", "ffdfbf"];

let dicebearVersion: string | undefined;
function getDicebearVersion(): string {
  if (!dicebearVersion) {
    const require = createRequire(import.meta.url);
    const entry = require.resolve("@dicebear/core");
    const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string };
    dicebearVersion = pkg.version;
  }
  return dicebearVersion;
}

export function describeCartoonFaces(params: CartoonFacesParams): string {
  const bg = params.background && params.background !== "varied" ? `, ${params.background} background` : "";
  return `cartoon-faces (${params.styles.join(", ")}${bg}) ×${params.count}, seed ${params.seed}`;
}

function hex(r: number, g: number, b: number): string {
  const c = (v: number) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, "0");
  return c(r) + c(g) + c(b);
}

function hslHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return 255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return hex(f(0), f(8), f(4));
}

function pickBackground(rand: () => number, kind: CartoonBackground) {
  if (kind === "white") return { backgroundColor: ["ffffff"], backgroundType: ["solid" as const] };
  if (kind === "pastel") return { backgroundColor: [PASTELS[Math.floor(rand() * PASTELS.length)]], backgroundType: ["solid" as const] };
  // "varied": any hue; mostly light-to-mid tones (like the soft backgrounds of anime crops), some dark,
  // about a third two-colour gradients at a random angle.
  const hue = rand() * 360;
  const sat = 0.25 + rand() * 0.65;
  const light = rand() < 0.15 ? 0.2 + rand() * 0.25 : 0.55 + rand() * 0.37;
  const first = hslHex(hue, sat, light);
  if (rand() < 0.35) {
    const second = hslHex((hue + 20 + rand() * 140) % 360, sat, Math.min(0.95, Math.max(0.15, light + (rand() - 0.5) * 0.3)));
    return {
      backgroundColor: [first, second],
      backgroundType: ["gradientLinear" as const],
      backgroundRotation: [Math.floor(rand() * 360)],
    };
  }
  return { backgroundColor: [first], backgroundType: ["solid" as const] };
}

/** The SVG of image `index`, cropped to the head and sized to `size` pixels. Pure: same inputs, same SVG. */
export function cartoonFaceSvg(params: CartoonFacesParams, index: number, size: number): string {
  const styleName = params.styles[index % params.styles.length];
  const entry = STYLES[styleName];
  if (!entry) throw new Error(`unknown cartoon-faces style "${styleName}" (known: ${CARTOON_STYLE_NAMES.join(", ")})`);
  const rand = mulberry32(hash32(params.seed, index, 0xfacefeed));
  const background = pickBackground(rand, params.background ?? "varied");
  const flip = rand() < 0.5;
  // Small random zoom and shift, as real face crops are never perfectly aligned.
  const zoom = 1 + (rand() - 0.5) * 0.1;
  const dx = (rand() - 0.5) * 0.05;
  const dy = (rand() - 0.5) * 0.05;
  const svg = createAvatar(entry.style, { seed: `${params.seed}-${index}`, flip, ...background }).toString();
  const match = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(svg);
  if (!match) throw new Error(`DiceBear style ${styleName} returned an SVG without the expected viewBox`);
  const width = Number(match[1]);
  const height = Number(match[2]);
  const side = entry.crop.size * zoom * width;
  const x = (entry.crop.cx + dx) * width - side / 2;
  const y = (entry.crop.cy + dy) * height - side / 2;
  const box = `viewBox="${x.toFixed(2)} ${y.toFixed(2)} ${side.toFixed(2)} ${side.toFixed(2)}" width="${size}" height="${size}"`;
  return svg.replace(match[0], box);
}

// Rasterising at twice the size and downsampling gives cleaner edges at 32px than rsvg's own antialiasing.
const SUPERSAMPLE = 2;

/** Renders image `index` as `resolution`² RGB into `out` at `offset`. */
async function renderInto(params: CartoonFacesParams, index: number, resolution: number, out: Uint8Array): Promise<void> {
  const svg = cartoonFaceSvg(params, index, resolution * SUPERSAMPLE);
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(resolution, resolution, { kernel: "lanczos3", fit: "fill" })
    .flatten({ background: "#ffffff" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== resolution || info.height !== resolution || info.channels !== 3) {
    throw new Error(`rendered face ${index} came out ${info.width}×${info.height}×${info.channels}`);
  }
  out.set(data, index * resolution * resolution * 3);
}

/** Renders the whole set without touching the cache (used by loadCartoonFaces and the benchmark). */
export async function renderCartoonFaces(
  params: CartoonFacesParams,
  resolution: number,
  opts: Pick<LoadOptions, "onProgress" | "signal"> & { concurrency?: number } = {},
): Promise<Uint8Array> {
  const pixels = new Uint8Array(params.count * resolution * resolution * 3);
  let done = 0;
  let lastReport = 0;
  opts.onProgress?.(0, params.count);
  // sharp runs each render on libuv's threadpool; a few more in flight than threads keeps it busy
  // while the main thread builds the next SVGs.
  const concurrency = opts.concurrency ?? 16;
  await forEachConcurrent(
    params.count,
    concurrency,
    async (i) => {
      await renderInto(params, i, resolution, pixels);
      done++;
      const now = Date.now();
      if (done === params.count || now - lastReport > 100) {
        lastReport = now;
        opts.onProgress?.(done, params.count);
      }
    },
    opts.signal,
  );
  return pixels;
}

export async function loadCartoonFaces(params: CartoonFacesParams, resolution: number, opts: LoadOptions = {}): Promise<ImageSet> {
  if (!Number.isInteger(params.count) || params.count < 1) throw new RangeError(`cartoon-faces count must be a positive integer, got ${params.count}`);
  if (params.styles.length === 0) throw new RangeError("cartoon-faces needs at least one style");
  for (const s of params.styles) {
    if (!STYLES[s]) throw new RangeError(`unknown cartoon-faces style "${s}" (known: ${CARTOON_STYLE_NAMES.join(", ")})`);
  }
  assertDatasetFits(params.count, resolution, "cartoon-faces", "lower dataset.count or the resolution");
  const keyParts = {
    kind: "cartoon-faces",
    renderer: CARTOON_RENDERER_VERSION,
    dicebear: getDicebearVersion(),
    // Another librsvg/libvips may anti-alias differently: their versions are part of the key too.
    rasteriser: { vips: sharp.versions.vips, rsvg: (sharp.versions as Record<string, string | undefined>).rsvg ?? null },
    styles: [...params.styles],
    count: params.count,
    seed: params.seed,
    background: params.background ?? "varied",
    resolution,
  };
  const key = cacheKey(keyParts);
  const file = cacheFilePath(opts.cacheDir ?? defaultCacheDir(), "cartoon-faces", key);
  const source = describeCartoonFaces(params);
  const cached: CacheRead = opts.cache === false ? { status: "miss" } : await readCache(file, key);
  if (cached.status === "hit") {
    opts.onProgress?.(params.count, params.count);
    return { pixels: cached.pixels, count: cached.header.count, resolution, hash: cached.header.hash, source, skipped: emptySkipCounts() };
  }
  if (cached.status === "invalid") opts.onWarning?.(`Dataset cache ${file} is unusable (${cached.reason}); preparing the dataset again.`);
  const pixels = await renderCartoonFaces(params, resolution, opts);
  const pixelsSha256 = sha256Hex(pixels);
  const hash = cacheKey({ ...keyParts, pixelsSha256 });
  const header: CacheHeader = {
    format: 1,
    key,
    kind: "cartoon-faces",
    source,
    count: params.count,
    resolution,
    hash,
    skipped: emptySkipCounts(),
    pixelsSha256,
    byteLength: pixels.length,
    createdAt: new Date().toISOString(),
    details: { ...keyParts, replacedInvalidCache: cached.status === "invalid" ? cached.reason : undefined },
  };
  if (opts.cache !== false) await tryWriteCache(file, header, pixels, opts.onWarning);
  return { pixels, count: params.count, resolution, hash, source, skipped: emptySkipCounts() };
}
