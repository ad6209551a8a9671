import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cartoonFaceSvg, loadCartoonFaces, type CartoonFacesParams } from "./cartoon-faces.ts";
import { loadDataset } from "./load-dataset.ts";

const RES = 32;
const params: CartoonFacesParams = { count: 12, styles: ["adventurer", "lorelei"], seed: 1 };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ganboard-faces-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function progressLog() {
  const calls: [number, number][] = [];
  return { calls, onProgress: (done: number, total: number) => calls.push([done, total]) };
}

async function onlyCacheFile(cacheDir: string): Promise<string> {
  const names = (await readdir(cacheDir)).filter((n) => n.endsWith(".ganbds"));
  expect(names).toHaveLength(1);
  return join(cacheDir, names[0]);
}

describe("cartoon-faces", () => {
  test("same seed renders the same pixels; another seed renders other faces", async () => {
    const a = await loadCartoonFaces(params, RES, { cacheDir: join(dir, "a") });
    const b = await loadCartoonFaces(params, RES, { cacheDir: join(dir, "b") }); // separate cache: a real second render
    expect(a.count).toBe(12);
    expect(a.resolution).toBe(RES);
    expect(a.pixels.length).toBe(12 * RES * RES * 3);
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.source).toContain("adventurer, lorelei");
    expect(a.skipped).toEqual({ corrupt: 0, notImage: 0, tooSmall: 0 });

    const other = await loadCartoonFaces({ ...params, seed: 2 }, RES, { cacheDir: join(dir, "a") });
    expect(other.hash).not.toBe(a.hash);
    const frame = RES * RES * 3;
    for (let i = 0; i < 12; i++) {
      const x = Buffer.from(a.pixels.subarray(i * frame, (i + 1) * frame));
      const y = Buffer.from(other.pixels.subarray(i * frame, (i + 1) * frame));
      expect(x.equals(y), `image ${i} differs across seeds`).toBe(false);
    }
  });

  test("images are distinct faces on a background, using the whole 0..255 range across the set", async () => {
    const set = await loadCartoonFaces(params, RES, { cacheDir: join(dir, "a") });
    const frame = RES * RES * 3;
    let min = 255;
    let max = 0;
    const digests = new Set<string>();
    for (let i = 0; i < set.count; i++) {
      const img = set.pixels.subarray(i * frame, (i + 1) * frame);
      digests.add(Buffer.from(img).toString("base64"));
      const colours = new Set<number>();
      for (let p = 0; p < img.length; p += 3) colours.add((img[p] << 16) | (img[p + 1] << 8) | img[p + 2]);
      expect(colours.size, `image ${i} has detail`).toBeGreaterThan(30);
      // The face fills the frame: the centre pixel is not the background colour of the corner.
      const centre = ((RES / 2) * RES + RES / 2) * 3;
      const corner = 0;
      const same = img[centre] === img[corner] && img[centre + 1] === img[corner + 1] && img[centre + 2] === img[corner + 2];
      expect(same, `image ${i} centre differs from its background`).toBe(false);
      for (const v of img) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    expect(digests.size).toBe(set.count);
    expect(min).toBeLessThan(40);
    expect(max).toBeGreaterThan(215);
  });

  test("second load comes from the cache, identical, without rendering", async () => {
    const cacheDir = join(dir, "c");
    const first = progressLog();
    const a = await loadCartoonFaces(params, RES, { cacheDir, onProgress: first.onProgress });
    expect(first.calls[0]).toEqual([0, 12]);
    expect(first.calls.at(-1)).toEqual([12, 12]);
    const file = await onlyCacheFile(cacheDir);
    const mtime = (await stat(file)).mtimeMs;

    const second = progressLog();
    const b = await loadCartoonFaces(params, RES, { cacheDir, onProgress: second.onProgress });
    expect(second.calls).toEqual([[12, 12]]); // no render pass: straight from disk
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(b.hash).toBe(a.hash);
    expect((await stat(file)).mtimeMs).toBe(mtime);
  });

  test("a corrupted or truncated cache file is detected and re-rendered", async () => {
    const cacheDir = join(dir, "d");
    const a = await loadCartoonFaces(params, RES, { cacheDir });
    const file = await onlyCacheFile(cacheDir);

    const bytes = await readFile(file);
    bytes[bytes.length - 100] ^= 0xff; // one flipped pixel byte
    await writeFile(file, bytes);
    const flipped = progressLog();
    const warnings: string[] = [];
    const b = await loadCartoonFaces(params, RES, { cacheDir, onProgress: flipped.onProgress, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/unusable \(pixel checksum mismatch\)/)]);
    expect(flipped.calls[0]).toEqual([0, 12]); // rendered again
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);

    await truncate(file, 1000);
    const cut = progressLog();
    const c = await loadCartoonFaces(params, RES, { cacheDir, onProgress: cut.onProgress });
    expect(cut.calls[0]).toEqual([0, 12]);
    expect(Buffer.from(c.pixels).equals(Buffer.from(a.pixels))).toBe(true);

    await writeFile(file, "not a cache at all");
    const d = await loadCartoonFaces(params, RES, { cacheDir });
    expect(d.hash).toBe(a.hash);
    // The rewritten file is valid again: next load is a hit; no temp files left behind.
    const again = progressLog();
    await loadCartoonFaces(params, RES, { cacheDir, onProgress: again.onProgress });
    expect(again.calls).toEqual([[12, 12]]);
    expect((await readdir(cacheDir)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  test("a cache that cannot be written is a warning, not a failure", async () => {
    const blocker = join(dir, "a-file");
    await writeFile(blocker, "x");
    const warnings: string[] = [];
    const set = await loadCartoonFaces(params, RES, { cacheDir: join(blocker, "cache"), onWarning: (m) => warnings.push(m) });
    expect(set.count).toBe(12);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Could not write the dataset cache .*a-file\/cache/);
  });

  test("parameters are part of the cache key", async () => {
    const cacheDir = join(dir, "e");
    const a = await loadCartoonFaces(params, RES, { cacheDir });
    const white = await loadCartoonFaces({ ...params, background: "white" }, RES, { cacheDir });
    const fewer = await loadCartoonFaces({ ...params, count: 8 }, RES, { cacheDir });
    expect(white.hash).not.toBe(a.hash);
    // Same seed: the first 8 images of the 8-image set are the first 8 of the 12-image set.
    expect(Buffer.from(fewer.pixels).equals(Buffer.from(a.pixels.subarray(0, 8 * RES * RES * 3)))).toBe(true);
    expect(fewer.hash).not.toBe(a.hash);
    expect((await readdir(cacheDir)).filter((n) => n.endsWith(".ganbds"))).toHaveLength(3);
    // White background: corners are white.
    expect(Array.from(white.pixels.subarray(0, 3))).toEqual([255, 255, 255]);
  });

  test("loadDataset dispatches the config; all six styles render", async () => {
    const set = await loadDataset(
      { kind: "cartoon-faces", count: 16, styles: ["adventurer", "lorelei", "avataaars", "big-smile", "micah", "notionists"], seed: 0 },
      RES,
      { cacheDir: join(dir, "f") },
    );
    expect(set.count).toBe(16);
    for (const style of ["avataaars", "big-smile", "micah", "notionists"] as const) {
      expect(cartoonFaceSvg({ count: 1, styles: [style], seed: 0 }, 0, 64)).toMatch(/width="64" height="64"/);
    }
  });

  test("a set too large for one array is refused up front with the largest count that fits", async () => {
    await expect(loadCartoonFaces({ ...params, count: 100_000 }, 128, { cacheDir: join(dir, "h") })).rejects.toThrow(/at 128px at most 87381 images fit/);
  });

  test("an abort signal stops rendering and writes no cache", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    await expect(loadCartoonFaces({ ...params, seed: 99 }, RES, { cacheDir: join(dir, "g"), signal: controller.signal })).rejects.toThrow("stop now");
    const midway = new AbortController();
    const cacheDir = join(dir, "g2");
    const big = { ...params, count: 200, seed: 98 };
    const run = loadCartoonFaces(big, RES, {
      cacheDir,
      signal: midway.signal,
      onProgress: (done) => {
        if (done > 0) midway.abort(new Error("user stopped"));
      },
    });
    await expect(run).rejects.toThrow("user stopped");
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });
});
