import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TrainConfigSchema } from "@ganboard/gan/config";
import { formatIssue, parseSweepSpec, parseSweepYaml, safeParseSweepSpec, safeParseSweepYaml, SweepSpecError, toYaml } from "./spec.ts";
import { SEARCHABLE_SETTINGS } from "./settings.ts";
import { resolveTrialConfig, suggestNext } from "./strategies.ts";

const valid = {
  name: "lr sweep",
  method: "random",
  run_cap: 10,
  parameters: {
    lr_g: { distribution: "log_uniform", min: 1e-5, max: 1e-3 },
    loss: { values: ["bce", "hinge"] },
  },
  base: { resolution: 32, epochs: 5 },
};

/** The formatted issues of an invalid spec (fails the test if the spec is valid). */
function issuesOf(patch: Record<string, unknown>, base: Record<string, unknown> = valid): string[] {
  const result = safeParseSweepSpec({ ...base, ...patch });
  if (result.success) throw new Error(`expected an invalid spec: ${JSON.stringify(patch)}`);
  return result.issues.map(formatIssue);
}

const withParams = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => issuesOf({ parameters, ...extra });

describe("sweep spec: every invalid spec says where, what is wrong and what is allowed", () => {
  const cases: Array<[string, () => string[], string]> = [
    ["min ≥ max", () => withParams({ lr_g: { distribution: "uniform", min: 0.1, max: 0.01 } }), "parameters.lr_g.min: must be < max (got min 0.1, max 0.01)"],
    ["unknown parameter name lists the allowed ones", () => withParams({ lr: { values: [1e-4, 2e-4] } }), 'parameters.lr: unknown setting "lr" (did you mean lr_d or lr_g?); allowed: backend, batch_size, beta1, beta2'],
    ["log range with 0", () => withParams({ lr_g: { distribution: "log_uniform", min: 0, max: 0.01 } }), "parameters.lr_g.min: log_uniform needs min > 0 (got 0)"],
    ["empty values", () => withParams({ loss: { values: [] } }), "parameters.loss.values: must list at least one value"],
    [
      "grid over a continuous distribution",
      () => issuesOf({ method: "grid" }),
      "parameters.lr_g.distribution: grid search needs a finite set of values, but log_uniform over [0.00001, 0.001] is continuous; use values: [...], int_uniform, or add q",
    ],
    ["unknown method", () => issuesOf({ method: "bayes" }), 'method: unknown method "bayes"; allowed: grid, random, tpe, pbt'],
    ["wrong type", () => issuesOf({ run_cap: "ten" }), 'run_cap: expected number, got string "ten"'],
    ["batch_size 0 rejected by TrainConfig", () => withParams({ batch_size: { values: [0, 32] } }), "parameters.batch_size.values[0]: batch_size 0 is rejected by the training config: must be ≥ 1 (got 0)"],
    [
      "resolution 48 rejected by TrainConfig",
      () => withParams({ resolution: { values: [32, 48] } }),
      "parameters.resolution.values[1]: resolution 48 is rejected by the training config: resolution must be 32, 64 or 128",
    ],
    ["distribution bound rejected by TrainConfig", () => withParams({ beta1: { distribution: "uniform", min: 0.5, max: 1.5 } }), "parameters.beta1.max: beta1 1.5 is rejected by the training config: must be < 1 (got 1.5)"],
    ["random needs run_cap", () => issuesOf({ run_cap: undefined }), "run_cap: required for method random: how many trials to run in total"],
    ["q_uniform needs q", () => withParams({ label_smoothing: { distribution: "q_uniform", min: 0, max: 0.3 } }), "parameters.label_smoothing.q: required for q_uniform"],
    ["int_uniform needs whole numbers", () => withParams({ ngf: { distribution: "int_uniform", min: 15.5, max: 64 } }), "parameters.ngf.min: int_uniform needs a whole number (got 15.5)"],
    ["distribution over a choice", () => withParams({ loss: { distribution: "uniform", min: 0, max: 1 } }), "parameters.loss.distribution: loss is a choice (bce, lsgan, hinge), not a number; use values: [bce, lsgan]"],
    ["fractions for a whole-number setting", () => withParams({ ngf: { distribution: "uniform", min: 16, max: 64 } }), "parameters.ngf.distribution: ngf takes whole numbers; uniform without a whole-number q would give fractions"],
    ["duplicate values", () => withParams({ batch_size: { values: [32, 64, 32] } }), "parameters.batch_size.values[2]: duplicate of values[0] (32); each value once"],
    ["misspelt top-level key", () => issuesOf({ runcap: 10 }), 'runcap: unknown key "runcap" (did you mean run_cap?); allowed: name, description, method, metric, parameters, base'],
    ["unknown key in a parameter", () => withParams({ lr_g: { distribution: "uniform", min: 0.001, maximum: 0.01 } }), 'parameters.lr_g.maximum: unknown key "maximum"'],
    ["two kinds at once", () => withParams({ lr_g: { value: 0.001, values: [0.001, 0.002] } }), "parameters.lr_g: give only one of value, values or distribution (got value and values)"],
    ["base rejected by TrainConfig", () => issuesOf({ base: { resolution: 48 } }), "base.resolution: resolution must be 32, 64 or 128"],
    ["misspelt base setting", () => issuesOf({ base: { z_dm: 64 } }), 'base.z_dm: unknown training setting "z_dm" (did you mean z_dim?)'],
    ["dataset is not searchable", () => withParams({ dataset: { values: ["a", "b"] } }), "parameters.dataset: the dataset cannot be searched; set it under base.dataset"],
    ["PBT settings with another method", () => issuesOf({ pbt: { population: 4 } }), "pbt: PBT settings only apply to method pbt (this sweep uses random)"],
    [
      "PBT cannot mutate a shape-changing setting",
      () => issuesOf({ method: "pbt", parameters: { lr_g: valid.parameters.lr_g, ngf: { values: [32, 64] } }, pbt: { mutate: ["ngf"] } }),
      "pbt.mutate[0]: ngf cannot change in the middle of a run",
    ],
    ["PBT interval beyond the run", () => issuesOf({ method: "pbt", pbt: { interval: 5 } }), "pbt.interval: must be < epochs (5), or no trial ever reaches a PBT step (got 5)"],
    ["early stopping that can never happen", () => issuesOf({ early_terminate: { type: "asha", min_epochs: 5 } }), "early_terminate.min_epochs: must be < epochs (5)"],
    ["unknown early_terminate type", () => issuesOf({ early_terminate: { type: "hyperband" } }), 'early_terminate.type: unknown type "hyperband"; allowed: asha, median'],
    ["nothing to search", () => withParams({ lr_g: { value: 0.001 } }), "parameters: nothing to search: every parameter is fixed"],
    ["step larger than the range", () => withParams({ label_smoothing: { distribution: "q_uniform", min: 0, max: 0.1, q: 0.2 } }), "parameters.label_smoothing.q: step 0.2 is larger than the range [0, 0.1]"],
    ["unknown goal", () => issuesOf({ metric: { goal: "min" } }), 'metric.goal: unknown goal "min"; allowed: minimize, maximize'],
    ["quantile above one half", () => issuesOf({ method: "pbt", pbt: { quantile: 0.6 } }), "pbt.quantile: must be ≤ 0.5 (got 0.6)"],
    ["missing name", () => issuesOf({ name: undefined }), "name: required (expected string)"],
    ["missing method", () => issuesOf({ method: undefined }), "method: required; allowed: grid, random, tpe, pbt"],
    ["unknown dataset kind", () => issuesOf({ base: { dataset: { kind: "webdataset" } } }), 'base.dataset.kind: Invalid discriminator value. Expected \'cartoon-faces\' | \'folder\' (got "webdataset")'],
    ["folder dataset without a path", () => issuesOf({ base: { dataset: { kind: "folder" } } }), "base.dataset.path: required (expected string)"],
    ["parameters as a list", () => issuesOf({ parameters: ["lr_g"] }), "parameters: expected a mapping, got a list"],
    ["a null parameter value", () => withParams({ lr_g: { value: null } }), "parameters.lr_g.value: expected a number, string or boolean (got null)"],
  ];
  for (const [title, run, expected] of cases) {
    it(title, () => {
      const issues = run();
      expect(issues.some((i) => i.includes(expected)), `expected an issue containing\n  ${expected}\ngot\n  ${issues.join("\n  ")}`).toBe(true);
    });
  }

  it("rejects a spec that is not a mapping", () => {
    for (const [input, got] of [[null, "null"], ["x", 'string "x"'], [[], "a list"]] as const) {
      const result = safeParseSweepSpec(input);
      expect(result.success).toBe(false);
      if (!result.success) expect(result.issues).toEqual([{ path: "(root)", message: `expected a mapping, got ${got}` }]);
    }
  });

  it("reports several independent problems at once", () => {
    const issues = withParams({ lr_g: { distribution: "uniform", min: 0.1, max: 0.01 }, foo: 1, batch_size: { values: [0] } });
    expect(issues.length).toBeGreaterThanOrEqual(3);
  });

  it("throws a SweepSpecError whose message lists every issue", () => {
    expect(() => parseSweepSpec({ ...valid, method: "bayes" }, "my.yaml")).toThrow(SweepSpecError);
    expect(() => parseSweepSpec({ ...valid, method: "bayes" }, "my.yaml")).toThrow(/Invalid sweep spec in my\.yaml:\n {2}- method: unknown method "bayes"/);
  });
});

describe("sweep spec: valid specs, defaults, shorthands and warnings", () => {
  it("fills defaults and accepts shorthands (scalar = value, list = values)", () => {
    const { spec, warnings } = parseSweepSpec({ ...valid, parameters: { lr_g: 0.0002, loss: ["bce", "hinge"] } });
    expect(spec.parameters).toEqual({ lr_g: { value: 0.0002 }, loss: { values: ["bce", "hinge"] } });
    expect(spec.metric).toEqual({ name: "swd", goal: "minimize" });
    expect(spec.seed).toBe(0);
    expect(warnings).toEqual([]);
  });

  it("allows a grid larger than run_cap, with a warning that run_cap cuts it", () => {
    const { warnings } = parseSweepSpec({ ...valid, method: "grid", run_cap: 5, parameters: { lr_g: { values: [1e-4, 2e-4, 4e-4] }, loss: ["bce", "lsgan", "hinge"] } });
    expect(warnings).toEqual([{ path: "run_cap", message: "the grid has 9 points but run_cap is 5: only the first 5 in grid order will run" }]);
  });

  it("allows grid over q / int distributions and warns when max is off the step grid", () => {
    const { spec, warnings } = parseSweepSpec({
      ...valid,
      run_cap: undefined,
      method: "grid",
      parameters: { label_smoothing: { distribution: "q_uniform", min: 0, max: 0.25, q: 0.1 }, ngf: { distribution: "int_uniform", min: 16, max: 64, q: 16 } },
    });
    expect(spec.method).toBe("grid");
    expect(warnings).toEqual([{ path: "parameters.label_smoothing.max", message: "max 0.25 is not min + k·q; the largest value used is 0.2" }]);
  });

  it("warns about a TPE sweep too short to leave the random start-up, and about PBT run_cap / parallelism", () => {
    expect(parseSweepSpec({ ...valid, method: "tpe", run_cap: 8 }).warnings[0].message).toContain("every trial will be random");
    const pbt = parseSweepSpec({ ...valid, method: "pbt", run_cap: 3, parallelism: 2, base: { epochs: 20 } }).warnings.map((w) => w.path);
    expect(pbt).toEqual(["run_cap", "parallelism"]);
  });

  it("covers every scalar TrainConfig setting as a searchable parameter", () => {
    const scalar = Object.keys(TrainConfigSchema.shape).filter((k) => k !== "dataset");
    expect(Object.keys(SEARCHABLE_SETTINGS).sort()).toEqual(scalar.sort());
    expect(SEARCHABLE_SETTINGS.loss).toEqual({ type: "enum", options: ["bce", "lsgan", "hinge"] });
    expect(SEARCHABLE_SETTINGS.batch_size).toEqual({ type: "int" });
    expect(SEARCHABLE_SETTINGS.lr_g).toEqual({ type: "float" });
  });

  it("resolves a trial's config: engine defaults < base < fixed parameters < searched parameters", () => {
    const { spec } = parseSweepSpec({ ...valid, parameters: { ...valid.parameters, beta1: 0.3 }, base: { resolution: 32, epochs: 5, lr_g: 0.5, beta2: 0.99 } });
    const config = resolveTrialConfig(spec, { lr_g: 3e-4, loss: "hinge" });
    expect(config).toMatchObject({ resolution: 32, epochs: 5, lr_g: 3e-4, loss: "hinge", beta1: 0.3, beta2: 0.99, lr_d: 2e-4, batch_size: 64 });
    expect(() => resolveTrialConfig(spec, { lr_g: 3, loss: "hinge" })).toThrow(/lr_g/);
  });
});

describe("sweep spec YAML", () => {
  it("reports YAML syntax errors with their line", () => {
    const result = safeParseSweepYaml("name: x\nmethod: random\nparameters:\n  lr_g: { distribution: uniform, min: 0.1\n  lr_d: 3\n");
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues[0].path).toBe("(yaml)");
    expect(result.issues[0].line).toBeGreaterThanOrEqual(4);
    expect(result.issues[0].message).toMatch(/^YAML syntax error at column \d+/);
  });

  it("puts warnings on their line too", () => {
    const result = safeParseSweepYaml("name: g\nmethod: grid\nparameters:\n  loss: [bce, lsgan, hinge]\nrun_cap: 2\n");
    expect(result.success && result.warnings).toEqual([{ path: "run_cap", line: 5, message: "the grid has 3 points but run_cap is 2: only the first 2 in grid order will run" }]);
  });

  it("reports duplicate keys and non-mapping files", () => {
    const dup = safeParseSweepYaml("name: a\nname: b\n");
    expect(dup.success).toBe(false);
    if (!dup.success) expect(dup.issues[0]).toMatchObject({ path: "(yaml)", line: 2 });
    const list = safeParseSweepYaml("- 1\n- 2\n");
    expect(list.success).toBe(false);
    if (!list.success) expect(list.issues[0].message).toContain("must be a mapping");
  });

  it("puts schema issues on the line of the offending field", () => {
    const text = [
      "name: lines",
      "method: random",
      "run_cap: 5",
      "parameters:",
      "  lr_g: { distribution: log_uniform, min: 0, max: 0.01 }",
      "  batch_size:",
      "    values: [32, 0]",
      "base:",
      "  resolution: 48",
    ].join("\n");
    const result = safeParseSweepYaml(text);
    expect(result.success).toBe(false);
    if (result.success) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, i.line]));
    expect(byPath["parameters.lr_g.min"]).toBe(5);
    expect(byPath["parameters.batch_size.values[1]"]).toBe(7);
    expect(byPath["base.resolution"]).toBe(9);
    expect(() => parseSweepYaml(text, "lines.yaml")).toThrow(/line 5: parameters\.lr_g\.min: log_uniform needs min > 0/);
  });

  it("toYaml round-trips to an equal spec, one line per parameter", () => {
    const { spec } = parseSweepSpec({
      ...valid,
      method: "pbt",
      parameters: { ...valid.parameters, lr_d: { distribution: "log_uniform", min: 1e-5, max: 1e-3 } },
      pbt: { population: 4, interval: 2 },
      base: { dataset: { kind: "folder", path: "data/faces" }, resolution: 64, epochs: 10 },
    });
    const text = toYaml(spec);
    expect(text).toContain("  lr_g: { distribution: log_uniform, min: 0.00001, max: 0.001 }\n");
    expect(text).toContain("perturbation_factors: [ 0.8, 1.2 ]");
    expect(parseSweepYaml(text).spec).toEqual(spec);
  });

  for (const file of ["quickstart", "anime-faces-tpe", "pbt"]) {
    it(`example examples/sweeps/${file}.yaml parses without warnings and yields a first trial`, () => {
      const path = fileURLToPath(new URL(`../../../examples/sweeps/${file}.yaml`, import.meta.url));
      const { spec, warnings } = parseSweepYaml(readFileSync(path, "utf8"), path);
      expect(warnings).toEqual([]);
      expect(parseSweepYaml(toYaml(spec)).spec).toEqual(spec);
      const first = suggestNext(spec, []);
      expect(first.status).toBe("trial");
      if (first.status === "trial") expect(TrainConfigSchema.safeParse(first.config).success).toBe(true);
    });
  }

  it("the quickstart example is tiny (what 'minutes on a laptop CPU' rests on)", () => {
    const path = fileURLToPath(new URL("../../../examples/sweeps/quickstart.yaml", import.meta.url));
    const { spec } = parseSweepYaml(readFileSync(path, "utf8"));
    const config = resolveTrialConfig(spec, { lr_g: 2e-4, lr_d: 2e-4 });
    expect(config.resolution).toBe(32);
    expect(config.dataset).toMatchObject({ kind: "cartoon-faces" });
    expect(spec.run_cap! * config.epochs * (config.dataset.kind === "cartoon-faces" ? config.dataset.count : Infinity)).toBeLessThanOrEqual(10_000);
  });
});
