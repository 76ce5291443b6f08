/**
 * Elementwise arithmetic with numpy-style broadcasting, and activations (native kernels in
 * cpp/elementwise.cpp). Every op is recorded on the autograd tape; gradients of broadcast
 * operands are summed back to their shape in a fixed order.
 *
 * Broadcasting: shapes are aligned at their last dimension; each pair of dimensions must be
 * equal or one of them 1 (at most 6 dimensions). A number operand is a scalar.
 */
import { describeValue, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { opCodes } from '../backend/op_codes';

type UnaryName = keyof ReturnType<typeof opCodes>['unary'];
type BinaryName = keyof ReturnType<typeof opCodes>['binary'];
/** Ops whose backward reads the output y; the rest read the input x (neg/affine read neither). */
const USES_Y = new Set<UnaryName>(['sqrt', 'sigmoid', 'tanh', 'exp']);
const USES_NONE = new Set<UnaryName>(['neg', 'affine']);

const MAX_DIMS = 6;

/** The broadcast shape of a and b, or a RangeError naming `fn` and both shapes. */
export function broadcastShapes(fn: string, a: readonly number[], b: readonly number[]): number[] {
  const nd = Math.max(a.length, b.length);
  const out = new Array<number>(nd);
  for (let i = 0; i < nd; ++i) {
    const da = i < nd - a.length ? 1 : a[i - (nd - a.length)];
    const db = i < nd - b.length ? 1 : b[i - (nd - b.length)];
    if (da !== db && da !== 1 && db !== 1)
      throw rangeError(fn, `a is ${fmtShape(a)} and b is ${fmtShape(b)}; they do not broadcast (dimension ${i - nd}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  if (nd > MAX_DIMS) throw rangeError(fn, `at most ${MAX_DIMS} dimensions are supported, got ${fmtShape(out)}`);
  return out;
}

/** A TypeError naming fn and arg unless t is float32. */
export function checkFloat32(fn: string, arg: string, t: Tensor): void {
  if (t.dtype !== 'float32') throw new TypeError(`${fn}: ${arg} must be float32, got ${t.dtype}`);
}

function scalarArg(fn: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(fn, 'b', 'a Tensor or a number', v);
  if (Number.isNaN(v)) throw typeError(fn, 'b', 'a number, not NaN', v);
  return v;
}

function binary(name: BinaryName, a: Tensor, b: Tensor | number): Tensor {
  checkTensor(name, 'a', a);
  const op = opCodes().binary[name];
  if (typeof b === 'number' || !(b as Tensor)?._isTensor) {
    const s = scalarArg(name, b);
    const be = backendOf(name, [['a', a]]);
    const ad = a.buf(name, 'a');
    checkFloat32(name, 'a', a);
    const aShape = broadcastShapes(name, a.shape, []); // a's shape, checked
    const out = Tensor.on(be, aShape.slice(), 'float32', false, name);
    be.binaryScalarForward(op, ad, aShape, s, out._buf);
    return record(out, name, [a], (g) => {
      if (name === 'add' || name === 'sub') return [g];
      const bf = `${name} backward`;
      const ga = Tensor.on(be, aShape.slice(), 'float32', true, bf);
      be.binaryScalarBackward(op, a.buf(bf, 'a'), aShape, s, g.buf(bf, 'gradient'), ga._buf);
      return [ga];
    });
  }
  const bt = checkTensor(name, 'b', b);
  const be = backendOf(name, [['a', a], ['b', bt]]);
  checkFloat32(name, 'a', a);
  checkFloat32(name, 'b', bt);
  const aShape = a.shape.slice(), bShape = bt.shape.slice();
  const outShape = broadcastShapes(name, aShape, bShape);
  const out = Tensor.on(be, outShape.slice(), 'float32', false, name);
  be.binaryForward(op, a.buf(name, 'a'), aShape, bt.buf(name, 'b'), bShape, out._buf, outShape);
  return record(out, name, [a, bt], (g) => {
    const bf = `${name} backward`;
    const wantA = a.requiresGrad;
    const wantB = bt.requiresGrad;
    const same = (s: number[]) => s.length === outShape.length && s.every((d, i) => d === outShape[i]);
    // add/sub pass the gradient through unchanged where no broadcast happened.
    const passA = wantA && (name === 'add' || name === 'sub') && same(aShape);
    const passB = wantB && name === 'add' && same(bShape);
    const ga = wantA && !passA ? Tensor.on(be, aShape.slice(), 'float32', true, bf) : null;
    const gb = wantB && !passB ? Tensor.on(be, bShape.slice(), 'float32', true, bf) : null;
    if (ga || gb)
      be.binaryBackward(op, a.buf(bf, 'a'), aShape, bt.buf(bf, 'b'), bShape, g.buf(bf, 'gradient'), outShape, ga ? ga._buf : null, gb ? gb._buf : null);
    return [passA ? g : ga, passB ? g : gb];
  });
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary('add', a, b);
}
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary('sub', a, b);
}
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary('mul', a, b);
}
export function div(a: Tensor, b: Tensor | number): Tensor {
  return binary('div', a, b);
}

function unary(name: string, opName: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkTensor(name, 'x', x);
  const be = backendOf(name, [['x', x]]);
  checkFloat32(name, 'x', x);
  const op = opCodes().unary[opName];
  const n = x.size;
  const out = Tensor.on(be, x.shape.slice(), 'float32', false, name);
  be.unaryForward(op, x.buf(name, 'x'), out._buf, n, p0, p1);
  const y = out._buf;
  return record(out, name, [x], (g) => {
    const bf = `${name} backward`;
    const gx = Tensor.on(be, x.shape.slice(), 'float32', false, bf);
    const needX = !USES_Y.has(opName) && !USES_NONE.has(opName);
    be.unaryBackward(op, needX ? x.buf(bf, 'x') : null, USES_Y.has(opName) ? y : null, g.buf(bf, 'gradient'), gx._buf, n, p0, p1);
    return [gx];
  });
}

function finite(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, arg, 'a finite number', v);
  return v;
}

export function neg(x: Tensor): Tensor {
  return unary('neg', 'neg', x);
}
export function square(x: Tensor): Tensor {
  return unary('square', 'square', x);
}
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', 'sqrt', x);
}
export function relu(x: Tensor): Tensor {
  return unary('relu', 'relu', x);
}
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return unary('leakyRelu', 'leakyRelu', x, finite('leakyRelu', 'slope', slope));
}
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', 'sigmoid', x);
}
export function tanh(x: Tensor): Tensor {
  return unary('tanh', 'tanh', x);
}
export function exp(x: Tensor): Tensor {
  return unary('exp', 'exp', x);
}
export function log(x: Tensor): Tensor {
  return unary('log', 'log', x);
}
/** log(1 + exp(x)), computed stably as max(x, 0) + log1p(exp(-|x|)). */
export function softplus(x: Tensor): Tensor {
  return unary('softplus', 'softplus', x);
}
/**
 * GELU, the exact form (PyTorch's default nn.GELU / F.gelu with approximate='none'):
 * x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2, Phi the standard normal CDF.
 */
export function gelu(x: Tensor): Tensor {
  return unary('gelu', 'gelu', x);
}
/** |x| (gradient 0 at 0). */
export function abs(x: Tensor): Tensor {
  return unary('abs', 'abs', x);
}
/** alpha * x + beta in one pass. */
export function scale(x: Tensor, alpha: number, beta = 0): Tensor {
  return unary('scale', 'affine', x, finite('scale', 'alpha', alpha), finite('scale', 'beta', beta));
}
/** c / x elementwise. */
export function reciprocal(x: Tensor, c = 1): Tensor {
  return unary('reciprocal', 'rdiv', x, finite('reciprocal', 'c', c));
}
/** x ^ p for a number p. */
export function pow(x: Tensor, p: number): Tensor {
  return unary('pow', 'pow', x, finite('pow', 'p', p));
}
/** min(max(x, lo), hi); the gradient passes where lo <= x <= hi. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const l = typeof lo === 'number' && !Number.isNaN(lo) ? lo : NaN;
  const h = typeof hi === 'number' && !Number.isNaN(hi) ? hi : NaN;
  if (Number.isNaN(l)) throw typeError('clamp', 'lo', 'a number', lo);
  if (Number.isNaN(h)) throw typeError('clamp', 'hi', 'a number', hi);
  if (l > h) throw rangeError('clamp', `lo must be <= hi, got lo=${lo} and hi=${hi}`);
  const f = (v: number) => Math.max(Math.min(v, 3.4e38), -3.4e38);
  return unary('clamp', 'clamp', x, f(l), f(h));
}

export { describeValue };
