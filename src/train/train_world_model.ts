/**
 * trainWorldModel(vae, predictor, dataset, options): end-to-end joint training of the VAE
 * (encoder and decoder) and the latent predictor on windows of frames (issue 12):
 *
 *   const vae = loadVAE('runs/x/vae');                       // usually a trained VAE to start from
 *   const predictor = createPredictor(vae, { data: episodes, hiddenSize: 256 });
 *   await trainWorldModel(vae, predictor, episodes, {
 *     epochs: 10, batchSize: 4, lr: 1e-4, vaeLr: 1e-5, seqLen: 16, scheduledSampling: true,
 *     pixelWeight: 1, freeze: ['encoder'], checkpointDir: 'runs/x/world_model' });
 *
 * Unlike trainPredictor (a frozen VAE, latents cached once), every step encodes the frames of
 * its windows with gradients, so the prediction losses shape the latent space too. An example
 * is a window of `seqLen` frames (uint8, gathered per step) with the actions taken at each.
 * The objective of a batch of B windows of T frames:
 *
 *   reconWeight * (recon + beta * KL)      the VAE's own loss on all B*T frames (reparameterized
 *                                          z, the VAE's reconLoss and freeBits, see ConvVAE)
 * + latent                                 the predictor's latent MSE of steps 1..T-1 vs the
 *                                          encoder's mu of the next frames (teacher forcing, or
 *                                          scheduled sampling with samplingSchedule / burnIn
 *                                          exactly as trainPredictor takes them)
 * + pixelWeight * pixel                    the predicted latents decoded and compared with the
 *                                          real next frames, measured as the VAE measures its
 *                                          reconstructions (reconLoss 'mse': squared error summed
 *                                          over a frame's pixels, mean over frames; 'bce': BCE
 *                                          likewise); the free-running steps of scheduled
 *                                          sampling are decoded too, so multi-step errors reach
 *                                          the decoder and the predictor in pixel space
 * (+ the remedies: perceptualWeight, adversarialWeight, classificationWeight, see below)
 *
 * Choices, and why:
 * - The predictor reads the encoder's mu (not a sample), as trainPredictor's cached latents; only
 *   the reconstruction uses the reparameterized z.
 * - The latent targets (the next frames' mu) are stop-gradient. With gradients on both sides the
 *   encoder could lower the latent MSE by shrinking or merging the latents (a collapse the
 *   reconstruction only partly resists); detached, the encoder is moved by the prediction loss
 *   only through the predictor's inputs, and the pixel term ties the predictions to real frames.
 * - pixelWeight 1 weighs a predicted frame like a reconstructed one. Both are per-frame sums over
 *   pixels, so they are far larger than the latent MSE (a mean over latent values): with
 *   pixelWeight > 0 the predictor is trained mostly through the decoder; set pixelWeight 0 for
 *   the latent objective alone.
 * - reconWeight scales the VAE's whole objective (recon + beta * KL), so beta keeps its meaning;
 *   reconWeight 0 skips the reconstruction pass (the decoder then learns only from predictions).
 * - Optimizers: the predictor's parameters are the loop's main optimizer (lr, the schedule); the
 *   VAE's are an extraOptimizers 'follow' entry named 'vae' at vaeLr (default lr / 10: the VAE is
 *   usually pretrained and is fine-tuned more gently), scaled by the same schedule. Both use
 *   options.optimizer and weightDecay.
 * - freeze: any of 'encoder' (encoder convs and the mu/logvar heads), 'decoder' (decoder_in and
 *   the transposed convs), 'predictor'. Frozen parts get no gradient and no update; the other
 *   parts are unfrozen (a VAE that trainPredictor froze is trained again here). The flags stay
 *   as set after the call. Freezing everything is an error.
 *
 * Validation every epoch on held-out windows (seqLen apart, at most maxValidationWindows, default
 * 64), in eval mode (z = mu, no input noise or jitter): valLoss is the objective above with
 * teacher forcing; valRecon, valKl, valLatent (teacher-forced latent MSE), valPixel (its pixel
 * term), valOpenLoop (latent MSE when the predictor feeds itself after the burn-in, as
 * trainPredictor's) and valPixelMse (per-pixel MSE, in [0,1]^2 units, of the decoded open-loop
 * predictions vs the real frames).
 *
 * Checkpoints (kind 'world_model') hold both modules ('vae.*' and 'predictor.*' weights, config.vae
 * and config.predictor), so loadVAE and loadPredictor open a run folder of this trainer directly;
 * the VAE's optimizer is optimizer.vae.safetensors. Resume is bit-identical (the loop's contract);
 * a resumed run takes vaeLr, freeze, reconWeight, pixelWeight, optimizer and weightDecay from
 * the checkpoint when they are not given, and refuses a different freeze list (the optimizers
 * would hold other parameters).
 *
 * The remedies take the options trainPredictor takes (RemedyOptions, src/train/remedy_terms.ts,
 * docs/remedies.md) and the same RemedyTerms compute them on every training step's predictions;
 * here their gradients also reach the decoder (the perceptual and pixel-classification terms
 * decode predictions) and, through the predictor's inputs, the encoder, unless frozen. In
 * end-to-end training:
 * - the discriminator sees the encoder's means detached (its own update must not train the
 *   encoder; the predictor, and through it the encoder, still get the generator's term);
 * - the latent classifier (classificationOn 'latent') is fitted on the starting VAE's latents as
 *   in trainPredictor and then, while the encoder trains, keeps learning: one Adam step (lr 1e-3,
 *   its own optimizer 'classifier', checkpointed) per training step on the batch's real latents
 *   (detached) and labels, before the predictions are judged (logged as classifierFit); the
 *   predictions' cross-entropy does not update it. With the encoder frozen it stays fixed;
 * - perceptualNetwork 'encoder' needs freeze to include 'encoder': a judge trained on its own
 *   verdicts could lower the loss by changing its features instead of the predictions.
 * valLoss leaves the remedy terms out (they draw seeded subsets and update a discriminator).
 * `extraTerms` adds any other term (a function of the step's tensors); its gradients flow the
 * same way.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConvVAE } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import { Module } from '../nn/module';
import type { LatentClassifier } from '../models/latent_classifier';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { add, mul, sigmoid } from '../ops/elementwise';
import { addNoise } from '../ops/predictor_unroll';
import { slice } from '../ops/shape';
import { bceWithLogits, klDivergenceNormal, mseLoss } from '../losses/index';
import { Generator } from '../random/generator';
import { checkInt, rangeError, typeError } from '../errors';
import { Episode } from '../data/episode';
import { Logs, StepContext, TrainResult, makeOptimizer, runLoop } from './loop';
import { RemedyTerms, checkRemedyOptions, remediesActive, remedyConfig } from './remedy_terms';
import { multiHeadCrossEntropy } from '../losses/remedies';
import { Adam } from '../optim/adam';
import type { Optimizer } from '../optim/optimizer';
import { EpisodeSource, checkFramesFit, episodesOf, gatherFrames, splitEpisodes, trainingWindows } from './data';
import { CheckpointError, latestCheckpoint, restoreModule } from './checkpoint';
import { pTrueAt, SamplingSchedule } from './sampling_schedule';
import { modelConfigOf } from './train_vae';
import { TrainPredictorOptions, encodeEpisodes, predictorConfigOf, checkPredictorMatches, windowOptions } from './train_predictor';
import { moduleDevice, resolveDevice } from './device';

export type WorldModelPart = 'encoder' | 'decoder' | 'predictor';
const PARTS: readonly WorldModelPart[] = ['encoder', 'decoder', 'predictor'];

/** What an extra loss term sees of a training step (all on the training device). */
export interface WorldModelStepTensors {
  vae: ConvVAE;
  predictor: LatentSequenceModel;
  /** The windows' B and T. */
  batch: number;
  seqLen: number;
  /** Encoder means of every frame [B,T,...latent] (with gradient unless the encoder is frozen). */
  mu: Tensor;
  /** The predictions of steps 1..T-1 [B,T-1,...latent] and their (detached) targets. */
  predLatents: Tensor;
  targetLatents: Tensor;
  /** Actions [B,T,A] (A may be 0). */
  actions: Tensor;
  /** The predictions decoded, [B*(T-1),C,H,W] in [0,1] (null when pixelWeight is 0), and the real next frames. */
  predImages: Tensor | null;
  realImages: Tensor;
  /** The windows (episode, first frame) of the batch, and whether this is training (false: validation). */
  windows: [number, number][];
  training: boolean;
}

export interface TrainWorldModelOptions extends Omit<TrainPredictorOptions, 'latents' | 'onLatentsEncoded'> {
  /** The VAE's base learning rate (default lr / 10), scaled by the main schedule's factor. */
  vaeLr?: number;
  /** Parts that are not trained (default none). */
  freeze?: WorldModelPart[];
  /** Weight of the VAE's objective recon + beta * KL (default 1; 0 skips the reconstruction). */
  reconWeight?: number;
  /** Weight of the decoded predictions' pixel loss (default 1; 0 skips decoding the predictions). */
  pixelWeight?: number;
  /**
   * More loss terms (the remedies of issue 12): called in every training step and validation
   * batch; each returned term is added to the objective and its value logged under its name
   * (validation: as val<Name>). Draws it makes must come from generators it checkpoints itself.
   */
  extraTerms?: (t: WorldModelStepTensors) => Record<string, Tensor>;
}

/** The VAE and the predictor as one module (the loop's params; 'vae.*' and 'predictor.*' names). */
class WorldModelModules extends Module {
  constructor(readonly vae: ConvVAE, readonly predictor: LatentSequenceModel) {
    super();
    this.registerModule('vae', vae);
    this.registerModule('predictor', predictor);
  }
  forward(): never {
    throw new Error('WorldModelModules: a container of the VAE and the predictor; call their own methods');
  }
}

/** The VAE's modules by part (every parameter of the VAE is in exactly one). */
function vaeParts(vae: ConvVAE): Record<'encoder' | 'decoder', Module[]> {
  return { encoder: [vae.encoder, vae.muHead, vae.logvarHead], decoder: [vae.decoderIn, vae.decoder] };
}

/** A checkpoint's saved training options (state.json's config.training), read without loading weights; {} when unreadable (the loop reports that). */
function savedTraining(o: TrainWorldModelOptions): Record<string, unknown> {
  if (!o.resume) return {};
  try {
    const from = typeof o.resume === 'string' ? o.resume : o.checkpointDir;
    if (!from) return {};
    const ck = fs.existsSync(path.join(from, 'state.json')) ? from : latestCheckpoint(from);
    if (!ck) return {};
    const s = JSON.parse(fs.readFileSync(path.join(ck, 'state.json'), 'utf8'));
    const t = s?.config?.training;
    return t && typeof t === 'object' ? t : {};
  } catch {
    return {};
  }
}

function checkWeight(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw typeError(fn, `options.${arg}`, 'a finite number >= 0', v);
  return v;
}

/** The windows' actions [B,T,A] (A = the episodes' actionDim, possibly 0). */
function gatherActions(eps: Episode[], wins: [number, number][], T: number): Tensor {
  const A = eps[0].actionDim;
  const a = Tensor.empty([wins.length, T, A]);
  const ad = a._data as Float32Array;
  if (A) wins.forEach(([e, t0], b) => ad.set(eps[e].actions.subarray(t0 * A, (t0 + T) * A), b * T * A));
  return a;
}

/** The VAE's reconstruction measure: per-frame sum over pixels, mean over frames (ConvVAE.loss's recon). */
function pixelLoss(vae: ConvVAE, logits: Tensor, images: Tensor, sigmoidOut: () => Tensor): Tensor {
  const N = images.shape[0];
  return vae.reconLoss === 'mse' ? mul(mseLoss(sigmoidOut(), images, 'sum'), 1 / N) : mul(bceWithLogits(logits, images, 'sum'), 1 / N);
}

export async function trainWorldModel(vae: ConvVAE, predictor: LatentSequenceModel, dataset: EpisodeSource, options: TrainWorldModelOptions = {}): Promise<TrainResult> {
  const fn = 'trainWorldModel';
  if (!(vae instanceof ConvVAE)) throw typeError(fn, 'vae', 'a ConvVAE (createVAE / loadVAE)', vae);
  if (!(predictor instanceof LatentSequenceModel)) throw typeError(fn, 'predictor', 'a latent predictor (createPredictor / loadPredictor)', predictor);
  if (options === null || typeof options !== 'object') throw typeError(fn, 'options', 'an object', options);
  checkPredictorMatches(fn, predictor, vae, options);
  if ('latents' in options && (options as { latents?: unknown }).latents !== undefined)
    throw rangeError(fn, 'options.latents cannot be used: end-to-end training encodes the frames at every step (the latents change as the encoder trains)');
  const device = resolveDevice(fn, 'options.device', options.device, moduleDevice(predictor));

  // Options a resumed run continues with when not given (the optimizers must hold the same parameters).
  const saved = savedTraining(options);
  const freeze = (options.freeze ?? (Array.isArray(saved.freeze) ? saved.freeze : [])) as WorldModelPart[];
  if (!Array.isArray(freeze) || freeze.some((p) => !PARTS.includes(p)))
    throw typeError(fn, 'options.freeze', "an array of 'encoder', 'decoder', 'predictor'", options.freeze);
  if (new Set(freeze).size === PARTS.length) throw rangeError(fn, "options.freeze names every part ('encoder', 'decoder', 'predictor'): nothing would be trained");
  const num = (k: string, d: number) => (typeof saved[k] === 'number' ? (saved[k] as number) : d);
  const reconWeight = checkWeight(fn, 'reconWeight', options.reconWeight ?? num('reconWeight', 1));
  const pixelWeight = checkWeight(fn, 'pixelWeight', options.pixelWeight ?? num('pixelWeight', 1));
  const lr = options.lr ?? num('lr', 1e-3);
  const vaeLr = options.vaeLr ?? num('vaeLr', lr / 10);
  if (typeof vaeLr !== 'number' || !Number.isFinite(vaeLr) || vaeLr < 0) throw typeError(fn, 'options.vaeLr', 'a finite number >= 0', options.vaeLr);
  if (options.extraTerms !== undefined && typeof options.extraTerms !== 'function') throw typeError(fn, 'options.extraTerms', 'a function', options.extraTerms);
  const remedyOpts = checkRemedyOptions(fn, options); // also when every weight is 0: a mistyped option is still an error
  if (remedyOpts.perceptualWeight > 0 && remedyOpts.perceptualNetwork === 'encoder' && !freeze.includes('encoder'))
    throw rangeError(fn, "options.perceptualNetwork 'encoder' needs options.freeze to include 'encoder' in end-to-end training (an encoder trained on its own verdicts can lower the loss by changing its features); freeze it, or use the probe");

  if (options.inputNoiseStd !== undefined) predictor.inputNoiseStd = options.inputNoiseStd;
  if (options.targetJitterScale !== undefined) predictor.targetJitterScale = options.targetJitterScale;
  const eps = episodesOf(fn, dataset);
  checkFramesFit(fn, eps[0], vae.inputShape);
  if (predictor.useActions && eps[0].actionDim !== predictor.actionSize)
    throw rangeError(fn, `the episodes have ${eps[0].actionDim} action values per frame, the predictor expects ${predictor.actionSize} (build it with createPredictor(vae, { data }) to take both from the episodes${eps[0].actionDim === 0 ? ', or useActions: false' : ''})`);
  const { T, stride, burnIn } = windowOptions(fn, options, 'frames');
  const maxVal = checkInt(fn, 'options.maxValidationWindows', options.maxValidationWindows ?? 64, 0);

  if (moduleDevice(vae) !== device) vae.to(device);
  if (moduleDevice(predictor) !== device) predictor.to(device);
  const onDevice = (t: Tensor): Tensor => t.to(device);

  const { train, val } = splitEpisodes(eps, options.validationSplit ?? 0.1, T);
  const { refs, valRefs } = trainingWindows(fn, train, val, T, stride, maxVal);

  const seed = options.seed ?? 0;
  const noise = new Generator(seed).fork(11); // the reparameterization (as trainVAE's)
  const coins = new Generator(seed).fork(23); // scheduled sampling (as trainPredictor's)
  const sched: SamplingSchedule = options.samplingSchedule ?? { decay: 'linear', start: 1, end: 0.25 };
  const batchSize = options.batchSize ?? 32;
  const D = predictor.latentSize;
  const [C, H, W] = vae.inputShape;
  // Freezing, after the option and data checks: the parts named are frozen, the others trained
  // (whatever an earlier trainer left).
  const parts = { ...vaeParts(vae), predictor: [predictor as Module] };
  const covered = new Set([...parts.encoder, ...parts.decoder].flatMap((m) => m.parameters()));
  if (vae.parameters().some((p) => !covered.has(p))) throw new Error(`${fn}: a VAE parameter is in neither the encoder nor the decoder (update vaeParts)`);
  for (const k of PARTS) for (const m of parts[k]) if (freeze.includes(k)) m.freeze(); else m.unfreeze();

  const both = new WorldModelModules(vae, predictor);
  // the probe (a model) and the hook (a function) are not copied into the checkpoints' config
  const opt = Object.assign({}, options, { device, vaeLr, freeze: freeze.slice(), reconWeight, pixelWeight, extraTerms: undefined, probe: undefined });
  // The VAE's optimizer over its trainable parameters (possibly none, when both halves are frozen:
  // kept so every run of this trainer checkpoints the same optimizers).
  const vaeOptimizer = makeOptimizer(fn, vae, { ...opt, optimizer: options.optimizer ?? (saved.optimizer as 'adam' | undefined), weightDecay: options.weightDecay ?? (saved.weightDecay as number | undefined), lr: vaeLr });

  // The remedies index the training episodes; the latent classifier is fitted on the starting VAE's latents.
  const needsLatents = remedyOpts.classificationWeight > 0 && remedyOpts.classificationOn === 'latent';
  const remedies = remediesActive(options) ? new RemedyTerms(fn, vae, vae.latentShape, predictor.actionSize, train, needsLatents ? encodeEpisodes(vae, train) : null, options, seed, device) : null;
  const clf = remedies?.modules.classifier as LatentClassifier | undefined;
  let clfOpt: Optimizer | null = null;
  if (clf && !freeze.includes('encoder')) {
    // Trainable by its own optimizer (not frozen), but no gradient from the main objective.
    for (const p of clf.parameters()) {
      p.frozen = false;
      p.requiresGrad = false;
    }
    clfOpt = new Adam(clf.parameters(), { lr: 1e-3 });
  }
  const labelDim = clf ? train[0].labelDim : 0;
  /** One update of the latent classifier on real latents (detached) and their frames' labels. */
  const fitClassifier = (mu: Tensor, wins: [number, number][]): number => {
    const labels = new Int32Array(wins.length * T * labelDim);
    wins.forEach(([e, t0], b) => labels.set(train[e].labels!.subarray(t0 * labelDim, (t0 + T) * labelDim), b * T * labelDim));
    for (const p of clf!.parameters()) p.requiresGrad = true;
    try {
      clfOpt!.zeroGrad();
      const ce = multiHeadCrossEntropy(clf!.forward(mu.detach()), labels);
      const v = ce.item();
      ce.backward();
      clfOpt!.step();
      clfOpt!.zeroGrad();
      return v;
    } finally {
      for (const p of clf!.parameters()) p.requiresGrad = false;
    }
  };

  /** The objective's parts on one batch of windows (training or validation; ctx: the training step's). */
  const objective = (eps: Episode[], wins: [number, number][], pTrue: number, training: boolean, ctx?: StepContext) => {
    const B = wins.length;
    const x = gatherFrames(eps, wins.flatMap(([e, t0]) => Array.from({ length: T }, (_, t) => [e, t0 + t] as [number, number])));
    const a = onDevice(gatherActions(eps, wins, T));
    const images = vae.toImages(x, fn); // [B*T,C,H,W] in [0,1] on the device
    const { mu, logvar } = vae.encode(images);
    const terms: Record<string, Tensor> = {};
    if (reconWeight > 0) {
      const z = training ? vae.reparameterize(mu, logvar, noise) : mu;
      const logits = vae.decodeLogits(z);
      terms.recon = pixelLoss(vae, logits, images, () => sigmoid(logits));
      terms.kl = klDivergenceNormal(mu.flatten(1), logvar.flatten(1), { freeBits: vae.freeBits, reduction: 'mean' });
    }
    const zSeq = mu.reshape([B, T, ...vae.latentShape]);
    const act = predictor.useActions ? a : null;
    // As LatentPredictor.loss: teacher forcing runs the fused path; the input noise, then the target jitter, from the model's generator.
    const pred = pTrue === 1 ? predictor.forwardTeacherForced(zSeq, act) : predictor.forwardScheduled(zSeq, act, pTrue, coins, burnIn);
    let target = noGrad(() => slice(mu.reshape(B, T, D), [0, 1, 0], [B, T - 1, D]));
    if (predictor.training && predictor.targetJitterScale > 0) {
      const t0 = target;
      const jitter = new Float32Array(t0.size);
      predictor.generator.fillNormal(jitter, 0, predictor.targetJitterScale);
      target = noGrad(() => addNoise(t0, jitter));
    }
    terms.latent = mseLoss(pred.reshape(B, T - 1, D), target);
    const real = slice(images.reshape(B, T, C * H * W), [0, 1, 0], [B, T - 1, C * H * W]).reshape(B * (T - 1), C, H, W);
    const predFlat = pred.reshape([B * (T - 1), ...vae.latentShape]);
    let predImages: Tensor | null = null;
    if (pixelWeight > 0) {
      const logits = vae.decodeLogits(predFlat);
      predImages = sigmoid(logits);
      const pi = predImages;
      terms.pixel = pixelLoss(vae, logits, real, () => pi);
    }
    let total = terms.latent;
    if (terms.recon) total = add(total, mul(add(terms.recon, mul(terms.kl, vae.beta)), reconWeight));
    if (terms.pixel) total = add(total, mul(terms.pixel, pixelWeight));
    const logs: Logs = {};
    if (remedies && training) {
      if (clfOpt) logs.classifierFit = fitClassifier(mu, wins);
      const r = remedies.step({ z: mu.detach().reshape(B, T, D), a: act, pred: pred.reshape(B, T - 1, D), refs: wins, note: (m) => ctx?.note(m) });
      if (r.loss) total = add(total, r.loss);
      Object.assign(logs, r.logs);
    }
    if (options.extraTerms) {
      const more = options.extraTerms({ vae, predictor, batch: B, seqLen: T, mu: zSeq, predLatents: pred, targetLatents: target.reshape([B, T - 1, ...vae.latentShape]), actions: a, predImages, realImages: real, windows: wins, training });
      for (const [k, v] of Object.entries(more ?? {})) {
        if (k in terms || k in logs || k === 'total') throw rangeError(fn, `options.extraTerms returned a term named '${k}', which the objective already has`);
        terms[k] = v;
        total = add(total, v);
      }
    }
    return { total, terms, logs, zSeq, act, real };
  };

  try {
    return await runLoop({
      kind: 'world_model',
      fn,
      config: {
        vae: modelConfigOf(vae) ?? {},
        predictor: { ...predictorConfigOf(predictor), inputNoiseStd: predictor.inputNoiseStd, targetJitterScale: predictor.targetJitterScale },
        seqLen: T,
        ...(remedies ? { remedies: remedyConfig(options) } : {}),
      },
      modules: { vae, predictor, ...(remedies?.modules ?? {}) },
      params: both,
      opts: opt,
      numExamples: refs.length,
      rngs: { noise, coins, model: predictor.generator, ...(remedies ? { remedies: remedies.generator } : {}) },
      extraOptimizers: { vae: { optimizer: vaeOptimizer, mode: 'follow' }, ...(remedies?.extraOptimizers ?? {}), ...(clfOpt ? { classifier: { optimizer: clfOpt, mode: 'own' as const } } : {}) },
      ...(remedies ? { epochEnd: (e: number, l: Logs, note: (m: string) => void) => remedies.epochEnd(e, l, note) } : {}),
      epochInfo(epoch, epochs) {
        return { pTrue: options.scheduledSampling ? pTrueAt(sched, epoch, epochs) : 1 };
      },
      trainStep(idx, info, ctx) {
        const { total, terms, logs } = objective(train, idx.map((i) => refs[i]), info.pTrue ?? 1, true, ctx);
        const out: Logs = {};
        for (const [k, v] of Object.entries(terms)) out[k] = v.item();
        return { loss: total, logs: { ...out, ...logs } };
      },
      validate(): Logs {
        if (!valRefs.length) return {};
        const sums: Record<string, number> = {};
        const addTo = (k: string, v: number, n: number) => (sums[k] = (sums[k] ?? 0) + v * n);
        noGrad(() => {
          for (let i = 0; i < valRefs.length; i += batchSize) {
            const part = valRefs.slice(i, i + batchSize);
            const B = part.length;
            tidy(() => {
              const { total, terms, zSeq, act, real } = objective(val, part, 1, false);
              addTo('valLoss', total.item(), B);
              for (const [k, v] of Object.entries(terms)) addTo(`val${k[0].toUpperCase()}${k.slice(1)}`, v.item(), B);
              const open = predictor.forwardScheduled(zSeq, act, 0, new Generator(0), burnIn);
              const target = slice(zSeq.reshape(B, T, D), [0, 1, 0], [B, T - 1, D]);
              addTo('valOpenLoop', mseLoss(open.reshape(B, T - 1, D), target).item(), B);
              addTo('valPixelMse', mseLoss(vae.decode(open.reshape([B * (T - 1), ...vae.latentShape])), real).item(), B);
            });
          }
        });
        return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / valRefs.length]));
      },
      describeBatch(idx) {
        const show = idx.slice(0, 4).map((i) => {
          const [e, t0] = refs[i];
          return `${train[e].source ?? `episode ${e}`} frames ${t0}-${t0 + T - 1}`;
        });
        return `${idx.length} windows: ${show.join(', ')}${idx.length > 4 ? ', ...' : ''}`;
      },
      restore(ck) {
        const t = (ck.config as { training?: { freeze?: unknown } }).training;
        const was = Array.isArray(t?.freeze) ? (t!.freeze as string[]).slice().sort().join(',') : '';
        if (was !== freeze.slice().sort().join(','))
          throw new CheckpointError(`${path.join(ck.path, 'state.json')}: the run froze [${was}], this one asks for [${freeze.slice().sort().join(',')}]: the optimizers would hold other parameters, so it cannot resume exactly (give the same freeze, or start a new run)`);
        restoreModule(ck, 'vae', vae);
        restoreModule(ck, 'predictor', predictor);
        remedies?.restore(ck);
      },
    });
  } finally {
    remedies?.dispose(); // in the checkpoints; on 'cuda' their memory is not garbage-collected
  }
}

/** The parameter count of each part (for the CLI's first line). */
export function worldModelSizes(vae: ConvVAE, predictor: LatentSequenceModel): Record<WorldModelPart, number> {
  const p = vaeParts(vae);
  const count = (ms: Module[]) => ms.reduce((s, m) => s + m.numParameters(), 0);
  return { encoder: count(p.encoder), decoder: count(p.decoder), predictor: predictor.numParameters() };
}
