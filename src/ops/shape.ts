/**
 * Shape and layout ops: reshape/flatten/index are views (shared storage, no copy); slice,
 * permute, concat and stack copy into a new contiguous tensor. All are recorded on the tape.
 */
import { checkInt, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { isGradEnabled } from '../autograd/grad_mode';
import { backendOf } from '../tensor/placement';

function normAxis(fn: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim)
    throw rangeError(fn, `axis must be an integer in [${-ndim}, ${ndim - 1}], got ${axis}`);
  return axis < 0 ? axis + ndim : axis;
}

export function reshape(x: Tensor, shapeIn: number[]): Tensor {
  checkTensor('reshape', 'x', x);
  const shape = shapeIn.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; ++i) {
    const d = shape[i];
    if (d === -1) {
      if (infer >= 0) throw rangeError('reshape', `only one dimension can be -1, got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw typeError('reshape', 'shape', 'an array of non-negative integers (one may be -1)', shapeIn);
    } else known *= d;
  }
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0)
      throw rangeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    shape[infer] = x.size / known;
  }
  if (shapeSize(shape) !== x.size)
    throw rangeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  const out = x._viewAt(shape, 0, 'reshape');
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', 'x', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  if (e < s) throw rangeError('flatten', `endDim ${endDim} is before startDim ${startDim}`);
  const shape = [...x.shape.slice(0, s), shapeSize(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  checkTensor('squeeze', 'x', x);
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) throw rangeError('squeeze', `axis ${axis} has size ${x.shape[a]}, not 1 (shape ${fmtShape(x.shape)})`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor('unsqueeze', 'x', x);
  const a = normAxis('unsqueeze', axis, x.ndim + 1);
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Row i along axis 0: a view sharing storage. */
export function index(x: Tensor, i: number): Tensor {
  checkTensor('index', 'x', x);
  if (x.ndim === 0) throw rangeError('index', 'cannot index a scalar tensor');
  const n = x.shape[0];
  if (!Number.isInteger(i) || i < -n || i >= n) throw rangeError('index', `index must be an integer in [${-n}, ${n - 1}], got ${i}`);
  const k = i < 0 ? i + n : i;
  const rowShape = x.shape.slice(1);
  const rowSize = shapeSize(rowShape);
  const be = x._backend;
  const out = x._viewAt(rowShape, k * rowSize, 'index');
  return record(out, 'index', [x], (g) => {
    const bf = 'index backward';
    const gx = Tensor.on(be, x.shape.slice(), 'float32', true, bf);
    be.copy(be.view(gx._buf, 'float32', k * rowSize, rowSize, bf), g.buf(bf, 'gradient'), rowSize, 'float32', bf);
    return [gx];
  });
}

/** A copy of the box starting at `begin` with extent `size` (-1: to the end). */
export function slice(x: Tensor, begin: number[], size?: number[]): Tensor {
  checkTensor('slice', 'x', x);
  if (!Array.isArray(begin) || begin.length !== x.ndim)
    throw rangeError('slice', `begin must have ${x.ndim} entries for shape ${fmtShape(x.shape)}, got ${JSON.stringify(begin)}`);
  const sz = size ? size.slice() : x.shape.map((d, i) => d - begin[i]);
  if (sz.length !== x.ndim) throw rangeError('slice', `size must have ${x.ndim} entries, got ${JSON.stringify(size)}`);
  for (let d = 0; d < x.ndim; ++d) {
    checkInt('slice', `begin[${d}]`, begin[d], 0, x.shape[d]);
    if (sz[d] === -1) sz[d] = x.shape[d] - begin[d];
    checkInt('slice', `size[${d}]`, sz[d], 0, x.shape[d] - begin[d]);
  }
  const be = x._backend;
  const zero = new Array<number>(x.ndim).fill(0);
  const out = Tensor.on(be, sz, x.dtype, false, 'slice'); // the box copy writes every element
  be.copyBox(x.buf('slice', 'x'), x.shape, begin, sz, out._buf, sz, zero, x.dtype, 'slice');
  return record(out, 'slice', [x], (g) => {
    const bf = 'slice backward';
    const gx = Tensor.on(be, x.shape.slice(), 'float32', true, bf);
    be.copyBox(g.buf(bf, 'gradient'), sz, zero, sz, gx._buf, x.shape, begin, 'float32', bf);
    return [gx];
  });
}

export function permute(x: Tensor, dims: number[]): Tensor {
  checkTensor('permute', 'x', x);
  if (dims.length !== x.ndim) throw rangeError('permute', `dims must list ${x.ndim} axes for shape ${fmtShape(x.shape)}, got [${dims}]`);
  const perm = dims.map((d) => normAxis('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw rangeError('permute', `dims must be a permutation, got [${dims}]`);
  const outShape = perm.map((p) => x.shape[p]);
  const be = x._backend;
  const out = Tensor.on(be, outShape, x.dtype, false, 'permute'); // every element written
  be.permute(x.buf('permute', 'x'), x.shape, perm, out._buf, x.dtype, 'permute');
  return record(out, 'permute', [x], (g) => {
    const inv = new Array(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(g, inv)];
  });
}

export function transpose(x: Tensor, dim0 = 0, dim1 = 1): Tensor {
  checkTensor('transpose', 'x', x);
  const a = normAxis('transpose', dim0, x.ndim);
  const b = normAxis('transpose', dim1, x.ndim);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

export function clone(x: Tensor): Tensor {
  checkTensor('clone', 'x', x);
  const be = x._backend;
  const out = Tensor.on(be, x.shape.slice(), x.dtype, false, 'clone');
  be.copy(out._buf, x.buf('clone', 'x'), x.size, x.dtype, 'clone');
  return record(out, 'clone', [x], (g) => [g]);
}

/** Joins tensors along `axis`; all other dimensions must match. */
export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError('concat', 'tensors', 'a non-empty array of tensors', tensors);
  tensors.forEach((t, i) => checkTensor('concat', `tensors[${i}]`, t));
  const first = tensors[0];
  const ax = normAxis('concat', axis, first.ndim);
  for (let i = 1; i < tensors.length; ++i) {
    const t = tensors[i];
    if (t.dtype !== first.dtype) throw new TypeError(`concat: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    if (t.ndim !== first.ndim || t.shape.some((d, k) => k !== ax && d !== first.shape[k]))
      throw rangeError('concat', `tensors[${i}] has shape ${fmtShape(t.shape)}, incompatible with ${fmtShape(first.shape)} along axis ${ax}`);
  }
  const outShape = first.shape.slice();
  outShape[ax] = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const be = backendOf('concat', tensors.map((t, i): [string, Tensor] => [`tensors[${i}]`, t]));
  const out = Tensor.on(be, outShape, first.dtype, false, 'concat'); // the parts tile it
  const zero = new Array(first.ndim).fill(0);
  let at = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const dstBegin = zero.slice();
    dstBegin[ax] = at;
    offsets.push(at);
    be.copyBox(t.buf('concat', 'tensors'), t.shape, zero, t.shape, out._buf, outShape, dstBegin, first.dtype, 'concat');
    at += t.shape[ax];
  }
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, i) => {
      if (!t.requiresGrad) return null;
      const begin = zero.slice();
      begin[ax] = offsets[i];
      const bf = 'concat backward';
      const gi = Tensor.on(be, t.shape.slice(), 'float32', false, bf); // the box is all of gi
      be.copyBox(g.buf(bf, 'gradient'), outShape, begin, t.shape, gi._buf, t.shape, zero, 'float32', bf);
      return gi;
    }),
  );
}

/**
 * Writes src into dst in place, src's box starting at `begin` of dst (a KV cache filled a block at
 * a time). Not recorded: an in-place write has no backward, so it is refused when gradients are
 * on and either tensor needs one.
 */
export function writeInto(dst: Tensor, src: Tensor, begin: number[]): void {
  const fn = 'writeInto';
  checkTensor(fn, 'dst', dst);
  checkTensor(fn, 'src', src);
  if (src.dtype !== dst.dtype) throw new TypeError(`${fn}: src is ${src.dtype} but dst is ${dst.dtype}`);
  if (!Array.isArray(begin) || begin.length !== dst.ndim || src.ndim !== dst.ndim)
    throw rangeError(fn, `src ${fmtShape(src.shape)} and begin ${JSON.stringify(begin)} must have dst's ${dst.ndim} dimensions (${fmtShape(dst.shape)})`);
  begin.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b + src.shape[i] > dst.shape[i])
      throw rangeError(fn, `src ${fmtShape(src.shape)} at ${JSON.stringify(begin)} does not fit dst ${fmtShape(dst.shape)} (axis ${i})`);
  });
  if (isGradEnabled() && (src.requiresGrad || dst.requiresGrad)) throw rangeError(fn, 'an in-place write has no backward: call it under noGrad, on tensors that need no gradient');
  const be = backendOf(fn, [['dst', dst], ['src', src]]);
  be.copyBox(src.buf(fn, 'src'), src.shape, new Array(src.ndim).fill(0), src.shape, dst.buf(fn, 'dst'), dst.shape, begin, dst.dtype, fn);
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError('stack', 'tensors', 'a non-empty array of tensors', tensors);
  tensors.forEach((t, i) => checkTensor('stack', `tensors[${i}]`, t));
  const s0 = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (t.shape.join(',') !== s0.join(','))
      throw rangeError('stack', `tensors[${i}] has shape ${fmtShape(t.shape)} but tensors[0] has ${fmtShape(s0)}`);
  });
  const ax = normAxis('stack', axis, s0.length + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, ax)),
    ax,
  );
}

