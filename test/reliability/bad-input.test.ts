/**
 * Bad input through the real entry points: the API's sweep create (the dashboard form and scripts),
 * `ganboard run FILE`, a runner handed folder datasets that cannot be used, API calls with malformed
 * ids, and names carrying SQL or HTML. Each case asserts its specific message and that nothing was
 * half-written (row counts of every table before and after).
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { appRouter, createCallerFactory } from "@ganboard/api";
import { enqueueTrial, getTrial, maskUrl, registerRunner } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { cliEnv, hasStackTrace, runCli } from "../helpers/cli.ts";
import { killLeftoverRunners, spawnRunner, tempHome, tinyConfig } from "../runner/helpers.ts";
import { rowCounts } from "./helpers.ts";

let t: TestDatabase;
const createCaller = createCallerFactory(appRouter);
let caller: ReturnType<typeof createCaller>;
const home = tempHome();

beforeAll(async () => {
  t = await createTestDatabase();
  caller = createCaller({ sql: t.sql, db: t.db, database: { maskedUrl: maskUrl(t.url), embedded: false } });
});
afterAll(async () => {
  await killLeftoverRunners();
  await t?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

/** Runs `attempt` and checks that no table gained or lost a row. */
async function writesNothing<T>(attempt: () => Promise<T>): Promise<T> {
  const before = await rowCounts(t.sql);
  const result = await attempt();
  expect(await rowCounts(t.sql)).toEqual(before);
  return result;
}

const validSpec = {
  name: "valid",
  method: "random",
  run_cap: 4,
  base: { resolution: 32, epochs: 1 },
  parameters: { lr_g: { distribution: "log_uniform", min: 1e-4, max: 1e-3 } },
};

describe("sweep specs through the API (sweeps.create)", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["unknown method", { ...validSpec, method: "bayes" }, "method", /unknown method "bayes"; allowed: grid, random, tpe, pbt/],
    ["min > max", { ...validSpec, parameters: { lr_g: { distribution: "uniform", min: 0.1, max: 0.01 } } }, "parameters.lr_g.min", /must be < max \(got min 0\.1, max 0\.01\)/],
    ["log range with 0", { ...validSpec, parameters: { lr_g: { distribution: "log_uniform", min: 0, max: 0.01 } } }, "parameters.lr_g.min", /log_uniform needs min > 0 \(got 0\)/],
    ["empty values", { ...validSpec, parameters: { loss: { values: [] } } }, "parameters.loss.values", /must list at least one value/],
    ["a string where a number goes", { ...validSpec, parameters: { lr_g: { distribution: "uniform", min: "a", max: 1 } } }, "parameters.lr_g.min", /expected number, got string "a"/],
    ["run_cap as text", { ...validSpec, run_cap: "ten" }, "run_cap", /expected number, got string "ten"/],
    ["unknown parameter name", { ...validSpec, parameters: { lr_gg: { values: [1, 2] } } }, "parameters.lr_gg", /unknown setting "lr_gg" \(did you mean lr_g\?\)/],
    ["unknown top-level key", { ...validSpec, paramters: {} }, "paramters", /unknown key "paramters" \(did you mean parameters\?\)/],
    ["batch size 0 among the values", { ...validSpec, parameters: { batch_size: { values: [0, 32] } } }, "parameters.batch_size.values[0]", /batch_size 0 is rejected by the training config: must be ≥ 1/],
    ["resolution 48 among the values", { ...validSpec, parameters: { resolution: { values: [32, 48] } } }, "parameters.resolution.values[1]", /resolution must be 32, 64 or 128/],
    ["blank name", { ...validSpec, name: "   " }, "name", /must not be empty/],
    ["not a mapping", "method: grid", "(root)", /expected a mapping, got string/],
    ["run_cap 0", { ...validSpec, run_cap: 0 }, "run_cap", /must be ≥ 1 \(got 0\)/],
    ["random without run_cap", { ...validSpec, run_cap: undefined }, "run_cap", /required for method random/],
    ["grid over a continuous range", { ...validSpec, method: "grid" }, "parameters.lr_g.distribution", /grid search needs a finite set of values/],
    ["nothing to search", { ...validSpec, parameters: { lr_g: 0.001 } }, "parameters", /nothing to search: every parameter is fixed/],
  ];
  it.each(cases)("%s: refused with a field message, nothing stored", async (_name, spec, issuePath, message) => {
    const result = await writesNothing(() => caller.sweeps.create({ spec }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issues.find((i) => i.path === issuePath);
    expect(issue, JSON.stringify(result.issues)).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it("a huge grid over run_cap: stored with a warning saying only run_cap points run, and no trial is created up front", async () => {
    const before = await rowCounts(t.sql);
    const spec = {
      ...validSpec,
      name: "huge grid",
      method: "grid",
      run_cap: 3,
      parameters: { ngf: { distribution: "int_uniform", min: 1, max: 1000 }, ndf: { distribution: "int_uniform", min: 1, max: 1000 }, z_dim: { distribution: "int_uniform", min: 1, max: 1000 } },
    };
    const result = await caller.sweeps.create({ spec });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => w.message)).toContain("the grid has 1000000000 points but run_cap is 3: only the first 3 in grid order will run");
    expect(await rowCounts(t.sql)).toEqual({ ...before, sweeps: before.sweeps + 1 });
    await caller.sweeps.stop({ id: result.id, cancelRunning: true });
  });
});

describe("sweep files through `ganboard sweep create FILE`", () => {
  const dir = path.join(home, "sweeps");
  fs.mkdirSync(dir, { recursive: true });
  const cases: [string, string, RegExp][] = [
    ["an unclosed list", "name: x\nmethod: random\nrun_cap: 2\nparameters:\n  loss: [bce, hinge\n", /:6: \(yaml\): YAML syntax error at column 1: Flow sequence in block collection must be sufficiently indented and end with a \]/],
    ["a key indented under a value", "name: x\n  method: grid\n", /:1: \(yaml\): YAML syntax error at column 7: Nested mappings are not allowed in compact mappings/],
    ["a key given twice", "name: x\nmethod: grid\nmethod: random\n", /:3: \(yaml\): YAML syntax error at column 1: Map keys must be unique/],
    ["tabs as indentation", "name: x\nparameters:\n\tloss: [bce]\n", /:3: \(yaml\): YAML syntax error at column 1: Tabs are not allowed as indentation/],
    ["an empty file", "", /:1: \(root\): the file must be a mapping with name, method, parameters, \.\.\. \(got an empty file\)/],
  ];
  it.each(cases)("%s: the line and the problem, nothing created", async (name, yaml, message) => {
    const file = path.join(dir, `${name.replace(/\W+/g, "-")}.yaml`);
    fs.writeFileSync(file, yaml);
    const result = await writesNothing(() => runCli(["sweep", "create", file, "--database-url", t.url], { env: cliEnv({ GANBOARD_HOME: home }) }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file} is not a valid sweep`);
    expect(result.stderr).toContain("nothing was created");
    expect(result.stderr).toMatch(message);
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

describe("API calls with malformed ids", () => {
  const notFound = "0b9e2c6e-5a1d-4c39-9f0e-2f7d1c4b8a10";
  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    ["sweeps.get with SQL in the id", () => caller.sweeps.get({ id: "1'; drop table trials; --" }), "BAD_REQUEST", /not a sweep id: expected a UUID/],
    ["sweeps.stop with a number", () => caller.sweeps.stop({ id: 42 as unknown as string }), "BAD_REQUEST", /not a sweep id/],
    ["sweeps.get of a sweep that does not exist", () => caller.sweeps.get({ id: notFound }), "NOT_FOUND", /No sweep with id 0b9e2c6e/],
    ["sweeps.stop of a sweep that does not exist", () => caller.sweeps.stop({ id: notFound }), "NOT_FOUND", /nothing was stopped/],
    ["runs.view with a path", () => caller.runs.view({ id: "../../etc/passwd" }), "BAD_REQUEST", /Not a run id: "\.\.\/\.\.\/etc\/passwd"/],
    ["runs.cancel with an empty id", () => caller.runs.cancel({ id: "" }), "BAD_REQUEST", /Not a run id: ""/],
    ["runs.view of a run that does not exist", () => caller.runs.view({ id: notFound }), "NOT_FOUND", /0b9e2c6e/],
  ];
  it.each(cases)("%s: %s, nothing changed", async (_name, call, code, message) => {
    const error = await writesNothing(() => call().then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe(code);
    // Input validation errors carry zod's issues as their cause; the person reads those messages.
    const cause = (error as TRPCError).cause as { issues?: { message: string }[] } | undefined;
    const text = cause?.issues ? cause.issues.map((i) => i.message).join("; ") : (error as TRPCError).message;
    expect(text).toMatch(message);
    // Refused by validation, never a Postgres cast error leaking through.
    expect(text).not.toMatch(/invalid input syntax/);
  });
});

describe("names with SQL or HTML", () => {
  const names = [`Robert'); DROP TABLE trials; --`, `<img src=x onerror="alert(1)"><script>window.__pwned = 1</script> & "quotes"`];
  it.each(names)("stored and read back verbatim: %s", async (name) => {
    const created = await caller.sweeps.create({ spec: { ...validSpec, name } });
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    expect((await caller.sweeps.get({ id: created.id })).name).toBe(name);
    expect((await caller.sweeps.list()).find((s) => s.id === created.id)?.name).toBe(name);
    const [tables] = await t.sql<{ n: number }[]>`select count(*)::int as n from information_schema.tables where table_name = 'trials'`;
    expect(tables.n).toBe(1);
    await caller.sweeps.stop({ id: created.id, cancelRunning: true });
    // A runner name is shown on the runners page: stored verbatim too.
    await registerRunner(t.sql, { id: name, hostname: name, pid: 1, backend: "wasm", device: "cpu" });
    const [runner] = await t.sql<{ id: string; hostname: string }[]>`select id, hostname from runners where id = ${name}`;
    expect(runner).toEqual({ id: name, hostname: name });
  });
});

describe("training configs through `ganboard run FILE`", () => {
  const dir = path.join(home, "configs");
  fs.mkdirSync(dir, { recursive: true });
  const cases: [string, string, RegExp][] = [
    ["batch size 0", "batch_size: 0\nresolution: 32\n", /batch_size: Too small: expected number to be >=1|batch_size: .*(>=|≥) ?1/],
    ["resolution 48", "resolution: 48\n", /resolution: resolution must be 32, 64 or 128/],
    ["negative learning rate", "lr_g: -0.001\n", /lr_g: lr_g must be > 0/],
    ["YAML syntax error", "resolution: [32\nepochs: 2\n", /is not valid YAML\/JSON/],
  ];
  it.each(cases)("%s: refused naming the field and the file, nothing queued", async (name, yaml, message) => {
    const file = path.join(dir, `${name.replace(/\W+/g, "-")}.yaml`);
    fs.writeFileSync(file, yaml);
    const result = await writesNothing(() => runCli(["run", file, "--database-url", t.url], { env: cliEnv({ GANBOARD_HOME: home }) }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(file);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.stdout).toBe(""); // no trial id printed
  });
});

describe("image folders a runner cannot use", () => {
  it("each trial fails with its specific reason; nothing of it is recorded and no dataset cache is written", async () => {
    const data = path.join(home, "datasets");
    const mk = (name: string) => {
      const dir = path.join(data, name);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    };
    const png = (size: number) => sharp({ create: { width: size, height: size, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
    const empty = mk("empty");
    fs.writeFileSync(path.join(empty, "README.txt"), "images go here");
    const corrupt = mk("corrupt");
    const good = await png(64);
    fs.writeFileSync(path.join(corrupt, "truncated.png"), good.subarray(0, 40)); // PNG signature, cut short
    const notImage = mk("not-image");
    fs.writeFileSync(path.join(notImage, "face.png"), "this is text, not a PNG");
    const tiny = mk("tiny");
    for (const i of [0, 1, 2]) fs.writeFileSync(path.join(tiny, `dot-${i}.png`), await png(1));
    const loop = mk("loop");
    fs.symlinkSync("b.png", path.join(loop, "a.png"));
    fs.symlinkSync("a.png", path.join(loop, "b.png"));
    fs.symlinkSync(".", path.join(loop, "self")); // a directory loop is walked once, not forever
    const loopRoot = path.join(data, "loop-root");
    fs.symlinkSync("loop-root", loopRoot); // the dataset path itself loops
    const file = path.join(data, "one-file.png");
    fs.writeFileSync(file, good);
    const outside = fs.mkdtempSync(path.join(path.dirname(home), "ganboard-outside-"));
    fs.writeFileSync(path.join(outside, "secret.png"), good);

    const folder = (p: string) => tinyConfig({ dataset: { kind: "folder", path: p } });
    const cases: [string, string, RegExp][] = [
      ["missing", path.join(data, "nope"), /Image folder not found: .*\/datasets\/nope \(check the dataset path\)/],
      ["empty", empty, /contains no PNG, JPEG or WebP files \(1 other files ignored\)/],
      ["corrupt", corrupt, /has 1 image files but none could be used \(1 corrupt, 0 not images, 0 too small/],
      ["not an image", notImage, /has 1 image files but none could be used \(0 corrupt, 1 not images, 0 too small/],
      ["1×1 images", tiny, /has 3 image files but none could be used \(0 corrupt, 0 not images, 3 too small; images must be at least 16px/],
      ["symlink loops", loop, /contains no PNG, JPEG or WebP files \(2 entries unreadable: broken or looping links/],
      ["the path is a link loop", loopRoot, /is a symlink loop/],
      ["a file, not a folder", file, /is a file, not a folder/],
      ["outside the data roots", outside, /is outside the allowed data roots/],
      ["path traversal out of the roots", `${data}/../../../../../../../../etc`, /Image folder \/etc is outside the allowed data roots/],
    ];
    const ids: string[] = [];
    for (const [, p] of cases) ids.push((await enqueueTrial(t.sql, { config: folder(p) })).id);
    const before = await rowCounts(t.sql);
    const runner = spawnRunner(t.url, home, ["--once", "--name", "bad-folders"], { GANBOARD_DATA_ROOTS: "" });
    expect(await runner.exited, runner.output()).toBe(0);
    for (const [i, [name, , message]] of cases.entries()) {
      const trial = await getTrial(t.sql, ids[i]);
      expect(trial?.status, name).toBe("failed");
      expect(trial?.error, name).toMatch(message);
    }
    // Nothing of the failed trials was recorded beyond their logs and the runner's row.
    const after = await rowCounts(t.sql);
    expect(after).toMatchObject({ sweeps: before.sweeps, trials: before.trials, metrics: before.metrics, samples: before.samples, checkpoints: before.checkpoints });
    const cache = path.join(home, "cache", "datasets");
    expect(fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).filter((f) => String(f).includes("folder")) : []).toEqual([]);
    expect(runner.output()).not.toContain("secret.png");
    fs.rmSync(outside, { recursive: true, force: true });
  });
});
