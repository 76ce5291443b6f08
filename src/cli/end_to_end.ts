/**
 * `worldkit train-predictor --end_to_end`: the end-to-end path of the train-predictor command
 * (src/train/train_world_model.ts). Kept here so the command file only adds the flags and hands
 * over: the encoder, the decoder and the predictor are trained together on windows of frames,
 * starting from the --vae checkpoint (and a new predictor built from the command's flags), and
 * --out holds both models (loadVAE / loadPredictor open it; eval and rollout take it as --vae
 * and --predictor). --resume rebuilds both from --out's checkpoint (no --vae needed) and
 * continues with its --vae_lr, --freeze, --pixel_weight and --recon_weight unless given again.
 * The remedy flags (--perceptual_weight, --adversarial_weight, --classification_weight, ...) work
 * as without --end_to_end, their gradients reaching the VAE too (docs/remedies.md).
 */
import { FlagSpec, ParsedArgs, UsageError } from './flags';
import { CliIO } from './command';
import { PredictorConfig, createPredictor, predictorFromConfig } from '../train/train_predictor';
import { createVAE, rememberConfig } from '../train/train_vae';
import { loadCheckpoint } from '../train/checkpoint';
import { trainWorldModel, worldModelSizes, WorldModelPart } from '../train/train_world_model';
import { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import type { LatentSequenceModel } from '../models/latent_sequence_model';
import { deviceFlag, loadData, openVAE, remedyFlags, withCheckpointErrors, commonTrainOptions, sequenceTrainOptions, probeForRemedies, predictorModelOptions, runTrainer } from './train_support';

export const END_TO_END_FLAGS: FlagSpec[] = [
  { name: 'end_to_end', type: 'boolean', default: false, help: 'train the VAE (encoder, decoder) and the predictor together on frames: recon + KL + latent + decoded-prediction pixel losses' },
  { name: 'vae_lr', type: 'number', help: "with --end_to_end: the VAE's learning rate (default lr / 10), scaled by the lr schedule" },
  { name: 'freeze', type: 'string', metavar: 'parts', help: 'with --end_to_end: parts not trained, comma-separated from encoder, decoder, predictor' },
  { name: 'pixel_weight', type: 'number', help: "with --end_to_end: weight of the decoded predictions' pixel loss, measured like the VAE's reconstruction (default 1)" },
  { name: 'recon_weight', type: 'number', help: "with --end_to_end: weight of the VAE's own recon + beta * KL (default 1)" },
];
const ONLY_END_TO_END = ['vae_lr', 'freeze', 'pixel_weight', 'recon_weight'];

/** Whether the command should take the end-to-end path; the end-to-end flags without --end_to_end are a usage error. */
export function wantsEndToEnd(args: ParsedArgs): boolean {
  if (args.flags.end_to_end) return true;
  const stray = ONLY_END_TO_END.filter((k) => (args.given ?? []).includes(k));
  if (stray.length) throw new UsageError(`--${stray[0]} needs --end_to_end (it sets the end-to-end training of the VAE with the predictor)`);
  return false;
}

function parseFreeze(v: unknown): WorldModelPart[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map((s) => s.trim()).filter((s) => s.length);
  const bad = parts.find((p) => !['encoder', 'decoder', 'predictor'].includes(p));
  if (bad !== undefined) throw new UsageError(`--freeze: unknown part '${bad}' (the parts are encoder, decoder, predictor, comma-separated)`);
  if (new Set(parts).size === 3) throw new UsageError('--freeze: encoder, decoder and predictor are all frozen: nothing would be trained');
  return [...new Set(parts)] as WorldModelPart[];
}

export async function runEndToEnd(args: ParsedArgs, io: CliIO): Promise<number> {
  const { flags } = args;
  const given = (k: string) => (args.given ?? []).includes(k);
  const device = deviceFlag(flags);
  const freeze = parseFreeze(flags.freeze);
  const out = flags.out as string;
  const eps = loadData(flags, args.given);
  let vae: ConvVAE;
  let predictor: LatentSequenceModel;
  if (flags.resume) {
    // Both models as the run built them; the trainer then loads their weights.
    const ck = withCheckpointErrors('--resume', () => loadCheckpoint(out));
    const vcfg = ck.config.vae as ConvVAEOptions | undefined;
    const pcfg = ck.config.predictor as PredictorConfig | undefined;
    const kind = ck.kind;
    ck.dispose();
    if (kind !== 'world_model' || !vcfg || !pcfg) throw new UsageError(`--resume: ${out} holds a '${kind}' run, not an end-to-end one (resume it without --end_to_end, or choose another --out)`);
    vae = createVAE({ ...vcfg, device });
    predictor = predictorFromConfig(pcfg);
    rememberConfig(predictor, { ...pcfg });
  } else {
    vae = openVAE(flags.vae, device);
    predictor = createPredictor(vae, predictorModelOptions(args, eps[0].actionDim, flags.seed as number));
  }
  const remedies = remedyFlags(flags);
  if (remedies.perceptualWeight > 0 && remedies.perceptualNetwork === 'encoder' && !(freeze ?? []).includes('encoder') && !flags.resume)
    throw new UsageError('--perceptual_network encoder with --end_to_end needs --freeze encoder (an encoder trained on its own verdicts can lower the loss by changing its features); or use the probe');
  const probe = await probeForRemedies(flags, eps, out, io);
  const n = worldModelSizes(vae, predictor);
  io.out(`train-predictor (end-to-end): ${eps.length} episodes; encoder ${n.encoder}, decoder ${n.decoder}, predictor ${n.predictor} parameters${freeze?.length ? `; frozen: ${freeze.join(', ')}` : ''}; device ${device}; out ${out}`);
  return runTrainer(io, flags, 'world model', (run) =>
    trainWorldModel(vae, predictor, eps, {
      device,
      ...commonTrainOptions(args),
      ...sequenceTrainOptions(flags),
      // Not given on a resumed run: the checkpoint's values.
      vaeLr: given('vae_lr') ? (flags.vae_lr as number) : undefined,
      freeze,
      pixelWeight: given('pixel_weight') ? (flags.pixel_weight as number) : undefined,
      reconWeight: given('recon_weight') ? (flags.recon_weight as number) : undefined,
      ...remedies,
      probe,
      ...run,
    }),
  );
}
