/**
 * `ganboard sweep create|list|show|stop` as a person runs them, against a real database: a bad file
 * gets every problem with its line and creates nothing; the example sweep files all parse and create.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSweeps } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { cliEnv, repoRoot, runCli } from "../helpers/cli.ts";

let t: TestDatabase;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-sweep-cli-"));
const env = () => cliEnv({ DATABASE_URL: t.url, GANBOARD_URL: "http://127.0.0.1:4321", GANBOARD_HOME: dir });
const cli = (...args: string[]) => runCli(["sweep", ...args], { env: env() });

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("ganboard sweep", () => {
  it("create (each example), list, show, stop", async () => {
    const ids: Record<string, string> = {};
    for (const name of ["quickstart", "anime-faces-tpe", "pbt"]) {
      const r = await cli("create", path.join(repoRoot, "examples/sweeps", `${name}.yaml`));
      expect(r.code, r.stderr).toBe(0);
      ids[name] = r.stdout.trim();
      expect(ids[name]).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.stderr).toContain(`http://127.0.0.1:4321/sweeps/${ids[name]}`);
    }
    expect((await listSweeps(t.sql)).map((s) => s.status)).toEqual(["running", "running", "running"]);

    // A trial of the quickstart sweep completed, one runs: show lists both with their parameters, best marked.
    const quick = ids.quickstart;
    await t.sql`insert into trials (sweep_id, number, config, status, objective, epoch) values
      (${quick}, 1, ${JSON.stringify({ lr_g: 0.0002, lr_d: 0.0003 })}::text::jsonb, 'completed', 120.5, 3),
      (${quick}, 2, ${JSON.stringify({ lr_g: 0.0004, lr_d: 0.0001 })}::text::jsonb, 'running', 150, 1),
      (${quick}, 3, ${JSON.stringify({ lr_g: 0.0001, lr_d: 0.0001 })}::text::jsonb, 'queued', null, 0)`;

    const list = await cli("list");
    expect(list.code, list.stderr).toBe(0);
    const line = list.stdout.split("\n").find((l) => l.startsWith(quick.slice(0, 8)))!;
    expect(line).toMatch(/quickstart-cartoon-lr\s+random\s+running\s+1\/4 \(1 running\)\s+swd 120\.5 \(#1\)/);

    const show = await cli("show", quick.slice(0, 8));
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain("best so far: trial #1, swd 120.5");
    expect(show.stdout).toMatch(/^#\s+STATUS\s+EPOCH\s+SWD\s+lr_d\s+lr_g\s+FROM$/m);
    expect(show.stdout).toMatch(/^1\*\s+completed\s+3\s+120\.5\s+3\.00e-4\s+2\.00e-4$/m);
    expect(show.stdout).toMatch(/^2\s+running\s+1\s+150\s+1\.00e-4\s+4\.00e-4$/m);

    const stop = await cli("stop", quick);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe("sweep stopped; 1 queued trial(s) cancelled; 1 running trial(s) will finish (--cancel-running stops them)");
    const stopAgain = await cli("stop", quick, "--cancel-running");
    expect(stopAgain.stdout.trim()).toBe("sweep stopped; 1 running trial(s) asked to stop");
    const [row] = await t.sql<{ status: string }[]>`select status from trials where sweep_id = ${quick} and number = 2`;
    expect(row.status).toBe("cancelling");

    const missing = await cli("show", "ffffffff");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no sweep with id ffffffff");
  });

  it("a bad file: every problem with file:line, exit 1, nothing created", async () => {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      ["name: bad", "method: tpe", "parameters:", "  lr_g: { distribution: log_uniform, min: 0.1, max: 0.01 }", "  batch_size: [0, 32]", "base: { epochs: 2 }", "seed: 0", ""].join("\n"),
    );
    const before = (await listSweeps(t.sql)).length;
    const r = await cli("create", file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${file} is not a valid sweep`);
    expect(r.stderr).toContain("nothing was created");
    expect(r.stderr).toMatch(new RegExp(`${file}:4: parameters\\.lr_g`));
    expect(r.stderr).toMatch(new RegExp(`${file}:5: parameters\\.batch_size`));
    expect(r.stderr).toMatch(/run_cap/);
    expect((await listSweeps(t.sql)).length).toBe(before);

    const missing = await cli("create", path.join(dir, "nope.yaml"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
  });
});
