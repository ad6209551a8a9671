/**
 * The New sweep form's model. The spec input (what the YAML view shows) is the one truth: the form
 * holds it as `rest` (every key but parameters, edited by path) plus one row per parameter (text as
 * typed), and converts both ways without losing keys the form has no field for. Validation is
 * @ganboard/sweeps' own (safeParseSweepSpec); this file only places its issues next to fields.
 */
import type { SpecIssue } from "@ganboard/sweeps";

export type Scalar = number | string | boolean;

export const PARAM_KINDS = ["log_uniform", "uniform", "int_uniform", "q_uniform", "values", "value"] as const;
export type ParamKind = (typeof PARAM_KINDS)[number];

export const PARAM_KIND_LABELS: Record<ParamKind, string> = {
  log_uniform: "log-uniform range",
  uniform: "uniform range",
  int_uniform: "whole numbers",
  q_uniform: "range with step q",
  values: "choice of values",
  value: "fixed value",
};

/** One parameter as the form edits it: every input's text exactly as typed. */
export interface ParamRow {
  /** Stable React key (names change while typing). */
  key: string;
  name: string;
  kind: ParamKind;
  value: string;
  /** Comma-separated. */
  values: string;
  min: string;
  max: string;
  q: string;
}

export interface FormState {
  /** The spec input without `parameters`. */
  rest: Record<string, unknown>;
  rows: ParamRow[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Text from a number field: empty → absent, a number → the number, anything else stays text (the schema names it). */
export function parseNumberInput(text: string): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  return NUMBER.test(t) ? Number(t) : t;
}

/** One listed value: numbers and true/false become what they look like, the rest stays text. */
export function parseScalar(text: string): Scalar {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  return t;
}

export function parseList(text: string): Scalar[] {
  return text.trim() === "" ? [] : text.split(",").map(parseScalar);
}

export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(formatValue).join(", ");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

let rowCounter = 0;
export const newRowKey = (): string => `p${++rowCounter}`;

export function emptyRow(name = ""): ParamRow {
  return { key: newRowKey(), name, kind: "log_uniform", value: "", values: "", min: "", max: "", q: "" };
}

/** A parameter entry from a spec (shorthands included) as a form row. */
export function rowFromSpec(name: string, raw: unknown, key: string = newRowKey()): ParamRow {
  const row: ParamRow = { ...emptyRow(name), key };
  if (Array.isArray(raw)) return { ...row, kind: "values", values: formatValue(raw) };
  if (raw === null || typeof raw !== "object") return { ...row, kind: "value", value: formatValue(raw) };
  const p = raw as Record<string, unknown>;
  if ("values" in p) return { ...row, kind: "values", values: formatValue(p.values) };
  if ("value" in p) return { ...row, kind: "value", value: formatValue(p.value) };
  const kind = PARAM_KINDS.includes(p.distribution as ParamKind) ? (p.distribution as ParamKind) : "uniform";
  return { ...row, kind, min: formatValue(p.min), max: formatValue(p.max), q: formatValue(p.q) };
}

/** The row as a spec entry; empty inputs are left out so the schema says "required" at the right path. */
export function rowToSpec(row: ParamRow): Record<string, unknown> {
  if (row.kind === "value") return row.value.trim() === "" ? {} : { value: parseScalar(row.value) };
  if (row.kind === "values") return { values: parseList(row.values) };
  const out: Record<string, unknown> = { distribution: row.kind };
  for (const key of ["min", "max", "q"] as const) {
    if (key === "q" && row.kind !== "q_uniform" && row.kind !== "int_uniform") continue;
    const v = parseNumberInput(row[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

const KEY_ORDER = ["name", "description", "method", "metric", "parameters", "base", "run_cap", "parallelism", "early_terminate", "tpe", "pbt", "seed"];

/** Form state from a spec input (a template, or what the YAML view parsed); row keys are reused by position. */
export function stateFromSpec(input: Record<string, unknown>, previousRows: readonly ParamRow[] = []): FormState {
  const { parameters, ...rest } = input;
  const entries = parameters !== null && typeof parameters === "object" && !Array.isArray(parameters) ? Object.entries(parameters) : [];
  return { rest, rows: entries.map(([name, raw], i) => rowFromSpec(name, raw, previousRows[i]?.key)) };
}

/** The spec input the form describes, keys in the usual order. A repeated parameter name keeps its first row. */
export function specFromState(state: FormState): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const row of state.rows) if (!(row.name in parameters)) parameters[row.name] = rowToSpec(row);
  const merged: Record<string, unknown> = { ...state.rest, parameters };
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (merged[key] !== undefined) out[key] = merged[key];
  for (const [key, value] of Object.entries(merged)) if (!(key in out) && value !== undefined) out[key] = value;
  return out;
}

export function getIn(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A copy of `obj` with `path` set (`undefined` removes the key; emptied mappings are removed too). */
export function setIn(obj: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...tail] = path;
  const out = { ...obj };
  if (tail.length === 0) {
    if (value === undefined) delete out[head];
    else out[head] = value;
    return out;
  }
  const child = out[head];
  const next = setIn(child !== null && typeof child === "object" && !Array.isArray(child) ? (child as Record<string, unknown>) : {}, tail, value);
  if (Object.keys(next).length === 0 && value === undefined) delete out[head];
  else out[head] = next;
  return out;
}

/** Issues the form finds itself: parameter names that are empty or repeated (a mapping cannot hold them). */
export function rowIssues(rows: readonly ParamRow[]): { rowKey: string; message: string }[] {
  const out: { rowKey: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.name.trim() === "") out.push({ rowKey: row.key, message: "give the parameter a name (a training setting such as lr_g)" });
    else if (seen.has(row.name)) out.push({ rowKey: row.key, message: `${row.name} is already a parameter above; each setting once` });
    seen.add(row.name);
  }
  return out;
}

export const paramFieldId = (rowKey: string, field: "name" | "kind" | "value" | "values" | "min" | "max" | "q"): string => `param:${rowKey}:${field}`;

/**
 * Places each issue at a form field: `fieldFor` maps a spec path (e.g. `base.dataset.path`) to a field id
 * when the form has a field for it; parameter paths go to their row. Issues with no field (say an
 * unknown key typed in the YAML view) are returned as `unplaced`, for the summary above the form.
 */
export function placeIssues(
  issues: readonly SpecIssue[],
  rows: readonly ParamRow[],
  fieldFor: (path: string) => string | undefined,
): { byField: Map<string, string[]>; unplaced: SpecIssue[] } {
  const byField = new Map<string, string[]>();
  const unplaced: SpecIssue[] = [];
  const add = (field: string, message: string) => byField.set(field, [...(byField.get(field) ?? []), message]);
  for (const issue of issues) {
    const param = /^parameters\.([^.[]+)(?:\.([a-z_]+))?/.exec(issue.path);
    const row = param ? rows.find((r) => r.name === param[1]) : undefined;
    if (param && row) {
      const sub = param[2];
      const field = sub === "min" || sub === "max" || sub === "q" || sub === "values" || sub === "value" ? sub : sub === "distribution" ? "kind" : row.kind === "values" ? "values" : row.kind === "value" ? "value" : "kind";
      add(paramFieldId(row.key, field), issue.message);
      continue;
    }
    // The nearest ancestor the form has a field for (e.g. `base.dataset` → the dataset kind).
    const parts = issue.path.split(".");
    let placed = false;
    for (let n = parts.length; n > 0 && !placed; n--) {
      const field = fieldFor(parts.slice(0, n).join("."));
      if (field) {
        add(field, issue.message);
        placed = true;
      }
    }
    if (!placed) unplaced.push(issue);
  }
  return { byField, unplaced };
}
