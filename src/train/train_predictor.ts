/**
 * trainPredictor(predictor, vae, dataset, options): fits a latent predictor (the LSTM's
 * LatentPredictor or the LatentTransformer) on the latents of a frozen VAE, with the settings used
 * in the field as options:
 *
 *   const predictor = createPredictor(vae, { hiddenSize: 256, actionSize: 3, residualPrediction: true });
 *   const noActions = createPredictor(vae, { data: movingMnistEpisodes });  // useActions false, actionSize 0
 *   await trainPredictor(predictor, vae, episodes, {
 *     epochs: 40, batchSize: 4, lr: 1e-4, scheduledSampling: true, lrSchedule: 'cosine',
 *     inputNoiseStd: 0.01, targetJitterScale: 0.005, checkpointDir: 'runs/x/predictor' });
 *
 * The VAE is frozen; every frame is encoded once (z = mu, eval mode) and the latents cached, so
 * an epoch touches only the predictor. An example is a window of `seqLen` consecutive latents
 * with the actions taken at each; the loss is the latent MSE of the predictions of steps
 * 1..seqLen-1 (teacher forcing), or with scheduled sampling the probability pTrue of feeding
 * the true latent decays over epochs (samplingSchedule, default linear 1 -> 0.25), after a
 * burn-in of `burnIn` always-true inputs (default 0).
 * Validation every epoch: valLoss (teacher-forced latent MSE) and valOpenLoop (latent MSE when
 * the model feeds itself from the first latent of each held-out window, or after the burn-in).
 * options.device ('cpu' | 'cuda'; default: where the predictor is) moves the predictor there in
 * place, and the VAE too when it has to encode the frames; each batch of windows is uploaded
 * per step.
 */
import { ConvVAE } from '../models/conv_vae';
import { LatentPredictor, LatentPredictorOptions } from '../models/latent_predictor';
import { LatentTransformer, LatentTransformerOptions } from '../models/latent_transformer';
import { LatentSequenceModel, PredictorKind } from '../models/latent_sequence_model';
import { Tensor, shapeSize } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { mseLoss } from '../losses/index';
import { Generator } from '../random/generator';
import { checkInt, MAX_ELEMENTS, typeError, rangeError } from '../errors';
import { Episode, channelsOf, frameBytesOf } from '../data/episode';
import { CommonTrainOptions, Logs, TrainResult, runLoop } from './loop';
import { EpisodeSource, checkFramesFit, episodesOf, trainingWindows } from './data';
import { restoreModule } from './checkpoint';
import { SamplingSchedule, pTrueAt } from './sampling_schedule';
import { modelConfigOf, rememberConfig } from './train_vae';
import { Device, moduleDevice, resolveDevice } from './device';
import { RemedyOptions, RemedyTerms, checkRemedyOptions, remediesActive, remedyConfig } from './remedy_terms';

/** The latents of one episode: z [length, D] (the VAE's mu) and actions [length, A]. */
export interface LatentEpisode {
  length: number;
  latentSize: number;
  z: Float32Array;
  actionDim: number;
  actions: Float32Array;
}

/** Encodes every frame of `episodes` with the VAE (eval mode, no gradients, z = mu). */
export function encodeEpisodes(vae: ConvVAE, episodes: Episode[], batchSize = 64): LatentEpisode[] {
  const D = shapeSize(vae.latentShape);
  const wasTraining = vae.training;
  vae.eval();
  try {
    return episodes.map((ep) => {
      const z = new Float32Array(ep.length * D);
      const n = frameBytesOf(ep);
      noGrad(() => {
        for (let t = 0; t < ep.length; t += batchSize) {
          const m = Math.min(batchSize, ep.length - t);
          tidy(() => {
            const x = new Tensor([m, ep.height, ep.width, channelsOf(ep)], 'uint8', ep.frames.subarray(t * n, (t + m) * n));
            const mu = vae.encode(x).mu;
            z.set(mu.hostF32('trainPredictor'), t * D); // a VAE on any device
          });
        }
      });
      return { length: ep.length, latentSize: D, z, actionDim: ep.actionDim, actions: ep.actions };
    });
  } finally {
    vae.train(wasTraining);
  }
}

/** z [B,T,...latentShape] and a [B,T,A] of the windows starting at `refs`. */
export function gatherWindows(lat: LatentEpisode[], refs: [number, number][], T: number, latentShape: number[]): { z: Tensor; a: Tensor } {
  const D = lat[0].latentSize;
  const A = lat[0].actionDim;
  const z = Tensor.empty([refs.length, T, ...latentShape]);
  const a = Tensor.empty([refs.length, T, Math.max(A, 0)]);
  const zd = z._data as Float32Array;
  const ad = a._data as Float32Array;
  refs.forEach(([e, t0], b) => {
    zd.set(lat[e].z.subarray(t0 * D, (t0 + T) * D), b * T * D);
    if (A) ad.set(lat[e].actions.subarray(t0 * A, (t0 + T) * A), b * T * A);
  });
  return { z, a };
}

export interface PredictorModelOptions {
  /** 'lstm' (default: LatentPredictor) or 'transformer' (LatentTransformer). */
  predictor?: PredictorKind;
  /** The LSTM's hidden size (default 256), or the Transformer's token width (default 128). */
  hiddenSize?: number;
  /** LSTM layers (default 1) or Transformer blocks (default 2). */
  numLayers?: number;
  /** Transformer: attention heads (default 4; must divide hiddenSize). */
  numHeads?: number;
  /** Transformer: frames with a learned position (default 32; at least seqLen - 1). */
  maxFrames?: number;
  residualPrediction?: boolean;
  /**
   * Feed the actions to the LSTM. Default: from `data` when given (on when its episodes carry
   * actions, off for action-free data such as Moving MNIST), else off when actionSize is 0 and
   * on otherwise.
   */
  useActions?: boolean;
  /**
   * Action values per frame. Default: the episodes' actionDim when `data` is given, else 3 (the
   * driving simulator's [steer, gas, brake]). A predictor without actions has actionSize 0,
   * whatever is given here: it has no action input.
   */
  actionSize?: number;
  inputNoiseStd?: number;
  targetJitterScale?: number;
  seed?: number;
  /** createPredictor: the device to build it on (default: the VAE's device when given a ConvVAE, else 'cpu'). */
  device?: Device;
}

export interface CreatePredictorOptions extends PredictorModelOptions {
  /** The episodes it will be trained on, to derive useActions and actionSize from (not kept). */
  data?: EpisodeSource;
}

/**
 * A latent predictor for `vae`'s latents, built from the seed's flag names; its options are
 * remembered for checkpoints. `predictor` picks the kind: 'lstm' (LatentPredictor, default:
 * hiddenSize 256, numLayers 1) or 'transformer' (LatentTransformer: hiddenSize 128 is the token
 * width, numLayers 2 blocks, numHeads 4, maxFrames 32). Both: residualPrediction true, no input
 * noise or target jitter, seed 0; useActions and actionSize as documented on
 * PredictorModelOptions (from `data` when given).
 */
export function createPredictor(vae: ConvVAE | { latentShape: number[] }, o: CreatePredictorOptions = {}): LatentSequenceModel {
  const fn = 'createPredictor';
  if (!vae || typeof vae !== 'object' || !Array.isArray(vae.latentShape))
    throw typeError(fn, 'vae', 'a ConvVAE (or { latentShape })', vae);
  if (o === null || typeof o !== 'object') throw typeError(fn, 'options', 'an object', o);
  const kind = o.predictor ?? 'lstm';
  if (kind !== 'lstm' && kind !== 'transformer') throw typeError(fn, 'predictor', "'lstm' or 'transformer'", o.predictor);
  // Limits before anything is allocated: 4 x hiddenSize^2 weights must fit one tensor (MAX_ELEMENTS).
  const H = checkInt(fn, 'hiddenSize', o.hiddenSize ?? (kind === 'lstm' ? 256 : 128), 1, Math.floor(Math.sqrt(MAX_ELEMENTS / 4)));
  if (o.actionSize !== undefined) checkInt(fn, 'actionSize', o.actionSize, 0, 1 << 16);
  if (o.useActions !== undefined && typeof o.useActions !== 'boolean') throw typeError(fn, 'useActions', 'a boolean', o.useActions);
  if (kind === 'lstm')
    for (const k of ['numHeads', 'maxFrames'] as const)
      if (o[k] !== undefined) throw rangeError(fn, `options.${k} is a Transformer option; set predictor: 'transformer' or leave it out`);
  // Defaults from the data when given: action-free episodes (Moving MNIST) make an action-free
  // predictor, instead of one expecting the simulator's 3 action values.
  const dataActions = o.data === undefined ? undefined : episodesOf(fn, o.data)[0].actionDim;
  const given = o.actionSize ?? dataActions ?? 3;
  const useActions = (o.useActions ?? given > 0) && given > 0;
  if (useActions && dataActions !== undefined && dataActions !== given)
    throw rangeError(fn, `actionSize is ${given} but the episodes of options.data have ${dataActions} action values per frame`);
  if (o.useActions === true && dataActions === 0)
    throw rangeError(fn, 'useActions is true but the episodes of options.data carry no actions (actionDim 0); leave useActions unset or false');
  // No action input without actions: actionSize reads 0, so code sizing action arrays from it
  // (rollouts, evaluation) asks for none.
  const A = useActions ? given : 0;
  const L = checkInt(fn, 'numLayers', o.numLayers ?? (kind === 'lstm' ? 1 : 2), 1, 64);
  if (kind === 'lstm' && 4 * H * (shapeSize(vae.latentShape) + A) > MAX_ELEMENTS)
    throw new RangeError(`createPredictor: hiddenSize ${H} with a latent of ${shapeSize(vae.latentShape)} values makes a weight of 4 x ${H} x ${shapeSize(vae.latentShape) + A} elements, more than ${MAX_ELEMENTS}`);
  const common = {
    latentShape: vae.latentShape.slice(),
    actionSize: A,
    hiddenSize: H,
    numLayers: L,
    residual: o.residualPrediction ?? true,
    useActions,
    inputNoiseStd: o.inputNoiseStd ?? 0,
    targetJitterScale: o.targetJitterScale ?? 0,
    seed: o.seed ?? 0,
  };
  const dv = resolveDevice(fn, 'device', o.device, vae instanceof ConvVAE ? moduleDevice(vae) : 'cpu');
  let p: LatentSequenceModel;
  if (kind === 'lstm') {
    const opts: LatentPredictorOptions = common;
    p = new LatentPredictor(opts);
    rememberConfig(p, { ...opts });
  } else {
    const opts: LatentTransformerOptions & { kind: 'transformer' } = { kind: 'transformer', ...common, numHeads: o.numHeads ?? 4, maxFrames: o.maxFrames ?? 32 };
    p = new LatentTransformer(opts);
    rememberConfig(p, { ...opts });
  }
  p.to(dv);
  return p;
}

/** The config saved with a predictor's checkpoints; `kind` absent means 'lstm' (the checkpoints before the Transformer). */
export type PredictorConfig = (LatentPredictorOptions & { kind?: 'lstm' }) | (LatentTransformerOptions & { kind: 'transformer' });

/** The options that rebuild `p` (from createPredictor, or read off its fields). */
export function predictorConfigOf(p: LatentSequenceModel): PredictorConfig {
  const saved = modelConfigOf(p) as unknown as PredictorConfig | undefined;
  if (saved) return saved;
  const common = {
    latentShape: p.latentShape,
    actionSize: p.actionSize,
    hiddenSize: p.hiddenSize,
    numLayers: p.numLayers,
    residual: p.residual,
    useActions: p.useActions,
    inputNoiseStd: p.inputNoiseStd,
    targetJitterScale: p.targetJitterScale,
  };
  if (p instanceof LatentTransformer) return { kind: 'transformer', ...common, numHeads: p.numHeads, mlpRatio: p.mlpRatio, maxFrames: p.maxFrames };
  return common;
}

/** Builds the predictor a checkpoint's config describes (throws what the constructor throws). */
export function predictorFromConfig(cfg: PredictorConfig): LatentSequenceModel {
  const kind = (cfg as { kind?: unknown }).kind ?? 'lstm';
  if (kind === 'transformer') return new LatentTransformer(cfg as LatentTransformerOptions);
  if (kind === 'lstm') return new LatentPredictor(cfg as LatentPredictorOptions);
  if (kind === 'convlstm') throw rangeError('predictorFromConfig', "config.kind is 'convlstm': a pixel-space ConvLSTMPredictor, not a latent predictor (load it with loadPixelPredictor)");
  throw typeError('predictorFromConfig', 'config.kind', "'lstm' or 'transformer'", kind);
}

/**
 * The remedies (RemedyOptions: perceptualWeight, adversarialWeight, classificationWeight, ...; see
 * src/train/remedy_terms.ts and docs/remedies.md) add loss terms on the predictions; the VAE stays
 * frozen (its decoder is used, not trained).
 */
export interface TrainPredictorOptions extends CommonTrainOptions, PredictorModelOptions, RemedyOptions {
  /** Window length in frames (default 16). */
  seqLen?: number;
  /**
   * Frames between window starts (default seqLen / 2). When the stride leaves an episode's last
   * frames outside every window, a final window aligned to the episode's end is added, so every
   * frame is trained (20-frame sequences, seqLen 16, stride 8: windows at 0 and 4, frames 16-19
   * included). Validation windows (seqLen apart) end the same way.
   */
  windowStride?: number;
  /** Scheduled sampling on (default false: teacher forcing). */
  scheduledSampling?: boolean;
  /** Decay of pTrue over epochs (default linear from 1 to 0.25). */
  samplingSchedule?: SamplingSchedule;
  /**
   * Scheduled sampling's burn-in: the first burnIn inputs of every window are always the true
   * latents (the context of a k -> n protocol), pTrue applies only to the later ones; also
   * valOpenLoop free-runs only after them. In [0, seqLen - 1]; default 0 (0 and 1 are the same:
   * the first input is always true); seqLen - 1 is teacher forcing.
   */
  burnIn?: number;
  /** Latents already encoded (skips the encoding pass; must match the dataset's episodes). */
  latents?: LatentEpisode[];
  /** Called after the latents are encoded, with the time it took. */
  onLatentsEncoded?(latents: LatentEpisode[], ms: number): void;
  /** Held-out windows used for validation at most (default 256). */
  maxValidationWindows?: number;
}

/** The model options a trainer was given must be those the predictor was built with, and its latent the VAE's. */
export function checkPredictorMatches(fn: string, predictor: LatentSequenceModel, vae: ConvVAE, options: PredictorModelOptions): void {
  if (predictor.latentShape.join(',') !== vae.latentShape.join(','))
    throw rangeError(fn, `the predictor's latent [${predictor.latentShape}] differs from the VAE's [${vae.latentShape}]`);
  if (options.hiddenSize !== undefined && options.hiddenSize !== predictor.hiddenSize)
    throw rangeError(fn, `options.hiddenSize is ${options.hiddenSize} but the predictor was built with ${predictor.hiddenSize} (build it with createPredictor)`);
  if (options.residualPrediction !== undefined && options.residualPrediction !== predictor.residual)
    throw rangeError(fn, `options.residualPrediction is ${options.residualPrediction} but the predictor was built with residual ${predictor.residual}`);
  if (options.useActions !== undefined && options.useActions !== predictor.useActions)
    throw rangeError(fn, `options.useActions is ${options.useActions} but the predictor was built with useActions ${predictor.useActions}`);
  if (options.predictor !== undefined && options.predictor !== predictor.kind)
    throw rangeError(fn, `options.predictor is '${options.predictor}' but the predictor is a${predictor.kind === 'lstm' ? 'n' : ''} '${predictor.kind}' (build it with createPredictor)`);
}

/** seqLen (default 16), windowStride (default seqLen / 2) and burnIn (default 0), checked; `unit` names what a window holds. */
export function windowOptions(fn: string, options: { seqLen?: number; windowStride?: number; burnIn?: number }, unit: 'latents' | 'frames'): { T: number; stride: number; burnIn: number } {
  const T = options.seqLen ?? 16;
  if (!Number.isInteger(T) || T < 2) throw typeError(fn, 'options.seqLen', 'an integer >= 2', T);
  const stride = options.windowStride ?? Math.max(1, Math.floor(T / 2));
  if (!Number.isInteger(stride) || stride < 1) throw typeError(fn, 'options.windowStride', 'an integer >= 1', options.windowStride);
  const burnIn = options.burnIn ?? 0;
  if (!Number.isInteger(burnIn) || burnIn < 0) throw typeError(fn, 'options.burnIn', 'an integer >= 0', options.burnIn);
  if (burnIn > T - 1) throw rangeError(fn, `options.burnIn must be in [0, seqLen - 1] = [0, ${T - 1}] (the inputs of a window of ${T} ${unit}), got ${burnIn}`);
  return { T, stride, burnIn };
}

export async function trainPredictor(predictor: LatentSequenceModel, vae: ConvVAE, dataset: EpisodeSource, options: TrainPredictorOptions = {}): Promise<TrainResult> {
  const fn = 'trainPredictor';
  if (!(predictor instanceof LatentSequenceModel)) throw new TypeError(`${fn}: predictor must be a latent predictor (LatentPredictor or LatentTransformer: createPredictor / loadPredictor)`);
  if (!(vae instanceof ConvVAE)) throw new TypeError(`${fn}: vae must be a ConvVAE`);
  checkPredictorMatches(fn, predictor, vae, options);
  const device = resolveDevice(fn, 'options.device', options.device, moduleDevice(predictor));
  if (options.inputNoiseStd !== undefined) predictor.inputNoiseStd = options.inputNoiseStd;
  if (options.targetJitterScale !== undefined) predictor.targetJitterScale = options.targetJitterScale;
  const eps = episodesOf(fn, dataset);
  if (!options.latents) checkFramesFit(fn, eps[0], vae.inputShape);
  if (predictor.useActions && eps[0].actionDim !== predictor.actionSize)
    throw rangeError(fn, `the episodes have ${eps[0].actionDim} action values per frame, the predictor expects ${predictor.actionSize} (build it with createPredictor(vae, { data }) to take both from the episodes${eps[0].actionDim === 0 ? ', or useActions: false' : ''})`);
  // Checked before encoding: a stride of 0 used to loop forever growing the window list.
  const { T, stride, burnIn } = windowOptions(fn, options, 'latents');
  if (predictor instanceof LatentTransformer && T - 1 > predictor.maxFrames)
    throw rangeError(fn, `options.seqLen ${T} gives windows of ${T - 1} input frames, more than the Transformer's maxFrames ${predictor.maxFrames} (build it with a larger maxFrames, or lower seqLen)`);
  const maxValWindows = options.maxValidationWindows ?? 256;
  if (!Number.isInteger(maxValWindows) || maxValWindows < 0) throw typeError(fn, 'options.maxValidationWindows', 'an integer >= 0', maxValWindows);
  vae.freeze();
  vae.eval();
  checkRemedyOptions(fn, options); // also when every weight is 0: a mistyped option is still an error
  const withRemedies = remediesActive(options);
  if (withRemedies) checkFramesFit(fn, eps[0], vae.inputShape);
  // the frames are encoded on the device; the remedies decode predictions there
  if ((!options.latents || withRemedies) && moduleDevice(vae) !== device) vae.to(device);
  if (moduleDevice(predictor) !== device) predictor.to(device);
  const onDevice = (t: Tensor): Tensor => t.to(device); // itself when already there
  const t0 = performance.now();
  if (options.latents !== undefined) checkLatents(fn, options.latents, eps, shapeSize(vae.latentShape));
  const lat = options.latents ?? encodeEpisodes(vae, eps);
  options.onLatentsEncoded?.(lat, performance.now() - t0);
  const { train: trainLat, val: valLat } = splitLatents(lat, options.validationSplit ?? 0.1, T);
  const { refs, valRefs } = trainingWindows(fn, trainLat, valLat, T, stride, maxValWindows);
  const seed = options.seed ?? 0;
  const coins = new Generator(seed).fork(23);
  const sched: SamplingSchedule = options.samplingSchedule ?? { decay: 'linear', start: 1, end: 0.25 };
  const cfg = predictorConfigOf(predictor);
  const batchSize = options.batchSize ?? 32;
  // Training windows index `eps` too: the training split is the first episodes (or the first part of a single one).
  const remedies = withRemedies ? new RemedyTerms(fn, vae, predictor.latentShape, predictor.actionSize, eps, trainLat, options, seed, device) : null;
  try {
    return await runLoop({
      kind: 'predictor',
      fn,
      config: {
        predictor: { ...cfg, inputNoiseStd: predictor.inputNoiseStd, targetJitterScale: predictor.targetJitterScale },
        vae: modelConfigOf(vae) ?? {},
        seqLen: T,
        ...(remedies ? { remedies: { ...remedyConfig(options), classifierAccuracy: remedies.classifierAccuracy ?? undefined } } : {}),
      },
      modules: { predictor, ...(remedies?.modules ?? {}) },
      params: predictor,
      // latents and the probe (a model) are not copied into the checkpoints' config
      opts: Object.assign({}, options, { device, latents: undefined, probe: undefined }),
      numExamples: refs.length,
      rngs: { coins, model: predictor.generator, ...(remedies ? { remedies: remedies.generator } : {}) },
      ...(remedies ? { extraOptimizers: remedies.extraOptimizers, epochEnd: (e: number, l: Logs, note: (m: string) => void) => remedies.epochEnd(e, l, note) } : {}),
      epochInfo(epoch, epochs) {
        return { pTrue: options.scheduledSampling ? pTrueAt(sched, epoch, epochs) : 1 };
      },
      trainStep(idx, info, ctx) {
        const wRefs = idx.map((i) => refs[i]);
        const w = gatherWindows(trainLat, wRefs, T, predictor.latentShape);
        const z = onDevice(w.z), a = onDevice(w.a);
        const lopts = { pTrue: info.pTrue ?? 1, rng: coins, burnIn };
        if (!remedies) return { loss: predictor.loss(z, predictor.useActions ? a : null, lopts), logs: {} };
        const { loss, pred } = predictor.lossAndPredictions(z, predictor.useActions ? a : null, lopts);
        const extra = remedies.step({ z: z.reshape(idx.length, T, predictor.latentSize), a: predictor.useActions ? a : null, pred, refs: wRefs, note: ctx.note });
        return { loss: extra.loss ? loss.add(extra.loss) : loss, logs: { latent: loss.item(), ...extra.logs } };
      },
      validate(): Logs {
        if (!valRefs.length) return {};
        let tf = 0, ol = 0;
        noGrad(() => {
          for (let i = 0; i < valRefs.length; i += batchSize) {
            const part = valRefs.slice(i, i + batchSize);
            tidy(() => {
              const w = gatherWindows(valLat, part, T, predictor.latentShape);
              const z = onDevice(w.z), a = onDevice(w.a);
              const act = predictor.useActions ? a : null;
              tf += predictor.loss(z, act).item() * part.length;
              const B = part.length;
              const pred = predictor.forwardScheduled(z, act, 0, new Generator(0), burnIn);
              const target = z.reshape(B, T, predictor.latentSize).slice([0, 1, 0], [B, T - 1, predictor.latentSize]);
              ol += mseLoss(pred.reshape(B, T - 1, predictor.latentSize), target).item() * B;
            });
          }
        });
        return { valLoss: tf / valRefs.length, valOpenLoop: ol / valRefs.length };
      },
      describeBatch(idx) {
        const show = idx.slice(0, 4).map((i) => {
          const [e, t0] = refs[i];
          return `episode ${e} frames ${t0}-${t0 + T - 1}`;
        });
        return `${idx.length} windows: ${show.join(', ')}${idx.length > 4 ? ', ...' : ''}`;
      },
      restore(ck) {
        restoreModule(ck, 'predictor', predictor);
        remedies?.restore(ck);
      },
    });
  } finally {
    remedies?.dispose(); // in the checkpoints; on 'cuda' their memory is not garbage-collected
  }
}

/**
 * Given latents must be the dataset's episodes encoded by this VAE: one entry per episode, the
 * same lengths and actions, latentSize values per frame, all finite. (Latents of the wrong size
 * used to be accepted and read past their frames.)
 */
function checkLatents(fn: string, lat: unknown, eps: Episode[], D: number): void {
  if (!Array.isArray(lat)) throw typeError(fn, 'options.latents', 'an array of LatentEpisode (from encodeEpisodes)', lat);
  if (lat.length !== eps.length) throw rangeError(fn, `options.latents has ${lat.length} episodes, the dataset ${eps.length}`);
  lat.forEach((l: LatentEpisode, i) => {
    const arg = `options.latents[${i}]`;
    if (!l || typeof l !== 'object' || !(l.z instanceof Float32Array) || !(l.actions instanceof Float32Array))
      throw typeError(fn, arg, 'a LatentEpisode { length, latentSize, z: Float32Array, actionDim, actions: Float32Array }', l);
    const e = eps[i];
    if (l.latentSize !== D) throw rangeError(fn, `${arg}.latentSize must be the VAE's ${D}, got ${l.latentSize}`);
    if (l.length !== e.length) throw rangeError(fn, `${arg}.length must be dataset episode ${i}'s ${e.length}, got ${l.length}`);
    if (l.z.length !== e.length * D) throw rangeError(fn, `${arg}.z must have length x latentSize = ${e.length}x${D} = ${e.length * D} values, got ${l.z.length}`);
    if (l.actionDim !== e.actionDim || l.actions.length !== e.length * e.actionDim)
      throw rangeError(fn, `${arg}.actions must be dataset episode ${i}'s ${e.length}x${e.actionDim}, got ${l.actions.length} values of width ${l.actionDim}`);
    for (let k = 0; k < l.z.length; ++k)
      if (!Number.isFinite(l.z[k])) throw rangeError(fn, `${arg}.z[${Math.floor(k / D)}][${k % D}] is ${l.z[k]} (non-finite)`);
  });
}

/** The split of splitEpisodes (last episodes held out; one episode is cut in time) on latents. */
export function splitLatents(lat: LatentEpisode[], split: number, minLen: number): { train: LatentEpisode[]; val: LatentEpisode[] } {
  if (split <= 0) return { train: lat, val: [] };
  if (lat.length >= 2) {
    const nVal = Math.min(lat.length - 1, Math.max(1, Math.round(lat.length * split)));
    return { train: lat.slice(0, lat.length - nVal), val: lat.slice(lat.length - nVal) };
  }
  const e = lat[0];
  const cut = Math.max(minLen, Math.min(e.length - minLen, Math.round(e.length * (1 - split))));
  if (cut >= e.length || cut < minLen) return { train: lat, val: [] };
  const part = (from: number, to: number): LatentEpisode => ({
    length: to - from,
    latentSize: e.latentSize,
    z: e.z.subarray(from * e.latentSize, to * e.latentSize),
    actionDim: e.actionDim,
    actions: e.actions.subarray(from * e.actionDim, to * e.actionDim),
  });
  return { train: [part(0, cut)], val: [part(cut, e.length)] };
}
