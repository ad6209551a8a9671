import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

// A real (tiny) TF.js graph model written the way tensorflowjs_converter writes one: a GraphDef in model.json
// and the constants in a binary shard. images [-1, 8, 8, 3] → mean over H, W → MatMul with a 3×4 matrix.
export const TINY_MODEL_PROJECTION = [1, 0, 0, 1, 0, 1, 0, -1, 0, 0, 1, 0.5];
export async function writeTinyGraphModel(dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const float = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) });
  const modelJson = {
    format: "graph-model",
    generatedBy: "ganboard test",
    convertedBy: "hand-written",
    modelTopology: {
      node: [
        { name: "images", op: "Placeholder", attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: float([-1, 8, 8, 3]) } } },
        { name: "axes", op: "Const", attr: { dtype: { type: "DT_INT32" }, value: { tensor: { dtype: "DT_INT32", tensorShape: float([2]) } } } },
        { name: "proj", op: "Const", attr: { dtype: { type: "DT_FLOAT" }, value: { tensor: { dtype: "DT_FLOAT", tensorShape: float([3, 4]) } } } },
        { name: "pooled", op: "Mean", input: ["images", "axes"], attr: { keep_dims: { b: false }, T: { type: "DT_FLOAT" }, Tidx: { type: "DT_INT32" } } },
        { name: "features", op: "MatMul", input: ["pooled", "proj"], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: "DT_FLOAT" } } },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: [{ name: "axes", shape: [2], dtype: "int32" }, { name: "proj", shape: [3, 4], dtype: "float32" }] }],
    ...(metadata ? { userDefinedMetadata: { ganboard: metadata } } : {}),
  };
  const weights = Buffer.concat([Buffer.from(new Int32Array([1, 2]).buffer), Buffer.from(new Float32Array(TINY_MODEL_PROJECTION).buffer)]);
  await writeFile(join(dir, "model.json"), JSON.stringify(modelJson));
  await writeFile(join(dir, "group1-shard1of1.bin"), weights);
}

