/**
 * Layer normalization over the last dimension (PyTorch's F.layer_norm with normalized_shape =
 * [C]), over the fused native kernels (cpp/layer_norm.h, cuda/layer_norm.cu):
 *
 *   layerNorm(x [..., C], weight [C] | null, bias [C] | null, eps = 1e-5)
 *     = (x - mean) / sqrt(var + eps) * weight + bias,  mean and the biased var over the last dim.
 *
 * One native call each way: the forward saves each row's mean and 1/sqrt(var + eps) (2 floats a
 * row, tied to the output's storage), and one backward on the tape gives the gradients of x,
 * weight and bias together.
 */
import { checkNumber, fmtShape, rangeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { isGradEnabled } from '../autograd/grad_mode';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { checkFloat32 } from './elementwise';

function checkParam(fn: string, arg: string, t: Tensor | null | undefined, C: number): Tensor | null {
  if (t === null || t === undefined) return null;
  checkTensor(fn, arg, t);
  checkFloat32(fn, arg, t);
  if (t.ndim !== 1 || t.shape[0] !== C) throw rangeError(fn, `${arg} must have shape [${C}] (the last dimension of x), got ${fmtShape(t.shape)}`);
  return t;
}

/**
 * Normalizes each row of the last dimension of x to zero mean and unit variance, then scales by
 * weight and shifts by bias (each optional: null for none).
 */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  checkTensor(fn, 'x', x);
  checkFloat32(fn, 'x', x);
  if (x.ndim < 1) throw rangeError(fn, `x must have at least one dimension (the normalized one), got ${fmtShape(x.shape)}`);
  const C = x.shape[x.ndim - 1];
  if (C < 1) throw rangeError(fn, `the last dimension of x must not be empty, got ${fmtShape(x.shape)}`);
  const w = checkParam(fn, 'weight', weight, C);
  const b = checkParam(fn, 'bias', bias, C);
  checkNumber(fn, 'eps', eps, 0);
  const be = backendOf(fn, [['x', x], ['weight', w], ['bias', b]]);
  const R = shapeSize(x.shape) / C;
  const out = Tensor.on(be, x.shape.slice(), 'float32', false, fn);
  // mean [R] then rstd [R], saved for backward with the output.
  const stats = be.alloc('float32', 2 * R, false, fn);
  out._storage.attach(stats, 8 * R);
  const mean = be.view(stats, 'float32', 0, R, fn);
  const rstd = be.view(stats, 'float32', R, R, fn);
  const xd = x.buf(fn, 'x');
  be.layerNormForward(xd, w ? w.buf(fn, 'weight') : null, b ? b.buf(fn, 'bias') : null, R, C, eps, out._buf, mean, rstd);
  if (!isGradEnabled()) return out;
  const inputs: Tensor[] = [x];
  if (w) inputs.push(w);
  if (b) inputs.push(b);
  return record(out, fn, inputs, (g) => {
    const bf = 'layerNorm backward';
    const gx = x.requiresGrad ? Tensor.on(be, x.shape.slice(), 'float32', false, bf) : null;
    const gw = w && w.requiresGrad ? Tensor.on(be, [C], 'float32', false, bf) : null;
    const gb = b && b.requiresGrad ? Tensor.on(be, [C], 'float32', false, bf) : null;
    be.layerNormBackward(xd, w ? w.buf(bf, 'weight') : null, mean, rstd, g.buf(bf, 'gradient'), R, C, gx?._buf ?? null, gw?._buf ?? null, gb?._buf ?? null);
    const res: (Tensor | null)[] = [gx];
    if (w) res.push(gw);
    if (b) res.push(gb);
    return res;
  });
}
