/**
 * How far predicted latents drift from the real latent distribution (issue 11, section 3): two
 * numbers per rollout step, both comparing *sets* of latents (one per window), not pairs:
 *
 *   frechetDistance(a, b, dim)    the Fréchet distance between Gaussians fitted to the two sets
 *   separability(real, pred, dim) held-out accuracy of a classifier told to tell them apart
 *   latentDrift(...)              both, per step, for the predictions and for copy-last (the
 *                                 LatentDrift section of eval.json, src/diagnostics/eval_schema.ts)
 *
 * Latent MSE says how far each prediction is from its own target; these say whether predictions
 * still look like latents at all. A predictor that regresses to the mean has a modest MSE while
 * its outputs form a shrunken cloud no encoder ever produced: the default classifier of
 * separability sees that (the Fréchet distance, with few latents in many dimensions, barely
 * does; it sees shifts and constant outputs). Copy-last
 * holds real latents, so its sets are in distribution by construction: its numbers are the floor
 * that finite samples give (see the bias note at frechetDistance), against which the predictions
 * are read.
 *
 * All arithmetic is float64 in plain TypeScript: the sets are small (tens to a few hundred
 * latents of D = 1024 values), and the only cubic step is an eigen-decomposition of a Gram
 * matrix of that many rows (src/diagnostics/linalg.ts). docs/latent_drift.md explains how to read
 * the numbers.
 */
import { checkInt, checkNumber, describeValue, typeError } from '../errors';
import { Generator } from '../random/generator';
import type { LatentDrift } from './eval_schema';
import { qrR, symmetricEigenvalues } from './linalg';

/** Checks a set of latents: a Float32Array of rows of length dim, finite. Returns its row count. */
function checkRows(fn: string, arg: string, x: unknown, dim: number, minRows: number): number {
  if (!(x instanceof Float32Array)) throw typeError(fn, arg, `a Float32Array of rows of ${dim} values`, x);
  if (x.length % dim !== 0)
    throw new RangeError(`${fn}: ${arg} must hold whole rows of dim = ${dim} values, got ${x.length} values (${x.length / dim} rows)`);
  const rows = x.length / dim;
  if (rows < minRows) throw new RangeError(`${fn}: ${arg} must hold at least ${minRows} rows of ${dim} values, got ${rows}`);
  for (let i = 0; i < x.length; ++i) {
    if (!Number.isFinite(x[i]))
      throw new RangeError(`${fn}: ${arg} must be finite, got ${describeValue(x[i])} at row ${Math.floor(i / dim)}, column ${i % dim}`);
  }
  return rows;
}

/**
 * A float64 factor of the unbiased sample covariance of `x` (rows x dim): a (rows - 1) x dim
 * matrix F with F^T F = S, and the mean. F's rows are the Helmert contrasts of the centred rows
 * c_i, h_k = (c_0 + ... + c_(k-1) - k c_k) / sqrt(k (k + 1)) for k = 1..rows-1, divided by
 * sqrt(rows - 1): an orthonormal basis of the vectors orthogonal to (1, ..., 1), so
 * sum_k h_k^T h_k = sum_i c_i^T c_i. Plain centred rows would do too, but they always have one
 * exact linear dependency (they sum to 0), which leaves a zero singular value in the Gram
 * matrices downstream; its square root, taken of a rounding error ~eps * largest, costs ~1e-8
 * relative accuracy. Without it the result is accurate to ~1e-15 when the rows are independent.
 */
function covarianceFactor(x: Float32Array, rows: number, dim: number): { m: Float64Array; mean: Float64Array } {
  const mean = new Float64Array(dim);
  for (let i = 0; i < rows; ++i) {
    const o = i * dim;
    for (let j = 0; j < dim; ++j) mean[j] += x[o + j];
  }
  for (let j = 0; j < dim; ++j) mean[j] /= rows;
  const s = 1 / Math.sqrt(rows - 1);
  const m = new Float64Array((rows - 1) * dim);
  const prefix = new Float64Array(dim); // sum of the centred rows before row k
  for (let j = 0; j < dim; ++j) prefix[j] = x[j] - mean[j];
  for (let k = 1; k < rows; ++k) {
    const o = k * dim;
    const p = (k - 1) * dim;
    const f = s / Math.sqrt(k * (k + 1));
    for (let j = 0; j < dim; ++j) {
      const c = x[o + j] - mean[j];
      m[p + j] = (prefix[j] - k * c) * f;
      prefix[j] += c;
    }
  }
  return { m, mean };
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; ++j) s += a[ao + j] * b[bo + j];
  return s;
}

/**
 * a b^T (na x nb) for the rows of a (na x dim) and b (nb x dim). Four rows of b at a time
 * against one row of a: each load of a's row feeds four products, about twice as fast in V8 as one
 * dot product at a time.
 */
function crossProducts(a: Float64Array, na: number, b: Float64Array, nb: number, dim: number): Float64Array {
  const g = new Float64Array(na * nb);
  // a b^T with b === a is symmetric: compute the lower triangle (j <= i) and mirror it.
  const symmetric = a === b;
  for (let i = 0; i < na; ++i) {
    const io = i * dim;
    const end = symmetric ? i + 1 : nb;
    let j = 0;
    for (; j + 4 <= end; j += 4) {
      const o0 = j * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < dim; ++c) {
        const v = a[io + c];
        s0 += v * b[o0 + c];
        s1 += v * b[o1 + c];
        s2 += v * b[o2 + c];
        s3 += v * b[o3 + c];
      }
      g[i * nb + j] = s0;
      g[i * nb + j + 1] = s1;
      g[i * nb + j + 2] = s2;
      g[i * nb + j + 3] = s3;
    }
    for (; j < end; ++j) g[i * nb + j] = dot(a, io, b, j * dim, dim);
  }
  if (symmetric) for (let i = 0; i < na; ++i) for (let j = 0; j < i; ++j) g[j * nb + i] = g[i * nb + j];
  return g;
}

function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; ++i) for (let j = 0; j < cols; ++j) t[j * rows + i] = m[i * cols + j];
  return t;
}

/** out = m v for the n x n matrix m (row-major). */
function matVec(m: Float64Array, n: number, v: Float64Array, out: Float64Array): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < n; ++c) {
      const x = v[c];
      s0 += m[o0 + c] * x;
      s1 += m[o1 + c] * x;
      s2 += m[o2 + c] * x;
      s3 += m[o3 + c] * x;
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < n; ++i) out[i] = dot(m, i * n, v, 0, n);
}

/**
 * The Fréchet distance between Gaussians fitted to two sets of latents (rows of length dim):
 *
 *   |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))
 *
 * with S the unbiased sample covariances. As in FID this is the *squared* 2-Wasserstein distance
 * between the two Gaussians; 0 for identical sets. Each set needs at least 2 rows.
 *
 * D x D covariances (D = 1024) are never formed. With the centred data matrices
 * A = X_a / sqrt(n_a - 1) (n_a x D) and B likewise (any A with A^T A = S_a serves: the code uses
 * the (n_a - 1)-row factor of covarianceFactor), S_a = A^T A and S_b = B^T B, so
 * S_a S_b = A^T (A B^T) B. For any matrices P (D x n) and Q (n x D), PQ and QP have the same
 * non-zero eigenvalues; with P = A^T and Q = (A B^T) B, QP = (A B^T)(B A^T) = M M^T where
 * M = A B^T is only n_a x n_b. So the non-zero eigenvalues of S_a S_b are those of M M^T, the
 * squared singular values of M (they are real and >= 0 although S_a S_b is not symmetric), and
 * tr((S_a S_b)^(1/2)) = sum of sqrt(eig(M M^T)) = the nuclear norm of M. The eigenvalues come from
 * the smaller of M M^T and M^T M (same non-zero spectrum); rounding can leave the zero ones
 * slightly negative, so they are clamped to 0. tr(S) is the sum of squares of A's entries.
 * The identity only needs S_a = A^T A, so a set with more rows than dimensions (large samples in
 * few dimensions) is first replaced by the D x D triangular factor R of A = QR (R^T R = A^T A):
 * M is then at most min(n_a, D) x min(n_b, D). Cost: n_a n_b D for M (QR: n D^2 when n > D)
 * plus O(r^2 max(r_a, r_b)) for G and its eigenvalues, r = the smaller side.
 *
 * Bias: with n << D the sample covariances have rank < n and the plug-in estimate is biased
 * upwards (two independent samples of one distribution give a clearly positive value that
 * shrinks as n grows). An absolute value therefore means little; it is meaningful compared across
 * rollout steps and against copy-last computed with the same number of latents per side, which
 * is how latentDrift uses it.
 *
 * Rounding can also make the total a hair below 0 for (near-)identical sets; the true value of
 * the formula is >= 0 (it is a squared distance between two Gaussians), so it is clamped to 0.
 */
export function frechetDistance(a: Float32Array, b: Float32Array, dim: number): number {
  const fn = 'frechetDistance';
  checkInt(fn, 'dim', dim, 1);
  const na = checkRows(fn, 'a', a, dim, 2);
  const nb = checkRows(fn, 'b', b, dim, 2);
  // Covariance factors with n - 1 rows (covarianceFactor); one with more rows than dimensions
  // is replaced by its D x D factor R (R^T R = A^T A, from a QR decomposition), so M below is
  // never larger than min(n - 1, D) on each side.
  const A = covarianceFactor(a, na, dim);
  const B = covarianceFactor(b, nb, dim);
  const Fa = na - 1 > dim ? qrR(A.m, na - 1, dim) : A.m;
  const Fb = nb - 1 > dim ? qrR(B.m, nb - 1, dim) : B.m;
  const ra = Math.min(na - 1, dim);
  const rb = Math.min(nb - 1, dim);
  let meanTerm = 0;
  for (let j = 0; j < dim; ++j) {
    const d = A.mean[j] - B.mean[j];
    meanTerm += d * d;
  }
  let trA = 0;
  for (let i = 0; i < ra * dim; ++i) trA += Fa[i] * Fa[i];
  let trB = 0;
  for (let i = 0; i < rb * dim; ++i) trB += Fb[i] * Fb[i];

  const M = crossProducts(Fa, ra, Fb, rb, dim);
  // G = M M^T (ra x ra) or M^T M (rb x rb), whichever is smaller.
  const small = Math.min(ra, rb);
  const Mt = ra <= rb ? M : transpose(M, ra, rb);
  const G = crossProducts(Mt, small, Mt, small, Math.max(ra, rb));
  const eig = symmetricEigenvalues(G, small);
  let nuclear = 0;
  for (const l of eig) nuclear += Math.sqrt(Math.max(0, l));
  return Math.max(0, meanTerm + trA + trB - 2 * nuclear);
}

export interface SeparabilityOptions {
  /** Cross-validation folds (default 5); each side needs at least this many rows. */
  folds?: number;
  /** Seed of the fold assignment (default 0), the only randomness. */
  seed?: number;
  /**
   * One group id per row: real rows first, then predicted rows (length real rows + pred rows).
   * Rows of one group are held out together, so a real latent and the prediction made for it
   * (same window) never sit on both sides of a train/test split. Default: every row its own group.
   */
  groups?: Int32Array;
  /** 'logistic' (default): L2-regularised logistic regression; 'knn': k nearest neighbours. */
  classifier?: 'logistic' | 'knn';
  /** Neighbours for 'knn' (default 5). */
  k?: number;
  /** L2 penalty for 'logistic', on the mean loss (default 1e-3; see DEFAULT_L2). */
  l2?: number;
  /**
   * Inputs of 'logistic': 'quadratic' (default) the standardised features and their squares,
   * 'linear' the standardised features only (blind to a changed spread, e.g. latents shrunk to
   * their mean).
   */
  features?: 'linear' | 'quadratic';
  /** Gradient steps for 'logistic' (default 300). */
  iterations?: number;
}

export interface SeparabilityResult {
  /** Held-out balanced accuracy: 0.5 = indistinguishable, 1 = fully separable. */
  accuracy: number;
  /** e.g. 'logistic (L2 0.001, quadratic), 5-fold' or '5-NN, 5-fold'. */
  classifier: string;
  /** Latents per side (the smaller side when they differ). */
  samples: number;
}

/**
 * Default L2 penalty of the logistic classifier: lambda/2 |w|^2 added to the *mean* log-loss over
 * standardised features. Chosen by measurement, not by the intuition that few samples in many
 * dimensions need strong shrinkage: with ~100 latents per side in 1024 dimensions the training
 * sets are always linearly separable, and under the null (same distribution) any penalty scores
 * ~0.5 held out, so the penalty only decides how much a real difference is seen. A strong penalty
 * (lambda ~ 1) pins w to the difference of the class means, which is swamped by the noise of the
 * high-variance directions when the latents are anisotropic (as a VAE's are); a weak one lets w
 * approach the max-margin direction, which discounts those directions. On 100 vs 100 latents of
 * 1024 dims with a rank-16 + noise covariance and a small mean shift, held-out accuracy was
 * about 0.58 / 0.81 / 0.87 / 0.89 for lambda = 0.1 / 0.01 / 0.001 / 0.0001 (0.57 at lambda = 1 in a
 * similar run), and the same (0.65-0.70)
 * for all of them on isotropic data. 1e-3 keeps nearly all of that power while keeping the
 * problem conditioned well enough for DEFAULT_ITERATIONS fixed gradient steps (300, 1000 and 3000
 * steps gave the same accuracy to within 0.01; the remaining gap to the optimum acts as the
 * early-stopping regularisation of gradient descent, and is the same on every run). Those runs used
 * linear features; with the squares added (the default) the choice mattered less: lambda from 0.1
 * to 1e-4 moved the accuracy by at most 0.025 on the test suite's model (a small shift, a spread
 * of x0.8 or x0.9), 1000 steps instead of 300 by 0.005.
 */
const DEFAULT_L2 = 1e-3;
const DEFAULT_ITERATIONS = 300;

interface Fold {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Assigns rows to folds so that every group stays in one fold and each fold gets about its share
 * of both classes: groups, in an order shuffled by `seed`, each go to the fold whose real and
 * predicted shares (as fractions of each class) are smallest after adding it (ties: lowest fold).
 */
function assignFolds(fn: string, labels: Uint8Array, groups: Int32Array, folds: number, seed: number, nReal: number, nPred: number): Fold[] {
  const n = labels.length;
  const ids = new Map<number, number>();
  const groupOf = new Int32Array(n);
  const counts: [number, number][] = [];
  for (let i = 0; i < n; ++i) {
    let g = ids.get(groups[i]);
    if (g === undefined) {
      g = counts.length;
      ids.set(groups[i], g);
      counts.push([0, 0]);
    }
    groupOf[i] = g;
    counts[g][labels[i]] += 1;
  }
  if (counts.length < folds)
    throw new RangeError(`${fn}: groups must hold at least folds = ${folds} distinct ids (one group per fold at least), got ${counts.length}`);
  const order = new Generator(seed).shuffle(Array.from({ length: counts.length }, (_, g) => g));
  const load: [number, number][] = Array.from({ length: folds }, () => [0, 0]);
  const foldOf = new Int32Array(counts.length);
  for (const g of order) {
    const [r, p] = counts[g];
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < folds; ++f) {
      const cost = (load[f][0] + r) / nReal + (load[f][1] + p) / nPred;
      if (cost < bestCost) {
        bestCost = cost;
        best = f;
      }
    }
    foldOf[g] = best;
    load[best][0] += r;
    load[best][1] += p;
  }
  const result: Fold[] = [];
  for (let f = 0; f < folds; ++f) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < n; ++i) (foldOf[groupOf[i]] === f ? test : train).push(i);
    const trainReal = nReal - load[f][0];
    const trainPred = nPred - load[f][1];
    if (trainReal === 0 || trainPred === 0)
      throw new RangeError(
        `${fn}: groups leave fold ${f} with no ${trainReal === 0 ? 'real' : 'predicted'} row to train on; ` +
          `expected groups small enough to spread each side over ${folds} folds, got one group holding most of a side`,
      );
    result.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return result;
}

/**
 * Standardises rows `idx` of x (n x dim) into a new float64 matrix, with `mean` and `scale`
 * (computed on the training rows only, so nothing of the held-out rows leaks into the model).
 */
function standardise(x: Float64Array, idx: Int32Array, dim: number, mean: Float64Array, scale: Float64Array): Float64Array {
  const out = new Float64Array(idx.length * dim);
  for (let r = 0; r < idx.length; ++r) {
    const o = idx[r] * dim;
    const p = r * dim;
    for (let j = 0; j < dim; ++j) out[p + j] = (x[o + j] - mean[j]) * scale[j];
  }
  return out;
}

/**
 * Standardised rows z (rows x dim) extended with their squares: [z_j, (z_j^2 - 1)/sqrt(2)] per
 * feature (the square is centred and scaled by its mean and spread under a standard normal, so
 * both halves weigh alike under one L2 penalty). A linear model on these is a diagonal quadratic
 * discriminant: it sees a changed spread per feature, which a linear model on z cannot.
 * Features dropped by standardisation (scale 0) stay 0 in both halves.
 */
function withSquares(z: Float64Array, rows: number, dim: number, scale: Float64Array): Float64Array {
  const out = new Float64Array(rows * 2 * dim);
  const c = Math.SQRT1_2;
  for (let i = 0; i < rows; ++i) {
    const o = i * 2 * dim;
    const zo = i * dim;
    for (let j = 0; j < dim; ++j) {
      const v = z[zo + j];
      out[o + j] = v;
      out[o + dim + j] = scale[j] === 0 ? 0 : (v * v - 1) * c;
    }
  }
  return out;
}

function trainingStats(x: Float64Array, idx: Int32Array, dim: number): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (const i of idx) for (let j = 0; j < dim; ++j) mean[j] += x[i * dim + j];
  for (let j = 0; j < dim; ++j) mean[j] /= idx.length;
  for (const i of idx)
    for (let j = 0; j < dim; ++j) {
      const d = x[i * dim + j] - mean[j];
      scale[j] += d * d;
    }
  for (let j = 0; j < dim; ++j) {
    const std = Math.sqrt(scale[j] / idx.length);
    // A feature constant on the training rows (to float32 resolution: the mean of identical
    // values can differ from them by rounding) carries nothing a model could learn; dividing by
    // its ~0 spread would turn rounding noise into a dominant feature, so it is dropped.
    scale[j] = std > 1e-6 * Math.abs(mean[j]) && std > 0 ? 1 / std : 0;
  }
  return { mean, scale };
}

/**
 * L2-regularised logistic regression on standardised training rows `xs` (nt x dim), labels y,
 * by Nesterov-accelerated gradient descent with a fixed step and count (deterministic). Classes
 * are weighted to contribute equally to the loss (the score is balanced accuracy).
 *
 * Dual form: starting from w = 0 every gradient X^T r / nt + l2 w lies in the row space of X,
 * so w = X^T alpha throughout and the logits are K alpha + b with the Gram matrix K = X X^T
 * (nt x nt). One step then costs nt^2 instead of nt * dim (nt ~ 200-400 << dim = 1024).
 * Step 1/L with L >= the gradient's Lipschitz constant l2 + max weight * lambda_max(K + 1 1^T)/(4 nt);
 * lambda_max from a power iteration (with a 25% margin, as it approaches from below).
 * Returns w and b.
 */
function trainLogistic(xs: Float64Array, y: Uint8Array, nt: number, dim: number, l2: number, iterations: number): { w: Float64Array; b: number } {
  const K = crossProducts(xs, nt, xs, nt, dim);
  let n1 = 0;
  for (let i = 0; i < nt; ++i) n1 += y[i];
  const wt = [nt / (2 * (nt - n1)), nt / (2 * n1)]; // per-class sample weight; 1 when balanced
  // Power iteration on K + 1 1^T from a fixed start vector.
  let v = new Float64Array(nt).fill(1 / Math.sqrt(nt));
  let rho = 0;
  for (let it = 0; it < 50; ++it) {
    let s = 0;
    for (let i = 0; i < nt; ++i) s += v[i];
    const u = new Float64Array(nt);
    matVec(K, nt, v, u);
    for (let i = 0; i < nt; ++i) u[i] += s;
    let norm = 0;
    for (let i = 0; i < nt; ++i) norm += u[i] * u[i];
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    rho = norm; // |(K + 11^T) v| for unit v: tends to lambda_max from below
    for (let i = 0; i < nt; ++i) u[i] /= norm;
    v = u;
  }
  const L = l2 + (Math.max(wt[0], wt[1]) * 1.25 * rho) / (4 * nt);
  const eta = 1 / L;

  let alpha = new Float64Array(nt);
  let b = 0;
  let prevAlpha = new Float64Array(nt);
  let prevB = 0;
  const look = new Float64Array(nt);
  const r = new Float64Array(nt);
  const z = new Float64Array(nt);
  for (let t = 1; t <= iterations; ++t) {
    const beta = (t - 1) / (t + 2);
    for (let i = 0; i < nt; ++i) look[i] = alpha[i] + beta * (alpha[i] - prevAlpha[i]);
    const lookB = b + beta * (b - prevB);
    let gb = 0;
    matVec(K, nt, look, z);
    for (let i = 0; i < nt; ++i) {
      const p = 1 / (1 + Math.exp(-(z[i] + lookB)));
      r[i] = (wt[y[i]] * (p - y[i])) / nt;
      gb += r[i];
    }
    const next = new Float64Array(nt);
    for (let i = 0; i < nt; ++i) next[i] = look[i] - eta * (r[i] + l2 * look[i]);
    prevAlpha = alpha;
    prevB = b;
    alpha = next;
    b = lookB - eta * gb;
  }
  const w = new Float64Array(dim);
  for (let i = 0; i < nt; ++i) {
    const a = alpha[i];
    const o = i * dim;
    for (let j = 0; j < dim; ++j) w[j] += a * xs[o + j];
  }
  return { w, b };
}

/**
 * k nearest neighbours (Euclidean on standardised features) of each test row among the training
 * rows, by majority vote; ties in distance go to the lower training index, a tied vote (even k)
 * to the nearest neighbour's label. Votes are not class-weighted.
 */
function knnPredict(train: Float64Array, y: Uint8Array, nt: number, test: Float64Array, ns: number, dim: number, k: number): Uint8Array {
  const out = new Uint8Array(ns);
  const dist = new Float64Array(nt);
  const order = new Int32Array(nt);
  for (let s = 0; s < ns; ++s) {
    const so = s * dim;
    for (let i = 0; i < nt; ++i) {
      const o = i * dim;
      let d = 0;
      for (let j = 0; j < dim; ++j) {
        const e = test[so + j] - train[o + j];
        d += e * e;
      }
      dist[i] = d;
    }
    // Partial selection sort of the k nearest: k is small.
    for (let i = 0; i < nt; ++i) order[i] = i;
    let votes = 0;
    for (let m = 0; m < k; ++m) {
      let best = m;
      for (let i = m + 1; i < nt; ++i) {
        const a = order[i];
        const c = order[best];
        if (dist[a] < dist[c] || (dist[a] === dist[c] && a < c)) best = i;
      }
      const tmp = order[m];
      order[m] = order[best];
      order[best] = tmp;
      votes += y[order[m]];
    }
    out[s] = 2 * votes > k ? 1 : 2 * votes < k ? 0 : y[order[0]];
  }
  return out;
}

/**
 * How separable two sets of latents are: the k-fold cross-validated accuracy of a classifier
 * told to tell real (label 0) from predicted (label 1) rows. 0.5 = indistinguishable (and what a
 * prediction equal to the truth scores), 1 = fully separable.
 *
 * Every row is predicted once, by the model trained on the other folds; the score pools those
 * held-out predictions as balanced accuracy, the mean of the two classes' recalls, so that with
 * unequal sides always guessing the larger one still scores 0.5 (with equal sides it is plain
 * accuracy). Features are standardised with the training fold's mean and standard deviation.
 *
 *   'logistic' (default) L2-regularised logistic regression (see DEFAULT_L2) on the features and,
 *              by default, their squares (withSquares): sees a shifted mean and a changed spread
 *              per feature, e.g. a cloud shrunk about the right mean (regression to the mean).
 *              With features: 'linear' it sees the shift only.
 *   'knn'      majority vote of the k nearest training rows: a second opinion that needs larger
 *              differences in high dimension and is blind to a shrunken cloud (a real latent's
 *              nearest neighbours are then the predictions).
 *
 * Pass `groups` whenever a row of one set is paired with a row of the other (the true latent of a
 * window and its prediction): otherwise an identical pair split across folds lets the classifier
 * see the test row, with the wrong label, in training. Deterministic for a given seed.
 */
export function separability(real: Float32Array, pred: Float32Array, dim: number, opts: SeparabilityOptions = {}): SeparabilityResult {
  const fn = 'separability';
  checkInt(fn, 'dim', dim, 1);
  const folds = checkInt(fn, 'opts.folds', opts.folds ?? 5, 2, 1000);
  const seed = checkInt(fn, 'opts.seed', opts.seed ?? 0, 0, 2 ** 53);
  const classifier = opts.classifier ?? 'logistic';
  if (classifier !== 'logistic' && classifier !== 'knn') throw typeError(fn, 'opts.classifier', "'logistic' or 'knn'", classifier);
  const k = checkInt(fn, 'opts.k', opts.k ?? 5, 1);
  const l2 = checkNumber(fn, 'opts.l2', opts.l2 ?? DEFAULT_L2, 0);
  if (l2 === 0) throw new RangeError(`${fn}: opts.l2 must be > 0 (with fewer latents than dimensions the classes are separable and unregularised weights grow without bound), got 0`);
  const features = opts.features ?? 'quadratic';
  if (features !== 'linear' && features !== 'quadratic') throw typeError(fn, 'opts.features', "'linear' or 'quadratic'", features);
  const quadratic = features === 'quadratic';
  const iterations = checkInt(fn, 'opts.iterations', opts.iterations ?? DEFAULT_ITERATIONS, 1, 1e6);
  const nReal = checkRows(fn, 'real', real, dim, folds);
  const nPred = checkRows(fn, 'pred', pred, dim, folds);
  const n = nReal + nPred;
  let groups: Int32Array;
  if (opts.groups === undefined) {
    groups = new Int32Array(n);
    for (let i = 0; i < n; ++i) groups[i] = i;
  } else {
    if (!(opts.groups instanceof Int32Array) || opts.groups.length !== n)
      throw typeError(fn, 'opts.groups', `an Int32Array of one group id per row (${nReal} real + ${nPred} predicted = ${n})`, opts.groups);
    groups = opts.groups;
  }

  const x = new Float64Array(n * dim);
  x.set(real);
  x.set(pred, nReal * dim);
  const labels = new Uint8Array(n);
  labels.fill(1, nReal);
  const foldList = assignFolds(fn, labels, groups, folds, seed, nReal, nPred);

  const predicted = new Uint8Array(n);
  for (const { train, test } of foldList) {
    const { mean, scale } = trainingStats(x, train, dim);
    const xs = standardise(x, train, dim, mean, scale);
    const xt = standardise(x, test, dim, mean, scale);
    const yTrain = new Uint8Array(train.length);
    for (let i = 0; i < train.length; ++i) yTrain[i] = labels[train[i]];
    if (classifier === 'logistic') {
      const fs = quadratic ? withSquares(xs, train.length, dim, scale) : xs;
      const ft = quadratic ? withSquares(xt, test.length, dim, scale) : xt;
      const fdim = quadratic ? 2 * dim : dim;
      const { w, b } = trainLogistic(fs, yTrain, train.length, fdim, l2, iterations);
      for (let i = 0; i < test.length; ++i) predicted[test[i]] = dot(ft, i * fdim, w, 0, fdim) + b > 0 ? 1 : 0;
    } else {
      if (k > train.length) throw new RangeError(`${fn}: opts.k must be at most the training rows of every fold (${train.length}), got ${k}`);
      const out = knnPredict(xs, yTrain, train.length, xt, test.length, dim, k);
      for (let i = 0; i < test.length; ++i) predicted[test[i]] = out[i];
    }
  }
  let hitReal = 0;
  let hitPred = 0;
  for (let i = 0; i < n; ++i) {
    if (predicted[i] !== labels[i]) continue;
    if (labels[i] === 0) ++hitReal;
    else ++hitPred;
  }
  return {
    accuracy: (hitReal / nReal + hitPred / nPred) / 2,
    classifier: classifier === 'logistic' ? `logistic (L2 ${l2}, ${features}), ${folds}-fold` : `${k}-NN, ${folds}-fold`,
    samples: Math.min(nReal, nPred),
  };
}

export interface LatentDriftOptions extends Omit<SeparabilityOptions, 'groups'> {
  /**
   * One group id per window (default: the window index, each window its own group). Windows that
   * share frames, e.g. overlapping windows of one episode, should share an id: otherwise a true
   * latent of one window can be another's copy-last latent, sitting in training with the other
   * label while the same latent is held out.
   */
  windowGroups?: Int32Array;
}

/**
 * The LatentDrift section of eval.json: per rollout step k, the separability and Fréchet distance
 * between the true latents at step k (realPerStep[k], one row per window) and the predicted ones
 * (predPerStep[k], same windows in the same order), and the same for copy-last: the last context
 * latent of each window (copyLast) against the true latents at step k.
 *
 * Row w of every array comes from window w, so the window index is the group of separability
 * (or opts.windowGroups[w], for windows that share frames): a window's true latent and its
 * prediction (or its copy-last latent) are held out together.
 * Every step uses the same seed, hence the same folds, so steps differ only by their latents.
 * Without opts.folds, 5 folds, or as many as there are groups when fewer (at least 2 windows).
 */
export function latentDrift(realPerStep: Float32Array[], predPerStep: Float32Array[], copyLast: Float32Array, dim: number, opts: LatentDriftOptions = {}): LatentDrift {
  const fn = 'latentDrift';
  checkInt(fn, 'dim', dim, 1);
  if (!Array.isArray(realPerStep) || realPerStep.length === 0) throw typeError(fn, 'realPerStep', 'a non-empty array of Float32Array (one per rollout step)', realPerStep);
  if (!Array.isArray(predPerStep) || predPerStep.length !== realPerStep.length)
    throw typeError(fn, 'predPerStep', `an array of ${realPerStep.length} Float32Array (one per step, as realPerStep)`, predPerStep);
  const windows = checkRows(fn, 'copyLast', copyLast, dim, 2);
  for (let s = 0; s < realPerStep.length; ++s) {
    for (const [name, arr] of [['realPerStep', realPerStep[s]], ['predPerStep', predPerStep[s]]] as const) {
      const rows = checkRows(fn, `${name}[${s}]`, arr, dim, 2);
      if (rows !== windows)
        throw new RangeError(`${fn}: ${name}[${s}] must hold one row per window like copyLast (${windows} rows of ${dim}), got ${rows} rows`);
    }
  }
  if ((opts as SeparabilityOptions).groups !== undefined)
    throw new TypeError(`${fn}: opts.groups must be absent (the window is the group; see opts.windowGroups), got ${describeValue((opts as SeparabilityOptions).groups)}`);
  const { windowGroups, ...rest } = opts;
  if (windowGroups !== undefined && (!(windowGroups instanceof Int32Array) || windowGroups.length !== windows))
    throw typeError(fn, 'opts.windowGroups', `an Int32Array of one group id per window (${windows})`, windowGroups);
  const groups = new Int32Array(2 * windows);
  for (let w = 0; w < windows; ++w) {
    groups[w] = windowGroups ? windowGroups[w] : w;
    groups[windows + w] = groups[w];
  }
  // Default folds: 5, or one per group when there are fewer (few windows, or coarse windowGroups).
  const distinct = new Set(groups).size;
  if (distinct < 2) throw new RangeError(`${fn}: opts.windowGroups must hold at least 2 distinct ids (one per cross-validation fold), got ${distinct}`);
  const sepOpts: SeparabilityOptions = { ...rest, groups, folds: rest.folds ?? Math.min(5, distinct) };
  const drift: LatentDrift = { separability: [], frechet: [], copyLastSeparability: [], copyLastFrechet: [], classifier: '', samples: windows };
  for (let s = 0; s < realPerStep.length; ++s) {
    const model = separability(realPerStep[s], predPerStep[s], dim, sepOpts);
    const copy = separability(realPerStep[s], copyLast, dim, sepOpts);
    drift.separability.push(model.accuracy);
    drift.copyLastSeparability.push(copy.accuracy);
    drift.frechet.push(frechetDistance(realPerStep[s], predPerStep[s], dim));
    drift.copyLastFrechet.push(frechetDistance(realPerStep[s], copyLast, dim));
    drift.classifier = model.classifier;
  }
  return drift;
}
