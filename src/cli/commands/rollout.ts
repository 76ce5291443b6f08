/** `worldkit rollout`: imagine from context frames (open loop) or dream while a policy drives (closed loop); PNG filmstrips. */
import * as path from 'path';
import type { Command } from '../command';
import { FlagValues, UsageError } from '../flags';
import type { CliIO } from '../command';
import type { Device } from '../../tensor/memory';
import { closedLoopRollout, openLoopRollout, saveFilmstrip } from '../../rollout/index';
import { pixelRollout } from '../../rollout/pixel_rollout';
import { DATA_FLAGS, DEVICE_FLAG, deviceFlag, isPixelPredictorCheckpoint, loadData, openPixelPredictor, openPredictor, openVAE } from '../train_support';

export const command: Command = {
  name: 'rollout',
  summary: 'roll a trained world model out and write filmstrips (real / VAE recon / imagined)',
  usage: `worldkit rollout --vae runs/demo/vae --predictor runs/demo/predictor [flags]
       worldkit rollout --predictor runs/convlstm [flags]          (a pixel-space ConvLSTM: no --vae)

Open loop (default): for --count sequences of the dataset, encode --context real frames and
imagine --horizon more under the recorded actions. --closed_loop: the world model dreams while a
lane-keeping policy drives on the dreamed frames; the real simulator runs the same actions.
--device cuda runs the models on the GPU (exit code 2 without one).`,
  flags: [
    { name: 'vae', type: 'string', metavar: 'dir', help: 'VAE checkpoint; required for a latent predictor (LSTM, Transformer)' },
    { name: 'predictor', type: 'string', metavar: 'dir', help: 'predictor checkpoint; required' },
    ...DATA_FLAGS,
    { name: 'context', type: 'int', default: 4, help: 'real frames given to the model' },
    { name: 'horizon', type: 'int', default: 16, help: 'imagined steps' },
    { name: 'count', type: 'int', default: 3, help: 'sequences in the filmstrip' },
    { name: 'closed_loop', type: 'boolean', default: false, help: 'dream with a policy in the driving simulator' },
    { name: 'out', type: 'string', default: path.join('runs', 'rollout', 'filmstrip.png'), metavar: 'file.png', help: 'filmstrip PNG' },
    DEVICE_FLAG,
  ],
  async run({ flags, given }, io) {
    const device = deviceFlag(flags);
    if (isPixelPredictorCheckpoint(flags.predictor)) return pixelFilmstrip(flags, given ?? [], device, io);
    const vae = openVAE(flags.vae, device);
    const predictor = openPredictor(flags.predictor, device);
    const C = flags.context as number, H = flags.horizon as number;
    const out = flags.out as string;
    const [Ch, FH, FW] = vae.inputShape;
    const per = FH * FW * Ch;
    if (flags.closed_loop) {
      const r = closedLoopRollout(predictor, vae, { seed: flags.data_seed as number, context: Math.max(C, 1), horizon: H });
      saveFilmstrip(out, [r.realFrames.subarray(0, r.realSteps * per), r.dreamFrames], { frames: H, scale: 2 });
      io.out(`closed loop: ${H} dreamed steps (real sim ran ${r.realSteps}); rows: real sim / dream -> ${out}`);
      return 0;
    }
    const eps = loadData(flags, given).filter((e) => e.length >= C + H);
    if (!eps.length) throw new UsageError(`no episode has --context + --horizon = ${C + H} frames`);
    const rows: Uint8Array[] = [];
    for (let i = 0; i < Math.min(flags.count as number, eps.length); ++i) {
      const e = eps[i];
      const r = openLoopRollout(predictor, vae, { frames: e.frames.subarray(0, (C + H) * per), actions: e.actions.subarray(0, (C + H) * e.actionDim), actionDim: e.actionDim, context: C, horizon: H });
      rows.push(r.realFrames!, r.reconFrames!, r.predFrames);
    }
    saveFilmstrip(out, rows, { frames: H, scale: 2, height: FH, width: FW, channels: Ch });
    io.out(`open loop: ${rows.length / 3} sequences, ${C} context frames, ${H} imagined; rows: real / VAE recon / imagined -> ${out}`);
    return 0;
  },
};

/** The open-loop filmstrip of a pixel-space predictor: rows real / imagined (no VAE in the loop). */
function pixelFilmstrip(flags: FlagValues, given: string[], device: Device, io: CliIO): number {
  if (flags.closed_loop) throw new UsageError('--closed_loop needs a latent predictor and its VAE (the ConvLSTM has no closed-loop dreaming yet)');
  const predictor = openPixelPredictor(flags.predictor, device);
  const C = flags.context as number, H = flags.horizon as number;
  const out = flags.out as string;
  const [Ch, FH, FW] = predictor.frameShape;
  const per = FH * FW * Ch;
  const eps = loadData(flags, given).filter((e) => e.length >= C + H);
  if (!eps.length) throw new UsageError(`no episode has --context + --horizon = ${C + H} frames`);
  const rows: Uint8Array[] = [];
  for (let i = 0; i < Math.min(flags.count as number, eps.length); ++i) {
    const e = eps[i];
    const r = pixelRollout(predictor, { frames: e.frames.subarray(0, (C + H) * per), actions: e.actionDim ? e.actions.subarray(0, (C + H) * e.actionDim) : null, context: C, horizon: H });
    rows.push(r.realFrames!, r.predFrames);
  }
  saveFilmstrip(out, rows, { frames: H, scale: 2, height: FH, width: FW, channels: Ch });
  io.out(`open loop (pixel space): ${rows.length / 2} sequences, ${C} context frames, ${H} imagined; rows: real / imagined -> ${out}`);
  return 0;
}
