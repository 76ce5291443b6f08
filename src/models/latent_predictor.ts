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
import { checkInt } from '../errors';
import { Tensor } from '../tensor/tensor';
import { concat, slice, stack } from '../ops/shape';
import { Generator } from '../random/generator';
import { Module, Parameter } from '../nn/module';
import { LSTM } from '../nn/lstm';
import { lstmSequence, residualHead } from '../ops/lstm';
import { PredictorWeights, lstmRollout, scheduledUnroll } from '../ops/predictor_unroll';
import { LatentSequenceModel, LatentSequenceModelOptions } from './latent_sequence_model';

export type { PredictorLossOptions } from './latent_sequence_model';

export interface LatentPredictorOptions extends LatentSequenceModelOptions {
  hiddenSize?: number;
  numLayers?: number;
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

export class LatentPredictor extends LatentSequenceModel {
  readonly kind = 'lstm' as const;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly lstm: LSTM;
  readonly head: Head;

  constructor(opts: LatentPredictorOptions) {
    super('LatentPredictor', opts);
    const fn = 'LatentPredictor';
    this.hiddenSize = checkInt(fn, 'hiddenSize', opts.hiddenSize ?? 256, 1);
    this.numLayers = checkInt(fn, 'numLayers', opts.numLayers ?? 1, 1);
    const inSize = this.latentSize + (this.useActions ? this.actionSize : 0);
    this.lstm = this.registerModule('lstm', new LSTM(inSize, this.hiddenSize, { numLayers: this.numLayers, batchFirst: true, generator: this.init }));
    this.head = this.registerModule('head', new Head(this.hiddenSize, this.latentSize, this.init));
  }

  describe(): string {
    return `LSTM hidden ${this.hiddenSize}, ${this.numLayers} layer${this.numLayers === 1 ? '' : 's'}`;
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
    const zf = this.flatZ(fn, z, 2);
    const [B, T] = zf.shape;
    const at = this.actionsFor(fn, a, B, T - 1);
    const { coins, teacherForced } = this.drawCoins(fn, B, T, pTrue, rng, burnIn);
    if (teacherForced) return this.forwardTeacherForced(z, a);
    const noise = this.drawInputNoise(B, T);
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
   * The rollout after the checks (LatentSequenceModel.rollout): the context's frames but the last
   * through the LSTM (they only set its state), then all `horizon` steps as one backend kernel
   * (on the CPU one native call, cpp/lstm.cpp lstmRolloutForward), whose first step reads the
   * last context frame. test/helpers/predictor_stepwise.ts is the per-step reference.
   */
  protected rolloutFrom(zf: Tensor, at: Tensor | null, horizon: number): Tensor {
    const [B, C, D] = zf.shape;
    let h: Tensor | null = null;
    let c: Tensor | null = null;
    if (C > 1) {
      let x = this.inputOf(zf.slice([0, 0, 0], [B, C - 1, D]), at ? slice(at, [0, 0, 0], [B, C - 1, this.actionSize]) : null);
      const hs: Tensor[] = [];
      const cs: Tensor[] = [];
      for (const p of this.lstm.layers) {
        const [y, hN, cN] = lstmSequence(x, null, null, p.wih, p.whh, p.bih, p.bhh, true);
        x = y;
        hs.push(hN);
        cs.push(cN);
      }
      h = stack(hs, 0);
      c = stack(cs, 0);
    }
    const zLast = zf.slice([0, C - 1, 0], [B, 1, D]).reshape(B, D);
    return lstmRollout(this.weights(), this.residual, h, c, zLast, at, C - 1, horizon);
  }

}
