// Pluggable feature extractors for FID/KID. The standard one is an Inception-v3 network converted to a TF.js
// graph model (tensorflowjs_converter → model.json + binary weight shards) that the user keeps on disk and points
// us at (GANBOARD_INCEPTION_MODEL or --inception): nothing is ever downloaded.
//
// FID values are only comparable with other FIDs computed by the same network, resize and input scaling
// (clean-fid shows resizing/JPEG choices alone move FID noticeably). We resize with bilinear interpolation to
// the model's input size (half-pixel centres, as pytorch-fid's F.interpolate) and scale 0..255 to the range the model declares (default
// [-1, 1], Keras' InceptionV3 preprocessing; override with model.json userDefinedMetadata
// {"ganboard": {"inputRange": [0, 255], "outputNode": "..."}} or the options below).

import * as tf from "@tensorflow/tfjs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { assertImageBatch, type ImageBatch } from "./images.ts";

export interface FeatureExtractor {
  /** Feature dimensions (2048 for Inception pool_3). */
  readonly dims: number;
  /** What produced the features (shown next to FID values). */
  readonly name: string;
  /** Features of every image, flat row-major count × dims. */
  extract(set: ImageBatch, opts?: { batchSize?: number; onProgress?: (done: number, total: number) => void }): Promise<Float32Array>;
  dispose(): void;
}

export class FeatureModelError extends Error {
  override name = "FeatureModelError";
}

interface ModelJsonFile {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: unknown[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
  trainingConfig?: unknown;
}

/**
 * A tf.io.IOHandler that reads a TF.js model (model.json + the weight shards it lists, resolved next to it) from
 * the local file system. `path` may be the model.json file or its directory. Works with any backend (tfjs-node's
 * file:// handler is not needed and may not be installed).
 */
export function fileSystemModelHandler(path: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelPath = await resolveModelJson(path);
      let json: ModelJsonFile;
      try {
        json = JSON.parse(await readFile(modelPath, "utf8")) as ModelJsonFile;
      } catch (error) {
        throw new FeatureModelError(`Cannot read the TF.js model ${modelPath}: ${(error as Error).message}`);
      }
      if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
        throw new FeatureModelError(`${modelPath} is not a TF.js model.json (expected modelTopology and weightsManifest)`);
      }
      const dir = dirname(modelPath);
      return tf.io.getModelArtifactsForJSON(json as tf.io.ModelJSON, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const file = join(dir, shard);
            try {
              const bytes = await readFile(file);
              buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
            } catch (error) {
              throw new FeatureModelError(`Weight shard ${file} listed in ${modelPath} cannot be read: ${(error as Error).message}`);
            }
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

async function resolveModelJson(path: string): Promise<string> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch {
    throw new FeatureModelError(`Feature model not found: ${full} (give the path of a TF.js graph model's model.json or its folder)`);
  }
  if (info.isDirectory()) {
    const inside = join(full, "model.json");
    try {
      await stat(inside);
    } catch {
      throw new FeatureModelError(`${full} is a folder without a model.json (convert the network with tensorflowjs_converter first)`);
    }
    return inside;
  }
  return full;
}

export interface GraphModelExtractorOptions {
  /** Pixel range the network expects; default from model.json metadata, else [-1, 1]. */
  inputRange?: [number, number];
  /** Output node to read features from; default the model's (single) output. */
  outputNode?: string;
  /** Name shown with the results; default "inception (<path>)". */
  name?: string;
}

/** A feature extractor over a local TF.js graph model (an Inception-v3 pool_3 network for standard FID/KID). */
export async function loadGraphModelExtractor(path: string, opts: GraphModelExtractorOptions = {}): Promise<FeatureExtractor> {
  const modelPath = await resolveModelJson(path);
  let metadata: Record<string, unknown> = {};
  try {
    const json = JSON.parse(await readFile(modelPath, "utf8")) as ModelJsonFile;
    const ours = json.userDefinedMetadata?.ganboard;
    if (ours && typeof ours === "object") metadata = ours as Record<string, unknown>;
  } catch {
    // fileSystemModelHandler reports unreadable files with a precise message below.
  }
  let model: Awaited<ReturnType<typeof tf.loadGraphModel>>;
  try {
    model = await tf.loadGraphModel(fileSystemModelHandler(modelPath));
  } catch (error) {
    if (error instanceof FeatureModelError) throw error;
    throw new FeatureModelError(`Cannot load ${modelPath} as a TF.js graph model: ${(error as Error).message}`);
  }
  const input = model.inputs[0];
  if (!input || model.inputs.length !== 1) throw new FeatureModelError(`${modelPath}: expected one image input, the model has ${model.inputs.length}`);
  const shape = input.shape ?? [];
  if (shape.length !== 4 || shape[3] !== 3) throw new FeatureModelError(`${modelPath}: expected an NHWC RGB image input, got shape [${shape.join(", ")}]`);
  const height = shape[1] ?? -1;
  const width = shape[2] ?? -1;
  if (height < 1 || width < 1) throw new FeatureModelError(`${modelPath}: the input needs a fixed height and width (e.g. 299×299), got [${shape.join(", ")}]`);
  const range = opts.inputRange ?? (isRange(metadata.inputRange) ? metadata.inputRange : [-1, 1]);
  const outputNode = opts.outputNode ?? (typeof metadata.outputNode === "string" ? metadata.outputNode : undefined);
  const name = opts.name ?? `inception (${modelPath})`;
  const inputName = input.name;
  const run = async (batch: tf.Tensor4D): Promise<tf.Tensor> => {
    const feeds = { [inputName]: batch };
    try {
      return model.execute(feeds, outputNode) as tf.Tensor;
    } catch (error) {
      const message = (error as Error).message;
      // Graphs with control flow need the async executor.
      if (/executeAsync/.test(message)) return (await model.executeAsync(feeds, outputNode)) as tf.Tensor;
      if (/not registered for backend/.test(message)) {
        throw new FeatureModelError(`${modelPath} needs an op the '${tf.getBackend()}' backend lacks (${message}); run with --backend wasm or GANBOARD_BACKEND=wasm`);
      }
      throw error;
    }
  };
  const [low, high] = range;
  const scale = (high - low) / 255;
  // Known up front when the graph declares its output shape (e.g. [-1, 2048] or [-1, 1, 1, 2048]).
  const declared = (outputNode ? undefined : model.outputs[0]?.shape)?.slice(1) ?? [];
  let dims = declared.length > 0 && declared.every((d) => d > 0) ? declared.reduce((p, d) => p * d, 1) : 0;
  if (dims === 0) {
    // Else run one blank image through it, which also proves the graph executes on this backend.
    const probe = tf.zeros([1, height, width, 3]) as tf.Tensor4D;
    let out: tf.Tensor;
    try {
      out = await run(probe);
    } catch (error) {
      model.dispose();
      if (error instanceof FeatureModelError) throw error;
      throw new FeatureModelError(`${modelPath}: running the model failed: ${(error as Error).message}`);
    } finally {
      probe.dispose();
    }
    dims = out.size;
    out.dispose();
  }
  const extractor: FeatureExtractor = {
    get dims() {
      return dims;
    },
    name,
    async extract(set, extractOpts = {}) {
      assertImageBatch(set, "feature extraction");
      const batchSize = extractOpts.batchSize ?? 32;
      const frame = set.resolution * set.resolution * 3;
      let out: Float32Array | null = null;
      for (let start = 0; start < set.count; start += batchSize) {
        const count = Math.min(batchSize, set.count - start);
        // Resized and scaled in JS (no image kernels needed, so any backend that runs the network will do).
        const input = new Float32Array(count * height * width * 3);
        for (let i = 0; i < count; i++) {
          resizeBilinearInto(set.pixels.subarray((start + i) * frame, (start + i + 1) * frame), set.resolution, height, width, input.subarray(i * height * width * 3, (i + 1) * height * width * 3), scale, low);
        }
        const batch = tf.tensor4d(input, [count, height, width, 3]);
        let features: tf.Tensor;
        try {
          features = await run(batch);
        } finally {
          batch.dispose();
        }
        const flat = tf.tidy(() => features.reshape([count, -1]));
        features.dispose();
        const values = (await flat.data()) as Float32Array;
        const width2 = flat.shape[1] as number;
        flat.dispose();
        if (out === null) {
          dims = width2;
          out = new Float32Array(set.count * dims);
        } else if (width2 !== dims) {
          throw new FeatureModelError(`${name}: feature width changed between batches (${dims} → ${width2})`);
        }
        out.set(values, start * dims);
        extractOpts.onProgress?.(start + count, set.count);
      }
      return out ?? new Float32Array(0);
    },
    dispose() {
      model.dispose();
    },
  };
  return extractor;
}

/**
 * Bilinear resize with half-pixel centres (PyTorch's interpolate(mode="bilinear", align_corners=False), as
 * pytorch-fid uses), HWC RGB uint8 in, float32 out as value·scale + offset.
 */
export function resizeBilinearInto(src: Uint8Array, size: number, outH: number, outW: number, out: Float32Array, scale = 1, offset = 0): void {
  const sy = size / outH;
  const sx = size / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(size - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(size - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(size - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(size - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const top = src[(y0 * size + x0) * 3 + c] * (1 - wx) + src[(y0 * size + x1) * 3 + c] * wx;
        const bottom = src[(y1 * size + x0) * 3 + c] * (1 - wx) + src[(y1 * size + x1) * 3 + c] * wx;
        out[(y * outW + x) * 3 + c] = (top * (1 - wy) + bottom * wy) * scale + offset;
      }
    }
  }
}

function isRange(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v)) && value[0] !== value[1];
}

/** The Inception model the user configured: an explicit path, else GANBOARD_INCEPTION_MODEL; null when neither. */
export function configuredInceptionPath(explicit?: string): string | null {
  const path = explicit?.trim() || process.env.GANBOARD_INCEPTION_MODEL?.trim();
  return path ? path : null;
}
