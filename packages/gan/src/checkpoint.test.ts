import { describe, expect, it } from "vitest";
import { CHECKPOINT_VERSION, decodeCheckpoint, encodeCheckpoint, readCheckpointHeader } from "./checkpoint.ts";
import { CheckpointError } from "./errors.ts";

const header = {
  createdAt: "2026-12-03T00:00:00.000Z",
  config: { resolution: 32 },
  architecture: { resolution: 32, zDim: 8, ngf: 4, ndf: 4 },
  step: 7,
  position: { epoch: 2, stepInEpoch: 3 },
  rng: [1, 2, 3, 4] as [number, number, number, number],
  optimizers: { g: { t: 7 }, d: { t: 7 } },
  hasEma: false,
};
const arrays = [
  { name: "G/a", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
  { name: "D/b", shape: [1], data: new Float32Array([Math.PI]) },
];

describe("checkpoint format", () => {
  it("round-trips header and tensors by name", () => {
    const bytes = encodeCheckpoint(header, arrays);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("GANBCKPT");
    const { header: h, arrays: a } = decodeCheckpoint(bytes);
    expect(h.version).toBe(CHECKPOINT_VERSION);
    expect(h.step).toBe(7);
    expect(h.position).toEqual({ epoch: 2, stepInEpoch: 3 });
    expect(h.rng).toEqual([1, 2, 3, 4]);
    expect(Array.from(a.get("G/a")!.data)).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(a.get("D/b")!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(a.get("G/a")!.shape).toEqual([2, 3]);
  });

  it("decodes from a Uint8Array view at an unaligned offset (e.g. a Buffer slice from Postgres)", () => {
    const bytes = encodeCheckpoint(header, arrays);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes, 1);
    expect(Array.from(decodeCheckpoint(padded.subarray(1)).arrays.get("G/a")!.data)).toEqual([1, 2, 3, 4, 5, -6.5]);
  });

  it("refuses foreign, truncated and future-version bytes with clear errors", () => {
    const bytes = encodeCheckpoint(header, arrays);
    expect(() => readCheckpointHeader(new TextEncoder().encode("PK\u0003\u0004 a zip file, not a checkpoint"))).toThrow(/bad magic/);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
    const future = bytes.slice();
    new DataView(future.buffer).setUint32(8, 99, true);
    expect(() => decodeCheckpoint(future)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(future)).toThrow(/version 99/);
  });
});
