// Shared by the engine's tests: tiny configs and synthetic data (not used by production code).
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from "./config.ts";
import type { ImageSet } from "./data/index.ts";
import { Prng } from "./random.ts";

export function tinyConfig(overrides: Partial<TrainConfigInput> = {}): TrainConfig {
  return parseTrainConfig({ resolution: 32, batch_size: 4, ngf: 4, ndf: 4, z_dim: 8, swd_samples: 0, grid_size: 2, ...overrides });
}

/** One batch of smooth random images in [-1, 1] (blobs, not white noise, so D has something to learn). */
export function syntheticBatch(batch: number, resolution: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(batch * resolution * resolution * 3);
  for (let b = 0; b < batch; b++) {
    const cx = rng.uniform() * resolution;
    const cy = rng.uniform() * resolution;
    const colour = [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1, rng.uniform() * 2 - 1];
    for (let y = 0; y < resolution; y++) {
      for (let x = 0; x < resolution; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < (resolution / 4) ** 2;
        for (let c = 0; c < 3; c++) out[((b * resolution + y) * resolution + x) * 3 + c] = inside ? colour[c] : -0.8;
      }
    }
  }
  return out;
}

/** An in-memory ImageSet of synthetic images (what loadDataset would return). */
export function syntheticImageSet(count: number, resolution: number, seed = 1): ImageSet {
  const floats = syntheticBatch(count, resolution, seed);
  const pixels = new Uint8Array(floats.length);
  for (let i = 0; i < floats.length; i++) pixels[i] = Math.round((floats[i] + 1) * 127.5);
  return { pixels, count, resolution, hash: `synthetic-${count}-${resolution}-${seed}`, source: `synthetic blobs ×${count}`, skipped: { corrupt: 0, notImage: 0, tooSmall: 0 } };
}
