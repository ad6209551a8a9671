/** Shared pieces of the runner tests: real runner processes against a real test database. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TrainConfigInput } from "@ganboard/gan/config";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const cli = path.join(repoRoot, "apps/cli/bin/ganboard.mjs");

/** A model small enough that a trial takes seconds: 32px, width 4, 16 faces, batch 4 (4 steps per epoch), no per-epoch SWD. */
export function tinyConfig(overrides: TrainConfigInput = {}): TrainConfigInput {
  return {
    dataset: { kind: "cartoon-faces", count: 16, seed: 0 },
    resolution: 32,
    epochs: 2,
    batch_size: 4,
    ngf: 4,
    ndf: 4,
    z_dim: 8,
    grid_size: 2,
    swd_samples: 0,
    checkpoint_every: 1,
    backend: "wasm",
    ...overrides,
  };
}

/** One GANBOARD_HOME per test file, so the rendered dataset cache is shared by its runners. */
export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-runner-test-"));
}

export interface RunnerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const spawned = new Set<ChildProcess>();

/** Kills every runner a test left behind, so one failure cannot leak workers into the next test. */
export async function killLeftoverRunners(): Promise<void> {
  await Promise.all(
    [...spawned].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  spawned.clear();
}

export function spawnRunner(databaseUrl: string, home: string, args: string[] = [], env: Record<string, string> = {}): RunnerProcess {
  const child = spawn(process.execPath, [cli, "runner", "--database-url", databaseUrl, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      GANBOARD_HOME: home,
      GANBOARD_HEARTBEAT_MS: "1000",
      GANBOARD_POLL_MS: "2000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  spawned.add(child);
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
