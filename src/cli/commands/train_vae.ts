/** `worldkit train-vae`: fit the ConvVAE to a dataset's frames (src/train/train_vae.ts). */
import * as path from 'path';
import { Command } from '../command';
import { UsageError } from '../flags';
import * as fs from 'fs';
import { createVAE, trainVAE, TrainVAEOptions } from '../../train/train_vae';
import { loadCheckpoint } from '../../train/checkpoint';
import { ensureSemanticProbe, loadSemanticProbe } from '../../diagnostics/semantic_probe';
import { labelHeadsOf } from '../../data/episode';
import { defaultCacheDir } from '../../data/episode_cache';
import type { ConvVAEOptions } from '../../models/conv_vae';
import { COMMON_TRAIN_FLAGS, DATA_FLAGS, DEVICE_FLAG, deviceFlag, loadData, withCheckpointErrors, commonTrainOptions, runTrainer } from '../train_support';

function ints(flag: string, s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (!v.length || v.some((x) => !Number.isInteger(x) || x < 1)) throw new UsageError(`--${flag} expects comma-separated positive integers, got '${s}'`);
  return v;
}

export const command: Command = {
  name: 'train-vae',
  summary: 'train the convolutional VAE on a dataset (checkpoints + metrics in --out)',
  usage: `worldkit train-vae [--data sim|path] [--out runs/vae] [flags]

Trains a ConvVAE (64x64 RGB, spatial latent [C,4,4]) on every frame of the dataset. Checkpoints
(latest.json, ckpt-N/) and metrics.jsonl go to --out; --resume continues the latest one exactly
(the model and the perceptual/adversarial settings come from the checkpoint unless given; give
--probe again if it was given). Ctrl-C saves a checkpoint and exits.

Sharper reconstructions (docs/remedies.md, "Stronger VAE"): --latent_channels 128|256 and
--vae_blocks N widen and deepen it; --perceptual_weight adds a perceptual term (features of a
frozen network: the semantic probe's conv trunk, or the VAE's own encoder), --adversarial_weight
a patch discriminator on pixels (its accuracy logged; an overpowered or collapsed one is noted). --device cuda trains on the GPU (checkpoints still load on
the CPU); without a usable GPU it exits with code 2 and the reason.`,
  flags: [
    ...DATA_FLAGS,
    { name: 'out', type: 'string', default: path.join('runs', 'vae'), metavar: 'dir', help: 'checkpoint and metrics folder' },
    ...COMMON_TRAIN_FLAGS,
    DEVICE_FLAG,
    { name: 'encoder_channels', type: 'string', default: '16,32,64,128', metavar: 'c1,c2,c3,c4', help: 'output channels of the 4 stride-2 encoder convs' },
    { name: 'latent_channels', type: 'int', default: 64, help: 'channels of the [C,4,4] latent' },
    { name: 'vae_blocks', type: 'int', default: 0, metavar: 'N', help: 'residual blocks after every encoder stage and before every decoder stage (no skips: the latent carries everything)' },
    { name: 'vae_init', type: 'string', default: 'uniform', choices: ['uniform', 'he'], help: "initial weights of the VAE's convs: PyTorch's default U(±1/sqrt(fan_in)), or He's (variance 2/fan_in; the second learning stage comes about a third sooner, docs/remedies.md)" },
    { name: 'beta', type: 'number', default: 1, help: 'weight of the KL term' },
    { name: 'perceptual_weight', type: 'number', default: 0, metavar: 'λ', help: 'weight of the perceptual term (0: off); see docs/remedies.md for its scale' },
    { name: 'perceptual_network', type: 'string', default: 'probe', choices: ['probe', 'encoder'], help: "feature network of the perceptual term: the semantic probe's conv trunk, or a frozen copy of the VAE's encoder" },
    { name: 'probe', type: 'string', metavar: 'dir', help: 'a trained semantic probe folder (default with --perceptual_network probe: one trained on the training data and saved to --out/probe)' },
    { name: 'probe_epochs', type: 'int', default: 8, help: 'epochs of the probe trained when no --probe is given' },
    { name: 'adversarial_weight', type: 'number', default: 0, metavar: 'λ', help: 'weight of the adversarial term (0: off); a patch discriminator on pixels' },
    { name: 'disc_lr', type: 'number', default: 2e-4, help: "the discriminator's learning rate (Adam, constant)" },
    { name: 'disc_steps', type: 'int', default: 1, help: 'discriminator updates per step' },
  ],
  async run(args, io) {
    const { flags } = args;
    const device = deviceFlag(flags);
    const out = flags.out as string;
    const blocks = flags.vae_blocks as number;
    if (!Number.isInteger(blocks) || blocks < 0 || blocks > 16) throw new UsageError(`--vae_blocks expects an integer in [0, 16], got ${blocks}`);
    let vaeCfg: ConvVAEOptions = {
      encoderChannels: ints('encoder_channels', flags.encoder_channels as string),
      latentShape: [flags.latent_channels as number, 4, 4],
      beta: flags.beta as number,
      seed: flags.seed as number,
      // only when asked for: a default model's options (and checkpoints) are as before
      ...(blocks ? { blocksPerStage: blocks } : {}),
      ...(flags.vae_init === 'he' ? { init: 'he' as const } : {}),
    };
    // The perceptual/adversarial settings: a resumed run continues with the checkpoint's unless given.
    let prev: Partial<TrainVAEOptions> & { perceptualNetwork?: string } = {};
    if (flags.resume) {
      const ck = withCheckpointErrors('--resume', () => loadCheckpoint(out));
      vaeCfg = ck.config.vae as typeof vaeCfg;
      prev = ((ck.config as { training?: object }).training ?? {}) as typeof prev;
      ck.dispose();
    }
    const given = (name: string) => !flags.resume || (args.given ?? []).includes(name);
    const pick = <T>(name: string, field: keyof TrainVAEOptions): T => (given(name) || prev[field] === undefined ? flags[name] : prev[field]) as T;
    const pw = pick<number>('perceptual_weight', 'perceptualWeight');
    const netName = pick<string>('perceptual_network', 'perceptualNetwork');
    const aw = pick<number>('adversarial_weight', 'adversarialWeight');
    const discLr = pick<number>('disc_lr', 'discLr');
    const discSteps = pick<number>('disc_steps', 'discSteps');
    if (!(pw >= 0)) throw new UsageError(`--perceptual_weight expects a number >= 0, got ${pw}`);
    if (!(aw >= 0)) throw new UsageError(`--adversarial_weight expects a number >= 0, got ${aw}`);
    if (!(discLr >= 0)) throw new UsageError(`--disc_lr expects a number >= 0, got ${discLr}`);
    if (!Number.isInteger(discSteps) || discSteps < 1) throw new UsageError(`--disc_steps expects an integer >= 1, got ${discSteps}`);
    const eps = loadData(flags, args.given);
    const vae = createVAE(vaeCfg);
    io.out(`train-vae: ${eps.length} episodes, ${eps.reduce((s, e) => s + e.length, 0)} frames; VAE ${vae.numParameters()} parameters (latent [${vae.latentShape}]${vaeCfg.blocksPerStage ? `, ${vaeCfg.blocksPerStage} residual blocks per stage` : ''}); device ${device}; out ${out}`);
    let perceptualNetwork: TrainVAEOptions['perceptualNetwork'];
    if (pw > 0 && netName === 'encoder') {
      perceptualNetwork = 'encoder';
      io.out(`perceptual: weight ${pw}, features of a frozen copy of the VAE's encoder`);
    } else if (pw > 0) {
      const dir = flags.probe as string | undefined;
      if (dir !== undefined) {
        if (!fs.existsSync(path.join(dir, 'probe.json'))) throw new UsageError(`--probe ${dir}: no semantic probe there (probe.json missing)`);
        perceptualNetwork = loadSemanticProbe(dir).probe;
        io.out(`perceptual: weight ${pw}, features of the semantic probe in ${dir}`);
      } else {
        if (!labelHeadsOf(eps).length)
          throw new UsageError('--perceptual_network probe needs labeled data to train a probe on (the simulator and Moving MNIST have labels), or --probe DIR (a trained probe), or --perceptual_network encoder');
        const pdir = path.join(out, 'probe');
        io.out(`perceptual: no --probe given: training a semantic probe on the training data (${flags.probe_epochs} epochs), saved to ${pdir}`);
        const p = await ensureSemanticProbe(pdir, eps, { epochs: flags.probe_epochs as number, log: (l) => io.out(l), cacheDir: defaultCacheDir() });
        io.out(`perceptual: weight ${pw}, features of the semantic probe ${p.reused ? 'reused from' : 'trained and saved to'} ${pdir}`);
        perceptualNetwork = p.probe;
      }
    }
    if (aw > 0) io.out(`adversarial: weight ${aw}, patch discriminator on pixels (lr ${discLr}, ${discSteps} update${discSteps > 1 ? 's' : ''} per step)`);
    return runTrainer(io, flags, 'vae', (run) =>
      trainVAE(vae, eps, {
        device,
        ...commonTrainOptions(args),
        ...(pw > 0 ? { perceptualWeight: pw, perceptualNetwork } : {}),
        ...(aw > 0 ? { adversarialWeight: aw, discLr, discSteps } : {}),
        ...run,
      }),
    );
  },
};
