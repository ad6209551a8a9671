// Dense float64 linear algebra for FID: a symmetric eigen-decomposition (Householder tridiagonalisation then
// the implicit QL algorithm — tred2/tql2 from EISPACK as in JAMA, public domain) and a matrix product.
// Matrices are row-major Float64Arrays of n*n.

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Eigenvectors as columns (row-major n×n: vectors[i*n + k] is component i of vector k); null when not asked for. */
  vectors: Float64Array | null;
}

/**
 * Eigenvalues (and optionally eigenvectors) of a symmetric matrix. Only symmetry up to rounding is assumed;
 * the matrix is symmetrised as (A + Aᵀ)/2 first. O(n³); 2048×2048 takes tens of seconds in JS.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number, wantVectors = true): SymmetricEigen {
  if (matrix.length !== n * n) throw new RangeError(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${matrix.length}`);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: wantVectors ? v : null };
  tred2(v, d, e, n, wantVectors);
  tql2(v, d, e, n, wantVectors);
  // Sort ascending (tql2 leaves them unordered), permuting the vectors alike.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!wantVectors) return { values, vectors: null };
  const vectors = new Float64Array(n * n);
  for (let row = 0; row < n; row++) for (let k = 0; k < n; k++) vectors[row * n + k] = v[order[k] * n + row];
  return { values, vectors };
}

/**
 * Householder reduction to tridiagonal form (JAMA's tred2) on the TRANSPOSED working matrix: v[b*n + a] holds
 * JAMA's V[a][b], which makes every O(n³) inner loop walk memory contiguously (JAMA's column walks made a
 * 512×512 decomposition ~20× slower than 256×256). The input is symmetric, so it loads unchanged; on return
 * row k of v is eigenvector k (after tql2).
 */
function tred2(v: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let j = 0; j < n; j++) d[j] = v[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[j * n + (i - 1)];
        v[j * n + i] = 0;
        v[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[i * n + j] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[j * n + k] * d[k];
          e[k] += v[j * n + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[j * n + k] -= f * e[k] + g * d[k];
        d[j] = v[j * n + (i - 1)];
        v[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!wantVectors) {
    // The tridiagonal's diagonal sits on v's diagonal; skip accumulating the transform.
    for (let j = 0; j < n; j++) d[j] = v[j * n + j];
    e[0] = 0;
    return;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    v[i * n + (n - 1)] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[(i + 1) * n + k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[(i + 1) * n + k] * v[j * n + k];
        for (let k = 0; k <= i; k++) v[j * n + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[j * n + (n - 1)];
    v[j * n + (n - 1)] = 0;
  }
  v[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal (d, e) (JAMA's tql2); rotations go to v's rows when wantVectors. */
function tql2(v: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1; // e[n-1] is 0, so this only guards against NaN input
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 300) throw new Error("symmetricEigen: QL iteration did not converge (is the matrix finite?)");
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (wantVectors) {
            const ri = i * n;
            const ri1 = ri + n;
            for (let k = 0; k < n; k++) {
              h = v[ri1 + k];
              v[ri1 + k] = s * v[ri + k] + c * h;
              v[ri + k] = c * v[ri + k] - s * h;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** C = A·B for row-major A (r×k) and B (k×c), float64, i-k-j order for contiguous inner loops. */
export function matMul64(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const orow = i * c;
    for (let t = 0; t < k; t++) {
      const x = a[i * k + t];
      if (x === 0) continue;
      const brow = t * c;
      for (let j = 0; j < c; j++) out[orow + j] += x * b[brow + j];
    }
  }
  return out;
}

/** C = A·Bᵀ for row-major A (r×k) and B (c×k): row-by-row dot products, contiguous. */
export function matMulTransB64(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const ai = i * k;
    for (let j = 0; j < c; j++) {
      const bj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += a[ai + t] * b[bj + t];
      out[i * c + j] = s;
    }
  }
  return out;
}

/** Aᵀ (row-major n_rows×n_cols → n_cols×n_rows). */
export function transpose64(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}
