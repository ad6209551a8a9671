import sharp from "sharp";
import { describe, expect, test } from "vitest";
import { encodeGridPng, encodeInterpolationStrip, encodeTimelapseGif, pickFrames } from "./index.ts";

/** n images of res×res, image i a solid grey level that identifies it. */
function solidImages(n: number, res: number): Float32Array {
  const out = new Float32Array(n * res * res * 3);
  for (let i = 0; i < n; i++) out.fill(-1 + (2 * (i + 1)) / (n + 1), i * res * res * 3, (i + 1) * res * res * 3);
  return out;
}

async function raw(png: Buffer) {
  return sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

/** Walks the GIF block structure (independently of the encoder) and counts image descriptors. */
function gifSummary(bytes: Uint8Array) {
  const text = Buffer.from(bytes.subarray(0, 6)).toString("latin1");
  const width = bytes[6] | (bytes[7] << 8);
  const height = bytes[8] | (bytes[9] << 8);
  let p = 13;
  if (bytes[10] & 0x80) p += 3 * (1 << ((bytes[10] & 7) + 1));
  const skipSubBlocks = () => {
    while (bytes[p] !== 0) p += bytes[p] + 1;
    p++;
  };
  let frames = 0;
  const delays: number[] = [];
  for (;;) {
    const block = bytes[p++];
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      const label = bytes[p++];
      if (label === 0xf9) delays.push((bytes[p + 2] | (bytes[p + 3] << 8)) * 10);
      skipSubBlocks();
    } else if (block === 0x2c) {
      frames++;
      const flags = bytes[p + 8];
      p += 9;
      if (flags & 0x80) p += 3 * (1 << ((flags & 7) + 1));
      p++; // LZW minimum code size
      skipSubBlocks();
    } else {
      throw new Error(`unexpected GIF block 0x${block?.toString(16)} at ${p - 1}`);
    }
  }
  return { text, width, height, frames, delays };
}

describe("media", () => {
  test("grid PNG: rows × columns with padding, images in row-major order", async () => {
    const res = 8;
    const png = await encodeGridPng(solidImages(10, res), 10, res, { columns: 4, padding: 2 });
    const { data, info } = await raw(png);
    expect([info.width, info.height]).toEqual([4 * res + 5 * 2, 3 * res + 4 * 2]);
    const at = (x: number, y: number) => data[(y * info.width + x) * 3];
    expect(at(0, 0)).toBe(0); // padding
    const level = (i: number) => Math.round((((-1 + (2 * (i + 1)) / 11) + 1) * 127.5));
    expect(at(2 + 3, 2 + 3)).toBe(level(0));
    expect(at(2 + 3 * (res + 2) + 1, 2 + 1)).toBe(level(3)); // row 0, column 3
    expect(at(2 + 1 * (res + 2) + 1, 2 + 2 * (res + 2) + 1)).toBe(level(9)); // row 2, column 1
    expect(at(2 + 2 * (res + 2) + 1, 2 + 2 * (res + 2) + 1)).toBe(0); // empty cell after the last image

    const square = await sharp(await encodeGridPng(solidImages(64, 32), 64, 32)).metadata();
    expect([square.width, square.height]).toEqual([8 * 32 + 9 * 2, 8 * 32 + 9 * 2]);
  });

  test("values outside [-1, 1] are clamped", async () => {
    const images = new Float32Array(4 * 4 * 3).fill(3);
    images.fill(-7, 0, 6);
    const { data } = await raw(await encodeGridPng(images, 1, 4, { padding: 0 }));
    expect(data[0]).toBe(0);
    expect(data[data.length - 1]).toBe(255);
  });

  test("interpolation strip is one row", async () => {
    const meta = await sharp(await encodeInterpolationStrip(solidImages(7, 16), 7, 16)).metadata();
    expect([meta.width, meta.height]).toEqual([7 * 16 + 8 * 2, 16 + 2 * 2]);
  });

  test("timelapse GIF: one frame per grid, loops, labelled, last frame held", async () => {
    const grids = await Promise.all(
      [0, 1, 2, 3, 4].map((e) => {
        const imgs = solidImages(16, 16).map((v, k) => Math.sin(v * 3 + e + k * 0.001));
        return encodeGridPng(imgs, 16, 16);
      }),
    );
    const first = await sharp(grids[0]).metadata();
    const gif = await encodeTimelapseGif(grids, { frameDelayMs: 200 });
    const summary = gifSummary(gif);
    expect(summary.text).toBe("GIF89a");
    expect(summary.frames).toBe(5);
    expect(summary.width).toBe(first.width);
    expect(summary.height).toBeGreaterThan(first.height!); // label bar below the grid
    expect(summary.delays).toEqual([200, 200, 200, 200, 800]);
    const decoded = await sharp(gif, { animated: true }).metadata();
    expect(decoded.pages).toBe(5);
    expect(decoded.loop).toBe(0);

    const plain = gifSummary(await encodeTimelapseGif(grids, { label: false, palette: "shared" }));
    expect(plain.frames).toBe(5);
    expect(plain.height).toBe(first.height);
    // Frame 1 decodes close to the grid it came from (shared 256-colour palette).
    const back = await sharp(await encodeTimelapseGif(grids.slice(0, 1), { label: false }), { page: 0 }).removeAlpha().raw().toBuffer();
    const orig = (await raw(grids[0])).data;
    let err = 0;
    for (let i = 0; i < orig.length; i++) err += Math.abs(orig[i] - back[i]);
    expect(err / orig.length).toBeLessThan(4);
  });

  test("timelapse frames of another size are letterboxed into the first frame's size", async () => {
    const small = await encodeGridPng(solidImages(4, 8), 4, 8); // 22×22
    const big = await encodeGridPng(solidImages(9, 8), 9, 8); // 32×32
    const summary = gifSummary(await encodeTimelapseGif([small, big, small], { label: false }));
    expect([summary.width, summary.height, summary.frames]).toEqual([22, 22, 3]);
  });

  test("long runs keep at most maxFrames evenly spaced frames, first and last included", async () => {
    expect(pickFrames(5, 200)).toEqual([0, 1, 2, 3, 4]);
    expect(pickFrames(10, 4)).toEqual([0, 3, 6, 9]);
    expect(pickFrames(1000, 200)).toHaveLength(200);
    expect(pickFrames(1000, 200).at(-1)).toBe(999);
    const grid = await encodeGridPng(solidImages(4, 8), 4, 8);
    const summary = gifSummary(await encodeTimelapseGif(Array.from({ length: 9 }, () => grid), { maxFrames: 3 }));
    expect(summary.frames).toBe(3);
  });

  test("bad arguments are specific errors", async () => {
    await expect(encodeTimelapseGif([])).rejects.toThrow(/at least one frame/);
    await expect(encodeGridPng(new Float32Array(10), 2, 4)).rejects.toThrow(/expected 2 images/);
  });
});
