/**
 * The `worldkit demo` run as a library function: generate the default driving data, train the
 * VAE, freeze it, train the LSTM predictor on its latents, evaluate, and write `outDir`:
 *
 *   data: generated episodes are cached in $WORLDKIT_CACHE (default ~/.cache/worldkit)
 *   vae/          checkpoints (latest.json, ckpt-N/) and metrics.jsonl of the VAE
 *   predictor/    checkpoints and metrics.jsonl of the predictor
 *   eval/         eval.json, latent/pixel MSE and SSIM per rollout step (SVG)
 *   filmstrip_open_loop.png     per test window: real / VAE reconstruction / imagined rows
 *   filmstrip_closed_loop.png   the dream a lane-keeping policy drives in, and the real sim under the same actions
 *   loss_curves.svg, summary.md
 *
 * Sizes (full run) were chosen to fit 15 minutes on 2 cores; `quick` is a ~1 minute version.
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateEpisodes, GenerateOptions } from '../data/driving_sim';
import { defaultCacheDir } from '../data/episode_cache';
import type { Episode } from '../data/episode';
import { createVAE, trainVAE } from './train_vae';
import { createPredictor, encodeEpisodes, trainPredictor } from './train_predictor';
import type { RolloutReport, ReconstructionReport } from '../diagnostics/evaluate';
import { evaluateWorldModel } from '../diagnostics/world_model_eval';
import { ensureSemanticProbe } from '../diagnostics/semantic_probe';
import { writeReport } from '../diagnostics/report';
import type { EvalFile, ProbeQuality } from '../diagnostics/eval_schema';
import { closedLoopRollout, openLoopRollout, saveFilmstrip } from '../rollout/index';
import { lineChartSvg } from '../diagnostics/chart';
import { writeFileAtomic } from '../io/atomic_file';
import type { TrainCallbacks } from './loop';
import type { ConvVAEOptions } from '../models/conv_vae';

export interface DemoConfig {
  trainEpisodes: number;
  testEpisodes: number;
  steps: number;
  vae: ConvVAEOptions;
  vaeEpochs: number;
  vaeBatch: number;
  vaeLr: number;
  hiddenSize: number;
  seqLen: number;
  predEpochs: number;
  predBatch: number;
  predLr: number;
  context: number;
  horizon: number;
  evalWindows: number;
  /** Episodes the semantic probe trains on (its own seed) and is checked on (another seed). */
  probeEpisodes: number;
  probeHeldOutEpisodes: number;
  probeEpochs: number;
}

export const DEMO_FULL: DemoConfig = {
  trainEpisodes: 24,
  testEpisodes: 8,
  steps: 160,
  // He initialization: the second learning stage (dashes, curbs, the speed cue) comes about a
  // third sooner, and within a 30-epoch schedule at all (docs/remedies.md)
  vae: { encoderChannels: [16, 32, 64, 128], latentShape: [64, 4, 4], beta: 0.25, seed: 1, init: 'he' },
  vaeEpochs: 60,
  vaeBatch: 32,
  vaeLr: 1e-3,
  hiddenSize: 256,
  seqLen: 16,
  predEpochs: 120,
  predBatch: 16,
  predLr: 1e-3,
  context: 4,
  horizon: 16,
  evalWindows: 192,
  probeEpisodes: 96,
  probeHeldOutEpisodes: 8,
  probeEpochs: 8,
};

export const DEMO_QUICK: DemoConfig = {
  trainEpisodes: 8,
  testEpisodes: 2,
  steps: 80,
  vae: { encoderChannels: [8, 16, 32, 64], latentShape: [16, 4, 4], seed: 1 },
  vaeEpochs: 4,
  vaeBatch: 16,
  vaeLr: 3e-3,
  hiddenSize: 64,
  seqLen: 12,
  predEpochs: 20,
  predBatch: 8,
  predLr: 3e-3,
  context: 4,
  horizon: 8,
  evalWindows: 16,
  probeEpisodes: 8,
  probeHeldOutEpisodes: 2,
  probeEpochs: 2,
};

export interface DemoOptions {
  outDir?: string;
  quick?: boolean;
  /** Overrides of the chosen configuration. */
  config?: Partial<DemoConfig>;
  seed?: number;
  /** Episode cache (default $WORLDKIT_CACHE or ~/.cache/worldkit; false: none). */
  cacheDir?: string | false;
  log?(line: string): void;
  /** Progress callbacks for each training phase (the CLI's progress bar). */
  callbacks?(phase: 'vae' | 'predictor'): TrainCallbacks;
  /** Where the semantic probe is kept and reused (default <outDir>/probe). */
  probeDir?: string;
  signal?: { stop: boolean };
  /** Called with each phase's wall time in ms (data, vae, encode, predictor, rollout, evaluate). */
  onPhase?(name: string, ms: number): void;
}

export interface DemoResult {
  outDir: string;
  seconds: number;
  phases: Record<string, number>;
  reconstruction: ReconstructionReport;
  rollout: RolloutReport;
  /** Everything eval/eval.json holds (probe quality, semantic retention, drift, closed loop). */
  evaluation: EvalFile;
  /** The self-contained HTML report. */
  reportFile: string;
  summaryFile: string;
  interrupted: boolean;
}

const fmt = (v: number, d = 4) => (Number.isFinite(v) ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(d)) : String(v));

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const cfg: DemoConfig = { ...(o.quick ? DEMO_QUICK : DEMO_FULL), ...(o.config ?? {}) };
  const out = path.resolve(o.outDir ?? path.join('runs', 'demo'));
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 1;
  fs.mkdirSync(out, { recursive: true });
  const phases: Record<string, number> = {};
  const t00 = performance.now();
  let t0 = performance.now();
  const phase = (name: string) => {
    const ms = performance.now() - t0;
    phases[name] = ms;
    o.onPhase?.(name, ms);
    t0 = performance.now();
  };
  const cacheDir = o.cacheDir;
  log(`data: ${cfg.trainEpisodes} + ${cfg.testEpisodes} driving episodes of ${cfg.steps} steps`);
  const train: Episode[] = generateEpisodes({ episodes: cfg.trainEpisodes, steps: cfg.steps, seed, cacheDir });
  const test: Episode[] = generateEpisodes({ episodes: cfg.testEpisodes, steps: cfg.steps, seed: seed + 1000, cacheDir });
  phase('data');

  const vae = createVAE(cfg.vae);
  log(`vae: ${vae.numParameters()} parameters, latent [${vae.latentShape}]`);
  const vr = await trainVAE(vae, train, {
    epochs: cfg.vaeEpochs,
    batchSize: cfg.vaeBatch,
    lr: cfg.vaeLr,
    lrSchedule: 'cosine',
    seed,
    checkpointDir: path.join(out, 'vae'),
    callbacks: o.callbacks?.('vae'),
    signal: o.signal,
  });
  phase('vae');
  const interruptedResult = (): DemoResult => ({ outDir: out, seconds: (performance.now() - t00) / 1000, phases, reconstruction: null!, rollout: null!, evaluation: null!, reportFile: '', summaryFile: '', interrupted: true });
  if (vr.stopReason === 'interrupted') return interruptedResult();

  vae.freeze().eval();
  const latents = encodeEpisodes(vae, train);
  phase('encode');

  const predictor = createPredictor(vae, { hiddenSize: cfg.hiddenSize, actionSize: 3, residualPrediction: true, useActions: true, seed });
  log(`predictor: lstm hidden ${cfg.hiddenSize}, ${predictor.numParameters()} parameters`);
  const pr = await trainPredictor(predictor, vae, train, {
    latents,
    epochs: cfg.predEpochs,
    batchSize: cfg.predBatch,
    lr: cfg.predLr,
    lrSchedule: 'cosine',
    seqLen: cfg.seqLen,
    scheduledSampling: true,
    samplingSchedule: { decay: 'linear', start: 1, end: 0.25 },
    inputNoiseStd: 0.01,
    targetJitterScale: 0.005,
    gradClip: 1,
    seed,
    checkpointDir: path.join(out, 'predictor'),
    callbacks: o.callbacks?.('predictor'),
    signal: o.signal,
  });
  phase('predictor');
  if (pr.stopReason === 'interrupted') return interruptedResult();

  // Rollouts: open-loop filmstrips on test windows, and a closed-loop dream.
  predictor.eval();
  const per = 64 * 64 * 3;
  const rows: Uint8Array[] = [];
  const L = cfg.context + cfg.horizon;
  for (let w = 0; w < Math.min(3, test.length * 2); ++w) {
    const ep = test[w % test.length];
    const t0w = w < test.length ? 0 : Math.max(0, ep.length - L);
    if (ep.length < t0w + L) continue;
    const r = openLoopRollout(predictor, vae, {
      frames: ep.frames.subarray(t0w * per, (t0w + L) * per),
      actions: ep.actions.subarray(t0w * 3, (t0w + L) * 3),
      context: cfg.context,
      horizon: cfg.horizon,
    });
    rows.push(r.realFrames!, r.reconFrames!, r.predFrames);
  }
  saveFilmstrip(path.join(out, 'filmstrip_open_loop.png'), rows, { frames: cfg.horizon, scale: 2 });
  const cl = closedLoopRollout(predictor, vae, { seed: seed + 5000, context: 8, horizon: cfg.horizon });
  saveFilmstrip(path.join(out, 'filmstrip_closed_loop.png'), [cl.realFrames.subarray(0, cl.realSteps * per), cl.dreamFrames], { frames: cfg.horizon, scale: 2 });
  phase('rollout');

  // The semantic probe: trained once on real frames of its own episodes (never the test ones),
  // checked on held-out episodes of another seed, saved in the run folder and reused.
  const probeTrain = generateEpisodes({ episodes: cfg.probeEpisodes, steps: cfg.steps, seed: seed + 3000, cacheDir });
  const probeHeld = generateEpisodes({ episodes: cfg.probeHeldOutEpisodes, steps: cfg.steps, seed: seed + 4000, cacheDir });
  const probe = await ensureSemanticProbe(o.probeDir ?? path.join(out, 'probe'), probeTrain, {
    heldOut: probeHeld,
    epochs: cfg.probeEpochs,
    seed,
    log,
    cacheDir: cacheDir === false ? false : cacheDir ?? defaultCacheDir(),
  });
  log(`probe (${probe.reused ? 'reused' : 'trained'}): held-out accuracy ${probe.quality.heads.map((h) => `${h.name} ${(100 * h.accuracy).toFixed(1)}%${h.reliable ? '' : ' (unreliable)'}`).join(', ')}`);
  phase('probe');

  const evaluation = evaluateWorldModel(vae, predictor, test, path.join(out, 'eval'), {
    context: cfg.context,
    horizon: cfg.horizon,
    windows: cfg.evalWindows,
    windowStride: 4,
    probe,
    data: `driving simulator, ${cfg.testEpisodes} test episodes of ${cfg.steps} steps (seed ${seed + 1000})`,
    tsne: o.quick ? { iterations: 500 } : undefined,
    log,
  });
  const reconstruction = evaluation.reconstruction!;
  const rollout = evaluation.rollout! as RolloutReport;
  writeFileAtomic(
    path.join(out, 'loss_curves.svg'),
    lineChartSvg({
      title: 'Predictor loss per epoch',
      xLabel: 'epoch',
      yLabel: 'latent MSE',
      logY: true,
      series: [
        { name: 'train', values: pr.history.map((h) => h.loss) },
        { name: 'val (teacher forced)', values: pr.history.map((h) => h.valLoss) },
        { name: 'val (open loop)', values: pr.history.map((h) => h.valOpenLoop) },
      ],
    }),
  );
  phase('evaluate');
  const seconds = (performance.now() - t00) / 1000;
  const r = rollout;
  const steps = [0, 1, 3, 7, 11, 15].filter((k) => k < r.horizon);
  const lines = [
    '# worldkit demo',
    '',
    `Wall time: ${seconds.toFixed(0)} s (${Object.entries(phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}).`,
    `Data: ${cfg.trainEpisodes} training and ${cfg.testEpisodes} test episodes of the driving simulator, ${cfg.steps} steps each (seed ${seed}; test seed ${seed + 1000}).`,
    `VAE: encoder channels [${cfg.vae.encoderChannels}], latent [${vae.latentShape}], beta ${vae.beta}, ${cfg.vaeEpochs} epochs; predictor: LSTM hidden ${cfg.hiddenSize}, residual, actions, scheduled sampling (pTrue 1 -> 0.25), input noise 0.01, target jitter 0.005, cosine LR, ${cfg.predEpochs} epochs.`,
    '',
    '## VAE reconstruction (held-out frames)',
    '',
    `| frames | MSE | PSNR (dB) | SSIM |`,
    `|---|---|---|---|`,
    `| ${reconstruction.frames} | ${fmt(reconstruction.mse)} | ${fmt(reconstruction.psnr, 2)} | ${fmt(reconstruction.ssim, 3)} |`,
    '',
    `## Open-loop rollouts: ${r.context} context frames, ${r.horizon} imagined steps, ${r.windows} test windows`,
    '',
    '| step | latent MSE | copy-last latent MSE | PSNR vs real | copy-last PSNR | SSIM vs real | copy-last SSIM | PSNR vs VAE recon | SSIM vs VAE recon |',
    '|---|---|---|---|---|---|---|---|---|',
    ...steps.map(
      (k) =>
        `| ${k + 1} | ${fmt(r.latentMse[k])} | ${fmt(r.baselineLatentMse[k])} | ${fmt(r.psnrVsReal[k], 2)} | ${fmt(r.baselinePsnrVsReal[k], 2)} | ${fmt(r.ssimVsReal[k], 3)} | ${fmt(r.baselineSsimVsReal[k], 3)} | ${fmt(r.psnrVsRecon[k], 2)} | ${fmt(r.ssimVsRecon[k], 3)} |`,
    ),
    `| mean | ${fmt(r.summary.latentMse)} | ${fmt(r.summary.baselineLatentMse)} | ${fmt(r.summary.psnrVsReal, 2)} | ${fmt(r.summary.baselinePsnrVsReal, 2)} | ${fmt(r.summary.ssimVsReal, 3)} | ${fmt(r.summary.baselineSsimVsReal, 3)} | ${fmt(r.summary.psnrVsRecon, 2)} | ${fmt(r.summary.ssimVsRecon, 3)} |`,
    '',
    'PSNR/SSIM "vs real" compare the decoded prediction with the real frame (prediction + VAE error); "vs VAE recon" with the decoded true latent (the predictor\'s own error).',
    '',
    ...semanticSummary(evaluation, probe.quality),
    '## Files',
    '',
    '- `filmstrip_open_loop.png`: per test window three rows: real frames, VAE reconstructions of them, imagined frames (open loop from the context).',
    '- `filmstrip_closed_loop.png`: top the real simulator, bottom the dream, both driven by the same lane-keeping policy that only sees the dream.',
    '- `report.html`: everything in one page (open it in a browser): where and when the meaning is lost.',
    '- `eval/eval.json`, `eval/*_per_step.svg`: every number above, per step; `eval/tsne.json`: real vs predicted latents embedded jointly; `eval/filmstrips/`: windows with the probe\'s labels (in the report).',
    '- `probe/`: the semantic probe (weights, quality, fingerprint of its training data), reused by the next run on the same data.',
    '- `vae/`, `predictor/`: checkpoints (`latest.json`, `ckpt-N/`) and `metrics.jsonl`.',
    '- `loss_curves.svg`: predictor train / validation loss per epoch.',
    '',
  ];
  const summaryFile = path.join(out, 'summary.md');
  writeFileAtomic(summaryFile, lines.join('\n'));
  const reportFile = writeReport([out]).file;
  vae.dispose();
  predictor.dispose();
  return { outDir: out, seconds, phases, reconstruction, rollout, evaluation, reportFile, summaryFile, interrupted: false };
}

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(1)}%`);

/** Markdown lines: the probe's reliability and semantic retention at steps 1, 4, 8, 16. */
export function semanticSummary(e: EvalFile, quality: ProbeQuality): string[] {
  const sem = e.rollout?.semantic;
  if (!sem) return [`Semantic metrics: ${e.semanticNote ?? 'not computed'}.`, ''];
  const steps = [1, 4, 8, 16].filter((k) => k <= sem.overall.retention.length);
  const lines = [
    '## Semantic retention (does the meaning survive?)',
    '',
    `Probe (trained on ${quality.trainFrames} real frames, checked on ${quality.heldOutFrames} held-out ones): ${quality.heads.map((h) => `${h.name} ${pct(h.accuracy)} (balanced ${pct(h.balancedAccuracy)})${h.reliable ? '' : ' UNRELIABLE: below 95%, its figures measure the probe'}`).join('; ')}.`,
    e.reconstruction?.probeAccuracy ? `Probe accuracy on real frames vs their VAE reconstructions: ${e.reconstruction.probeAccuracy.map((p) => `${p.head} ${pct(p.real)} -> ${pct(p.reconstruction)}`).join('; ')}.` : '',
    '',
    `Open loop, ${sem.windows} windows. Retention = probe accuracy on decoded predictions / on the true frames; "changed" = windows whose true label differs from the last context frame's (copy-last cannot get those).`,
    '',
    '| step | retention | copy-last | VAE recon | ' + sem.perHead.map((h) => `${h.name}`).join(' | ') + ' | changed: model acc | copy-last | recon | real | n |',
    '|---|---|---|---|' + sem.perHead.map(() => '---|').join('') + '---|---|---|---|---|',
    ...steps.map((k) => {
      const i = k - 1;
      const o = sem.overall;
      return `| ${k} | ${o.retention[i].toFixed(3)} | ${o.copyLastRetention[i].toFixed(3)} | ${o.reconstructionRetention[i].toFixed(3)} | ${sem.perHead.map((h) => h.retention[i].toFixed(3)).join(' | ')} | ${pct(o.changed.accuracy.predicted[i])} | ${pct(o.changed.accuracy.copyLast[i])} | ${pct(o.changed.accuracy.reconstruction[i])} | ${pct(o.changed.accuracy.real[i])} | ${o.changed.count[i]} |`;
    }),
    '',
  ];
  const cl = e.closedLoop?.semantic;
  if (cl) lines.push(`Closed loop (${cl.windows} dreams a lane-keeping policy drives in): retention ${steps.map((k) => `step ${k} ${cl.overall.retention[k - 1].toFixed(3)}`).join(', ')}.`, '');
  const d = e.rollout?.drift;
  if (d) {
    const last = d.separability.length - 1;
    lines.push(`Real vs predicted latents (${d.samples} per side, ${d.classifier}): separability step 1 ${d.separability[0].toFixed(3)} -> step ${last + 1} ${d.separability[last].toFixed(3)} (copy-last ${d.copyLastSeparability[last].toFixed(3)}); Fréchet distance ${d.frechet[0].toFixed(2)} -> ${d.frechet[last].toFixed(2)} (copy-last ${d.copyLastFrechet[last].toFixed(2)}).`, '');
  }
  return lines;
}
