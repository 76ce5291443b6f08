/**
 * Reductions (native kernels in cpp/reduce.cpp): sum and mean over all elements or over one or
 * more axes, optionally keeping reduced axes as size 1. Sums accumulate in double in a fixed
 * order, so results do not depend on the thread count. The gradient is a broadcast.
 */
import { fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { checkFloat32 } from './elementwise';

/** Normalized, sorted, distinct axes (all axes when `axis` is undefined). */
export function normAxes(fn: string, axis: number | number[] | undefined, ndim: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  const out: number[] = [];
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) throw typeError(fn, 'axis', 'an integer or an array of integers', axis);
    if (a < -ndim || a >= ndim) throw rangeError(fn, `axis must be in [${-ndim}, ${ndim - 1}] for a tensor of rank ${ndim}, got ${a}`);
    const n = a < 0 ? a + ndim : a;
    if (out.includes(n)) throw rangeError(fn, `axis ${a} is repeated in [${list.join(',')}]`);
    out.push(n);
  }
  return out.sort((x, y) => x - y);
}

function reduceOp(fn: 'sum' | 'mean', x: Tensor, axis: number | number[] | undefined, keepDims: boolean): Tensor {
  checkTensor(fn, 'x', x);
  const be = backendOf(fn, [['x', x]]);
  checkFloat32(fn, 'x', x);
  if (typeof keepDims !== 'boolean') throw typeError(fn, 'keepDims', 'a boolean', keepDims);
  const axes = normAxes(fn, axis, x.ndim);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const scale = fn === 'mean' ? (count > 0 ? 1 / count : NaN) : 1;
  const out = Tensor.on(be, outShape, 'float32', true, fn);
  if (Number.isNaN(scale)) be.fill(out._buf, out.size, NaN, fn);
  else be.sumTo(x.buf(fn, 'x'), x.shape.slice(), axes, kept, out._buf, scale);
  const xShape = x.shape.slice();
  return record(out, fn, [x], (g) => {
    const bf = `${fn} backward`;
    const gx = Tensor.on(be, xShape.slice(), 'float32', true, bf);
    if (!Number.isNaN(scale)) be.broadcastTo(g.buf(bf, 'gradient'), kept, gx._buf, xShape, scale);
    return [gx];
  });
}

/** Sum over all elements (axis undefined) or over the given axes. */
export function sum(x: Tensor, axis?: number | number[], keepDims = false): Tensor {
  return reduceOp('sum', x, axis, keepDims);
}

/** Mean over all elements (axis undefined) or over the given axes. */
export function mean(x: Tensor, axis?: number | number[], keepDims = false): Tensor {
  return reduceOp('mean', x, axis, keepDims);
}

/**
 * Sums x down to `shape`, a shape x broadcasts from (the gradient of a broadcast): aligned at
 * the last dimension, every dimension of `shape` equal to x's or 1.
 */
export function sumTo(x: Tensor, shape: number[]): Tensor {
  checkTensor('sumTo', 'x', x);
  const nd = x.ndim;
  if (shape.length > nd) throw rangeError('sumTo', `cannot sum ${fmtShape(x.shape)} down to ${fmtShape(shape)}`);
  const padded = [...new Array(nd - shape.length).fill(1), ...shape];
  const axes: number[] = [];
  for (let i = 0; i < nd; ++i) {
    if (padded[i] === x.shape[i]) continue;
    if (padded[i] !== 1) throw rangeError('sumTo', `cannot sum ${fmtShape(x.shape)} down to ${fmtShape(shape)}`);
    axes.push(i);
  }
  const s = sum(x, axes, true);
  return shapeSize(s.shape) === shapeSize(shape) && s.ndim !== shape.length ? s.reshape(shape) : s;
}
