/**
 * Evaluation of a world model (the project's first review's diagnostics 1 and 3):
 *
 *   evaluateVAE(vae, episodes)            reconstruction MSE / MAE / PSNR / SSIM of held-out frames
 *   evaluateRollouts(predictor, vae, eps) per step of an open-loop horizon, averaged over windows
 *     (every metric is computed per frame, then averaged; definitions in docs/metrics.md):
 *     latentMse                 predicted vs true latent (the quantity training minimises)
 *     pixelMseVsRecon, psnrVsRecon, ssimVsRecon   decoded prediction vs decoded true latent
 *                               (the world model's own error, VAE loss factored out)
 *     pixelMseVsReal, psnrVsReal, ssimVsReal      decoded prediction vs the real frame
 *                               (what a user sees: prediction + VAE error)
 *     frameMseVsReal, frameMaeVsReal              OpenSTL's per-frame MSE / MAE (sums over the frame)
 *     baseline*                 the same for copy-last-frame: the last context latent / the
 *                               decoded last context latent / the last real context frame
 *     recon*VsReal              the VAE's reconstruction of the true frame vs the real frame
 *                               (the ceiling a latent world model can reach)
 *   Frames may have any channel count (the VAE's inputShape[0]: 1 for gray Moving MNIST).
 *   writeEvaluation(dir, report)          eval.json plus SVG charts of error per step
 */
import * as path from 'path';
import { ConvVAE } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import type { Episode } from '../data/episode';
import { channelsOf, frameBytesOf, labelHeadsOf } from '../data/episode';
import { checkFramesFit, gatherFrames } from '../train/data';
import { decodeLatents, encodeFrames, framesToImages, openLoopRollout } from '../rollout/index';
import { frameErrors, framePsnr, mse, ssim } from './image_metrics';
import { lineChartSvg } from './chart';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, typeError } from '../errors';
import { SemanticProbe } from '../models/semantic_probe';
import { headScores } from './semantic_probe';
import { RetentionAccumulator, readSources } from './semantic_retention';
import type { EvalFile, ReconstructionSection, RolloutSection } from './eval_schema';

export type ReconstructionReport = ReconstructionSection;

export interface EvaluateVAEOptions {
  /** Frames evaluated at most, spread evenly over the episodes (default 256). */
  maxFrames?: number;
  /** With a probe (and labeled episodes): its accuracy on the real frames and on their reconstructions. */
  probe?: SemanticProbe;
}

/**
 * Reconstruction quality (z = mu) on up to maxFrames frames spread evenly over the episodes; with
 * labeled episodes also per class of each label head (which situations the VAE fails on).
 */
export function evaluateVAE(vae: ConvVAE, episodes: Episode[], opts: EvaluateVAEOptions = {}): ReconstructionReport {
  const fn = 'evaluateVAE';
  if (!(vae instanceof ConvVAE)) throw typeError(fn, 'vae', 'a ConvVAE', vae);
  if (!Array.isArray(episodes)) throw typeError(fn, 'episodes', 'an array of episodes', episodes);
  const maxFrames = checkInt(fn, 'maxFrames', opts.maxFrames ?? 256, 1);
  if (episodes.length) checkFramesFit(fn, episodes[0], vae.inputShape);
  const [Ch, H, W] = vae.inputShape;
  const probe = opts.probe;
  const refs: [number, number][] = [];
  episodes.forEach((e, i) => {
    // with a probe every frame needs a predecessor
    for (let t = probe?.pairs ? 1 : 0; t < e.length; ++t) refs.push([i, t]);
  });
  if (!refs.length) throw new RangeError(`${fn}: episodes hold no frames to evaluate (${episodes.length} episodes)`);
  const pick = refs.length <= maxFrames ? refs : Array.from({ length: maxFrames }, (_, k) => refs[Math.floor((k * refs.length) / maxFrames)]);
  const n = pick.length;
  const gather = (rs: [number, number][]) => gatherFrames(episodes, rs).data() as Uint8Array;
  const frames = gather(pick);
  const rec = decodeLatents(vae, encodeFrames(vae, frames, n)).images;
  const real = framesToImages(frames, n, H, W, Ch);
  // Per frame (docs/metrics.md): MSE per value, PSNR, SSIM, and OpenSTL's sums over the frame.
  const img = Ch * H * W;
  const frameMse = new Float64Array(n), framePsnrs = new Float64Array(n), frameSsim = new Float64Array(n);
  let sse = 0, sae = 0;
  for (let k = 0; k < n; ++k) {
    const a = rec.subarray(k * img, (k + 1) * img), b = real.subarray(k * img, (k + 1) * img);
    const e = frameErrors(a, b);
    frameMse[k] = e.mse;
    framePsnrs[k] = framePsnr(e.mse);
    frameSsim[k] = ssim(a, b, [Ch, H, W]);
    sse += e.sse;
    sae += e.sae;
  }
  const avg = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / n;
  const report: ReconstructionReport = { frames: n, mse: avg(frameMse), psnr: avg(framePsnrs), ssim: avg(frameSsim), mae: sae / (n * img), frameMse: sse / n, frameMae: sae / n };
  const heads = labelHeadsOf(episodes);
  if (!heads.length || episodes.some((e) => !e.labels)) return report;
  const nh = heads.length;
  const truth = new Int32Array(n * nh);
  pick.forEach(([e, t], k) => truth.set(episodes[e].labels!.subarray(t * nh, (t + 1) * nh), k * nh));
  report.perClass = heads.map((h, j) => ({
    head: h.name,
    classes: h.classes.map((name, c) => {
      let cnt = 0, sm = 0, sp = 0, ss = 0;
      for (let k = 0; k < n; ++k)
        if (truth[k * nh + j] === c) {
          cnt++;
          sm += frameMse[k];
          sp += framePsnrs[k];
          ss += frameSsim[k];
        }
      return { name, frames: cnt, mse: cnt ? sm / cnt : NaN, psnr: cnt ? sp / cnt : NaN, ssim: cnt ? ss / cnt : NaN };
    }),
  }));
  if (probe) {
    const prevRefs = pick.map(([e, t]) => [e, t - 1] as [number, number]);
    const prevFrames = gather(prevRefs);
    const prevRec = probe.pairs ? decodeLatents(vae, encodeFrames(vae, prevFrames, n)).images : null;
    const onReal = probe.classify(real, probe.pairs ? framesToImages(prevFrames, n, H, W, Ch) : null, n);
    const onRec = probe.classify(rec, prevRec, n);
    const sReal = headScores(onReal, truth, heads), sRec = headScores(onRec, truth, heads);
    report.probeAccuracy = heads.map((h, j) => ({ head: h.name, real: sReal[j].accuracy, reconstruction: sRec[j].accuracy }));
  }
  return report;
}

/** Per-step latents and labels of the evaluated windows (for drift metrics and t-SNE; not written to eval.json). */
export interface RolloutSamples {
  /** [k]: true latents at step k, one row of D per window. */
  trueLatents: Float32Array[];
  /** [k]: predicted latents at step k, one row per window. */
  predLatents: Float32Array[];
  /** The last context latent of each window (copy-last in latent space), [windows, D]. */
  copyLast: Float32Array;
  /** [k]: true labels at step k, [windows, heads] (empty when unlabeled). */
  labels: Int32Array[];
  latentSize: number;
  /** Per window: where it starts, and (with a probe) its probe labels per step [horizon, heads] of the predicted frames. */
  windows: { episode: number; start: number; predictedLabels?: Int32Array; trueLabels?: Int32Array }[];
}

export type RolloutReport = RolloutSection & { samples?: RolloutSamples };

export interface EvaluateRolloutOptions {
  context?: number;
  horizon?: number;
  /** Windows evaluated at most (default 16), spread evenly over all candidate windows. */
  maxWindows?: number;
  /** Frames between candidate window starts (default context + horizon: windows do not overlap). */
  windowStride?: number;
  /** With a probe and labeled episodes: semantic retention per step (report.semantic). */
  probe?: SemanticProbe;
  /** Keep per-step latents and labels in report.samples (default false). */
  keepSamples?: boolean;
  /** Windows rolled out together in one batched openLoopRollout (default 16; the results do not depend on it). */
  batch?: number;
}

export function evaluateRollouts(predictor: LatentSequenceModel, vae: ConvVAE, episodes: Episode[], opts: EvaluateRolloutOptions = {}): RolloutReport {
  const fn = 'evaluateRollouts';
  if (!(predictor instanceof LatentSequenceModel)) throw typeError(fn, 'predictor', 'a latent predictor (LatentPredictor, LatentTransformer)', predictor);
  if (!(vae instanceof ConvVAE)) throw typeError(fn, 'vae', 'a ConvVAE', vae);
  if (!Array.isArray(episodes)) throw typeError(fn, 'episodes', 'an array of episodes', episodes);
  const C = checkInt(fn, 'context', opts.context ?? 4, 1);
  const Hz = checkInt(fn, 'horizon', opts.horizon ?? 16, 1);
  const L = C + Hz;
  const stride = checkInt(fn, 'windowStride', opts.windowStride ?? L, 1);
  const maxW = checkInt(fn, 'maxWindows', opts.maxWindows ?? 16, 1);
  const starts: [number, number][] = [];
  episodes.forEach((e, i) => {
    for (let t = 0; t + L <= e.length; t += stride) starts.push([i, t]);
  });
  if (!starts.length) throw new RangeError(`${fn}: no episode has context + horizon = ${L} frames`);
  const pick = starts.length <= maxW ? starts : Array.from({ length: maxW }, (_, k) => starts[Math.floor((k * starts.length) / maxW)]);
  const probe = opts.probe;
  const heads = labelHeadsOf(episodes);
  const labeled = heads.length > 0 && episodes.every((e) => !!e.labels);
  if (probe && !labeled) throw new RangeError(`${fn}: semantic metrics need labeled episodes, and these have none`);
  const sem = probe ? new RetentionAccumulator(heads, Hz) : null;
  const nh = heads.length;
  checkFramesFit(fn, episodes[pick[0][0]], vae.inputShape);
  const [Ch, H, W] = vae.inputShape;
  const per = frameBytesOf({ height: H, width: W, channels: Ch });
  const img = Ch * H * W;
  const zeros = () => new Array(Hz).fill(0);
  const acc: Record<string, number[]> = {};
  for (const k of STEP_KEYS) acc[k] = zeros();
  const D = predictor.latentSize;
  const W_ = pick.length;
  const samples: RolloutSamples | undefined = opts.keepSamples
    ? {
        trueLatents: Array.from({ length: Hz }, () => new Float32Array(W_ * D)),
        predLatents: Array.from({ length: Hz }, () => new Float32Array(W_ * D)),
        copyLast: new Float32Array(W_ * D),
        labels: labeled ? Array.from({ length: Hz }, () => new Int32Array(W_ * nh)) : [],
        latentSize: D,
        windows: [],
      }
    : undefined;
  // Windows are rolled out `batch` at a time (one batched openLoopRollout each; the numbers are
  // those of one window at a time), then scored per window and frame.
  const A = episodes[0].actionDim;
  const batch = checkInt(fn, 'batch', opts.batch ?? 16, 1);
  for (let w0 = 0; w0 < W_; w0 += batch) {
    const part = pick.slice(w0, w0 + batch);
    const B = part.length;
    const frames = new Uint8Array(B * L * per);
    const actions = new Float32Array(B * L * A);
    part.forEach(([e, t0], b) => {
      frames.set(episodes[e].frames.subarray(t0 * per, (t0 + L) * per), b * L * per);
      if (A) actions.set(episodes[e].actions.subarray(t0 * A, (t0 + L) * A), b * L * A);
    });
    const rb = openLoopRollout(predictor, vae, { frames, actions, actionDim: A, context: C, horizon: Hz, batch: B });
    const lastReconAll = decodeLatents(vae, rb.lastContextLatent).images;
    part.forEach(([e, t0], b) => {
      const w = w0 + b;
      const ep = episodes[e];
      const at = (a: Float32Array, n: number) => a.subarray(b * n, (b + 1) * n);
      const r = {
        predLatents: at(rb.predLatents, Hz * D),
        trueLatents: at(rb.trueLatents!, Hz * D),
        predImages: at(rb.predImages, Hz * img),
        reconImages: at(rb.reconImages!, Hz * img),
        lastContextLatent: at(rb.lastContextLatent, D),
      };
      const real = framesToImages(rb.realFrames!.subarray(b * Hz * per, (b + 1) * Hz * per), Hz, H, W, Ch);
      const lastReal = framesToImages(ep.frames.subarray((t0 + C - 1) * per, (t0 + C) * per), 1, H, W, Ch);
      const lastRecon = at(lastReconAll, img);
      const shape = [Ch, H, W];
      for (let k = 0; k < Hz; ++k) {
        const pz = r.predLatents.subarray(k * D, (k + 1) * D);
        const tz = r.trueLatents.subarray(k * D, (k + 1) * D);
        const pi = r.predImages.subarray(k * img, (k + 1) * img);
        const ri = r.reconImages.subarray(k * img, (k + 1) * img);
        const xi = real.subarray(k * img, (k + 1) * img);
        const vsRecon = frameErrors(pi, ri), vsReal = frameErrors(pi, xi), copyVsReal = frameErrors(lastReal, xi), recVsReal = frameErrors(ri, xi);
        acc.latentMse[k] += mse(pz, tz);
        acc.pixelMseVsRecon[k] += vsRecon.mse;
        acc.psnrVsRecon[k] += framePsnr(vsRecon.mse);
        acc.ssimVsRecon[k] += ssim(pi, ri, shape);
        acc.pixelMseVsReal[k] += vsReal.mse;
        acc.psnrVsReal[k] += framePsnr(vsReal.mse);
        acc.ssimVsReal[k] += ssim(pi, xi, shape);
        acc.frameMseVsReal[k] += vsReal.sse;
        acc.frameMaeVsReal[k] += vsReal.sae;
        acc.baselineLatentMse[k] += mse(r.lastContextLatent, tz);
        acc.baselinePixelMseVsRecon[k] += mse(lastRecon, ri);
        acc.baselinePixelMseVsReal[k] += copyVsReal.mse;
        acc.baselinePsnrVsReal[k] += framePsnr(copyVsReal.mse);
        acc.baselineSsimVsReal[k] += ssim(lastReal, xi, shape);
        acc.baselineFrameMseVsReal[k] += copyVsReal.sse;
        acc.baselineFrameMaeVsReal[k] += copyVsReal.sae;
        acc.reconFrameMseVsReal[k] += recVsReal.sse;
        acc.reconFrameMaeVsReal[k] += recVsReal.sae;
        acc.reconPsnrVsReal[k] += framePsnr(recVsReal.mse);
        acc.reconSsimVsReal[k] += ssim(ri, xi, shape);
        if (samples) {
          samples.trueLatents[k].set(tz, w * D);
          samples.predLatents[k].set(pz, w * D);
          if (labeled) samples.labels[k].set(ep.labels!.subarray((t0 + C + k) * nh, (t0 + C + k + 1) * nh), w * nh);
        }
      }
      let windowInfo: RolloutSamples['windows'][number] = { episode: e, start: t0 };
      if (samples) samples.copyLast.set(r.lastContextLatent, w * D);
      if (sem && probe) {
        const truth = ep.labels!.slice((t0 + C) * nh, (t0 + L) * nh);
        const lastContext = ep.labels!.subarray((t0 + C - 1) * nh, (t0 + C) * nh);
        const beforeLast = C >= 2 ? framesToImages(ep.frames.subarray((t0 + C - 2) * per, (t0 + C - 1) * per), 1, H, W, Ch) : lastReal;
        const read = readSources(probe, { predicted: r.predImages, reconstruction: r.reconImages, real, lastReal, lastRecon, beforeLast }, Hz);
        sem.addWindow(truth, lastContext, read);
        windowInfo = { ...windowInfo, predictedLabels: read.predicted, trueLabels: truth };
      }
      samples?.windows.push(windowInfo);
    });
  }
  const n = W_;
  for (const k of Object.keys(acc)) acc[k] = acc[k].map((v) => v / n);
  const report: RolloutReport = {
    context: C,
    horizon: Hz,
    windows: n,
    channels: Ch,
    ...(acc as Record<(typeof STEP_KEYS)[number], number[]>),
    summary: {},
  };
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  for (const k of SUMMARY_KEYS) report.summary[k] = mean(report[k] as number[]);
  if (sem) report.semantic = sem.result(false);
  if (samples) report.samples = samples;
  return report;
}

/** The per-step arrays of a rollout report (see RolloutSection and docs/metrics.md). */
const STEP_KEYS = [
  'latentMse', 'pixelMseVsRecon', 'psnrVsRecon', 'ssimVsRecon', 'pixelMseVsReal', 'psnrVsReal', 'ssimVsReal', 'frameMseVsReal', 'frameMaeVsReal',
  'baselineLatentMse', 'baselinePixelMseVsRecon', 'baselinePixelMseVsReal', 'baselinePsnrVsReal', 'baselineSsimVsReal', 'baselineFrameMseVsReal', 'baselineFrameMaeVsReal',
  'reconFrameMseVsReal', 'reconFrameMaeVsReal', 'reconPsnrVsReal', 'reconSsimVsReal',
] as const;
/** The arrays averaged over the horizon into report.summary. */
const SUMMARY_KEYS = [
  'latentMse', 'baselineLatentMse', 'pixelMseVsReal', 'baselinePixelMseVsReal', 'psnrVsReal', 'baselinePsnrVsReal', 'ssimVsReal', 'baselineSsimVsReal', 'psnrVsRecon', 'ssimVsRecon',
  'frameMseVsReal', 'frameMaeVsReal', 'baselineFrameMseVsReal', 'baselineFrameMaeVsReal', 'reconFrameMseVsReal', 'reconFrameMaeVsReal', 'reconPsnrVsReal', 'reconSsimVsReal',
] as const;

export type EvaluationReport = EvalFile;

/** Writes `eval.json` and, for a rollout report, `latent_mse_per_step.svg`, `pixel_mse_per_step.svg` and `ssim_per_step.svg` to `dir`. Returns the files. */
export function writeEvaluation(dir: string, report: EvaluationReport): string[] {
  const files: string[] = [];
  const json = path.join(dir, 'eval.json');
  // rollout.samples (typed arrays of latents) are working data, not results
  const { samples: _samples, ...rolloutOnly } = (report.rollout ?? {}) as RolloutReport;
  const plain = report.rollout ? { ...report, rollout: rolloutOnly } : report;
  writeFileAtomic(json, JSON.stringify(plain, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
  files.push(json);
  const r = report.rollout;
  if (r) {
    const chart = (name: string, title: string, y: string, series: { name: string; values: number[] }[], logY = false) => {
      const f = path.join(dir, name);
      writeFileAtomic(f, lineChartSvg({ title, xLabel: 'rollout step', yLabel: y, series, logY }));
      files.push(f);
    };
    chart('latent_mse_per_step.svg', 'Latent MSE per rollout step', 'latent MSE', [
      { name: 'world model', values: r.latentMse },
      { name: 'copy last frame', values: r.baselineLatentMse },
    ], true);
    chart('pixel_mse_per_step.svg', 'Pixel MSE per rollout step', 'pixel MSE', [
      { name: 'model vs real', values: r.pixelMseVsReal },
      { name: 'model vs VAE recon', values: r.pixelMseVsRecon },
      { name: 'copy last vs real', values: r.baselinePixelMseVsReal },
    ]);
    chart('ssim_per_step.svg', 'SSIM per rollout step', 'SSIM', [
      { name: 'model vs real', values: r.ssimVsReal },
      { name: 'model vs VAE recon', values: r.ssimVsRecon },
      { name: 'copy last vs real', values: r.baselineSsimVsReal },
    ]);
    const sem = r.semantic;
    if (sem) {
      chart('semantic_retention_per_step.svg', 'Semantic retention per rollout step (probe accuracy / accuracy on real frames)', 'retention', [
        { name: 'world model', values: sem.overall.retention },
        { name: 'VAE reconstruction (ceiling)', values: sem.overall.reconstructionRetention },
        { name: 'copy last frame', values: sem.overall.copyLastRetention },
        ...sem.perHead.map((h) => ({ name: `world model: ${h.name}`, values: h.retention })),
      ]);
      chart('semantic_changed_per_step.svg', 'Probe accuracy where the label changed since the last context frame', 'accuracy', [
        { name: 'world model', values: sem.overall.changed.accuracy.predicted },
        { name: 'VAE reconstruction', values: sem.overall.changed.accuracy.reconstruction },
        { name: 'real frames', values: sem.overall.changed.accuracy.real },
        { name: 'copy last frame', values: sem.overall.changed.accuracy.copyLast },
      ]);
    }
    if (r.drift) {
      chart('separability_per_step.svg', 'Real vs predicted latents: held-out separability (0.5 = indistinguishable)', 'accuracy', [
        { name: 'world model', values: r.drift.separability },
        { name: 'copy last frame', values: r.drift.copyLastSeparability },
      ]);
      chart('frechet_per_step.svg', 'Fréchet distance of real vs predicted latents', 'distance', [
        { name: 'world model', values: r.drift.frechet },
        { name: 'copy last frame', values: r.drift.copyLastFrechet },
      ]);
    }
  }
  return files;
}
