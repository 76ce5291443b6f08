/**
 * Reductions (native kernels in cpp/reduce.cpp): sum and mean over all elements or over one or
 * more axes, optionally keeping reduced axes as size 1. Sums accumulate in double in a fixed
 * order, so results do not depend on the thread count. The gradient is a broadcast.
 */
import { fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, record, shapeSize } from '../tensor/tensor';
import { native } from '../backend/native';
import * as cudaOps from './cuda_ops';

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
  const xd = x.device === 'cpu' ? x.f32(fn, 'x') : null;
  if (typeof keepDims !== 'boolean') throw typeError(fn, 'keepDims', 'a boolean', keepDims);
  const axes = normAxes(fn, axis, x.ndim);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const scale = fn === 'mean' ? (count > 0 ? 1 / count : NaN) : 1;
  if (xd === null) return cudaOps.reduce(fn, x, kept, outShape, scale);
  const out = Tensor.empty(outShape);
  if (Number.isNaN(scale)) (out._data as Float32Array).fill(NaN);
  else native.reduceSum(xd, x.shape, axes, out._data, scale);
  const xShape = x.shape.slice();
  return record(out, fn, [x], (g) => {
    const gx = Tensor.empty(xShape.slice());
    if (!Number.isNaN(scale)) native.broadcastTo(g.f32(`${fn} backward`, 'gradient'), kept, gx._data, xShape, scale);
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
