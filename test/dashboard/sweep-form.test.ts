import fs from "node:fs";
import path from "node:path";
import { parseSweepSpec, parseSweepYaml, safeParseSweepSpec, safeParseSweepYaml, toYaml } from "@ganboard/sweeps";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { SWEEP_TEMPLATES } from "../../apps/dashboard/lib/sweep-templates.ts";
import {
  emptyRow,
  getIn,
  paramFieldId,
  parseNumberInput,
  placeIssues,
  rowFromSpec,
  rowIssues,
  rowToSpec,
  setIn,
  specFromState,
  stateFromSpec,
} from "../../apps/dashboard/lib/sweep-form.ts";
import { repoRoot } from "../helpers/cli.ts";

describe("New sweep templates", () => {
  it.each(SWEEP_TEMPLATES.map((t) => [t.id, t] as const))("%s is the same spec as its example file", (_id, template) => {
    const fromFile = parseSweepYaml(fs.readFileSync(path.join(repoRoot, template.file), "utf8"), template.file).spec;
    expect(parseSweepSpec(template.spec).spec).toEqual(fromFile);
  });
});

describe("sweep form model", () => {
  it("round-trips every template through form state and YAML without losing keys", () => {
    for (const template of SWEEP_TEMPLATES) {
      const state = stateFromSpec(template.spec);
      expect(specFromState(state)).toEqual(template.spec);
      // What the YAML view shows parses back (as YAML) to the same input, and validates like it.
      const text = toYaml(specFromState(state) as never);
      expect(parse(text)).toEqual(template.spec);
      expect(safeParseSweepYaml(text).success).toBe(true);
    }
  });

  it("reads shorthands and keeps typed text until it is a number", () => {
    expect(rowFromSpec("batch_size", [32, 64])).toMatchObject({ kind: "values", values: "32, 64" });
    expect(rowFromSpec("beta2", 0.99)).toMatchObject({ kind: "value", value: "0.99" });
    expect(rowFromSpec("ngf", { distribution: "int_uniform", min: 32, max: 128, q: 32 })).toMatchObject({ kind: "int_uniform", min: "32", max: "128", q: "32" });
    expect(rowToSpec({ ...emptyRow("loss"), kind: "values", values: "bce, hinge" })).toEqual({ values: ["bce", "hinge"] });
    expect(rowToSpec({ ...emptyRow("lr_g"), kind: "log_uniform", min: "5e-5", max: "", q: "0.1" })).toEqual({ distribution: "log_uniform", min: 5e-5 });
    expect(parseNumberInput("0.")).toBe(0);
    expect(parseNumberInput("  ")).toBeUndefined();
    expect(parseNumberInput("ten")).toBe("ten");
  });

  it("sets and removes nested keys without touching the original", () => {
    const spec = { base: { dataset: { kind: "folder", path: "x" }, epochs: 3 } };
    const next = setIn(spec, ["base", "dataset", "path"], "data/faces");
    expect(getIn(next, ["base", "dataset", "path"])).toBe("data/faces");
    expect(spec.base.dataset.path).toBe("x");
    expect(setIn({ early_terminate: { type: "asha" } }, ["early_terminate", "type"], undefined)).toEqual({});
    expect(setIn({ run_cap: 4 }, ["run_cap"], undefined)).toEqual({});
  });

  it("places the schema's issues next to their fields, the rest in a summary", () => {
    const state = stateFromSpec({ ...SWEEP_TEMPLATES[0].spec, run_cap: 0, bogus: 1, parameters: { lr_g: { distribution: "log_uniform", min: -1, max: 0.01 }, loss: { values: ["bce", "bce"] } } });
    const result = safeParseSweepSpec(specFromState(state));
    expect(result.success).toBe(false);
    if (result.success) return;
    const fields = new Set(["run_cap", "name"]);
    const { byField, unplaced } = placeIssues(result.issues, state.rows, (p) => (fields.has(p) ? p : undefined));
    expect(byField.get("run_cap")).toEqual(["must be ≥ 1 (got 0)"]);
    expect(byField.get(paramFieldId(state.rows[0].key, "min"))?.[0]).toMatch(/log_uniform needs min > 0/);
    expect(byField.get(paramFieldId(state.rows[1].key, "values"))?.[0]).toMatch(/duplicate of values\[0\]/);
    expect(unplaced.map((i) => i.path)).toEqual(["bogus"]);
  });

  it("flags empty and repeated parameter names (a mapping cannot hold them)", () => {
    const rows = [emptyRow("lr_g"), emptyRow(""), emptyRow("lr_g")];
    expect(rowIssues(rows).map((i) => [rows.findIndex((r) => r.key === i.rowKey), i.message])).toEqual([
      [1, expect.stringMatching(/give the parameter a name/)],
      [2, expect.stringMatching(/already a parameter above/)],
    ]);
  });
});
