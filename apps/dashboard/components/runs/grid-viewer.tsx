"use client";

import { useEffect, useRef, useState } from "react";
import styles from "./runs.module.css";

export interface SampleInfo {
  epoch: number;
  step: number;
  width: number;
  height: number;
  version: number;
}

/** The one image route; `v` changes when a resumed attempt re-writes the epoch, so the URL can be cached forever. */
export function gridUrl(trialId: string, sample: SampleInfo): string {
  return `/api/trials/${trialId}/grid/${sample.epoch}?v=${sample.version}`;
}

/** The grid shown for `epoch`: that epoch's, else the newest one before it. */
export function sampleAt(samples: readonly SampleInfo[], epoch: number): SampleInfo | undefined {
  let found: SampleInfo | undefined;
  for (const s of samples) if (s.epoch <= epoch) found = s;
  return found;
}

const preloaded = new Set<string>();
/** Warms the browser cache for nearby epochs so moving the slider shows the next grid at once. */
function preload(urls: string[]): void {
  for (const url of urls) {
    if (preloaded.has(url)) continue;
    preloaded.add(url);
    const img = new Image();
    img.decoding = "async";
    img.src = url;
  }
}

export function GridImage({ trialId, samples, epoch, label }: { trialId: string; samples: readonly SampleInfo[]; epoch: number; label: string }) {
  const sample = sampleAt(samples, epoch);
  useEffect(() => {
    if (!sample) return;
    const i = samples.indexOf(sample);
    preload(samples.slice(Math.max(0, i - 3), i + 4).map((s) => gridUrl(trialId, s)));
  }, [trialId, samples, sample]);
  if (!sample) {
    return (
      <div className={styles.gridEmpty} role="img" aria-label={`${label}: no sample grid yet`}>
        {samples.length === 0 ? "No sample grid yet — the first one appears when epoch 1 ends." : `No grid at epoch ${epoch} yet.`}
      </div>
    );
  }
  return (
    // A plain <img>: the route already serves final PNGs, which next/image would only re-encode.
    <img
      className={styles.gridImage}
      src={gridUrl(trialId, sample)}
      alt={`${label} at epoch ${sample.epoch}`}
      width={sample.width}
      height={sample.height}
      loading="lazy"
      decoding="async"
    />
  );
}

/**
 * An "Epoch" slider over the epochs that have grids, with play/pause. `value` null means "follow the
 * newest epoch" (a running trial's grid advances on its own until the user moves the slider).
 */
export function EpochSlider({ epochs, value, onChange }: { epochs: readonly number[]; value: number | null; onChange: (epoch: number | null) => void }) {
  const [playing, setPlaying] = useState(false);
  const first = epochs[0] ?? 1;
  const last = epochs[epochs.length - 1] ?? 1;
  const current = value ?? last;
  const latest = useRef({ current, onChange, last, first });
  latest.current = { current, onChange, last, first };

  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      const { current: c, onChange: change, last: l, first: f } = latest.current;
      change(c >= l ? f : c + 1);
    }, 450);
    return () => clearInterval(timer);
  }, [playing]);

  const disabled = epochs.length < 2;
  return (
    <div className={styles.sliderRow}>
      <button type="button" className={styles.button} onClick={() => setPlaying((p) => !p)} disabled={disabled} aria-pressed={playing}>
        {playing ? "Pause" : "Play"}
      </button>
      <label className={styles.sliderLabel}>
        <span>Epoch</span>
        <input
          type="range"
          aria-label="Epoch"
          min={first}
          max={last}
          step={1}
          value={current}
          disabled={disabled}
          onChange={(e) => {
            setPlaying(false);
            const epoch = Number(e.target.value);
            onChange(epoch >= last ? null : epoch);
          }}
        />
        <output className={styles.sliderValue} aria-live="polite">
          {current} / {last}
        </output>
      </label>
    </div>
  );
}
