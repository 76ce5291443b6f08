/** `worldkit train-predictor`: fit the latent predictor (LSTM or Transformer) on a frozen VAE's latents (src/train/train_predictor.ts). */
import * as path from 'path';
import { Command } from '../command';
import { PredictorConfig, createPredictor, predictorFromConfig, trainPredictor } from '../../train/train_predictor';
import { rememberConfig } from '../../train/train_vae';
import { loadCheckpoint } from '../../train/checkpoint';
import type { LatentSequenceModel } from '../../models/latent_sequence_model';
import { COMMON_TRAIN_FLAGS, DATA_FLAGS, DEVICE_FLAG, deviceFlag, loadData, openVAE, withCheckpointErrors, REMEDY_FLAGS, remedyFlags, commonTrainOptions, sequenceTrainOptions, probeForRemedies, PREDICTOR_MODEL_FLAGS, predictorModelOptions, runTrainer } from '../train_support';
import { END_TO_END_FLAGS, runEndToEnd, wantsEndToEnd } from '../end_to_end';
import { PIXEL_PREDICTOR_FLAGS, runPixelPredictor, wantsPixelPredictor } from '../pixel_predictor';

export const command: Command = {
  name: 'train-predictor',
  summary: 'train the latent predictor (LSTM or Transformer) on a frozen VAE (the seed flags: --hidden_size --scheduled_sampling ...)',
  usage: `worldkit train-predictor --vae runs/vae [--data sim|path] [--out runs/predictor] [flags]

Encodes every frame once with the frozen VAE, then trains the predictor on windows of
--seq_len latents: teacher forcing, or --scheduled_sampling (pTrue decays linearly 1 -> 0.25
over the epochs; --burn_in k keeps the first k inputs of each window true). Example, the seed
review's run:
  worldkit train-predictor --vae runs/vae --epochs 40 --batch_size 4 --lr 1e-4 --hidden_size 256 \\
    --predictor lstm --residual_prediction --scheduled_sampling --use_actions \\
    --lr_schedule cosine --input_noise_std 0.01 --target_jitter_scale 0.005
--predictor transformer trains a causal Transformer over the latent's tokens instead (--hidden_size
is its token width, default 128; --num_layers blocks, default 2; --num_heads 4; --max_frames 32;
docs/predictors.md).
Remedies (docs/remedies.md): --perceptual_weight, --adversarial_weight, --classification_weight
add loss terms on the predictions (e.g. --perceptual_weight 1 --probe runs/demo/probe).
--predictor convlstm trains a ConvLSTM on the frames themselves, no --vae (--data sim|mmnist|file,
--hidden_channels, --patch_size, --kernel_size, --pixel_loss; docs/predictors.md).
--end_to_end trains the VAE (encoder, decoder) with the predictor on frames instead, from --vae
(--vae_lr, --freeze encoder,decoder,predictor, --pixel_weight, --recon_weight; docs/remedies.md).
Ctrl-C saves a checkpoint and exits; --resume continues it exactly. --device cuda encodes and
trains on the GPU (checkpoints still load on the CPU); without a usable GPU it exits with code 2.`,
  flags: [
    { name: 'vae', type: 'string', metavar: 'dir', help: 'VAE checkpoint (a train-vae --out folder or a ckpt-N folder); required' },
    ...DATA_FLAGS,
    { name: 'out', type: 'string', default: path.join('runs', 'predictor'), metavar: 'dir', help: 'checkpoint and metrics folder' },
    ...COMMON_TRAIN_FLAGS,
    DEVICE_FLAG,
    ...PREDICTOR_MODEL_FLAGS,
    { name: 'scheduled_sampling', type: 'boolean', default: false, help: 'feed own predictions with probability 1 - pTrue (decaying)' },
    { name: 'input_noise_std', type: 'number', default: 0, help: 'std of Gaussian noise on the latent inputs' },
    { name: 'target_jitter_scale', type: 'number', default: 0, help: 'std of Gaussian noise on the target latents' },
    { name: 'seq_len', type: 'int', default: 16, help: 'window length in frames' },
    { name: 'burn_in', type: 'int', default: 0, help: 'with --scheduled_sampling: the first k inputs of each window are always the true latents, sampling applies after them (0..seq_len-1)' },
    ...REMEDY_FLAGS,
    ...END_TO_END_FLAGS,
    ...PIXEL_PREDICTOR_FLAGS,
  ],
  async run(args, io) {
    if (wantsPixelPredictor(args)) return runPixelPredictor(args, io);
    if (wantsEndToEnd(args)) return runEndToEnd(args, io);
    const { flags } = args;
    const device = deviceFlag(flags);
    const vae = openVAE(flags.vae, device);
    const out = flags.out as string;
    const eps = loadData(flags, args.given);
    let predictor: LatentSequenceModel;
    if (flags.resume) {
      const ck = withCheckpointErrors('--resume', () => loadCheckpoint(out));
      const cfg = ck.config.predictor as PredictorConfig;
      ck.dispose();
      predictor = predictorFromConfig(cfg);
      rememberConfig(predictor, { ...cfg });
    } else {
      predictor = createPredictor(vae, predictorModelOptions(args, eps[0].actionDim, flags.seed as number));
    }
    const remedies = remedyFlags(flags);
    const probe = await probeForRemedies(flags, eps, out, io);
    io.out(`train-predictor: ${eps.length} episodes; ${predictor.describe()}, ${predictor.numParameters()} parameters; device ${device}; out ${out}`);
    return runTrainer(io, flags, 'predictor', (run) =>
      trainPredictor(predictor, vae, eps, {
        device,
        ...commonTrainOptions(args),
        ...sequenceTrainOptions(flags),
        ...remedies,
        probe,
        ...run,
      }),
    );
  },
};
