/**
 * Small dense float64 linear algebra for the latent-distribution diagnostics
 * (src/diagnostics/latent_distribution.ts): the eigenvalues of a symmetric matrix.
 *
 * Those diagnostics work on Gram matrices of at most a few hundred rows (one row per latent),
 * never on D x D covariances, so an O(n^3) dense solver in plain TypeScript is enough: Householder
 * reduction to tridiagonal form (4/3 n^3 flops) followed by the implicit QL iteration with
 * Wilkinson-style shifts on the tridiagonal matrix (O(n^2)). A cyclic Jacobi solver would be
 * simpler but needs ~6-10 sweeps of 2 n^3 flops each: about ten times slower at n = 512.
 * Eigenvectors are not needed, so they are never accumulated.
 */

/**
 * Eigenvalues (ascending) of the symmetric n x n matrix `a` (row-major; only the lower triangle,
 * diagonal included, is read). `a` is not modified.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`symmetricEigenvalues: n must be a non-negative integer, got ${n}`);
  if (!(a instanceof Float64Array) || a.length !== n * n)
    throw new RangeError(`symmetricEigenvalues: a must be a Float64Array of n*n = ${n * n} values, got ${a instanceof Float64Array ? a.length : typeof a}`);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(a, n, d, e);
  tridiagonalEigenvalues(d, e, n);
  return d.sort();
}

/**
 * Householder reduction of symmetric `a` to tridiagonal T = Q^T A Q (Q orthogonal, so T has A's
 * eigenvalues). Writes T's diagonal to d[0..n) and its sub-diagonal to e[0..n-1) (e[i] couples
 * rows i and i+1; e[n-1] = 0).
 *
 * Step k reflects column k below the diagonal, x = A[k+1.., k], onto a multiple of the first unit
 * vector with H = I - v v^T / h (v = x - alpha e1, alpha = -sign(x0) |x|, the sign avoiding
 * cancellation in v0), and applies it to the trailing block from both sides as a rank-2 update:
 * with p = A v / h and q = p - (v^T p / 2h) v, H A H = A - v q^T - q v^T. Only the lower triangle
 * of the trailing block is kept up to date (it stays symmetric).
 */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  // Work on a copy of the lower triangle: w[i*n + j] for j <= i.
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) for (let j = 0; j <= i; ++j) w[i * n + j] = a[i * n + j];
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; ++k) {
    const m = k + 1; // first row of the trailing block
    let norm2 = 0;
    let scale = 0;
    for (let i = m; i < n; ++i) scale = Math.max(scale, Math.abs(w[i * n + k]));
    d[k] = w[k * n + k];
    if (scale === 0) {
      // Column already zero below the diagonal: nothing to reflect.
      e[k] = 0;
      continue;
    }
    // Scaling by the largest entry keeps |x|^2 from overflowing or underflowing.
    for (let i = m; i < n; ++i) {
      v[i] = w[i * n + k] / scale;
      norm2 += v[i] * v[i];
    }
    const x0 = v[m];
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    e[k] = alpha * scale;
    v[m] = x0 - alpha;
    const h = norm2 - x0 * alpha; // = v^T v / 2
    // p = A22 v / h, reading the symmetric block from its lower triangle.
    for (let i = m; i < n; ++i) p[i] = 0;
    for (let i = m; i < n; ++i) {
      const row = i * n;
      let s = 0;
      const vi = v[i];
      for (let j = m; j < i; ++j) {
        const aij = w[row + j];
        s += aij * v[j];
        p[j] += aij * vi;
      }
      p[i] += s + w[row + i] * vi;
    }
    let vp = 0;
    for (let i = m; i < n; ++i) {
      p[i] /= h;
      vp += v[i] * p[i];
    }
    const c = vp / (2 * h);
    for (let i = m; i < n; ++i) p[i] -= c * v[i]; // p is now q
    for (let i = m; i < n; ++i) {
      const row = i * n;
      const vi = v[i];
      const qi = p[i];
      for (let j = m; j <= i; ++j) w[row + j] -= vi * p[j] + qi * v[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + (n - 2)];
    e[n - 2] = w[(n - 1) * n + (n - 2)];
  }
  if (n >= 1) {
    d[n - 1] = w[(n - 1) * n + (n - 1)];
    e[n - 1] = 0;
  }
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (diagonal d, sub-diagonal e with e[n-1] = 0),
 * written over d; e is destroyed. Implicit QL: for the leading unreduced block starting at l, a
 * shift s is taken from the eigenvalue of the top 2x2 block nearer d[l] (fast, in practice cubic,
 * convergence of e[l] to zero), and one QL step on T - sI is applied implicitly as a chain of
 * Givens rotations chasing the bulge from the bottom of the block up to row l.
 */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array, n: number): void {
  const eps = Number.EPSILON;
  for (let l = 0; l < n; ++l) {
    for (let iter = 0; ; ++iter) {
      // The block l..m is unreduced: e[m] is negligible against its two diagonal neighbours.
      let m = l;
      while (m < n - 1 && Math.abs(e[m]) > eps * (Math.abs(d[m]) + Math.abs(d[m + 1]))) ++m;
      if (m === l) break;
      if (iter >= 60) throw new Error(`symmetricEigenvalues: the QL iteration did not converge at eigenvalue ${l} of ${n}`);
      // Shift: the eigenvalue of [[d_l, e_l], [e_l, d_l+1]] nearer d[l].
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let shiftAcc = 0;
      let i = m - 1;
      for (; i >= l; --i) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The rotation underflowed: the block splits at i+1; undo the partial shift and retry.
          d[i + 1] -= shiftAcc;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - shiftAcc;
        r = (d[i] - g) * s + 2 * c * b;
        shiftAcc = s * r;
        d[i + 1] = g + shiftAcc;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= shiftAcc;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * The R factor (cols x cols, upper triangular, row-major) of a Householder QR decomposition of
 * the rows x cols matrix `a` (row-major, rows >= cols), so that R^T R = A^T A. `a` is not
 * modified. Used where only A^T A matters and A is tall: R carries the same Gram information in
 * cols rows instead of rows.
 */
export function qrR(a: Float64Array, rows: number, cols: number): Float64Array {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < cols || cols < 1)
    throw new RangeError(`qrR: expected integers rows >= cols >= 1, got rows = ${rows}, cols = ${cols}`);
  if (!(a instanceof Float64Array) || a.length !== rows * cols)
    throw new RangeError(`qrR: a must be a Float64Array of rows*cols = ${rows * cols} values, got ${a instanceof Float64Array ? a.length : typeof a}`);
  // Column-major copy: each reflection works down one column and updates the columns right of it.
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < rows; ++i) for (let j = 0; j < cols; ++j) w[j * rows + i] = a[i * cols + j];
  const r = new Float64Array(cols * cols);
  for (let k = 0; k < cols; ++k) {
    const ck = k * rows;
    let scale = 0;
    for (let i = k; i < rows; ++i) scale = Math.max(scale, Math.abs(w[ck + i]));
    if (scale === 0) continue; // column already zero below row k: R[k][k..] stays as it is (0 on the diagonal)
    let norm2 = 0;
    for (let i = k; i < rows; ++i) {
      w[ck + i] /= scale;
      norm2 += w[ck + i] * w[ck + i];
    }
    const x0 = w[ck + k];
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    // v = x - alpha e1 is kept in w[ck + k..]; H = I - v v^T / h with h = v^T v / 2.
    w[ck + k] = x0 - alpha;
    const h = norm2 - x0 * alpha;
    for (let j = k + 1; j < cols; ++j) {
      const cj = j * rows;
      let s = 0;
      for (let i = k; i < rows; ++i) s += w[ck + i] * w[cj + i];
      const f = s / h;
      for (let i = k; i < rows; ++i) w[cj + i] -= f * w[ck + i];
    }
    r[k * cols + k] = alpha * scale;
  }
  for (let k = 0; k < cols; ++k) for (let j = k + 1; j < cols; ++j) r[k * cols + j] = w[j * rows + k];
  return r;
}
