/**
 * The few pieces of the normal distribution TPE needs, written to stay finite in the tails:
 * the Parzen kernels of a 1000-trial sweep put candidates up to ~100 sigmas away from some kernels.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT1_2 = Math.SQRT1_2;

/**
 * log(erfc(x)) for x >= 0, from the Chebyshev-fitted form erfc(x) = t·exp(-x² + P(t)) (Numerical
 * Recipes' erfcc, relative error < 1.2e-7 everywhere). Taking the log of that form directly never
 * underflows, however far in the tail x is.
 */
function logErfcNonNegative(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** erfc(x) for any x. */
export function erfc(x: number): number {
  if (x >= 0) return Math.exp(logErfcNonNegative(x));
  return 2 - Math.exp(logErfcNonNegative(-x));
}

/** Standard normal CDF Φ(z). */
export function ndtr(z: number): number {
  return 0.5 * erfc(-z * SQRT1_2);
}

/** log Φ(z), finite for any finite z. */
export function logNdtr(z: number): number {
  if (z < 0) return Math.log(0.5) + logErfcNonNegative(-z * SQRT1_2);
  return Math.log1p(-0.5 * erfc(z * SQRT1_2));
}

/** log(exp(p) - exp(q)) for p >= q. */
function logDiff(p: number, q: number): number {
  if (q === -Infinity) return p;
  return p + Math.log1p(-Math.exp(q - p));
}

/** log(Φ(b) - Φ(a)): the log of the standard normal's mass on [a, b], stable in both tails. */
export function logGaussMass(a: number, b: number): number {
  if (!(a < b)) return -Infinity;
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** log density of N(0,1) at z. */
export function normLogPdf(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

/** Inverse of Φ (Acklam's rational approximation, refined with one Halley step). */
export function ndtri(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // Halley refinement against our own Φ keeps ndtr(ndtri(p)) ≈ p.
  const e = ndtr(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

/** z with log Φ(z) = y, for y <= 0, also when exp(y) underflows. */
function ndtriExp(y: number): number {
  if (y > -700) return ndtri(Math.exp(y));
  // Deep left tail: start from the asymptotic inverse and polish with Newton steps on log Φ.
  let z = -Math.sqrt(-2 * y - Math.log(-2 * y) - Math.log(2 * Math.PI));
  for (let i = 0; i < 4; i++) {
    const f = logNdtr(z) - y;
    // d/dz log Φ(z) = φ(z)/Φ(z) ≈ -z in the left tail.
    z -= f / Math.max(-z, 1e-12);
  }
  return z;
}

/**
 * Inverse CDF of N(0,1) truncated to [a, b], at quantile u in [0, 1). Works in whichever tail keeps
 * the numbers representable (as scipy's truncnorm.ppf does).
 */
export function truncNormPpf(u: number, a: number, b: number): number {
  const logMass = logGaussMass(a, b);
  let z: number;
  if (a < 0) {
    const logPhiX = logAddExp(logNdtr(a), Math.log(u) + logMass);
    z = ndtriExp(logPhiX);
  } else {
    const logPhiX = logAddExp(logNdtr(-b), Math.log1p(-u) + logMass);
    z = -ndtriExp(logPhiX);
  }
  if (!Number.isFinite(z)) z = a < 0 ? a : b;
  return Math.min(b, Math.max(a, z));
}

export function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}
