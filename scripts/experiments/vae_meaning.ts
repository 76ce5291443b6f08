// Does a perceptual loss through a probe's trunk keep the meaning (lane, curve, speed) in VAE
// reconstructions? Trains the demo's VAE on the demo's data for a budget and scores the
// reconstructions of its validation episodes (never the test roads) with the demo's probe; the
// perceptual term reads a second probe (other episodes, other seed), not the judge. Usage:
//   node -r ./test/helpers/ts_register.js scripts/experiments/vae_meaning.ts '{"perceptualWeight":0.1}' 2
import { generateEpisodes } from '../../src/data/driving_sim';
import { createVAE, trainVAE } from '../../src/train/train_vae';
import { splitEpisodes } from '../../src/train/data';
import { ensureSemanticProbe } from '../../src/diagnostics/semantic_probe';
import { evaluateVAE } from '../../src/diagnostics/evaluate';
import { defaultCacheDir } from '../../src/data/episode_cache';

(async () => {
  const cfg = JSON.parse(process.argv[2] ?? '{}');
  const minutes = Number(process.argv[3] ?? 2);
  const cacheDir = defaultCacheDir();
  const train = generateEpisodes({ episodes: 24, steps: 160, seed: 1, cacheDir });
  const { val } = splitEpisodes(train, 0.1, 1);
  // the judge: the demo's probe (seed 3001 data, held-out 4001); the loss probe: other data (5001, 6001)
  const judge = await ensureSemanticProbe('runs/vae_meaning/probe_judge', generateEpisodes({ episodes: 96, steps: 160, seed: 3001, cacheDir }), { heldOut: generateEpisodes({ episodes: 8, steps: 160, seed: 4001, cacheDir }), epochs: 8, seed: 1, cacheDir });
  const lossProbe = await ensureSemanticProbe('runs/vae_meaning/probe_loss', generateEpisodes({ episodes: 32, steps: 160, seed: 5001, cacheDir }), { heldOut: generateEpisodes({ episodes: 8, steps: 160, seed: 6001, cacheDir }), epochs: 5, seed: 2, cacheDir });
  const vae = createVAE({ encoderChannels: [16, 32, 64, 128], latentShape: [64, 4, 4], beta: 0.25, seed: 1, ...(cfg.vae ?? {}) });
  const t0 = Date.now();
  const r = await trainVAE(vae, train, {
    budgetMinutes: minutes, batchSize: 32, lr: 2e-3, lrSchedule: 'cosine', seed: 1, metricsFile: null,
    ...(cfg.perceptualWeight ? { perceptualWeight: cfg.perceptualWeight, perceptualNetwork: cfg.net === 'encoder' ? 'encoder' : lossProbe.probe } : {}),
    ...(cfg.adversarialWeight ? { adversarialWeight: cfg.adversarialWeight } : {}),
    callbacks: { onNote: (m: string) => console.log('note:', m) },
  });
  const rep = evaluateVAE(vae, val, { probe: judge.probe, maxFrames: 320 });
  console.log(JSON.stringify({ cfg, minutes, steps: r.step, wallS: (Date.now() - t0) / 1000, psnr: rep.psnr, ssim: rep.ssim, probe: rep.probeAccuracy }, null, 0).slice(0, 1500));
})();
