// Does a perceptual loss through a probe's trunk keep the meaning (lane, curve, speed) in VAE
// reconstructions? Trains the demo's VAE on the demo's data for a budget and scores the
// reconstructions of its validation episodes (never the test roads) with the demo's probe; the
// perceptual term reads a second probe (other episodes, other seed), not the judge. Usage:
//   node -r ./test/helpers/ts_register.js scripts/experiments/vae_meaning.ts '{"perceptualWeight":0.1}' 2
// (the last argument: minutes of training, or e<N> for N epochs). Other options: "vae" (createVAE options), "train"
// (trainVAE options, e.g. {"lr":1e-3,"metricsFile":"m.jsonl"}), "png" (a file for 8 validation
// frames above their reconstructions), "initScale" (a factor on the convs' initial weights),
// "heEffectiveFanIn" (He initialization counting a transposed conv's fan-in per output pixel). It also prints the training frames' PSNR (fitPsnr), to
// tell underfitting from overfitting. Results: docs/remedies.md.
import { generateEpisodes } from '../../src/data/driving_sim';
import { createVAE, trainVAE } from '../../src/train/train_vae';
import { gatherFrames, splitEpisodes } from '../../src/train/data';
import { ensureSemanticProbe } from '../../src/diagnostics/semantic_probe';
import { evaluateVAE } from '../../src/diagnostics/evaluate';
import { defaultCacheDir } from '../../src/data/episode_cache';
import { encodeFrames, decodeLatents, saveFilmstrip } from '../../src/rollout/index';

(async () => {
  const cfg = JSON.parse(process.argv[2] ?? '{}');
  // minutes of training, or 'e<N>' for N epochs (the same steps whatever else runs on the machine)
  const arg = process.argv[3] ?? '2';
  const epochs = arg.startsWith('e') ? Number(arg.slice(1)) : undefined;
  const minutes = epochs === undefined ? Number(arg) : undefined;
  const cacheDir = defaultCacheDir();
  const train = generateEpisodes({ episodes: 24, steps: 160, seed: 1, cacheDir });
  const { train: fit, val } = splitEpisodes(train, 0.1, 1);
  // the judge: the demo's probe (seed 3001 data, held-out 4001); the loss probe: other data (5001, 6001)
  const judge = await ensureSemanticProbe('runs/vae_meaning/probe_judge', generateEpisodes({ episodes: 96, steps: 160, seed: 3001, cacheDir }), { heldOut: generateEpisodes({ episodes: 8, steps: 160, seed: 4001, cacheDir }), epochs: 8, seed: 1, cacheDir });
  const lossProbe = await ensureSemanticProbe('runs/vae_meaning/probe_loss', generateEpisodes({ episodes: 32, steps: 160, seed: 5001, cacheDir }), { heldOut: generateEpisodes({ episodes: 8, steps: 160, seed: 6001, cacheDir }), epochs: 5, seed: 2, cacheDir });
  const vae = createVAE({ encoderChannels: [16, 32, 64, 128], latentShape: [64, 4, 4], beta: 0.25, seed: 1, ...(cfg.vae ?? {}) });
  if (cfg.initScale) {
    // (createVAE's init: 'he' is initScale sqrt(6) = 2.449) scale the initial weights of every conv layer (not the mu/logvar heads): PyTorch's default
    // U(±1/sqrt(fan_in)) keeps 1/6 of the variance He initialization gives a ReLU layer
    for (const [name, p] of vae.namedParameters()) if (/^(encoder|decoder|decoder_in)\..*weight$/.test(name)) { const d = p._data as Float32Array; for (let i = 0; i < d.length; ++i) d[i] *= cfg.initScale; }
  }
  if (cfg.heEffectiveFanIn) {
    // He: variance 2 / fan_in for layers followed by a ReLU, 1 / fan_in for the image logits; a
    // stride-2 4x4 transposed conv's output pixel sums in_channels x 4 taps
    const names = [...vae.namedParameters()].map(([n]) => n).filter((n) => /^(encoder|decoder|decoder_in)\..*weight$/.test(n));
    const last = names[names.length - 1];
    for (const [name, p] of vae.namedParameters()) {
      if (!names.includes(name)) continue;
      const [a, b, kh, kw] = p.shape;
      const transposed = name.startsWith('decoder.');
      const fanIn = transposed ? (a * kh * kw) / 4 : b * kh * kw;
      const cur = 1 / (3 * b * kh * kw);
      const target = (name === last ? 1 : 2) / fanIn;
      const f = Math.sqrt(target / cur) * (cfg.heGain ?? 1);
      const d = p._data as Float32Array;
      for (let i = 0; i < d.length; ++i) d[i] *= f;
      console.log('init', name, f.toFixed(2));
    }
  }
  const t0 = Date.now();
  const r = await trainVAE(vae, train, {
    ...(epochs === undefined ? { budgetMinutes: minutes } : { epochs }), batchSize: 32, lr: 2e-3, lrSchedule: 'cosine', seed: 1, metricsFile: null, ...(cfg.train ?? {}),
    ...(cfg.perceptualWeight ? { perceptualWeight: cfg.perceptualWeight, perceptualNetwork: cfg.net === 'encoder' ? 'encoder' : lossProbe.probe } : {}),
    ...(cfg.adversarialWeight ? { adversarialWeight: cfg.adversarialWeight } : {}),
    callbacks: { onNote: (m: string) => console.log('note:', m) },
  });
  const rep = evaluateVAE(vae, val, { probe: judge.probe, maxFrames: 320 });
  const fitRep = evaluateVAE(vae, fit, { maxFrames: 320 }); // over- or underfitting?
  if (cfg.png) {
    // 8 validation frames spread over the episodes: real above, reconstruction below
    const refs: [number, number][] = Array.from({ length: 8 }, (_, k) => [k % val.length, 20 + 17 * k] as [number, number]);
    const real = gatherFrames(val, refs).data() as Uint8Array;
    const rec = decodeLatents(vae, encodeFrames(vae, real, 8)).frames;
    saveFilmstrip(cfg.png, [real, rec], { frames: 8, scale: 3 });
  }
  console.log(JSON.stringify({ cfg, minutes, epochs, steps: r.step, wallS: (Date.now() - t0) / 1000, psnr: rep.psnr, ssim: rep.ssim, fitPsnr: fitRep.psnr, probe: rep.probeAccuracy?.map((h) => [h.head, +h.reconstruction.toFixed(3)]) }, null, 0).slice(0, 1500));
})();
