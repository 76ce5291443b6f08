/**
 * The remedies' loss terms on a predictor's predictions (issue 12), shared by trainPredictor and
 * trainWorldModel. Each is off unless its weight is > 0; all of them add to the latent MSE:
 *
 *   perceptual      decode predicted latents with the VAE's decoder (frozen unless end-to-end)
 *                   and match, layer by layer, the activations of a frozen feature network on the
 *                   decoded prediction and on the real next frame (perceptualLoss). The feature
 *                   network is the trained semantic probe's conv trunk by default (no pretrained
 *                   ImageNet network can be downloaded here), or the VAE encoder's ('encoder').
 *                   A probe that reads frame pairs sees [frame, frame - previous real frame] on
 *                   both sides, so the motion cues (the dashed markings' shift: speed) count too.
 *                   `perceptualFrames` predicted frames per batch are decoded (drawn from the
 *                   run's seeded generator; the decoder pass is the costly part).
 *   adversarial     a LatentDiscriminator, conditioned on (z_t, a_t), separates real z_{t+1} from
 *                   predicted ones; it is updated `discSteps` times per step on its own loss
 *                   (its optimizer: Adam at `discLr`, betas (0.5, 0.999), as GANs usually take)
 *                   before the predictor gets the non-saturating generator loss. Spectral
 *                   normalization keeps it Lipschitz. Its accuracy is logged per step and per
 *                   epoch; an epoch at >= 99% (overpowered: the generator's gradient vanishes) or
 *                   at chance with a flat loss (collapsed: no signal) is reported as a note.
 *   classification  a LatentClassifier, fitted on the training episodes' real latents and labels
 *                   before training and then frozen, must recover the target frame's labels from
 *                   each predicted latent (cross-entropy through the predictor); with
 *                   classificationOn 'pixels' the semantic probe reads the decoded predictions
 *                   instead (the same decoded subset as the perceptual term).
 * The conditioning latent z_t of the discriminator is the true one, also when scheduled sampling
 * fed the model its own prediction.
 */
import { Tensor, shapeSize } from '../tensor/tensor';
import { concat, stack, index } from '../ops/shape';
import { sub } from '../ops/elementwise';
import { noGrad } from '../autograd/grad_mode';
import { Module } from '../nn/module';
import { Generator } from '../random/generator';
import { Adam } from '../optim/adam';
import type { Optimizer } from '../optim/optimizer';
import { ConvVAE } from '../models/conv_vae';
import { SemanticProbe } from '../models/semantic_probe';
import { LatentDiscriminator } from '../models/discriminators';
import { LatentClassifier, fitLatentClassifier } from '../models/latent_classifier';
import { perceptualLoss, discriminatorLoss, generatorLoss, multiHeadCrossEntropy, discriminatorAccuracy } from '../losses/remedies';
import { Episode, channelsOf, frameBytesOf, labelHeadsOf } from '../data/episode';
import { checkInt, checkNumber, rangeError, typeError } from '../errors';
import type { Device } from './device';
import type { Logs } from './loop';
import type { LatentEpisode } from './train_predictor';
import type { LoadedCheckpoint } from './checkpoint';
import { restoreModule } from './checkpoint';
import { discriminatorHealth, discriminatorStepLogs } from './discriminator_health';

export interface RemedyOptions {
  /** λ of the perceptual loss on decoded predictions (default 0: off). */
  perceptualWeight?: number;
  /** The frozen feature network: the semantic probe's trunk ('probe', default; needs `probe`) or the VAE encoder's ('encoder'). */
  perceptualNetwork?: 'probe' | 'encoder';
  /** Predicted frames decoded per batch for the perceptual and pixel-classification terms (default 8). */
  perceptualFrames?: number;
  /** λ of the adversarial latent loss (default 0: off). */
  adversarialWeight?: number;
  /** The discriminator's learning rate (default 2e-4) and its updates per predictor step (default 1). */
  discLr?: number;
  discSteps?: number;
  /** λ of the classification auxiliary loss (default 0: off). */
  classificationWeight?: number;
  /** Classify the predicted latents ('latent', default) or the decoded predictions with the probe ('pixels'). */
  classificationOn?: 'latent' | 'pixels';
  /** Steps of the latent classifier's fit on real latents before training (default 400). */
  classifierSteps?: number;
  /** The trained semantic probe (trainSemanticProbe / ensureSemanticProbe): the default feature network, and the judge of classificationOn 'pixels'. It is frozen and moved to the training device. */
  probe?: SemanticProbe;
}

/** What one training step hands the remedies. */
export interface RemedyStep {
  /** True latents [B,T,D] (flat) and actions [B,T,A] (null without actions), on the device. */
  z: Tensor;
  a: Tensor | null;
  /** The predictions of z[:,1..T-1], [B,T-1,D], carrying the gradient. */
  pred: Tensor;
  /** (episode, first frame) of each window, indexing `episodes`. */
  refs: [number, number][];
  /** Called with things worth telling the user (the loop's note). */
  note(message: string): void;
}

export function remediesActive(o: RemedyOptions): boolean {
  return (o.perceptualWeight ?? 0) > 0 || (o.adversarialWeight ?? 0) > 0 || (o.classificationWeight ?? 0) > 0;
}

/** Checks the remedy options (names as the options spell them); returns them with defaults. */
export function checkRemedyOptions(fn: string, o: RemedyOptions): Required<Omit<RemedyOptions, 'probe'>> & { probe?: SemanticProbe } {
  const w = (k: keyof RemedyOptions) => checkNumber(fn, `options.${k}`, (o[k] as number | undefined) ?? 0, 0);
  const net = o.perceptualNetwork ?? 'probe';
  if (net !== 'probe' && net !== 'encoder') throw typeError(fn, 'options.perceptualNetwork', "'probe' or 'encoder'", net);
  const on = o.classificationOn ?? 'latent';
  if (on !== 'latent' && on !== 'pixels') throw typeError(fn, 'options.classificationOn', "'latent' or 'pixels'", on);
  if (o.probe !== undefined && !(o.probe instanceof SemanticProbe)) throw typeError(fn, 'options.probe', 'a SemanticProbe (trainSemanticProbe(...).probe)', o.probe);
  const r = {
    perceptualWeight: w('perceptualWeight'),
    perceptualNetwork: net,
    perceptualFrames: checkInt(fn, 'options.perceptualFrames', o.perceptualFrames ?? 8, 1, 4096),
    adversarialWeight: w('adversarialWeight'),
    discLr: checkNumber(fn, 'options.discLr', o.discLr ?? 2e-4, 0),
    discSteps: checkInt(fn, 'options.discSteps', o.discSteps ?? 1, 1, 100),
    classificationWeight: w('classificationWeight'),
    classificationOn: on,
    classifierSteps: checkInt(fn, 'options.classifierSteps', o.classifierSteps ?? 400, 1, 1e6),
    probe: o.probe,
  } as Required<Omit<RemedyOptions, 'probe'>> & { probe?: SemanticProbe };
  if (r.perceptualWeight > 0 && net === 'probe' && !r.probe)
    throw typeError(fn, 'options.probe', "a SemanticProbe for perceptualNetwork 'probe' (or perceptualNetwork: 'encoder')", r.probe);
  if (r.classificationWeight > 0 && on === 'pixels' && !r.probe) throw typeError(fn, 'options.probe', "a SemanticProbe for classificationOn 'pixels'", r.probe);
  return r;
}

/** The serializable part of the options (for checkpoints' config). */
export function remedyConfig(o: RemedyOptions): Record<string, unknown> {
  const { probe, ...rest } = o;
  return { ...rest, probe: probe ? 'given' : undefined };
}

export class RemedyTerms {
  readonly opts: ReturnType<typeof checkRemedyOptions>;
  /** Modules to checkpoint: discriminator and classifier when used. */
  readonly modules: Record<string, Module> = {};
  readonly extraOptimizers: Record<string, { optimizer: Optimizer; mode: 'own' }> = {};
  /** The generator of the decoded subset, saved in checkpoints as rngs.remedies. */
  readonly generator: Generator;
  private readonly disc: LatentDiscriminator | null = null;
  private readonly discOpt: Optimizer | null = null;
  private readonly classifier: LatentClassifier | null = null;
  private readonly labelDim: number;
  /** The latent classifier's accuracy per head after its fit: on its training frames and on a held-out training episode (null with fewer than 3). */
  classifierAccuracy: { heads: string[]; train: number[]; heldOut: number[] | null } | null = null;

  /**
   * `episodes` are the training episodes the window refs index (frames and labels);
   * `latents` the same episodes' real latents (for the classifier's fit); `latentShape` one latent.
   */
  constructor(
    readonly fn: string,
    readonly vae: ConvVAE,
    readonly latentShape: number[],
    readonly actionSize: number,
    readonly episodes: Episode[],
    latents: LatentEpisode[] | null,
    options: RemedyOptions,
    seed: number,
    device: Device,
  ) {
    this.opts = checkRemedyOptions(fn, options);
    this.generator = new Generator(seed).fork(31);
    const o = this.opts;
    const needsLabels = o.classificationWeight > 0;
    const heads = labelHeadsOf(episodes);
    this.labelDim = heads.length;
    if (needsLabels && (!heads.length || episodes.some((e) => !e.labels)))
      throw rangeError(fn, 'options.classificationWeight needs episodes with per-frame labels (labelHeads); this data has none');
    if (o.probe) {
      o.probe.freeze();
      o.probe.eval();
      o.probe.to(device);
      const [C, H, W] = o.probe.inputShape;
      const [vc, vh, vw] = vae.inputShape;
      if (C !== vc || H !== vh || W !== vw) throw rangeError(fn, `options.probe reads [${o.probe.inputShape}] frames, the VAE makes [${vae.inputShape}]`);
    }
    if (o.adversarialWeight > 0) {
      const disc = new LatentDiscriminator({ latentShape: latentShape, actionSize, seed: seed + 101 });
      disc.to(device);
      this.disc = disc;
      this.discOpt = new Adam(disc.parameters(), { lr: o.discLr, betas: [0.5, 0.999] });
      this.modules.discriminator = disc;
      this.extraOptimizers.discriminator = { optimizer: this.discOpt, mode: 'own' };
    }
    if (o.classificationWeight > 0 && o.classificationOn === 'latent') {
      if (!latents) throw rangeError(fn, 'the latent classifier needs the real latents');
      const clf = new LatentClassifier({ latentShape, heads, seed: seed + 202 });
      // Fitted on the real latents of the training frames, then frozen: a fixed judge. With three
      // or more training episodes the last one is held out to measure how well it reads them
      // (classifierAccuracy: a judge that cannot read a head from real latents cannot teach it).
      const D = shapeSize(latentShape);
      const gather = (ls: LatentEpisode[], first: number) => {
        const n = ls.reduce((sum, l) => sum + l.length, 0);
        const z = new Float32Array(n * D);
        const lab = new Int32Array(n * heads.length);
        let k = 0;
        ls.forEach((l, i) => {
          z.set(l.z.subarray(0, l.length * D), k * D);
          lab.set(episodes[first + i].labels!.subarray(0, l.length * heads.length), k * heads.length);
          k += l.length;
        });
        return { z, labels: lab };
      };
      const hold = latents.length >= 3 ? 1 : 0;
      const fitOn = gather(latents.slice(0, latents.length - hold), 0);
      const heldOut = hold ? gather(latents.slice(latents.length - hold), latents.length - hold) : undefined;
      const fit = fitLatentClassifier(clf, fitOn.z, fitOn.labels, { steps: o.classifierSteps, seed: seed + 203, heldOut });
      this.classifierAccuracy = { heads: heads.map((h) => h.name), train: fit.accuracy, heldOut: fit.heldOutAccuracy ?? null };
      clf.freeze();
      clf.eval();
      clf.to(device);
      this.classifier = clf;
      this.modules.classifier = clf;
    }
  }

  get active(): boolean {
    return remediesActive(this.opts);
  }

  /** Frees the discriminator and classifier (this object's own; the VAE and probe are the caller's). */
  dispose(): void {
    for (const m of Object.values(this.modules)) m.dispose();
  }

  /** Restores the discriminator's and classifier's weights from a checkpoint. */
  restore(ck: LoadedCheckpoint): void {
    for (const [k, m] of Object.entries(this.modules)) restoreModule(ck, k, m);
  }

  /** Float NCHW images of frames (episode e, frame t) on the VAE's device. */
  private frames(list: [number, number][]): Tensor {
    const e0 = this.episodes[list[0][0]];
    const n = frameBytesOf(e0);
    const buf = new Uint8Array(list.length * n);
    list.forEach(([e, t], i) => buf.set(this.episodes[e].frames.subarray(t * n, (t + 1) * n), i * n));
    return this.vae.toImages(new Tensor([list.length, e0.height, e0.width, channelsOf(e0)], 'uint8', buf), this.fn);
  }

  /** The probe's input for images and their predecessors: [x, x - prev] with pairs, else x. */
  private probeInput(x: Tensor, prev: Tensor): Tensor {
    return this.opts.probe!.pairs ? concat([x, sub(x, prev)], 1) : x;
  }

  /** Labels of (episode, frame) pairs, [n * heads]. */
  private labels(list: [number, number][]): Int32Array {
    const h = this.labelDim;
    const out = new Int32Array(list.length * h);
    list.forEach(([e, t], i) => out.set(this.episodes[e].labels!.subarray(t * h, (t + 1) * h), i * h));
    return out;
  }

  /** The weighted sum of the active terms for one step, and their values for the log. */
  step(s: RemedyStep): { loss: Tensor | null; logs: Logs } {
    const o = this.opts;
    const [B, T1, D] = s.pred.shape;
    const logs: Logs = {};
    const terms: Tensor[] = [];
    // Target frame of prediction (b, k): window b's frame k+1; its predecessor frame k.
    const target = (b: number, k: number): [number, number] => [s.refs[b][0], s.refs[b][1] + k + 1];
    const decodedNeeded = o.perceptualWeight > 0 || (o.classificationWeight > 0 && o.classificationOn === 'pixels');
    if (decodedNeeded) {
      const m = Math.min(o.perceptualFrames, B * T1);
      // m distinct rows: a partial Fisher-Yates shuffle from the run's generator.
      const rows = Array.from({ length: B * T1 }, (_, i) => i);
      for (let i = 0; i < m; ++i) {
        const j = i + this.generator.int(B * T1 - i);
        [rows[i], rows[j]] = [rows[j], rows[i]];
      }
      const pick = rows.slice(0, m).sort((x, y) => x - y);
      const flat = s.pred.reshape(B * T1, D);
      const zSel = stack(Array.from(pick, (r) => index(flat, r)), 0).reshape([m, ...this.latentShape]);
      const decoded = this.vae.decode(zSel);
      const tgt = Array.from(pick, (r) => target(Math.floor(r / T1), r % T1));
      const prevRefs = tgt.map(([e, t]) => [e, t - 1] as [number, number]);
      const prev = noGrad(() => this.frames(prevRefs));
      if (o.perceptualWeight > 0) {
        const real = noGrad(() => this.frames(tgt));
        const feats = (x: Tensor, withPrev: boolean): Tensor[] =>
          o.perceptualNetwork === 'encoder' ? this.vae.encoderFeatures(x) : this.opts.probe!.features(withPrev ? this.probeInput(x, prev) : x);
        const realF = noGrad(() => feats(real, true));
        const p = perceptualLoss(feats(decoded, true), realF);
        logs.perceptual = p.item();
        terms.push(p.mul(o.perceptualWeight));
      }
      if (o.classificationWeight > 0 && o.classificationOn === 'pixels') {
        const logits = this.opts.probe!.forward(this.probeInput(decoded, prev));
        const c = multiHeadCrossEntropy(logits, this.labels(tgt));
        logs.classification = c.item();
        terms.push(c.mul(o.classificationWeight));
      }
    }
    if (o.classificationWeight > 0 && o.classificationOn === 'latent') {
      const tgt: [number, number][] = [];
      for (let b = 0; b < B; ++b) for (let k = 0; k < T1; ++k) tgt.push(target(b, k));
      const logits = this.classifier!.forward(s.pred.reshape([B * T1, ...this.latentShape]));
      const c = multiHeadCrossEntropy(logits, this.labels(tgt));
      logs.classification = c.item();
      terms.push(c.mul(o.classificationWeight));
    }
    if (this.disc) {
      const disc = this.disc;
      const Tn = T1 + 1;
      const zPrev = s.z.slice([0, 0, 0], [B, T1, D]).reshape([B * T1, ...this.latentShape]);
      const zNext = s.z.slice([0, 1, 0], [B, Tn - 1, D]).reshape([B * T1, ...this.latentShape]);
      const A = this.actionSize;
      const act = s.a && A ? s.a.slice([0, 0, 0], [B, T1, A]).reshape(B * T1, A) : null;
      const fake = s.pred.reshape([B * T1, ...this.latentShape]);
      let dl = 0, acc = 0;
      for (let i = 0; i < o.discSteps; ++i) {
        this.discOpt!.zeroGrad();
        const realL = disc.forward(zPrev, zNext, act);
        const fakeL = disc.forward(zPrev, fake.detach(), act);
        const l = discriminatorLoss(realL, fakeL);
        dl = l.item();
        acc = discriminatorAccuracy(realL, fakeL);
        l.backward();
        this.discOpt!.step();
        this.discOpt!.zeroGrad();
      }
      Object.assign(logs, discriminatorStepLogs(acc, dl));
      // The generator's term through a discriminator that takes no gradient of its own here.
      for (const p of disc.parameters()) p.requiresGrad = false;
      try {
        const g = generatorLoss(disc.forward(zPrev, fake, act));
        logs.adversarial = g.item();
        terms.push(g.mul(o.adversarialWeight));
      } finally {
        for (const p of disc.parameters()) p.requiresGrad = true;
      }
    }
    if (!terms.length) return { loss: null, logs };
    let total = terms[0];
    for (let i = 1; i < terms.length; ++i) total = total.add(terms[i]);
    return { loss: total, logs };
  }

  /** End of an epoch, given the epoch's mean logs (the loop's): a note when the discriminator was overpowered or collapsed. */
  epochEnd(epoch: number, logs: Logs, note: (m: string) => void): void {
    if (!this.disc) return;
    const v = discriminatorHealth(epoch, logs, 'predicted latents');
    if (v) note(v);
  }
}
