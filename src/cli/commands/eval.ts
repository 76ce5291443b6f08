/** `worldkit eval`: reconstruction quality and per-step rollout error vs copy-last-frame (src/diagnostics/evaluate.ts). */
import * as path from 'path';
import { Command } from '../command';
import { evaluateRollouts, evaluateVAE, writeEvaluation } from '../../diagnostics/evaluate';
import { DATA_FLAGS, DEVICE_FLAG, deviceFlag, loadData, openPredictor, openVAE } from '../train_support';

export const command: Command = {
  name: 'eval',
  summary: 'evaluate: VAE MSE/PSNR/SSIM, rollout latent/pixel error per step vs copy-last-frame; JSON + SVG',
  usage: `worldkit eval --vae runs/demo/vae [--predictor runs/demo/predictor] [flags]

Without --predictor only the VAE's reconstruction is measured. Writes eval.json and
*_per_step.svg charts to --out. --device cuda runs the models on the GPU (exit code 2 without one).`,
  flags: [
    { name: 'vae', type: 'string', metavar: 'dir', help: 'VAE checkpoint; required' },
    { name: 'predictor', type: 'string', metavar: 'dir', help: 'predictor checkpoint' },
    ...DATA_FLAGS.map((f) => (f.name === 'data_seed' ? { ...f, default: 1001, help: 'sim: seed (default: unlike the training data)' } : f.name === 'episodes' ? { ...f, default: 4 } : f)),
    { name: 'context', type: 'int', default: 4, help: 'real frames given to the model' },
    { name: 'horizon', type: 'int', default: 16, help: 'imagined steps' },
    { name: 'windows', type: 'int', default: 16, help: 'rollout windows evaluated' },
    { name: 'out', type: 'string', default: path.join('runs', 'eval'), metavar: 'dir', help: 'output folder' },
    DEVICE_FLAG,
  ],
  async run({ flags }, io) {
    const device = deviceFlag(flags);
    const vae = openVAE(flags.vae, device);
    const predictor = flags.predictor !== undefined ? openPredictor(flags.predictor, device) : null;
    const eps = loadData(flags);
    const reconstruction = evaluateVAE(vae, eps);
    io.out(`VAE reconstruction (${reconstruction.frames} frames): MSE ${reconstruction.mse.toExponential(3)}, PSNR ${reconstruction.psnr.toFixed(2)} dB, SSIM ${reconstruction.ssim.toFixed(3)}`);
    const rollout = predictor ? evaluateRollouts(predictor, vae, eps, { context: flags.context as number, horizon: flags.horizon as number, maxWindows: flags.windows as number }) : undefined;
    if (rollout) {
      io.out(`step  latentMSE  copy-last  PSNR(real)  copy-last  SSIM(real)  copy-last`);
      for (let k = 0; k < rollout.horizon; ++k)
        io.out(`${String(k + 1).padStart(4)}  ${rollout.latentMse[k].toExponential(2)}   ${rollout.baselineLatentMse[k].toExponential(2)}   ${rollout.psnrVsReal[k].toFixed(2).padStart(8)}  ${rollout.baselinePsnrVsReal[k].toFixed(2).padStart(8)}   ${rollout.ssimVsReal[k].toFixed(3).padStart(8)}  ${rollout.baselineSsimVsReal[k].toFixed(3).padStart(8)}`);
    }
    const files = writeEvaluation(flags.out as string, { reconstruction, rollout });
    io.out(`wrote ${files.join(', ')}`);
    return 0;
  },
};
