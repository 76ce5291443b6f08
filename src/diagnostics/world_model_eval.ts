/**
 * evaluateWorldModel: every diagnostic of a trained VAE (+ predictor) on held-out episodes, written
 * to one folder in the format of eval_schema.ts, which `worldkit report` turns into report.html.
 *
 *   reconstruction   MSE / PSNR / SSIM, per label class, probe accuracy on real vs reconstructed
 *   rollout          per step: latent MSE, PSNR, SSIM vs copy-last; semantic retention (all
 *                    windows and the changed-label subset); real-vs-predicted separability and
 *                    Fréchet distance of the latents
 *   closedLoop       semantic retention of dreams a lane-keeping policy drives in (simulator only)
 *   tsne.json        real and predicted latents of a few steps embedded jointly (one t-SNE run:
 *                    t-SNE has no transform for new points)
 *   filmstrips.json  + PNG strips: real / reconstruction / predicted rows of a few windows with
 *                    the probe's labels of each imagined frame
 *
 * The probe must come from training data (see semantic_probe.ts); the episodes here are test data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConvVAE } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import type { Episode } from '../data/episode';
import { labelHeadsOf } from '../data/episode';
import { SIM_LABEL_HEADS } from '../data/driving_sim';
import { closedLoopRollout, decodeLatents, encodeFrames, framesToImages, openLoopRollout, saveFilmstrip } from '../rollout/index';
import { evaluateRollouts, evaluateVAE, writeEvaluation } from './evaluate';
import type { TrainedProbe } from './semantic_probe';
import { RetentionAccumulator, readSources } from './semantic_retention';
import { latentDrift } from './latent_distribution';
import { tsne, trustworthiness } from './tsne';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, typeError } from '../errors';
import type { EvalFile, FilmstripFile, TsneFile } from './eval_schema';

export interface WorldModelEvalOptions {
  context?: number;
  horizon?: number;
  /** Open-loop windows evaluated at most (default 96). */
  windows?: number;
  /** Frames between candidate window starts (default 4: overlapping windows, more label changes). */
  windowStride?: number;
  /** The semantic probe and its quality (from trainSemanticProbe / ensureSemanticProbe); without it no semantic metrics. */
  probe?: TrainedProbe;
  /** Closed-loop dreams on the simulator (default 8 when the data is the driving simulator's; 0: none). */
  closedLoopRuns?: number;
  closedLoopSeed?: number;
  /** t-SNE of real vs predicted latents (default on; false: skip). */
  tsne?: false | { steps?: number[]; maxWindows?: number; perplexity?: number; iterations?: number; seed?: number };
  /** Windows drawn as filmstrips (default 3). */
  filmstrips?: number;
  /** A line describing the data, stored in eval.json. */
  data?: string;
  log?(line: string): void;
}

export interface WorldModelEvalResult extends EvalFile {
  files: string[];
}

/** Runs every diagnostic and writes outDir/{eval.json, tsne.json, filmstrips.json, filmstrips/*.png, *.svg}. */
export function evaluateWorldModel(vae: ConvVAE, predictor: LatentSequenceModel | null, episodes: Episode[], outDir: string, opts: WorldModelEvalOptions = {}): WorldModelEvalResult {
  const fn = 'evaluateWorldModel';
  if (!(vae instanceof ConvVAE)) throw typeError(fn, 'vae', 'a ConvVAE', vae);
  if (predictor !== null && !(predictor instanceof LatentSequenceModel)) throw typeError(fn, 'predictor', 'a latent predictor (LatentPredictor, LatentTransformer) or null', predictor);
  if (!Array.isArray(episodes) || !episodes.length) throw typeError(fn, 'episodes', 'a non-empty array of episodes', episodes);
  if (typeof outDir !== 'string' || !outDir) throw typeError(fn, 'outDir', 'a folder path', outDir);
  const log = opts.log ?? (() => {});
  const C = checkInt(fn, 'context', opts.context ?? 4, 1);
  const Hz = checkInt(fn, 'horizon', opts.horizon ?? 16, 1);
  const heads = labelHeadsOf(episodes);
  const labeled = heads.length > 0 && episodes.every((e) => !!e.labels);
  const trained = labeled ? opts.probe : undefined;
  const probe = trained?.probe;
  const out: EvalFile = { data: opts.data };
  if (trained) out.probe = trained.quality;
  else out.semanticNote = labeled ? 'no semantic probe was given, so semantic metrics were not computed' : 'semantic metrics need per-frame labels, and this data has none';
  const unreliable = !!trained && trained.quality.heads.some((h) => !h.reliable);
  fs.mkdirSync(outDir, { recursive: true });

  out.reconstruction = evaluateVAE(vae, episodes, { probe });
  const files: string[] = [];
  if (predictor) {
    const rollout = evaluateRollouts(predictor, vae, episodes, {
      context: C,
      horizon: Hz,
      maxWindows: opts.windows ?? 96,
      windowStride: opts.windowStride ?? 4,
      probe,
      keepSamples: true,
    });
    const samples = rollout.samples!;
    delete rollout.samples;
    if (rollout.semantic) rollout.semantic.probeUnreliable = unreliable;
    if (rollout.windows >= 4) rollout.drift = latentDrift(samples.trueLatents, samples.predLatents, samples.copyLast, samples.latentSize, { seed: 1, windowGroups: Int32Array.from(samples.windows, (w) => w.episode) });
    out.rollout = rollout;
    log(`rollouts: ${rollout.windows} windows of ${C} + ${Hz} frames`);

    // Filmstrips of a few windows spread over the evaluated ones.
    const nStrips = Math.min(opts.filmstrips ?? 3, samples.windows.length);
    const strips: FilmstripFile = { heads, windows: [] };
    const [Ch, FH, FW] = vae.inputShape;
    const per = FH * FW * Ch;
    for (let i = 0; i < nStrips; ++i) {
      const wi = samples.windows[Math.floor((i * samples.windows.length) / nStrips)];
      const ep = episodes[wi.episode];
      const A = ep.actionDim;
      const t0 = wi.start;
      const r = openLoopRollout(predictor, vae, {
        frames: ep.frames.subarray(t0 * per, (t0 + C + Hz) * per),
        actions: ep.actions.subarray(t0 * A, (t0 + C + Hz) * A),
        actionDim: A,
        context: C,
        horizon: Hz,
      });
      const rows: FilmstripFile['windows'][number]['rows'] = [];
      for (const [name, frames] of [['real', r.realFrames!], ['reconstruction', r.reconFrames!], ['predicted', r.predFrames]] as const) {
        const file = path.join('filmstrips', `window${i + 1}_${name}.png`);
        saveFilmstrip(path.join(outDir, file), [frames], { frames: Hz, scale: 2, height: FH, width: FW, channels: Ch });
        rows.push({ name, file });
      }
      const nh = heads.length;
      const toRows = (a?: Int32Array) => (a ? Array.from({ length: Hz }, (_, k) => Array.from(a.subarray(k * nh, (k + 1) * nh))) : []);
      strips.windows.push({
        title: `${ep.source ?? `episode ${wi.episode}`}, frames ${t0}..${t0 + C + Hz - 1} (${C} context, ${Hz} imagined)`,
        mode: 'open loop',
        context: C,
        horizon: Hz,
        frameWidth: 2 * FW,
        frameHeight: 2 * FH,
        rows,
        trueLabels: toRows(wi.trueLabels),
        predictedLabels: toRows(wi.predictedLabels),
      });
    }
    const stripFile = path.join(outDir, 'filmstrips.json');
    writeFileAtomic(stripFile, JSON.stringify(strips) + '\n');
    files.push(stripFile);

    // t-SNE needs a handful of points per side to mean anything (and its perplexity < n / 3).
    if (opts.tsne !== false && rollout.windows >= 5) {
      const t = opts.tsne ?? {};
      const steps = (t.steps ?? [1, 4, 8, 16]).filter((k) => k >= 1 && k <= Hz);
      const W = Math.min(t.maxWindows ?? 64, rollout.windows);
      const D = samples.latentSize;
      const n = 2 * steps.length * W;
      const pts = new Float32Array(n * D);
      const meta: TsneFile['points'] = [];
      const nh = heads.length;
      let row = 0;
      for (const source of ['real', 'predicted'] as const)
        for (const k of steps)
          for (let j = 0; j < W; ++j) {
            const w = Math.floor((j * rollout.windows) / W);
            const src = source === 'real' ? samples.trueLatents[k - 1] : samples.predLatents[k - 1];
            pts.set(src.subarray(w * D, (w + 1) * D), row * D);
            meta.push({ x: 0, y: 0, source, step: k, labels: labeled ? Array.from(samples.labels[k - 1].subarray(w * nh, (w + 1) * nh)) : [] });
            row++;
          }
      const perplexity = Math.min(t.perplexity ?? 30, Math.floor((n - 1) / 3));
      const iterations = t.iterations ?? 1000;
      const seed = t.seed ?? 0;
      const t0 = performance.now();
      const emb = tsne(pts, { dim: D, perplexity, iterations, seed });
      meta.forEach((p, i) => {
        p.x = emb.embedding[2 * i];
        p.y = emb.embedding[2 * i + 1];
      });
      const tw = trustworthiness(pts, emb.embedding, n, Math.min(5, Math.ceil(n / 2) - 1));
      log(`t-SNE: ${n} latents (real and predicted, steps ${steps.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s, trustworthiness ${tw.toFixed(3)}`);
      const tf: TsneFile = { perplexity, iterations, seed, trustworthiness: tw, heads, points: meta };
      const file = path.join(outDir, 'tsne.json');
      writeFileAtomic(file, JSON.stringify(tf) + '\n');
      files.push(file);
    }

    const isSim = labeled && heads.length === SIM_LABEL_HEADS.length && heads.every((h, i) => h.name === SIM_LABEL_HEADS[i].name) && predictor.actionSize === 3 && predictor.useActions;
    const runs = opts.closedLoopRuns ?? (isSim ? 8 : 0);
    if (runs > 0 && isSim && probe) out.closedLoop = closedLoopSemantics(predictor, vae, trained!, runs, Hz, opts.closedLoopSeed ?? 5000, unreliable);
  }
  files.push(...writeEvaluation(outDir, out));
  return { ...out, files };
}

/** Semantic retention of closed-loop dreams on the simulator (runs whose real sim survived the horizon). */
function closedLoopSemantics(predictor: LatentSequenceModel, vae: ConvVAE, trained: TrainedProbe, runs: number, Hz: number, seed: number, unreliable: boolean): EvalFile['closedLoop'] {
  const probe = trained.probe;
  const heads = SIM_LABEL_HEADS;
  const acc = new RetentionAccumulator(heads, Hz);
  const img = 3 * 64 * 64;
  const C = 8;
  for (let r = 0; r < runs; ++r) {
    const cl = closedLoopRollout(predictor, vae, { seed: seed + r, context: C, horizon: Hz });
    if (cl.realSteps < Hz) continue;
    const dream = framesToImages(cl.dreamFrames, Hz);
    const real = framesToImages(cl.realFrames, Hz);
    const recon = decodeLatents(vae, encodeFrames(vae, cl.realFrames, Hz)).images;
    const ctx = framesToImages(cl.contextFrames, C);
    const lastReal = ctx.subarray((C - 1) * img, C * img);
    const lastRecon = decodeLatents(vae, encodeFrames(vae, cl.contextFrames.subarray((C - 1) * 64 * 64 * 3), 1)).images;
    const beforeLast = ctx.subarray((C - 2) * img, (C - 1) * img);
    const read = readSources(probe, { predicted: dream, reconstruction: recon, real, lastReal, lastRecon, beforeLast }, Hz);
    acc.addWindow(cl.realLabels, cl.contextLabels.subarray((C - 1) * heads.length, C * heads.length), read);
  }
  return { horizon: Hz, windows: acc.count, semantic: acc.count ? acc.result(unreliable) : undefined };
}
