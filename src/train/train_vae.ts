/**
 * trainVAE(vae, dataset, options): fits a ConvVAE to the frames of a set of episodes.
 *
 *   const vae = createVAE({ encoderChannels: [16, 32, 64, 128] });
 *   const r = await trainVAE(vae, episodes, { epochs: 5, batchSize: 32, lr: 1e-3, checkpointDir: 'runs/x/vae' });
 *
 * One example is one frame; an epoch is a pass over the training frames in a seeded order.
 * The loss is the VAE objective (recon + beta * KL, see ConvVAE); validation reports the
 * held-out frames' loss with z = mu (eval mode) as valLoss, plus valRecon/valKl.
 * The reparameterization noise comes from a seeded Generator saved in each checkpoint.
 * options.device ('cpu' | 'cuda'; default: where the VAE is) moves the VAE there in place
 * before training; each batch of uint8 frames is uploaded and converted on the device.
 *
 * Sharper reconstructions (issue 12, docs/remedies.md "Stronger VAE"): two optional terms join
 * the objective, both scaled by the values per frame (C*H*W) so that they sit on the per-frame
 * sum scale of the recon term and lambda = 1 weighs a mean feature (or logit) error like a mean
 * pixel error:
 *   perceptual   lambda_p * C*H*W * perceptualLoss(F(recon), F(x))   F: a frozen feature network
 *   adversarial  lambda_a * C*H*W * generatorLoss(D(recon))          D: a PatchDiscriminator on pixels,
 *                trained here on real frames vs (detached) reconstructions with discriminatorLoss,
 *                discSteps updates per step at discLr (its own Adam, saved in every checkpoint).
 */
import { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import { Generator } from '../random/generator';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { CommonTrainOptions, Logs, TrainResult, runLoop } from './loop';
import { EpisodeSource, checkFramesFit, episodesOf, frameIndex, gatherFrames, splitEpisodes } from './data';
import { restoreModule } from './checkpoint';
import { Device, moduleDevice, resolveDevice } from './device';
import { checkInt, checkNumber, checkNumel, typeError } from '../errors';
import { CollapseCheckOptions, CollapseMonitor, collapseStats } from './collapse';
import { discriminatorHealth, discriminatorStepLogs } from './discriminator_health';
import { SemanticProbe } from '../models/semantic_probe';
import { PatchDiscriminator } from '../models/discriminators';
import { perceptualLoss, discriminatorLoss, generatorLoss, discriminatorAccuracy } from '../losses/remedies';
import { Adam } from '../optim/adam';
import { Tensor } from '../tensor/tensor';
import { add, mul, sub } from '../ops/elementwise';
import { concat } from '../ops/shape';

const CONFIGS = new WeakMap<object, Record<string, unknown>>();

/**
 * A ConvVAE whose options are remembered, so checkpoints can rebuild it (loadVAE). `device`
 * (default 'cpu') moves it there; it is not part of the remembered options.
 */
export function createVAE(opts: ConvVAEOptions & { device?: Device } = {}): ConvVAE {
  const { device, ...vaeOpts } = opts;
  const dv = resolveDevice('createVAE', 'device', device);
  checkSizes(vaeOpts);
  const vae = new ConvVAE(vaeOpts);
  CONFIGS.set(vae, JSON.parse(JSON.stringify({ ...vaeOpts, generator: undefined })));
  vae.to(dv);
  return vae;
}

/**
 * Upper limits on the sizes createVAE is given, checked before any weight is allocated: a
 * conv's weight is c_in x c_out x k x k, so 8192 channels with the default 4x4 kernel is already
 * a 4 GiB tensor; channels of 1e6 used to fail deep in V8 ("Invalid typed array length").
 */
const MAX_CHANNELS = 8192;
function checkSizes(o: ConvVAEOptions): void {
  const fn = 'createVAE';
  if (!o || typeof o !== 'object') return; // ConvVAE names the bad options object
  const list = (arg: string, v: unknown, max: number) => {
    if (Array.isArray(v)) v.forEach((c, i) => checkInt(fn, `${arg}[${i}]`, c, 1, max));
  };
  list('encoderChannels', o.encoderChannels, MAX_CHANNELS);
  list('inputShape', o.inputShape, 8192);
  list('latentShape', o.latentShape, MAX_CHANNELS);
  const dec = (o as { decoder?: { channels?: unknown } }).decoder;
  if (dec && typeof dec === 'object') list('decoder.channels', dec.channels, MAX_CHANNELS);
  if (o.latentDim !== undefined) checkInt(fn, 'latentDim', o.latentDim, 1, 1 << 16);
  const k = o.encoderKernel ?? 4;
  if (typeof k === 'number' && Number.isInteger(k) && Array.isArray(o.encoderChannels)) {
    let cin = Array.isArray(o.inputShape) ? o.inputShape[0] : 3;
    for (const c of o.encoderChannels) {
      checkNumel(fn, 'encoderKernel x encoderChannels (a conv weight)', [c, cin, k, k]);
      cin = c;
    }
  }
}

/** The options a model was made with (createVAE / createPredictor), or given as options.modelConfig. */
export function modelConfigOf(m: object): Record<string, unknown> | undefined {
  return CONFIGS.get(m);
}
export function rememberConfig(m: object, cfg: Record<string, unknown>): void {
  CONFIGS.set(m, cfg);
}

export interface TrainVAEOptions extends CommonTrainOptions {
  /** The options the VAE was built with (saved in checkpoints; default: those createVAE recorded). */
  modelConfig?: ConvVAEOptions;
  /** Held-out frames used for validation at most (default 512). */
  maxValidationFrames?: number;
  /**
   * Collapse detection (src/train/collapse.ts, docs/vae_collapse.md): a note (callbacks.onNote,
   * the CLI's `note:` lines, the metrics log) when the VAE decodes about the same frame whatever
   * its input; it only observes, the training is unchanged. Default on ({ every: 25, warmup: 200,
   * patience: 3 }); false turns it off.
   */
  collapseCheck?: CollapseCheckOptions | false;
  /**
   * Weight lambda_p of the perceptual term (default 0: off); see the header for its scale.
   * Needs perceptualNetwork.
   */
  perceptualWeight?: number;
  /**
   * The frozen feature network of the perceptual term:
   *  - a SemanticProbe (its conv trunk, SemanticProbe.features): a judge of the frames' meaning
   *    trained on real frames (ensureSemanticProbe). It is frozen (probe.freeze()) and put in
   *    eval mode. A pairs probe reads [frame, frame - predecessor]: here the recon is fed as
   *    [recon, recon - real predecessor] and the real frame as [x, x - real predecessor], the
   *    predecessor being the frame before it in its episode (the frame itself at t = 0, a zero
   *    difference), so both sides look like what the probe was trained on;
   *  - 'encoder': the VAE's own encoder (ConvVAE.encoderFeatures), as a detached copy: a frozen
   *    twin whose encoder weights are copied from the live ones at every step, so the features
   *    are the current encoder's but the perceptual gradient reaches only the decoder (through
   *    the recon), never the encoder's weights (which could otherwise shrink the term by making
   *    the features constant). The twin is rebuilt from the VAE's options (createVAE or
   *    options.modelConfig).
   */
  perceptualNetwork?: SemanticProbe | 'encoder';
  /** Weight lambda_a of the adversarial term (default 0: off, no discriminator). */
  adversarialWeight?: number;
  /** The discriminator's learning rate (Adam, betas 0.5/0.999, constant; default 2e-4). */
  discLr?: number;
  /** Discriminator updates per step, on the step's batch (default 1). */
  discSteps?: number;
  /** Channels of the PatchDiscriminator (default: its own). */
  discChannels?: number[];
}

/** The frozen copy of the VAE's encoder the 'encoder' perceptual network runs (see TrainVAEOptions.perceptualNetwork). */
function encoderJudge(fn: string, vae: ConvVAE, cfg: Record<string, unknown> | undefined, device: Device): { judge: ConvVAE; sync(): void } {
  if (!cfg) throw typeError(fn, 'options.perceptualNetwork', "'encoder' with a VAE made by createVAE (or options.modelConfig), so its frozen copy can be built", 'a VAE of unknown options');
  // its own seed: building it draws from a private Generator, never the global one
  const judge = new ConvVAE({ ...(cfg as ConvVAEOptions), seed: 0, generator: undefined });
  judge.freeze().eval();
  judge.to(device);
  const keys = Object.keys(vae.stateDict()).filter((k) => k.startsWith('encoder.'));
  return {
    judge,
    sync() {
      const sd = vae.stateDict();
      judge.loadStateDict(Object.fromEntries(keys.map((k) => [k, sd[k]])), false);
    },
  };
}

export async function trainVAE(vae: ConvVAE, dataset: EpisodeSource, options: TrainVAEOptions = {}): Promise<TrainResult> {
  const fn = 'trainVAE';
  if (!(vae instanceof ConvVAE)) throw new TypeError(`${fn}: vae must be a ConvVAE`);
  const device = resolveDevice(fn, 'options.device', options.device, moduleDevice(vae));
  const eps = episodesOf(fn, dataset);
  checkFramesFit(fn, eps[0], vae.inputShape);
  const { train, val } = splitEpisodes(eps, options.validationSplit ?? 0.1, 1);
  const refs = frameIndex(train);
  const valRefs = frameIndex(val);
  const maxVal = options.maxValidationFrames ?? 512;
  if (!Number.isInteger(maxVal) || maxVal < 0) throw typeError(fn, 'options.maxValidationFrames', 'an integer >= 0', maxVal);
  const valPick = valRefs.length <= maxVal ? valRefs : Array.from({ length: maxVal }, (_, i) => valRefs[Math.floor((i * valRefs.length) / maxVal)]);
  const seed = options.seed ?? 0;
  const noise = new Generator(seed).fork(11);
  const batchSize = options.batchSize ?? 32;
  const monitor = options.collapseCheck === false ? null : new CollapseMonitor(fn, vae, options.collapseCheck ?? {});
  const pw = checkNumber(fn, 'options.perceptualWeight', options.perceptualWeight ?? 0, 0);
  const aw = checkNumber(fn, 'options.adversarialWeight', options.adversarialWeight ?? 0, 0);
  const discLr = checkNumber(fn, 'options.discLr', options.discLr ?? 2e-4, 0);
  const discSteps = checkInt(fn, 'options.discSteps', options.discSteps ?? 1, 1, 100);
  const net = options.perceptualNetwork;
  if (net !== undefined && net !== 'encoder' && !(net instanceof SemanticProbe))
    throw typeError(fn, 'options.perceptualNetwork', "a SemanticProbe or 'encoder'", net);
  if (pw > 0 && net === undefined)
    throw typeError(fn, 'options.perceptualNetwork', "a SemanticProbe (ensureSemanticProbe) or 'encoder' when perceptualWeight > 0", net);
  if (net instanceof SemanticProbe && net.inputShape.join(',') !== vae.inputShape.join(','))
    throw typeError(fn, 'options.perceptualNetwork', `a SemanticProbe of inputShape [${vae.inputShape}] (the VAE's)`, `one of [${net.inputShape}]`);
  const cfg = (options.modelConfig ?? modelConfigOf(vae)) as Record<string, unknown> | undefined;
  if (moduleDevice(vae) !== device) vae.to(device);
  const perFrame = vae.inputShape[0] * vae.inputShape[1] * vae.inputShape[2];

  // ---- perceptual: the frozen feature network and what it reads -------------------------------
  let features: ((images: Tensor, prev: Tensor | null) => Tensor[]) | null = null;
  let sync: (() => void) | null = null;
  const probe = pw > 0 && net instanceof SemanticProbe ? net : null;
  if (pw > 0 && probe) {
    probe.freeze().eval();
    if (moduleDevice(probe) !== device) probe.to(device);
    features = (img, prev) => probe.features(probe.pairs ? concat([img, sub(img, prev!)], 1) : img);
  } else if (pw > 0) {
    const j = encoderJudge(fn, vae, cfg, device);
    sync = j.sync;
    features = (img) => j.judge.encoderFeatures(img);
  }

  // ---- adversarial: the patch discriminator and its optimizer ---------------------------------
  let disc: PatchDiscriminator | null = null;
  let discOpt: Adam | null = null;
  if (aw > 0) {
    // its own seed stream: the VAE's initial weights and noise are those of a run without it
    disc = new PatchDiscriminator({ inputShape: vae.inputShape, ...(options.discChannels ? { channels: options.discChannels } : {}), seed: seed * 7919 + 17 });
    disc.to(device);
    discOpt = new Adam(disc.trainableParameters(), { lr: discLr, betas: [0.5, 0.999] });
  }

  // The options saved in checkpoints: the probe is a model, not an option (it is described by name).
  const saved: TrainVAEOptions & Record<string, unknown> = { ...options, device };
  if (net !== undefined) saved.perceptualNetwork = (net === 'encoder' ? 'encoder' : 'probe') as never;
  return runLoop({
    kind: 'vae',
    fn,
    config: { vae: cfg ?? {} },
    modules: disc ? { vae, discriminator: disc } : { vae },
    // the discriminator's verdict on each epoch, from the loop's epoch means (so a resumed epoch counts whole)
    epochEnd(epoch, logs, note) {
      const v = disc ? discriminatorHealth(epoch, logs, 'reconstructions') : null;
      if (v) note(v);
    },
    params: vae,
    opts: saved,
    numExamples: refs.length,
    rngs: { noise },
    ...(disc && discOpt ? { extraOptimizers: { discriminator: { optimizer: discOpt, mode: 'own' as const } } } : {}),
    trainStep(idx, _info, ctx) {
      const batch = idx.map((i) => refs[i]);
      const x = gatherFrames(train, batch);
      const l = vae.loss(x, { generator: noise });
      if (monitor?.due(ctx.step)) {
        // Reads only what this step computed (no draw, no extra pass): results stay bit-identical.
        const o = l.output;
        const m = monitor.observe(ctx.step, ctx.epoch, collapseStats(x._data as Uint8Array, o.recon, o.mu, o.logvar, vae.reconLoss));
        if (m) ctx.note(m);
      }
      const logs: Logs = { recon: l.recon.item(), kl: l.kl.item() };
      let total = l.total;
      const recon = l.output.recon;
      const real = features || disc ? vae.toImages(x, fn) : null;
      if (features && real) {
        sync?.();
        const prev = probe?.pairs ? vae.toImages(gatherFrames(train, batch.map(([e, t]) => [e, Math.max(0, t - 1)] as [number, number])), fn) : null;
        const realF = noGrad(() => features!(real, prev));
        const p = perceptualLoss(features(recon, prev), realF);
        logs.perceptual = p.item();
        total = add(total, mul(p, pw * perFrame));
      }
      if (disc && discOpt && real) {
        // The discriminator first, on real frames vs the reconstructions (detached: its loss
        // reaches only its own weights), then the VAE's generator term through the updated one.
        const fake = recon.detach();
        let dLoss = 0, dAcc = 0;
        for (let k = 0; k < discSteps; ++k) {
          discOpt.zeroGrad();
          const rl = disc.forward(real), fl = disc.forward(fake);
          const d = discriminatorLoss(rl, fl);
          dAcc = discriminatorAccuracy(rl, fl);
          dLoss = d.item();
          if (!Number.isFinite(dLoss)) break; // reported below as a non-finite logged value
          d.backward();
          discOpt.step();
        }
        discOpt.zeroGrad();
        const g = generatorLoss(disc.forward(recon));
        // the generator pass also leaves gradients on the discriminator: cleared before its next update
        logs.adv = g.item();
        Object.assign(logs, discriminatorStepLogs(dAcc, dLoss));
        total = add(total, mul(g, aw * perFrame));
      }
      return { loss: total, logs };
    },
    validate(): Logs {
      if (!valPick.length) return {};
      let tot = 0, rec = 0, kl = 0;
      noGrad(() => {
        for (let i = 0; i < valPick.length; i += batchSize) {
          const part = valPick.slice(i, i + batchSize);
          tidy(() => {
            const l = vae.loss(gatherFrames(val, part), { sample: false });
            tot += l.total.item() * part.length;
            rec += l.recon.item() * part.length;
            kl += l.kl.item() * part.length;
          });
        }
      });
      const n = valPick.length;
      return { valLoss: tot / n, valRecon: rec / n, valKl: kl / n };
    },
    describeBatch(idx) {
      const show = idx.slice(0, 4).map((i) => {
        const [e, t] = refs[i];
        return `${train[e].source ?? `episode ${e}`} frame ${t}`;
      });
      return `${idx.length} frames: ${show.join(', ')}${idx.length > 4 ? ', ...' : ''}`;
    },
    restore(ck) {
      restoreModule(ck, 'vae', vae);
      if (disc) restoreModule(ck, 'discriminator', disc);
    },
  });
}
