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
 */
import { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import { Generator } from '../random/generator';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { CommonTrainOptions, Logs, TrainResult, runLoop } from './loop';
import { EpisodeSource, checkFramesFit, episodesOf, frameIndex, gatherFrames, splitEpisodes } from './data';
import { restoreModule } from './checkpoint';
import { Device, moduleDevice, resolveDevice } from './device';
import { checkInt, checkNumel, typeError } from '../errors';
import { CollapseCheckOptions, CollapseMonitor, collapseStats } from './collapse';

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
  if (moduleDevice(vae) !== device) vae.to(device);
  return runLoop({
    kind: 'vae',
    fn,
    config: { vae: options.modelConfig ?? modelConfigOf(vae) ?? {} },
    modules: { vae },
    params: vae,
    opts: { ...options, device },
    numExamples: refs.length,
    rngs: { noise },
    trainStep(idx, _info, ctx) {
      const x = gatherFrames(train, idx.map((i) => refs[i]));
      const l = vae.loss(x, { generator: noise });
      if (monitor?.due(ctx.step)) {
        // Reads only what this step computed (no draw, no extra pass): results stay bit-identical.
        const o = l.output;
        const m = monitor.observe(ctx.step, ctx.epoch, collapseStats(x._data as Uint8Array, o.recon, o.mu, o.logvar, vae.reconLoss));
        if (m) ctx.note(m);
      }
      return { loss: l.total, logs: { recon: l.recon.item(), kl: l.kl.item() } };
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
    },
  });
}
