/**
 * Evaluation of a world model (the seed review's diagnostics 1 and 3):
 *
 *   evaluateVAE(vae, episodes)            reconstruction MSE / PSNR / SSIM of held-out frames
 *   evaluateRollouts(predictor, vae, eps) per step of an open-loop horizon, averaged over windows:
 *     latentMse                 predicted vs true latent (the quantity training minimises)
 *     pixelMseVsRecon, psnrVsRecon, ssimVsRecon   decoded prediction vs decoded true latent
 *                               (the world model's own error, VAE loss factored out)
 *     pixelMseVsReal, psnrVsReal, ssimVsReal      decoded prediction vs the real frame
 *                               (what a user sees: prediction + VAE error)
 *     baseline*                 the same for copy-last-frame: the last context latent / the
 *                               decoded last context latent / the last real context frame
 *   writeEvaluation(dir, report)          eval.json plus SVG charts of error per step
 */
import * as path from 'path';
import { ConvVAE } from '../models/conv_vae';
import { LatentPredictor } from '../models/latent_predictor';
import type { Episode } from '../data/episode';
import { decodeLatents, encodeFrames, framesToImages, openLoopRollout } from '../rollout/index';
import { mse, psnrFromMse, ssim } from './image_metrics';
import { lineChartSvg } from './chart';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt } from '../errors';

export interface ReconstructionReport {
  frames: number;
  mse: number;
  psnr: number;
  ssim: number;
}

/** Reconstruction quality (z = mu) on up to maxFrames frames spread evenly over the episodes. */
export function evaluateVAE(vae: ConvVAE, episodes: Episode[], opts: { maxFrames?: number } = {}): ReconstructionReport {
  const maxFrames = opts.maxFrames ?? 256;
  const refs: [number, number][] = [];
  episodes.forEach((e, i) => {
    for (let t = 0; t < e.length; ++t) refs.push([i, t]);
  });
  const pick = refs.length <= maxFrames ? refs : Array.from({ length: maxFrames }, (_, k) => refs[Math.floor((k * refs.length) / maxFrames)]);
  const per = 64 * 64 * 3;
  const frames = new Uint8Array(pick.length * per);
  pick.forEach(([e, t], k) => frames.set(episodes[e].frames.subarray(t * per, (t + 1) * per), k * per));
  const z = encodeFrames(vae, frames, pick.length);
  const rec = decodeLatents(vae, z).images;
  const real = framesToImages(frames, pick.length);
  const m = mse(rec, real);
  return { frames: pick.length, mse: m, psnr: psnrFromMse(m), ssim: ssim(rec, real, [pick.length, 3, 64, 64]) };
}

export interface RolloutReport {
  context: number;
  horizon: number;
  windows: number;
  /** One value per step of the horizon (step 1 = the first imagined frame). */
  latentMse: number[];
  pixelMseVsRecon: number[];
  psnrVsRecon: number[];
  ssimVsRecon: number[];
  pixelMseVsReal: number[];
  psnrVsReal: number[];
  ssimVsReal: number[];
  baselineLatentMse: number[];
  baselinePixelMseVsRecon: number[];
  baselinePixelMseVsReal: number[];
  baselinePsnrVsReal: number[];
  baselineSsimVsReal: number[];
  /** Means over the horizon. */
  summary: Record<string, number>;
}

export interface EvaluateRolloutOptions {
  context?: number;
  horizon?: number;
  /** Windows evaluated at most (default 16), spread evenly over the episodes. */
  maxWindows?: number;
}

export function evaluateRollouts(predictor: LatentPredictor, vae: ConvVAE, episodes: Episode[], opts: EvaluateRolloutOptions = {}): RolloutReport {
  const fn = 'evaluateRollouts';
  const C = checkInt(fn, 'context', opts.context ?? 4, 1);
  const Hz = checkInt(fn, 'horizon', opts.horizon ?? 16, 1);
  const L = C + Hz;
  const starts: [number, number][] = [];
  episodes.forEach((e, i) => {
    for (let t = 0; t + L <= e.length; t += L) starts.push([i, t]);
  });
  if (!starts.length) throw new RangeError(`${fn}: no episode has context + horizon = ${L} frames`);
  const maxW = opts.maxWindows ?? 16;
  const pick = starts.length <= maxW ? starts : Array.from({ length: maxW }, (_, k) => starts[Math.floor((k * starts.length) / maxW)]);
  const per = 64 * 64 * 3;
  const zeros = () => new Array(Hz).fill(0);
  const acc: Record<string, number[]> = {};
  for (const k of ['latentMse', 'pixelMseVsRecon', 'ssimVsRecon', 'pixelMseVsReal', 'ssimVsReal', 'baselineLatentMse', 'baselinePixelMseVsRecon', 'baselinePixelMseVsReal', 'baselineSsimVsReal'])
    acc[k] = zeros();
  const img = 3 * 64 * 64;
  for (const [e, t0] of pick) {
    const ep = episodes[e];
    const A = ep.actionDim;
    const r = openLoopRollout(predictor, vae, {
      frames: ep.frames.subarray(t0 * per, (t0 + L) * per),
      actions: ep.actions.subarray(t0 * A, (t0 + L) * A),
      actionDim: A,
      context: C,
      horizon: Hz,
    });
    const D = r.latentSize;
    const real = framesToImages(r.realFrames!, Hz);
    const lastReal = framesToImages(ep.frames.subarray((t0 + C - 1) * per, (t0 + C) * per), 1);
    const lastRecon = decodeLatents(vae, r.lastContextLatent).images;
    for (let k = 0; k < Hz; ++k) {
      const pz = r.predLatents.subarray(k * D, (k + 1) * D);
      const tz = r.trueLatents!.subarray(k * D, (k + 1) * D);
      const pi = r.predImages.subarray(k * img, (k + 1) * img);
      const ri = r.reconImages!.subarray(k * img, (k + 1) * img);
      const xi = real.subarray(k * img, (k + 1) * img);
      acc.latentMse[k] += mse(pz, tz);
      acc.pixelMseVsRecon[k] += mse(pi, ri);
      acc.ssimVsRecon[k] += ssim(pi, ri, [3, 64, 64]);
      acc.pixelMseVsReal[k] += mse(pi, xi);
      acc.ssimVsReal[k] += ssim(pi, xi, [3, 64, 64]);
      acc.baselineLatentMse[k] += mse(r.lastContextLatent, tz);
      acc.baselinePixelMseVsRecon[k] += mse(lastRecon, ri);
      acc.baselinePixelMseVsReal[k] += mse(lastReal, xi);
      acc.baselineSsimVsReal[k] += ssim(lastReal, xi, [3, 64, 64]);
    }
  }
  const n = pick.length;
  for (const k of Object.keys(acc)) acc[k] = acc[k].map((v) => v / n);
  const report: RolloutReport = {
    context: C,
    horizon: Hz,
    windows: n,
    latentMse: acc.latentMse,
    pixelMseVsRecon: acc.pixelMseVsRecon,
    psnrVsRecon: acc.pixelMseVsRecon.map(psnrFromMse),
    ssimVsRecon: acc.ssimVsRecon,
    pixelMseVsReal: acc.pixelMseVsReal,
    psnrVsReal: acc.pixelMseVsReal.map(psnrFromMse),
    ssimVsReal: acc.ssimVsReal,
    baselineLatentMse: acc.baselineLatentMse,
    baselinePixelMseVsRecon: acc.baselinePixelMseVsRecon,
    baselinePixelMseVsReal: acc.baselinePixelMseVsReal,
    baselinePsnrVsReal: acc.baselinePixelMseVsReal.map(psnrFromMse),
    baselineSsimVsReal: acc.baselineSsimVsReal,
    summary: {},
  };
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  for (const k of ['latentMse', 'baselineLatentMse', 'pixelMseVsReal', 'baselinePixelMseVsReal', 'psnrVsReal', 'baselinePsnrVsReal', 'ssimVsReal', 'baselineSsimVsReal', 'psnrVsRecon', 'ssimVsRecon'] as const)
    report.summary[k] = mean(report[k]);
  return report;
}

export interface EvaluationReport {
  reconstruction?: ReconstructionReport;
  rollout?: RolloutReport;
}

/** Writes `eval.json` and, for a rollout report, `latent_mse_per_step.svg`, `pixel_mse_per_step.svg` and `ssim_per_step.svg` to `dir`. Returns the files. */
export function writeEvaluation(dir: string, report: EvaluationReport): string[] {
  const files: string[] = [];
  const json = path.join(dir, 'eval.json');
  writeFileAtomic(json, JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
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
  }
  return files;
}
