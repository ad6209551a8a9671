// Exact ascending sort of float32 values, LSD radix over the IEEE-754 bit patterns (3 passes of 11/11/10 bits).
// SWD sorts 512 projections of ~262k values per image set and pyramid level; Float32Array.prototype.sort took
// ~28 ms per array here, this takes a few ms, and the result is bit-identical (same total order; no NaNs occur).

export class Float32RadixSorter {
  private scratch = new Int32Array(0);
  private readonly histogram = new Uint32Array(3 * 2048);

  /** Sorts `values` ascending in place. -0 sorts before +0; NaNs are not expected (they would sort to the ends). */
  sort(values: Float32Array): Float32Array {
    const n = values.length;
    if (n < 2) return values;
    if (this.scratch.length < n) this.scratch = new Int32Array(n);
    // Int32 throughout: uint32 values above 2^31 would leave V8's small-integer fast path.
    const keys = new Int32Array(values.buffer, values.byteOffset, n);
    const tmp = this.scratch;
    const hist = this.histogram;
    hist.fill(0);
    // Map floats to unsigned keys whose integer order is the float order: flip all bits of negatives,
    // only the sign bit of positives. Count all three digits in the same pass.
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      const key = k ^ ((k >> 31) | 0x80000000);
      keys[i] = key;
      hist[key & 0x7ff]++;
      hist[2048 + ((key >>> 11) & 0x7ff)]++;
      hist[4096 + (key >>> 22)]++;
    }
    for (let pass = 0; pass < 3; pass++) {
      let sum = 0;
      const base = pass * 2048;
      for (let b = 0; b < 2048; b++) {
        const c = hist[base + b];
        hist[base + b] = sum;
        sum += c;
      }
    }
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      tmp[hist[key & 0x7ff]++] = key;
    }
    for (let i = 0; i < n; i++) {
      const key = tmp[i];
      keys[hist[2048 + ((key >>> 11) & 0x7ff)]++] = key;
    }
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      tmp[hist[4096 + (key >>> 22)]++] = key;
    }
    // Undo the key mapping while copying back.
    for (let i = 0; i < n; i++) {
      const key = tmp[i];
      keys[i] = key < 0 ? key ^ 0x80000000 : ~key;
    }
    return values;
  }
}
