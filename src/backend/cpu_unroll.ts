/**
 * The 'cpu' backend's predictor unrolls over the native kernels: the scheduled-sampling unroll
 * as per-step native cell and head calls with one backward through time whose weight gradients
 * are one GEMM each over all steps (residualHeadBackward computes doutᵀ·h and the column sums),
 * and the open-loop rollout as one native call (cpp/lstm.cpp lstmRolloutForward).
 */
import type { UnrollDims, UnrollGrads, UnrollSaved, UnrollWeights } from './backend';
import { requireNative } from './native';
import { allocUninit as uninit } from './host_arrays';

type F32 = Float32Array;

export function cpuScheduledUnrollForward(d: UnrollDims, zb: unknown, ab: unknown, coins: F32, noise: F32 | null, w: UnrollWeights, saved: UnrollSaved, outb: unknown): void {
  const cellF = requireNative('lstmCellForward');
  const headF = requireNative('residualHeadForward');
  const { B, T, D, H, L } = d;
  const S = T - 1;
  const A = d.A;
  const I0 = D + A;
  const G = 4 * H;
  const zd = zb as F32, ad = ab as F32 | null, od = outb as F32;
  const X0 = saved.X0 as F32, gates = saved.gates as F32[], cs = saved.cs as F32[], tcs = saved.tcs as F32[], hs = saved.hs as F32[];
  const preds = saved.preds as F32;
  const rows = (a: F32, n: number, k: number) => a.subarray(k * B * n, (k + 1) * B * n);
  for (let t = 0; t < S; ++t) {
    const xt = X0.subarray(t * B * I0, (t + 1) * B * I0);
    for (let b = 0; b < B; ++b) {
      const useTrue = t === 0 || coins[(t - 1) * B + b] === 1;
      const src = useTrue ? zd.subarray((b * T + t) * D, (b * T + t + 1) * D) : preds.subarray(((t - 1) * B + b) * D, ((t - 1) * B + b + 1) * D);
      xt.set(src, b * I0);
      if (ad) xt.set(ad.subarray((b * S + t) * A, (b * S + t + 1) * A), b * I0 + D);
    }
    if (noise) {
      const nz = noise.subarray(t * B * D, (t + 1) * B * D);
      for (let b = 0; b < B; ++b) for (let j = 0; j < D; ++j) xt[b * I0 + j] += nz[b * D + j];
    }
    let x: F32 = xt;
    let I = I0;
    for (let l = 0; l < L; ++l) {
      const p = w.layers[l];
      cellF(x, t ? rows(hs[l], H, t - 1) : null, t ? rows(cs[l], H, t - 1) : null, p.wih, p.whh, p.bih, p.bhh, B, I, H,
        rows(gates[l], G, t), rows(cs[l], H, t), rows(hs[l], H, t), rows(tcs[l], H, t));
      x = rows(hs[l], H, t);
      I = H;
    }
    // The residual base is the (noisy) latent input: the first D columns of each row of xt.
    const base = d.residual ? new Float32Array(B * D) : null;
    if (base) for (let b = 0; b < B; ++b) base.set(xt.subarray(b * I0, b * I0 + D), b * D);
    headF(base, x, w.headW, w.headB, B, D, H, preds.subarray(t * B * D, (t + 1) * B * D));
  }
  for (let t = 0; t < S; ++t) for (let b = 0; b < B; ++b) od.set(preds.subarray((t * B + b) * D, (t * B + b + 1) * D), (b * S + t) * D);
}

export function cpuScheduledUnrollBackward(d: UnrollDims, coins: F32, w: UnrollWeights, saved: UnrollSaved, gb: unknown, dZb: unknown, grads: UnrollGrads): void {
  const cellB = requireNative('lstmCellBackward');
  const headB = requireNative('residualHeadBackward');
  const { B, T, D, H, L } = d;
  const S = T - 1;
  const R = S * B;
  const A = d.A;
  const I0 = D + A;
  const G = 4 * H;
  const X0 = saved.X0 as F32, gates = saved.gates as F32[], cs = saved.cs as F32[], tcs = saved.tcs as F32[], hs = saved.hs as F32[];
  const gd = gb as F32;
  const dZd = dZb as F32 | null;
  const W = w.headW as F32;
  const dOut = uninit(R * D); // time-major gradient of each prediction (every row set below)
  for (let t = 0; t < S; ++t) for (let b = 0; b < B; ++b) dOut.set(gd.subarray((b * S + t) * D, (b * S + t + 1) * D), (t * B + b) * D);
  const dG = w.layers.map(() => uninit(R * G)); // written step by step by lstmCellBackward
  const dhC = w.layers.map(() => new Float32Array(B * H)); // recurrent carries
  const dcC = w.layers.map(() => new Float32Array(B * H));
  const dhTop = new Float32Array(B * H);
  const dx0 = new Float32Array(B * I0);
  const dxs = w.layers.map((_, l) => new Float32Array(B * (l === 0 ? I0 : H)));
  const dhNew = new Float32Array(B * H);
  const dhOut = new Float32Array(B * H);
  const dcOut = new Float32Array(B * H);
  const rows = (a: F32, n: number, k: number) => a.subarray(k * B * n, (k + 1) * B * n);
  for (let t = S - 1; t >= 0; --t) {
    const dOt = rows(dOut, D, t);
    headB(rows(hs[L - 1], H, t), W, dOt, B, D, H, dhTop, null, null);
    let dAbove: F32 = dhTop;
    for (let l = L - 1; l >= 0; --l) {
      const p = w.layers[l];
      const I = l === 0 ? I0 : H;
      const xIn = l === 0 ? rows(X0, I0, t) : rows(hs[l - 1], H, t);
      for (let i = 0; i < B * H; ++i) dhNew[i] = dAbove[i] + dhC[l][i];
      const dx = l === 0 ? dx0 : dxs[l];
      cellB(xIn, t ? rows(hs[l], H, t - 1) : null, t ? rows(cs[l], H, t - 1) : null, p.wih, p.whh, rows(gates[l], G, t),
        rows(tcs[l], H, t), dhNew, dcC[l], B, I, H, dx, dhOut, dcOut, null, null, null, null, rows(dG[l], G, t));
      dhC[l].set(dhOut);
      dcC[l].set(dcOut);
      dAbove = dx;
    }
    // Gradient of the (noisy) latent input of step t: residual path + LSTM input path.
    for (let b = 0; b < B; ++b) {
      const useTrue = t === 0 || coins[(t - 1) * B + b] === 1;
      const dst = useTrue ? (dZd ? dZd.subarray((b * T + t) * D, (b * T + t + 1) * D) : null) : dOut.subarray(((t - 1) * B + b) * D, ((t - 1) * B + b + 1) * D);
      if (!dst) continue;
      for (let j = 0; j < D; ++j) dst[j] += dx0[b * I0 + j] + (d.residual ? dOt[b * D + j] : 0);
    }
  }
  for (let l = 0; l < L; ++l) {
    const p = w.layers[l];
    const I = l === 0 ? I0 : H;
    const xAll = l === 0 ? X0 : hs[l - 1];
    const g = grads.layers[l];
    // Written completely by residualHeadBackward (GEMM with beta 0, column sums).
    headB(xAll, p.wih, dG[l], R, G, I, null, g.wih, g.b);
    // h_{t-1} of rows t >= 1 is hs rows t-1; rows of t = 0 have h = 0 and contribute nothing.
    headB(hs[l].subarray(0, (R - B) * H), p.whh, dG[l].subarray(B * G), R - B, G, H, null, g.whh, null);
  }
  headB(hs[L - 1], W, dOut, R, D, H, null, grads.headW, grads.headB);
}

export function cpuLstmRollout(d: UnrollDims, S: number, w: UnrollWeights, h: unknown, c: unknown, z0: unknown, a: unknown, actionRowStride: number, out: unknown): void {
  const layers = w.layers.map((p) => [p.wih, p.whh, p.bih, p.bhh]);
  requireNative('lstmRolloutForward')(layers, w.headW, w.headB, h, c, z0, a, d.B, d.D, d.A, d.H, S, d.residual, actionRowStride, out);
}
