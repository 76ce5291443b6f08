/** Gradient clipping by global L2 norm (fixed-order double accumulation over all gradients). */
import { typeError } from '../errors';
import { Tensor, isTensor } from '../tensor/tensor';
import type { Backend, Buffer } from '../backend/backend';
import { ParamsLike } from './optimizer';

function paramList(fn: string, params: ParamsLike): Tensor[] {
  let list: unknown[];
  if (params && typeof (params as { parameters?: unknown }).parameters === 'function') list = (params as { parameters(): Tensor[] }).parameters();
  else if (params && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function') list = [...(params as Iterable<Tensor>)];
  else throw typeError(fn, 'params', 'an array of tensors or a Module', params);
  list.forEach((p, i) => {
    if (!isTensor(p)) throw typeError(fn, `params[${i}]`, 'a Tensor', p);
  });
  return list as Tensor[];
}

/** The global L2 norm of the gradients of `params` (those with a gradient), in the given order. */
export function gradNorm(params: ParamsLike): number {
  return Math.sqrt(sumSquares('gradNorm', paramList('gradNorm', params).filter((p) => p.grad)));
}

/**
 * The sum of squares of the tensors' elements, accumulated in double: one backend pass over the
 * tensors of each backend, in order of first appearance. Finite exactly when every value is finite
 * (a float32 square is at most ~1.2e77, so the double sum cannot overflow), which makes it the
 * training loop's cheap NaN/Inf check over weights and gradients.
 */
export function sumOfSquares(fn: string, tensors: Tensor[]): number {
  const groups = new Map<Backend, { bufs: Buffer[]; ns: number[] }>();
  tensors.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new TypeError(`${fn}: tensors[${i}] must be float32, got ${t.dtype}`);
    let g = groups.get(t._backend);
    if (!g) groups.set(t._backend, (g = { bufs: [], ns: [] }));
    g.bufs.push(t.buf(fn, `tensors[${i}]`));
    g.ns.push(t.size);
  });
  let s = 0;
  for (const [be, g] of groups) s += be.sumSquares(g.bufs, g.ns, fn);
  return s;
}

/** Sum of the squared gradients (as sumOfSquares). */
function sumSquares(fn: string, ps: Tensor[]): number {
  return sumOfSquares(fn, ps.map((p) => p.grad!));
}

/**
 * Scales all gradients so their global L2 norm is at most maxNorm (factor maxNorm / (norm + 1e-6)
 * when the norm exceeds maxNorm). Returns the norm before clipping. A non-finite norm is returned
 * without touching the gradients, so the caller can stop the run.
 */
export function clipGradNorm(params: ParamsLike, maxNorm: number): number {
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0)
    throw typeError('clipGradNorm', 'maxNorm', 'a finite number > 0', maxNorm);
  const ps = paramList('clipGradNorm', params).filter((p) => p.grad);
  const norm = Math.sqrt(sumSquares('clipGradNorm', ps));
  if (!Number.isFinite(norm)) return norm;
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1)
    for (const p of ps) p.grad!._backend.scaleInPlace(p.grad!.buf('clipGradNorm', 'grad'), p.grad!.size, scale);
  return norm;
}
