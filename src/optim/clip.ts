/** Gradient clipping by global L2 norm (fixed-order double accumulation over all gradients). */
import { typeError } from '../errors';
import { Tensor, isTensor } from '../tensor/tensor';
import { native } from '../backend/native';
import { ParamsLike } from './optimizer';
import { scaleInPlace as cudaScaleInPlace, sumSquares as cudaSumSquares } from '../ops/cuda_ops';

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
 * Sum of the squares of the tensors' own values (double accumulation): one native pass over the
 * CPU ones, one device reduction per 'cuda' one. Finite exactly when every value is finite (a
 * float32 square is at most ~1.2e77, so the double sum cannot overflow), which makes it the
 * training loop's cheap NaN/Inf check over weights and gradients.
 */
export function sumOfSquares(fn: string, tensors: Tensor[]): number {
  const cpu = tensors.filter((t) => t.device === 'cpu').map((t, i) => t.f32(fn, `tensors[${i}]`));
  let s = cpu.length ? native.sumSquares(cpu) : 0;
  for (const t of tensors) if (t.device === 'cuda') s += cudaSumSquares(fn, t);
  return s;
}

/** Sum of the squared gradients: one native pass over the CPU ones, one device reduction per 'cuda' one. */
function sumSquares(fn: string, ps: Tensor[]): number {
  const cpu = ps.filter((p) => p.grad!.device === 'cpu').map((p, i) => p.grad!.f32(fn, `params[${i}].grad`));
  let s = cpu.length ? native.sumSquares(cpu) : 0;
  for (const p of ps) if (p.grad!.device === 'cuda') s += cudaSumSquares(fn, p.grad!);
  return s;
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
    for (const p of ps) {
      if (p.grad!.device === 'cuda') cudaScaleInPlace('clipGradNorm', p.grad!, scale);
      else native.scaleInPlace(p.grad!.f32('clipGradNorm'), scale);
    }
  return norm;
}
