// SWD benchmark: wall time of a 2048-vs-2048 SWD (PGGAN settings: 128 patches/image, 4×128 directions) per
// backend and resolution, median of several runs, next to an independent numpy implementation on the same
// images (fixtures/swd_reference.py, run with /usr/bin/python3 when numpy is there) as the reference; the data
// is the built-in cartoon-faces set (default config), so the value printed is also its real-vs-real floor.
//
//   npx tsx packages/gan/src/metrics/bench-swd.ts [--backends wasm,cpu] [--resolutions 32,64] [--count 2048]
//       [--runs 3] [--cpu-count 512] [--reference 0]
// The cpu backend (pure JS matMul) is slow, so it runs on --cpu-count images and the time is also given scaled
// linearly to --count (every phase is linear in the image count). Last line: one JSON object.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../backend.ts";
import type { BackendName } from "../config.ts";
import { loadDataset } from "../data/index.ts";
import { selectImages } from "./images.ts";
import { MetricRng } from "./random.ts";
import { slicedWassersteinDistance, type SwdResult } from "./swd.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const backends = arg("backends", "wasm,cpu").split(",") as BackendName[];
const resolutions = arg("resolutions", "32,64").split(",").map(Number);
const count = Number(arg("count", "2048"));
const runs = Number(arg("runs", "3"));
const cpuCount = Number(arg("cpu-count", "512"));
const withReference = arg("reference", "1") !== "0";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const python = "/usr/bin/python3";
const reference = join(import.meta.dirname, "fixtures", "swd_reference.py");

interface Row { backend: string; resolution: number; images: number; seconds: number[]; median_s: number; scaled_to_count_s: number; swd: SwdResult }
const rows: Row[] = [];
const refs: Record<string, { seconds: number; mean: number; levels: Record<string, number> } | null> = {};

for (const resolution of resolutions) {
  process.stderr.write(`loading cartoon-faces at ${resolution}px…\n`);
  const faces = await loadDataset({ kind: "cartoon-faces", count: 10_000, styles: ["adventurer", "lorelei"], seed: 0 }, resolution);
  if (faces.count < 2 * count) throw new Error(`need ${2 * count} faces, have ${faces.count}`);
  // Two disjoint random halves, as swdFloor draws them.
  const perm = new MetricRng(0, 300).permutation(faces.count);
  const a = selectImages(faces, perm.subarray(0, count));
  const b = selectImages(faces, perm.subarray(count, 2 * count));

  if (withReference && existsSync(python)) {
    const dir = mkdtempSync(join(tmpdir(), "swd-bench-"));
    try {
      writeFileSync(join(dir, "a.raw"), a.pixels);
      writeFileSync(join(dir, "b.raw"), b.pixels);
      const out = execFileSync(python, [reference, join(dir, "a.raw"), join(dir, "b.raw"), String(count), String(resolution)], { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" } });
      refs[resolution] = JSON.parse(out.trim().split("\n").pop() as string);
      process.stderr.write(`numpy reference ${resolution}px: ${JSON.stringify(refs[resolution])}\n`);
    } catch (error) {
      process.stderr.write(`numpy reference failed: ${(error as Error).message}\n`);
      refs[resolution] = null;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    refs[resolution] = null;
  }

  for (const backend of backends) {
    const info = await selectBackend(backend);
    const n = backend === "cpu" ? Math.min(cpuCount, count) : count;
    const setA = n === count ? a : selectImages(a, Array.from({ length: n }, (_, i) => i));
    const setB = n === count ? b : selectImages(b, Array.from({ length: n }, (_, i) => i));
    const seconds: number[] = [];
    let swd: SwdResult | null = null;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      swd = slicedWassersteinDistance(setA, setB, { seed: 0 });
      seconds.push((performance.now() - t0) / 1000);
      process.stderr.write(`${info.name} ${resolution}px ${n} vs ${n}: ${seconds[r].toFixed(2)} s, SWD ${swd.mean.toFixed(3)} [${swd.levels.map((l) => `${l.resolution}:${l.swd.toFixed(3)}`).join(" ")}]\n`);
    }
    const m = median(seconds);
    rows.push({ backend: `${info.name} (${info.device})`, resolution, images: n, seconds, median_s: m, scaled_to_count_s: (m * count) / n, swd: swd as SwdResult });
  }
}

console.log("");
console.log(`SWD ${count} vs ${count} images (cartoon-faces real-vs-real, disjoint halves), PGGAN settings, median of ${runs}`);
for (const row of rows) {
  const ref = refs[row.resolution];
  const ratio = ref ? ` | ${(row.scaled_to_count_s / ref.seconds).toFixed(2)}× numpy time` : "";
  const scaled = row.images === count ? "" : ` (${row.images} images; ×${(count / row.images).toFixed(0)} → ${row.scaled_to_count_s.toFixed(1)} s)`;
  console.log(`  ${String(row.resolution).padStart(3)}px ${row.backend}: ${row.median_s.toFixed(2)} s${scaled}${ratio} | SWD mean ${row.swd.mean.toFixed(3)}`);
}
for (const [res, ref] of Object.entries(refs)) if (ref) console.log(`  ${res.padStart(3)}px numpy reference (1 thread): ${ref.seconds.toFixed(2)} s | SWD mean ${ref.mean.toFixed(3)} ${JSON.stringify(ref.levels)}`);
console.log(JSON.stringify({ count, runs, rows: rows.map((r) => ({ backend: r.backend, resolution: r.resolution, images: r.images, median_s: r.median_s, scaled_to_count_s: r.scaled_to_count_s, swd: r.swd.mean, swd_levels: Object.fromEntries(r.swd.levels.map((l) => [l.resolution, l.swd])) })), numpy_reference: refs }));
