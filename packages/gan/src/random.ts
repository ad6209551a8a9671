/**
 * Seeded, serialisable randomness for the engine. tfjs's own tf.random* functions draw from global
 * state that a checkpoint cannot capture, so every random number used in training (weight init,
 * noise) comes from here instead; resuming restores `state` and continues the exact same stream.
 */

/** sfc32: small, fast, 128-bit state, good statistical quality; state is four uint32s. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | readonly number[]) {
    if (typeof seed === "number") {
      // splitmix32 expands one integer into four well-mixed words.
      let s = seed >>> 0;
      const next = () => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.a = next();
      this.b = next();
      this.c = next();
      this.d = next();
      for (let i = 0; i < 12; i++) this.nextUint32();
    } else {
      if (seed.length !== 4 || seed.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
        throw new Error("Prng state must be four uint32 words");
      }
      [this.a, this.b, this.c, this.d] = seed as [number, number, number, number];
    }
  }

  /** A new generator for an independent purpose, derived from a seed and a label (e.g. "eval-noise"). */
  static derive(seed: number, label: string): Prng {
    let h = 0x811c9dc5 ^ (seed >>> 0);
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return new Prng(h ^ Math.imul(seed >>> 0, 0x9e3779b1));
  }

  get state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Fills `out` with N(mean, std) samples (Box–Muller, both outputs used; no cached spare, so state stays four words). */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = (this.nextUint32() + 1) / 4294967297; // (0, 1]: log never sees 0
      const u2 = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[i] = mean + std * r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
    }
    return out;
  }

  normal(length: number, mean = 0, std = 1): Float32Array {
    return this.fillNormal(new Float32Array(length), mean, std);
  }
}
