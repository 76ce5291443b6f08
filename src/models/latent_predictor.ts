/**
 * LatentPredictor: an LSTM over concat(z_t, a_t) and a linear head to the increment dz,
 *
 *   z_{t+1} = z_t + head(LSTM(z_t, a_t))        (residual, the default)
 *   z_{t+1} =       head(LSTM(z_t, a_t))        (residual: false)
 *
 * Parameters (PyTorch names): lstm.weight_ih_l{k}, lstm.weight_hh_l{k}, lstm.bias_ih_l{k},
 * lstm.bias_hh_l{k}, head.weight [D,H], head.bias [D].
 *
 * Training paths:
 *   forwardTeacherForced(z, a)  every input is the true latent: the LSTM runs as the fused
 *                               sequence op (one native call per layer each way) and the head
 *                               with the residual update is one fused call over all steps.
 *   forwardScheduled(z, a, p)   each sample's input at each step is the true latent with
 *                               probability p, else the model's own previous prediction, with
 *                               the gradient flowing through it (cell by cell).
 *   rollout(context, a, n)      open loop, no gradients.
 * In training mode, inputNoiseStd adds Gaussian noise to the latent inputs and
 * targetJitterScale to the targets of loss(); both are drawn from the model's seeded Generator.
 */
import { checkInt, checkNumber, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, record, shapeSize } from '../tensor/tensor';
import { concat, slice, stack } from '../tensor/shape_ops';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { Module, Parameter } from '../nn/module';
import { LSTM } from '../nn/lstm';
import { lstmCell, lstmSequence, residualHead } from '../ops/lstm';
import { allocateUninit } from '../tensor/memory';
import { mseLoss } from '../losses/index';
import { requireNative } from '../backend/native';
import * as cudaOps from '../ops/cuda_ops';

export interface LatentPredictorOptions {
  /** Shape of one latent, e.g. [64,4,4]; or give latentSize for a flat latent. */
  latentShape?: number[];
  latentSize?: number;
  /** Action values per step (default 0: no actions). Reads 0 on the model when useActions is off. */
  actionSize?: number;
  hiddenSize?: number;
  numLayers?: number;
  /** Predict the increment (z_{t+1} = z_t + dz; default) or z_{t+1} directly. */
  residual?: boolean;
  /** Feed actions to the LSTM (default true; off when actionSize is 0). */
  useActions?: boolean;
  /** Std of Gaussian noise added to the latent inputs in training mode (default 0). */
  inputNoiseStd?: number;
  /** Std of Gaussian noise added to the targets in loss() in training mode (default 0). */
  targetJitterScale?: number;
  /** Seed of the initial weights and of the training noise. */
  seed?: number;
}

export interface PredictorLossOptions {
  /** Probability of feeding the true latent (scheduled sampling); 1 (default) is teacher forcing. */
  pTrue?: number;
  /** Generator for the scheduled-sampling coins (default: the model's own). */
  rng?: Generator;
  /**
   * Burn-in: the first burnIn inputs of each window are always the true latents (teacher
   * forcing), scheduled sampling applies only after them (default 0; 0 and 1 are the same, the
   * first input is always true). burnIn >= T-1 is teacher forcing.
   */
  burnIn?: number;
}

/** The head's parameters (weight [D,H], bias [D], PyTorch Linear names and init). */
class Head extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(inFeatures: number, outFeatures: number, gen: Generator) {
    super();
    const k = 1 / Math.sqrt(Math.max(inFeatures, 1));
    const w = Tensor.empty([outFeatures, inFeatures]);
    gen.fillUniform(w._data as Float32Array, -k, k);
    const b = Tensor.empty([outFeatures]);
    gen.fillUniform(b._data as Float32Array, -k, k);
    this.weight = this.registerParameter('weight', w);
    this.bias = this.registerParameter('bias', b);
  }
  forward(h: Tensor, z: Tensor | null = null): Tensor {
    return residualHead(z, h, this.weight, this.bias);
  }
}

/** out[b] = coin[b] ? a[b] : b[b] over rows of the leading axis; the gradient follows the pick. */
function pickRows(a: Tensor, b: Tensor, coins: Float32Array): Tensor {
  if (a.device === 'cuda' && b.device === 'cuda') return cudaOps.pickRows(a, b, coins);
  const B = a.shape[0];
  const n = a.size / B;
  const out = Tensor.empty(a.shape.slice());
  const o = out._data as Float32Array;
  const ad = a.f32('pickRows'), bd = b.f32('pickRows');
  for (let r = 0; r < B; ++r) o.set((coins[r] ? ad : bd).subarray(r * n, (r + 1) * n), r * n);
  return record(out, 'pickRows', [a, b], (g) => {
    const gd = g.f32('pickRows backward');
    const ga = a.requiresGrad ? Tensor.empty(a.shape.slice()) : null;
    const gb = b.requiresGrad ? Tensor.empty(b.shape.slice()) : null;
    for (let r = 0; r < B; ++r) {
      const dst = coins[r] ? ga : gb;
      if (dst) (dst._data as Float32Array).set(gd.subarray(r * n, (r + 1) * n), r * n);
    }
    return [ga, gb];
  });
}

/** x + noise (noise drawn here, no gradient of its own). */
function addNoise(x: Tensor, std: number, gen: Generator): Tensor {
  if (x.device === 'cuda') {
    const noise = new Float32Array(x.size);
    gen.fillNormal(noise, 0, std);
    return cudaOps.addNoise(x, noise);
  }
  const out = Tensor.empty(x.shape.slice());
  const o = out._data as Float32Array;
  gen.fillNormal(o, 0, std);
  const xd = x.f32('addNoise');
  for (let i = 0; i < o.length; ++i) o[i] += xd[i];
  return record(out, 'addNoise', [x], (g) => [g]);
}

export class LatentPredictor extends Module {
  readonly latentShape: number[];
  readonly latentSize: number;
  readonly actionSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly residual: boolean;
  readonly useActions: boolean;
  inputNoiseStd: number;
  targetJitterScale: number;
  readonly lstm: LSTM;
  readonly head: Head;
  /** Draws the training noise and (by default) the scheduled-sampling coins. */
  readonly generator: Generator;

  constructor(opts: LatentPredictorOptions) {
    super();
    const fn = 'LatentPredictor';
    if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an object', opts);
    if (opts.latentShape !== undefined) {
      if (!Array.isArray(opts.latentShape) || opts.latentShape.length === 0 || opts.latentShape.some((d) => !Number.isInteger(d) || d < 1))
        throw typeError(fn, 'latentShape', 'an array of positive integers', opts.latentShape);
      this.latentShape = opts.latentShape.slice();
      if (opts.latentSize !== undefined && opts.latentSize !== shapeSize(this.latentShape))
        throw rangeError(fn, `latentSize ${opts.latentSize} does not match latentShape ${fmtShape(this.latentShape)}`);
    } else if (opts.latentSize !== undefined) {
      this.latentShape = [checkInt(fn, 'latentSize', opts.latentSize, 1)];
    } else throw typeError(fn, 'latentShape or latentSize', 'given', undefined);
    this.latentSize = shapeSize(this.latentShape);
    const A = checkInt(fn, 'actionSize', opts.actionSize ?? 0, 0);
    this.hiddenSize = checkInt(fn, 'hiddenSize', opts.hiddenSize ?? 256, 1);
    this.numLayers = checkInt(fn, 'numLayers', opts.numLayers ?? 1, 1);
    this.residual = opts.residual ?? true;
    this.useActions = (opts.useActions ?? true) && A > 0;
    // Without actions there is no action input, so actionSize is 0: code that sizes action
    // arrays from it asks for none. (Configs saved with useActions false and actionSize 3, as
    // createPredictor used to write them, build the same LSTM and now read 0 here.)
    this.actionSize = this.useActions ? A : 0;
    this.inputNoiseStd = checkNumber(fn, 'inputNoiseStd', opts.inputNoiseStd ?? 0, 0);
    this.targetJitterScale = checkNumber(fn, 'targetJitterScale', opts.targetJitterScale ?? 0, 0);
    const seed = opts.seed ?? 0;
    const init = new Generator(seed);
    this.generator = init.fork(1);
    const inSize = this.latentSize + (this.useActions ? this.actionSize : 0);
    this.lstm = this.registerModule('lstm', new LSTM(inSize, this.hiddenSize, { numLayers: this.numLayers, batchFirst: true, generator: init }));
    this.head = this.registerModule('head', new Head(this.hiddenSize, this.latentSize, init));
  }

  forward(z: Tensor, a?: Tensor | null): Tensor {
    return this.forwardTeacherForced(z, a);
  }

  // ---- input checks -------------------------------------------------------------------------

  /** z [B,T,...latentShape] (or [B,T,D]) -> [B, T, D] view; checks T >= minT. */
  private flatZ(fn: string, z: Tensor, minT: number, arg = 'z'): Tensor {
    checkTensor(fn, arg, z);
    const D = this.latentSize;
    const tail = z.shape.slice(2);
    const okTail = tail.join(',') === this.latentShape.join(',') || (tail.length === 1 && tail[0] === D);
    if (z.ndim < 3 || !okTail)
      throw rangeError(fn, `${arg} must be [B,T,${this.latentShape.join(',')}] (latent ${fmtShape(this.latentShape)}), got ${fmtShape(z.shape)}`);
    if (z.shape[1] < minT)
      throw rangeError(fn, `${arg} needs at least ${minT} time steps (T >= ${minT}), got T=${z.shape[1]} in ${fmtShape(z.shape)}`);
    return z.reshape(z.shape[0], z.shape[1], D);
  }

  /** a [B,T',A] with T' >= steps -> its first `steps` steps [B,steps,A], or null without actions. */
  private actionsFor(fn: string, a: Tensor | null | undefined, B: number, steps: number): Tensor | null {
    if (!this.useActions) return null;
    if (a === undefined || a === null) throw typeError(fn, 'a', `a Tensor [B,T,${this.actionSize}] of actions (useActions is on)`, a);
    checkTensor(fn, 'a', a);
    if (a.ndim !== 3 || a.shape[2] !== this.actionSize)
      throw rangeError(fn, `a must be [B,T,${this.actionSize}] (actionSize ${this.actionSize}), got ${fmtShape(a.shape)}`);
    if (a.shape[0] !== B) throw rangeError(fn, `batch sizes differ: z has B=${B} but a has B=${a.shape[0]}`);
    if (a.shape[1] < steps) throw rangeError(fn, `a needs at least ${steps} time steps, got ${a.shape[1]} in ${fmtShape(a.shape)}`);
    return a.shape[1] === steps ? a : slice(a, [0, 0, 0], [B, steps, this.actionSize]);
  }

  /** Output shape: the input's own trailing latent dims. */
  private outShape(B: number, T: number, zIn: Tensor): number[] {
    return [B, T, ...zIn.shape.slice(2)];
  }

  private noisy(x: Tensor): Tensor {
    return this.training && this.inputNoiseStd > 0 ? addNoise(x, this.inputNoiseStd, this.generator) : x;
  }

  private inputOf(zt: Tensor, at: Tensor | null): Tensor {
    return at ? concat([zt, at], zt.ndim - 1) : zt;
  }

  // ---- forward paths ------------------------------------------------------------------------

  /** Predictions of z[:,1..T-1] from the true z[:,0..T-2] and a[:,0..T-2]: [B,T-1,...latent]. */
  forwardTeacherForced(z: Tensor, a?: Tensor | null): Tensor {
    const fn = 'LatentPredictor.forwardTeacherForced';
    const zf = this.flatZ(fn, z, 2);
    const [B, T, D] = zf.shape;
    const at = this.actionsFor(fn, a, B, T - 1);
    const zIn = this.noisy(slice(zf, [0, 0, 0], [B, T - 1, D]));
    let x = this.inputOf(zIn, at);
    for (const p of this.lstm.layers) [x] = lstmSequence(x, null, null, p.wih, p.whh, p.bih, p.bhh, true);
    const pred = this.head.forward(x, this.residual ? zIn : null);
    return pred.reshape(this.outShape(B, T - 1, z));
  }

  /**
   * Scheduled sampling: at step t >= 1 each sample's input is the true z[:,t] with probability
   * pTrue (a Bernoulli coin from rng, default the model's generator), else its own prediction
   * of step t, through which the gradient flows. Returns predictions [B,T-1,...latent].
   * pTrue = 1 is teacher forcing (and runs the fused path); pTrue = 0 is the open-loop rollout.
   * burnIn k: inputs 0..k-1 are always the true latents (a burn-in / context that is never
   * free-run), the coins decide only the later ones; burnIn >= T-1 is teacher forcing.
   */
  forwardScheduled(z: Tensor, a: Tensor | null | undefined, pTrue: number, rng?: Generator, burnIn = 0): Tensor {
    const fn = 'LatentPredictor.forwardScheduled';
    checkNumber(fn, 'pTrue', pTrue, 0, 1);
    if (rng !== undefined && !(rng instanceof Generator)) throw typeError(fn, 'rng', 'a Generator', rng);
    checkInt(fn, 'burnIn', burnIn, 0);
    const zf = this.flatZ(fn, z, 2);
    const [B, T, D] = zf.shape;
    const at = this.actionsFor(fn, a, B, T - 1);
    const gen = rng ?? this.generator;
    const coins = new Float32Array(B * Math.max(T - 2, 0));
    // Every coin is drawn whatever the burn-in, so the generator's stream (and with it every
    // later draw) is the same for any burnIn; the burn-in steps' coins are then forced to 1.
    if (coins.length) gen.fillBernoulli(coins, pTrue);
    coins.fill(1, 0, Math.min(Math.max(burnIn - 1, 0), T - 2) * B); // coins[(t-1)*B + b] decides input t
    if (pTrue === 1 || burnIn >= T - 1) return this.forwardTeacherForced(z, a);
    // On 'cuda': the same unroll through per-step recorded ops (lstmCell, the head, row picks).
    if (zf.device === 'cuda') return this.forwardScheduledStepwise(z, a, coins);
    const out = this.scheduledUnroll(zf, at, coins);
    return out.reshape(this.outShape(B, T - 1, z));
  }

  /**
   * The scheduled-sampling unroll as ONE recorded op over native calls: per step L cell
   * forwards and one head call; backward runs through time with per-step native calls that
   * only produce dx/dh/dc and the gate gradients, then every weight gradient is one GEMM over
   * all steps (residualHeadBackward computes doutᵀ·h and the column sums).
   * zf [B,T,D], at [B,T-1,A] | null, coins [(T-2)*B] (1: true input). Returns [B,T-1,D].
   */
  private scheduledUnroll(zf: Tensor, at: Tensor | null, coins: Float32Array): Tensor {
    const cellF = requireNative('lstmCellForward');
    const cellB = requireNative('lstmCellBackward');
    const headF = requireNative('residualHeadForward');
    const headB = requireNative('residualHeadBackward');
    const [B, T, D] = zf.shape;
    const S = T - 1;
    const R = S * B;
    const A = at ? this.actionSize : 0;
    const I0 = D + A;
    const H = this.hiddenSize;
    const G = 4 * H;
    const L = this.numLayers;
    const layers = this.lstm.layers;
    const W = this.head.weight.f32('forwardScheduled');
    const hb = this.head.bias.f32('forwardScheduled');
    const zd = zf.f32('forwardScheduled', 'z');
    const ad = at ? at.f32('forwardScheduled', 'a') : null;
    const noiseStd = this.training ? this.inputNoiseStd : 0;
    // Time-major saved state: row t*B + b. Every row is written below (no zero fill needed).
    const X0 = allocateUninit(R * I0);
    const gates = layers.map(() => allocateUninit(R * G));
    const cs = layers.map(() => allocateUninit(R * H));
    const tcs = layers.map(() => allocateUninit(R * H));
    const hs = layers.map(() => allocateUninit(R * H));
    const preds = allocateUninit(R * D);
    const noise = noiseStd > 0 ? new Float32Array(D * B) : null;
    for (let t = 0; t < S; ++t) {
      const xt = X0.subarray(t * B * I0, (t + 1) * B * I0);
      for (let b = 0; b < B; ++b) {
        const useTrue = t === 0 || coins[(t - 1) * B + b] === 1;
        const src = useTrue ? zd.subarray((b * T + t) * D, (b * T + t + 1) * D) : preds.subarray(((t - 1) * B + b) * D, ((t - 1) * B + b + 1) * D);
        xt.set(src, b * I0);
        if (ad) xt.set(ad.subarray((b * S + t) * A, (b * S + t + 1) * A), b * I0 + D);
      }
      if (noise) {
        this.generator.fillNormal(noise, 0, noiseStd);
        for (let b = 0; b < B; ++b) for (let j = 0; j < D; ++j) xt[b * I0 + j] += noise[b * D + j];
      }
      let x: Float32Array = xt;
      let I = I0;
      for (let l = 0; l < L; ++l) {
        const p = layers[l];
        const rows = (a: Float32Array, n: number, k: number) => a.subarray(k * B * n, (k + 1) * B * n);
        cellF(x, t ? rows(hs[l], H, t - 1) : null, t ? rows(cs[l], H, t - 1) : null, p.wih.f32(), p.whh.f32(), p.bih ? p.bih.f32() : null,
          p.bhh ? p.bhh.f32() : null, B, I, H, rows(gates[l], G, t), rows(cs[l], H, t), rows(hs[l], H, t), rows(tcs[l], H, t));
        x = rows(hs[l], H, t);
        I = H;
      }
      // The residual base is the (noisy) latent input: its first D columns of each row of xt.
      const base = this.residual ? new Float32Array(B * D) : null;
      if (base) for (let b = 0; b < B; ++b) base.set(xt.subarray(b * I0, b * I0 + D), b * D);
      headF(base, x, W, hb, B, D, H, preds.subarray(t * B * D, (t + 1) * B * D));
    }
    const out = Tensor.empty([B, S, D]);
    const od = out._data as Float32Array;
    for (let t = 0; t < S; ++t) for (let b = 0; b < B; ++b) od.set(preds.subarray((t * B + b) * D, (t * B + b + 1) * D), (b * S + t) * D);
    const params: Tensor[] = [];
    for (const p of layers) params.push(p.wih, p.whh, ...(p.bih ? [p.bih] : []), ...(p.bhh ? [p.bhh] : []));
    params.push(this.head.weight, this.head.bias);
    return record(out, 'forwardScheduled', [zf, ...params], (g) => {
      const gd = g.f32('forwardScheduled backward');
      const dOut = allocateUninit(R * D); // time-major gradient of each prediction (every row set below)
      for (let t = 0; t < S; ++t) for (let b = 0; b < B; ++b) dOut.set(gd.subarray((b * S + t) * D, (b * S + t + 1) * D), (t * B + b) * D);
      const dZ = zf.requiresGrad ? Tensor.empty([B, T, D]) : null;
      const dZd = dZ ? (dZ._data as Float32Array) : null;
      const dG = layers.map(() => allocateUninit(R * G)); // written step by step by lstmCellBackward
      const dhC = layers.map(() => new Float32Array(B * H)); // recurrent carries
      const dcC = layers.map(() => new Float32Array(B * H));
      const dhTop = new Float32Array(B * H);
      const dx0 = new Float32Array(B * I0);
      const dxs = layers.map((_, l) => new Float32Array(B * (l === 0 ? I0 : H)));
      const dhNew = new Float32Array(B * H);
      const dhOut = new Float32Array(B * H);
      const dcOut = new Float32Array(B * H);
      const rows = (a: Float32Array, n: number, k: number) => a.subarray(k * B * n, (k + 1) * B * n);
      for (let t = S - 1; t >= 0; --t) {
        const dOt = rows(dOut, D, t);
        headB(rows(hs[L - 1], H, t), W, dOt, B, D, H, dhTop, null, null);
        let dAbove: Float32Array = dhTop;
        for (let l = L - 1; l >= 0; --l) {
          const p = layers[l];
          const I = l === 0 ? I0 : H;
          const xIn = l === 0 ? rows(X0, I0, t) : rows(hs[l - 1], H, t);
          for (let i = 0; i < B * H; ++i) dhNew[i] = dAbove[i] + dhC[l][i];
          const dx = l === 0 ? dx0 : dxs[l];
          cellB(xIn, t ? rows(hs[l], H, t - 1) : null, t ? rows(cs[l], H, t - 1) : null, p.wih.f32(), p.whh.f32(), rows(gates[l], G, t),
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
          for (let j = 0; j < D; ++j) dst[j] += dx0[b * I0 + j] + (this.residual ? dOt[b * D + j] : 0);
        }
      }
      const grads: (Tensor | null)[] = [dZ];
      for (let l = 0; l < L; ++l) {
        const p = layers[l];
        const I = l === 0 ? I0 : H;
        const xAll = l === 0 ? X0 : hs[l - 1];
        // Written completely by residualHeadBackward (GEMM with beta 0, column sums).
        const dWih = Tensor.uninit([G, I]);
        const dWhh = Tensor.uninit([G, H]);
        const db = Tensor.uninit([G]);
        headB(xAll, p.wih.f32(), dG[l], R, G, I, null, dWih._data, db._data);
        // h_{t-1} of rows t >= 1 is hs rows t-1; rows of t = 0 have h = 0 and contribute nothing.
        headB(hs[l].subarray(0, (R - B) * H), p.whh.f32(), dG[l].subarray(B * G), R - B, G, H, null, dWhh._data, null);
        grads.push(dWih, dWhh);
        if (p.bih) grads.push(db);
        if (p.bhh) grads.push(p.bih ? db.clone() : db);
      }
      const dW = Tensor.uninit([D, H]);
      const dbh = Tensor.uninit([D]);
      headB(hs[L - 1], W, dOut, R, D, H, null, dW._data, dbh._data);
      grads.push(dW, dbh);
      return grads;
    });
  }

  /** Kept for reference and tests: the scheduled unroll through per-step recorded ops. */
  forwardScheduledStepwise(z: Tensor, a: Tensor | null | undefined, coins: Float32Array): Tensor {
    const fn = 'LatentPredictor.forwardScheduledStepwise';
    const zf = this.flatZ(fn, z, 2);
    const [B, T, D] = zf.shape;
    const at = this.actionsFor(fn, a, B, T - 1);
    const L = this.numLayers;
    const hs: (Tensor | null)[] = new Array(L).fill(null);
    const cs: (Tensor | null)[] = new Array(L).fill(null);
    const preds: Tensor[] = [];
    let prev: Tensor | null = null;
    for (let t = 0; t < T - 1; ++t) {
      const zt = zf.slice([0, t, 0], [B, 1, D]).reshape(B, D);
      let zIn = prev === null ? zt : pickRows(zt, prev, coins.subarray((t - 1) * B, t * B));
      zIn = this.noisy(zIn);
      let x = this.inputOf(zIn, at ? at.slice([0, t, 0], [B, 1, this.actionSize]).reshape(B, this.actionSize) : null);
      for (let l = 0; l < L; ++l) {
        const p = this.lstm.layers[l];
        [hs[l], cs[l]] = lstmCell(x, hs[l], cs[l], p.wih, p.whh, p.bih, p.bhh);
        x = hs[l]!;
      }
      prev = this.head.forward(x, this.residual ? zIn : null);
      preds.push(prev);
    }
    return stack(preds, 1).reshape(this.outShape(B, T - 1, z));
  }

  /**
   * Open-loop rollout without gradients: warms up on contextZ [B,C,...latent] (C >= 1) with
   * actions[:,0..C-1], then feeds its own predictions. actions [B, >= C+horizon-1, A].
   * Returns the predictions of steps C..C+horizon-1: [B,horizon,...latent].
   */
  rollout(contextZ: Tensor, actions: Tensor | null | undefined, horizon: number): Tensor {
    return this.rolloutImpl('LatentPredictor.rollout', contextZ, actions, horizon, true);
  }

  /** Kept for reference and tests: the rollout with one recorded op per cell and head step. */
  rolloutStepwise(contextZ: Tensor, actions: Tensor | null | undefined, horizon: number): Tensor {
    return this.rolloutImpl('LatentPredictor.rolloutStepwise', contextZ, actions, horizon, false);
  }

  private rolloutImpl(fn: string, contextZ: Tensor, actions: Tensor | null | undefined, horizon: number, fused: boolean): Tensor {
    checkInt(fn, 'horizon', horizon, 1);
    return noGrad(() => {
      const zf = this.flatZ(fn, contextZ, 1, 'contextZ');
      const [B, C, D] = zf.shape;
      const A = this.actionSize;
      const at = this.actionsFor(fn, actions, B, C + horizon - 1);
      let x = this.inputOf(zf, at ? slice(at, [0, 0, 0], [B, C, A]) : null);
      const hs: Tensor[] = [];
      const cs: Tensor[] = [];
      for (const p of this.lstm.layers) {
        const [y, hN, cN] = lstmSequence(x, null, null, p.wih, p.whh, p.bih, p.bhh, true);
        x = y;
        hs.push(hN);
        cs.push(cN);
      }
      const zLast = zf.slice([0, C - 1, 0], [B, 1, D]).reshape(B, D);
      let pred = this.head.forward(hs[this.numLayers - 1], this.residual ? zLast : null);
      if (fused && horizon > 1 && pred.device === 'cpu') {
        // All later steps in one native call (cpp/lstm.cpp lstmRolloutForward): the same cell and
        // head kernels in the same order as the loop below, so the same bits.
        const L = this.numLayers;
        const H = this.hiddenSize;
        const S = horizon - 1;
        const h = new Float32Array(L * B * H);
        const c = new Float32Array(L * B * H);
        for (let l = 0; l < L; ++l) {
          h.set(hs[l].f32(fn), l * B * H);
          c.set(cs[l].f32(fn), l * B * H);
        }
        const out = Tensor.empty([B, horizon, D]);
        const od = out._data as Float32Array;
        const pd = pred.f32(fn);
        const rest = new Float32Array(B * S * D);
        const layers = this.lstm.layers.map((p) => [p.wih.f32(fn), p.whh.f32(fn), p.bih ? p.bih.f32(fn) : null, p.bhh ? p.bhh.f32(fn) : null]);
        const Ta = at ? at.shape[1] : 0;
        const ad = at ? at.f32(fn, 'actions').subarray(C * A) : null;
        requireNative('lstmRolloutForward')(layers, this.head.weight.f32(fn), this.head.bias.f32(fn), h, c, pd, ad,
          B, D, at ? A : 0, H, S, this.residual, Ta * A, rest);
        for (let b = 0; b < B; ++b) {
          od.set(pd.subarray(b * D, (b + 1) * D), b * horizon * D);
          od.set(rest.subarray(b * S * D, (b + 1) * S * D), (b * horizon + 1) * D);
        }
        return out.reshape(this.outShape(B, horizon, contextZ));
      }
      const preds = [pred];
      for (let k = 1; k < horizon; ++k) {
        const t = C - 1 + k;
        let xi = this.inputOf(pred, at ? at.slice([0, t, 0], [B, 1, A]).reshape(B, A) : null);
        for (let l = 0; l < this.numLayers; ++l) {
          const p = this.lstm.layers[l];
          [hs[l], cs[l]] = lstmCell(xi, hs[l], cs[l], p.wih, p.whh, p.bih, p.bhh);
          xi = hs[l];
        }
        pred = this.head.forward(xi, this.residual ? pred : null);
        preds.push(pred);
      }
      return stack(preds, 1).reshape(this.outShape(B, horizon, contextZ));
    });
  }

  /**
   * Latent MSE of the predictions of z[:,1..T-1]: teacher forcing (pTrue = 1, default) or
   * scheduled sampling. In training mode the targets get targetJitterScale noise.
   */
  loss(z: Tensor, a?: Tensor | null, opts: PredictorLossOptions = {}): Tensor {
    const pTrue = opts.pTrue ?? 1;
    const burnIn = checkInt('LatentPredictor.loss', 'opts.burnIn', opts.burnIn ?? 0, 0);
    const pred = pTrue === 1 ? this.forwardTeacherForced(z, a) : this.forwardScheduled(z, a, pTrue, opts.rng, burnIn);
    const zf = z.reshape(z.shape[0], z.shape[1], this.latentSize);
    const [B, T, D] = zf.shape;
    let target = noGrad(() => slice(zf, [0, 1, 0], [B, T - 1, D]));
    if (this.training && this.targetJitterScale > 0 && target.device === 'cuda') {
      // the same draws as on the CPU, added on the device (a 'cuda' tensor has no host _data to add into)
      const t0 = target;
      target = noGrad(() => addNoise(t0, this.targetJitterScale, this.generator));
    } else if (this.training && this.targetJitterScale > 0) {
      const n = new Float32Array(target.size);
      this.generator.fillNormal(n, 0, this.targetJitterScale);
      const td = target._data as Float32Array;
      for (let i = 0; i < n.length; ++i) td[i] += n[i];
    }
    return mseLoss(pred.reshape(B, T - 1, D), target);
  }
}
