/**
 * Matrix products over the native GEMM (cpp/gemm.h).
 *
 *   matmul(a, b)            a [..., M, K] x b [..., K, N] -> [..., M, N]; batch dims equal, or one
 *                           operand 2-D and broadcast over the other's batch
 *   linear(x, weight, bias) x [..., in] . weight[out, in]^T + bias[out] -> [..., out] (PyTorch's
 *                           layout), one GEMM with the bias preloaded into the output (beta = 1)
 *
 * Backward passes are GEMMs with transposed operands; a gradient summed over a broadcast batch
 * is one GEMM over the flattened rows (or accumulates with beta = 1).
 */
import { checkNumel, fmtShape, rangeError } from '../errors';
import type { Backend, Buffer } from '../backend/backend';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { checkFloat32 } from './elementwise';

/** C = op(A) op(B) (+ C when accumulate): row-major, contiguous operands. */
function gemm(be: Backend, tA: boolean, tB: boolean, M: number, N: number, K: number, A: Buffer, B: Buffer, C: Buffer, accumulate = false): void {
  be.gemm(tA, tB, M, N, K, 1, A, tA ? M : K, B, tB ? K : N, accumulate ? 1 : 0, C, N);
}

/** Batch item `index` of a buffer of `size`-element items. */
function sub(be: Backend, a: Buffer, index: number, size: number, fn: string): Buffer {
  return be.view(a, 'float32', index * size, size, fn);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  const fn = 'matmul';
  checkTensor(fn, 'a', a);
  checkTensor(fn, 'b', b);
  const be = backendOf(fn, [['a', a], ['b', b]]);
  checkFloat32(fn, 'a', a);
  checkFloat32(fn, 'b', b);
  if (a.ndim < 2) throw rangeError(fn, `a must have at least 2 dimensions, got ${fmtShape(a.shape)}`);
  if (b.ndim < 2) throw rangeError(fn, `b must have at least 2 dimensions, got ${fmtShape(b.shape)}`);
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2], N = b.shape[b.ndim - 1];
  if (K !== K2)
    throw rangeError(fn, `a is ${fmtShape(a.shape)} and b is ${fmtShape(b.shape)}; inner sizes ${K} and ${K2} differ`);
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  let batch: number[];
  if (aBatch.length === 0) batch = bBatch;
  else if (bBatch.length === 0) batch = aBatch;
  else if (aBatch.join(',') === bBatch.join(',')) batch = aBatch;
  else
    throw rangeError(
      fn,
      `a is ${fmtShape(a.shape)} and b is ${fmtShape(b.shape)}; batch dimensions ${fmtShape(aBatch)} and ${fmtShape(bBatch)} differ (one operand may be 2-D)`,
    );
  checkNumel(fn, 'the output [...batch, a rows, b columns]', [...batch, M, N]);
  const nb = shapeSize(batch);
  const aB = aBatch.length > 0, bB = bBatch.length > 0;
  const out = Tensor.on(be, [...batch, M, N], 'float32', true, fn);
  const ad = a.buf(fn, 'a'), bd = b.buf(fn, 'b'), od = out._buf;
  if (!bB) gemm(be, false, false, nb * M, N, K, ad, bd, od); // a's batch folds into its rows
  else for (let i = 0; i < nb; ++i) gemm(be, false, false, M, N, K, aB ? sub(be, ad, i, M * K, fn) : ad, sub(be, bd, i, K * N, fn), sub(be, od, i, M * N, fn));

  return record(out, fn, [a, b], (g) => {
    const bf = 'matmul backward';
    const gd = g.buf(bf, 'gradient');
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = Tensor.on(be, a.shape.slice(), 'float32', true, bf);
      const gad = ga._buf;
      const B = b.buf(bf, 'b');
      // dA = dC . B^T
      if (!bB) gemm(be, false, true, nb * M, K, N, gd, B, gad);
      else for (let i = 0; i < nb; ++i) gemm(be, false, true, M, K, N, sub(be, gd, i, M * N, bf), sub(be, B, i, K * N, bf), aB ? sub(be, gad, i, M * K, bf) : gad, !aB && i > 0);
    }
    if (b.requiresGrad) {
      gb = Tensor.on(be, b.shape.slice(), 'float32', true, bf);
      const gbd = gb._buf;
      const A = a.buf(bf, 'a');
      // dB = A^T . dC
      if (!bB) gemm(be, true, false, K, N, nb * M, A, gd, gbd);
      else for (let i = 0; i < nb; ++i) gemm(be, true, false, K, N, M, aB ? sub(be, A, i, M * K, bf) : A, sub(be, gd, i, M * N, bf), sub(be, gbd, i, K * N, bf));
    }
    return [ga, gb];
  });
}

/** y = x . weight^T + bias for x [..., in], weight [out, in], bias [out] (optional). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fn = 'linear';
  checkTensor(fn, 'x', x);
  checkTensor(fn, 'weight', weight);
  if (bias !== undefined && bias !== null) checkTensor(fn, 'bias', bias);
  const be = backendOf(fn, [['x', x], ['weight', weight], ['bias', bias]]);
  checkFloat32(fn, 'x', x);
  checkFloat32(fn, 'weight', weight);
  if (weight.ndim !== 2) throw rangeError(fn, `weight must be 2-D [out,in], got ${fmtShape(weight.shape)}`);
  if (x.ndim < 1) throw rangeError(fn, `x must have at least 1 dimension [...,in], got ${fmtShape(x.shape)}`);
  const [O, I] = weight.shape;
  const xin = x.shape[x.ndim - 1];
  if (xin !== I)
    throw rangeError(fn, `x is ${fmtShape(x.shape)} and weight is ${fmtShape(weight.shape)}; in features ${xin} and ${I} differ`);
  const hasBias = bias !== undefined && bias !== null;
  if (hasBias) {
    checkFloat32(fn, 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== O)
      throw rangeError(fn, `bias must be [${O}] (the out features of weight ${fmtShape(weight.shape)}), got ${fmtShape(bias.shape)}`);
  }
  const R = shapeSize(x.shape.slice(0, -1));
  const out = Tensor.on(be, [...x.shape.slice(0, -1), O], 'float32', true, fn);
  be.linearForward(x.buf(fn, 'x'), weight.buf(fn, 'weight'), hasBias ? bias.buf(fn, 'bias') : null, out._buf, R, O, I);

  const inputs = hasBias ? [x, weight, bias] : [x, weight];
  return record(out, fn, inputs, (g) => {
    const bf = 'linear backward';
    const gd = g.buf(bf, 'gradient');
    const grads: (Tensor | null)[] = [null, null, null];
    if (x.requiresGrad) {
      grads[0] = Tensor.on(be, x.shape.slice(), 'float32', true, bf);
      gemm(be, false, false, R, I, O, gd, weight.buf(bf, 'weight'), grads[0]._buf); // dX = dY . W
    }
    if (weight.requiresGrad) {
      grads[1] = Tensor.on(be, [O, I], 'float32', true, bf);
      gemm(be, true, false, O, I, R, gd, x.buf(bf, 'x'), grads[1]._buf); // dW = dY^T . X
    }
    if (hasBias && bias.requiresGrad) {
      grads[2] = Tensor.on(be, [O], 'float32', true, bf);
      be.biasGrad(gd, R, O, grads[2]._buf);
    }
    return grads.slice(0, inputs.length);
  });
}
