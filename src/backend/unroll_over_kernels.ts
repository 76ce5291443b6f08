/**
 * The predictor's unrolls written once over a backend's kernels (cell, head, copies, permute,
 * axpy), for backends without a fused version of their own ('cuda' uses these; 'cpu' has the
 * native ones in cpu_unroll.ts). Everything stays on the backend: the coins and the noise are
 * host arrays drawn before the unroll, so no step waits for a copy back to the host.
 *
 * The same algorithm as cpu_unroll.ts, step for step: the weight gradients are one GEMM each over
 * all steps (residualHeadBackward over the saved inputs and the gate gradients).
 */
import type { Backend, Buffer, UnrollDims, UnrollGrads, UnrollSaved, UnrollWeights } from './backend';
import { opCodes } from './op_codes';

const F = 'float32';

/** A scratch buffer freed by the caller. */
function scratch(be: Backend, n: number, fn: string, zero = false): Buffer {
  return be.alloc(F, n, zero, fn);
}

/**
 * The latent inputs of step t [B,D] into zin: the true z[:,t] for every row, then the previous
 * prediction for the rows whose coin is 0, plus the step's noise.
 */
function latentInputs(be: Backend, d: UnrollDims, t: number, z: Buffer, coins: Float32Array, noise: Float32Array | null, preds: Buffer, zin: Buffer, noiseBuf: Buffer | null, fn: string): void {
  const { B, T, D } = d;
  be.copyBox(z, [B, T, D], [0, t, 0], [B, 1, D], zin, [B, 1, D], [0, 0, 0], F, fn);
  if (t > 0)
    for (let b = 0; b < B; ++b)
      if (coins[(t - 1) * B + b] !== 1) be.copy(be.view(zin, F, b * D, D, fn), be.view(preds, F, ((t - 1) * B + b) * D, D, fn), D, F, fn);
  if (noise && noiseBuf) {
    be.upload(noiseBuf, noise.subarray(t * B * D, (t + 1) * B * D), fn);
    be.binaryForward(opCodes().binary.add, zin, [B * D], noiseBuf, [B * D], zin, [B * D]);
  }
}

export function scheduledUnrollForwardOver(be: Backend, d: UnrollDims, z: Buffer, a: Buffer | null, coins: Float32Array, noise: Float32Array | null, w: UnrollWeights, saved: UnrollSaved, out: Buffer): void {
  const fn = 'scheduledUnroll';
  const { B, D, A, H, L } = d;
  const S = d.T - 1;
  const I0 = D + A;
  const G = 4 * H;
  const rows = (buf: Buffer, n: number, k: number) => be.view(buf, F, k * B * n, B * n, fn);
  const zin = scratch(be, B * D, fn);
  const noiseBuf = noise ? scratch(be, B * D, fn) : null;
  try {
    for (let t = 0; t < S; ++t) {
      latentInputs(be, d, t, z, coins, noise, saved.preds, zin, noiseBuf, fn);
      const xt = rows(saved.X0, I0, t);
      be.copyBox(zin, [B, 1, D], [0, 0, 0], [B, 1, D], xt, [B, 1, I0], [0, 0, 0], F, fn);
      if (a && A) be.copyBox(a, [B, S, A], [0, t, 0], [B, 1, A], xt, [B, 1, I0], [0, 0, D], F, fn);
      let x = xt;
      let I = I0;
      for (let l = 0; l < L; ++l) {
        be.lstmCellForward(x, t ? rows(saved.hs[l], H, t - 1) : null, t ? rows(saved.cs[l], H, t - 1) : null, w.layers[l], B, I, H,
          rows(saved.gates[l], G, t), rows(saved.cs[l], H, t), rows(saved.hs[l], H, t), rows(saved.tcs[l], H, t));
        x = rows(saved.hs[l], H, t);
        I = H;
      }
      // The residual base is the (noisy) latent input.
      be.residualHeadForward(d.residual ? zin : null, x, w.headW, w.headB, B, D, H, rows(saved.preds, D, t));
    }
    // Time-major predictions [S,B,D] -> the output [B,S,D].
    be.permute(saved.preds, [S, B, D], [1, 0, 2], out, F, fn);
  } finally {
    be.free(zin);
    if (noiseBuf) be.free(noiseBuf);
  }
}

export function scheduledUnrollBackwardOver(be: Backend, d: UnrollDims, coins: Float32Array, w: UnrollWeights, saved: UnrollSaved, g: Buffer, dZ: Buffer | null, grads: UnrollGrads): void {
  const fn = 'scheduledUnroll backward';
  const { B, T, D, A, H, L } = d;
  const S = T - 1;
  const R = S * B;
  const I0 = D + A;
  const G = 4 * H;
  const add = opCodes().binary.add;
  const rows = (buf: Buffer, n: number, k: number) => be.view(buf, F, k * B * n, B * n, fn);
  const temps: Buffer[] = [];
  const tmp = (n: number, zero = true) => {
    const b = scratch(be, n, fn, zero);
    temps.push(b);
    return b;
  };
  try {
    const dOut = tmp(R * D, false); // time-major gradient of each prediction
    be.permute(g, [B, S, D], [1, 0, 2], dOut, F, fn);
    const dG = w.layers.map(() => tmp(R * G, false)); // written step by step by the cell backward
    const dhC = w.layers.map(() => tmp(B * H)); // recurrent carries
    const dcC = w.layers.map(() => tmp(B * H));
    const dhTop = tmp(B * H);
    const dxs = w.layers.map((_, l) => tmp(B * (l === 0 ? I0 : H)));
    const dhNew = tmp(B * H);
    const dhOut = tmp(B * H);
    const dcOut = tmp(B * H);
    const dIn = tmp(B * D); // the gradient of the latent input of a step
    const none = { wih: null, whh: null, bih: null, bhh: null };
    for (let t = S - 1; t >= 0; --t) {
      const dOt = rows(dOut, D, t);
      be.residualHeadBackward(rows(saved.hs[L - 1], H, t), w.headW, dOt, B, D, H, dhTop, null, null);
      let dAbove = dhTop;
      for (let l = L - 1; l >= 0; --l) {
        const I = l === 0 ? I0 : H;
        const xIn = l === 0 ? rows(saved.X0, I0, t) : rows(saved.hs[l - 1], H, t);
        be.binaryForward(add, dAbove, [B * H], dhC[l], [B * H], dhNew, [B * H]);
        be.lstmCellBackward(xIn, t ? rows(saved.hs[l], H, t - 1) : null, t ? rows(saved.cs[l], H, t - 1) : null, w.layers[l],
          rows(saved.gates[l], G, t), rows(saved.tcs[l], H, t), dhNew, dcC[l], B, I, H, dxs[l], dhOut, dcOut, none, rows(dG[l], G, t));
        be.copy(dhC[l], dhOut, B * H, F, fn);
        be.copy(dcC[l], dcOut, B * H, F, fn);
        dAbove = dxs[l];
      }
      // Gradient of the (noisy) latent input of step t: the LSTM input path + the residual path,
      // routed to z[:,t] (true input) or to the previous step's prediction.
      be.copyBox(dxs[0], [B, 1, I0], [0, 0, 0], [B, 1, D], dIn, [B, 1, D], [0, 0, 0], F, fn);
      if (d.residual) be.binaryForward(add, dIn, [B * D], dOt, [B * D], dIn, [B * D]);
      for (let b = 0; b < B; ++b) {
        const useTrue = t === 0 || coins[(t - 1) * B + b] === 1;
        const dst = useTrue ? (dZ ? be.view(dZ, F, (b * T + t) * D, D, fn) : null) : be.view(dOut, F, ((t - 1) * B + b) * D, D, fn);
        if (dst) be.axpy(dst, be.view(dIn, F, b * D, D, fn), D, 1);
      }
    }
    for (let l = 0; l < L; ++l) {
      const I = l === 0 ? I0 : H;
      const xAll = l === 0 ? saved.X0 : saved.hs[l - 1];
      const gl = grads.layers[l];
      be.residualHeadBackward(xAll, w.layers[l].wih, dG[l], R, G, I, null, gl.wih, gl.b);
      // h_{t-1} of rows t >= 1 is hs rows t-1; rows of t = 0 have h = 0 and contribute nothing.
      if (R > B) be.residualHeadBackward(be.view(saved.hs[l], F, 0, (R - B) * H, fn), w.layers[l].whh, be.view(dG[l], F, B * G, (R - B) * G, fn), R - B, G, H, null, gl.whh, null);
      else be.fill(gl.whh, G * H, 0, fn);
    }
    be.residualHeadBackward(saved.hs[L - 1], w.headW, dOut, R, D, H, null, grads.headW, grads.headB);
  } finally {
    for (const b of temps) be.free(b);
  }
}

export function lstmRolloutOver(be: Backend, d: UnrollDims, S: number, w: UnrollWeights, hs: Buffer, cs: Buffer, z0: Buffer, a: Buffer | null, actionRowStride: number, out: Buffer): void {
  const fn = 'lstmRollout';
  const { B, D, A, H, L } = d;
  const I0 = D + A;
  const G = 4 * H;
  const temps: Buffer[] = [];
  const tmp = (n: number) => {
    const b = scratch(be, n, fn, true);
    temps.push(b);
    return b;
  };
  try {
    const x0 = tmp(B * I0);
    const gates = tmp(B * G), tanhC = tmp(B * H), hNew = tmp(B * H), cNew = tmp(B * H);
    const pred = tmp(B * D), next = tmp(B * D);
    be.copy(pred, z0, B * D, F, fn);
    const steps = tmp(S * B * D); // time-major predictions
    for (let k = 0; k < S; ++k) {
      be.copyBox(pred, [B, 1, D], [0, 0, 0], [B, 1, D], x0, [B, 1, I0], [0, 0, 0], F, fn);
      if (a && A) for (let b = 0; b < B; ++b) be.copy(be.view(x0, F, b * I0 + D, A, fn), be.view(a, F, b * actionRowStride + k * A, A, fn), A, F, fn);
      let x = x0;
      let I = I0;
      for (let l = 0; l < L; ++l) {
        const h = be.view(hs, F, l * B * H, B * H, fn), c = be.view(cs, F, l * B * H, B * H, fn);
        be.lstmCellForward(x, h, c, w.layers[l], B, I, H, gates, cNew, hNew, tanhC);
        be.copy(h, hNew, B * H, F, fn);
        be.copy(c, cNew, B * H, F, fn);
        x = h;
        I = H;
      }
      be.residualHeadForward(d.residual ? pred : null, x, w.headW, w.headB, B, D, H, next);
      be.copy(pred, next, B * D, F, fn);
      be.copy(be.view(steps, F, k * B * D, B * D, fn), next, B * D, F, fn);
    }
    be.permute(steps, [S, B, D], [1, 0, 2], out, F, fn);
  } finally {
    for (const b of temps) be.free(b);
  }
}
