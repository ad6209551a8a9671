import { hash32, mulberry32 } from "./rng.ts";
import type { ImageSet } from "./types.ts";

/** uint8 0..255 → float in [-1, 1], exactly (v / 127.5 - 1). */
const TO_SIGNED = (() => {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 127.5 - 1;
  return lut;
})();

/**
 * Turns an ImageSet into training batches: NHWC float32 in [-1, 1]. The order within an epoch is a
 * permutation derived from (seed, epoch) alone, so batch(e, i) is the same on every call, in every
 * process, whether or not the run was resumed. The last incomplete batch of an epoch is dropped (as
 * DataLoader(drop_last=True) does in the classic recipe) so every step sees a full batch.
 *
 * Prefetch: after each batch(), the next batch of the epoch is converted on the following macrotask
 * (setImmediate), i.e. while the caller awaits its training step, and handed out by the next call.
 */
export class BatchLoader {
  readonly batchesPerEpoch: number;
  readonly batchSize: number;
  readonly resolution: number;
  /** Floats in one batch: batchSize * resolution * resolution * 3. */
  readonly batchLength: number;

  private readonly frame: number;
  private permEpoch = -1;
  private perm: Uint32Array;
  private prefetched: { epoch: number; index: number; data: Float32Array } | null = null;
  private prefetchTimer: ReturnType<typeof setImmediate> | null = null;

  constructor(
    private readonly set: ImageSet,
    batchSize: number,
    private readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    if (set.count < batchSize) {
      throw new RangeError(`dataset has ${set.count} images, fewer than one batch of ${batchSize}: lower batch_size or add images`);
    }
    const expected = set.count * set.resolution * set.resolution * 3;
    if (set.pixels.length !== expected) throw new RangeError(`ImageSet pixels hold ${set.pixels.length} bytes, expected ${expected}`);
    this.batchSize = batchSize;
    this.resolution = set.resolution;
    this.frame = set.resolution * set.resolution * 3;
    this.batchLength = batchSize * this.frame;
    this.batchesPerEpoch = Math.floor(set.count / batchSize);
    this.perm = new Uint32Array(set.count);
  }

  /** Image indices of an epoch in the order they are served (a copy; for inspection and tests). */
  order(epoch: number): Uint32Array {
    return this.permutation(epoch).slice();
  }

  /** Batch `index` (0-based, < batchesPerEpoch) of `epoch`: a new array the caller owns. */
  batch(epoch: number, index: number): Float32Array {
    let data: Float32Array;
    const p = this.prefetched;
    if (p && p.epoch === epoch && p.index === index) {
      data = p.data;
      this.prefetched = null;
    } else {
      data = this.batchInto(epoch, index, new Float32Array(this.batchLength));
    }
    this.schedulePrefetch(epoch, index + 1);
    return data;
  }

  /** Same as batch() but into a caller's buffer (no allocation); no prefetch. */
  batchInto(epoch: number, index: number, out: Float32Array): Float32Array {
    this.checkIndex(epoch, index);
    if (out.length < this.batchLength) throw new RangeError(`output holds ${out.length} floats, a batch needs ${this.batchLength}`);
    const perm = this.permutation(epoch);
    const pixels = this.set.pixels;
    const frame = this.frame;
    for (let b = 0; b < this.batchSize; b++) {
      const src = perm[index * this.batchSize + b] * frame;
      const dst = b * frame;
      for (let k = 0; k < frame; k++) out[dst + k] = TO_SIGNED[pixels[src + k]];
    }
    return out;
  }

  /** Cancels a pending prefetch (call when training stops so no timer keeps the process alive). */
  dispose(): void {
    if (this.prefetchTimer) clearImmediate(this.prefetchTimer);
    this.prefetchTimer = null;
    this.prefetched = null;
  }

  private schedulePrefetch(epoch: number, index: number): void {
    if (index >= this.batchesPerEpoch) return; // the next epoch reshuffles; its first batch is cheap enough
    if (this.prefetchTimer) clearImmediate(this.prefetchTimer);
    this.prefetchTimer = setImmediate(() => {
      this.prefetchTimer = null;
      if (this.prefetched?.epoch === epoch && this.prefetched.index === index) return;
      this.prefetched = { epoch, index, data: this.batchInto(epoch, index, new Float32Array(this.batchLength)) };
    });
    this.prefetchTimer.unref?.();
  }

  private checkIndex(epoch: number, index: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.batchesPerEpoch) {
      throw new RangeError(`batch index ${index} out of range: an epoch has ${this.batchesPerEpoch} batches`);
    }
  }

  /** Fisher–Yates over 0..count-1 with a stream derived from (seed, epoch); cached for the current epoch. */
  private permutation(epoch: number): Uint32Array {
    if (this.permEpoch !== epoch) {
      const perm = this.perm;
      for (let i = 0; i < perm.length; i++) perm[i] = i;
      const rand = mulberry32(hash32(this.seed, epoch, 0x5eed5));
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      this.permEpoch = epoch;
    }
    return this.perm;
  }
}
