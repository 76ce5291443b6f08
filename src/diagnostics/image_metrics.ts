/**
 * Image quality metrics on float images in [0, 1], NCHW (or any [N, ...] batch):
 * MSE and MAE per value, per-frame sums of squared/absolute errors (OpenSTL's MSE/MAE), PSNR
 * (dB, peak 1) and SSIM (Wang et al. 2004: 11x11 Gaussian window with
 * sigma 1.5, K1 = 0.01, K2 = 0.03, computed per channel and averaged, valid region only).
 * Evaluation-time code: plain loops in double precision, no autograd.
 */
import { fmtShape, rangeError } from '../errors';

export function mse(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw rangeError('mse', `a has ${a.length} values but b has ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; ++i) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return a.length ? s / a.length : 0;
}

/** Mean absolute error per value. */
export function mae(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw rangeError('mae', `a has ${a.length} values but b has ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; ++i) s += Math.abs(a[i] - b[i]);
  return a.length ? s / a.length : 0;
}

/**
 * One frame's errors as OpenSTL reports them (docs/metrics.md): the sum over its C x H x W values
 * (in [0, 1]) of the squared error (`sse`, OpenSTL's per-frame MSE) and of the absolute error
 * (`sae`, its per-frame MAE), plus the per-value mean squared error `mse`.
 */
export function frameErrors(a: Float32Array, b: Float32Array): { sse: number; sae: number; mse: number } {
  if (a.length !== b.length) throw rangeError('frameErrors', `a has ${a.length} values but b has ${b.length}`);
  let se = 0, ae = 0;
  for (let i = 0; i < a.length; ++i) {
    const d = a[i] - b[i];
    se += d * d;
    ae += Math.abs(d);
  }
  return { sse: se, sae: ae, mse: a.length ? se / a.length : 0 };
}

/**
 * PSNR of one frame for averaging over frames (the mean of per-frame PSNR, as OpenSTL and most
 * video-prediction papers report it): -10 log10(mse), capped at FRAME_PSNR_CAP dB for a frame
 * identical to its target (whose PSNR is infinite), so a mean stays finite.
 */
export const FRAME_PSNR_CAP = 100;
export function framePsnr(m: number): number {
  return Math.min(FRAME_PSNR_CAP, psnrFromMse(m));
}

/** PSNR in dB for images with peak value 1; Infinity for identical images. */
export function psnrFromMse(m: number): number {
  return m <= 0 ? Infinity : -10 * Math.log10(m);
}

export function psnr(a: Float32Array, b: Float32Array): number {
  return psnrFromMse(mse(a, b));
}

function gaussianWindow(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; ++i) {
    w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    s += w[i];
  }
  for (let i = 0; i < size; ++i) w[i] /= s;
  return w;
}

/** Separable Gaussian filter of one H x W plane, valid region: (H-k+1) x (W-k+1). */
function filterValid(x: Float64Array, h: number, w: number, win: Float64Array): Float64Array {
  const k = win.length;
  const oh = h - k + 1;
  const ow = w - k + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; ++y)
    for (let xo = 0; xo < ow; ++xo) {
      let s = 0;
      for (let j = 0; j < k; ++j) s += win[j] * x[y * w + xo + j];
      tmp[y * ow + xo] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let yo = 0; yo < oh; ++yo)
    for (let xo = 0; xo < ow; ++xo) {
      let s = 0;
      for (let j = 0; j < k; ++j) s += win[j] * tmp[(yo + j) * ow + xo];
      out[yo * ow + xo] = s;
    }
  return out;
}

/** SSIM of two single-channel planes (H x W). Uses a smaller window for images under 11 px. */
export function ssimPlane(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): number {
  const k = Math.min(11, h, w);
  const win = gaussianWindow(k, k === 11 ? 1.5 : (1.5 * k) / 11);
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const n = h * w;
  const A = new Float64Array(n);
  const B = new Float64Array(n);
  const AA = new Float64Array(n);
  const BB = new Float64Array(n);
  const AB = new Float64Array(n);
  for (let i = 0; i < n; ++i) {
    A[i] = a[i];
    B[i] = b[i];
    AA[i] = A[i] * A[i];
    BB[i] = B[i] * B[i];
    AB[i] = A[i] * B[i];
  }
  const muA = filterValid(A, h, w, win);
  const muB = filterValid(B, h, w, win);
  const sAA = filterValid(AA, h, w, win);
  const sBB = filterValid(BB, h, w, win);
  const sAB = filterValid(AB, h, w, win);
  let total = 0;
  for (let i = 0; i < muA.length; ++i) {
    const ma = muA[i];
    const mb = muB[i];
    const va = sAA[i] - ma * ma;
    const vb = sBB[i] - mb * mb;
    const cov = sAB[i] - ma * mb;
    total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
  }
  return total / muA.length;
}

/** Mean SSIM over a batch of [C, H, W] images stored back to back. */
export function ssim(a: Float32Array, b: Float32Array, shape: number[]): number {
  if (shape.length < 3) throw rangeError('ssim', `shape must be [..., C, H, W], got ${fmtShape(shape)}`);
  const [c, h, w] = shape.slice(-3);
  const plane = h * w;
  if (a.length !== b.length || a.length % (c * plane) !== 0)
    throw rangeError('ssim', `a (${a.length}) and b (${b.length}) must hold whole ${fmtShape([c, h, w])} images`);
  const planes = a.length / plane;
  let s = 0;
  for (let p = 0; p < planes; ++p) s += ssimPlane(a.subarray(p * plane, (p + 1) * plane), b.subarray(p * plane, (p + 1) * plane), h, w);
  return planes ? s / planes : 1;
}
