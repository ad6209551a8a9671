import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { Command } from "commander";
import { formatEvalReport, register, runEval } from "./eval.ts";
import { blobImages, withNoise } from "../../../../packages/gan/src/metrics/testing-images.ts";
import { writeTinyGraphModel } from "../../../../packages/gan/src/metrics/testing-models.ts";
import type { ImageBatch } from "../../../../packages/gan/src/metrics/images.ts";

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, "../../bin/ganboard.mjs");
let root = "";
let env: NodeJS.ProcessEnv = {};

async function writeFolder(dir: string, set: ImageBatch): Promise<void> {
  await mkdir(dir, { recursive: true });
  const size = set.resolution * set.resolution * 3;
  for (let i = 0; i < set.count; i++) {
    const raw = Buffer.from(set.pixels.subarray(i * size, (i + 1) * size));
    await sharp(raw, { raw: { width: set.resolution, height: set.resolution, channels: 3 } }).png().toFile(join(dir, `img-${String(i).padStart(3, "0")}.png`));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ganboard-eval-"));
  env = { ...process.env, GANBOARD_HOME: join(root, "home"), GANBOARD_INCEPTION_MODEL: "" };
  process.env.GANBOARD_HOME = env.GANBOARD_HOME;
  await writeFolder(join(root, "real"), blobImages(24, 40, 1));
  await writeFolder(join(root, "fake"), withNoise(blobImages(20, 40, 2), 25, 3));
  await mkdir(join(root, "empty"));
  await writeFolder(join(root, "tiny"), blobImages(1, 40, 4));
  await writeTinyGraphModel(join(root, "model"), { inputRange: [0, 255] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("ganboard eval", () => {
  it("prints one JSON object with SWD per level, MS-SSIM of each folder and why FID was skipped", async () => {
    const { stdout } = await run(process.execPath, [cli, "eval", join(root, "real"), join(root, "fake"), "--resolution", "32", "--json"], { env, timeout: 120_000 });
    const lines = stdout.trim().split("\n");
    expect(lines.length).toBe(1);
    const result = JSON.parse(lines[0]);
    expect(Object.keys(result).sort()).toEqual(["a", "b", "backend", "feature_model", "fid", "fid_skipped", "kid", "resolution", "samples", "seconds", "seed", "swd", "warnings"]);
    expect(Object.keys(result.swd.levels).sort()).toEqual(["16", "32"]);
    expect(result.swd.mean).toBeGreaterThan(0);
    expect(result.samples).toBe(20);
    expect(result.a).toMatchObject({ images: 24, used: 20 });
    expect(result.b).toMatchObject({ images: 20, used: 20 });
    for (const side of [result.a, result.b]) {
      expect(side.ms_ssim).toBeGreaterThan(0);
      expect(side.ms_ssim).toBeLessThan(1);
      expect(side.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(result.fid).toBeNull();
    expect(result.kid).toBeNull();
    expect(result.fid_skipped).toMatch(/--inception PATH or set GANBOARD_INCEPTION_MODEL/);
    expect(result.warnings.join(" ")).toMatch(/differ in size \(24 vs 20\)/);
  });

  it("adds FID and KID with a configured feature model, and the report says what it measured", async () => {
    const result = await runEval(join(root, "real"), join(root, "fake"), { resolution: 32, samples: 16, seed: 1, inception: join(root, "model") });
    expect(result.samples).toBe(16);
    expect(result.fid).not.toBeNull();
    expect(result.fid as number).toBeGreaterThan(0);
    expect(result.kid?.subset_size).toBe(16);
    expect(result.fid_skipped).toBeNull();
    expect(result.feature_model).toMatch(/model/);
    expect(result.warnings.join(" ")).toMatch(/strongly biased/);
    const same = await runEval(join(root, "real"), join(root, "real"), { resolution: 32, samples: 24, seed: 1, inception: join(root, "model") });
    expect(same.swd.mean).toBe(0);
    expect(Math.abs(same.fid as number)).toBeLessThan(1e-6);
    const report = formatEvalReport(result);
    expect(report).toMatch(/SWD ×1e3/);
    expect(report).toMatch(/32px/);
    expect(report).toMatch(/FID +\d/);
    expect(report).toMatch(/KID +-?\d/);
  });

  it("fails with a clear message and exit code 1 for folders it cannot use", async () => {
    // One real process for the exit code and stderr; the other cases in-process (each CLI start costs seconds).
    const missing = await run(process.execPath, [cli, "eval", join(root, "nope"), join(root, "fake"), "--resolution", "32"], { env, timeout: 120_000 }).then(
      () => {
        throw new Error("expected ganboard eval on a missing folder to fail");
      },
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope/);
    await expect(runEval(join(root, "real"), join(root, "empty"), { resolution: 32, seed: 0 })).rejects.toThrow(/contains no PNG, JPEG or WebP/);
    await expect(runEval(join(root, "real"), join(root, "fake"), { resolution: 32, seed: 0, samples: 50 })).rejects.toThrow(/--samples 50 is more than the folders hold/);
    await expect(runEval(join(root, "real"), join(root, "fake"), { resolution: 8, seed: 0 })).rejects.toThrow(/--resolution must be an integer of at least 16/);
    await expect(runEval(join(root, "real"), join(root, "fake"), { resolution: 32, seed: 0, backend: "gpu9000" })).rejects.toThrow(/not a backend/);
    await expect(runEval(join(root, "real"), join(root, "tiny"), { resolution: 32, seed: 0 })).rejects.toThrow(/at least 2 usable images/);
    await expect(runEval(join(root, "real"), join(root, "fake"), { resolution: 32, seed: 0, inception: join(root, "no-model") })).rejects.toThrow(/Feature model not found/);
    await writeFile(join(root, "bad.json"), "not json");
    await expect(runEval(join(root, "real"), join(root, "fake"), { resolution: 32, seed: 0, inception: join(root, "bad.json") })).rejects.toThrow(/Cannot read the TF.js model/);
  });

  it("rejects bad option values at the command line", async () => {
    const program = new Command("ganboard").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program);
    await expect(program.parseAsync(["node", "ganboard", "eval", "a", "b", "--resolution", "8"])).rejects.toThrow(/--resolution must be an integer ≥ 16/);
    await expect(program.parseAsync(["node", "ganboard", "eval", "a", "b", "--samples", "x"])).rejects.toThrow(/--samples must be an integer/);
    await expect(program.parseAsync(["node", "ganboard", "eval", "a"])).rejects.toThrow(/missing required argument/);
  });
});
