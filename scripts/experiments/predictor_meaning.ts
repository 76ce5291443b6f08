// Where does the predictor lose the meaning the VAE keeps? Trains the demo's LSTM predictor over a
// trained, frozen VAE (a checkpoint folder, e.g. runs/demo/vae) with the demo's recipe, changed by
// the options, and scores open-loop rollouts on validation roads (seed 7001: neither the demo's
// training roads nor its test roads) with the demo's probe. Usage:
//   node -r ./test/helpers/ts_register.js scripts/experiments/predictor_meaning.ts runs/demo/vae '{"episodes":96}'
// Options: "episodes" (training episodes of the sim, seed 1, default 24: the demo's), "epochs"
// (default 120), "steps" (optimizer steps instead: epochs = steps / batches per epoch), "train"
// (trainPredictor options over the demo's), "predictor" (createPredictor options over the demo's),
// "lossProbe" (a probe folder for the remedies' terms, e.g. runs/vae_meaning/probe_loss: never the judge).
// Prints retention at steps 1/4/8/16 overall, per head and where the label changed. Results:
// docs/remedies.md.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../../src/data/driving_sim';
import { defaultCacheDir } from '../../src/data/episode_cache';
import { loadVAE } from '../../src/train/load';
import { createPredictor, encodeEpisodes, trainPredictor } from '../../src/train/train_predictor';
import { ensureSemanticProbe, loadSemanticProbe } from '../../src/diagnostics/semantic_probe';
import { evaluateWorldModel } from '../../src/diagnostics/world_model_eval';

(async () => {
  const vaeDir = process.argv[2];
  const cfg = JSON.parse(process.argv[3] ?? '{}');
  if (!vaeDir) throw new Error('usage: predictor_meaning.ts <vae checkpoint folder> [<options json>]');
  const cacheDir = defaultCacheDir();
  const train = generateEpisodes({ episodes: cfg.episodes ?? 24, steps: 160, seed: 1, cacheDir });
  const val = generateEpisodes({ episodes: 8, steps: 160, seed: 7001, cacheDir });
  // the demo's probe (its own episodes, seeds 3001 / 4001): reused from the cache
  const probe = await ensureSemanticProbe('runs/predictor_meaning/probe', generateEpisodes({ episodes: 96, steps: 160, seed: 3001, cacheDir }), {
    heldOut: generateEpisodes({ episodes: 8, steps: 160, seed: 4001, cacheDir }), epochs: 8, seed: 1, cacheDir,
  });
  const vae = loadVAE(vaeDir);
  vae.freeze().eval();
  const latents = encodeEpisodes(vae, train);
  const predictor = createPredictor(vae, { hiddenSize: 256, actionSize: 3, residualPrediction: true, useActions: true, seed: 1, ...(cfg.predictor ?? {}) });
  const batchSize = cfg.train?.batchSize ?? 16;
  const seqLen = cfg.train?.seqLen ?? 16;
  // batches per epoch, about: 90% of the episodes train (the rest validate), windows seqLen / 2 apart
  const perEpoch = Math.ceil((Math.round(train.length * 0.9) * (Math.floor((160 - seqLen) / (seqLen / 2)) + 1)) / batchSize);
  const epochs = cfg.steps ? Math.max(1, Math.round(cfg.steps / perEpoch)) : cfg.epochs ?? 120;
  const t0 = Date.now();
  const r = await trainPredictor(predictor, vae, train, {
    latents, epochs, batchSize, lr: 1e-3, lrSchedule: 'cosine', seqLen,
    scheduledSampling: true, samplingSchedule: { decay: 'linear', start: 1, end: 0.25 },
    inputNoiseStd: 0.01, targetJitterScale: 0.005, gradClip: 1, seed: 1,
    ...(cfg.train ?? {}),
    // the remedies' probe (perceptual features, classification on pixels): another probe than the judge
    ...(cfg.lossProbe ? { probe: loadSemanticProbe(cfg.lossProbe).probe } : {}),
  });
  const trainS = (Date.now() - t0) / 1000;
  predictor.eval();
  const evalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-predictor-meaning-'));
  const ev = evaluateWorldModel(vae, predictor, val, evalDir, {
    context: 4, horizon: 16, windows: 192, windowStride: 4, probe, closedLoopRuns: 0, tsne: false, filmstrips: 0,
  });
  fs.rmSync(evalDir, { recursive: true, force: true }); // only the numbers below are kept
  const sem = ev.rollout!.semantic!;
  const at = (a: number[]) => [1, 4, 8, 16].map((k) => +a[k - 1].toFixed(3));
  console.log(JSON.stringify({
    cfg, epochs, steps: r.step, trainS, lastValOpenLoop: r.history[r.history.length - 1]?.valOpenLoop,
    retention: at(sem.overall.retention), copyLast: at(sem.overall.copyLastRetention),
    changed: at(sem.overall.changed.accuracy.predicted),
    ceiling: at(sem.overall.reconstructionRetention),
    heads: Object.fromEntries(sem.perHead.map((h) => [h.name, at(h.retention)])),
    psnr16: +ev.rollout!.psnrVsReal[15].toFixed(2),
  }));
})();
