/**
 * Latent-distribution diagnostics (src/diagnostics/latent_distribution.ts, linalg.ts): the
 * symmetric eigen-solver against matrices of known spectrum, the Fréchet distance against a slow
 * float64 reference (explicit covariances, matrix square roots from a Jacobi eigen-decomposition
 * written here) and against the analytic value for large samples, and the sanity anchors of
 * issue 11: prediction = truth gives separability 0.5 and Fréchet 0; shifted or constant
 * predictions are separable; predictions shuffled in time (same distribution) are not.
 */
import { frechetDistance, latentDrift, separability } from '../src/diagnostics/latent_distribution';
import { qrR, symmetricEigenvalues } from '../src/diagnostics/linalg';
import { Generator } from '../src/random/generator';

// ---------------------------------------------------------------------------------------------
// Reference linear algebra (float64, deliberately the slow and obvious way).

/** Cyclic Jacobi: eigenvalues and eigenvectors (columns of v) of symmetric s (n x n). */
function jacobiEigen(s: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(s);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; ++sweep) {
    let off = 0;
    for (let p = 0; p < n; ++p) for (let q = p + 1; q < n; ++q) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; ++p)
      for (let q = p + 1; q < n; ++q) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // Rotation angle that zeroes a[p][q].
        const theta = 0.5 * Math.atan2(2 * apq, a[q * n + q] - a[p * n + p]);
        const c = Math.cos(theta);
        const sn = Math.sin(theta);
        for (let k = 0; k < n; ++k) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; ++k) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (let k = 0; k < n; ++k) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; ++i) values[i] = a[i * n + i];
  return { values, vectors: v };
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) for (let k = 0; k < n; ++k) for (let j = 0; j < n; ++j) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

/** Symmetric PSD square root V diag(sqrt(max(l, 0))) V^T. */
function sqrtPsd(s: Float64Array, n: number): Float64Array {
  const { values, vectors } = jacobiEigen(s, n);
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; ++i)
    for (let j = 0; j < n; ++j) {
      let t = 0;
      for (let k = 0; k < n; ++k) t += vectors[i * n + k] * Math.sqrt(Math.max(0, values[k])) * vectors[j * n + k];
      r[i * n + j] = t;
    }
  return r;
}

/** Fréchet distance of two Gaussians given by mean and covariance: the textbook formula with
 * tr((Sa Sb)^(1/2)) = tr((Sa^(1/2) Sb Sa^(1/2))^(1/2)). */
function frechetGaussians(ma: Float64Array, sa: Float64Array, mb: Float64Array, sb: Float64Array, d: number): number {
  let mean = 0;
  for (let j = 0; j < d; ++j) mean += (ma[j] - mb[j]) ** 2;
  let tr = 0;
  for (let j = 0; j < d; ++j) tr += sa[j * d + j] + sb[j * d + j];
  const r = sqrtPsd(sa, d);
  const c = matMul(matMul(r, sb, d), r, d);
  const { values } = jacobiEigen(c, d);
  let cross = 0;
  for (const l of values) cross += Math.sqrt(Math.max(0, l));
  return mean + tr - 2 * cross;
}

/** Sample mean and unbiased covariance (d x d) of rows x (n x d). */
function moments(x: Float32Array, d: number): { mean: Float64Array; cov: Float64Array } {
  const n = x.length / d;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) mean[j] += x[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; ++i)
    for (let j = 0; j < d; ++j) for (let k = 0; k < d; ++k) cov[j * d + k] += ((x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k])) / (n - 1);
  return { mean, cov };
}

// ---------------------------------------------------------------------------------------------
// Data: seeded Gaussian latents with a low-rank + diagonal covariance (anisotropic, like a VAE's).

interface Model {
  dim: number;
  mean: Float32Array;
  scale: Float32Array; // per-feature noise std
  mix: Float32Array; // dim x rank
  rank: number;
}

function makeModel(gen: Generator, dim: number, rank = 3): Model {
  const mean = gen.fillNormal(new Float32Array(dim), 0, 0.5);
  const scale = gen.fillUniform(new Float32Array(dim), 0.2, 1.2);
  const mix = gen.fillNormal(new Float32Array(dim * rank), 0, 0.6);
  return { dim, mean, scale, mix, rank };
}

/** n rows drawn from the model, optionally shifted by `shift` and with the spread times `spread`. */
function sample(gen: Generator, m: Model, n: number, shift?: Float32Array, spread = 1): Float32Array {
  const { dim, rank } = m;
  const eps = gen.fillNormal(new Float32Array(n * dim));
  const h = gen.fillNormal(new Float32Array(n * rank));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; ++i)
    for (let j = 0; j < dim; ++j) {
      let v = m.scale[j] * eps[i * dim + j];
      for (let r = 0; r < rank; ++r) v += m.mix[j * rank + r] * h[i * rank + r];
      x[i * dim + j] = m.mean[j] + spread * v + (shift ? shift[j] : 0);
    }
  return x;
}

function pairedGroups(windows: number): Int32Array {
  const g = new Int32Array(2 * windows);
  for (let w = 0; w < windows; ++w) g[w] = g[windows + w] = w;
  return g;
}

/** Random symmetric matrix with the given eigenvalues: Q diag(l) Q^T, Q a product of reflections. */
function withSpectrum(gen: Generator, l: number[]): Float64Array {
  const n = l.length;
  let q: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) q[i * n + i] = 1;
  for (let r = 0; r < 3; ++r) {
    const v = Float64Array.from(gen.fillNormal(new Float32Array(n)));
    let vv = 0;
    for (const x of v) vv += x * x;
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) h[i * n + j] = (i === j ? 1 : 0) - (2 * v[i] * v[j]) / vv;
    q = matMul(q, h, n);
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; ++i)
    for (let j = 0; j < n; ++j) {
      let t = 0;
      for (let k = 0; k < n; ++k) t += q[i * n + k] * l[k] * q[j * n + k];
      a[i * n + j] = t;
    }
  return a;
}

// ---------------------------------------------------------------------------------------------

describe('symmetricEigenvalues', () => {
  test('recovers known spectra (repeated, negative, zero, spread over 1e8) at odd sizes', () => {
    const gen = new Generator(11);
    for (const n of [1, 2, 3, 7, 67]) {
      const u = gen.fillUniform(new Float32Array(n), -3, 5);
      const l = Array.from(u, (x, i) => (i % 5 === 1 ? 0 : i % 5 === 2 && i > 0 ? u[i - 1] : i % 7 === 3 ? x * 1e-4 : i % 11 === 4 ? x * 1e4 : x));
      const a = withSpectrum(gen, l);
      const copy = Float64Array.from(a);
      const got = symmetricEigenvalues(a, n);
      expect(Array.from(a)).toEqual(Array.from(copy)); // input untouched
      const want = l.slice().sort((x, y) => x - y);
      const big = Math.max(...want.map(Math.abs));
      for (let i = 0; i < n; ++i) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-11 * big);
    }
  });

  test('agrees with Jacobi on random symmetric matrices and handles diagonal and zero ones', () => {
    const gen = new Generator(12);
    for (const n of [5, 33]) {
      const r = gen.fillNormal(new Float32Array(n * n));
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) a[i * n + j] = r[i * n + j] + r[j * n + i];
      const want = Array.from(jacobiEigen(a, n).values).sort((x, y) => x - y);
      const got = symmetricEigenvalues(a, n);
      for (let i = 0; i < n; ++i) expect(got[i]).toBeCloseTo(want[i], 9);
    }
    const diag = new Float64Array(16);
    [4, -1, 0, 2.5].forEach((v, i) => (diag[i * 4 + i] = v));
    expect(Array.from(symmetricEigenvalues(diag, 4))).toEqual([-1, 0, 2.5, 4]);
    expect(Array.from(symmetricEigenvalues(new Float64Array(9), 3))).toEqual([0, 0, 0]);
    expect(() => symmetricEigenvalues(new Float64Array(8), 3)).toThrow(/symmetricEigenvalues: a must be a Float64Array of n\*n = 9 values, got 8/);
  });
});

describe('qrR', () => {
  test('R is upper triangular with R^T R = A^T A (tall, square, and with a zero column)', () => {
    const gen = new Generator(13);
    for (const [rows, cols] of [[1, 1], [9, 9], [131, 7]]) {
      const a = Float64Array.from(gen.fillNormal(new Float32Array(rows * cols)));
      if (cols === 7) for (let i = 0; i < rows; ++i) a[i * cols + 3] = 0;
      const r = qrR(a, rows, cols);
      for (let i = 0; i < cols; ++i) for (let j = 0; j < i; ++j) expect(r[i * cols + j]).toBe(0);
      for (let i = 0; i < cols; ++i)
        for (let j = 0; j < cols; ++j) {
          let ata = 0;
          for (let k = 0; k < rows; ++k) ata += a[k * cols + i] * a[k * cols + j];
          let rtr = 0;
          for (let k = 0; k < cols; ++k) rtr += r[k * cols + i] * r[k * cols + j];
          expect(Math.abs(rtr - ata)).toBeLessThan(1e-10 * rows);
        }
    }
    expect(() => qrR(new Float64Array(6), 2, 3)).toThrow(/qrR: expected integers rows >= cols >= 1, got rows = 2, cols = 3/);
  });
});

describe('frechetDistance', () => {
  test('equals the slow reference (explicit covariances, matrix square roots)', () => {
    const gen = new Generator(21);
    // D = 5, 7 with n = 40 as in the brief; unequal sizes; and n < D, where the Gram-matrix
    // identity matters (covariances of rank n - 1).
    for (const [d, na, nb] of [
      [5, 40, 40],
      [7, 40, 33],
      [7, 19, 40],
      [67, 9, 12],
    ]) {
      const ma = makeModel(gen, d);
      const mb = makeModel(gen, d);
      const a = sample(gen, ma, na);
      const b = sample(gen, mb, nb);
      const A = moments(a, d);
      const B = moments(b, d);
      const want = frechetGaussians(A.mean, A.cov, B.mean, B.cov, d);
      const got = frechetDistance(a, b, d);
      expect(want).toBeGreaterThan(0.1);
      // With n < D the reference's D x D covariances are singular: the square roots it takes of
      // their zero eigenvalues (rounding errors ~1e-16 * largest) are ~1e-8 * sqrt(largest), so
      // the reference itself is only good to ~1e-7 there.
      const tol = na > d && nb > d ? 1e-9 : 1e-6;
      expect(Math.abs(got - want)).toBeLessThan(tol * want);
      // Symmetric in its arguments.
      expect(Math.abs(frechetDistance(b, a, d) - got)).toBeLessThan(1e-9 * want);
    }
  });

  test('identical sets give 0; a pure mean shift adds |shift|^2', () => {
    const gen = new Generator(22);
    for (const [d, n] of [[7, 40], [257, 31]]) {
      const m = makeModel(gen, d);
      const a = sample(gen, m, n);
      const { cov } = moments(a, d);
      let tr = 0;
      for (let j = 0; j < d; ++j) tr += cov[j * d + j];
      expect(Math.abs(frechetDistance(a, a.slice(), d))).toBeLessThan(1e-6 * tr);
      const shift = gen.fillNormal(new Float32Array(d), 0, 0.3);
      const b = a.map((v, i) => v + shift[i % d]);
      // The shifted float32 copy differs from a + shift by rounding only.
      let s2 = 0;
      for (let j = 0; j < d; ++j) s2 += (b[j] - a[j]) ** 2;
      expect(Math.abs(frechetDistance(a, b, d) - s2)).toBeLessThan(1e-4 * tr);
    }
  });

  test('approaches the analytic value for large samples', () => {
    const gen = new Generator(23);
    const d = 4;
    const n = 20001;
    // a ~ N(ma, La La^T), b ~ N(mb, Lb Lb^T) with lower-triangular La, Lb.
    const ma = Float64Array.from([0.5, -1, 0, 2]);
    const mb = Float64Array.from([1, -0.5, 0.5, 1.5]);
    const La = Float64Array.from([1, 0, 0, 0, 0.5, 0.8, 0, 0, -0.3, 0.2, 1.5, 0, 0.1, 0, 0.4, 0.6]);
    const Lb = Float64Array.from([0.7, 0, 0, 0, -0.2, 1.3, 0, 0, 0.4, 0, 0.5, 0, 0, 0.6, -0.2, 1.1]);
    const draw = (m: Float64Array, L: Float64Array) => {
      const e = gen.fillNormal(new Float32Array(n * d));
      const x = new Float32Array(n * d);
      for (let i = 0; i < n; ++i)
        for (let r = 0; r < d; ++r) {
          let v = m[r];
          for (let c = 0; c <= r; ++c) v += L[r * d + c] * e[i * d + c];
          x[i * d + r] = v;
        }
      return x;
    };
    const cov = (L: Float64Array) => {
      const s = new Float64Array(d * d);
      for (let i = 0; i < d; ++i) for (let j = 0; j < d; ++j) for (let k = 0; k < d; ++k) s[i * d + j] += L[i * d + k] * L[j * d + k];
      return s;
    };
    const analytic = frechetGaussians(ma, cov(La), mb, cov(Lb), d);
    const got = frechetDistance(draw(ma, La), draw(mb, Lb), d);
    expect(analytic).toBeGreaterThan(1);
    expect(Math.abs(got - analytic)).toBeLessThan(0.05 * analytic);
  });

  test('rejects bad arguments with the function, argument, expected and actual', () => {
    const a = new Float32Array(12);
    expect(() => frechetDistance(a, new Float32Array(10), 4)).toThrow(/frechetDistance: b must hold whole rows of dim = 4 values, got 10 values/);
    expect(() => frechetDistance(a, new Float32Array(4), 4)).toThrow(/frechetDistance: b must hold at least 2 rows of 4 values, got 1/);
    expect(() => frechetDistance([1, 2] as unknown as Float32Array, a, 4)).toThrow(/frechetDistance: a must be a Float32Array of rows of 4 values, got an Array\(2\)/);
    const bad = new Float32Array(12);
    bad[6] = NaN;
    expect(() => frechetDistance(a, bad, 4)).toThrow(/frechetDistance: b must be finite, got NaN at row 1, column 2/);
    expect(() => frechetDistance(a, a, 0)).toThrow(/frechetDistance: dim must be an integer in \[1, /);
  });
});

describe('separability', () => {
  const gen = new Generator(31);
  const dim = 1024;
  const windows = 101;
  const model = makeModel(gen, dim);
  const real = sample(gen, model, windows);

  test('prediction = truth scores 0.5 (groups keep a latent and its copy in one fold)', () => {
    for (const classifier of ['logistic', 'knn'] as const) {
      const r = separability(real, real.slice(), dim, { groups: pairedGroups(windows), classifier, seed: 3 });
      expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(0.1);
      expect(r.samples).toBe(windows);
    }
    // Without groups, k-NN finds each held-out latent's twin, with the other label, in training:
    // the reason latentDrift passes the window index as the group.
    const ungrouped = separability(real, real.slice(), dim, { classifier: 'knn', k: 1 });
    expect(ungrouped.accuracy).toBeLessThan(0.2);
  });

  test('clearly shifted, constant or collapsed predictions are separable', () => {
    const groups = pairedGroups(windows);
    const shifted = sample(gen, model, windows, gen.fillNormal(new Float32Array(dim), 0, 0.25));
    const farShifted = sample(gen, model, windows, gen.fillNormal(new Float32Array(dim), 0, 1));
    const frozen = sample(gen, model, 1); // one plausible latent, predicted for every window
    const constant = new Float32Array(windows * dim);
    const atMean = new Float32Array(windows * dim); // the mean latent for every window
    for (let w = 0; w < windows; ++w) {
      constant.set(frozen, w * dim);
      atMean.set(model.mean, w * dim);
    }
    const shrunk = sample(gen, model, windows, undefined, 0.5); // regression to the mean
    for (const pred of [shifted, constant, atMean, shrunk]) {
      const r = separability(real, pred, dim, { groups, seed: 5 });
      expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
      expect(r.classifier).toBe('logistic (L2 0.001, quadratic), 5-fold');
    }
    // Linear features see the shift but not the collapse to the mean.
    expect(separability(real, shifted, dim, { groups, features: 'linear' }).accuracy).toBeGreaterThanOrEqual(0.95);
    expect(separability(real, atMean, dim, { groups, features: 'linear' }).accuracy).toBeLessThan(0.8);
    // k-NN needs a larger shift in 1024 dimensions.
    expect(separability(real, farShifted, dim, { groups, classifier: 'knn', k: 7 }).accuracy).toBeGreaterThanOrEqual(0.95);
    expect(separability(real, constant, dim, { groups, classifier: 'knn' }).accuracy).toBeGreaterThanOrEqual(0.9);
    // Fréchet: far above two independent samples of the real distribution (its finite-sample
    // floor) for the far shift and the constants; the shrunken cloud, whose spread the few
    // samples barely pin down, is not (see docs/latent_drift.md).
    const floor = frechetDistance(real, sample(gen, model, windows), dim);
    for (const pred of [farShifted, constant, atMean]) expect(frechetDistance(real, pred, dim)).toBeGreaterThan(1.5 * floor);
  });

  test('predictions shuffled in time (same distribution) are not separable', () => {
    // Stationary AR(1) trajectories per window: the latent at step k is correlated with its
    // window's past, but every step has the same marginal distribution.
    const g = new Generator(32);
    const d = 257;
    const m = makeModel(g, d);
    const w = 151;
    const steps = 6;
    const rho = 0.8;
    const traj: Float32Array[] = [sample(g, m, w)];
    for (let t = 1; t < steps; ++t) {
      const fresh = sample(g, m, w);
      traj.push(traj[t - 1].map((v, i) => m.mean[i % d] + rho * (v - m.mean[i % d]) + Math.sqrt(1 - rho * rho) * (fresh[i] - m.mean[i % d])));
    }
    // "Prediction" for window i at the last step: the window's own true latent at an earlier step.
    const at = g.fillUniform(new Float32Array(w), 0, steps - 1);
    const pred = new Float32Array(w * d);
    for (let i = 0; i < w; ++i) pred.set(traj[Math.floor(at[i])].subarray(i * d, (i + 1) * d), i * d);
    const truth = traj[steps - 1];
    for (const classifier of ['logistic', 'knn'] as const) {
      const r = separability(truth, pred, d, { groups: pairedGroups(w), classifier, seed: 9 });
      expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(0.1);
    }
  });

  test('unequal sides give balanced accuracy', () => {
    const g = new Generator(33);
    const d = 33;
    const m = makeModel(g, d);
    const a = sample(g, m, 90);
    const same = sample(g, m, 23);
    const shifted = sample(g, m, 23, new Float32Array(d).fill(2));
    const r = separability(a, same, d, { folds: 4 });
    // Always answering "real" would score 90/113 = 0.8 plain accuracy; balanced accuracy stays ~0.5.
    expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(0.15);
    expect(r.samples).toBe(23);
    expect(separability(a, shifted, d, { folds: 4 }).accuracy).toBeGreaterThanOrEqual(0.95);
  });

  test('is deterministic per seed, and the seed only moves the folds', () => {
    const g = new Generator(34);
    const d = 65;
    const m = makeModel(g, d);
    const a = sample(g, m, 47);
    const b = sample(g, m, 47, g.fillNormal(new Float32Array(d), 0, 0.15));
    for (const classifier of ['logistic', 'knn'] as const) {
      const runs = [1, 1, 2, 3, 4].map((seed) => separability(a, b, d, { seed, classifier }).accuracy);
      expect(runs[1]).toBe(runs[0]);
      expect(new Set(runs).size).toBeGreaterThan(1); // other fold splits, other held-out score
    }
  });

  test('rejects bad arguments with the function, argument, expected and actual', () => {
    const a = new Float32Array(40);
    expect(() => separability(a, new Float32Array(41), 4)).toThrow(/separability: pred must hold whole rows of dim = 4 values, got 41 values/);
    expect(() => separability(a, new Float32Array(16), 4)).toThrow(/separability: pred must hold at least 5 rows of 4 values, got 4/);
    expect(() => separability(a, a, 4, { folds: 11 })).toThrow(/separability: real must hold at least 11 rows/);
    const bad = a.slice();
    bad[3] = Infinity;
    expect(() => separability(bad, a, 4)).toThrow(/separability: real must be finite, got Infinity at row 0, column 3/);
    expect(() => separability(a, a, 4, { classifier: 'svm' as 'knn' })).toThrow(/separability: opts.classifier must be 'logistic' or 'knn', got string "svm"/);
    expect(() => separability(a, a, 4, { groups: new Int32Array(19) })).toThrow(/separability: opts.groups must be an Int32Array of one group id per row \(10 real \+ 10 predicted = 20\), got Int32Array\(19\)/);
    expect(() => separability(a, a, 4, { groups: new Int32Array(20).fill(1) })).toThrow(/separability: groups must hold at least folds = 5 distinct ids/);
    expect(() => separability(a, a, 4, { l2: 0 })).toThrow(/separability: opts.l2 must be > 0/);
    expect(() => separability(a, a, 4, { classifier: 'knn', k: 17 })).toThrow(/separability: opts.k must be at most the training rows of every fold \(16\), got 17/);
    expect(() => separability(a, a, 4, { folds: 1.5 })).toThrow(/separability: opts.folds must be an integer, got 1.5/);
    expect(() => separability(a, a, 4, { features: 'cubic' as 'linear' })).toThrow(/separability: opts.features must be 'linear' or 'quadratic', got string "cubic"/);
  });
});

describe('latentDrift', () => {
  test('per step: drifting predictions against real latents and copy-last', () => {
    const gen = new Generator(41);
    const d = 129;
    const w = 73;
    const horizon = 4;
    const m = makeModel(gen, d);
    const copyLast = sample(gen, m, w);
    const real: Float32Array[] = [];
    const pred: Float32Array[] = [];
    const dir = gen.fillNormal(new Float32Array(d));
    for (let k = 0; k < horizon; ++k) {
      const r = sample(gen, m, w);
      real.push(r);
      // Prediction = truth plus a drift that grows with the step (0 at step 0).
      pred.push(r.map((v, i) => v + 0.15 * k * dir[i % d]));
    }
    const drift = latentDrift(real, pred, copyLast, d, { seed: 2 });
    expect(drift.samples).toBe(w);
    expect(drift.classifier).toBe('logistic (L2 0.001, quadratic), 5-fold');
    for (const key of ['separability', 'frechet', 'copyLastSeparability', 'copyLastFrechet'] as const) expect(drift[key]).toHaveLength(horizon);
    expect(Math.abs(drift.separability[0] - 0.5)).toBeLessThan(0.1); // step 0: prediction = truth
    expect(drift.frechet[0]).toBeLessThan(1e-6);
    expect(drift.separability[horizon - 1]).toBeGreaterThanOrEqual(0.95);
    for (let k = 1; k < horizon; ++k) expect(drift.frechet[k]).toBeGreaterThan(drift.frechet[k - 1]);
    for (let k = 0; k < horizon; ++k) {
      // Copy-last holds real latents: in distribution, so not separable, and at the sampling floor.
      expect(Math.abs(drift.copyLastSeparability[k] - 0.5)).toBeLessThan(0.15);
      expect(drift.copyLastFrechet[k]).toBe(frechetDistance(real[k], copyLast, d));
      expect(drift.frechet[k]).toBe(frechetDistance(real[k], pred[k], d));
    }
    // The window index is the group: the same numbers as separability with explicit pairs.
    const groups = pairedGroups(w);
    expect(drift.separability[2]).toBe(separability(real[2], pred[2], d, { seed: 2, groups }).accuracy);
    const knn = latentDrift(real.slice(0, 1), pred.slice(0, 1), copyLast, d, { classifier: 'knn', k: 3 });
    expect(knn.classifier).toBe('3-NN, 5-fold');
    // Window groups (e.g. the episode of each window) replace the window index.
    const episodes = Int32Array.from({ length: w }, (_, i) => Math.floor(i / 6));
    const byEpisode = latentDrift(real.slice(2, 3), pred.slice(2, 3), copyLast, d, { seed: 2, windowGroups: episodes });
    const epGroups = new Int32Array(2 * w);
    for (let i = 0; i < w; ++i) epGroups[i] = epGroups[w + i] = episodes[i];
    expect(byEpisode.separability[0]).toBe(separability(real[2], pred[2], d, { seed: 2, groups: epGroups }).accuracy);
    // Fewer groups than 5: as many folds as groups.
    const three = Int32Array.from({ length: w }, (_, i) => i % 3);
    expect(latentDrift(real.slice(3), pred.slice(3), copyLast, d, { windowGroups: three }).classifier).toBe('logistic (L2 0.001, quadratic), 3-fold');
  });

  test('rejects mismatched steps and windows', () => {
    const a = new Float32Array(30);
    expect(() => latentDrift([], [], a, 3)).toThrow(/latentDrift: realPerStep must be a non-empty array of Float32Array \(one per rollout step\), got an Array\(0\)/);
    expect(() => latentDrift([a, a], [a], a, 3)).toThrow(/latentDrift: predPerStep must be an array of 2 Float32Array \(one per step, as realPerStep\), got an Array\(1\)/);
    expect(() => latentDrift([a], [new Float32Array(27)], a, 3)).toThrow(/latentDrift: predPerStep\[0\] must hold one row per window like copyLast \(10 rows of 3\), got 9 rows/);
    expect(() => latentDrift([a], [a], a, 3, { windowGroups: new Int32Array(10) })).toThrow(/latentDrift: opts.windowGroups must hold at least 2 distinct ids \(one per cross-validation fold\), got 1/);
    expect(() => latentDrift([a], [a], a, 3, { windowGroups: new Int32Array(9) })).toThrow(/latentDrift: opts.windowGroups must be an Int32Array of one group id per window \(10\), got Int32Array\(9\)/);
  });
});
