/**
 * Data pipeline throughput: `npx tsx packages/gan/src/data/bench-data.ts [--count N] [--runs R] [--preview DIR]`
 * Prints medians of R runs for cartoon-face rendering (parallel vs one at a time), folder decoding
 * (parallel vs one at a time, on a synthetic folder of ~100px JPEGs like the Kaggle anime faces),
 * cache loads and BatchLoader conversion; the last line is one JSON object with the figures.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { encodeUint8GridPng } from "../media/grid.ts";
import { BatchLoader } from "./batch-loader.ts";
import { loadCartoonFaces, renderCartoonFaces, type CartoonFacesParams } from "./cartoon-faces.ts";
import { loadImageFolder } from "./folder.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const COUNT = Number(arg("count", "1000"));
const RUNS = Number(arg("runs", "3"));
const PREVIEW = arg("preview", "");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function perSecond(n: number, fn: () => Promise<unknown>): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) rates.push(n / (await timed(fn)));
  return median(rates);
}

const work = await mkdtemp(join(tmpdir(), "ganboard-bench-data-"));
const figures: Record<string, number> = {};
try {
  const params: CartoonFacesParams = { count: COUNT, styles: ["adventurer", "lorelei"], seed: 0 };
  await renderCartoonFaces({ ...params, count: 32 }, 32); // warm up sharp/rsvg
  for (const res of [32, 64]) {
    figures[`render_${res}_per_s`] = await perSecond(COUNT, () => renderCartoonFaces(params, res));
    figures[`render_${res}_serial_per_s`] = await perSecond(Math.min(COUNT, 200), () =>
      renderCartoonFaces({ ...params, count: Math.min(COUNT, 200) }, res, { concurrency: 1 }),
    );
    console.log(
      `cartoon-faces ${res}px: ${figures[`render_${res}_per_s`].toFixed(0)} img/s parallel, ` +
        `${figures[`render_${res}_serial_per_s`].toFixed(0)} img/s one at a time ` +
        `(×${(figures[`render_${res}_per_s`] / figures[`render_${res}_serial_per_s`]).toFixed(2)}); ` +
        `10k would take ~${(10_000 / figures[`render_${res}_per_s`]).toFixed(0)} s`,
    );
  }
  if (PREVIEW) {
    await mkdir(PREVIEW, { recursive: true });
    for (const res of [32, 64]) {
      const six = await renderCartoonFaces({ count: 64, styles: ["adventurer", "lorelei", "avataaars", "big-smile", "micah", "notionists"], seed: 0 }, res);
      await writeFile(join(PREVIEW, `cartoon-faces-${res}.png`), await encodeUint8GridPng(six, 64, res, { columns: 8 }));
    }
  }

  // A folder like the Kaggle anime faces: ~90–120px JPEGs in a few subfolders.
  const folder = join(work, "faces");
  const srcRes = 112;
  const srcPixels = await renderCartoonFaces({ ...params, seed: 1 }, srcRes);
  for (let i = 0; i < COUNT; i++) {
    const dir = join(folder, `part${i % 4}`);
    if (i < 4) await mkdir(dir, { recursive: true });
    const side = 90 + (i % 31);
    await sharp(srcPixels.subarray(i * srcRes * srcRes * 3, (i + 1) * srcRes * srcRes * 3), { raw: { width: srcRes, height: srcRes, channels: 3 } })
      .resize(side, side)
      .jpeg({ quality: 90 })
      .toFile(join(dir, `${i}.jpg`));
  }
  let run = 0;
  figures.decode_64_per_s = await perSecond(COUNT, () => loadImageFolder(folder, 64, { cacheDir: join(work, `cache${run++}`) }));
  figures.decode_64_serial_per_s = await perSecond(COUNT, () => loadImageFolder(folder, 64, { cacheDir: join(work, `cache${run++}`), concurrency: 1 }));
  console.log(
    `folder decode 64px (${COUNT} JPEGs of 90–120px): ${figures.decode_64_per_s.toFixed(0)} img/s parallel, ` +
      `${figures.decode_64_serial_per_s.toFixed(0)} img/s one at a time (×${(figures.decode_64_per_s / figures.decode_64_serial_per_s).toFixed(2)}); ` +
      `63k would take ~${(63_000 / figures.decode_64_per_s).toFixed(0)} s`,
  );

  const cacheDir = join(work, "cache-hit");
  const set = await loadCartoonFaces(params, 64, { cacheDir });
  const hitTimes: number[] = [];
  for (let r = 0; r < RUNS; r++) hitTimes.push(1000 * (await timed(() => loadCartoonFaces(params, 64, { cacheDir }))));
  figures.cache_hit_64_ms = median(hitTimes);
  console.log(`cache hit, ${COUNT} images at 64px (${((COUNT * 64 * 64 * 3) / 1e6).toFixed(0)} MB, checksum verified): ${figures.cache_hit_64_ms.toFixed(0)} ms`);

  const loader = new BatchLoader(set, 64, 0);
  const batches = loader.batchesPerEpoch;
  const t = performance.now();
  for (let e = 0; e < 5; e++) for (let i = 0; i < batches; i++) loader.batchInto(e, i, new Float32Array(loader.batchLength));
  figures.batch_64x64_ms = (performance.now() - t) / (5 * batches);
  loader.dispose();
  console.log(`BatchLoader: one 64×64px batch of 64 in ${figures.batch_64x64_ms.toFixed(2)} ms`);
  console.log(JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v * 100) / 100]))));
} finally {
  await rm(work, { recursive: true, force: true });
}
