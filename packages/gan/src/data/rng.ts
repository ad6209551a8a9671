/**
 * Stateless seeded randomness for data work: every image and every epoch gets its own stream derived
 * from (seed, index), so results do not depend on the order in which parallel work completes.
 */

/** A 32-bit mix of any number of integers (murmur3-style finaliser per word). */
export function hash32(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    let k = Math.imul(w >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
    // Words above 2^32 (e.g. large seeds) contribute their high bits too.
    const hi = Math.floor(w / 4294967296);
    if (hi) h = Math.imul(h ^ hi, 0x85ebca6b) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: tiny, fast, good enough for shuffles and picking colours. Returns uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` over 0..count-1 with at most `concurrency` calls in flight; stops early on abort or error. */
export async function forEachConcurrent(
  count: number,
  concurrency: number,
  fn: (index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      signal?.throwIfAborted();
      const index = next++;
      try {
        await fn(index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  signal?.throwIfAborted();
}
