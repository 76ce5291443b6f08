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
import { native } from '../backend/native';
import { Tensor, checkTensor, record, shapeSize } from '../tensor/tensor';
import { deviceOf } from '../tensor/device';
import * as cudaOps from './cuda_ops';

type F32 = Float32Array;

/** C = op(A) op(B) (+ C when accumulate): row-major, contiguous operands at element offsets. */
function gemm(
  tA: boolean, tB: boolean, M: number, N: number, K: number,
  A: F32, B: F32, C: F32, accumulate = false,
): void {
  native.gemm(tA, tB, M, N, K, 1, A, tA ? M : K, B, tB ? K : N, accumulate ? 1 : 0, C, N);
}

function sub(a: F32, index: number, size: number): F32 {
  return a.subarray(index * size, (index + 1) * size);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmul', 'a', a);
  checkTensor('matmul', 'b', b);
  const onCuda = (a.device !== 'cpu' || b.device !== 'cpu') && deviceOf('matmul', [['a', a], ['b', b]]) === 'cuda';
  const ad = onCuda ? new Float32Array(0) : a.f32('matmul', 'a');
  const bd = onCuda ? new Float32Array(0) : b.f32('matmul', 'b');
  if (a.ndim < 2) throw rangeError('matmul', `a must have at least 2 dimensions, got ${fmtShape(a.shape)}`);
  if (b.ndim < 2) throw rangeError('matmul', `b must have at least 2 dimensions, got ${fmtShape(b.shape)}`);
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2], N = b.shape[b.ndim - 1];
  if (K !== K2)
    throw rangeError('matmul', `a is ${fmtShape(a.shape)} and b is ${fmtShape(b.shape)}; inner sizes ${K} and ${K2} differ`);
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  let batch: number[];
  if (aBatch.length === 0) batch = bBatch;
  else if (bBatch.length === 0) batch = aBatch;
  else if (aBatch.join(',') === bBatch.join(',')) batch = aBatch;
  else
    throw rangeError(
      'matmul',
      `a is ${fmtShape(a.shape)} and b is ${fmtShape(b.shape)}; batch dimensions ${fmtShape(aBatch)} and ${fmtShape(bBatch)} differ (one operand may be 2-D)`,
    );
  checkNumel('matmul', 'the output [...batch, a rows, b columns]', [...batch, M, N]);
  if (onCuda) return cudaOps.matmul(a, b, batch, M, N, K);
  const nb = shapeSize(batch);
  const aB = aBatch.length > 0, bB = bBatch.length > 0;
  const out = Tensor.empty([...batch, M, N]);
  const od = out.f32();
  if (!bB) gemm(false, false, nb * M, N, K, ad, bd, od); // a's batch folds into its rows
  else for (let i = 0; i < nb; ++i) gemm(false, false, M, N, K, aB ? sub(ad, i, M * K) : ad, sub(bd, i, K * N), sub(od, i, M * N));

  return record(out, 'matmul', [a, b], (g) => {
    const gd = g.f32('matmul backward', 'gradient');
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = Tensor.empty(a.shape.slice());
      const gad = ga.f32();
      const B = b.f32('matmul backward', 'b');
      // dA = dC . B^T
      if (!bB) gemm(false, true, nb * M, K, N, gd, B, gad);
      else for (let i = 0; i < nb; ++i) gemm(false, true, M, K, N, sub(gd, i, M * N), sub(B, i, K * N), aB ? sub(gad, i, M * K) : gad, !aB && i > 0);
    }
    if (b.requiresGrad) {
      gb = Tensor.empty(b.shape.slice());
      const gbd = gb.f32();
      const A = a.f32('matmul backward', 'a');
      // dB = A^T . dC
      if (!bB) gemm(true, false, K, N, nb * M, A, gd, gbd);
      else for (let i = 0; i < nb; ++i) gemm(true, false, K, N, M, aB ? sub(A, i, M * K) : A, sub(gd, i, M * N), sub(gbd, i, K * N));
    }
    return [ga, gb];
  });
}

/** y = x . weight^T + bias for x [..., in], weight [out, in], bias [out] (optional). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor('linear', 'x', x);
  checkTensor('linear', 'weight', weight);
  const onCuda = (x.device !== 'cpu' || weight.device !== 'cpu' || (bias != null && bias.device !== 'cpu')) &&
    deviceOf('linear', [['x', x], ['weight', weight], ['bias', bias]]) === 'cuda';
  const xd = onCuda ? new Float32Array(0) : x.f32('linear', 'x');
  const wd = onCuda ? new Float32Array(0) : weight.f32('linear', 'weight');
  if (weight.ndim !== 2) throw rangeError('linear', `weight must be 2-D [out,in], got ${fmtShape(weight.shape)}`);
  if (x.ndim < 1) throw rangeError('linear', `x must have at least 1 dimension [...,in], got ${fmtShape(x.shape)}`);
  const [O, I] = weight.shape;
  const xin = x.shape[x.ndim - 1];
  if (xin !== I)
    throw rangeError('linear', `x is ${fmtShape(x.shape)} and weight is ${fmtShape(weight.shape)}; in features ${xin} and ${I} differ`);
  let bd: F32 | null = null;
  if (bias !== undefined && bias !== null) {
    checkTensor('linear', 'bias', bias);
    bd = onCuda ? new Float32Array(0) : bias.f32('linear', 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== O)
      throw rangeError('linear', `bias must be [${O}] (the out features of weight ${fmtShape(weight.shape)}), got ${fmtShape(bias.shape)}`);
  }
  const R = shapeSize(x.shape.slice(0, -1));
  if (onCuda) return cudaOps.linear(x, weight, bias ?? null, R, O, I);
  const out = Tensor.empty([...x.shape.slice(0, -1), O]);
  const od = out.f32();
  if (bd) for (let r = 0; r < R; ++r) od.set(bd, r * O);
  gemm(false, true, R, O, I, xd, wd, od, bd !== null);

  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, 'linear', inputs, (g) => {
    const gd = g.f32('linear backward', 'gradient');
    const grads: (Tensor | null)[] = [null, null, null];
    if (x.requiresGrad) {
      grads[0] = Tensor.empty(x.shape.slice());
      gemm(false, false, R, I, O, gd, weight.f32('linear backward', 'weight'), grads[0].f32()); // dX = dY . W
    }
    if (weight.requiresGrad) {
      grads[1] = Tensor.empty([O, I]);
      gemm(true, false, O, I, R, gd, x.f32('linear backward', 'x'), grads[1].f32()); // dW = dY^T . X
    }
    if (bias && bias.requiresGrad) {
      const acc = new Float64Array(O);
      for (let r = 0; r < R; ++r) for (let o = 0; o < O; ++o) acc[o] += gd[r * O + o];
      grads[2] = Tensor.empty([O]);
      grads[2].f32().set(acc);
    }
    return grads.slice(0, inputs.length);
  });
}
