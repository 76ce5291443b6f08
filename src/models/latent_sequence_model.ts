/**
 * LatentSequenceModel: what every latent predictor shares, whatever runs inside it (the LSTM of
 * LatentPredictor, the Transformer of LatentTransformer). Trainers, rollouts and diagnostics are
 * written against this class, so a new predictor plugs into all of them by implementing three
 * methods:
 *
 *   forwardTeacherForced(z, a)                 predictions of z[:,1..T-1] from the true z[:,0..T-2]
 *   forwardScheduled(z, a, pTrue, rng, burnIn) each input is the true latent with probability pTrue,
 *                                              else the model's own previous prediction (gradient
 *                                              through it); coins and noise drawn by drawCoins /
 *                                              drawInputNoise, so every predictor consumes the
 *                                              generator's stream the same way
 *   rollout(context, a, horizon)               open loop, no gradients
 *
 * Here: the options every predictor takes (latent shape, actions, residual prediction, training
 * noise, seed), the input checks, and loss() / lossAndPredictions() (latent MSE with target
 * jitter), written once.
 */
import { checkInt, checkNumber, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { slice } from '../ops/shape';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { Module } from '../nn/module';
import { mseLoss } from '../losses/index';
import { addNoise as addNoiseOp } from '../ops/predictor_unroll';

/** The options every latent predictor takes. */
export interface LatentSequenceModelOptions {
  /** Shape of one latent, e.g. [64,4,4]; or give latentSize for a flat latent. */
  latentShape?: number[];
  latentSize?: number;
  /** Action values per step (default 0: no actions). Reads 0 on the model when useActions is off. */
  actionSize?: number;
  /** Predict the increment (z_{t+1} = z_t + dz; default) or z_{t+1} directly. */
  residual?: boolean;
  /** Feed actions to the model (default true; off when actionSize is 0). */
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

/** The predictor kinds: what `createPredictor({ predictor })` and the checkpoints' `config.predictor.kind` name. */
export type PredictorKind = 'lstm' | 'transformer';

/** x + noise drawn from gen on the host (no gradient of its own). */
export function addGeneratorNoise(x: Tensor, std: number, gen: Generator): Tensor {
  const noise = new Float32Array(x.size);
  gen.fillNormal(noise, 0, std);
  return addNoiseOp(x, noise);
}

export abstract class LatentSequenceModel extends Module {
  /** Which predictor this is. */
  abstract readonly kind: PredictorKind;
  readonly latentShape: number[];
  readonly latentSize: number;
  readonly actionSize: number;
  readonly residual: boolean;
  readonly useActions: boolean;
  /** The width of the model's state: the LSTM's hidden size, the Transformer's token width. */
  abstract readonly hiddenSize: number;
  /** LSTM layers or Transformer blocks. */
  abstract readonly numLayers: number;
  inputNoiseStd: number;
  targetJitterScale: number;
  /** Draws the training noise and (by default) the scheduled-sampling coins. */
  readonly generator: Generator;
  /** Draws the initial weights (the subclass constructor uses it, in the order it registers them). */
  protected readonly init: Generator;

  constructor(fn: string, opts: LatentSequenceModelOptions) {
    super();
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
    this.residual = opts.residual ?? true;
    this.useActions = (opts.useActions ?? true) && A > 0;
    // Without actions there is no action input, so actionSize is 0: code that sizes action
    // arrays from it asks for none. (Configs saved with useActions false and actionSize 3, as
    // createPredictor used to write them, build the same model and now read 0 here.)
    this.actionSize = this.useActions ? A : 0;
    this.inputNoiseStd = checkNumber(fn, 'inputNoiseStd', opts.inputNoiseStd ?? 0, 0);
    this.targetJitterScale = checkNumber(fn, 'targetJitterScale', opts.targetJitterScale ?? 0, 0);
    this.init = new Generator(opts.seed ?? 0);
    this.generator = this.init.fork(1);
  }

  forward(z: Tensor, a?: Tensor | null): Tensor {
    return this.forwardTeacherForced(z, a);
  }

  /** Predictions of z[:,1..T-1] from the true z[:,0..T-2] and a[:,0..T-2]: [B,T-1,...latent]. */
  abstract forwardTeacherForced(z: Tensor, a?: Tensor | null): Tensor;

  /**
   * Scheduled sampling: at step t >= 1 each sample's input is the true z[:,t] with probability
   * pTrue (a Bernoulli coin from rng, default the model's generator), else its own prediction
   * of step t, through which the gradient flows. Returns predictions [B,T-1,...latent].
   * pTrue = 1 is teacher forcing; pTrue = 0 is the open-loop rollout. burnIn k: inputs 0..k-1
   * are always the true latents, the coins decide only the later ones; burnIn >= T-1 is teacher
   * forcing.
   */
  abstract forwardScheduled(z: Tensor, a: Tensor | null | undefined, pTrue: number, rng?: Generator, burnIn?: number): Tensor;

  /**
   * Open-loop rollout without gradients: warms up on contextZ [B,C,...latent] (C >= 1) with
   * actions[:,0..C-1], then feeds its own predictions. actions [B, >= C+horizon-1, A].
   * Returns the predictions of steps C..C+horizon-1: [B,horizon,...latent].
   */
  rollout(contextZ: Tensor, actions: Tensor | null | undefined, horizon: number): Tensor {
    const fn = `${this.constructor.name}.rollout`;
    checkInt(fn, 'horizon', horizon, 1);
    return noGrad(() => {
      const zf = this.flatZ(fn, contextZ, 1, 'contextZ');
      const [B, C] = zf.shape;
      const at = this.actionsFor(fn, actions, B, C + horizon - 1);
      return this.rolloutFrom(zf, at, horizon).reshape(this.outShape(B, horizon, contextZ));
    });
  }

  /** rollout() after its checks, under noGrad: zf [B,C,D], at [B, C+horizon-1, A] | null -> [B,horizon,D]. */
  protected abstract rolloutFrom(zf: Tensor, at: Tensor | null, horizon: number): Tensor;

  /** One line for logs: the kind and its sizes. */
  abstract describe(): string;

  // ---- input checks and draws shared by the predictors -------------------------------------

  /** z [B,T,...latentShape] (or [B,T,D]) -> [B, T, D] view; checks T >= minT. */
  protected flatZ(fn: string, z: Tensor, minT: number, arg = 'z'): Tensor {
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
  protected actionsFor(fn: string, a: Tensor | null | undefined, B: number, steps: number): Tensor | null {
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
  protected outShape(B: number, T: number, zIn: Tensor): number[] {
    return [B, T, ...zIn.shape.slice(2)];
  }

  /** x with the training input noise (training mode and inputNoiseStd > 0), else x. */
  protected noisy(x: Tensor): Tensor {
    return this.training && this.inputNoiseStd > 0 ? addGeneratorNoise(x, this.inputNoiseStd, this.generator) : x;
  }

  /**
   * The arguments of forwardScheduled checked, and its coins: coins[(t-1)*B + b] is 1 when input
   * t of sample b is the true latent. Every coin is drawn whatever the burn-in, so the generator's
   * stream (and with it every later draw) is the same for any burnIn; the burn-in steps' coins are
   * then forced to 1. teacherForced: pTrue is 1 or the burn-in covers every input.
   */
  protected drawCoins(fn: string, B: number, T: number, pTrue: number, rng: Generator | undefined, burnIn: number): { coins: Float32Array; teacherForced: boolean } {
    checkNumber(fn, 'pTrue', pTrue, 0, 1);
    if (rng !== undefined && !(rng instanceof Generator)) throw typeError(fn, 'rng', 'a Generator', rng);
    checkInt(fn, 'burnIn', burnIn, 0);
    const gen = rng ?? this.generator;
    const coins = new Float32Array(B * Math.max(T - 2, 0));
    if (coins.length) gen.fillBernoulli(coins, pTrue);
    coins.fill(1, 0, Math.min(Math.max(burnIn - 1, 0), T - 2) * B);
    return { coins, teacherForced: pTrue === 1 || burnIn >= T - 1 };
  }

  /** The input noise of every step of a scheduled unroll [(T-1)*B*D], step by step from the model's generator (null: none). */
  protected drawInputNoise(B: number, T: number): Float32Array | null {
    const noiseStd = this.training ? this.inputNoiseStd : 0;
    if (!(noiseStd > 0)) return null;
    const D = this.latentSize;
    const noise = new Float32Array((T - 1) * B * D);
    for (let t = 0; t < T - 1; ++t) this.generator.fillNormal(noise.subarray(t * B * D, (t + 1) * B * D), 0, noiseStd);
    return noise;
  }

  // ---- the loss ------------------------------------------------------------------------------

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
    const burnIn = checkInt(`${this.constructor.name}.loss`, 'opts.burnIn', opts.burnIn ?? 0, 0);
    const pred = pTrue === 1 ? this.forwardTeacherForced(z, a) : this.forwardScheduled(z, a, pTrue, opts.rng, burnIn);
    const zf = z.reshape(z.shape[0], z.shape[1], this.latentSize);
    const [B, T, D] = zf.shape;
    let target = noGrad(() => slice(zf, [0, 1, 0], [B, T - 1, D]));
    if (this.training && this.targetJitterScale > 0) {
      const t0 = target;
      target = noGrad(() => addGeneratorNoise(t0, this.targetJitterScale, this.generator));
    }
    const flat = pred.reshape(B, T - 1, D);
    return { loss: mseLoss(flat, target), pred: flat };
  }
}
