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
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { concat, slice, stack } from '../ops/shape';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { Module, Parameter } from '../nn/module';
import { LSTM } from '../nn/lstm';
import { lstmSequence, residualHead } from '../ops/lstm';
import { mseLoss } from '../losses/index';
import { PredictorWeights, addNoise as addNoiseOp, lstmRollout, scheduledUnroll } from '../ops/predictor_unroll';

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

/** x + noise (noise drawn here from gen on the host, no gradient of its own). */
function addNoise(x: Tensor, std: number, gen: Generator): Tensor {
  const noise = new Float32Array(x.size);
  gen.fillNormal(noise, 0, std);
  return addNoiseOp(x, noise);
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
    // The input noise of every step, drawn step by step as the stepwise unroll draws it.
    const noiseStd = this.training ? this.inputNoiseStd : 0;
    let noise: Float32Array | null = null;
    if (noiseStd > 0) {
      noise = new Float32Array((T - 1) * B * D);
      for (let t = 0; t < T - 1; ++t) this.generator.fillNormal(noise.subarray(t * B * D, (t + 1) * B * D), 0, noiseStd);
    }
    const out = scheduledUnroll(zf, at, coins, noise, this.weights(), this.residual);
    return out.reshape(this.outShape(B, T - 1, z));
  }

  /** The LSTM layers' and the head's weights, for the unroll ops. */
  private weights(): PredictorWeights {
    return {
      layers: this.lstm.layers.map((p) => ({ wih: p.wih, whh: p.whh, bih: p.bih, bhh: p.bhh })),
      headW: this.head.weight,
      headB: this.head.bias,
    };
  }

  /**
   * Open-loop rollout without gradients: warms up on contextZ [B,C,...latent] (C >= 1) with
   * actions[:,0..C-1], then feeds its own predictions. actions [B, >= C+horizon-1, A].
   * Returns the predictions of steps C..C+horizon-1: [B,horizon,...latent].
   */
  rollout(contextZ: Tensor, actions: Tensor | null | undefined, horizon: number): Tensor {
    const fn = 'LatentPredictor.rollout';
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
      if (horizon === 1) return pred.reshape(this.outShape(B, 1, contextZ));
      // The later steps as one backend kernel (on the CPU one native call, cpp/lstm.cpp
      // lstmRolloutForward); test/helpers/predictor_stepwise.ts is the per-step reference.
      const rest = lstmRollout(this.weights(), this.residual, stack(hs, 0), stack(cs, 0), pred, at, C, horizon - 1);
      return concat([pred.reshape(B, 1, D), rest], 1).reshape(this.outShape(B, horizon, contextZ));
    });
  }

  /**
   * Latent MSE of the predictions of z[:,1..T-1]: teacher forcing (pTrue = 1, default) or
   * scheduled sampling. In training mode the targets get targetJitterScale noise.
   */
  loss(z: Tensor, a?: Tensor | null, opts: PredictorLossOptions = {}): Tensor {
    return this.lossAndPredictions(z, a, opts).loss;
  }

  /** loss() and the predictions it was computed from ([B,T-1,D], carrying the gradient), for extra loss terms on them. */
  lossAndPredictions(z: Tensor, a?: Tensor | null, opts: PredictorLossOptions = {}): { loss: Tensor; pred: Tensor } {
    const pTrue = opts.pTrue ?? 1;
    const burnIn = checkInt('LatentPredictor.loss', 'opts.burnIn', opts.burnIn ?? 0, 0);
    const pred = pTrue === 1 ? this.forwardTeacherForced(z, a) : this.forwardScheduled(z, a, pTrue, opts.rng, burnIn);
    const zf = z.reshape(z.shape[0], z.shape[1], this.latentSize);
    const [B, T, D] = zf.shape;
    let target = noGrad(() => slice(zf, [0, 1, 0], [B, T - 1, D]));
    if (this.training && this.targetJitterScale > 0) {
      const t0 = target;
      target = noGrad(() => addNoise(t0, this.targetJitterScale, this.generator));
    }
    const flat = pred.reshape(B, T - 1, D);
    return { loss: mseLoss(flat, target), pred: flat };
  }
}
