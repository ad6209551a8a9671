// Seeded randomness for the metrics: the engine's generator plus the draws metrics need (scalar normals,
// permutations, subsets). Each metric seeds its own stream, so its value for a seed is stable.

import { Prng } from "../random.ts";

/** The engine's sfc32 generator, seeded per (seed, stream) so each metric draws from its own stream. */
export class MetricRng extends Prng {
  private spareNormal: number | null = null;

  constructor(seed: number, stream = 0) {
    super((Math.trunc(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Uniform integer in [lo, hi) (hi > lo). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** Standard normal (Box–Muller, both values used). */
  gaussian(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** k distinct indices from 0..n-1, in random order (partial Fisher–Yates). */
  choose(n: number, k: number): Uint32Array {
    if (k > n) throw new RangeError(`cannot choose ${k} of ${n} without replacement`);
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (n - i));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p.slice(0, k);
  }
}
