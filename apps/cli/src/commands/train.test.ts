import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, readCheckpointHeader } from "@ganboard/gan";
import { repoRoot } from "../lib/paths.ts";
import { loadTrainConfigFile, trainLocally } from "./train.ts";

let dir: string;
const TINY = `# tiny run for tests
resolution: 32
epochs: 2
batch_size: 4
ngf: 4
ndf: 4
z_dim: 8
grid_size: 2
swd_samples: 8
dataset:
  kind: cartoon-faces
  count: 24
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ganboard-train-"));
  process.env.GANBOARD_HOME = path.join(dir, "home"); // dataset cache shared by in-process runs and the child
  await writeFile(path.join(dir, "tiny.yaml"), TINY);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runCli(args: string[], opts: { onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, "apps/cli/bin/ganboard.mjs"), ...args], { cwd: dir, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      opts.onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

const readJsonl = async (file: string) =>
  (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; step?: number; epoch?: number; [k: string]: unknown });

describe("ganboard train", () => {
  it("validates configs with field-level errors", async () => {
    const bad = path.join(dir, "bad.yaml");
    await writeFile(bad, "resolution: 48\nlr_g: -1\nbogus: 1\ndataset:\n  kind: folder\n");
    const error = await loadTrainConfigFile(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).fields.map((f) => f.path).sort();
    expect(paths).toEqual(expect.arrayContaining(["resolution", "lr_g", "dataset.path"]));
    expect((error as Error).message).toContain(bad);
    await writeFile(bad, "resolution: [32\n");
    await expect(loadTrainConfigFile(bad)).rejects.toThrow(/not valid YAML \(line \d+, column \d+\)/);
    await expect(loadTrainConfigFile(path.join(dir, "missing.yaml"))).rejects.toThrow(/no such file/);
    const json = path.join(dir, "ok.json");
    await writeFile(json, JSON.stringify({ resolution: 32, epochs: 3 }));
    expect((await loadTrainConfigFile(json, { backend: "cpu" })).backend).toBe("cpu");
  });

  it("trains from the command line and writes metrics.jsonl, grids, timelapse.gif and checkpoints", async () => {
    const { code, stderr } = await runCli(["train", "tiny.yaml", "--out", "run", "--backend", "wasm"]);
    expect(stderr).toContain("finished: 2 epochs, 12 steps");
    expect(code).toBe(0);
    const out = path.join(dir, "run");
    expect((await readdir(path.join(out, "grids"))).sort()).toEqual(["epoch-001.png", "epoch-002.png"]);
    expect((await readFile(path.join(out, "grids/epoch-002.png"))).subarray(1, 4).toString()).toBe("PNG");
    expect((await readFile(path.join(out, "timelapse.gif"))).subarray(0, 6).toString()).toBe("GIF89a");
    expect(readCheckpointHeader(new Uint8Array(await readFile(path.join(out, "checkpoint-final.bin"))))).toMatchObject({ step: 12 });
    expect(existsSync(path.join(out, "checkpoint-latest.bin"))).toBe(true);
    const records = await readJsonl(path.join(out, "metrics.jsonl"));
    expect(records[0]).toMatchObject({ type: "started", backend: { name: "wasm" }, dataset: { count: 24 } });
    expect(records.filter((r) => r.type === "step").map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const epochs = records.filter((r) => r.type === "epoch");
    expect(epochs.map((r) => r.epoch)).toEqual([1, 2]);
    expect(epochs[1]).toHaveProperty("swd");
    expect(epochs[1]).toHaveProperty("swd_floor");
    expect(records.find((r) => r.type === "step")).toHaveProperty("loss_d");
  });

  it("stops with a checkpoint and resumes without logging any step twice", async () => {
    const out = path.join(dir, "resume");
    const cfg = path.join(dir, "tiny.yaml");
    const first = await trainLocally(cfg, { out, backend: "wasm", stopAfterSteps: 3 });
    expect(first).toMatchObject({ stopped: true, step: 3 });
    // a crash after the checkpoint may have logged more steps; resuming drops them
    await writeFile(path.join(out, "metrics.jsonl"), `${JSON.stringify({ type: "step", epoch: 1, step: 4, loss_d: 9 })}\n`, { flag: "a" });
    const second = await trainLocally(cfg, { out, backend: "wasm", resume: path.join(out, "checkpoint-latest.bin") });
    expect(second).toMatchObject({ stopped: false, step: 12, epoch: 2 });
    const records = await readJsonl(path.join(out, "metrics.jsonl"));
    expect(records.filter((r) => r.type === "step").map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(records.find((r) => r.step === 4)!.loss_d).not.toBe(9);
    expect((await readdir(path.join(out, "grids"))).filter((n) => n.startsWith("epoch-"))).toHaveLength(2);
  });

  it("Ctrl-C finishes the step, saves a checkpoint and exits 130", async () => {
    let sent = false;
    const { code, stderr } = await runCli(["train", "tiny.yaml", "--out", "interrupted", "--backend", "wasm"], {
      onStderr: (text, child) => {
        if (!sent && /step 1\/12/.test(text)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(stderr).toMatch(/stopped at epoch 1, step \d+; checkpoint saved/);
    expect(code).toBe(130);
    const header = readCheckpointHeader(new Uint8Array(await readFile(path.join(dir, "interrupted", "checkpoint-latest.bin"))));
    expect(header.step).toBeGreaterThanOrEqual(1);
    expect(header.step).toBeLessThan(12);
  });
});
