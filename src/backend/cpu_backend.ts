/**
 * The 'cpu' backend: buffers are host typed arrays (Float32Array for float32), kernels are the
 * native C++ ones (cpp/, through the addon), each a plain reference beside its SIMD paths.
 * Buffers are garbage-collected (free() does nothing) or, when a storage is released and its
 * arrays were never handed out, reused (recycle, src/backend/host_arrays.ts); views are subarrays.
 */
import type { AnyTypedArray, Backend, BackendStatus, Buffer, DType, LstmWeightBuffers, LstmWeightGrads } from './backend';
import { native, requireNative } from './native';
import { hostBuffers } from './host_arrays';
import { cpuLstmRollout, cpuScheduledUnrollBackward, cpuScheduledUnrollForward } from './cpu_unroll';

type F32 = Float32Array;
const f = (b: Buffer): F32 => b as F32;
const fOpt = (b: Buffer | null): F32 | null => (b === null ? null : (b as F32));

export const cpuBackend: Backend = {
  name: 'cpu',
  hostAddressable: true,
  dtypes: ['float32', 'int32', 'uint8'],
  needsFree: false,
  status(): BackendStatus {
    return { available: true, reason: '' };
  },

  alloc(dtype, n, zero) {
    return hostBuffers.take(dtype, n, zero);
  },
  free() {},
  recycle(buf) {
    hostBuffers.give(buf as AnyTypedArray);
  },
  view(buf, _dtype, offset, n) {
    return (buf as AnyTypedArray).subarray(offset, offset + n);
  },
  upload(buf, host) {
    (buf as AnyTypedArray).set(host as F32);
  },
  download(buf, host) {
    host.set((buf as AnyTypedArray).subarray(0, host.length) as F32);
  },
  hostArray(buf) {
    return buf as AnyTypedArray;
  },
  copy(dst, src, n) {
    (dst as AnyTypedArray).set((src as F32).subarray(0, n));
  },
  copyBox(src, srcShape, begin, size, dst, dstShape, dstBegin) {
    native.copyBox(src, srcShape, begin, size, dst, dstShape, dstBegin);
  },
  fill(buf, n, value) {
    (buf as F32).fill(value, 0, n);
  },
  permute(x, shape, perm, out) {
    native.permute(x, shape, perm, out);
  },

  unaryForward(op, x, y, _n, p0, p1) {
    native.unaryForward(op, x, y, p0, p1);
  },
  unaryBackward(op, x, y, g, gx, _n, p0, p1) {
    native.unaryBackward(op, x, y, g, gx, p0, p1);
  },
  binaryForward(op, a, aShape, b, bShape, out, outShape) {
    native.binaryForward(op, a, aShape, b, bShape, out, outShape);
  },
  binaryBackward(op, a, aShape, b, bShape, g, outShape, ga, gb) {
    native.binaryBackward(op, a, aShape, b, bShape, g, outShape, ga, gb);
  },
  binaryScalarForward(op, a, aShape, s, out) {
    native.binaryForward(op, a, aShape, Float32Array.of(s), [], out, aShape);
  },
  binaryScalarBackward(op, a, aShape, s, g, ga) {
    native.binaryBackward(op, a, aShape, Float32Array.of(s), [], g, aShape, ga, null);
  },
  axpy(y, x, _n, alpha) {
    native.axpy(y, x, alpha);
  },

  sumTo(x, xShape, axes, _kept, out, scale) {
    native.reduceSum(x, xShape, axes, out, scale);
  },
  broadcastTo(g, kept, gx, xShape, scale) {
    native.broadcastTo(g, kept, gx, xShape, scale);
  },
  reduceRows(rowsBuf, B, floor, reduction, outBuf) {
    const rows = f(rowsBuf), o = f(outBuf);
    if (reduction === 'none') {
      for (let b = 0; b < B; ++b) o[b] = Math.max(rows[b], floor);
      return;
    }
    let s = 0; // double, in row order
    for (let b = 0; b < B; ++b) s += Math.max(rows[b], floor);
    o[0] = reduction === 'mean' ? (B > 0 ? s / B : NaN) : s;
  },
  sumSquares(bufs) {
    return bufs.length ? (native.sumSquares(bufs) as number) : 0;
  },
  scaleInPlace(x, _n, s) {
    native.scaleInPlace(x, s);
  },

  gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
    native.gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  },
  linearForward(x, w, bias, outBuf, R, O, I) {
    // The bias is preloaded into the output and the GEMM accumulates onto it (beta = 1).
    const out = f(outBuf);
    if (bias !== null) for (let r = 0; r < R; ++r) out.set(f(bias), r * O);
    native.gemm(false, true, R, O, I, 1, x, I, w, I, bias !== null ? 1 : 0, out, O);
  },
  biasGrad(g, R, O, out) {
    native.biasGrad(g, R, O, out); // column sums in double, row order (thread-count independent)
  },

  rowLossForward(kind, a, t, B, D, scale, out) {
    native.rowLossForward(kind, a, t, B, D, scale, out);
  },
  rowLossBackward(kind, a, t, B, D, g, scale, ga, gt) {
    native.rowLossBackward(kind, a, t, B, D, g, scale, ga, gt);
  },
  klNormalForward(mu, lv, B, D, kl) {
    native.klNormalForward(mu, lv, B, D, kl);
  },
  klNormalBackward(mu, lv, B, D, kl, freeBits, gRow, scale, gmu, glv) {
    native.klNormalBackward(mu, lv, B, D, kl, freeBits, gRow, scale, gmu, glv);
  },
  crossEntropyForward(logits, labels, B, C, rows) {
    native.crossEntropyForward(logits, labels, B, C, rows);
  },
  crossEntropyBackward(logits, labels, B, C, gRow, scale, gx) {
    native.crossEntropyBackward(logits, labels, B, C, gRow, scale, gx);
  },

  conv2dForward(x, w, bias, out, dims, relu) {
    requireNative('conv2dForward')(x, w, bias, out, ...dims, relu);
  },
  conv2dBackward(x, w, gy, gx, gw, gb, dims) {
    requireNative('conv2dBackward')(x, w, gy, gx, gw, gb, ...dims);
  },
  convTranspose2dForward(x, w, bias, out, dims) {
    requireNative('convTranspose2dForward')(x, w, bias, out, ...dims);
  },
  convTranspose2dBackward(x, w, gy, gx, gw, gb, dims) {
    requireNative('convTranspose2dBackward')(x, w, gy, gx, gw, gb, ...dims);
  },

  lstmCellForward(x, h, c, w: LstmWeightBuffers, B, I, H, gates, cNew, hNew, tanhC) {
    requireNative('lstmCellForward')(x, h, c, w.wih, w.whh, w.bih, w.bhh, B, I, H, gates, cNew, hNew, tanhC);
  },
  lstmCellBackward(x, h, c, w, gates, tanhC, gh, gc, B, I, H, dx, dh, dc, gw: LstmWeightGrads, dGates) {
    requireNative('lstmCellBackward')(x, h, c, w.wih, w.whh, gates, tanhC, gh, gc, B, I, H, dx, dh, dc, gw.wih, gw.whh, gw.bih, gw.bhh, dGates ?? null);
  },
  lstmSequenceForward(x, h0, c0, w, T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN) {
    requireNative('lstmSequenceForward')(x, h0, c0, w.wih, w.whh, w.bih, w.bhh, T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN);
  },
  lstmSequenceBackward(x, h0, y, gates, tanhC, cs, w, gy, ghN, gcN, T, B, I, H, batchFirst, dx, dh0, dc0, gw) {
    requireNative('lstmSequenceBackward')(x, h0, y, gates, tanhC, cs, w.wih, w.whh, gy, ghN, gcN, T, B, I, H, batchFirst, dx, dh0, dc0, gw.wih, gw.whh, gw.bih, gw.bhh);
  },
  residualHeadForward(z, h, w, b, R, D, K, out) {
    requireNative('residualHeadForward')(z, h, w, b, R, D, K, out);
  },
  residualHeadBackward(h, w, g, R, D, K, dh, dW, db) {
    requireNative('residualHeadBackward')(h, w, g, R, D, K, dh, dW, db);
  },
  lstmGatesForward(pre, c, B, H, gates, cNew, hNew, tanhC) {
    requireNative('lstmGatesForward')(pre, c, B, H, gates, cNew, hNew, tanhC);
  },
  lstmGatesBackward(gates, c, tanhC, gh, gc, B, H, dPre, dc) {
    requireNative('lstmGatesBackward')(gates, c, tanhC, gh, gc, B, H, dPre, dc);
  },

  scheduledUnrollForward(d, z, a, coins, noise, w, saved, out) {
    cpuScheduledUnrollForward(d, z, a, coins, noise, w, saved, out);
  },
  scheduledUnrollBackward(d, coins, w, saved, g, dZ, grads) {
    cpuScheduledUnrollBackward(d, coins, w, saved, g, dZ, grads);
  },
  lstmRollout(d, S, w, h, c, z0, a, actionRowStride, out) {
    cpuLstmRollout(d, S, w, h, c, z0, a, actionRowStride, out);
  },

  sgdStep(p, g, momentum, _n, lr, mu, dampening, weightDecay, nesterov, first) {
    native.sgdStep(p, g, fOpt(momentum), lr, mu, dampening, weightDecay, nesterov, first);
  },
  adamStep(p, g, m, v, _n, lr, b1, b2, eps, weightDecay, decoupled, bc1, bc2) {
    native.adamStep(p, g, m, v, lr, b1, b2, eps, weightDecay, decoupled, bc1, bc2);
  },

  framesToFloat(frames, N, C, H, W, channelsLast, out) {
    requireNative('framesToFloat')(frames, out, N, C, H, W, channelsLast);
  },
  floatToFrames(images, N, C, H, W, channelsLast, out) {
    requireNative('floatToFrames')(images, out, N, C, H, W, channelsLast);
  },

  attentionForward(q, k, v, o, lse, d) {
    requireNative('attentionForward')(q, k, v, o, lse, d.BH, d.Tq, d.Tk, d.dh, d.tokensPerFrame, d.scale, d.kvRows ?? d.Tk);
  },
  attentionBackward(q, k, v, o, lse, go, d, gq, gk, gv) {
    requireNative('attentionBackward')(q, k, v, o, lse, go, d.BH, d.Tq, d.Tk, d.dh, d.tokensPerFrame, d.scale, gq, gk, gv);
  },

  layerNormForward(x, w, b, R, C, eps, y, mean, rstd) {
    requireNative('layerNormForward')(x, w, b, R, C, eps, y, mean, rstd);
  },
  layerNormBackward(x, w, mean, rstd, gy, R, C, gx, gw, gb) {
    requireNative('layerNormBackward')(x, w, mean, rstd, gy, R, C, gx, gw, gb);
  },
};
