/**
 * `worldkit train-predictor --predictor convlstm`: the pixel-space path of the train-predictor
 * command (src/train/train_pixel_predictor.ts). Kept here so the command file only adds the flags
 * and hands over. No VAE: the ConvLSTMPredictor trains on windows of frames, from --data sim (the
 * driving simulator), mmnist (Moving MNIST, generated: --episodes sequences of 20 frames, default
 * 1000, or --steps frames) or a file/folder; --out holds its checkpoints (loadPixelPredictor opens
 * them); --resume rebuilds the model from --out's checkpoint and continues it exactly.
 * The latent predictors' own flags (--vae, --hidden_size, --num_heads, the remedies, ...) are
 * usage errors here.
 */
import { FlagSpec, ParsedArgs, UsageError } from './flags';
import { CliIO } from './command';
import { ConvLSTMPredictor, ConvLSTMPredictorOptions } from '../models/conv_lstm_predictor';
import { trainPixelPredictor } from '../train/train_pixel_predictor';
import { loadCheckpoint } from '../train/checkpoint';
import { channelsOf } from '../data/episode';
import { commonTrainOptions, deviceFlag, loadData, withCheckpointErrors, runTrainer } from './train_support';

export const PIXEL_PREDICTOR_FLAGS: FlagSpec[] = [
  { name: 'hidden_channels', type: 'int', default: 64, help: 'convlstm: hidden channels of each ConvLSTM cell (--num_layers cells, default 2 for it)' },
  { name: 'patch_size', type: 'int', default: 4, help: 'convlstm: space-to-depth factor (64x64x1 frames at 4: 16x16x16 maps)' },
  { name: 'kernel_size', type: 'int', default: 3, help: 'convlstm: odd kernel size of the gate convolutions' },
  { name: 'pixel_loss', type: 'string', default: 'bce', choices: ['bce', 'mse'], help: 'convlstm: loss on the predicted frames (bce on logits, or mse on sigmoid(logits))' },
];
const PIXEL_ONLY = PIXEL_PREDICTOR_FLAGS.map((f) => f.name);

/** Flags of the latent predictors that mean nothing for the pixel-space one. */
const LATENT_ONLY = ['vae', 'hidden_size', 'num_heads', 'max_frames', 'residual_prediction', 'input_noise_std', 'target_jitter_scale', 'end_to_end', 'vae_lr', 'freeze', 'pixel_weight', 'recon_weight',
  'perceptual_weight', 'perceptual_network', 'perceptual_frames', 'adversarial_weight', 'disc_lr', 'disc_steps', 'classification_weight', 'classification_on', 'probe'];

/** Whether the command takes the pixel-space path; the convlstm flags with another predictor are usage errors. */
export function wantsPixelPredictor(args: ParsedArgs): boolean {
  if (args.flags.predictor === 'convlstm') return true;
  const stray = PIXEL_ONLY.filter((k) => (args.given ?? []).includes(k));
  if (stray.length) throw new UsageError(`--${stray[0]} is a ConvLSTM option; add --predictor convlstm`);
  return false;
}

export async function runPixelPredictor(args: ParsedArgs, io: CliIO): Promise<number> {
  const { flags } = args;
  const given = (k: string) => (args.given ?? []).includes(k);
  const stray = LATENT_ONLY.filter(given);
  if (stray.length) throw new UsageError(`--${stray[0]} does not apply to --predictor convlstm (a pixel-space model: no VAE, no latent)`);
  const device = deviceFlag(flags);
  const out = flags.out as string;
  const eps = loadData(flags, args.given);
  const e0 = eps[0];
  let predictor: ConvLSTMPredictor;
  if (flags.resume) {
    const ck = withCheckpointErrors('--resume', () => loadCheckpoint(out));
    const cfg = ck.config.predictor as (ConvLSTMPredictorOptions & { kind?: string }) | undefined;
    const kind = ck.kind;
    ck.dispose();
    if (kind !== 'pixel_predictor' || !cfg || cfg.kind !== 'convlstm') throw new UsageError(`--resume: ${out} holds a '${kind}' run, not a convlstm one (resume it without --predictor convlstm, or choose another --out)`);
    predictor = new ConvLSTMPredictor(cfg);
  } else {
    try {
      predictor = new ConvLSTMPredictor({
        frameShape: [channelsOf(e0), e0.height, e0.width],
        patchSize: flags.patch_size as number,
        hiddenChannels: flags.hidden_channels as number,
        numLayers: given('num_layers') ? (flags.num_layers as number) : 2,
        kernelSize: flags.kernel_size as number,
        actionSize: flags.use_actions ? e0.actionDim : 0,
        loss: flags.pixel_loss as 'bce' | 'mse',
        seed: flags.seed as number,
      });
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^ConvLSTMPredictor: /, '--predictor convlstm: '));
    }
    if (flags.use_actions && e0.actionDim === 0) throw new UsageError('--use_actions: the episodes of --data carry no actions');
  }
  const [C, H, W] = predictor.frameShape;
  io.out(`train-predictor (convlstm): ${eps.length} episodes of ${H}x${W}x${C} frames; ${predictor.numLayers} ConvLSTM cells of ${predictor.hiddenChannels} channels on ${predictor.patchSize}x${predictor.patchSize} patches, ${predictor.numParameters()} parameters; loss ${predictor.lossKind}; device ${device}; out ${out}`);
  return runTrainer(io, flags, 'convlstm', (run) =>
    trainPixelPredictor(predictor, eps, {
      device,
      ...commonTrainOptions(args),
      scheduledSampling: flags.scheduled_sampling as boolean,
      seqLen: flags.seq_len as number,
      burnIn: flags.burn_in as number,
      ...run,
    }),
  );
}
