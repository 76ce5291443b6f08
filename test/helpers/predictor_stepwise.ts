/**
 * Reference paths of the latent predictor, for tests: the scheduled-sampling unroll and the
 * open-loop rollout composed of per-step recorded ops (lstmCell, the head, pickRows), which the
 * model's fused ops (src/ops/predictor_unroll.ts) must reproduce. Eval mode (no input noise).
 */
import * as wk from '../../src';
import { lstmCell, lstmSequence, residualHead } from '../../src/ops/lstm';
import { pickRows } from '../../src/ops/predictor_unroll';
import type { LatentPredictor } from '../../src/models/latent_predictor';

const flat = (m: LatentPredictor, z: wk.Tensor) => z.reshape(z.shape[0], z.shape[1], m.latentSize);
const input = (zt: wk.Tensor, at: wk.Tensor | null) => (at ? wk.concat([zt, at], zt.ndim - 1) : zt);
const head = (m: LatentPredictor, h: wk.Tensor, z: wk.Tensor | null) => residualHead(m.residual ? z : null, h, m.head.weight, m.head.bias);

/** The scheduled unroll step by step: coins[(t-1)B + b] = 1 feeds the true z[b,t]. Returns [B,T-1,...latent]. */
export function scheduledStepwise(m: LatentPredictor, z: wk.Tensor, a: wk.Tensor | null, coins: Float32Array): wk.Tensor {
  const zf = flat(m, z);
  const [B, T, D] = zf.shape;
  const A = m.actionSize;
  const L = m.numLayers;
  const hs: (wk.Tensor | null)[] = new Array(L).fill(null);
  const cs: (wk.Tensor | null)[] = new Array(L).fill(null);
  const preds: wk.Tensor[] = [];
  let prev: wk.Tensor | null = null;
  for (let t = 0; t < T - 1; ++t) {
    const zt = zf.slice([0, t, 0], [B, 1, D]).reshape(B, D);
    const zIn = prev === null ? zt : pickRows(zt, prev, coins.subarray((t - 1) * B, t * B));
    let x = input(zIn, m.useActions && a ? a.slice([0, t, 0], [B, 1, A]).reshape(B, A) : null);
    for (let l = 0; l < L; ++l) {
      const p = m.lstm.layers[l];
      [hs[l], cs[l]] = lstmCell(x, hs[l], cs[l], p.wih, p.whh, p.bih, p.bhh);
      x = hs[l]!;
    }
    prev = head(m, x, zIn);
    preds.push(prev);
  }
  return wk.stack(preds, 1).reshape([B, T - 1, ...z.shape.slice(2)]);
}

/**
 * The open-loop rollout step by step (no gradients): the context's frames but the last through
 * lstmSequence (they set the state), then one lstmCell step per prediction, the first reading the
 * last context frame. Returns [B,horizon,...latent].
 */
export function rolloutStepwise(m: LatentPredictor, contextZ: wk.Tensor, actions: wk.Tensor | null, horizon: number): wk.Tensor {
  return wk.noGrad(() => {
    const zf = flat(m, contextZ);
    const [B, C, D] = zf.shape;
    const A = m.actionSize;
    const at = m.useActions && actions ? actions : null;
    const hs: (wk.Tensor | null)[] = new Array(m.numLayers).fill(null);
    const cs: (wk.Tensor | null)[] = new Array(m.numLayers).fill(null);
    if (C > 1) {
      let x = input(zf.slice([0, 0, 0], [B, C - 1, D]), at ? at.slice([0, 0, 0], [B, C - 1, A]) : null);
      m.lstm.layers.forEach((p, l) => {
        const [y, hN, cN] = lstmSequence(x, null, null, p.wih, p.whh, p.bih, p.bhh, true);
        x = y;
        hs[l] = hN;
        cs[l] = cN;
      });
    }
    let prev = zf.slice([0, C - 1, 0], [B, 1, D]).reshape(B, D);
    const preds: wk.Tensor[] = [];
    for (let k = 0; k < horizon; ++k) {
      const t = C - 1 + k;
      let xi = input(prev, at ? at.slice([0, t, 0], [B, 1, A]).reshape(B, A) : null);
      for (let l = 0; l < m.numLayers; ++l) {
        const p = m.lstm.layers[l];
        [hs[l], cs[l]] = lstmCell(xi, hs[l], cs[l], p.wih, p.whh, p.bih, p.bhh);
        xi = hs[l]!;
      }
      prev = head(m, xi, prev);
      preds.push(prev);
    }
    return wk.stack(preds, 1).reshape([B, horizon, ...contextZ.shape.slice(2)]);
  });
}
