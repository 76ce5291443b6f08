/**
 * pixelRollout(predictor, { frames, actions, context, horizon, batch }): the open-loop rollout of
 * a pixel-space predictor (ConvLSTMPredictor), in the shapes openLoopRollout returns for a latent
 * one, so the image metrics (src/diagnostics/image_metrics.ts) and filmstrips (saveFilmstrip) take
 * its output as they take a VAE-decoded rollout: predicted frames as uint8 HWC and float NCHW
 * images in [0, 1], and the real frames of the horizon when `frames` cover it. No VAE: the
 * predictor's output already is frames.
 */
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { floatToFrames, framesToFloat } from '../ops/conv';
import { ConvLSTMPredictor } from '../models/conv_lstm_predictor';
import { checkInt, rangeError, typeError } from '../errors';
import { moduleDevice } from '../train/device';

export interface PixelRolloutInput {
  /** uint8 HWC frames [>= context (+ horizon for the comparison), H, W, C]; with `batch` B, B sequences of the same length back to back. */
  frames: Uint8Array;
  /** float [>= context + horizon - 1, A] actions ([B, T', A] with `batch`); ignored by a predictor without actions. */
  actions?: Float32Array | null;
  /** Real frames fed to the model (default 10). */
  context?: number;
  /** Predicted steps (default 10). */
  horizon?: number;
  /** Sequences in `frames` rolled out together (default 1). */
  batch?: number;
}

export interface PixelRolloutResult {
  context: number;
  horizon: number;
  batch: number;
  /** Predicted frames: uint8 HWC [batch, horizon, H, W, C] and float NCHW [batch, horizon, C, H, W] in [0, 1]. */
  predFrames: Uint8Array;
  predImages: Float32Array;
  /** When the frames cover the horizon: the real frames of the horizon (uint8 HWC) and as float NCHW images. */
  realFrames?: Uint8Array;
  realImages?: Float32Array;
}

export function pixelRollout(predictor: ConvLSTMPredictor, input: PixelRolloutInput): PixelRolloutResult {
  const fn = 'pixelRollout';
  if (!(predictor instanceof ConvLSTMPredictor)) throw typeError(fn, 'predictor', 'a ConvLSTMPredictor', predictor);
  if (!input || typeof input !== 'object') throw typeError(fn, 'input', 'an object { frames, actions?, context?, horizon?, batch? }', input);
  if (!(input.frames instanceof Uint8Array)) throw typeError(fn, 'input.frames', 'a Uint8Array of uint8 HWC frames', input.frames);
  const Cn = checkInt(fn, 'context', input.context ?? 10, 1);
  const Hz = checkInt(fn, 'horizon', input.horizon ?? 10, 1);
  const B = checkInt(fn, 'batch', input.batch ?? 1, 1);
  const [C, H, W] = predictor.frameShape;
  const per = H * W * C;
  if (input.frames.length % (B * per) !== 0)
    throw rangeError(fn, `input.frames must hold batch = ${B} sequences of whole ${H}x${W}x${C} frames (${per} bytes each), got ${input.frames.length} bytes`);
  const nFrames = input.frames.length / (B * per);
  if (nFrames < Cn) throw rangeError(fn, `frames hold ${nFrames} frames${B > 1 ? ' per sequence' : ''}, fewer than context ${Cn}`);
  const A = predictor.actionSize;
  const need = Cn + Hz - 1;
  let acts: Float32Array | null = null;
  if (predictor.useActions) {
    const a = input.actions;
    if (!(a instanceof Float32Array)) throw typeError(fn, 'input.actions', `a Float32Array of [${B > 1 ? 'batch, ' : ''}context + horizon - 1, ${A}] actions (the predictor uses actions)`, a);
    if (a.length % B !== 0 || a.length / B < need * A) throw rangeError(fn, `input.actions must hold ${B} sequences of at least context + horizon - 1 = ${need} steps of ${A} values, got ${a.length} values`);
    const stride = a.length / B;
    acts = new Float32Array(B * need * A);
    for (let b = 0; b < B; ++b) acts.set(a.subarray(b * stride, b * stride + need * A), b * need * A);
  }
  const seq = nFrames * per;
  const ctx = new Uint8Array(B * Cn * per);
  for (let b = 0; b < B; ++b) ctx.set(input.frames.subarray(b * seq, b * seq + Cn * per), b * Cn * per);
  const dv = moduleDevice(predictor);
  const was = predictor.training;
  predictor.eval();
  try {
    const { predFrames, predImages } = noGrad(() =>
      tidy(() => {
        const x = framesToFloat(new Tensor([B * Cn, H, W, C], 'uint8', ctx), 'NHWC', { device: dv }).reshape(B, Cn, C, H, W);
        const a = acts ? new Tensor([B, need, A], 'float32', acts).to(dv) : null;
        const pred = predictor.rollout(x, a, Hz).reshape(B * Hz, C, H, W);
        return { predFrames: floatToFrames(pred, 'NHWC').data(fn).slice() as Uint8Array, predImages: pred.hostF32(fn).slice() };
      }),
    );
    const res: PixelRolloutResult = { context: Cn, horizon: Hz, batch: B, predFrames, predImages };
    if (nFrames >= Cn + Hz) {
      const real = new Uint8Array(B * Hz * per);
      for (let b = 0; b < B; ++b) real.set(input.frames.subarray(b * seq + Cn * per, b * seq + (Cn + Hz) * per), b * Hz * per);
      res.realFrames = real;
      res.realImages = tidy(() => framesToFloat(new Tensor([B * Hz, H, W, C], 'uint8', real), 'NHWC').data(fn).slice() as Float32Array);
    }
    return res;
  } finally {
    predictor.train(was);
  }
}
