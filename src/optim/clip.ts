/** Gradient clipping by global L2 norm (fixed-order double accumulation over all gradients). */
import { typeError } from '../errors';
import { Tensor, isTensor } from '../tensor/tensor';
import { native } from '../backend/native';
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
  const grads = paramList('gradNorm', params)
    .filter((p) => p.grad)
    .map((p, i) => p.grad!.f32('gradNorm', `params[${i}].grad`));
  return Math.sqrt(native.sumSquares(grads));
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
  const grads = ps.map((p, i) => p.grad!.f32('clipGradNorm', `params[${i}].grad`));
  const norm = Math.sqrt(native.sumSquares(grads));
  if (!Number.isFinite(norm)) return norm;
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of grads) native.scaleInPlace(g, scale);
  return norm;
}
