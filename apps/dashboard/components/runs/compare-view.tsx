"use client";

import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@ganboard/api";
import { memo, useMemo, useState } from "react";
import { configRows, isRunId, parseRunsParam, RUN_COLOURS, toChartPoints, wallStartOf, withBuckets, X_AXIS_LABELS } from "@/lib/chart-series";
import { useTRPC } from "@/lib/trpc/client";
import { ChartControls, compareMetricKeys, DEFAULT_CHART_SETTINGS, epochEndsOf, isPerEpoch, type ChartContext, type ChartSettings } from "./charts";
import { EpochSlider, GridImage } from "./grid-viewer";
import { StatusBadge } from "./health-badges";
import { MetricChart } from "./metric-chart";
import { LIVE_REFRESH_MS } from "./run-view";
import styles from "./runs.module.css";

const MAX_RUNS = 10;
/** Compare charts sit two to a row (≤ ~500 px wide): 800 buckets still exceed their pixels. */
const COMPARE_POINTS = 800;
const colour = (i: number) => RUN_COLOURS[i % RUN_COLOURS.length];

// Module-level, so react-query keeps the selected data (and the charts' memos) while nothing changed.
const selectBuckets = (d: inferRouterOutputs<AppRouter>["runs"]["compare"]) => ({ ...d, runs: d.runs.map(withBuckets) });

export function CompareView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const requested = parseRunsParam(params.get("runs"));
  const ids = requested.filter(isRunId).slice(0, MAX_RUNS);
  const invalid = requested.filter((id) => !isRunId(id));

  const setIds = (next: string[]) => {
    const query = next.length > 0 ? `?runs=${next.join(",")}` : "";
    router.replace(`${pathname}${query}`, { scroll: false });
  };

  return (
    <div className={styles.page}>
      <h1 className="page-title">Compare runs</h1>
      {invalid.length > 0 ? (
        <div role="alert" className={styles.error}>
          Ignored {invalid.length === 1 ? "a value that is not a run id" : "values that are not run ids"}: {invalid.map((v) => `“${v}”`).join(", ")}.
        </div>
      ) : null}
      {requested.length > MAX_RUNS ? (
        <div role="alert" className={styles.error}>
          Showing the first {MAX_RUNS} of {requested.length} runs: compare at most {MAX_RUNS} at a time.
        </div>
      ) : null}
      <RunPicker ids={ids} onChange={setIds} />
      {ids.length === 0 ? (
        <p className={styles.muted}>
          Pick two to {MAX_RUNS} runs above, or select rows on a sweep&apos;s trials table and press Compare. The address of this page holds the
          selection, so it can be shared.
        </p>
      ) : (
        <CompareRuns ids={ids} onRemove={(id) => setIds(ids.filter((x) => x !== id))} />
      )}
    </div>
  );
}

function RunPicker({ ids, onChange }: { ids: string[]; onChange: (ids: string[]) => void }) {
  const trpc = useTRPC();
  const recent = useQuery(trpc.runs.recent.queryOptions({ limit: 200 }));
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState<string | null>(null);
  const add = (value: string) => {
    // Accept a bare id or a pasted run address (…/runs/<id>).
    const id = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(value.trim())?.[1]?.toLowerCase();
    if (!id) return setError(`“${value.trim()}” is not a run id or a run address.`);
    if (ids.includes(id)) return setError("That run is already compared.");
    if (ids.length >= MAX_RUNS) return setError(`Compare at most ${MAX_RUNS} runs: remove one first.`);
    setError(null);
    setPasted("");
    onChange([...ids, id]);
  };
  const choices = (recent.data ?? []).filter((r) => !ids.includes(r.id));
  return (
    <div className={styles.controls} role="group" aria-label="Runs to compare">
      <label>
        Add run{" "}
        <select
          aria-label="Add run"
          value=""
          disabled={ids.length >= MAX_RUNS || choices.length === 0}
          onChange={(e) => e.target.value && add(e.target.value)}
        >
          <option value="">{recent.isPending ? "Loading runs…" : choices.length === 0 ? "No other runs" : "Choose a run…"}</option>
          {choices.map((r) => (
            <option key={r.id} value={r.id}>
              {r.title} · {r.status}
            </option>
          ))}
        </select>
      </label>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (pasted.trim()) add(pasted);
        }}
      >
        <label>
          Run id or address{" "}
          <input value={pasted} onChange={(e) => setPasted(e.target.value)} placeholder="paste /runs/… link" aria-invalid={error ? true : undefined} aria-describedby={error ? "picker-error" : undefined} />
        </label>{" "}
        <button type="submit" className={styles.button}>
          Add
        </button>
      </form>
      {error ? (
        <span id="picker-error" role="alert" className={styles.errorText}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

function CompareRuns({ ids, onRemove }: { ids: string[]; onRemove: (id: string) => void }) {
  const trpc = useTRPC();
  const data = useQuery(
    trpc.runs.compare.queryOptions(
      { ids, maxPoints: COMPARE_POINTS },
      {
        refetchInterval: (q) => (q.state.data?.runs.some((r) => r.run.live) ? LIVE_REFRESH_MS : false),
        placeholderData: (prev) => prev,
        select: selectBuckets,
      },
    ),
  );
  // Ten overlapping bands hide more than they show (and cost as much SVG as the lines): off beyond four runs.
  const [settings, setSettings] = useState<ChartSettings>(() => ({ ...DEFAULT_CHART_SETTINGS, envelope: ids.length <= 4 }));
  const [epoch, setEpoch] = useState<number | null>(null);
  const [onlyDiff, setOnlyDiff] = useState(true);

  const runs = useMemo(() => data.data?.runs ?? [], [data.data]);
  const contexts = useMemo(
    () => new Map(runs.map((r) => [r.run.id, { epochEnds: epochEndsOf(r.samples), wallStart: wallStartOf(r.series) }])),
    [runs],
  );

  if (data.isPending) {
    return (
      <p role="status" className={styles.muted}>
        Loading {ids.length} runs…
      </p>
    );
  }
  if (data.isError) {
    return (
      <div role="alert" className={styles.error}>
        <strong>Cannot compare these runs.</strong> {data.error.message}
      </div>
    );
  }

  const epochs = [...new Set(runs.flatMap((r) => r.samples.map((s) => s.epoch)))].sort((a, b) => a - b);
  const shownEpoch = epoch ?? epochs[epochs.length - 1] ?? 1;
  const rows = configRows(
    runs.map((r) => r.run.config),
    onlyDiff,
  );

  return (
    <>
      {data.data.missing.length > 0 ? (
        <div role="alert" className={styles.error}>
          {data.data.missing.length} of the runs in the address no longer exist{" "}
          <button type="button" className={styles.button} onClick={() => data.data.missing.forEach(onRemove)}>
            Remove them
          </button>
        </div>
      ) : null}
      <ul className={styles.runChips} aria-label="Compared runs">
        {runs.map((r, i) => (
          <li key={r.run.id} className={styles.runChip} style={{ borderColor: colour(i) }}>
            <span className={styles.swatch} style={{ background: colour(i) }} aria-hidden />
            <Link href={`/runs/${r.run.id}`}>{r.run.title}</Link> <StatusBadge status={r.run.status} />
            <button type="button" className={styles.chipRemove} onClick={() => onRemove(r.run.id)} aria-label={`Remove ${r.run.title}`}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {runs.length === 1 ? <p className={styles.muted}>Add at least one more run to compare.</p> : null}

      <section aria-labelledby="cmp-metrics">
        <div className={styles.titleRow}>
          <h2 id="cmp-metrics" className={styles.sectionTitle}>
            Metrics
          </h2>
          <ChartControls settings={settings} onChange={setSettings} />
        </div>
        <CompareCharts runs={runs} settings={settings} contexts={contexts} />
      </section>

      <section className={styles.card} aria-labelledby="cmp-samples">
        <h2 id="cmp-samples" className={styles.sectionTitle}>
          Samples
        </h2>
        <EpochSlider epochs={epochs} value={epoch} onChange={setEpoch} />
        <div className={styles.gridRow}>
          {runs.map((r, i) => (
            <figure key={r.run.id} className={styles.gridCell} style={{ borderColor: colour(i) }}>
              <GridImage trialId={r.run.id} samples={r.samples} epoch={shownEpoch} label={`Sample grid of ${r.run.title}`} />
              <figcaption>{r.run.title}</figcaption>
            </figure>
          ))}
        </div>
      </section>

      <section className={styles.card} aria-labelledby="cmp-config">
        <div className={styles.titleRow}>
          <h2 id="cmp-config" className={styles.sectionTitle}>
            Config
          </h2>
          <label>
            <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> Only differences
          </label>
        </div>
        {rows.length === 0 ? (
          <p className={styles.muted}>{onlyDiff ? "These runs have identical configs." : "No config."}</p>
        ) : (
          <div className={styles.tableWrap}>
            <table className={styles.table} aria-label="Config">
              <thead>
                <tr>
                  <th scope="col">Setting</th>
                  {runs.map((r, i) => (
                    <th key={r.run.id} scope="col" style={{ color: colour(i) }}>
                      {r.run.title}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.key}>
                    <th scope="row">
                      <code>{row.key}</code>
                    </th>
                    {row.values.map((v, i) => (
                      <td key={runs[i].run.id}>{v ?? "—"}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

type ComparedRun = ReturnType<typeof selectBuckets>["runs"][number];

/**
 * One chart per metric, a line per run. Memoised: moving the Epoch slider re-renders the grids
 * only, not 10 runs × 800 points of SVG.
 */
const CompareCharts = memo(function CompareCharts({
  runs,
  settings,
  contexts,
}: {
  runs: readonly ComparedRun[];
  settings: ChartSettings;
  contexts: ReadonlyMap<string, ChartContext>;
}) {
  const charts = useMemo(() => {
    const keys = [...new Set(runs.flatMap((r) => r.series.map((s) => s.key)))].sort(compareMetricKeys);
    return keys.map((key) => ({
      key,
      lines: runs.map((r, i) => ({
        id: r.run.id,
        name: r.run.title,
        colour: colour(i),
        points: toChartPoints(r.series.find((s) => s.key === key)?.buckets ?? [], {
          ...settings,
          smoothing: isPerEpoch(key) ? 0 : settings.smoothing,
          ...(contexts.get(r.run.id) ?? { epochEnds: new Map<number, number>(), wallStart: 0 }),
        }),
      })),
    }));
  }, [runs, settings, contexts]);
  if (charts.length === 0) return <p className={styles.muted}>None of these runs has logged metrics yet.</p>;
  return (
    <div className={styles.chartGrid}>
      {charts.map(({ key, lines }) => (
        <MetricChart
          key={key}
          title={key}
          xLabel={X_AXIS_LABELS[settings.xAxis]}
          logScale={settings.logScale}
          envelope={settings.envelope}
          referenceY={key === "d_real" || key.startsWith("d_fake") ? 0.5 : undefined}
          lines={lines}
        />
      ))}
    </div>
  );
});
