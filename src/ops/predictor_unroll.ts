/**
 * The latent predictor's recurrent unrolls as recorded ops, each one backend kernel each way:
 *
 *   scheduledUnroll  scheduled sampling over a window: step t's latent input is the true z[:,t]
 *                    or (coin 0) the previous prediction, the gradient flowing through either;
 *                    z [B,T,D] -> predictions [B,T-1,D]
 *   lstmRollout      the open loop after the context: S steps feeding each prediction back
 *                    (no gradient: rollouts run under noGrad)
 *   pickRows         out[b] = coin[b] ? a[b] : b[b], the gradient following the pick
 *   addNoise         x + noise drawn on the host (the same numbers on every device)
 *
 * The LSTM is given as its layers' weights (PyTorch layout) and the head as [D,H], [D].
 */
import { fmtShape, rangeError } from '../errors';
import type { Backend, UnrollDims, UnrollGrads, UnrollSaved, UnrollWeights } from '../backend/backend';
import { Tensor, checkTensor } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { opCodes } from '../backend/op_codes';

export interface PredictorWeights {
  layers: { wih: Tensor; whh: Tensor; bih: Tensor | null; bhh: Tensor | null }[];
  headW: Tensor;
  headB: Tensor;
}

function weightBuffers(w: PredictorWeights, fn: string): UnrollWeights {
  return {
    layers: w.layers.map((p) => ({ wih: p.wih.buf(fn, 'weight_ih'), whh: p.whh.buf(fn, 'weight_hh'), bih: p.bih ? p.bih.buf(fn, 'bias_ih') : null, bhh: p.bhh ? p.bhh.buf(fn, 'bias_hh') : null })),
    headW: w.headW.buf(fn, 'head.weight'),
    headB: w.headB.buf(fn, 'head.bias'),
  };
}

function weightTensors(w: PredictorWeights): [string, Tensor | null][] {
  const out: [string, Tensor | null][] = [];
  w.layers.forEach((p, l) => out.push([`layers[${l}].weight_ih`, p.wih], [`layers[${l}].weight_hh`, p.whh], [`layers[${l}].bias_ih`, p.bih], [`layers[${l}].bias_hh`, p.bhh]));
  out.push(['head.weight', w.headW], ['head.bias', w.headB]);
  return out;
}

/**
 * Scheduled sampling as one recorded op. zf [B,T,D], at [B,T-1,A] | null, coins [(T-2)*B]
 * (coins[(t-1)B + b] = 1: input t of sample b is the true latent), noise [(T-1)*B*D] | null (added
 * to the latent inputs, time-major). Returns [B,T-1,D].
 */
export function scheduledUnroll(zf: Tensor, at: Tensor | null, coins: Float32Array, noise: Float32Array | null, w: PredictorWeights, residual: boolean): Tensor {
  const fn = 'scheduledUnroll';
  checkTensor(fn, 'z', zf);
  if (zf.ndim !== 3 || zf.shape[1] < 2) throw rangeError(fn, `z must be [B,T,D] with T >= 2, got ${fmtShape(zf.shape)}`);
  const [B, T, D] = zf.shape;
  const S = T - 1;
  const H = w.headW.shape[1];
  const L = w.layers.length;
  const A = at ? at.shape[2] : 0;
  if (coins.length !== B * Math.max(T - 2, 0)) throw rangeError(fn, `coins must have ${B * Math.max(T - 2, 0)} entries, got ${coins.length}`);
  if (noise && noise.length !== S * B * D) throw rangeError(fn, `noise must have ${S * B * D} entries, got ${noise.length}`);
  const be = backendOf(fn, [['z', zf], ['a', at], ...weightTensors(w)]);
  const d: UnrollDims = { B, T, D, A, H, L, residual };
  const R = S * B;
  const out = Tensor.on(be, [B, S, D], 'float32', false, fn);
  const keep = (n: number) => {
    const b = be.alloc('float32', n, false, fn);
    out._storage.attach(b, n * 4);
    return b;
  };
  const saved: UnrollSaved = {
    X0: keep(R * (D + A)),
    gates: w.layers.map(() => keep(R * 4 * H)),
    cs: w.layers.map(() => keep(R * H)),
    tcs: w.layers.map(() => keep(R * H)),
    hs: w.layers.map(() => keep(R * H)),
    preds: keep(R * D),
  };
  be.scheduledUnrollForward(d, zf.buf(fn, 'z'), at ? at.buf(fn, 'a') : null, coins, noise, weightBuffers(w, fn), saved, out._buf);
  const params: Tensor[] = [];
  for (const p of w.layers) params.push(p.wih, p.whh, ...(p.bih ? [p.bih] : []), ...(p.bhh ? [p.bhh] : []));
  params.push(w.headW, w.headB);
  return record(out, fn, [zf, ...params], (g) => {
    const bf = 'scheduledUnroll backward';
    const dZ = zf.requiresGrad ? Tensor.on(be, [B, T, D], 'float32', true, bf) : null;
    const t = (shape: number[]) => Tensor.on(be, shape, 'float32', false, bf);
    const layerGrads = w.layers.map((_, l) => ({ wih: t([4 * H, l === 0 ? D + A : H]), whh: t([4 * H, H]), b: t([4 * H]) }));
    const head = { w: t([D, H]), b: t([D]) };
    const grads: UnrollGrads = { layers: layerGrads.map((x) => ({ wih: x.wih._buf, whh: x.whh._buf, b: x.b._buf })), headW: head.w._buf, headB: head.b._buf };
    be.scheduledUnrollBackward(d, coins, weightBuffers(w, bf), saved, g.buf(bf, 'gradient'), dZ ? dZ._buf : null, grads);
    const res: (Tensor | null)[] = [dZ];
    w.layers.forEach((p, l) => {
      const x = layerGrads[l];
      res.push(x.wih, x.whh);
      if (p.bih) res.push(x.b);
      if (p.bhh) res.push(p.bih ? x.b.clone() : x.b);
      if (!p.bih && !p.bhh) x.b.dispose();
    });
    res.push(head.w, head.b);
    return res;
  });
}

/**
 * The open-loop rollout (not recorded). h, c [L,B,H]: the state before its first step (copied,
 * not changed; null: zeros); z0 [B,D] the first step's input latent (and its residual base);
 * actions [B,Ta,A] | null, of which steps first.. are used. Step k feeds [z_k, a_(first+k)] and
 * predicts z_(k+1). Returns the S predictions [B,S,D].
 */
export function lstmRollout(w: PredictorWeights, residual: boolean, h: Tensor | null, c: Tensor | null, z0: Tensor, actions: Tensor | null, firstAction: number, S: number): Tensor {
  const fn = 'lstmRollout';
  const [B, D] = z0.shape;
  const H = w.headW.shape[1];
  const L = w.layers.length;
  const A = actions ? actions.shape[2] : 0;
  const be: Backend = backendOf(fn, [['h', h], ['c', c], ['z0', z0], ['actions', actions], ...weightTensors(w)]);
  const state = (t: Tensor | null, arg: string) => {
    const copy = Tensor.on(be, [L * B * H], 'float32', false, fn);
    if (t) be.copy(copy._buf, t.buf(fn, arg), L * B * H, 'float32', fn);
    else be.fill(copy._buf, L * B * H, 0, fn);
    return copy;
  };
  const hc = state(h, 'h'), cc = state(c, 'c');
  const out = Tensor.on(be, [B, S, D], 'float32', false, fn);
  const Ta = actions ? actions.shape[1] : 0;
  const a = actions ? be.view(actions.buf(fn, 'actions'), 'float32', firstAction * A, B * Ta * A - firstAction * A, fn) : null;
  be.lstmRollout({ B, T: S + 1, D, A, H, L, residual }, S, weightBuffers(w, fn), hc._buf, cc._buf, z0.buf(fn, 'z0'), a, Ta * A, out._buf);
  hc.dispose();
  cc.dispose();
  return out;
}

/** out[r] = coins[r] ? a[r] : b[r] over rows of the leading axis; the gradient follows the pick. */
export function pickRows(a: Tensor, b: Tensor, coins: Float32Array): Tensor {
  const fn = 'pickRows';
  checkTensor(fn, 'a', a);
  checkTensor(fn, 'b', b);
  if (a.shape.join(',') !== b.shape.join(',')) throw rangeError(fn, `a is ${fmtShape(a.shape)} and b is ${fmtShape(b.shape)}; shapes must match`);
  const be = backendOf(fn, [['a', a], ['b', b]]);
  const B = a.shape[0];
  if (coins.length < B) throw rangeError(fn, `coins must have ${B} entries, got ${coins.length}`);
  const n = B ? a.size / B : 0;
  const out = Tensor.on(be, a.shape.slice(), 'float32', false, fn);
  const ad = a.buf(fn, 'a'), bd = b.buf(fn, 'b');
  for (let r = 0; r < B; ++r) be.copy(be.view(out._buf, 'float32', r * n, n, fn), be.view(coins[r] ? ad : bd, 'float32', r * n, n, fn), n, 'float32', fn);
  return record(out, fn, [a, b], (g) => {
    const bf = 'pickRows backward';
    const gd = g.buf(bf, 'gradient');
    const ga = a.requiresGrad ? Tensor.on(be, a.shape.slice(), 'float32', true, bf) : null;
    const gb = b.requiresGrad ? Tensor.on(be, b.shape.slice(), 'float32', true, bf) : null;
    for (let r = 0; r < B; ++r) {
      const dst = coins[r] ? ga : gb;
      if (dst) be.copy(be.view(dst._buf, 'float32', r * n, n, bf), be.view(gd, 'float32', r * n, n, bf), n, 'float32', bf);
    }
    return [ga, gb];
  });
}

/** x + noise (host values, x's size); the gradient passes through. */
export function addNoise(x: Tensor, noise: Float32Array): Tensor {
  const fn = 'addNoise';
  checkTensor(fn, 'x', x);
  if (noise.length !== x.size) throw rangeError(fn, `noise must have ${x.size} entries, got ${noise.length}`);
  const be = backendOf(fn, [['x', x]]);
  const n = Tensor.on(be, x.shape.slice(), 'float32', false, fn);
  be.upload(n._buf, noise, fn);
  const out = Tensor.on(be, x.shape.slice(), 'float32', false, fn);
  be.binaryForward(opCodes().binary.add, n._buf, [x.size], x.buf(fn, 'x'), [x.size], out._buf, [x.size]);
  n.dispose();
  return record(out, fn, [x], (g) => [g]);
}
