/**
 * trainPixelPredictor(predictor, dataset, options): fits a ConvLSTMPredictor on windows of frames,
 * with no VAE in the loop (pixel space), over the shared training loop (src/train/loop.ts:
 * checkpoints, bit-identical resume, LR schedule, budget, validation, metrics log):
 *
 *   const eps = movingMnistEpisodes({ count: 2000, seed: 1 });
 *   const p = new ConvLSTMPredictor({ frameShape: [1, 64, 64], patchSize: 4, hiddenChannels: 64 });
 *   await trainPixelPredictor(p, eps, { epochs: 10, batchSize: 8, lr: 1e-3, seqLen: 20,
 *     scheduledSampling: true, burnIn: 10, checkpointDir: 'runs/convlstm' });
 *
 * An example is a window of `seqLen` consecutive frames (uint8 HWC in the episodes, converted to
 * float NCHW in [0, 1] on the device per batch) with the actions taken at each; the loss is the
 * predictor's pixel loss ('bce' or 'mse', its config) of the predictions of frames 1..seqLen-1,
 * teacher-forced, or with scheduledSampling the probability pTrue of feeding the true frame decays
 * over epochs (samplingSchedule, default linear 1 -> 0.25), after `burnIn` always-true inputs.
 * Validation every epoch on held-out episodes: valLoss (teacher-forced loss), valOpenLoop (pixel
 * MSE, mean over pixels, of the predictions of frames 1..seqLen-1 when every input after the
 * burn-in is the model's own prediction, as trainPredictor's valOpenLoop) and
 * valOpenLoopFrameMse (that error as the video-prediction tables count it: the sum of squared
 * errors over one frame's pixels).
 */
import { ConvLSTMPredictor } from '../models/conv_lstm_predictor';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { framesToFloat } from '../ops/conv';
import { mseLoss } from '../losses/index';
import { Generator } from '../random/generator';
import { rangeError, typeError } from '../errors';
import { Episode, channelsOf, frameBytesOf } from '../data/episode';
import { CommonTrainOptions, Logs, TrainResult, runLoop } from './loop';
import { EpisodeSource, episodesOf, splitEpisodes, trainingWindows } from './data';
import { restoreModule } from './checkpoint';
import { SamplingSchedule, pTrueAt } from './sampling_schedule';
import { windowOptions } from './train_predictor';
import { moduleDevice, resolveDevice } from './device';
import type { Device } from '../tensor/memory';

export interface TrainPixelPredictorOptions extends CommonTrainOptions {
  /** Window length in frames (default 16). */
  seqLen?: number;
  /** Frames between window starts (default seqLen / 2; a last window aligned to each episode's end). */
  windowStride?: number;
  /** Scheduled sampling on (default false: teacher forcing). */
  scheduledSampling?: boolean;
  /** Decay of pTrue over epochs (default linear from 1 to 0.25). */
  samplingSchedule?: SamplingSchedule;
  /** The first burnIn inputs of every window are always true frames (default 0; in [0, seqLen - 1]). */
  burnIn?: number;
  /** Held-out windows used for validation at most (default 64). */
  maxValidationWindows?: number;
}

/** float frames [B, T, C, H, W] in [0, 1] on `device` and actions [B, T, A] of the windows `refs`. */
export function gatherFrameWindows(eps: Episode[], refs: [number, number][], T: number, device: Device): { frames: Tensor; actions: Tensor } {
  const e0 = eps[0];
  const n = frameBytesOf(e0);
  const C = channelsOf(e0);
  const A = e0.actionDim;
  const bytes = new Uint8Array(refs.length * T * n);
  const act = new Float32Array(refs.length * T * A);
  refs.forEach(([e, t0], b) => {
    bytes.set(eps[e].frames.subarray(t0 * n, (t0 + T) * n), b * T * n);
    if (A) act.set(eps[e].actions.subarray(t0 * A, (t0 + T) * A), b * T * A);
  });
  const u8 = new Tensor([refs.length * T, e0.height, e0.width, C], 'uint8', bytes);
  const frames = framesToFloat(u8, 'NHWC', { device }).reshape(refs.length, T, C, e0.height, e0.width);
  const actions = new Tensor([refs.length, T, A], 'float32', act).to(device);
  return { frames, actions };
}

/** The episodes must hold the predictor's frames (and its actions, when it takes them). */
export function checkPixelData(fn: string, predictor: ConvLSTMPredictor, e0: Episode): void {
  const [C, H, W] = predictor.frameShape;
  const c = channelsOf(e0);
  if (c !== C || e0.height !== H || e0.width !== W)
    throw rangeError(fn, `the episodes' frames are ${e0.height}x${e0.width} with ${c} channel${c === 1 ? '' : 's'}, but the predictor takes frameShape [${C}, ${H}, ${W}] (build it with new ConvLSTMPredictor({ frameShape: [${c}, ${e0.height}, ${e0.width}] }))`);
  if (predictor.useActions && e0.actionDim !== predictor.actionSize)
    throw rangeError(fn, `the episodes have ${e0.actionDim} action values per frame, the predictor expects ${predictor.actionSize} (build it with actionSize: ${e0.actionDim}${e0.actionDim === 0 ? ', i.e. without actions' : ''})`);
}

export async function trainPixelPredictor(predictor: ConvLSTMPredictor, dataset: EpisodeSource, options: TrainPixelPredictorOptions = {}): Promise<TrainResult> {
  const fn = 'trainPixelPredictor';
  if (!(predictor instanceof ConvLSTMPredictor)) throw typeError(fn, 'predictor', 'a ConvLSTMPredictor', predictor);
  if (options === null || typeof options !== 'object') throw typeError(fn, 'options', 'an object', options);
  const device = resolveDevice(fn, 'options.device', options.device, moduleDevice(predictor));
  const eps = episodesOf(fn, dataset);
  checkPixelData(fn, predictor, eps[0]);
  const { T, stride, burnIn } = windowOptions(fn, options, 'frames');
  const maxVal = options.maxValidationWindows ?? 64;
  if (!Number.isInteger(maxVal) || maxVal < 0) throw typeError(fn, 'options.maxValidationWindows', 'an integer >= 0', maxVal);
  if (options.scheduledSampling !== undefined && typeof options.scheduledSampling !== 'boolean') throw typeError(fn, 'options.scheduledSampling', 'a boolean', options.scheduledSampling);
  const sched: SamplingSchedule = options.samplingSchedule ?? { decay: 'linear', start: 1, end: 0.25 };
  if (options.scheduledSampling) pTrueAt(sched, 0, 1); // checks the schedule before any work
  if (moduleDevice(predictor) !== device) predictor.to(device);
  const { train, val } = splitEpisodes(eps, options.validationSplit ?? 0.1, T);
  const { refs, valRefs } = trainingWindows(fn, train, val, T, stride, maxVal);
  const seed = options.seed ?? 0;
  const coins = new Generator(seed).fork(23);
  const batchSize = options.batchSize ?? 32;
  const act = (a: Tensor) => (predictor.useActions ? a : null);
  const [C, H, W] = predictor.frameShape;
  return runLoop({
    kind: 'pixel_predictor',
    fn,
    config: { predictor: predictor.config(), seqLen: T },
    modules: { predictor },
    params: predictor,
    opts: Object.assign({}, options, { device }),
    numExamples: refs.length,
    rngs: { coins, model: predictor.generator },
    epochInfo(epoch, epochs) {
      return { pTrue: options.scheduledSampling ? pTrueAt(sched, epoch, epochs) : 1 };
    },
    trainStep(idx, info) {
      const w = gatherFrameWindows(train, idx.map((i) => refs[i]), T, device);
      return { loss: predictor.loss(w.frames, act(w.actions), { pTrue: info.pTrue ?? 1, rng: coins, burnIn }), logs: {} };
    },
    validate(): Logs {
      if (!valRefs.length) return {};
      let tf = 0, ol = 0;
      noGrad(() => {
        for (let i = 0; i < valRefs.length; i += batchSize) {
          const part = valRefs.slice(i, i + batchSize);
          tidy(() => {
            const w = gatherFrameWindows(val, part, T, device);
            tf += predictor.loss(w.frames, act(w.actions)).item() * part.length;
            const B = part.length;
            const pred = predictor.forwardScheduled(w.frames, act(w.actions), 0, new Generator(0), burnIn);
            ol += mseLoss(pred, w.frames.slice([0, 1, 0, 0, 0], [B, T - 1, C, H, W])).item() * B;
          });
        }
      });
      const open = ol / valRefs.length;
      return { valLoss: tf / valRefs.length, valOpenLoop: open, valOpenLoopFrameMse: open * C * H * W };
    },
    describeBatch(idx) {
      const show = idx.slice(0, 4).map((i) => `episode ${refs[i][0]} frames ${refs[i][1]}-${refs[i][1] + T - 1}`);
      return `${idx.length} windows: ${show.join(', ')}${idx.length > 4 ? ', ...' : ''}`;
    },
    restore(ck) {
      restoreModule(ck, 'predictor', predictor);
    },
  });
}
