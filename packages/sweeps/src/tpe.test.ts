import { describe, expect, it } from "vitest";
import reference from "./fixtures/optuna-3.1-parzen.json" with { type: "json" };
import { erfc, logGaussMass, logNdtr, ndtr, ndtri, truncNormPpf } from "./normal.ts";
import { createRng } from "./rng.ts";
import { domainContains, domainOf, type ParameterSpec } from "./space.ts";
import { parseSweepSpec, TpeSettingsSchema } from "./spec.ts";
import { suggestNext } from "./strategies.ts";
import { logLrQuadratic, median, mixedSpace, simulate, syntheticSpec } from "./synthetic.ts";
import {
  categoricalEstimator,
  collectObservations,
  defaultGamma,
  defaultWeights,
  numericEstimator,
  splitObservations,
  toInternal,
  tpeSuggest,
  type Observation,
} from "./tpe.ts";
import type { TrialRecord } from "./trials.ts";

const settings = TpeSettingsSchema.parse({});

describe("normal distribution helpers", () => {
  it("matches known values of erfc, Φ and Φ⁻¹", () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 7);
    expect(erfc(-1)).toBeCloseTo(1.842700792949715, 7);
    expect(ndtr(1.959963984540054)).toBeCloseTo(0.975, 7);
    expect(ndtri(0.975)).toBeCloseTo(1.959963984540054, 6);
    expect(ndtri(1e-10)).toBeCloseTo(-6.361340902404056, 5);
    // Far tail: log Φ(-40) = -804.6084420137538 (mpmath); no underflow.
    expect(logNdtr(-40)).toBeCloseTo(-804.6084420137538, 4);
  });

  it("keeps tail masses finite and the truncated inverse CDF inside its bounds", () => {
    const m = logGaussMass(30, 30.5);
    expect(Number.isFinite(m)).toBe(true);
    expect(m).toBeCloseTo(logNdtr(-30), 1);
    expect(logGaussMass(-1, 1)).toBeCloseTo(Math.log(0.6826894921370859), 6);
    for (const [a, b] of [[-2, 3], [-80, 0.5], [0.2, 40], [-0.01, 0.01]] as const) {
      for (const u of [0, 0.001, 0.3, 0.5, 0.999]) {
        const z = truncNormPpf(u, a, b);
        expect(z).toBeGreaterThanOrEqual(a);
        expect(z).toBeLessThanOrEqual(b);
      }
    }
    // Median of N(0,1) truncated to [-1, 1] is 0; to [0, ∞) it is Φ⁻¹(0.75).
    expect(truncNormPpf(0.5, -1, 1)).toBeCloseTo(0, 6);
    expect(truncNormPpf(0.5, 0, 50)).toBeCloseTo(0.6744897501960817, 5);
  });
});

describe("Parzen estimators match Optuna 3.1 (fixture from bench/optuna-parzen-reference.py)", () => {
  const specs: Record<string, ParameterSpec> = {
    uniform: { distribution: "uniform", min: 0, max: 1 },
    log: { distribution: "log_uniform", min: 1e-5, max: 1e-1 },
    step: { distribution: "q_uniform", min: 0, max: 0.3, q: 0.05 },
    int: { distribution: "int_uniform", min: 16, max: 128, q: 8 },
    intlog: { distribution: "log_uniform", min: 1, max: 1024, q: 1 },
    many: { distribution: "uniform", min: 0, max: 10 },
    empty: { distribution: "uniform", min: 0, max: 1 },
  };
  for (const [name, spec] of Object.entries(specs)) {
    it(`log l(x) for the ${name} case`, () => {
      const ref = (reference as unknown as Record<string, { obs: number[]; xs: number[]; logpdf: number[] }>)[name];
      const d = domainOf(spec);
      if (d.kind !== "numeric") throw new Error("numeric case expected");
      const est = numericEstimator(d, ref.obs.map((v) => toInternal(d, v)), settings);
      ref.xs.forEach((x, i) => expect(est.logPdf(toInternal(d, x))).toBeCloseTo(ref.logpdf[i], 5));
    });
  }
  it("log l(x) for a categorical parameter", () => {
    const ref = reference.cat;
    const est = categoricalEstimator(4, ref.obs, settings);
    ref.xs.forEach((x, i) => expect(est.logPdf(x)).toBeCloseTo(ref.logpdf[i], 10));
  });
  it("default weights, gamma and the below/above split", () => {
    defaultWeights(40).forEach((w, i) => expect(w).toBeCloseTo(reference.weights40[i], 12));
    expect(defaultWeights(3)).toEqual([1, 1, 1]);
    expect([1, 10, 11, 100, 250, 251, 1000].map(defaultGamma)).toEqual([1, 1, 2, 10, 25, 25, 25]);
    const keys: Array<[number, number]> = [[-Infinity, 3], [-5, 1], [-Infinity, 2], [-7, 9], [1, 0], [-Infinity, 0.5], [-7, 0.1]];
    const obs: Observation[] = keys.map((key, i) => ({ key, trial: { number: i, state: "completed", params: {} } }));
    const { below, above } = splitObservations(obs, 3);
    expect(below).toEqual(reference.split.below);
    expect(above).toEqual(reference.split.above);
  });
  it("samples stay inside the domain and on its grid", () => {
    const d = domainOf({ distribution: "int_uniform", min: 16, max: 128, q: 8 });
    if (d.kind !== "numeric") throw new Error("numeric expected");
    const est = numericEstimator(d, [16, 120, 128], settings);
    for (const x of est.sample(createRng(1), 500)) {
      expect(x).toBeGreaterThanOrEqual(16);
      expect(x).toBeLessThanOrEqual(128);
      expect((x - 16) % 8).toBe(0);
    }
  });
});

function spec1d(extra: Record<string, unknown> = {}) {
  return parseSweepSpec({
    name: "1d",
    method: "tpe",
    run_cap: 1000,
    parameters: { label_smoothing: { distribution: "uniform", min: 0, max: 0.5 }, loss: { values: ["bce", "lsgan", "hinge"] } },
    ...extra,
  }).spec;
}

describe("TPE observations", () => {
  it("ranks completed trials first, then pruned/running ones by how far they got (Optuna's (-step, value) keys)", () => {
    const spec = spec1d();
    const history: TrialRecord[] = [
      { number: 0, state: "completed", params: {}, value: 0.5 },
      { number: 1, state: "pruned", params: {}, intermediate: [{ epoch: 1, value: 0.9 }, { epoch: 4, value: 0.2 }] },
      { number: 2, state: "running", params: {}, intermediate: [{ epoch: 2, value: 0.1 }] },
      { number: 3, state: "failed", params: {}, intermediate: [{ epoch: 2, value: 0.05 }] },
      { number: 4, state: "pruned", params: {} },
      { number: 5, state: "running", params: {} },
      { number: 6, state: "completed", params: {}, value: Number.NaN },
    ];
    const { observations, n } = collectObservations(spec, history);
    expect(observations.map((o) => [o.trial.number, o.key])).toEqual([
      [0, [-Infinity, 0.5]],
      [1, [-4, 0.2]],
      [2, [-2, 0.1]],
      [4, [1, 0]],
      [6, [-Infinity, Infinity]],
    ]);
    expect(n).toBe(5);
    // Maximize flips signs; constant_liar adds not-yet-reporting running trials as the worst, uncounted.
    const liar = collectObservations(spec1d({ metric: { goal: "maximize" }, tpe: { constant_liar: true } }), history);
    expect(liar.observations.find((o) => o.trial.number === 0)!.key).toEqual([-Infinity, -0.5]);
    expect(liar.observations.find((o) => o.trial.number === 5)!.key).toEqual([Infinity, Infinity]);
    expect(liar.n).toBe(5);
  });

  it("uses random startup until n_startup_trials observations, then TPE", () => {
    const spec = spec1d({ tpe: { n_startup_trials: 3 } });
    const history: TrialRecord[] = [];
    const sources: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = suggestNext(spec, history);
      if (s.status !== "trial") throw new Error(s.reason);
      sources.push(s.source);
      history.push({ number: s.trialNumber, state: "completed", params: s.params, value: i });
    }
    expect(sources).toEqual(["tpe-startup", "tpe-startup", "tpe-startup", "tpe", "tpe"]);
  });

  it("is deterministic for (seed, history, trial number) and varies with them", () => {
    const spec = spec1d();
    const history: TrialRecord[] = Array.from({ length: 20 }, (_, i) => ({
      number: i,
      state: "completed" as const,
      params: { label_smoothing: (i * 0.37) % 0.5, loss: ["bce", "lsgan", "hinge"][i % 3] },
      value: ((i * 0.37) % 0.5) - 0.2,
    }));
    const a = tpeSuggest(spec, history, 20);
    expect(tpeSuggest(spec, [...history].reverse(), 20)).toEqual(a);
    expect(tpeSuggest(spec, history, 21)).not.toEqual(a);
    expect(tpeSuggest(spec1d({ seed: 7 }), history, 20)).not.toEqual(a);
  });

  it("concentrates suggestions where the good trials were, for numbers and for choices", () => {
    const spec = spec1d();
    // Good results near label_smoothing 0.1 with loss "hinge"; everything else is bad.
    const history: TrialRecord[] = Array.from({ length: 60 }, (_, i) => {
      const ls = (i * 0.6180339887) % 0.5;
      const loss = ["bce", "lsgan", "hinge"][i % 3];
      return { number: i, state: "completed" as const, params: { label_smoothing: ls, loss }, value: Math.abs(ls - 0.1) + (loss === "hinge" ? 0 : 0.3) };
    });
    const picks = Array.from({ length: 40 }, (_, k) => tpeSuggest(spec, history, 60 + k).params);
    const ls = picks.map((p) => p.label_smoothing as number);
    expect(Math.abs(median(ls) - 0.1)).toBeLessThan(0.05);
    expect(picks.filter((p) => p.loss === "hinge").length).toBeGreaterThanOrEqual(30);
  });

  it("learns from pruned trials' last intermediate values", () => {
    const spec = spec1d({ tpe: { n_startup_trials: 5 } });
    // Only pruned trials: the ones near 0.4 got furthest and had the best last values.
    const history: TrialRecord[] = Array.from({ length: 40 }, (_, i) => {
      const ls = (i * 0.6180339887) % 0.5;
      const good = Math.abs(ls - 0.4) < 0.05;
      return {
        number: i,
        state: "pruned" as const,
        params: { label_smoothing: ls, loss: "bce" },
        intermediate: good ? [{ epoch: 6, value: 0.1 }] : [{ epoch: 2, value: 0.8 }],
      };
    });
    const ls = Array.from({ length: 30 }, (_, k) => tpeSuggest(spec, history, 40 + k).params.label_smoothing as number);
    expect(Math.abs(median(ls) - 0.4)).toBeLessThan(0.05);
  });
});

describe("TPE robustness", () => {
  it("always suggests values inside the spec, whatever the history holds", () => {
    const spec = parseSweepSpec({
      name: "fuzz",
      method: "tpe",
      run_cap: 1000,
      metric: { goal: "maximize" },
      tpe: { n_startup_trials: 2, constant_liar: true },
      parameters: {
        ...mixedSpace.parameters,
        lr_d: { distribution: "log_uniform", min: 1e-5, max: 1e-2, q: 1e-5 },
        d_steps: { distribution: "log_uniform", min: 1, max: 8, q: 1 },
        beta1: { distribution: "q_uniform", min: 0, max: 0.9, q: 0.3 },
      },
    }).spec;
    const states = ["completed", "pruned", "running", "failed", "cancelled"] as const;
    const rng = createRng("fuzz");
    for (let round = 0; round < 40; round++) {
      const size = rng.int(60);
      const history: TrialRecord[] = Array.from({ length: size }, (_, i) => {
        const params = { ...tpeSuggest(spec, [], 1000 + round * 100 + i).params };
        if (rng.next() < 0.1) params.lr_g = 5; // a value outside the spec (spec edited later)
        const value = rng.next() < 0.1 ? Number.NaN : rng.normal();
        const epochs = rng.int(4);
        return {
          number: i,
          state: states[rng.int(states.length)],
          params,
          value: rng.next() < 0.2 ? null : value,
          intermediate: Array.from({ length: epochs }, (_, e) => ({ epoch: e + 1, value: rng.next() < 0.05 ? Number.POSITIVE_INFINITY : rng.normal() })),
        };
      });
      const next = suggestNext(spec, history);
      if (next.status !== "trial") throw new Error(next.reason);
      for (const [name, value] of Object.entries(next.params)) expect(domainContains(domainOf(spec.parameters[name]), value), `${name}=${String(value)}`).toBe(true);
      expect(Number.isInteger(next.params.d_steps)).toBe(true);
      expect([0, 0.3, 0.6, 0.9]).toContain(next.params.beta1);
    }
  });
});

describe("TPE beats random search on synthetic objectives (median best after 50 trials, 20 seeds)", () => {
  // Measured when written: log-lr quadratic random 0.175 vs TPE 0.062 (TPE better on 17/20 seeds);
  // mix random 0.344 vs TPE 0.065 (17/20). Asserted with slack: TPE's median best is under 60% of
  // random's and TPE wins on at least 14 of 20 seeds.
  for (const objective of [logLrQuadratic, mixedSpace]) {
    it(objective.name, () => {
      const random: number[] = [];
      const tpe: number[] = [];
      for (let seed = 0; seed < 20; seed++) {
        random.push(simulate(syntheticSpec(objective, "random", 50, seed), objective)[49]);
        tpe.push(simulate(syntheticSpec(objective, "tpe", 50, seed), objective)[49]);
      }
      const wins = tpe.filter((v, i) => v < random[i]).length;
      expect(median(tpe)).toBeLessThan(0.6 * median(random));
      expect(wins).toBeGreaterThanOrEqual(14);
    });
  }
});
