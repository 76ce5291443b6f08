/**
 * Elementwise arithmetic with numpy-style broadcasting, and activations (native kernels in
 * cpp/elementwise.cpp). Every op is recorded on the autograd tape; gradients of broadcast
 * operands are summed back to their shape in a fixed order.
 *
 * Broadcasting: shapes are aligned at their last dimension; each pair of dimensions must be
 * equal or one of them 1 (at most 6 dimensions). A number operand is a scalar.
 */
import { describeValue, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, record } from '../tensor/tensor';
import { native } from '../backend/native';
import { deviceOf } from '../tensor/device';
import * as cudaOps from './cuda_ops';

/** Native op codes (cpp/elementwise.h). */
const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export const UNARY = {
  neg: 0,
  square: 1,
  sqrt: 2,
  relu: 3,
  leakyRelu: 4,
  sigmoid: 5,
  tanh: 6,
  exp: 7,
  log: 8,
  softplus: 9,
  abs: 10,
  affine: 11,
  rdiv: 12,
  pow: 13,
  clamp: 14,
} as const;
/** Ops whose backward reads the output y; the rest read the input x (neg/affine read neither). */
const USES_Y = new Set<number>([UNARY.sqrt, UNARY.sigmoid, UNARY.tanh, UNARY.exp]);
const USES_NONE = new Set<number>([UNARY.neg, UNARY.affine]);

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

function scalarArg(fn: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(fn, 'b', 'a Tensor or a number', v);
  if (Number.isNaN(v)) throw typeError(fn, 'b', 'a number, not NaN', v);
  return v;
}

function binary(name: keyof typeof BINARY, a: Tensor, b: Tensor | number): Tensor {
  checkTensor(name, 'a', a);
  const op = BINARY[name];
  if (a.device !== 'cpu' || ((b as Tensor)?._isTensor && (b as Tensor).device !== 'cpu')) {
    const isT = (b as Tensor)?._isTensor === true;
    if (isT) checkTensor(name, 'b', b);
    if (deviceOf(name, [['a', a], ['b', isT ? (b as Tensor) : null]]) === 'cuda') {
      if (!isT) return cudaOps.binary(name, op, a, scalarArg(name, b), a.shape, []);
      const bt = b as Tensor;
      if (a.dtype !== 'float32' || bt.dtype !== 'float32') throw new TypeError(`${name}: a and b must be float32, got ${a.dtype} and ${bt.dtype}`);
      return cudaOps.binary(name, op, a, bt, broadcastShapes(name, a.shape, bt.shape), bt.shape);
    }
  }
  const ad = a.f32(name, 'a');
  let bt: Tensor | null = null;
  let bd: Float32Array;
  let bShape: number[];
  if (typeof b === 'number' || !(b as Tensor)?._isTensor) {
    bd = Float32Array.of(scalarArg(name, b));
    bShape = [];
  } else {
    bt = checkTensor(name, 'b', b);
    bd = bt.f32(name, 'b');
    bShape = bt.shape;
  }
  const outShape = broadcastShapes(name, a.shape, bShape);
  const out = Tensor.empty(outShape);
  native.binaryForward(op, ad, a.shape, bd, bShape, out._data, outShape);
  const inputs = bt ? [a, bt] : [a];
  const aShape = a.shape.slice();
  return record(out, name, inputs, (g) => {
    const wantA = a.requiresGrad;
    const wantB = bt !== null && bt.requiresGrad;
    const same = (s: number[]) => s.length === outShape.length && s.every((d, i) => d === outShape[i]);
    // add/sub pass the gradient through unchanged where no broadcast happened.
    const passA = wantA && (op === BINARY.add || op === BINARY.sub) && same(aShape);
    const passB = wantB && op === BINARY.add && same(bShape);
    const ga = wantA && !passA ? Tensor.empty(aShape.slice()) : null;
    const gb = wantB && !passB ? Tensor.empty(bShape.slice()) : null;
    if (ga || gb) {
      const needA = op === BINARY.mul || op === BINARY.div;
      native.binaryBackward(
        op,
        needA ? a.f32(`${name} backward`, 'a') : ad,
        aShape,
        needA && bt ? bt.f32(`${name} backward`, 'b') : bd,
        bShape,
        g.f32(`${name} backward`, 'gradient'),
        outShape,
        ga ? ga._data : null,
        gb ? gb._data : null,
      );
    }
    const gradA = passA ? g : ga;
    const gradB = passB ? g : gb;
    return bt ? [gradA, gradB] : [gradA];
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

function unary(name: string, op: number, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkTensor(name, 'x', x);
  if (x.device !== 'cpu') return cudaOps.unary(name, op, x, p0, p1, !USES_Y.has(op) && !USES_NONE.has(op), USES_Y.has(op));
  const xd = x.f32(name, 'x');
  const out = Tensor.empty(x.shape.slice());
  const yd = out._data as Float32Array;
  native.unaryForward(op, xd, yd, p0, p1);
  return record(out, name, [x], (g) => {
    const gx = Tensor.empty(x.shape.slice());
    const needX = !USES_Y.has(op) && !USES_NONE.has(op);
    native.unaryBackward(
      op,
      needX ? x.f32(`${name} backward`, 'x') : null,
      USES_Y.has(op) ? yd : null,
      g.f32(`${name} backward`, 'gradient'),
      gx._data,
      p0,
      p1,
    );
    return [gx];
  });
}

function finite(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, arg, 'a finite number', v);
  return v;
}

export function neg(x: Tensor): Tensor {
  return unary('neg', UNARY.neg, x);
}
export function square(x: Tensor): Tensor {
  return unary('square', UNARY.square, x);
}
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', UNARY.sqrt, x);
}
export function relu(x: Tensor): Tensor {
  return unary('relu', UNARY.relu, x);
}
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return unary('leakyRelu', UNARY.leakyRelu, x, finite('leakyRelu', 'slope', slope));
}
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', UNARY.sigmoid, x);
}
export function tanh(x: Tensor): Tensor {
  return unary('tanh', UNARY.tanh, x);
}
export function exp(x: Tensor): Tensor {
  return unary('exp', UNARY.exp, x);
}
export function log(x: Tensor): Tensor {
  return unary('log', UNARY.log, x);
}
/** log(1 + exp(x)), computed stably as max(x, 0) + log1p(exp(-|x|)). */
export function softplus(x: Tensor): Tensor {
  return unary('softplus', UNARY.softplus, x);
}
/** |x| (gradient 0 at 0). */
export function abs(x: Tensor): Tensor {
  return unary('abs', UNARY.abs, x);
}
/** alpha * x + beta in one pass. */
export function scale(x: Tensor, alpha: number, beta = 0): Tensor {
  return unary('scale', UNARY.affine, x, finite('scale', 'alpha', alpha), finite('scale', 'beta', beta));
}
/** c / x elementwise. */
export function reciprocal(x: Tensor, c = 1): Tensor {
  return unary('reciprocal', UNARY.rdiv, x, finite('reciprocal', 'c', c));
}
/** x ^ p for a number p. */
export function pow(x: Tensor, p: number): Tensor {
  return unary('pow', UNARY.pow, x, finite('pow', 'p', p));
}
/** min(max(x, lo), hi); the gradient passes where lo <= x <= hi. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const l = typeof lo === 'number' && !Number.isNaN(lo) ? lo : NaN;
  const h = typeof hi === 'number' && !Number.isNaN(hi) ? hi : NaN;
  if (Number.isNaN(l)) throw typeError('clamp', 'lo', 'a number', lo);
  if (Number.isNaN(h)) throw typeError('clamp', 'hi', 'a number', hi);
  if (l > h) throw rangeError('clamp', `lo must be <= hi, got lo=${lo} and hi=${hi}`);
  const f = (v: number) => Math.max(Math.min(v, 3.4e38), -3.4e38);
  return unary('clamp', UNARY.clamp, x, f(l), f(h));
}

export { describeValue };
