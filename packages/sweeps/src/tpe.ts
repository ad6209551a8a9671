import { createRng, type Rng } from "./rng.ts";
import { logGaussMass, normLogPdf, truncNormPpf } from "./normal.ts";
import { clean, domainContains, domainOf, sampleDomain, snap, type Domain, type Scalar } from "./space.ts";
import { searchedParameterNames, tpeSettings, type SweepSpec, type TpeSettings } from "./spec.ts";
import { goalSign, lossOf, sortedReports, type TrialRecord } from "./trials.ts";

/**
 * Univariate TPE, following Optuna 3.1's TPESampler (optuna/samplers/_tpe/sampler.py and
 * parzen_estimator.py) with its defaults: n_startup_trials 10, n_ei_candidates 24, gamma(n) =
 * min(ceil(0.1·n), 25), weights flat up to 25 observations then a linear ramp favouring recent trials,
 * prior_weight 1, magic clip on, endpoints off.
 *
 * One deliberate extension: a running trial that has reported epochs counts like a pruned trial
 * (its newest report ranks it), because GAN trials run for a long time and parallel runners would
 * otherwise sample blind. Optuna 3.1 only looks at running trials with constant_liar.
 */

export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default_weights: ones up to 25, else linspace(1/n, 1, n-25) followed by 25 ones. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

/** An observation's rank key, compared lexicographically: [-epoch or -Infinity for finished, loss]. */
export interface Observation {
  trial: TrialRecord;
  key: [number, number];
}

/**
 * Trials TPE learns from, in trial-number order, with Optuna's ranking keys:
 * completed → (-∞, loss); pruned/cancelled/running with reports → (-last epoch, loss at it), so a trial
 * that got further ranks ahead; pruned without reports → (1, 0); running without reports → (+∞, +∞)
 * only with constant_liar ("pretend it is the worst"). Failed trials are ignored.
 */
export function collectObservations(spec: Pick<SweepSpec, "metric" | "tpe">, history: readonly TrialRecord[]): { observations: Observation[]; n: number } {
  const sign = goalSign(spec.metric.goal);
  const liar = tpeSettings(spec).constant_liar;
  const observations: Observation[] = [];
  let n = 0;
  const ordered = [...history].sort((a, b) => a.number - b.number);
  for (const trial of ordered) {
    if (trial.state === "failed") continue;
    if (trial.state === "completed" && trial.value !== undefined && trial.value !== null) {
      observations.push({ trial, key: [-Infinity, lossOf(trial.value, sign)] });
      n++;
      continue;
    }
    const reports = sortedReports(trial);
    if (reports.length > 0) {
      const last = reports[reports.length - 1];
      observations.push({ trial, key: [-last.epoch, lossOf(last.value, sign)] });
      n++;
    } else if (trial.state === "pruned" || trial.state === "cancelled") {
      observations.push({ trial, key: [1, 0] });
      n++;
    } else if (trial.state === "running" && liar) {
      observations.push({ trial, key: [Infinity, Infinity] });
    }
  }
  return { observations, n };
}

/** Indices (into `observations`) of the best `nBelow` and the rest, each in chronological order. */
export function splitObservations(observations: readonly Observation[], nBelow: number): { below: number[]; above: number[] } {
  const order = observations.map((_, i) => i);
  order.sort((i, j) => {
    const a = observations[i].key;
    const b = observations[j].key;
    if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
    if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
    return i - j;
  });
  const below = order.slice(0, nBelow).sort((a, b) => a - b);
  const above = order.slice(nBelow).sort((a, b) => a - b);
  return { below, above };
}

type NumericDomain = Extract<Domain, { kind: "numeric" }>;

/** A Parzen mixture over one parameter, in Optuna's internal space (log for log scales, index for choices). */
export interface ParzenEstimator {
  sample(rng: Rng, size: number): number[];
  logPdf(x: number): number;
}

function mixtureWeights(n: number, priorWeight: number): number[] {
  const w = n === 0 ? [] : defaultWeights(n);
  w.push(priorWeight);
  const sum = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / sum);
}

function pickComponent(cumulative: readonly number[], u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulativeOf(weights: readonly number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  for (const w of weights) out.push((acc += w));
  out[out.length - 1] = 1;
  return out;
}

/** Bounds in internal space and the rounding step (Optuna's _calculate_parzen_bounds). */
function internalBounds(d: NumericDomain): { low: number; high: number; q: number | null } {
  if (d.log) {
    if (d.step !== null) {
      const lo = d.low - d.step / 2 > 0 ? d.low - d.step / 2 : d.low;
      return { low: Math.log(lo), high: Math.log(d.high + d.step / 2), q: null };
    }
    return { low: Math.log(d.low), high: Math.log(d.high), q: null };
  }
  if (d.step !== null) return { low: d.low - d.step / 2, high: d.high + d.step / 2, q: d.step };
  return { low: d.low, high: d.high, q: null };
}

export function toInternal(d: Domain, value: Scalar): number {
  if (d.kind === "categorical") return d.values.findIndex((v) => v === value);
  if (d.kind === "numeric") return d.log ? Math.log(value as number) : (value as number);
  return 0;
}

export function fromInternal(d: Domain, x: number): Scalar {
  if (d.kind === "categorical") return d.values[x];
  if (d.kind === "numeric") return d.log ? snap(d, Math.exp(x)) : d.step !== null ? snap(d, x) : clean(Math.min(d.high, Math.max(d.low, x)));
  return d.value;
}

export function numericEstimator(d: NumericDomain, observations: readonly number[], settings: TpeSettings): ParzenEstimator {
  const { low, high, q } = internalBounds(d);
  const n = observations.length;
  const weights = mixtureWeights(n, settings.prior_weight);
  const priorMu = 0.5 * (low + high);
  const mus = [...observations, priorMu];

  // Optuna's univariate bandwidth: distance to the farther neighbour among the sorted means (with the
  // domain ends as outer neighbours), the outermost ones using their inner neighbour unless
  // consider_endpoints; clipped to [range / min(100, n_kernels + 1), range]; the prior gets the range.
  const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b] || a - b);
  const withEnds = [low, ...order.map((i) => mus[i]), high];
  const sortedSigmas: number[] = [];
  for (let k = 1; k < withEnds.length - 1; k++) sortedSigmas.push(Math.max(withEnds[k] - withEnds[k - 1], withEnds[k + 1] - withEnds[k]));
  if (!settings.consider_endpoints && withEnds.length >= 4) {
    sortedSigmas[0] = withEnds[2] - withEnds[1];
    sortedSigmas[sortedSigmas.length - 1] = withEnds[withEnds.length - 2] - withEnds[withEnds.length - 3];
  }
  const sigmas = new Array<number>(mus.length);
  order.forEach((original, sortedPos) => (sigmas[original] = sortedSigmas[sortedPos]));
  const maxSigma = high - low;
  const minSigma = settings.consider_magic_clip ? (high - low) / Math.min(100, 1 + mus.length) : 1e-12;
  for (let i = 0; i < sigmas.length; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]));
  sigmas[n] = high - low;

  const logW = weights.map(Math.log);
  const logMass = mus.map((mu, i) => logGaussMass((low - mu) / sigmas[i], (high - mu) / sigmas[i]));
  // Per-kernel constant of the continuous log density: log w - log σ - log √(2π) - log Z.
  const contConst = Float64Array.from(mus, (_, i) => logW[i] - Math.log(sigmas[i]) + normLogPdf(0) - logMass[i]);
  const invSigmas = Float64Array.from(sigmas, (s) => 1 / s);
  const kernels = mus.length;
  const scratch = new Float64Array(kernels);
  const cumulative = cumulativeOf(weights);

  return {
    sample(rng, size) {
      const out: number[] = [];
      for (let s = 0; s < size; s++) {
        const k = pickComponent(cumulative, rng.next());
        const z = truncNormPpf(rng.next(), (low - mus[k]) / sigmas[k], (high - mus[k]) / sigmas[k]);
        let x = mus[k] + sigmas[k] * z;
        // Back to a representable value (step grid, log rounding), then into internal space again,
        // exactly as Optuna evaluates its untransformed-then-transformed samples.
        x = toInternal(d, fromInternal(d, x));
        out.push(x);
      }
      return out;
    },
    logPdf(x) {
      // Kernels more than e^40 below the largest term change the sum by < 1e-14: skip their exp (and,
      // for step grids, their exact interval mass), which is most of them in a 1000-trial sweep.
      const SKIP = 40;
      let max = -Infinity;
      const terms = scratch;
      if (q === null) {
        if (x < low || x > high) return -Infinity;
        for (let k = 0; k < kernels; k++) {
          const z = (x - mus[k]) * invSigmas[k];
          const t = contConst[k] - 0.5 * z * z;
          terms[k] = t;
          if (t > max) max = t;
        }
      } else {
        const lower = Math.max(x - q / 2, low);
        const upper = Math.min(x + q / 2, high);
        const logWidth = Math.log(upper - lower);
        // Upper bound of each kernel's term: interval width × the density at the interval's point
        // nearest the kernel's mean. Exact masses only for kernels whose bound can matter.
        let bestBound = -Infinity;
        let bestK = 0;
        for (let k = 0; k < kernels; k++) {
          const m = mus[k];
          const zNear = (m < lower ? lower - m : m > upper ? m - upper : 0) * invSigmas[k];
          const bound = contConst[k] + logWidth - 0.5 * zNear * zNear;
          terms[k] = bound;
          if (bound > bestBound) {
            bestBound = bound;
            bestK = k;
          }
        }
        const exact = (k: number) => logW[k] + logGaussMass((lower - mus[k]) * invSigmas[k], (upper - mus[k]) * invSigmas[k]) - logMass[k];
        max = exact(bestK);
        terms[bestK] = max;
        for (let k = 0; k < kernels; k++) {
          if (k === bestK) continue;
          if (terms[k] < max - SKIP) {
            terms[k] = -Infinity;
            continue;
          }
          const t = exact(k);
          terms[k] = t;
          if (t > max) max = t;
        }
      }
      if (max === -Infinity) return -Infinity;
      let sum = 0;
      const cutoff = max - SKIP;
      for (let k = 0; k < kernels; k++) {
        const t = terms[k];
        if (t > cutoff) sum += Math.exp(t - max);
      }
      return max + Math.log(sum);
    },
  };
}

export function categoricalEstimator(nChoices: number, observations: readonly number[], settings: TpeSettings): ParzenEstimator {
  const n = observations.length;
  const weights = mixtureWeights(n, settings.prior_weight);
  // Each kernel: prior_weight/(n+1) on every choice plus 1 on its observed choice, normalised
  // (the prior kernel is uniform). The mixture's probability per choice is what l(x) and g(x) need.
  const fill = settings.prior_weight / (n + 1);
  const rowSum = fill * nChoices;
  const probs = new Array<number>(nChoices).fill(0);
  for (let k = 0; k <= n; k++) {
    const isObserved = k < n;
    const denom = rowSum + (isObserved ? 1 : 0);
    for (let c = 0; c < nChoices; c++) probs[c] += (weights[k] * (fill + (isObserved && observations[k] === c ? 1 : 0))) / denom;
  }
  const cumulative = cumulativeOf(probs);
  return {
    // Sampling a component then a choice from its row is the same distribution as sampling the
    // mixture's per-choice probabilities directly.
    sample(rng, size) {
      const out: number[] = [];
      for (let s = 0; s < size; s++) out.push(pickComponent(cumulative, rng.next()));
      return out;
    },
    logPdf(x) {
      return Math.log(probs[x]);
    },
  };
}

/** Picks the candidate maximising log l(x) - log g(x); the first one wins ties, like numpy's argmax. */
function bestCandidate(samples: readonly number[], below: ParzenEstimator, above: ParzenEstimator): number {
  let best = samples[0];
  let bestScore = -Infinity;
  for (const x of samples) {
    const score = below.logPdf(x) - above.logPdf(x);
    if (score > bestScore) {
      bestScore = score;
      best = x;
    }
  }
  return best;
}

/**
 * TPE's choice for every searched parameter of trial `trialNumber`. Randomness is seeded by
 * (spec.seed, trial number, parameter), so the same history always gives the same suggestion.
 */
export function tpeSuggest(spec: SweepSpec, history: readonly TrialRecord[], trialNumber: number): { params: Record<string, Scalar>; startup: boolean } {
  const settings = tpeSettings(spec);
  const names = searchedParameterNames(spec);
  const { observations, n } = collectObservations(spec, history);
  const params: Record<string, Scalar> = {};
  if (n < settings.n_startup_trials) {
    for (const name of names) params[name] = sampleDomain(domainOf(spec.parameters[name]), createRng(spec.seed, "tpe-startup", trialNumber, name));
    return { params, startup: true };
  }
  const { below, above } = splitObservations(observations, defaultGamma(n));
  for (const name of names) {
    const d = domainOf(spec.parameters[name]);
    const rng = createRng(spec.seed, "tpe", trialNumber, name);
    const internalOf = (indices: number[]): number[] => {
      const out: number[] = [];
      for (const i of indices) {
        const v = observations[i].trial.params[name];
        // A trial without this parameter (spec edited, PBT-changed value outside the domain) says nothing about it.
        if (v !== undefined && domainContains(d, v)) out.push(toInternal(d, v));
      }
      return out;
    };
    const belowObs = internalOf(below);
    const aboveObs = internalOf(above);
    let lEst: ParzenEstimator;
    let gEst: ParzenEstimator;
    if (d.kind === "categorical") {
      lEst = categoricalEstimator(d.values.length, belowObs, settings);
      gEst = categoricalEstimator(d.values.length, aboveObs, settings);
    } else if (d.kind === "numeric") {
      lEst = numericEstimator(d, belowObs, settings);
      gEst = numericEstimator(d, aboveObs, settings);
    } else {
      continue;
    }
    const samples = lEst.sample(rng, settings.n_ei_candidates);
    params[name] = fromInternal(d, bestCandidate(samples, lEst, gEst));
  }
  return { params, startup: false };
}
