import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCheckpointHeader } from "@ganboard/gan";
import { repoRoot } from "../lib/paths.ts";
import { interpolateCheckpoint, parseSeeds } from "./interpolate.ts";
import { trainLocally } from "./train.ts";

const RESOLUTION = 32;
const TINY = `# tiny run for tests
resolution: ${RESOLUTION}
epochs: 1
batch_size: 4
ngf: 4
ndf: 4
z_dim: 8
grid_size: 2
swd_samples: 0
ema: 0.9
dataset:
  kind: cartoon-faces
  count: 16
`;

let dir: string;
let checkpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ganboard-interpolate-"));
  process.env.GANBOARD_HOME = path.join(dir, "home"); // dataset cache
  await writeFile(path.join(dir, "tiny.yaml"), TINY);
  // What `ganboard train` writes: the engine's own checkpoint after one epoch.
  const summary = await trainLocally(path.join(dir, "tiny.yaml"), { out: path.join(dir, "run"), backend: "wasm", stream: devNull() });
  expect(summary).toMatchObject({ stopped: false, epoch: 1 });
  checkpoint = path.join(dir, "run", "checkpoint-final.bin");
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, "apps/cli/bin/ganboard.mjs"), ...args], { cwd: dir, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

/** Width and height from a PNG's IHDR chunk (bytes 16–23, big-endian). */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString()).toBe("PNG");
  expect(png.subarray(12, 16).toString()).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("ganboard interpolate", () => {
  it("renders a strip of N frames from a training checkpoint (width = frames × resolution without padding)", async () => {
    const { code, stderr } = await runCli(["interpolate", checkpoint, "--seeds", "3,4", "--frames", "5", "--padding", "0", "--out", "strips/walk.png", "--backend", "wasm"]);
    expect(stderr).toMatch(/wrote strips\/walk\.png: 5 frames of 32px \(160×32\), seed 3 → 4, checkpoint at step \d+, backend wasm/);
    expect(code).toBe(0);
    expect(pngSize(await readFile(path.join(dir, "strips", "walk.png")))).toEqual({ width: 5 * RESOLUTION, height: RESOLUTION });
  }, 60_000);

  it("defaults: 8 frames, seeds 1,2, padded like the sample grids, written to interpolation-1-2.png", async () => {
    const { code, stderr } = await runCli(["interpolate", checkpoint, "--backend", "wasm"]);
    expect(stderr).toContain("wrote interpolation-1-2.png: 8 frames");
    expect(code).toBe(0);
    expect(pngSize(await readFile(path.join(dir, "interpolation-1-2.png")))).toEqual({ width: 8 * RESOLUTION + 9 * 2, height: RESOLUTION + 2 * 2 });
  }, 60_000);

  it("bad input is a one-line message and a non-zero exit, with no stack trace", async () => {
    const truncated = path.join(dir, "truncated.bin");
    const bytes = await readFile(checkpoint);
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await writeFile(path.join(dir, "notes.txt"), "not a checkpoint at all\n");
    const cases: [string[], RegExp][] = [
      [["interpolate", "missing.bin"], /^ganboard: cannot read checkpoint missing\.bin: no such file\n$/],
      [["interpolate", "truncated.bin", "--backend", "wasm"], /^ganboard: truncated\.bin: checkpoint is truncated: \d+ bytes, expected \d+\n$/],
      [["interpolate", "notes.txt"], /^ganboard: notes\.txt: not a ganboard checkpoint \(bad magic bytes\)\n$/],
      [["interpolate", checkpoint, "--seeds", "1"], /argument '1' is invalid\. expected two seeds as A,B/],
      [["interpolate", checkpoint, "--frames", "1"], /argument '1' is invalid\. expected an integer from 2 to 256/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(args);
      expect(stderr, args.join(" ")).toMatch(message);
      expect(stderr, args.join(" ")).not.toMatch(/\n\s+at /);
      expect(code, args.join(" ")).not.toBe(0);
    }
  }, 120_000);

  it("in process: the strip's step and size come from the checkpoint; seeds parse strictly", async () => {
    const header = readCheckpointHeader(new Uint8Array(await readFile(checkpoint)));
    const result = await interpolateCheckpoint(checkpoint, { seeds: [5, 6], frames: 3, out: path.join(dir, "in-process.png"), backend: "wasm" });
    expect(result).toMatchObject({ frames: 3, resolution: RESOLUTION, width: 3 * RESOLUTION + 4 * 2, height: RESOLUTION + 4, step: header.step });
    expect(pngSize(await readFile(result.out))).toEqual({ width: result.width, height: result.height });
    expect(parseSeeds("7, 8")).toEqual([7, 8]);
    for (const bad of ["1", "1,2,3", "a,b", "-1,2", "1.5,2", "4294967296,1"]) expect(() => parseSeeds(bad), bad).toThrow(/seeds|two seeds/);
  }, 60_000);
});
