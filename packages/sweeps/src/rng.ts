/**
 * Deterministic seeded randomness for sweeps. Every decision a runner makes under the sweep lock must be
 * reproducible from (sweep seed, trial number, purpose), so nothing here touches Math.random.
 *
 * Generator: xoshiro128** (32-bit state words, fast in JS), seeded through splitmix32 so that nearby
 * seeds give unrelated streams. Doubles use 53 random bits (two outputs), which matters for log scales.
 */

export interface Rng {
  /** Uniform double in [0, 1). */
  next(): number;
  /** Uniform double in [low, high). */
  uniform(low: number, high: number): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** One element, uniformly. */
  choice<T>(items: readonly T[]): T;
}

/** FNV-1a over the string form, then avalanche: turns any seed parts into one 32-bit word. */
export function hashSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  const text = parts.map((p) => (typeof p === "number" ? `n${p}` : `s${p}`)).join("\u0000");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator for a purpose, e.g. `createRng(spec.seed, "random", trialNumber)`. */
export function createRng(...seedParts: Array<number | string>): Rng {
  const seeder = { s: hashSeed(...seedParts) };
  let a = splitmix32(seeder);
  let b = splitmix32(seeder);
  let c = splitmix32(seeder);
  let d = splitmix32(seeder);
  if ((a | b | c | d) === 0) a = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };

  const next = (): number => {
    const hi = nextU32() >>> 5; // 27 bits
    const lo = nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };

  let spareNormal: number | null = null;
  return {
    next,
    uniform: (low, high) => low + (high - low) * next(),
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spareNormal !== null) {
        const v = spareNormal;
        spareNormal = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    choice: (items) => {
      if (items.length === 0) throw new Error("choice from an empty list");
      return items[Math.floor(next() * items.length)];
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
