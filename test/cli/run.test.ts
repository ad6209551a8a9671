/**
 * `ganboard run CONFIG [--local]` against a real database: without --local the run is queued for a
 * runner; with --local this process trains it itself, even while an idle runner waits on the same
 * database (it used to claim the run first, and the local process exited 0 without training).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { getTrial } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { cliEnv, runCli } from "../helpers/cli.ts";
import { killLeftoverRunners, spawnRunner, tempHome, tinyConfig, waitFor } from "../runner/helpers.ts";

let t: TestDatabase;
const home = tempHome();
const env = () => cliEnv({ DATABASE_URL: t.url, GANBOARD_HOME: home, GANBOARD_HEARTBEAT_MS: "1000" });

function writeConfig(name: string, config: object): string {
  const file = path.join(home, name);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterEach(killLeftoverRunners);
afterAll(async () => {
  await t?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

async function metricRows(trialId: string): Promise<number> {
  const [row] = await t.sql<{ n: number }[]>`select count(*)::int as n from metrics where trial_id = ${trialId} and key = 'loss_d'`;
  return row.n;
}

describe("ganboard run", () => {
  it("queues the run (no sweep, the validated config stored) and prints its id", async () => {
    const file = writeConfig("queued.yaml", tinyConfig({ epochs: 1, seed: 3 }));
    const r = await runCli(["run", file], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toMatch(/Queued run #\d+\. A runner/);
    const [row] = await t.sql<{ status: string; sweep_id: string | null; attempt: number; runner_id: string | null; config: Record<string, unknown> }[]>`
      select status, sweep_id, attempt, runner_id, config from trials where id = ${id}`;
    expect(row).toMatchObject({ status: "queued", sweep_id: null, attempt: 0, runner_id: null });
    // The file's fields, plus the defaults the schema filled in.
    expect(row.config).toMatchObject({ ...tinyConfig({ epochs: 1, seed: 3 }), loss: "bce", lr_g: 2e-4 });
  });

  it("--local trains the run in this process to completion, even with an idle runner waiting on the database", async () => {
    const idle = spawnRunner(t.url, home, ["--name", "idle-runner"]);
    await waitFor("the idle runner to wait for work", async () => /waiting for queued trials/.test(idle.output()), 60_000);

    const file = writeConfig("local.yaml", tinyConfig({ epochs: 2 }));
    const r = await runCli(["run", file, "--local"], { env: env(), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const trial = await getTrial(t.sql, id);
    expect(trial).toMatchObject({ status: "completed", sweepId: null, attempt: 1, epoch: 2, step: 8 });
    expect(await metricRows(id)).toBe(8);
    // The local process's runner trained it (its id is the one it announced), not the idle one.
    const localRunner = /runner (\S+) ready on/.exec(r.stderr)?.[1];
    expect(localRunner, r.stderr).toBeDefined();
    expect(trial?.runnerId).toBe(localRunner);
    expect(r.stderr).toContain(`trial #${trial?.number} completed`);
    const starts = await t.sql<{ message: string }[]>`select message from trial_logs where trial_id = ${id} and message like 'attempt %'`;
    expect(starts.map((s) => s.message)).toEqual([`attempt 1 on ${localRunner}: starting`]);
    expect(idle.output()).not.toContain(id);
    // The idle runner was never given it and is still waiting.
    expect(idle.child.exitCode).toBeNull();
  });

  it("--local exits 1 with the reason when the run fails", async () => {
    const file = writeConfig("bad-data.yaml", tinyConfig({ dataset: { kind: "folder", path: path.join(home, "no-such-folder") } }));
    const r = await runCli(["run", file, "--local"], { env: env(), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const id = r.stdout.trim();
    expect(r.stderr).toMatch(/run failed: /);
    expect((await getTrial(t.sql, id))?.status).toBe("failed");
  });
});
