// The image form every metric takes: NHWC RGB uint8, as `ImageSet` from the data module (a structural subset,
// so an ImageSet can be passed directly).

export interface ImageBatch {
  pixels: Uint8Array; // count*resolution*resolution*3, NHWC RGB, 0..255
  count: number;
  resolution: number;
}

export class MetricInputError extends Error {
  override name = "MetricInputError";
}

export function assertImageBatch(set: ImageBatch, what: string): void {
  if (!(set.pixels instanceof Uint8Array)) throw new MetricInputError(`${what}: pixels must be a Uint8Array (NHWC RGB 0..255)`);
  if (!Number.isInteger(set.count) || set.count < 0) throw new MetricInputError(`${what}: count must be a non-negative integer, got ${set.count}`);
  if (!Number.isInteger(set.resolution) || set.resolution < 1) throw new MetricInputError(`${what}: resolution must be a positive integer, got ${set.resolution}`);
  const expected = set.count * set.resolution * set.resolution * 3;
  if (set.pixels.length < expected) {
    throw new MetricInputError(`${what}: ${set.count} images of ${set.resolution}px need ${expected} bytes of pixels, got ${set.pixels.length}`);
  }
}

/**
 * Generator output (NHWC float32 in [-1, 1]) to uint8 images, as PGGAN converts fakes before its metrics:
 * x → round((x + 1) · 127.5), clipped to 0..255.
 */
export function imagesFromTanh(data: Float32Array, count: number, resolution: number): ImageBatch {
  const n = count * resolution * resolution * 3;
  if (data.length < n) throw new MetricInputError(`imagesFromTanh: expected ${n} values for ${count} images of ${resolution}px, got ${data.length}`);
  const pixels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round((data[i] + 1) * 127.5);
    pixels[i] = v < 0 ? 0 : v > 255 ? 255 : v; // NaN → 0 via the Uint8Array conversion
  }
  return { pixels, count, resolution };
}

/** The images at the given indices, copied into a new batch. */
export function selectImages(set: ImageBatch, indices: ArrayLike<number>): ImageBatch {
  const size = set.resolution * set.resolution * 3;
  const pixels = new Uint8Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * size;
    pixels.set(set.pixels.subarray(src, src + size), i * size);
  }
  return { pixels, count: indices.length, resolution: set.resolution };
}
