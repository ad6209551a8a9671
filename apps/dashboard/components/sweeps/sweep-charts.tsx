"use client";

import Link from "next/link";
import { useMemo, type ReactNode } from "react";
import { CartesianGrid, ComposedChart, Line, LineChart, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from "recharts";
import { bestSoFar, layoutLineage, parallelAxes, parameterImportance, type Goal, type ParameterRange, type Scalar } from "@/lib/sweep-analysis";
import { formatNumber } from "./format";
import styles from "./sweeps.module.css";

/** The slice of a trial the charts need. */
export interface ChartTrial {
  id: string;
  number: number;
  status: string;
  objective: number | null;
  epoch: number;
  params: Record<string, Scalar | undefined>;
  parentTrialId: string | null;
  exploitEpoch: number | null;
}

const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);

const STATUS_COLOURS: Record<string, string> = {
  running: "var(--accent)",
  cancelling: "var(--accent)",
  completed: "var(--ok)",
  failed: "var(--danger)",
  pruned: "var(--muted)",
  cancelled: "var(--muted)",
  queued: "var(--border)",
};

function Figure({ title, note, wide, children }: { title: string; note?: ReactNode; wide?: boolean; children: ReactNode }) {
  return (
    <figure className={`${styles.card} ${wide ? styles.wide : ""}`} aria-label={title} style={{ margin: 0 }}>
      <h2>{title}</h2>
      {note ? <p className={styles.cardNote}>{note}</p> : null}
      {children}
    </figure>
  );
}

/** Each completed trial's result by trial number, and the best so far as a step line. */
export function BestSoFarChart({ trials, goal, metric }: { trials: ChartTrial[]; goal: Goal; metric: string }) {
  const data = useMemo(() => {
    const done = trials.filter((t) => t.status === "completed").sort((a, b) => a.number - b.number);
    const best = bestSoFar(
      done.map((t) => t.objective ?? NaN),
      goal,
    );
    return done.map((t, i) => ({ number: t.number, objective: finite(t.objective) ? t.objective : null, best: best[i] }));
  }, [trials, goal]);
  return (
    <Figure title="Best so far" note={`${metric} of each completed trial (dots) and the best up to it (line), ${goal === "minimize" ? "lower" : "higher"} is better.`}>
      {data.length === 0 ? (
        <p className={styles.muted}>Appears when the first trial completes.</p>
      ) : (
        <div className={styles.chart}>
          <ResponsiveContainer width="100%" height="100%">
            <ComposedChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="number" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} label={{ value: "trial", position: "insideBottomRight", offset: -4, fontSize: 11 }} />
              <YAxis domain={["auto", "auto"]} tick={{ fontSize: 11 }} width={56} tickFormatter={(v: number) => formatNumber(v)} />
              <Tooltip formatter={(v) => formatNumber(typeof v === "number" ? v : null)} labelFormatter={(n) => `trial #${String(n)}`} />
              <Scatter name={metric} dataKey="objective" fill="var(--muted)" isAnimationActive={false} />
              <Line name="best so far" dataKey="best" type="stepAfter" stroke="var(--accent)" strokeWidth={2} dot={false} isAnimationActive={false} connectNulls />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      )}
    </Figure>
  );
}

const MAX_EPOCH_LINES = 40;

/** The metric per epoch, one line per trial (the best 40 when there are more): where ASHA cut and PBT copied. */
export function EpochObjectiveChart({ trials, points, goal, metric }: { trials: ChartTrial[]; points: { trialId: string; epoch: number; value: number }[]; goal: Goal; metric: string }) {
  const { data, shown } = useMemo(() => {
    const byTrial = new Map<string, Map<number, number>>();
    for (const p of points) {
      if (!byTrial.has(p.trialId)) byTrial.set(p.trialId, new Map());
      byTrial.get(p.trialId)!.set(p.epoch, p.value);
    }
    const lastValue = (id: string) => {
      const m = byTrial.get(id);
      return m && m.size > 0 ? m.get(Math.max(...m.keys()))! : NaN;
    };
    const sign = goal === "minimize" ? 1 : -1;
    const ranked = trials.filter((t) => byTrial.has(t.id)).sort((a, b) => sign * (lastValue(a.id) - lastValue(b.id)) || a.number - b.number);
    const shownTrials = ranked.slice(0, MAX_EPOCH_LINES);
    const epochs = [...new Set(points.map((p) => p.epoch))].sort((a, b) => a - b);
    const rows = epochs.map((epoch) => {
      const row: Record<string, number> = { epoch };
      for (const t of shownTrials) {
        const v = byTrial.get(t.id)?.get(epoch);
        if (v !== undefined) row[t.id] = v;
      }
      return row;
    });
    return { data: rows, shown: shownTrials };
  }, [trials, points, goal]);
  return (
    <Figure title={`${metric} by epoch`} note={shown.length < trials.filter((t) => points.some((p) => p.trialId === t.id)).length ? `The best ${MAX_EPOCH_LINES} trials.` : "One line per trial, coloured by status."}>
      {data.length === 0 ? (
        <p className={styles.muted}>Appears when a trial reports its first epoch.</p>
      ) : (
        <div className={styles.chart}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="epoch" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} label={{ value: "epoch", position: "insideBottomRight", offset: -4, fontSize: 11 }} />
              <YAxis domain={["auto", "auto"]} tick={{ fontSize: 11 }} width={56} tickFormatter={(v: number) => formatNumber(v)} />
              <Tooltip formatter={(v, name) => [formatNumber(typeof v === "number" ? v : null), `#${trials.find((t) => t.id === name)?.number ?? "?"}`]} labelFormatter={(e) => `epoch ${String(e)}`} />
              {shown.map((t) => (
                <Line key={t.id} dataKey={t.id} name={t.id} stroke={STATUS_COLOURS[t.status] ?? "var(--muted)"} strokeWidth={1.5} dot={data.length < 12} isAnimationActive={false} connectNulls />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </Figure>
  );
}

/** Colour from good (accent) to bad (orange) along the objective. */
function goodness(t: number): string {
  return `hsl(${Math.round(255 - t * 225)} 70% 55%)`;
}

/** One vertical axis per searched parameter and one for the objective; each trial is a line across them. */
export function ParallelCoordinates({ trials, parameters, goal, metric }: { trials: ChartTrial[]; parameters: Record<string, ParameterRange>; goal: Goal; metric: string }) {
  const withResult = trials.filter((t) => finite(t.objective) && t.status !== "failed");
  const axes = parallelAxes(
    parameters,
    withResult.map((t) => t.params),
    { name: metric, values: withResult.map((t) => t.objective as number) },
  );
  const W = 1000;
  const H = 280;
  const top = 30;
  const bottom = 24;
  const left = 40;
  const right = 60;
  const x = (i: number) => left + (axes.length === 1 ? 0 : (i * (W - left - right)) / (axes.length - 1));
  const y = (p: number) => top + (1 - p) * (H - top - bottom);
  const objectiveAxis = axes[axes.length - 1];
  return (
    <Figure wide title="Parameters → objective" note={`One line per trial with a result; colour from best (violet) to worst (orange) ${metric}. Log axes for log-uniform parameters.`}>
      {axes.length < 2 || withResult.length === 0 ? (
        <p className={styles.muted}>Appears when a trial has a result and the sweep searches at least one parameter.</p>
      ) : (
        <svg className={styles.svgChart} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Parallel coordinates of ${axes.length - 1} parameters and ${metric} over ${withResult.length} trials`}>
          {withResult.map((t) => {
            const pos = axes.map((a, i) => (i === axes.length - 1 ? a.position(t.objective) : a.position(t.params[a.name])));
            const score = objectiveAxis.position(t.objective) ?? 0.5;
            const bad = goal === "minimize" ? score : 1 - score;
            const pts = pos.map((p, i) => (p === null ? null : `${x(i).toFixed(1)},${y(p).toFixed(1)}`)).filter(Boolean);
            return (
              <polyline key={t.id} data-trial={t.number} points={pts.join(" ")} fill="none" stroke={goodness(bad)} strokeWidth={1.4} strokeOpacity={0.75}>
                <title>{`#${t.number}: ${metric} ${formatNumber(t.objective)}`}</title>
              </polyline>
            );
          })}
          {axes.map((a, i) => (
            <g key={a.name}>
              <line x1={x(i)} x2={x(i)} y1={y(0)} y2={y(1)} stroke="var(--text)" strokeOpacity={0.5} />
              <text x={x(i)} y={14} textAnchor="middle" style={{ fontWeight: 600, fill: "var(--text)" }}>
                {a.name}
              </text>
              {a.ticks.map((tick, k) => (
                <text key={k} x={x(i) + 4} y={y(tick.at) + 4}>
                  {tick.label}
                </text>
              ))}
            </g>
          ))}
        </svg>
      )}
    </Figure>
  );
}

/** |Spearman ρ| or η per parameter over the completed trials. */
export function ImportanceChart({ trials, names, metric }: { trials: ChartTrial[]; names: string[]; metric: string }) {
  const done = trials.filter((t) => t.status === "completed" && finite(t.objective));
  const scores = parameterImportance(
    done.map((t) => ({ params: t.params, value: t.objective as number })),
    names,
  );
  return (
    <Figure
      title="Parameter importance"
      note={`How strongly each parameter orders ${metric} across ${done.length} completed trials: |Spearman ρ| of value vs result for numbers, correlation ratio η of the result's ranks for choices (0 = no relation, 1 = decides it). One parameter at a time, like fANOVA without interactions.`}
    >
      {scores.length === 0 ? (
        <p className={styles.muted}>Appears after 3 completed trials that differ in a parameter.</p>
      ) : (
        <dl className={styles.importance}>
          {scores.map((s) => (
            <div key={s.name} style={{ display: "contents" }}>
              <dt>
                <code>{s.name}</code>
              </dt>
              <dd style={{ margin: 0 }}>
                <div className={styles.importanceBar} style={{ width: `${Math.max(2, s.score * 100)}%` }} role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={Number(s.score.toFixed(3))} aria-label={`${s.name} importance`} />
              </dd>
              <dd
                style={{ margin: 0 }}
                className={styles.progressText}
                title={s.method === "spearman" && s.direction !== 0 ? `higher ${s.name} → ${s.direction > 0 ? "higher" : "lower"} ${metric}` : `${s.name} groups ${metric} by its values`}
              >
                {s.score.toFixed(2)} {s.method === "spearman" ? `ρ${s.direction < 0 ? "−" : "+"}` : "η"}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </Figure>
  );
}

/** PBT: each member a bar over the epochs it trained; an edge where it copied its parent's checkpoint. */
export function LineageGraph({ trials }: { trials: ChartTrial[] }) {
  const { nodes, edges, maxEpoch } = layoutLineage(trials);
  const byId = new Map(trials.map((t) => [t.id, t]));
  const rowH = 24;
  const left = 52;
  const W = 1000;
  const H = nodes.length * rowH + 30;
  const x = (epoch: number) => left + (epoch / maxEpoch) * (W - left - 16);
  const y = (row: number) => 10 + row * rowH + rowH / 2;
  return (
    <Figure wide title="PBT lineage" note="Each bar is a trial over the epochs it trained; a link joins a trial to the parent whose checkpoint it copied, at that epoch. Colour = status.">
      {nodes.length === 0 ? (
        <p className={styles.muted}>Appears when the population starts.</p>
      ) : (
        <svg className={styles.svgChart} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`PBT lineage of ${nodes.length} trials with ${edges.length} exploit steps`}>
          {Array.from({ length: Math.min(maxEpoch, 12) + 1 }, (_, k) => Math.round((k * maxEpoch) / Math.min(maxEpoch, 12))).map((e) => (
            <g key={e}>
              <line x1={x(e)} x2={x(e)} y1={6} y2={H - 18} stroke="var(--border)" />
              <text x={x(e)} y={H - 4} textAnchor="middle">
                {e}
              </text>
            </g>
          ))}
          {edges.map((edge) => (
            <path
              key={edge.childId}
              data-edge={`${byId.get(edge.parentId)?.number}->${byId.get(edge.childId)?.number}`}
              d={`M ${x(edge.epoch)} ${y(edge.fromRow)} C ${x(edge.epoch) - 14} ${y(edge.fromRow)}, ${x(edge.epoch) - 14} ${y(edge.toRow)}, ${x(edge.epoch)} ${y(edge.toRow)}`}
              fill="none"
              stroke="var(--text)"
              strokeOpacity={0.55}
            />
          ))}
          {nodes.map((n) => {
            const t = byId.get(n.id);
            return (
              <a key={n.id} href={`/runs/${n.id}`}>
                <text x={4} y={y(n.row) + 4} style={{ fill: "var(--text)" }}>
                  #{n.number}
                </text>
                <rect x={x(n.from)} y={y(n.row) - 6} width={Math.max(3, x(n.to) - x(n.from))} height={12} rx={3} fill={STATUS_COLOURS[t?.status ?? ""] ?? "var(--muted)"}>
                  <title>{`#${n.number} (${t?.status}): epochs ${n.from}–${n.to}${t?.objective !== null && t?.objective !== undefined ? `, ${formatNumber(t.objective)}` : ""}`}</title>
                </rect>
                {n.from > 0 ? <circle cx={x(n.from)} cy={y(n.row)} r={3} fill="var(--text)" /> : null}
              </a>
            );
          })}
        </svg>
      )}
    </Figure>
  );
}

export function TrialLink({ id, number }: { id: string; number: number }) {
  return <Link href={`/runs/${id}`}>#{number}</Link>;
}
