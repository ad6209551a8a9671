import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DatasetError } from "./errors.ts";
import { loadImageFolder, resolveUserPath } from "./folder.ts";
import { loadDataset } from "./load-dataset.ts";

const RES = 32;
let base: string;
let good: string; // the folder with good and bad files
let cacheDir: string;

function solid(width: number, height: number, rgb: [number, number, number]) {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

/** 64 wide × 128 tall: blue top quarter, green middle half, blue bottom quarter. A centre crop is all green. */
async function portraitPng(): Promise<Buffer> {
  const stripe = await solid(64, 32, [0, 0, 255]).png().toBuffer();
  return solid(64, 128, [0, 200, 0])
    .composite([
      { input: stripe, left: 0, top: 0 },
      { input: stripe, left: 0, top: 96 },
    ])
    .png()
    .toBuffer();
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "ganboard-folder-"));
  cacheDir = join(base, "cache");
  good = join(base, "images");
  await mkdir(join(good, "sub", "deeper"), { recursive: true });
  await solid(64, 64, [255, 0, 0]).png().toFile(join(good, "a-red.png"));
  await writeFile(join(good, "b-portrait.png"), await portraitPng());
  await solid(80, 100, [0, 0, 255]).jpeg({ quality: 95 }).toFile(join(good, "sub", "c-blue.jpg"));
  await solid(100, 90, [255, 255, 0]).webp({ lossless: true }).toFile(join(good, "sub", "deeper", "d-yellow.webp"));
  // A PNG with alpha: flattened on white.
  await sharp({ create: { width: 40, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .png()
    .toFile(join(good, "sub", "e-transparent.png"));
  // Bad files.
  const jpeg = await solid(120, 120, [10, 20, 30]).jpeg().toBuffer();
  await writeFile(join(good, "corrupt-truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const png = await solid(64, 64, [1, 2, 3]).png().toBuffer();
  const garbled = Buffer.from(png);
  garbled.fill(0x55, 20, 60); // valid signature, garbage header chunk
  await writeFile(join(good, "corrupt-garbled.png"), garbled);
  await writeFile(join(good, "not-really.png"), "this is a text file, not an image\n");
  await writeFile(join(good, "sub", "empty.webp"), "");
  await solid(1, 1, [0, 0, 0]).png().toFile(join(good, "tiny-1x1.png"));
  await solid(12, 200, [0, 0, 0]).png().toFile(join(good, "sub", "tiny-narrow.png"));
  await writeFile(join(good, "notes.txt"), "ignored: not an image extension\n");
  // Symlinks: a loop back to the root, a second name for a file already listed, and a dangling link.
  await symlink("..", join(good, "sub", "loop"));
  await symlink(join(good, "a-red.png"), join(good, "sub", "alias-of-red.png"));
  await symlink(join(base, "nowhere.png"), join(good, "dangling.png"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function pixelAt(pixels: Uint8Array, image: number, x: number, y: number): number[] {
  const o = ((image * RES + y) * RES + x) * 3;
  return Array.from(pixels.subarray(o, o + 3));
}

describe("loadImageFolder", () => {
  test("loads PNG/JPEG/WebP recursively in path order; skips and counts bad files; survives a symlink loop", async () => {
    const progress: [number, number][] = [];
    const set = await loadImageFolder(good, RES, { cacheDir, onProgress: (d, t) => progress.push([d, t]) });
    expect(set.count).toBe(5);
    expect(set.skipped).toEqual({ corrupt: 2, notImage: 2, tooSmall: 2 });
    expect(set.pixels.length).toBe(5 * RES * RES * 3);
    expect(set.source).toBe(good);
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(progress.at(-1)).toEqual([11, 11]);
    // Path order: a-red.png, b-portrait.png, sub/c-blue.jpg, sub/deeper/d-yellow.webp, sub/e-transparent.png
    expect(pixelAt(set.pixels, 0, 16, 16)).toEqual([255, 0, 0]);
    // Centre crop: no blue survives (rows at the crop edge carry a little Lanczos ringing, so look 4px in).
    for (const [x, y] of [[0, 4], [16, 16], [31, 27], [0, 27]]) expect(pixelAt(set.pixels, 1, x, y)).toEqual([0, 200, 0]);
    for (const y of [0, 31]) expect(pixelAt(set.pixels, 1, 16, y)[2]).toBeLessThan(40);
    const blue = pixelAt(set.pixels, 2, 16, 16);
    expect(blue[0]).toBeLessThan(8);
    expect(blue[2]).toBeGreaterThan(245);
    expect(pixelAt(set.pixels, 3, 5, 5)).toEqual([255, 255, 0]);
    expect(pixelAt(set.pixels, 4, 5, 5)).toEqual([255, 255, 255]);
  });

  test("cached: the second load is identical; changing a file invalidates the cache and the hash", async () => {
    const dir = join(base, "cache-test");
    await mkdir(dir);
    await solid(64, 64, [9, 99, 199]).png().toFile(join(dir, "x.png"));
    await solid(64, 64, [200, 10, 10]).png().toFile(join(dir, "y.png"));
    const a = await loadImageFolder(dir, RES, { cacheDir });
    const calls: [number, number][] = [];
    const b = await loadImageFolder(dir, RES, { cacheDir, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).toEqual([[2, 2]]); // from cache: no decode pass
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(b.hash).toBe(a.hash);

    await solid(64, 64, [0, 0, 0]).png().toFile(join(dir, "y.png"));
    await utimes(join(dir, "y.png"), new Date(), new Date(Date.now() + 5000));
    const c = await loadImageFolder(dir, RES, { cacheDir });
    expect(c.hash).not.toBe(a.hash);
    expect(pixelAt(c.pixels, 1, 3, 3)).toEqual([0, 0, 0]);

    // cache: false decodes again and leaves no file behind.
    const noCacheDir = join(base, "no-cache");
    const uncached: [number, number][] = [];
    const d = await loadImageFolder(dir, RES, { cacheDir: noCacheDir, cache: false, onProgress: (x, t) => uncached.push([x, t]) });
    expect(uncached[0]).toEqual([0, 2]);
    expect(d.hash).toBe(c.hash);
    await expect(stat(noCacheDir)).rejects.toThrow(/ENOENT/);

    // The same bytes in another folder have the same content hash (the hash is of content, not place).
    const copy = join(base, "cache-test-copy");
    await mkdir(copy);
    for (const name of ["x.png", "y.png"]) await writeFile(join(copy, name), await readFile(join(dir, name)));
    expect((await loadImageFolder(copy, RES, { cacheDir })).hash).toBe(c.hash);
  });

  test("limit takes the first usable images in path order; min_size is configurable", async () => {
    const limited = await loadDataset({ kind: "folder", path: good, limit: 2 }, RES, { cacheDir, allowedRoots: [base] });
    expect(limited.count).toBe(2);
    expect(pixelAt(limited.pixels, 0, 16, 16)).toEqual([255, 0, 0]);
    const strict = await loadDataset({ kind: "folder", path: good, min_size: 65 }, RES, { cacheDir, allowedRoots: [base] });
    expect(strict.count).toBe(2); // only the 80×100 JPEG and 100×90 WebP are ≥ 65px on both sides
    expect(strict.skipped.tooSmall).toBe(5);
  });

  test("missing folder, empty folder, a file, only bad files, outside the data roots: specific errors naming the path", async () => {
    const expectError = async (promise: Promise<unknown>, code: string, text: RegExp) => {
      const err = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).code).toBe(code);
      expect((err as DatasetError).message).toMatch(text);
    };
    expect(resolveUserPath("~/faces")).toBe(join(homedir(), "faces"));
    const missing = join(base, "does-not-exist");
    await expectError(loadImageFolder(missing, RES, { cacheDir }), "not-found", new RegExp(`not found: ${missing}`));

    const empty = join(base, "empty");
    await mkdir(join(empty, "nested"), { recursive: true });
    await writeFile(join(empty, "readme.md"), "no images here");
    await expectError(loadImageFolder(empty, RES, { cacheDir }), "empty", new RegExp(`${empty} contains no PNG, JPEG or WebP files \\(1 other files ignored\\)`));

    await expectError(loadImageFolder(join(good, "a-red.png"), RES, { cacheDir }), "not-a-folder", /a-red\.png is a file, not a folder/);

    const bad = join(base, "all-bad");
    await mkdir(bad);
    await writeFile(join(bad, "fake.jpg"), "nope");
    await solid(1, 1, [0, 0, 0]).png().toFile(join(bad, "dot.png"));
    await expectError(loadImageFolder(bad, RES, { cacheDir }), "no-usable-images", /has 2 image files but none could be used \(0 corrupt, 1 not images, 1 too small/);

    await expectError(
      loadImageFolder(good, RES, { cacheDir, allowedRoots: [join(base, "empty")] }),
      "outside-data-roots",
      /outside the allowed data roots/,
    );
    // Inside the roots it loads, and links pointing outside the roots are not followed.
    const outside = await mkdtemp(join(tmpdir(), "ganboard-outside-"));
    await solid(64, 64, [1, 1, 1]).png().toFile(join(outside, "secret.png"));
    const rooted = join(base, "rooted");
    await mkdir(rooted);
    await solid(64, 64, [5, 5, 5]).png().toFile(join(rooted, "ok.png"));
    await symlink(join(outside, "secret.png"), join(rooted, "link-out.png"));
    const set = await loadImageFolder(rooted, RES, { cacheDir, allowedRoots: [base] });
    expect(set.count).toBe(1);
    await rm(outside, { recursive: true, force: true });
  });
});
