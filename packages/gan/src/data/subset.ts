import { createHash } from "node:crypto";
import { hash32, mulberry32 } from "./rng.ts";
import type { ImageSet } from "./types.ts";

/**
 * A fixed random sample of `n` distinct images (all of them when n >= count), chosen by `seed` alone:
 * e.g. the real images the per-epoch SWD compares against, the same every epoch and on resume.
 * Images keep their dataset order; pixels are copied, so the sample does not pin the full set.
 */
export function sampleImageSet(set: ImageSet, n: number, seed: number): ImageSet {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sample size must be a positive integer, got ${n}`);
  const frame = set.resolution * set.resolution * 3;
  const take = Math.min(n, set.count);
  // Partial Fisher–Yates over indices: the first `take` entries are a uniform sample without replacement.
  const idx = new Uint32Array(set.count);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const rand = mulberry32(hash32(seed, set.count, 0x5a3b1e));
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rand() * (set.count - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  const chosen = idx.subarray(0, take).sort();
  const pixels = new Uint8Array(take * frame);
  for (let k = 0; k < take; k++) pixels.set(set.pixels.subarray(chosen[k] * frame, (chosen[k] + 1) * frame), k * frame);
  const hash = take === set.count ? set.hash : createHash("sha256").update(`${set.hash}:sample:${take}:${seed}`).digest("hex");
  return { pixels, count: take, resolution: set.resolution, hash, source: take === set.count ? set.source : `${set.source} (sample of ${take})`, skipped: set.skipped };
}
