"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { parseDocument } from "yaml";
import { METHODS, SEARCHABLE_SETTING_NAMES, safeParseSweepSpec, safeParseSweepYaml, toYaml, type SpecIssue, type SweepSpec } from "@ganboard/sweeps";
import { useTRPC } from "@/lib/trpc/client";
import { describeError } from "@/lib/errors";
import {
  emptyRow,
  formatValue,
  getIn,
  PARAM_KIND_LABELS,
  PARAM_KINDS,
  paramFieldId,
  parseList,
  parseNumberInput,
  placeIssues,
  rowIssues,
  setIn,
  specFromState,
  stateFromSpec,
  type FormState,
  type ParamKind,
  type ParamRow,
} from "@/lib/sweep-form";
import { findTemplate, SWEEP_TEMPLATES, type SweepTemplate } from "@/lib/sweep-templates";
import styles from "./sweeps.module.css";

// toYaml only orders keys and picks flow style; it does not need a valid spec, so drafts show as typed.
const yamlOf = (spec: Record<string, unknown>): string => toYaml(spec as SweepSpec);

/** Settings offered first when adding a parameter, with a range that makes sense for each. */
const SUGGESTED_ROWS: ReadonlyArray<Omit<ParamRow, "key">> = [
  { name: "lr_g", kind: "log_uniform", min: "0.00005", max: "0.001", q: "", value: "", values: "" },
  { name: "lr_d", kind: "log_uniform", min: "0.00005", max: "0.001", q: "", value: "", values: "" },
  { name: "beta1", kind: "uniform", min: "0", max: "0.9", q: "", value: "", values: "" },
  { name: "loss", kind: "values", min: "", max: "", q: "", value: "", values: "bce, lsgan, hinge" },
  { name: "batch_size", kind: "values", min: "", max: "", q: "", value: "", values: "32, 64" },
  { name: "label_smoothing", kind: "q_uniform", min: "0", max: "0.3", q: "0.05", value: "", values: "" },
  { name: "ema", kind: "values", min: "", max: "", q: "", value: "", values: "0, 0.999" },
];

/** The TPE settings the form shows (all of TpeSettingsSchema). */
const TPE_FIELDS = ["n_startup_trials", "n_ei_candidates", "prior_weight", "constant_liar", "consider_endpoints", "consider_magic_clip"] as const;

const METHOD_HINTS: Record<string, string> = {
  grid: "every combination once (run_cap cuts it)",
  random: "independent draws, seeded",
  tpe: "Optuna-style TPE: learns from finished trials",
  pbt: "population trains together; weak members copy strong ones",
};

/** Spec paths the form has a field for (others are listed above the form); aliases send a parent's issue to one field. */
const FIELD_ALIASES: Record<string, string> = {
  metric: "metric.name",
  "base.dataset": "base.dataset.kind",
  early_terminate: "early_terminate.type",
  pbt: "pbt.population",
};

interface FieldProps {
  id: string;
  label: string;
  hint?: string;
  errors?: string[];
  wide?: boolean;
  children: (a11y: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}

function Field({ id, label, hint, errors, wide, children }: FieldProps) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [errors?.length ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ");
  return (
    <div className={`${styles.field} ${wide ? styles.fieldWide : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(errors?.length), "aria-describedby": describedBy || undefined })}
      {errors?.length ? (
        <span id={errorId} className={styles.fieldError}>
          {errors.join("; ")}
        </span>
      ) : null}
      {hint ? (
        <span id={hintId} className={styles.hint}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export function SweepForm({ initialTemplate }: { initialTemplate?: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const uid = useId();
  const start: SweepTemplate = findTemplate(initialTemplate) ?? SWEEP_TEMPLATES[0];
  const [templateId, setTemplateId] = useState<string | null>(start.id);
  const [state, setState] = useState<FormState>(() => stateFromSpec(start.spec));
  /** Text of number fields as typed ("0." must survive until the next digit). */
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [yamlText, setYamlText] = useState(() => yamlOf(start.spec));
  const [attempted, setAttempted] = useState(false);
  const [serverIssues, setServerIssues] = useState<SpecIssue[] | null>(null);

  const spec = useMemo(() => specFromState(state), [state]);
  const validation = useMemo(() => safeParseSweepSpec(spec), [spec]);
  const yamlCheck = useMemo(() => safeParseSweepYaml(yamlText), [yamlText]);
  const yamlSyntaxOk = !(yamlCheck.success === false && yamlCheck.issues.some((i) => i.path === "(yaml)" || i.path === "(root)"));
  const localRowIssues = rowIssues(state.rows);
  const issues: SpecIssue[] = serverIssues ?? (validation.success ? [] : validation.issues);

  const method = typeof state.rest.method === "string" ? state.rest.method : "";
  const datasetKind = getIn(state.rest, ["base", "dataset", "kind"]);
  const earlyType = getIn(state.rest, ["early_terminate", "type"]);

  const rendered = new Set<string>(["name", "description", "method", "metric.name", "metric.goal", "base.dataset.kind", "base.resolution", "base.epochs", "base.batch_size", "run_cap", "parallelism", "seed", "early_terminate.type", "parameters"]);
  if (datasetKind === "folder") rendered.add("base.dataset.path");
  else rendered.add("base.dataset.count");
  if (earlyType !== undefined) rendered.add("early_terminate.min_epochs");
  if (earlyType === "asha") rendered.add("early_terminate.reduction_factor");
  if (earlyType === "median") rendered.add("early_terminate.min_trials");
  if (method === "pbt") for (const k of ["population", "interval", "quantile", "resample_probability", "perturbation_factors", "mutate"]) rendered.add(`pbt.${k}`);
  if (method === "tpe") for (const k of TPE_FIELDS) rendered.add(`tpe.${k}`);
  const fieldFor = (path: string): string | undefined => {
    const target = FIELD_ALIASES[path] ?? path;
    return rendered.has(target) ? target : undefined;
  };
  const placed = placeIssues(issues, state.rows, fieldFor);
  for (const { rowKey, message } of localRowIssues) {
    const id = paramFieldId(rowKey, "name");
    placed.byField.set(id, [...(placed.byField.get(id) ?? []), message]);
  }
  const errorsAt = (fieldId: string) => placed.byField.get(fieldId);
  const fid = (path: string) => `${uid}-${path}`;

  /** Every form edit: new state, YAML regenerated from it, server verdict forgotten. */
  const update = (next: FormState) => {
    setState(next);
    setYamlText(yamlOf(specFromState(next)));
    setServerIssues(null);
    setTemplateId(null);
  };
  const setRest = (path: string[], value: unknown) => update({ ...state, rest: setIn(state.rest, path, value) });
  const setRow = (key: string, patch: Partial<ParamRow>) => update({ ...state, rows: state.rows.map((r) => (r.key === key ? { ...r, ...patch } : r)) });

  const applyTemplate = (t: SweepTemplate) => {
    setState(stateFromSpec(t.spec));
    setDrafts({});
    setYamlText(yamlOf(t.spec));
    setServerIssues(null);
    setAttempted(false);
    setTemplateId(t.id);
  };

  /** YAML edits update the form whenever the text is a well-formed mapping; otherwise only the YAML shows the error. */
  const onYamlChange = (text: string) => {
    setYamlText(text);
    setServerIssues(null);
    setTemplateId(null);
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return;
    const data: unknown = doc.toJS();
    if (data === null || typeof data !== "object" || Array.isArray(data)) return;
    setState(stateFromSpec(data as Record<string, unknown>, state.rows));
    setDrafts({});
  };

  const create = useMutation(
    trpc.sweeps.create.mutationOptions({
      onSuccess: (result) => {
        if (result.ok) router.push(`/sweeps/${result.id}`);
        else setServerIssues(result.issues);
      },
    }),
  );

  const invalid = !yamlSyntaxOk || !validation.success || localRowIssues.length > 0;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setAttempted(true);
    if (invalid) {
      // Nothing is sent: the first field with a message gets the focus.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    create.mutate({ spec });
  };

  // ---- field helpers -------------------------------------------------------------------------------
  const numberField = (path: string, label: string, hint?: string) => {
    const parts = path.split(".");
    const shown = drafts[path] ?? formatValue(getIn(state.rest, parts));
    return (
      <Field id={fid(path)} label={label} hint={hint} errors={errorsAt(path)}>
        {(a11y) => (
          <input
            {...a11y}
            type="text"
            inputMode="decimal"
            autoComplete="off"
            value={shown}
            onChange={(e) => {
              setDrafts({ ...drafts, [path]: e.target.value });
              setRest(parts, parseNumberInput(e.target.value));
            }}
          />
        )}
      </Field>
    );
  };
  const textField = (path: string, label: string, opts: { hint?: string; wide?: boolean; toSpec?: (text: string) => unknown } = {}) => (
    <Field id={fid(path)} label={label} hint={opts.hint} errors={errorsAt(path)} wide={opts.wide}>
      {(a11y) => (
        <input
          {...a11y}
          type="text"
          autoComplete="off"
          value={formatValue(getIn(state.rest, path.split(".")))}
          onChange={(e) => setRest(path.split("."), opts.toSpec ? opts.toSpec(e.target.value) : e.target.value)}
        />
      )}
    </Field>
  );
  const selectField = (path: string, label: string, options: ReadonlyArray<readonly [string, string]>, onChange: (v: string) => void, hint?: string) => (
    <Field id={fid(path)} label={label} hint={hint} errors={errorsAt(path)}>
      {(a11y) => (
        <select {...a11y} value={formatValue(getIn(state.rest, path.split(".")))} onChange={(e) => onChange(e.target.value)}>
          {options.map(([value, text]) => (
            <option key={value} value={value}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
  /** An optional on/off setting: left empty, the spec omits it and the schema's default applies. */
  const booleanField = (path: string, label: string, defaultValue: boolean, hint?: string) =>
    selectField(
      path,
      label,
      [
        ["", `default (${defaultValue ? "on" : "off"})`],
        ["true", "on"],
        ["false", "off"],
      ],
      (v) => setRest(path.split("."), v === "" ? undefined : v === "true"),
      hint,
    );

  const problemCount = issues.length + localRowIssues.length;

  return (
    <form onSubmit={onSubmit} noValidate aria-label="New sweep">
      <section className={styles.card} aria-labelledby={`${uid}-templates`}>
        <h2 id={`${uid}-templates`}>Start from a template</h2>
        <div className={styles.templates}>
          {SWEEP_TEMPLATES.map((t) => (
            <button key={t.id} type="button" className={styles.template} aria-pressed={templateId === t.id} onClick={() => applyTemplate(t)}>
              <strong>{t.label}</strong>
              <small>{t.summary}</small>
            </button>
          ))}
        </div>
      </section>

      {attempted && (invalid || serverIssues) ? (
        <div role="alert" className={styles.error}>
          <strong>
            Nothing was created: {problemCount === 1 ? "1 problem needs" : `${problemCount} problems need`} fixing
            {yamlSyntaxOk ? "" : " (the YAML does not parse)"}.
          </strong>
          {placed.unplaced.length > 0 ? (
            <ul>
              {placed.unplaced.map((issue, i) => (
                <li key={i}>
                  <code>{issue.path}</code>: {issue.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : placed.unplaced.length > 0 ? (
        <div className={styles.warning}>
          <ul>
            {placed.unplaced.map((issue, i) => (
              <li key={i}>
                <code>{issue.path}</code>: {issue.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <div className={styles.formLayout}>
        <div className={styles.card}>
          <fieldset className={styles.fieldset}>
            <legend>Sweep</legend>
            <div className={styles.fields}>
              {textField("name", "name", { hint: "shown in the sweeps list", wide: true })}
              {textField("description", "description", { wide: true, toSpec: (t) => (t === "" ? undefined : t) })}
              {selectField(
                "method",
                "method",
                METHODS.map((m) => [m, m] as const),
                (m) => {
                  let rest = setIn(state.rest, ["method"], m);
                  if (m === "pbt") rest = setIn(rest, ["early_terminate"], undefined);
                  // Settings of one method are refused under another: they go when the method changes.
                  if (m !== "tpe") rest = setIn(rest, ["tpe"], undefined);
                  if (m !== "pbt") rest = setIn(rest, ["pbt"], undefined);
                  update({ ...state, rest });
                },
                METHOD_HINTS[method],
              )}
              {textField("metric.name", "metric", { hint: "reported each epoch; swd = sliced Wasserstein distance" })}
              {selectField(
                "metric.goal",
                "goal",
                [
                  ["minimize", "minimize"],
                  ["maximize", "maximize"],
                ],
                (g) => setRest(["metric", "goal"], g),
              )}
            </div>
          </fieldset>

          <fieldset className={styles.fieldset}>
            <legend>Parameters</legend>
            {errorsAt("parameters") ? <p className={styles.fieldError}>{errorsAt("parameters")?.join("; ")}</p> : null}
            <datalist id={`${uid}-settings`}>
              {SEARCHABLE_SETTING_NAMES.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
            {state.rows.length === 0 ? <p className={styles.muted}>No parameters: every trial would train the base config. Add one to search over it.</p> : null}
            {state.rows.map((row, i) => {
              const who = row.name.trim() || `parameter ${i + 1}`;
              const rowField = (field: "value" | "values" | "min" | "max" | "q", label: string, hint?: string) => {
                const id = paramFieldId(row.key, field);
                return (
                  <Field id={`${uid}-${id}`} label={label} hint={hint} errors={errorsAt(id)}>
                    {(a11y) => <input {...a11y} aria-label={`${who} ${field}`} type="text" autoComplete="off" value={row[field]} onChange={(e) => setRow(row.key, { [field]: e.target.value })} />}
                  </Field>
                );
              };
              return (
                <div key={row.key} className={styles.paramRow}>
                  <Field id={`${uid}-${paramFieldId(row.key, "name")}`} label="setting" errors={errorsAt(paramFieldId(row.key, "name"))}>
                    {(a11y) => (
                      <input {...a11y} aria-label={`parameter ${i + 1} setting`} list={`${uid}-settings`} type="text" autoComplete="off" value={row.name} onChange={(e) => setRow(row.key, { name: e.target.value.trim() })} />
                    )}
                  </Field>
                  <Field id={`${uid}-${paramFieldId(row.key, "kind")}`} label="kind" errors={errorsAt(paramFieldId(row.key, "kind"))}>
                    {(a11y) => (
                      <select {...a11y} aria-label={`${who} kind`} value={row.kind} onChange={(e) => setRow(row.key, { kind: e.target.value as ParamKind })}>
                        {PARAM_KINDS.map((k) => (
                          <option key={k} value={k}>
                            {PARAM_KIND_LABELS[k]}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                  <div className={styles.paramRange}>
                    {row.kind === "value" ? rowField("value", "value") : null}
                    {row.kind === "values" ? rowField("values", "values", "comma-separated") : null}
                    {row.kind !== "value" && row.kind !== "values" ? (
                      <>
                        {rowField("min", "min")}
                        {rowField("max", "max")}
                        {row.kind === "q_uniform" || row.kind === "int_uniform" ? rowField("q", "q", row.kind === "int_uniform" ? "step, default 1" : "step") : null}
                      </>
                    ) : null}
                  </div>
                  <button type="button" className={styles.iconButton} aria-label={`Remove ${who}`} onClick={() => update({ ...state, rows: state.rows.filter((r) => r.key !== row.key) })}>
                    ✕
                  </button>
                </div>
              );
            })}
            <p>
              <button
                type="button"
                className={styles.buttonSecondary}
                onClick={() => {
                  const suggestion = SUGGESTED_ROWS.find((s) => !state.rows.some((r) => r.name === s.name));
                  update({ ...state, rows: [...state.rows, suggestion ? { ...suggestion, key: emptyRow().key } : emptyRow()] });
                }}
              >
                Add parameter
              </button>
            </p>
          </fieldset>

          <fieldset className={styles.fieldset}>
            <legend>Base config</legend>
            <div className={styles.fields}>
              {selectField(
                "base.dataset.kind",
                "dataset",
                [
                  ["cartoon-faces", "cartoon faces (generated)"],
                  ["folder", "folder of images"],
                ],
                (kind) => setRest(["base", "dataset"], kind === "folder" ? { kind: "folder", path: "" } : { kind: "cartoon-faces", count: 512 }),
              )}
              {datasetKind === "folder" ? (
                textField("base.dataset.path", "path", { hint: "PNG/JPEG/WebP, searched recursively, on the runners' machine; runners read only folders under data/ or GANBOARD_HOME (or GANBOARD_DATA_ROOTS)", wide: true })
              ) : (
                numberField("base.dataset.count", "count", "faces rendered")
              )}
              {selectField(
                "base.resolution",
                "resolution",
                [
                  ["", "engine default (64)"],
                  ["32", "32 px"],
                  ["64", "64 px"],
                  ["128", "128 px"],
                ],
                (r) => setRest(["base", "resolution"], r === "" ? undefined : Number(r)),
              )}
              {numberField("base.epochs", "epochs")}
              {numberField("base.batch_size", "batch_size")}
            </div>
          </fieldset>

          <fieldset className={styles.fieldset}>
            <legend>Budget</legend>
            <div className={styles.fields}>
              {numberField("run_cap", "run_cap", method === "pbt" ? "ignored for pbt (population decides)" : "total trials, failed ones too")}
              {numberField("parallelism", "parallelism", "most trials at once")}
              {numberField("seed", "seed")}
            </div>
          </fieldset>

          {method === "tpe" ? (
            <fieldset className={styles.fieldset}>
              <legend>TPE</legend>
              <div className={styles.fields}>
                {numberField("tpe.n_startup_trials", "n_startup_trials", "random trials before TPE takes over (default 10)")}
                {numberField("tpe.n_ei_candidates", "n_ei_candidates", "candidates scored per suggestion (default 24)")}
                {numberField("tpe.prior_weight", "prior_weight", "weight of the prior in each Parzen mixture (default 1)")}
                {booleanField("tpe.constant_liar", "constant_liar", false, "running trials count as the worst result, so parallel runners spread out")}
                {booleanField("tpe.consider_endpoints", "consider_endpoints", false)}
                {booleanField("tpe.consider_magic_clip", "consider_magic_clip", true)}
              </div>
            </fieldset>
          ) : null}

          {method === "pbt" ? (
            <fieldset className={styles.fieldset}>
              <legend>Population Based Training</legend>
              <div className={styles.fields}>
                {numberField("pbt.population", "population")}
                {numberField("pbt.interval", "interval", "epochs between exploit steps")}
                {numberField("pbt.quantile", "quantile", "bottom / top fraction")}
                {numberField("pbt.resample_probability", "resample_probability")}
                {textField("pbt.perturbation_factors", "perturbation_factors", {
                  hint: "two factors a perturbed value is multiplied by (default 0.8, 1.2)",
                  toSpec: (t) => (t.trim() === "" ? undefined : parseList(t)),
                })}
                {textField("pbt.mutate", "mutate", {
                  hint: "comma-separated; empty = every mutable parameter",
                  wide: true,
                  toSpec: (t) => (t.trim() === "" ? undefined : parseList(t).map(String)),
                })}
              </div>
            </fieldset>
          ) : (
            <fieldset className={styles.fieldset}>
              <legend>Early termination</legend>
              <div className={styles.fields}>
                {selectField(
                  "early_terminate.type",
                  "early_terminate",
                  [
                    ["", "none"],
                    ["asha", "ASHA"],
                    ["median", "median rule"],
                  ],
                  (t) => setRest(["early_terminate"], t === "" ? undefined : t === "asha" ? { type: "asha", min_epochs: 2, reduction_factor: 3 } : { type: "median", min_epochs: 2, min_trials: 5 }),
                )}
                {earlyType !== undefined ? numberField("early_terminate.min_epochs", "min_epochs", "first epoch a trial can stop") : null}
                {earlyType === "asha" ? numberField("early_terminate.reduction_factor", "reduction_factor", "keep the top 1/η at each rung") : null}
                {earlyType === "median" ? numberField("early_terminate.min_trials", "min_trials") : null}
              </div>
            </fieldset>
          )}

          {validation.success && validation.warnings.length > 0 ? (
            <div className={styles.warning}>
              <ul>
                {validation.warnings.map((w, i) => (
                  <li key={i}>
                    <code>{w.path}</code>: {w.message}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          {create.isError ? (
            <div role="alert" className={styles.error}>
              <strong>The sweep was not created.</strong> {describeError(create.error)}
            </div>
          ) : null}
          <div className={styles.actions}>
            <button type="submit" className={styles.button} disabled={create.isPending || create.isSuccess}>
              {create.isPending || create.isSuccess ? "Creating…" : "Create sweep"}
            </button>
            <span className={styles.hint}>{invalid ? `${problemCount} problem${problemCount === 1 ? "" : "s"} to fix` : "Runners pick up its trials as soon as it exists."}</span>
          </div>
        </div>

        <div className={`${styles.card} ${styles.sticky}`}>
          <div className={styles.field}>
            <label htmlFor={`${uid}-yaml`}>YAML</label>
            <span className={styles.hint} id={`${uid}-yaml-hint`}>
              The same spec as a file for <code>ganboard sweep create</code>; edit either side.
            </span>
            <textarea
              id={`${uid}-yaml`}
              className={styles.yaml}
              spellCheck={false}
              wrap="off"
              value={yamlText}
              aria-invalid={!yamlCheck.success}
              aria-describedby={`${uid}-yaml-issues ${uid}-yaml-hint`}
              onChange={(e) => onYamlChange(e.target.value)}
            />
            <div id={`${uid}-yaml-issues`} className={styles.fieldError}>
              {yamlCheck.success
                ? null
                : yamlCheck.issues.map((issue, i) => (
                    <div key={i}>
                      {issue.line !== undefined ? `line ${issue.line}: ` : ""}
                      {issue.path}: {issue.message}
                    </div>
                  ))}
            </div>
          </div>
        </div>
      </div>
    </form>
  );
}
