/** `worldkit train-vae`: fit the ConvVAE to a dataset's frames (src/train/train_vae.ts). */
import * as path from 'path';
import { Command } from '../command';
import { UsageError } from '../flags';
import { createVAE, trainVAE } from '../../train/train_vae';
import { loadCheckpoint } from '../../train/checkpoint';
import { COMMON_TRAIN_FLAGS, budgetFlags, budgetLine, DATA_FLAGS, DEVICE_FLAG, deviceFlag, interruptible, loadData, resumeAware, progress, withCheckpointErrors } from '../train_support';

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
(latest.json, ckpt-N/) and metrics.jsonl go to --out; --resume continues the latest one exactly.
Ctrl-C saves a checkpoint and exits. --device cuda trains on the GPU (checkpoints still load on
the CPU); without a usable GPU it exits with code 2 and the reason.`,
  flags: [
    ...DATA_FLAGS,
    { name: 'out', type: 'string', default: path.join('runs', 'vae'), metavar: 'dir', help: 'checkpoint and metrics folder' },
    ...COMMON_TRAIN_FLAGS,
    DEVICE_FLAG,
    { name: 'encoder_channels', type: 'string', default: '16,32,64,128', metavar: 'c1,c2,c3,c4', help: 'output channels of the 4 stride-2 encoder convs' },
    { name: 'latent_channels', type: 'int', default: 64, help: 'channels of the [C,4,4] latent' },
    { name: 'beta', type: 'number', default: 1, help: 'weight of the KL term' },
  ],
  async run(args, io) {
    const { flags } = args;
    const opt = resumeAware(args);
    const device = deviceFlag(flags);
    const out = flags.out as string;
    let vaeCfg = { encoderChannels: ints('encoder_channels', flags.encoder_channels as string), latentShape: [flags.latent_channels as number, 4, 4] as [number, number, number], beta: flags.beta as number, seed: flags.seed as number };
    if (flags.resume) {
      const ck = withCheckpointErrors('--resume', () => loadCheckpoint(out));
      vaeCfg = ck.config.vae as typeof vaeCfg;
      ck.dispose();
    }
    const eps = loadData(flags);
    const vae = createVAE(vaeCfg);
    io.out(`train-vae: ${eps.length} episodes, ${eps.reduce((s, e) => s + e.length, 0)} frames; VAE ${vae.numParameters()} parameters; device ${device}; out ${out}`);
    const intr = interruptible(io);
    try {
      const r = await trainVAE(vae, eps, {
        device,
        ...budgetFlags(args),
        batchSize: flags.batch_size as number,
        lr: opt('lr') as number | undefined,
        lrSchedule: opt('lr_schedule') as 'cosine' | undefined,
        gradClip: opt('grad_clip') as number | undefined,
        seed: flags.seed as number,
        validationSplit: flags.validation_split as number,
        patience: flags.patience as number | undefined,
        checkpointDir: out,
        resume: flags.resume as boolean,
        callbacks: progress(io, 'vae'),
        signal: intr.signal,
      });
      const bl = budgetLine(r);
      if (bl) io.out(bl);
      io.out(`${r.stopReason}: ${r.epochs} epochs, step ${r.step}; checkpoint ${r.checkpoint}`);
      return r.stopReason === 'interrupted' ? 130 : 0;
    } finally {
      intr.release();
    }
  },
};
