/**
 * Pure helpers behind the sweep pages: best-so-far series, parameter importance, parallel-coordinate
 * axes, PBT lineage layout and trial sorting. No React, no fetching: unit-tested in test/dashboard.
 */

export type Scalar = number | string | boolean;
export type Goal = "minimize" | "maximize";

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** better(a, b): a strictly beats b under the goal. */
export function better(goal: Goal, a: number, b: number): boolean {
  return goal === "maximize" ? a > b : a < b;
}

/** The best value seen up to each position; non-finite values never become the best. */
export function bestSoFar(values: readonly number[], goal: Goal): (number | null)[] {
  let best: number | null = null;
  return values.map((v) => {
    if (isFiniteNumber(v) && (best === null || better(goal, v, best))) best = v;
    return best;
  });
}

/** At most `max` points, evenly spaced, always keeping the first and the last. */
export function thin<T>(values: readonly T[], max: number): T[] {
  if (values.length <= max) return [...values];
  if (max < 2) return values.slice(values.length - Math.max(0, max));
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(values[Math.round((i * (values.length - 1)) / (max - 1))]);
  return out;
}

/** Average ranks (1-based), ties share the mean of their positions (as in Spearman's ρ). */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = rank;
    i = j + 1;
  }
  return out;
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

export interface Importance {
  name: string;
  /** 0 (no relation) … 1 (the parameter orders the results perfectly). */
  score: number;
  /** spearman: |ρ| between the value and the objective; eta: correlation ratio of the objective's ranks by category. */
  method: "spearman" | "eta";
  /** Spearman only: +1 when larger values go with larger objectives, −1 when with smaller ones. */
  direction: 1 | -1 | 0;
  /** Trials that had both the parameter and a finite objective. */
  n: number;
}

/**
 * How strongly each parameter relates to the objective, from the trials that have a finite result.
 * Numeric parameters: |Spearman ρ| (rank correlation, so log scales and outliers do not matter).
 * Categorical ones: the correlation ratio η = √(between-group / total variance) of the objective's
 * ranks. Both are 0…1. This is a marginal, one-parameter-at-a-time measure (fANOVA without the
 * interaction terms): it says which knobs moved the result in this sweep, not why.
 * Parameters with fewer than 3 trials or a single observed value are left out.
 */
export function parameterImportance(rows: ReadonlyArray<{ params: Record<string, Scalar | undefined>; value: number }>, names: readonly string[]): Importance[] {
  const out: Importance[] = [];
  for (const name of names) {
    const pairs = rows.filter((r) => isFiniteNumber(r.value) && r.params[name] !== undefined).map((r) => [r.params[name] as Scalar, r.value] as const);
    if (pairs.length < 3 || new Set(pairs.map(([p]) => p)).size < 2) continue;
    const objectiveRanks = ranks(pairs.map(([, v]) => v));
    if (pairs.every(([p]) => typeof p === "number")) {
      const rho = pearson(ranks(pairs.map(([p]) => p as number)), objectiveRanks);
      out.push({ name, score: Math.abs(rho), method: "spearman", direction: rho > 0 ? 1 : rho < 0 ? -1 : 0, n: pairs.length });
    } else {
      const mean = objectiveRanks.reduce((a, b) => a + b, 0) / objectiveRanks.length;
      const groups = new Map<string, number[]>();
      pairs.forEach(([p], i) => {
        const key = JSON.stringify(p);
        groups.set(key, [...(groups.get(key) ?? []), objectiveRanks[i]]);
      });
      let between = 0;
      for (const g of groups.values()) between += g.length * ((g.reduce((a, b) => a + b, 0) / g.length - mean) ** 2);
      const total = objectiveRanks.reduce((a, r) => a + (r - mean) ** 2, 0);
      out.push({ name, score: total === 0 ? 0 : Math.sqrt(between / total), method: "eta", direction: 0, n: pairs.length });
    }
  }
  return out.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------------------
// Parallel coordinates

/** What the spec says about a parameter's range (a subset of @ganboard/sweeps' parameter spec). */
export type ParameterRange =
  | { value: Scalar }
  | { values: Scalar[] }
  | { distribution: string; min: number; max: number; q?: number };

export interface Axis {
  name: string;
  kind: "linear" | "log" | "categorical";
  /** Tick labels from bottom (0) to top (1). */
  ticks: { label: string; at: number }[];
  /** Position of a value on the axis, 0 (bottom) … 1 (top); null when it cannot be placed. */
  position(value: unknown): number | null;
}

const formatTick = (v: number): string => (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

function numericAxis(name: string, lo: number, hi: number, log: boolean): Axis {
  const f = log ? Math.log : (x: number) => x;
  const a = f(lo);
  const b = f(hi);
  const span = b - a;
  const position = (value: unknown): number | null => {
    if (!isFiniteNumber(value) || (log && value <= 0)) return null;
    if (span === 0) return 0.5;
    return Math.min(1, Math.max(0, (f(value) - a) / span));
  };
  const values = span === 0 ? [lo] : [lo, log ? Math.sqrt(lo * hi) : (lo + hi) / 2, hi];
  // Close values (181.0 … 181.5) need more digits than 3 to stay distinct.
  let labels = values.map((v) => formatTick(v));
  for (let digits = 4; new Set(labels).size < labels.length && digits <= 8; digits++) labels = values.map((v) => String(Number(v.toPrecision(digits))));
  const ticks = values.map((v, i) => ({ label: labels[i], at: span === 0 ? 0.5 : (position(v) ?? 0) }));
  return { name, kind: log ? "log" : "linear", ticks, position };
}

function categoricalAxis(name: string, values: readonly Scalar[]): Axis {
  const keys = values.map((v) => JSON.stringify(v));
  const at = (i: number) => (values.length === 1 ? 0.5 : i / (values.length - 1));
  return {
    name,
    kind: "categorical",
    ticks: values.map((v, i) => ({ label: String(v), at: at(i) })),
    position: (value) => {
      const i = keys.indexOf(JSON.stringify(value));
      return i < 0 ? null : at(i);
    },
  };
}

/**
 * One axis per searched parameter (log scale for log_uniform, categories evenly spaced) and, last,
 * the objective (linear over the observed finite values). Fixed parameters get no axis.
 */
export function parallelAxes(parameters: Record<string, ParameterRange>, observed: ReadonlyArray<Record<string, unknown>>, objective: { name: string; values: readonly number[] }): Axis[] {
  const axes: Axis[] = [];
  for (const [name, range] of Object.entries(parameters)) {
    if ("value" in range) continue;
    if ("values" in range) {
      if (range.values.length > 1) axes.push(categoricalAxis(name, range.values));
      continue;
    }
    // Observed values can leave the declared range (PBT perturbs within it, but a spec may be edited), so widen to them.
    const seen = observed.map((o) => o[name]).filter(isFiniteNumber);
    const lo = Math.min(range.min, ...seen);
    const hi = Math.max(range.max, ...seen);
    axes.push(numericAxis(name, lo, hi, range.distribution === "log_uniform" && lo > 0));
  }
  const finite = objective.values.filter(isFiniteNumber);
  if (finite.length > 0) axes.push(numericAxis(objective.name, Math.min(...finite), Math.max(...finite), false));
  return axes;
}

// ---------------------------------------------------------------------------------------------------
// PBT lineage

export interface LineageInput {
  id: string;
  number: number;
  parentTrialId: string | null;
  /** Epoch of the parent's checkpoint this trial started from (null for an initial member). */
  exploitEpoch: number | null;
  /** Last epoch the trial reached. */
  epoch: number;
}

export interface LineageNode {
  id: string;
  number: number;
  row: number;
  /** The trial's span on the epoch axis. */
  from: number;
  to: number;
  depth: number;
}

export interface LineageEdge {
  parentId: string;
  childId: string;
  epoch: number;
  fromRow: number;
  toRow: number;
}

/**
 * Rows for a PBT lineage chart: each trial is a bar from the epoch it started at (its exploit epoch,
 * 0 for initial members) to the last epoch it reached; each child sits right below its parent's
 * subtree, so a family reads top to bottom; an edge joins parent and child at the exploit epoch.
 * A parent outside the list (or a cycle) makes the trial a root.
 */
export function layoutLineage(trials: readonly LineageInput[]): { nodes: LineageNode[]; edges: LineageEdge[]; maxEpoch: number } {
  const byId = new Map(trials.map((t) => [t.id, t]));
  const children = new Map<string, LineageInput[]>();
  const roots: LineageInput[] = [];
  for (const t of trials) {
    if (t.parentTrialId && byId.has(t.parentTrialId) && t.parentTrialId !== t.id) {
      children.set(t.parentTrialId, [...(children.get(t.parentTrialId) ?? []), t]);
    } else {
      roots.push(t);
    }
  }
  const order = (a: LineageInput, b: LineageInput) => (a.exploitEpoch ?? 0) - (b.exploitEpoch ?? 0) || a.number - b.number;
  const nodes: LineageNode[] = [];
  const rowOf = new Map<string, number>();
  const visit = (t: LineageInput, depth: number) => {
    if (rowOf.has(t.id)) return;
    const from = t.parentTrialId && byId.has(t.parentTrialId) ? (t.exploitEpoch ?? 0) : 0;
    rowOf.set(t.id, nodes.length);
    nodes.push({ id: t.id, number: t.number, row: nodes.length, from, to: Math.max(from, t.epoch), depth });
    for (const child of (children.get(t.id) ?? []).sort(order)) visit(child, depth + 1);
  };
  for (const root of roots.sort(order)) visit(root, 0);
  // Trials only reachable through a cycle were never visited: show them as roots.
  for (const t of [...trials].sort(order)) visit(t, 0);
  const edges: LineageEdge[] = [];
  for (const t of trials) {
    const fromRow = t.parentTrialId ? rowOf.get(t.parentTrialId) : undefined;
    const toRow = rowOf.get(t.id);
    if (fromRow === undefined || toRow === undefined || t.parentTrialId === t.id) continue;
    edges.push({ parentId: t.parentTrialId as string, childId: t.id, epoch: t.exploitEpoch ?? 0, fromRow, toRow });
  }
  return { nodes, edges, maxEpoch: Math.max(1, ...nodes.map((n) => n.to)) };
}

// ---------------------------------------------------------------------------------------------------
// Trials table

export type SortDirection = "ascending" | "descending";

/**
 * Compares two cells for sorting: numbers numerically, text alphabetically (numbers in text
 * naturally), booleans false < true; empty and non-finite cells always last, in either direction.
 */
export function compareCells(a: unknown, b: unknown, direction: SortDirection): number {
  const missing = (v: unknown) => v === null || v === undefined || v === "" || (typeof v === "number" && !Number.isFinite(v));
  const ma = missing(a);
  const mb = missing(b);
  if (ma || mb) return ma === mb ? 0 : ma ? 1 : -1;
  let c: number;
  if (typeof a === "number" && typeof b === "number") c = a - b;
  else if (typeof a === "boolean" && typeof b === "boolean") c = Number(a) - Number(b);
  else c = String(a).localeCompare(String(b), undefined, { numeric: true });
  return direction === "ascending" ? c : -c;
}
