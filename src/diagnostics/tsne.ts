/**
 * t-SNE of points [N, D] into 2 (or 3) dimensions, over the native kernel (cpp/tsne.cpp), and
 * the trustworthiness of an embedding (Venna & Kaski; the definition sklearn.manifold.trustworthiness
 * uses). See docs/tsne.md.
 *
 *   const { embedding, klDivergence } = tsne(latents, { dim: 1024, perplexity: 30, seed: 1 });
 *   const t = trustworthiness(latents, embedding, n, 5);
 *
 * Runs synchronously on the worldkit thread pool (wk.setNumThreads); the result is the same bits
 * on any thread count. Arguments are checked here (clear TypeError/RangeError naming `tsne`, the
 * argument, what was expected and what came) and again in the binding.
 */
import { requireNative } from '../backend/native';
import { describeValue, rangeError, typeError } from '../errors';

export type TsneMethod = 'exact' | 'barnes-hut';

export interface TsneOptions {
  /** D, the point size, when `points` is a flat Float32Array [N*D] (required then). */
  dim?: number;
  /** Effective number of neighbours per point, in (0, N) (default 30). */
  perplexity?: number;
  /** Gradient steps in all, the early-exaggeration ones included (default 1000). */
  iterations?: number;
  /** Seed of the random init (default 0); with init 'pca' the result does not depend on it. */
  seed?: number;
  /** 'auto' (default): exact for N <= exactThreshold, Barnes-Hut above. */
  method?: 'auto' | TsneMethod;
  /** N at or below which 'auto' picks the exact method (default 5000, at most 10000). */
  exactThreshold?: number;
  /** Barnes-Hut accuracy: a cell is summarized when its side / distance < theta (default 0.5, in [0, 2]). */
  theta?: number;
  /** Step size, or 'auto' = max(N / earlyExaggeration / 4, 50) (default). */
  learningRate?: number | 'auto';
  /** P is multiplied by this for the first 250 steps (default 12). */
  earlyExaggeration?: number;
  /** 'pca' (default: first principal components, first scaled to std 1e-4) or 'random' (seeded, 1e-4 N(0,1)). */
  init?: 'pca' | 'random';
  /** 2 (default) or 3. */
  outputDims?: number;
}

export interface TsneResult {
  /** [n * dims], row-major. */
  embedding: Float32Array;
  n: number;
  dims: number;
  method: TsneMethod;
  /** KL(P || Q) at the final embedding (Barnes-Hut: with the tree's estimate of the normalizer Z). */
  klDivergence: number;
  /** The learning rate used ('auto' resolved). */
  learningRate: number;
}

const FN = 'tsne';

/** A Float32Array from any realm (jest's vm contexts have their own constructors). */
function isF32(v: unknown): v is Float32Array {
  return v instanceof Float32Array || Object.prototype.toString.call(v) === '[object Float32Array]';
}

/** number[][] or a flat Float32Array + dim -> { data, n, d }, checked. */
function flatten(fn: string, arg: string, points: unknown, dim: unknown): { data: Float32Array; n: number; d: number } {
  if (isF32(points)) {
    if (dim === undefined) throw typeError(fn, 'opts.dim', 'an integer (the point size D) when points is a flat Float32Array', dim);
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) throw typeError(fn, 'opts.dim', 'a positive integer', dim);
    if (points.length % dim !== 0)
      throw rangeError(fn, `${arg} must have a multiple of opts.dim (${dim}) values, got ${points.length}`);
    for (let i = 0; i < points.length; ++i)
      if (!Number.isFinite(points[i])) throw rangeError(fn, `${arg} must hold finite values, got ${points[i]} at index ${i}`);
    return { data: points, n: points.length / dim, d: dim };
  }
  if (!Array.isArray(points)) throw typeError(fn, arg, 'a Float32Array [N*D] or an array of N number arrays', points);
  const n = points.length;
  if (n === 0) throw rangeError(fn, `${arg} must hold at least 2 points, got 0`);
  const first = points[0];
  if (!Array.isArray(first) && !ArrayBuffer.isView(first)) throw typeError(fn, `${arg}[0]`, 'an array of numbers', first);
  const d = (first as ArrayLike<number>).length;
  if (d < 1) throw rangeError(fn, `${arg}[0] must have at least 1 value, got 0`);
  if (dim !== undefined && dim !== d) throw rangeError(fn, `opts.dim must match the points' length ${d}, got ${describeValue(dim)}`);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; ++i) {
    const row = points[i] as ArrayLike<number>;
    if (!Array.isArray(row) && !ArrayBuffer.isView(row)) throw typeError(fn, `${arg}[${i}]`, 'an array of numbers', row);
    if (row.length !== d) throw rangeError(fn, `${arg}[${i}] must have ${d} values (as ${arg}[0]), got ${row.length}`);
    for (let c = 0; c < d; ++c) {
      const v = row[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, `${arg}[${i}][${c}]`, 'a finite number', v);
      data[i * d + c] = v;
    }
  }
  return { data, n, d };
}

function checkNum(arg: string, v: unknown, lo: number, hi: number, openLo = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(FN, arg, 'a finite number', v);
  if (openLo ? v <= lo : v < lo) throw rangeError(FN, `${arg} must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], got ${v}`);
  if (v > hi) throw rangeError(FN, `${arg} must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], got ${v}`);
}

function checkInteger(arg: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(FN, arg, 'an integer', v);
  if (v < lo || v > hi) throw rangeError(FN, `${arg} must be an integer in [${lo}, ${hi}], got ${v}`);
}

function checkChoice(arg: string, v: unknown, choices: readonly string[]): void {
  if (!choices.includes(v as string)) {
    const list = choices.map((c) => `'${c}'`).join(' | ');
    if (typeof v !== 'string') throw typeError(FN, arg, list, v);
    throw rangeError(FN, `${arg} must be ${list}, got ${describeValue(v)}`);
  }
}

/**
 * t-SNE embedding of `points` (N rows of D values). Exact (O(N^2) per step) for N up to
 * `exactThreshold` (5000), Barnes-Hut (O(N log N)) above; see docs/tsne.md.
 */
export function tsne(points: Float32Array | number[][], opts: TsneOptions = {}): TsneResult {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw typeError(FN, 'opts', 'an object', opts);
  const { data, n, d } = flatten(FN, 'points', points, opts.dim);
  if (n < 2) throw rangeError(FN, `points must hold at least 2 points, got ${n}`);
  const known = ['dim', 'perplexity', 'iterations', 'seed', 'method', 'exactThreshold', 'theta', 'learningRate', 'earlyExaggeration', 'init', 'outputDims'];
  for (const k of Object.keys(opts))
    if (!known.includes(k)) throw rangeError(FN, `opts.${k} is not an option (options: ${known.join(', ')})`);
  const o = opts as Record<string, unknown>;
  const perplexity = opts.perplexity ?? 30;
  checkNum('opts.perplexity', perplexity, 0, Infinity, true);
  if (perplexity >= n)
    throw rangeError(
      FN,
      `opts.perplexity must be below the number of points (${n}), got ${perplexity}${opts.perplexity === undefined ? ' (the default)' : ''}`,
    );
  if (o.iterations !== undefined) checkInteger('opts.iterations', o.iterations, 0, 1_000_000);
  if (o.seed !== undefined) checkInteger('opts.seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  if (o.method !== undefined) checkChoice('opts.method', o.method, ['auto', 'exact', 'barnes-hut']);
  if (o.exactThreshold !== undefined) checkInteger('opts.exactThreshold', o.exactThreshold, 0, 10000);
  if (o.method === 'exact' && n > 10000)
    throw rangeError(FN, `opts.method must be 'barnes-hut' or 'auto' for more than 10000 points (exact stores N^2 affinities), got 'exact' with ${n} points`);
  if (o.theta !== undefined) checkNum('opts.theta', o.theta, 0, 2);
  if (o.learningRate !== undefined && o.learningRate !== 'auto') {
    if (typeof o.learningRate === 'string') throw rangeError(FN, `opts.learningRate must be a positive number or 'auto', got ${describeValue(o.learningRate)}`);
    checkNum('opts.learningRate', o.learningRate, 0, 1e9, true);
  }
  if (o.earlyExaggeration !== undefined) checkNum('opts.earlyExaggeration', o.earlyExaggeration, 1, 1000);
  if (o.init !== undefined) checkChoice('opts.init', o.init, ['pca', 'random']);
  if (o.outputDims !== undefined) checkInteger('opts.outputDims', o.outputDims, 2, 3);
  const outputDims = opts.outputDims ?? 2;
  if ((opts.init ?? 'pca') === 'pca' && d < outputDims)
    throw rangeError(FN, `opts.init 'pca' needs at least outputDims (${outputDims}) input dimensions, got D=${d}: use init 'random'`);
  const nativeOpts: Record<string, unknown> = { ...opts, perplexity };
  delete nativeOpts.dim;
  const embedding = new Float32Array(n * outputDims);
  const r = requireNative('tsne')(data, n, d, nativeOpts, embedding) as {
    dims: number;
    method: TsneMethod;
    klDivergence: number;
    learningRate: number;
  };
  return { embedding, n, dims: r.dims, method: r.method, klDivergence: r.klDivergence, learningRate: r.learningRate };
}

/**
 * Trustworthiness T(k) of `low` [n * dl] as an embedding of `high` [n * dh] (Venna & Kaski 2001;
 * equal to sklearn.manifold.trustworthiness with the Euclidean metric):
 *   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i} (r(i, j) - k),
 * U_i = i's k nearest neighbours in `low` that are not among its k nearest in `high`, r(i, j) =
 * the rank of j among i's neighbours in `high` (1 = nearest; ties by index). 1 = every low-D
 * neighbourhood is a true one. Needs 1 <= k < n / 2. Native (distances through the GEMM).
 */
export function trustworthiness(high: Float32Array, low: Float32Array, n: number, k = 5): number {
  const fn = 'trustworthiness';
  if (!isF32(high)) throw typeError(fn, 'high', 'a Float32Array [n*dh]', high);
  if (!isF32(low)) throw typeError(fn, 'low', 'a Float32Array [n*dl]', low);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 3) throw typeError(fn, 'n', 'an integer >= 3', n);
  if (typeof k !== 'number' || !Number.isInteger(k)) throw typeError(fn, 'k', 'an integer', k);
  if (k < 1 || 2 * k >= n) throw rangeError(fn, `k must be an integer in [1, n/2) = [1, ${n / 2}), got ${k}`);
  if (high.length === 0 || high.length % n !== 0) throw rangeError(fn, `high must have a positive multiple of n (${n}) values, got ${high.length}`);
  if (low.length === 0 || low.length % n !== 0) throw rangeError(fn, `low must have a positive multiple of n (${n}) values, got ${low.length}`);
  return requireNative('trustworthiness')(high, n, high.length / n, low, low.length / n, k) as number;
}
