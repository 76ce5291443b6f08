/**
 * The 'cuda' backend: buffers are device handles from the caching allocator (cuda/device_api.h),
 * kernels are the CUDA ones (cuda/*.cu). With WORLDKIT_CUDA_EMULATE=1 (or useCudaEmulation())
 * the same device API comes from the test addon, where the unchanged kernel sources run on the
 * CPU through the SIMT emulation. float32 only: int32 labels and uint8 frames stay on the host
 * and are passed to kernels as host arrays.
 *
 * Where a kernel has no single CUDA launch, the composition lives here (the ops never see it):
 * a scalar operand runs as one affine pass, conv2d's fused ReLU as a second pass, a linear layer
 * as a GEMM plus a broadcast add, per-row loss reductions as a clamp plus a reduction.
 */
import type { Backend, BackendStatus, Buffer, DType } from './backend';
import { DeviceApi, countDeviceBuffers, cudaDevice, cudaStatus } from './cuda';
import { opCodes } from './op_codes';
import { lstmRolloutOver, scheduledUnrollBackwardOver, scheduledUnrollForwardOver } from './unroll_over_kernels';

type H = object;
const h = (b: Buffer): H => b as H;
const hOpt = (b: Buffer | null): H | null => (b === null ? null : (b as H));

function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    s[d] = k;
    k *= shape[d];
  }
  return s;
}

function checkFloat(fn: string, dtype: DType): void {
  if (dtype !== 'float32') throw new TypeError(`${fn}: only float32 tensors can be on 'cuda' yet, got ${dtype}`);
}

/** The device API (throws "fn: device 'cuda' is not available: <reason>" without one). */
const dev = (fn = 'cuda'): DeviceApi => cudaDevice(fn);

const RELU = () => opCodes().unary.relu;
const AFFINE = () => opCodes().unary.affine;
const SQUARE = () => opCodes().unary.square;
const CLAMP = () => opCodes().unary.clamp;

export const cudaBackend: Backend = {
  name: 'cuda',
  hostAddressable: false,
  dtypes: ['float32'],
  needsFree: true,
  unavailableHint: 'WORLDKIT_CUDA_EMULATE=1 runs the CUDA kernels on the CPU emulation',
  status(): BackendStatus {
    const s = cudaStatus();
    return { available: s.available, reason: s.reason };
  },

  alloc(dtype, n, _zero, fn) {
    checkFloat(fn, dtype);
    const b = dev(fn).alloc(n * 4); // the caching allocator's blocks are zero-filled
    countDeviceBuffers(1);
    return b;
  },
  free(buf) {
    dev('free').free(h(buf));
    countDeviceBuffers(-1);
  },
  view(buf, _dtype, offset, n, fn) {
    return dev(fn).view(h(buf), offset * 4, n * 4);
  },
  upload(buf, host, fn) {
    if (host.length) dev(fn).upload(h(buf), host);
  },
  download(buf, host, fn) {
    if (host.length) dev(fn).download(h(buf), host);
  },
  hostArray(_buf, fn) {
    throw new Error(`${fn}: the elements of a 'cuda' tensor are not host memory (copy them with toFloat32Array())`);
  },
  copy(dst, src, n, _dtype, fn) {
    if (n) dev(fn).copy2d(h(dst), 0, n, h(src), 0, n, n, 1);
  },
  /**
   * As 2-D device copies: the trailing axes that are whole in both form one contiguous run, the
   * axis before them is the copy's rows, and any axes before that are looped over on the host.
   */
  copyBox(srcBuf, srcShape, begin, size, dstBuf, dstShape, dstBegin, _dtype, fn) {
    const src = h(srcBuf), dst = h(dstBuf);
    const nd = size.length;
    if (shapeSize(size) === 0) return;
    const api = dev(fn);
    if (nd === 0) {
      api.copy2d(dst, 0, 1, src, 0, 1, 1, 1);
      return;
    }
    let j = nd - 1; // the last axis not whole in both
    while (j > 0 && size[j] === srcShape[j] && size[j] === dstShape[j]) j--;
    const ss = strides(srcShape), ds = strides(dstShape);
    const run = size[j] * ss[j];
    if (j === 0) {
      api.copy2d(dst, dstBegin[0] * ds[0], run, src, begin[0] * ss[0], run, run, 1);
      return;
    }
    const rows = size[j - 1];
    const outerDims = size.slice(0, j - 1);
    const outer = shapeSize(outerDims);
    const idx = new Array<number>(j - 1).fill(0);
    for (let o = 0; o < outer; ++o) {
      let so = begin[j] * ss[j] + begin[j - 1] * ss[j - 1];
      let dof = dstBegin[j] * ds[j] + dstBegin[j - 1] * ds[j - 1];
      for (let d = 0; d < j - 1; ++d) {
        so += (begin[d] + idx[d]) * ss[d];
        dof += (dstBegin[d] + idx[d]) * ds[d];
      }
      api.copy2d(dst, dof, ds[j - 1], src, so, ss[j - 1], run, rows);
      for (let d = j - 2; d >= 0; --d) {
        if (++idx[d] < outerDims[d]) break;
        idx[d] = 0;
      }
    }
  },
  fill(buf, n, value, fn) {
    if (n === 0) return;
    const host = new Float32Array(n);
    if (value !== 0) host.fill(value);
    dev(fn).upload(h(buf), host);
  },
  permute(x, shape, perm, out, dtype, fn) {
    checkFloat(fn, dtype);
    if (shapeSize(shape)) dev(fn).permute(h(x), shape.slice(), perm.slice(), h(out));
  },

  unaryForward(op, x, y, n, p0, p1) {
    dev().unaryForward(op, h(x), h(y), n, p0, p1);
  },
  unaryBackward(op, x, y, g, gx, n, p0, p1) {
    dev().unaryBackward(op, hOpt(x), hOpt(y), h(g), h(gx), n, p0, p1);
  },
  binaryForward(op, a, aShape, b, bShape, out, outShape) {
    dev().binaryForward(op, h(a), aShape.slice(), h(b), bShape.slice(), h(out), outShape.slice());
  },
  binaryBackward(op, a, aShape, b, bShape, g, outShape, ga, gb) {
    dev().binaryBackward(op, h(a), aShape.slice(), h(b), bShape.slice(), h(g), outShape.slice(), hOpt(ga), hOpt(gb));
  },
  /** One affine pass (division by the reciprocal). */
  binaryScalarForward(op, a, aShape, s, out) {
    const b = opCodes().binary;
    const [alpha, beta] = op === b.add ? [1, s] : op === b.sub ? [1, -s] : op === b.mul ? [s, 0] : [1 / s, 0];
    dev().unaryForward(AFFINE(), h(a), h(out), shapeSize(aShape), alpha, beta);
  },
  binaryScalarBackward(op, _a, aShape, s, g, ga) {
    const alpha = op === opCodes().binary.mul ? s : 1 / s;
    dev().unaryForward(AFFINE(), h(g), h(ga), shapeSize(aShape), alpha, 0);
  },
  axpy(y, x, n, alpha) {
    if (n) dev().axpy(h(y), h(x), n, alpha);
  },

  sumTo(x, xShape, _axes, kept, out, scale) {
    dev().sumTo(h(x), xShape.slice(), kept.slice(), h(out), scale);
  },
  broadcastTo(g, kept, gx, xShape, scale) {
    dev().broadcastTo(h(g), kept.slice(), h(gx), xShape.slice(), scale);
  },
  reduceRows(rows, B, floor, reduction, out) {
    const api = dev('reduceRows');
    if (reduction === 'mean' && B === 0) {
      api.upload(h(out), Float32Array.of(NaN));
      return;
    }
    if (B === 0) return; // a zero-filled sum
    let src = h(rows);
    let tmp: H | null = null;
    if (floor > -Infinity) {
      tmp = api.alloc(B * 4);
      api.unaryForward(CLAMP(), src, tmp, B, floor, 3.4028234663852886e38);
      src = tmp;
    }
    if (reduction === 'none') api.copy2d(h(out), 0, B, src, 0, B, B, 1);
    else api.sumTo(src, [B], [1], h(out), reduction === 'mean' ? 1 / B : 1);
    if (tmp) api.free(tmp);
  },
  sumSquares(bufs, ns, fn) {
    const api = dev(fn);
    let total = 0;
    bufs.forEach((b, i) => {
      const n = ns[i];
      if (!n) return;
      const sq = api.alloc(n * 4), s = api.alloc(4);
      api.unaryForward(SQUARE(), h(b), sq, n, 0, 0);
      api.sumTo(sq, [n], [1], s, 1);
      const out = new Float32Array(1);
      api.download(s, out);
      api.free(sq);
      api.free(s);
      total += out[0];
    });
    return total;
  },
  scaleInPlace(x, n, s) {
    if (n === 0) return;
    const api = dev('scaleInPlace');
    const tmp = api.alloc(n * 4);
    api.unaryForward(AFFINE(), h(x), tmp, n, s, 0);
    api.copy(h(x), tmp);
    api.free(tmp);
  },

  gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
    dev().gemm(tA, tB, M, N, K, alpha, h(A), lda, h(B), ldb, beta, h(C), ldc);
  },
  /** One GEMM and one broadcast add of the bias. */
  linearForward(x, w, bias, out, R, O, I) {
    const api = dev();
    api.gemm(false, true, R, O, I, 1, h(x), I, h(w), I, 0, h(out), O);
    if (bias !== null) api.binaryForward(opCodes().binary.add, h(out), [R, O], h(bias), [O], h(out), [R, O]);
  },
  biasGrad(g, R, O, out) {
    dev().sumTo(h(g), [R, O], [1, O], h(out), 1);
  },

  rowLossForward(kind, a, t, B, D, scale, out) {
    dev().rowLossForward(kind, h(a), h(t), B, D, scale, h(out));
  },
  rowLossBackward(kind, a, t, B, D, g, scale, ga, gt) {
    dev().rowLossBackward(kind, h(a), h(t), B, D, h(g), scale, hOpt(ga), hOpt(gt));
  },
  klNormalForward(mu, lv, B, D, kl) {
    if (B) dev().klNormalForward(h(mu), h(lv), B, D, h(kl));
  },
  klNormalBackward(mu, lv, B, D, kl, freeBits, gRow, scale, gmu, glv) {
    if (B) dev().klNormalBackward(h(mu), h(lv), B, D, h(kl), freeBits, h(gRow), scale, hOpt(gmu), hOpt(glv));
  },
  crossEntropyForward(logits, labels, B, C, rows) {
    if (B) dev().crossEntropyForward(h(logits), labels, B, C, h(rows));
  },
  crossEntropyBackward(logits, labels, B, C, gRow, scale, gx) {
    if (B) dev().crossEntropyBackward(h(logits), labels, B, C, h(gRow), scale, h(gx));
  },

  /** The fused ReLU runs as a second pass over the output. */
  conv2dForward(x, w, bias, out, dims, relu) {
    const api = dev();
    if (!relu) {
      api.conv2dForward(h(x), h(w), hOpt(bias), h(out), ...dims);
      return;
    }
    const n = dims[0] * dims[4] * convOut(dims[2], dims[5], dims[7], dims[9]) * convOut(dims[3], dims[6], dims[8], dims[10]);
    const tmp = api.alloc(n * 4);
    api.conv2dForward(h(x), h(w), hOpt(bias), tmp, ...dims);
    api.unaryForward(RELU(), tmp, h(out), n, 0, 0);
    api.free(tmp);
  },
  conv2dBackward(x, w, gy, gx, gw, gb, dims) {
    dev().conv2dBackward(h(x), h(w), h(gy), hOpt(gx), hOpt(gw), hOpt(gb), ...dims);
  },
  convTranspose2dForward(x, w, bias, out, dims) {
    dev().convTranspose2dForward(h(x), h(w), hOpt(bias), h(out), ...dims);
  },
  convTranspose2dBackward(x, w, gy, gx, gw, gb, dims) {
    dev().convTranspose2dBackward(h(x), h(w), h(gy), hOpt(gx), hOpt(gw), hOpt(gb), ...dims);
  },

  lstmCellForward(x, hPrev, c, w, B, I, H, gates, cNew, hNew, tanhC) {
    dev().lstmCellForward(h(x), hOpt(hPrev), hOpt(c), h(w.wih), h(w.whh), hOpt(w.bih), hOpt(w.bhh), B, I, H, h(gates), h(cNew), h(hNew), h(tanhC));
  },
  lstmCellBackward(x, hPrev, c, w, gates, tanhC, gh, gc, B, I, H, dx, dh, dc, gw, dGates) {
    dev().lstmCellBackward(h(x), hOpt(hPrev), hOpt(c), h(w.wih), h(w.whh), h(gates), h(tanhC), h(gh), h(gc), B, I, H,
      hOpt(dx), hOpt(dh), hOpt(dc), hOpt(gw.wih), hOpt(gw.whh), hOpt(gw.bih), hOpt(gw.bhh), hOpt(dGates ?? null));
  },
  lstmSequenceForward(x, h0, c0, w, T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN) {
    dev().lstmSequenceForward(h(x), hOpt(h0), hOpt(c0), h(w.wih), h(w.whh), hOpt(w.bih), hOpt(w.bhh), T, B, I, H, batchFirst,
      h(y), h(gates), h(tanhC), h(cs), h(hN), h(cN));
  },
  lstmSequenceBackward(x, h0, y, gates, tanhC, cs, w, gy, ghN, gcN, T, B, I, H, batchFirst, dx, dh0, dc0, gw) {
    dev().lstmSequenceBackward(h(x), hOpt(h0), h(y), h(gates), h(tanhC), h(cs), h(w.wih), h(w.whh), h(gy), h(ghN), h(gcN), T, B, I, H, batchFirst,
      hOpt(dx), hOpt(dh0), hOpt(dc0), hOpt(gw.wih), hOpt(gw.whh), hOpt(gw.bih), hOpt(gw.bhh));
  },
  residualHeadForward(z, hT, w, b, R, D, K, out) {
    dev().residualHeadForward(hOpt(z), h(hT), h(w), hOpt(b), R, D, K, h(out));
  },
  residualHeadBackward(hT, w, g, R, D, K, dh, dW, db) {
    dev().residualHeadBackward(h(hT), h(w), h(g), R, D, K, hOpt(dh), hOpt(dW), hOpt(db));
  },
  lstmGatesForward(pre, c, B, H, gates, cNew, hNew, tanhC) {
    dev().lstmGatesForward(h(pre), hOpt(c), B, H, h(gates), h(cNew), h(hNew), h(tanhC));
  },
  lstmGatesBackward(gates, c, tanhC, gh, gc, B, H, dPre, dc) {
    dev().lstmGatesBackward(h(gates), hOpt(c), h(tanhC), h(gh), h(gc), B, H, h(dPre), hOpt(dc));
  },

  scheduledUnrollForward(d, z, a, coins, noise, w, saved, out) {
    scheduledUnrollForwardOver(cudaBackend, d, z, a, coins, noise, w, saved, out);
  },
  scheduledUnrollBackward(d, coins, w, saved, g, dZ, grads) {
    scheduledUnrollBackwardOver(cudaBackend, d, coins, w, saved, g, dZ, grads);
  },
  lstmRollout(d, S, w, hs, cs, z0, a, actionRowStride, out) {
    lstmRolloutOver(cudaBackend, d, S, w, hs, cs, z0, a, actionRowStride, out);
  },

  sgdStep(p, g, momentum, n, lr, mu, dampening, weightDecay, nesterov, first) {
    dev().sgdStep(h(p), h(g), hOpt(momentum), n, lr, mu, dampening, weightDecay, nesterov, first);
  },
  adamStep(p, g, m, v, n, lr, b1, b2, eps, weightDecay, decoupled, bc1, bc2) {
    dev().adamStep(h(p), h(g), h(m), h(v), n, lr, b1, b2, eps, weightDecay, decoupled, bc1, bc2);
  },

  framesToFloat(frames, N, C, H, W, channelsLast, out) {
    dev().framesToFloat(frames, N, C, H, W, channelsLast, h(out));
  },
  floatToFrames(images, N, C, H, W, channelsLast, out) {
    dev().floatToFrames(h(images), N, C, H, W, channelsLast, out);
  },

  attentionForward(q, k, v, o, lse, d) {
    dev().attentionForward(h(q), h(k), h(v), h(o), h(lse), d.BH, d.Tq, d.Tk, d.dh, d.tokensPerFrame, d.scale, d.kvRows ?? d.Tk);
  },
  attentionBackward(q, k, v, o, lse, go, d, gq, gk, gv) {
    dev().attentionBackward(h(q), h(k), h(v), h(o), h(lse), h(go), d.BH, d.Tq, d.Tk, d.dh, d.tokensPerFrame, d.scale, hOpt(gq), hOpt(gk), hOpt(gv));
  },

  layerNormForward(x, w, b, R, C, eps, y, mean, rstd) {
    if (R) dev().layerNormForward(h(x), hOpt(w), hOpt(b), R, C, eps, h(y), h(mean), h(rstd));
  },
  layerNormBackward(x, w, mean, rstd, gy, R, C, gx, gw, gb) {
    dev().layerNormBackward(h(x), hOpt(w), h(mean), h(rstd), h(gy), R, C, hOpt(gx), hOpt(gw), hOpt(gb));
  },
};

function convOut(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}
