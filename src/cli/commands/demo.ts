/** `worldkit demo`: data, VAE, predictor, evaluation and filmstrips in one run (src/train/demo.ts). */
import * as path from 'path';
import { Command } from '../command';
import { DEMO_FULL, DEMO_QUICK, runDemo } from '../../train/demo';
import type { ConvVAEOptions } from '../../models/conv_vae';
import type { Device } from '../../tensor/memory';
import { DEVICE_FLAG, deviceFlag, interruptible, progress } from '../train_support';

/**
 * The demo's VAE options with `device` added: createVAE builds the VAE there, trainVAE and
 * trainPredictor default to their model's device and createPredictor to the VAE's, so every
 * phase of runDemo (training, encoding, rollouts, evaluation) runs on it.
 */
function vaeOn(quick: boolean, device: Device): ConvVAEOptions {
  const o: ConvVAEOptions & { device: Device } = { ...(quick ? DEMO_QUICK : DEMO_FULL).vae, device };
  return o;
}

export const command: Command = {
  name: 'demo',
  summary: 'the whole job on the embedded driving data: train VAE + predictor, evaluate, write runs/demo',
  usage: `worldkit demo [--out runs/demo] [--quick]

Generates driving-simulator episodes (cached), trains the VAE, freezes it, trains the LSTM
predictor on its latents (scheduled sampling, input noise, target jitter, cosine LR), evaluates
open-loop rollouts against copy-last-frame, and writes checkpoints, metrics, filmstrips, charts
and summary.md to --out. Sized for about 15 minutes on 2 cores; --quick takes about a minute.
Ctrl-C saves a checkpoint of the phase in progress and exits. --device cuda runs every phase on
the GPU (exit code 2 without one).`,
  flags: [
    { name: 'out', type: 'string', default: path.join('runs', 'demo'), metavar: 'dir', help: 'output folder' },
    { name: 'quick', type: 'boolean', default: false, help: 'tiny data and models (about a minute)' },
    { name: 'seed', type: 'int', default: 1, help: 'seed of data, weights and noise' },
    { name: 'cache_dir', type: 'string', metavar: 'dir', help: 'episode cache (default $WORLDKIT_CACHE or ~/.cache/worldkit)' },
    DEVICE_FLAG,
  ],
  async run({ flags }, io) {
    const device = deviceFlag(flags);
    const intr = interruptible(io);
    try {
      const r = await runDemo({
        outDir: flags.out as string,
        quick: flags.quick as boolean,
        seed: flags.seed as number,
        config: { vae: vaeOn(flags.quick as boolean, device) },
        cacheDir: (flags.cache_dir as string | undefined) ?? undefined,
        log: (l) => io.out(l),
        callbacks: (phase) => progress(io, phase),
        signal: intr.signal,
        onPhase: (name, ms) => io.out(`${name}: ${(ms / 1000).toFixed(1)} s`),
      });
      if (r.interrupted) {
        io.out(`interrupted: checkpoints are in ${r.outDir}`);
        return 130;
      }
      const s = r.rollout.summary;
      io.out('');
      io.out(`done in ${r.seconds.toFixed(0)} s`);
      io.out(`VAE reconstruction: MSE ${r.reconstruction.mse.toExponential(2)}, PSNR ${r.reconstruction.psnr.toFixed(2)} dB, SSIM ${r.reconstruction.ssim.toFixed(3)}`);
      io.out(`rollout (mean over ${r.rollout.horizon} steps): latent MSE ${s.latentMse.toExponential(3)} vs copy-last ${s.baselineLatentMse.toExponential(3)}; PSNR vs real ${s.psnrVsReal.toFixed(2)} dB (copy-last ${s.baselinePsnrVsReal.toFixed(2)}); SSIM ${s.ssimVsReal.toFixed(3)} (copy-last ${s.baselineSsimVsReal.toFixed(3)})`);
      const sem = r.evaluation.rollout?.semantic;
      if (sem) {
        const steps = [1, 4, 8, 16].filter((k) => k <= sem.overall.retention.length);
        io.out(`probe (held-out real frames): ${(r.evaluation.probe?.heads ?? []).map((h) => `${h.name} ${(100 * h.accuracy).toFixed(1)}%${h.reliable ? '' : ' UNRELIABLE'}`).join(', ')}`);
        io.out(`semantic retention (probe accuracy on predictions / on real frames):`);
        for (const k of steps)
          io.out(`  step ${String(k).padStart(2)}: ${sem.overall.retention[k - 1].toFixed(3)} (copy-last ${sem.overall.copyLastRetention[k - 1].toFixed(3)}, VAE recon ${sem.overall.reconstructionRetention[k - 1].toFixed(3)}); where the label changed (n=${sem.overall.changed.count[k - 1]}): model ${(100 * sem.overall.changed.accuracy.predicted[k - 1]).toFixed(1)}%, copy-last ${(100 * sem.overall.changed.accuracy.copyLast[k - 1]).toFixed(1)}%`);
      }
      io.out(`report: ${r.reportFile}`);
      io.out(`look at: ${r.summaryFile}`);
      io.out(`         ${path.join(r.outDir, 'filmstrip_open_loop.png')} (rows: real / VAE recon / imagined)`);
      io.out(`         ${path.join(r.outDir, 'filmstrip_closed_loop.png')}, ${path.join(r.outDir, 'eval')}/*.svg`);
      return 0;
    } finally {
      intr.release();
    }
  },
};
