import sharp from "sharp";

export interface GridOptions {
  /** Images per row; default ceil(sqrt(count)), i.e. 8 for the 8×8 sample grid. */
  columns?: number;
  /** Pixels between and around images (default 2, like torchvision's make_grid). */
  padding?: number;
  /** Padding colour as [r, g, b] 0..255 (default black). */
  padColor?: readonly [number, number, number];
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function checkImages(images: Float32Array | Uint8Array, count: number, resolution: number): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`image count must be a positive integer, got ${count}`);
  if (!Number.isInteger(resolution) || resolution < 1) throw new RangeError(`resolution must be a positive integer, got ${resolution}`);
  const expected = count * resolution * resolution * 3;
  if (images.length < expected) {
    throw new RangeError(`expected ${count} images of ${resolution}×${resolution}×3 (${expected} values), got ${images.length}`);
  }
}

/** [-1, 1] float → 0..255 byte, clamped (generator output can overshoot slightly; NaN becomes 0). */
export function toByte(v: number): number {
  const b = Math.round((v + 1) * 127.5);
  return b > 255 ? 255 : b >= 0 ? b : 0;
}

/** Lays NHWC images (float in [-1, 1], or uint8) out in rows × columns with padding, as raw RGB. */
export function layoutGrid(images: Float32Array | Uint8Array, count: number, resolution: number, opts: GridOptions = {}): RgbImage {
  checkImages(images, count, resolution);
  const columns = Math.max(1, Math.min(count, opts.columns ?? Math.ceil(Math.sqrt(count))));
  const rows = Math.ceil(count / columns);
  const pad = opts.padding ?? 2;
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`padding must be a non-negative integer, got ${pad}`);
  const width = columns * resolution + (columns + 1) * pad;
  const height = rows * resolution + (rows + 1) * pad;
  const data = new Uint8Array(width * height * 3);
  const [pr, pg, pb] = opts.padColor ?? [0, 0, 0];
  if (pr || pg || pb) {
    for (let p = 0; p < data.length; p += 3) {
      data[p] = pr;
      data[p + 1] = pg;
      data[p + 2] = pb;
    }
  }
  const isFloat = images instanceof Float32Array;
  const rowValues = resolution * 3;
  for (let n = 0; n < count; n++) {
    const x0 = pad + (n % columns) * (resolution + pad);
    const y0 = pad + Math.floor(n / columns) * (resolution + pad);
    for (let y = 0; y < resolution; y++) {
      const src = (n * resolution + y) * rowValues;
      const dst = ((y0 + y) * width + x0) * 3;
      if (isFloat) {
        for (let k = 0; k < rowValues; k++) data[dst + k] = toByte(images[src + k]);
      } else {
        data.set(images.subarray(src, src + rowValues), dst);
      }
    }
  }
  return { data, width, height };
}

export async function encodeRgbPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** The fixed-noise sample grid: NHWC images in [-1, 1] → PNG, `columns` per row, with padding. */
export async function encodeGridPng(
  images: Float32Array,
  count: number,
  resolution: number,
  opts: GridOptions = {},
): Promise<Buffer> {
  return encodeRgbPng(layoutGrid(images, count, resolution, opts));
}

/** A latent interpolation: one row of images in [-1, 1] → PNG. */
export async function encodeInterpolationStrip(images: Float32Array, count: number, resolution: number, opts: { padding?: number } = {}): Promise<Buffer> {
  return encodeRgbPng(layoutGrid(images, count, resolution, { columns: count, padding: opts.padding ?? 2 }));
}

/** Dataset pixels (uint8 NHWC) as a grid PNG: for previews of a dataset. */
export async function encodeUint8GridPng(pixels: Uint8Array, count: number, resolution: number, opts: GridOptions = {}): Promise<Buffer> {
  return encodeRgbPng(layoutGrid(pixels, count, resolution, opts));
}
