/**
 * ablate(options) (`worldkit ablate`): trains the baseline world model and each remedy of issue 12
 * on the same data, seeds and training budget, evaluates every (variant, seed) run with the
 * semantic diagnostics on held-out test episodes, and writes one comparison:
 *
 *   <out>/ablation.md      Markdown tables: mean ± spread over the seeds per variant
 *   <out>/ablation.json    everything in them, per run too (src/diagnostics/ablation_schema.ts)
 *   <out>/report.html      the report's comparison view (also `worldkit report <out>`)
 *   <out>/<variant>/seed<k>/   predictor/ (or world_model/) checkpoints, eval/, result.json (done)
 *   <out>/vae_base/seed<k>/, <out>/vae_big/seed<k>/   VAEs shared between the variants of a seed
 *   <out>/probe/           the semantic probe the evaluation reads with
 *   <out>/probe_loss/      a second probe (other episodes, other seed): the perceptual loss's features
 *   <out>/ablation_state.json   the options the ablation was started with, its plan and its time
 *
 * Variants are option sets over trainVAE / trainPredictor / trainWorldModel:
 *   baseline        the demo's recipe: VAE, frozen, LSTM predictor on latent MSE
 *   perceptual      + trainPredictor perceptualWeight, features of the loss probe's conv trunk
 *   adversarial     + trainPredictor adversarialWeight (a latent discriminator)
 *   classification  + trainPredictor classificationWeight (a classifier on latents)
 *   end_to_end      trainWorldModel from the baseline VAE: encoder, decoder and predictor together
 *   big_vae         a stronger VAE (wider latent, residual blocks per stage, VAE perceptual loss)
 *   all             every remedy together (the stronger VAE, then end to end with all three losses)
 * Variants that keep the baseline VAE share it (trained once per seed); so do big_vae and all.
 *
 * Why a second probe for the loss: the evaluation's probe is the instrument that measures
 * semantic retention. A predictor trained to match that very network's features would be graded
 * by the network it was fitted to; the loss uses a probe trained on other episodes with another
 * seed, so its gains have to carry over to an independent reader.
 *
 * Budget (`budgetMinutes`: the wall time of the whole ablation): after the data and the probes,
 * one evaluation and one encoding pass of untrained models are timed per VAE kind; what is left,
 * less the evaluations and encodings still to come and a margin, is split so every variant gets
 * the same training time T = VAE phase + predictor phase (vaeShare of T for the VAE). A variant
 * that uses a shared VAE counts that VAE's phase as its own without spending it again. A seed
 * that starts after one run from scratch is planned again from the time left and what that seed
 * cost beyond training (the same time for every variant of the seed). The plans are saved: a
 * resumed ablation keeps them, and a phase cut short continues from its checkpoint with the time
 * it had left.
 *
 * Resume: rerunning with the same options skips runs with a result.json, continues trainings from
 * their latest checkpoints, and re-evaluates runs whose training finished but whose evaluation did
 * not. Other options on the same folder are an error naming what differs (use another outDir).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Episode } from '../data/episode';
import { generateEpisodes } from '../data/driving_sim';
import { movingMnistEpisodes } from '../data/moving_mnist';
import { loadNpzDataset, loadPngDataset } from '../data/loaders';
import { defaultCacheDir } from '../data/episode_cache';
import { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import { createVAE, trainVAE, TrainVAEOptions } from './train_vae';
import { createPredictor, encodeEpisodes, LatentEpisode, trainPredictor, TrainPredictorOptions } from './train_predictor';
import { loadPredictor, loadVAE } from './load';
import type { RemedyOptions } from './remedy_terms';
import { trainWorldModel } from './train_world_model';
import { latestCheckpoint } from './checkpoint';
import type { TrainCallbacks, TrainResult } from './loop';
import type { Device } from '../tensor/memory';
import { ensureSemanticProbe, TrainedProbe } from '../diagnostics/semantic_probe';
import { evaluateWorldModel } from '../diagnostics/world_model_eval';
import type { EvalFile } from '../diagnostics/eval_schema';
import { ABLATION_FORMAT, AblationFile, AblationRow, AblationRun, MetricSummary } from '../diagnostics/ablation_schema';
import { writeAblationReport } from '../diagnostics/report';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, rangeError, typeError } from '../errors';

export const ABLATION_VARIANTS = ['baseline', 'perceptual', 'adversarial', 'classification', 'end_to_end', 'big_vae', 'all'] as const;
export type AblationVariant = (typeof ABLATION_VARIANTS)[number];

const DESCRIPTIONS: Record<AblationVariant, string> = {
  baseline: 'VAE, frozen; LSTM predictor on latent MSE (the demo)',
  perceptual: 'baseline + perceptual loss on decoded predictions (features of a second probe)',
  adversarial: 'baseline + adversarial loss on predicted latents',
  classification: 'baseline + classification loss on predicted latents',
  end_to_end: 'baseline VAE, then encoder, decoder and predictor trained together',
  big_vae: 'stronger VAE (wider latent, residual blocks, perceptual VAE loss), then the baseline predictor',
  all: 'stronger VAE, then end to end with perceptual, adversarial and classification losses',
};

/** Sizes and remedy weights (the defaults follow the demo: DEMO_FULL / DEMO_QUICK). */
export interface AblationConfig {
  /** sim: episodes of `steps` steps; mmnist: sequences of 20 frames (steps ignored). */
  trainEpisodes: number;
  testEpisodes: number;
  steps: number;
  /** The baseline VAE. */
  vae: ConvVAEOptions;
  /** What the stronger VAE changes (merged over `vae`); blocksPerStage is the contract's --vae_blocks. */
  bigVae: Partial<ConvVAEOptions>;
  vaeBatch: number;
  vaeLr: number;
  /**
   * Epochs of the VAE phase without a budget. With one the phase trains until its time is up; an
   * epoch count given in options.config is then an upper limit (the defaults are not: a fast
   * variant stopped by them would train less than its time allows).
   */
  vaeEpochs: number | null;
  hiddenSize: number;
  seqLen: number;
  predBatch: number;
  predLr: number;
  predEpochs: number | null;
  /** Batches per epoch at most (tests shrink runs with it; null: all). */
  maxBatchesPerEpoch: number | null;
  context: number;
  horizon: number;
  evalWindows: number;
  evalWindowStride: number;
  /** Filmstrip windows per run (the report shows the first of each variant). */
  evalFilmstrips: number;
  /** Episodes the evaluation's probe trains on and is checked on, and its epochs. */
  probeEpisodes: number;
  probeHeldOutEpisodes: number;
  probeEpochs: number;
  /** The loss probe's episodes and epochs (trained only when a variant uses it). */
  lossProbeEpisodes: number;
  lossProbeEpochs: number;
  /** Probe architecture (default: the probe's own). */
  probe: { channels?: [number, number, number, number]; hidden?: number } | null;
  perceptualWeight: number;
  adversarialWeight: number;
  classificationWeight: number;
  /** The stronger VAE's own perceptual loss weight (0: none). */
  vaePerceptualWeight: number;
  /** End to end: the VAE's learning rate. */
  endToEndVaeLr: number;
  /** Fraction of each variant's training time given to its VAE phase. */
  vaeShare: number;
}

export const ABLATE_FULL: AblationConfig = {
  trainEpisodes: 24,
  testEpisodes: 8,
  steps: 160,
  vae: { encoderChannels: [16, 32, 64, 128], latentShape: [64, 4, 4], beta: 0.25, seed: 1, init: 'he' },
  bigVae: { latentShape: [128, 4, 4], blocksPerStage: 1 },
  vaeBatch: 32,
  // the demo's VAE recipe: at 2e-3 the VAE's second learning stage comes late or never
  vaeLr: 1e-3,
  vaeEpochs: 16,
  hiddenSize: 256,
  seqLen: 16,
  predBatch: 16,
  predLr: 1e-3,
  predEpochs: 30,
  maxBatchesPerEpoch: null,
  context: 4,
  horizon: 16,
  evalWindows: 32,
  evalWindowStride: 4,
  evalFilmstrips: 2,
  probeEpisodes: 96,
  probeHeldOutEpisodes: 8,
  probeEpochs: 8,
  lossProbeEpisodes: 32,
  lossProbeEpochs: 5,
  probe: null,
  // Weights that put each term near the latent MSE's scale at the start (measured on the driving
  // data: at weight 1 the perceptual term was ~15x the latent MSE, the generator loss ~0.7, the
  // VAE's perceptual term ~14x its recon term), so no remedy drowns the objective it adds to;
  // end to end at the VAE learning rate docs/remedies.md suggests.
  perceptualWeight: 0.1,
  adversarialWeight: 0.01,
  classificationWeight: 0.01,
  vaePerceptualWeight: 0.1,
  endToEndVaeLr: 1e-5,
  // Three quarters of each variant's time to its VAE phase: at a 30-minute budget that gives the
  // baseline VAE about 3,000 steps, past its second learning stage (docs/remedies.md); a VAE on
  // the plateau shows no speed cue for any predictor to keep.
  vaeShare: 0.75,
};

export const ABLATE_QUICK: AblationConfig = {
  ...ABLATE_FULL,
  trainEpisodes: 8,
  testEpisodes: 2,
  steps: 80,
  vae: { encoderChannels: [8, 16, 32, 64], latentShape: [16, 4, 4], seed: 1 },
  bigVae: { latentShape: [32, 4, 4], blocksPerStage: 1 },
  vaeBatch: 16,
  vaeLr: 3e-3,
  vaeEpochs: 4,
  hiddenSize: 64,
  seqLen: 12,
  predBatch: 8,
  predLr: 3e-3,
  predEpochs: 20,
  horizon: 8,
  evalWindows: 16,
  probeEpisodes: 8,
  probeHeldOutEpisodes: 2,
  probeEpochs: 2,
  lossProbeEpisodes: 8,
  lossProbeEpochs: 2,
};

export interface AblateOptions {
  /** 'sim' (default: the driving simulator), 'mmnist' (Moving MNIST), or a .npz file / folder of episodes. */
  data?: string;
  /** Variants to compare (default all of ABLATION_VARIANTS), as an array or a comma-separated list. */
  variants?: AblationVariant[] | string;
  /** Seeds per variant (default 3): seeds 1..n of the weights, the data order and the noise (and of the sim's episodes). */
  seeds?: number;
  /** Total wall-clock minutes of the whole ablation (default: none, the config's epochs). */
  budgetMinutes?: number;
  /** Output folder (default runs/ablate). */
  outDir?: string;
  /** The quick sizes (ABLATE_QUICK) instead of ABLATE_FULL. */
  quick?: boolean;
  config?: Partial<AblationConfig>;
  /** Episode cache of generated data and probes (default $WORLDKIT_CACHE or ~/.cache/worldkit; false: none). */
  cacheDir?: string | false;
  device?: Device;
  log?(line: string): void;
  /** Progress callbacks of each training phase (the CLI's progress bar). */
  callbacks?(label: string): TrainCallbacks | undefined;
  /** Set .stop = true to stop after the current batch: the phase saves a checkpoint, ablate returns interrupted. */
  signal?: { stop: boolean };
}

export interface AblationResult {
  outDir: string;
  interrupted: boolean;
  /** Runs trained and evaluated in this call, and those skipped because their result.json existed. */
  ran: { variant: string; seed: number }[];
  skipped: { variant: string; seed: number }[];
  /** What was written (absent when interrupted before any run finished). */
  tableFile: string | null;
  jsonFile: string | null;
  reportFile: string | null;
  ablation: AblationFile | null;
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// Variants and what they need

type VaeKind = 'base' | 'big';
interface VariantSpec {
  vae: VaeKind;
  endToEnd: boolean;
  perceptual: boolean;
  adversarial: boolean;
  classification: boolean;
}
const SPECS: Record<AblationVariant, VariantSpec> = {
  baseline: { vae: 'base', endToEnd: false, perceptual: false, adversarial: false, classification: false },
  perceptual: { vae: 'base', endToEnd: false, perceptual: true, adversarial: false, classification: false },
  adversarial: { vae: 'base', endToEnd: false, perceptual: false, adversarial: true, classification: false },
  classification: { vae: 'base', endToEnd: false, perceptual: false, adversarial: false, classification: true },
  end_to_end: { vae: 'base', endToEnd: true, perceptual: false, adversarial: false, classification: false },
  big_vae: { vae: 'big', endToEnd: false, perceptual: false, adversarial: false, classification: false },
  all: { vae: 'big', endToEnd: true, perceptual: true, adversarial: true, classification: true },
};

// ---------------------------------------------------------------------------------------------
// Options

interface Resolved {
  data: string;
  variants: AblationVariant[];
  seeds: number;
  budgetMinutes: number | null;
  cfg: AblationConfig;
}

function parseVariants(fn: string, v: AblateOptions['variants']): AblationVariant[] {
  if (v === undefined) return [...ABLATION_VARIANTS];
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || !list.length) throw typeError(fn, 'variants', `a non-empty list of ${ABLATION_VARIANTS.join(', ')}`, v);
  for (const x of list)
    if (!(ABLATION_VARIANTS as readonly string[]).includes(x as string)) throw typeError(fn, 'variants', `names among ${ABLATION_VARIANTS.join(', ')}`, x);
  // canonical order, each once: the table reads the same whatever order they were given in
  return ABLATION_VARIANTS.filter((x) => (list as string[]).includes(x));
}

function resolveOptions(o: AblateOptions): Resolved {
  const fn = 'ablate';
  if (!o || typeof o !== 'object') throw typeError(fn, 'options', 'an options object', o);
  const data = o.data ?? 'sim';
  if (typeof data !== 'string' || !data) throw typeError(fn, 'data', "'sim', 'mmnist' or a path to a .npz file or folder", data);
  if (data !== 'sim' && data !== 'mmnist' && !fs.existsSync(data)) throw rangeError(fn, `data '${data}': no such file or folder (expected 'sim', 'mmnist' or a .npz file / folder of episodes)`);
  const variants = parseVariants(fn, o.variants);
  const seeds = checkInt(fn, 'seeds', o.seeds ?? 3, 1, 100);
  const b = o.budgetMinutes;
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b <= 0)) throw typeError(fn, 'budgetMinutes', 'a number of minutes > 0', b);
  if (o.config !== undefined && (typeof o.config !== 'object' || o.config === null)) throw typeError(fn, 'config', 'an object of AblationConfig fields', o.config);
  const base = o.quick ? ABLATE_QUICK : ABLATE_FULL;
  for (const k of Object.keys(o.config ?? {})) if (!(k in base)) throw typeError(fn, `config.${k}`, `one of ${Object.keys(base).join(', ')}`, k);
  const cfg: AblationConfig = { ...base, ...(o.config ?? {}) };
  for (const k of ['trainEpisodes', 'testEpisodes', 'steps', 'vaeBatch', 'hiddenSize', 'predBatch', 'context', 'horizon', 'evalWindows', 'evalWindowStride', 'probeEpisodes', 'probeHeldOutEpisodes', 'probeEpochs', 'lossProbeEpisodes', 'lossProbeEpochs'] as const)
    checkInt(fn, `config.${k}`, cfg[k], 1);
  checkInt(fn, 'config.seqLen', cfg.seqLen, 2);
  checkInt(fn, 'config.evalFilmstrips', cfg.evalFilmstrips, 0);
  for (const k of ['vaeEpochs', 'predEpochs', 'maxBatchesPerEpoch'] as const) if (cfg[k] !== null) checkInt(fn, `config.${k}`, cfg[k], 1);
  for (const k of ['vaeLr', 'predLr', 'endToEndVaeLr', 'perceptualWeight', 'adversarialWeight', 'classificationWeight', 'vaePerceptualWeight'] as const)
    if (typeof cfg[k] !== 'number' || !Number.isFinite(cfg[k]) || cfg[k] < 0) throw typeError(fn, `config.${k}`, 'a number >= 0', cfg[k]);
  if (!(cfg.vaeShare > 0 && cfg.vaeShare < 1)) throw typeError(fn, 'config.vaeShare', 'a number in (0, 1)', cfg.vaeShare);
  if (b === undefined && (cfg.vaeEpochs === null || cfg.predEpochs === null)) throw rangeError(fn, 'without budgetMinutes, config.vaeEpochs and config.predEpochs must be numbers of epochs');
  return { data: data === 'sim' || data === 'mmnist' ? data : path.resolve(data), variants, seeds, budgetMinutes: b ?? null, cfg };
}

// ---------------------------------------------------------------------------------------------
// Data

interface SeedData {
  train: Episode[];
  test: Episode[];
  describe: string;
}

function loadFileEpisodes(file: string): Episode[] {
  const npz = file.endsWith('.npz') || (fs.statSync(file).isDirectory() && fs.readdirSync(file).some((f) => f.endsWith('.npz')));
  const r = npz ? loadNpzDataset(file) : loadPngDataset(file);
  if (r.errors.length) throw rangeError('ablate', `data '${file}': ${r.errors.length} file(s) could not be loaded: ${r.errors[0].file}: ${r.errors[0].message}`);
  if (r.episodes.length < 2) throw rangeError('ablate', `data '${file}': needs at least 2 episodes (training and test), got ${r.episodes.length}`);
  return r.episodes;
}

/** The data of seed k: the sim and Moving MNIST are generated per seed (test data from seed k + 1000); a file is split once (its last fifth is the test set). */
function seedData(r: Resolved, seed: number, cacheDir: string | false | undefined, fileCache: { eps?: Episode[] }): SeedData {
  const c = r.cfg;
  if (r.data === 'sim')
    return {
      train: generateEpisodes({ episodes: c.trainEpisodes, steps: c.steps, seed, cacheDir }),
      test: generateEpisodes({ episodes: c.testEpisodes, steps: c.steps, seed: seed + 1000, cacheDir }),
      describe: `driving simulator, ${c.testEpisodes} test episodes of ${c.steps} steps (seed ${seed + 1000})`,
    };
  if (r.data === 'mmnist')
    return {
      train: movingMnistEpisodes({ count: c.trainEpisodes, seed, split: 'train' }),
      test: movingMnistEpisodes({ count: c.testEpisodes, seed: seed + 1000, split: 'test' }),
      describe: `Moving MNIST, ${c.testEpisodes} test sequences (seed ${seed + 1000})`,
    };
  const eps = (fileCache.eps ??= loadFileEpisodes(r.data));
  const nTest = Math.max(1, Math.round(eps.length / 5));
  return { train: eps.slice(0, eps.length - nTest), test: eps.slice(eps.length - nTest), describe: `${r.data}: the last ${nTest} of ${eps.length} episodes` };
}

/** The probe's own episodes: never the test ones. `which` 0: the evaluation's probe, 1: the loss's. */
function probeData(r: Resolved, which: 0 | 1, cacheDir: string | false | undefined, first: SeedData): { train: Episode[]; held: Episode[] } {
  const c = r.cfg;
  const n = which ? c.lossProbeEpisodes : c.probeEpisodes;
  const s = which ? 5001 : 3001; // the evaluation's probe: the demo's (seed 1 + 3000 / + 4000), so its cache is shared
  if (r.data === 'sim') return { train: generateEpisodes({ episodes: n, steps: c.steps, seed: s, cacheDir }), held: generateEpisodes({ episodes: c.probeHeldOutEpisodes, steps: c.steps, seed: s + 1000, cacheDir }) };
  if (r.data === 'mmnist') return { train: movingMnistEpisodes({ count: n, seed: s, split: 'train' }), held: movingMnistEpisodes({ count: c.probeHeldOutEpisodes, seed: s + 1000, split: 'train' }) };
  // a file: the training episodes (the first probe on all but the last, checked on the last; the loss probe on the second half)
  const tr = first.train;
  if (tr.length < 2) return { train: tr, held: [] };
  return which ? { train: tr.slice(Math.floor(tr.length / 2), tr.length - 1), held: tr.slice(tr.length - 1) } : { train: tr.slice(0, tr.length - 1), held: tr.slice(tr.length - 1) };
}

const labeled = (eps: Episode[]) => eps.length > 0 && eps.every((e) => !!e.labels && (e.labelDim ?? 0) > 0);

// ---------------------------------------------------------------------------------------------
// State, plan and phases

interface StateFile {
  format: 'worldkit-ablation-state/1';
  options: { data: string; variants: string[]; seeds: number; budgetMinutes: number | null; config: AblationConfig };
  plan: {
    vaeMinutes: number;
    predictorMinutes: number;
    evalSeconds: Record<string, number>;
    encodeSeconds: Record<string, number>;
    marginMinutes: number;
    /** The training times of each seed, fixed when the seed starts (every variant of a seed gets the same). */
    seeds: Record<string, { vaeMinutes: number; predictorMinutes: number }>;
  } | null;
  /** Wall time of earlier sessions (ms). */
  spentMs: number;
}

const readJson = <T>(file: string): T | null => {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as T;
  } catch (e) {
    throw new Error(`ablate: ${file}: not valid JSON (${(e as Error).message})`);
  }
};
const writeJson = (file: string, v: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 1) + '\n');
};

/** The differences between the options a folder was started with and these, in words. */
function optionDiffs(a: StateFile['options'], b: StateFile['options']): string[] {
  const d: string[] = [];
  if (a.data !== b.data) d.push(`data ${a.data} (now ${b.data})`);
  if (a.variants.join(',') !== b.variants.join(',')) d.push(`variants ${a.variants.join(',')} (now ${b.variants.join(',')})`);
  if (a.seeds !== b.seeds) d.push(`seeds ${a.seeds} (now ${b.seeds})`);
  if (a.budgetMinutes !== b.budgetMinutes) d.push(`budget ${a.budgetMinutes ?? 'none'} min (now ${b.budgetMinutes ?? 'none'})`);
  const ka = Object.keys({ ...a.config, ...b.config }) as (keyof AblationConfig)[];
  for (const k of ka) if (JSON.stringify(a.config[k]) !== JSON.stringify(b.config[k])) d.push(`config.${k} ${JSON.stringify(a.config[k])} (now ${JSON.stringify(b.config[k])})`);
  return d;
}

export interface PhaseRecord {
  done: boolean;
  spentMs: number;
  steps: number;
  stopReason?: string;
  /** The trainer's notes (a collapsed discriminator, a resume applying options, ...). */
  notes?: string[];
}

/**
 * One training phase with a checkpoint folder: skipped when phase.json says it finished, resumed
 * from latest.json with the time it had left, its time recorded at every epoch end (so a killed
 * run still knows roughly what it spent). Also the phases of bench-model (src/train/bench_model.ts).
 */
export async function runPhase(
  dir: string,
  minutes: number | null,
  signal: { stop: boolean } | undefined,
  cbs: TrainCallbacks | undefined,
  log: (l: string) => void,
  label: string,
  train: (o: { checkpointDir: string; resume: boolean; budgetMinutes?: number; callbacks: TrainCallbacks; signal?: { stop: boolean } }) => Promise<TrainResult>,
): Promise<{ record: PhaseRecord; interrupted: boolean; trained: boolean; resumed: boolean; sessionMs: number }> {
  const file = path.join(dir, 'phase.json');
  const prev = readJson<PhaseRecord>(file) ?? { done: false, spentMs: 0, steps: 0 };
  if (prev.done && latestCheckpoint(dir)) return { record: prev, interrupted: false, trained: false, resumed: false, sessionMs: 0 };
  const resume = !!latestCheckpoint(dir);
  let left = minutes === null ? undefined : minutes - prev.spentMs / 60000;
  if (resume && left !== undefined && left < 0.01) {
    // its time was spent before the interruption: the checkpoint is the phase's result
    const rec = { ...prev, done: true, stopReason: 'budget' };
    writeJson(file, rec);
    return { record: rec, interrupted: false, trained: false, resumed: true, sessionMs: 0 };
  }
  if (left !== undefined) left = Math.max(0.01, left);
  if (resume) log(`${label}: resuming from ${latestCheckpoint(dir)}${left !== undefined ? ` with ${left.toFixed(2)} of ${minutes!.toFixed(2)} min left` : ''}`);
  fs.mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const spent = () => prev.spentMs + (performance.now() - t0);
  const callbacks: TrainCallbacks = {
    ...(cbs ?? {}),
    onEpochEnd(e, logs) {
      writeJson(file, { done: false, spentMs: spent(), steps: logs.step ?? prev.steps });
      return cbs?.onEpochEnd?.(e, logs);
    },
    onNote(m) {
      if (cbs?.onNote) return cbs.onNote(m);
      log(`${label}: note: ${m}`);
    },
  };
  const r = await train({ checkpointDir: dir, resume, budgetMinutes: left, callbacks, signal });
  const interrupted = r.stopReason === 'interrupted';
  const notes = [...(prev.notes ?? []), ...r.notes.filter((n) => !/^budget /.test(n))];
  const rec: PhaseRecord = { done: !interrupted, spentMs: spent(), steps: r.step, stopReason: r.stopReason, notes };
  writeJson(file, rec);
  return { record: rec, interrupted, trained: true, resumed: resume, sessionMs: performance.now() - t0 };
}

const meanPlan = (ps: { vaeMinutes: number; predictorMinutes: number }[]) => ({
  vaeMinutes: ps.reduce((s, p) => s + p.vaeMinutes, 0) / ps.length,
  predictorMinutes: ps.reduce((s, p) => s + p.predictorMinutes, 0) / ps.length,
});

// ---------------------------------------------------------------------------------------------
// Metrics of one evaluation

const HEADLINE = [1, 4, 8, 16];
/** The steps the tables show: 1, 4, 8, 16 within the horizon, and the last step. */
export function ablationSteps(horizon: number): number[] {
  const s = HEADLINE.filter((k) => k <= horizon);
  if (!s.includes(horizon)) s.push(horizon);
  return s;
}

/** The flat metrics and per-step curves of one evaluation (eval.json), as ablation.json holds them. */
export function ablationRunMetrics(ev: EvalFile, horizon: number): { metrics: Record<string, number>; curves: Record<string, number[]> } {
  const m: Record<string, number> = {};
  const curves: Record<string, number[]> = {};
  const r = ev.rollout;
  const sem = r?.semantic?.overall;
  const ratio = (a: number[] | undefined, b: number[] | undefined) => (a ?? []).map((v, k) => (b && b[k] > 0 ? v / b[k] : NaN));
  if (sem) {
    curves.retention = sem.retention;
    curves.retention_changed = sem.changed.retention;
    curves.copy_last_retention = sem.copyLastRetention;
    curves.copy_last_retention_changed = ratio(sem.changed.accuracy.copyLast, sem.changed.accuracy.real);
    curves.changed_accuracy = sem.changed.accuracy.predicted;
    curves.copy_last_changed_accuracy = sem.changed.accuracy.copyLast;
    curves.changed_count = sem.changed.count;
  }
  if (r) {
    curves.psnr = r.psnrVsReal;
    curves.ssim = r.ssimVsReal;
    curves.latent_mse = r.latentMse;
    curves.copy_last_psnr = r.baselinePsnrVsReal;
    curves.copy_last_ssim = r.baselineSsimVsReal;
    curves.copy_last_latent_mse = r.baselineLatentMse;
    if (r.drift) {
      curves.separability = r.drift.separability;
      curves.frechet = r.drift.frechet;
      curves.copy_last_separability = r.drift.copyLastSeparability;
      curves.copy_last_frechet = r.drift.copyLastFrechet;
    }
  }
  for (const k of ablationSteps(horizon))
    for (const [name, c] of Object.entries(curves)) m[`${name}@${k}`] = c[k - 1] ?? NaN;
  if (ev.reconstruction) {
    m.recon_psnr = ev.reconstruction.psnr;
    m.recon_ssim = ev.reconstruction.ssim;
  }
  return { metrics: m, curves };
}

function summarize(values: number[]): MetricSummary {
  const f = values.filter(Number.isFinite);
  const n = f.length;
  if (!n) return { mean: NaN, std: NaN, min: NaN, max: NaN, n: 0 };
  const mean = f.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(f.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, min: Math.min(...f), max: Math.max(...f), n };
}

function meanCurves(runs: AblationRun[], pick: (name: string) => boolean, rename = (n: string) => n): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const names = new Set(runs.flatMap((r) => Object.keys(r.curves)).filter(pick));
  for (const name of names) {
    const L = Math.max(...runs.map((r) => r.curves[name]?.length ?? 0));
    out[rename(name)] = Array.from({ length: L }, (_, k) => summarize(runs.map((r) => r.curves[name]?.[k] ?? NaN)).mean);
  }
  return out;
}

/** The comparison over the finished runs (rows in the variants' order; copy-last from the same windows). */
export function summarizeAblation(runs: AblationRun[], meta: Omit<AblationFile, 'format' | 'rows' | 'copyLast' | 'runs' | 'spread'>): AblationFile {
  const rows: AblationRow[] = [];
  for (const v of meta.variants) {
    const rs = runs.filter((r) => r.variant === v).sort((a, b) => a.seed - b.seed);
    if (!rs.length) continue;
    const keys = [...new Set(rs.flatMap((r) => Object.keys(r.metrics)))].filter((k) => !k.startsWith('copy_last_'));
    const metrics: Record<string, MetricSummary> = {};
    for (const k of keys) metrics[k] = summarize(rs.map((r) => r.metrics[k] ?? NaN));
    metrics.wall_minutes = summarize(rs.map((r) => (r.seconds.vae + r.seconds.predictor + r.seconds.evaluate) / 60));
    metrics.train_minutes = summarize(rs.map((r) => (r.seconds.vae + r.seconds.predictor) / 60));
    rows.push({ variant: v, description: DESCRIPTIONS[v as AblationVariant] ?? v, seeds: rs.map((r) => r.seed), metrics, curves: meanCurves(rs, (n) => !n.startsWith('copy_last_') && n !== 'changed_count') });
  }
  // copy-last does not depend on the model: one value per seed (from the first variant that has the seed)
  const bySeed = new Map<number, AblationRun>();
  for (const r of runs) if (!bySeed.has(r.seed) && Object.keys(r.metrics).some((k) => k.startsWith('copy_last_'))) bySeed.set(r.seed, r);
  const cl = [...bySeed.values()];
  let copyLast: AblationRow | null = null;
  if (cl.length) {
    const keys = [...new Set(cl.flatMap((r) => Object.keys(r.metrics)))].filter((k) => k.startsWith('copy_last_'));
    const metrics: Record<string, MetricSummary> = {};
    for (const k of keys) metrics[k.slice('copy_last_'.length)] = summarize(cl.map((r) => r.metrics[k] ?? NaN));
    copyLast = { variant: 'copy-last', description: 'the last context frame held for the whole horizon (no model)', seeds: cl.map((r) => r.seed).sort((a, b) => a - b), metrics, curves: meanCurves(cl, (n) => n.startsWith('copy_last_'), (n) => n.slice('copy_last_'.length)) };
  }
  // paired differences: the seeds' roads move every variant together (docs/remedies.md)
  const retentionKeys = (r: AblationRun) => Object.keys(r.metrics).filter((k) => /^retention(_changed)?@\d+$/.test(k));
  const base = runs.filter((r) => r.variant === 'baseline');
  for (const row of rows) {
    const rs = runs.filter((r) => r.variant === row.variant);
    const diff = (other: (run: AblationRun, key: string) => number | undefined) => {
      const out: Record<string, MetricSummary> = {};
      for (const k of [...new Set(rs.flatMap(retentionKeys))]) out[k] = summarize(rs.map((r) => { const o = other(r, k); return o === undefined ? NaN : r.metrics[k] - o; }));
      return out;
    };
    row.paired = {
      ...(row.variant !== 'baseline' && base.length ? { baseline: diff((r, k) => base.find((b) => b.seed === r.seed)?.metrics[k]) } : {}),
      copyLast: diff((r, k) => r.metrics[`copy_last_${k}`]),
    };
  }
  return { format: ABLATION_FORMAT, ...meta, spread: 'sample standard deviation over the seeds (n - 1; 0 with one seed)', rows, copyLast, runs };
}

/** Mean ± spread of a paired difference, in bold where the mean is larger than its spread (more than one seed). */
const pairedCell = (s: MetricSummary | undefined) => {
  if (!s || !s.n) return 'n/a';
  const t = `${s.mean >= 0 ? '+' : ''}${pm(s, 3)}`;
  return s.n > 1 && Math.abs(s.mean) > s.std ? `**${t}**` : t;
};

/** The paired tables: each variant against the baseline and against copy-last, seed by seed. */
function pairedTables(a: AblationFile): string[] {
  const steps = a.steps;
  const table = (title: string, which: 'baseline' | 'copyLast', intro: string) => {
    const rows = a.rows.filter((r) => r.paired?.[which]);
    if (!rows.length) return [];
    return [
      title,
      '',
      intro,
      '',
      `| variant | ${steps.map((k) => `step ${k}`).join(' | ')} | ${steps.map((k) => `changed, step ${k}`).join(' | ')} |`,
      `|---|${steps.map(() => '---').join('|')}|${steps.map(() => '---').join('|')}|`,
      ...rows.map((r) => `| ${r.variant} | ${steps.map((k) => pairedCell(r.paired![which]![`retention@${k}`])).join(' | ')} | ${steps.map((k) => pairedCell(r.paired![which]![`retention_changed@${k}`])).join(' | ')} |`),
      '',
    ];
  };
  return [
    ...table('## Against the baseline, seed by seed', 'baseline', "Per seed, the variant's retention minus the baseline's on the same seed (same data, same test windows), then mean ± spread over the seeds. **Bold**: the mean is larger than its spread. The seeds' roads move every variant together, so these differences can be clear where the rows' own spreads overlap."),
    ...table('## Against copy-last, seed by seed', 'copyLast', "The same, minus copy-last's retention on the same windows; where the label changed, copy-last is almost always wrong, so a model beats it there by predicting the change."),
  ];
}

const f2 = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const pm = (s: MetricSummary | undefined, d: number) => (!s || !s.n ? 'n/a' : s.n > 1 ? `${f2(s.mean, d)} ± ${f2(s.std, d)}` : f2(s.mean, d));
const sciPm = (s: MetricSummary | undefined) => (!s || !s.n ? 'n/a' : `${s.mean.toExponential(2)}${s.n > 1 ? ` ± ${s.std.toExponential(1)}` : ''}`);

/** ", per seed: 1 0.62, 2 0.55 min" when the seeds' training times differ (re-planned at a seed boundary). */
export function seedBudgetText(a: Pick<AblationFile, 'seedBudgets'>): string {
  const sb = a.seedBudgets ?? [];
  const t = sb.map((b) => b.vaeMinutes + b.predictorMinutes);
  if (t.length < 2 || t.every((v) => Math.abs(v - t[0]) < 0.005)) return '';
  return ` (the mean; per seed, the same for every variant of the seed: ${sb.map((b, i) => `seed ${b.seed} ${t[i].toFixed(2)}`).join(', ')} min)`;
}

/** How many samples the changed-label columns rest on (the same windows for every variant). */
function changedCountLine(a: AblationFile): string[] {
  const r = a.rows[0];
  if (!r || !a.steps.some((k) => r.metrics[`changed_count@${k}`]?.n)) return [];
  return [`Changed-label samples (windows x label heads) per run at steps ${a.steps.join(', ')}: ${a.steps.map((k) => f2(r.metrics[`changed_count@${k}`]?.mean ?? NaN, 1)).join(', ')} (mean over the seeds); few samples make those columns noisy.`, ''];
}

/** ablation.md: the Markdown tables. */
export function ablationMarkdown(a: AblationFile): string {
  const steps = a.steps;
  const all = [...a.rows, ...(a.copyLast ? [a.copyLast] : [])];
  const lines: string[] = [
    '# worldkit ablate',
    '',
    `Data: ${a.data}. Seeds: ${a.seeds.join(', ')}. ${a.context} context frames, ${a.horizon} imagined steps.`,
    a.budgetMinutes !== null
      ? `Budget: ${a.budgetMinutes} min in all; every variant trained ${a.variantBudget ? `${(a.variantBudget.vaeMinutes + a.variantBudget.predictorMinutes).toFixed(2)} min (VAE phase ${a.variantBudget.vaeMinutes.toFixed(2)} + predictor phase ${a.variantBudget.predictorMinutes.toFixed(2)}; a shared VAE's phase counts for each variant using it)` : 'the same time'}${seedBudgetText(a)}. Wall time of the ablation: ${a.wallMinutes.toFixed(1)} min.`
      : `No time budget: every variant trained the same epochs. Wall time of the ablation: ${a.wallMinutes.toFixed(1)} min.`,
    '',
    `Values: mean ± spread over the seeds, where the spread is the ${a.spread}. Retention = probe accuracy on decoded predictions / on the real frames; "changed" = the windows whose true label at that step differs from the last context frame's (copy-last cannot get those).`,
    '',
    '## Semantic retention',
    '',
    `| variant | ${steps.map((k) => `step ${k}`).join(' | ')} | ${steps.map((k) => `changed, step ${k}`).join(' | ')} |`,
    `|---|${steps.map(() => '---').join('|')}|${steps.map(() => '---').join('|')}|`,
    ...all.map((r) => `| ${r.variant} | ${steps.map((k) => pm(r.metrics[`retention@${k}`], 3)).join(' | ')} | ${steps.map((k) => pm(r.metrics[`retention_changed@${k}`], 3)).join(' | ')} |`),
    '',
    ...changedCountLine(a),
    ...pairedTables(a),
    `## Pixels and latents at step ${steps[steps.length - 1]}, and time`,
    '',
    '| variant | PSNR vs real (dB) | SSIM vs real | latent MSE | separability (0.5 best) | Fréchet | recon PSNR (dB) | training (min) | wall (min) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...all.map((r) => {
      const k = steps[steps.length - 1];
      return `| ${r.variant} | ${pm(r.metrics[`psnr@${k}`], 2)} | ${pm(r.metrics[`ssim@${k}`], 3)} | ${sciPm(r.metrics[`latent_mse@${k}`])} | ${pm(r.metrics[`separability@${k}`], 2)} | ${sciPm(r.metrics[`frechet@${k}`])} | ${pm(r.metrics.recon_psnr, 2)} | ${pm(r.metrics.train_minutes, 2)} | ${pm(r.metrics.wall_minutes, 2)} |`;
    }),
    '',
    'Variants:',
    '',
    ...a.rows.map((r) => `- ${r.variant}: ${r.description} (seeds ${r.seeds.join(', ')})`),
    ...(a.copyLast ? [`- copy-last: ${a.copyLast.description}; its latent MSE is the last context latent's`] : []),
    '',
  ];
  if (a.missing.length) lines.push('Not finished:', '', ...a.missing.map((m) => `- ${m.variant} seed ${m.seed}: ${m.reason}`), '');
  if (a.notes.length) lines.push('Notes:', '', ...a.notes.map((n) => `- ${n}`), '');
  const noted = a.runs.filter((r) => r.warnings.length);
  if (noted.length) lines.push("The trainers' notes:", '', ...noted.flatMap((r) => r.warnings.map((w) => `- ${r.variant} seed ${r.seed}: ${w}`)), '');
  lines.push('Per run: `<variant>/seed<k>/result.json` and `eval/`; the comparison with filmstrips: `report.html`.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

export async function ablate(options: AblateOptions = {}): Promise<AblationResult> {
  const r = resolveOptions(options);
  const cfg = r.cfg;
  const out = path.resolve(options.outDir ?? path.join('runs', 'ablate'));
  const log = options.log ?? (() => {});
  const signal = options.signal;
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const device = options.device;
  const t00 = performance.now();

  // The folder's options: a rerun must ask for the same ablation.
  fs.mkdirSync(out, { recursive: true });
  const stateFile = path.join(out, 'ablation_state.json');
  const opts: StateFile['options'] = { data: r.data, variants: r.variants, seeds: r.seeds, budgetMinutes: r.budgetMinutes, config: cfg };
  const prevState = readJson<StateFile>(stateFile);
  if (prevState) {
    const d = optionDiffs(prevState.options, JSON.parse(JSON.stringify(opts)));
    if (d.length) throw new Error(`ablate: ${out} holds an ablation started with other options: ${d.join('; ')}. Rerun with the same options to resume it, or use another output folder.`);
    log(`resuming the ablation in ${out}`);
  }
  const state: StateFile = prevState ?? { format: 'worldkit-ablation-state/1', options: opts, plan: null, spentMs: 0 };
  const elapsed = () => state.spentMs + (performance.now() - t00);
  // Written once training starts: a call refused before (labels missing, a budget too small)
  // leaves the folder free for other options.
  let stateOn = !!prevState;
  const saveState = () => {
    if (stateOn) writeJson(stateFile, { ...state, spentMs: elapsed() });
  };

  const kinds = [...new Set(r.variants.map((v) => SPECS[v].vae))];
  const vaeOptions = (kind: VaeKind): ConvVAEOptions => {
    const base: ConvVAEOptions = { ...cfg.vae };
    if (r.data === 'mmnist' && !cfg.vae.inputShape) Object.assign(base, { inputShape: [1, 64, 64], reconLoss: 'bce', beta: 0.5 });
    return kind === 'big' ? { ...base, ...cfg.bigVae } : base;
  };

  // Data of the first seed and the probes.
  const fileCache: { eps?: Episode[] } = {};
  const tData = performance.now();
  const data = new Map<number, SeedData>();
  const dataOf = (seed: number) => {
    if (!data.has(seed)) data.set(seed, seedData(r, seed, cacheDir, fileCache));
    return data.get(seed)!;
  };
  const first = dataOf(1);
  const dataMs = performance.now() - tData;
  log(`data: ${first.train.length} training and ${first.test.length} test episodes per seed (${(dataMs / 1000).toFixed(1)} s)`);
  const hasLabels = labeled(first.train) && labeled(first.test);
  const probeOpts = (which: 0 | 1) => ({ epochs: which ? cfg.lossProbeEpochs : cfg.probeEpochs, seed: which ? 2 : 1, log, cacheDir, ...(cfg.probe ? { probe: cfg.probe } : {}) });
  let evalProbe: TrainedProbe | undefined;
  if (hasLabels) {
    const pd = probeData(r, 0, cacheDir, first);
    evalProbe = await ensureSemanticProbe(path.join(out, 'probe'), pd.train, { heldOut: pd.held.length ? pd.held : undefined, ...probeOpts(0) });
    log(`probe (evaluation): held-out accuracy ${evalProbe.quality.heads.map((h) => `${h.name} ${(100 * h.accuracy).toFixed(1)}%`).join(', ') || 'not measured'}`);
  } else log('the data has no labels: no semantic probe, no semantic retention');
  const needsLossProbe = r.variants.some((v) => SPECS[v].perceptual || (SPECS[v].vae === 'big' && cfg.vaePerceptualWeight > 0));
  let lossProbe: TrainedProbe | undefined;
  if (needsLossProbe) {
    if (!hasLabels) throw new Error(`ablate: the perceptual variants (${r.variants.filter((v) => SPECS[v].perceptual || SPECS[v].vae === 'big').join(', ')}) take their features from a semantic probe, which needs labeled data; '${r.data}' has none`);
    const pd = probeData(r, 1, cacheDir, first);
    lossProbe = await ensureSemanticProbe(path.join(out, 'probe_loss'), pd.train, { heldOut: pd.held.length ? pd.held : undefined, ...probeOpts(1) });
    lossProbe.probe.freeze().eval();
  }
  if (r.variants.some((v) => SPECS[v].classification) && !hasLabels) throw new Error(`ablate: the classification variants need labeled data; '${r.data}' has none`);

  // The plan: every variant's training time, from the time left after the fixed costs.
  const evalOpts = (probe: TrainedProbe | undefined, describe: string) => ({
    context: cfg.context,
    horizon: cfg.horizon,
    windows: cfg.evalWindows,
    windowStride: cfg.evalWindowStride,
    probe,
    closedLoopRuns: 0,
    tsne: false as const,
    filmstrips: cfg.evalFilmstrips,
    data: describe,
  });
  if (r.budgetMinutes !== null && !state.plan) {
    const evalSeconds: Record<string, number> = {};
    const encodeSeconds: Record<string, number> = {};
    const cal = path.join(out, '_calibration');
    for (const kind of kinds) {
      const vae = createVAE({ ...vaeOptions(kind), ...(device ? { device } : {}) });
      const pred = createPredictor(vae, { hiddenSize: cfg.hiddenSize, data: first.train, residualPrediction: true, seed: 1 });
      vae.eval();
      pred.eval();
      let t = performance.now();
      encodeEpisodes(vae, first.train);
      encodeSeconds[kind] = (performance.now() - t) / 1000;
      t = performance.now();
      evaluateWorldModel(vae, pred, first.test, cal, evalOpts(evalProbe, 'calibration'));
      evalSeconds[kind] = (performance.now() - t) / 1000;
      vae.dispose();
      pred.dispose();
    }
    fs.rmSync(cal, { recursive: true, force: true });
    const S = r.seeds;
    const leftMin = r.budgetMinutes - elapsed() / 60000;
    const fixedMin =
      (S * (kinds.reduce((s, k) => s + encodeSeconds[k], 0) + r.variants.reduce((s, v) => s + evalSeconds[SPECS[v].vae], 0)) + (r.data === 'sim' || r.data === 'mmnist' ? (S - 1) * (dataMs / 1000) : 0)) / 60;
    // margin: each phase's first validation and checkpoint come before the budget has measured them
    const margin = Math.max(0.05 * r.budgetMinutes, (S * (kinds.length + r.variants.length) * 2) / 60);
    const units = S * (cfg.vaeShare * kinds.length + (1 - cfg.vaeShare) * r.variants.length);
    const T = (leftMin - fixedMin - margin) / units;
    log(`plan: ${leftMin.toFixed(1)} min left after data and probes; evaluations and encodings ~${fixedMin.toFixed(1)} min, margin ${margin.toFixed(1)} min; ${S} seed(s) x ${kinds.length} VAE(s) + ${r.variants.length} predictor phase(s)`);
    if (!(T > 0.02))
      throw new Error(
        `ablate: budget ${r.budgetMinutes} min is too small for ${r.variants.length} variant(s) x ${S} seed(s): after the data and probes (${(elapsed() / 60000).toFixed(1)} min), the evaluations and encodings (~${fixedMin.toFixed(1)} min) and a margin of ${margin.toFixed(1)} min, no training time is left. Give at least ${Math.ceil(elapsed() / 60000 + fixedMin + margin + units * 0.25)} min, or fewer variants / seeds.`,
      );
    state.plan = { vaeMinutes: cfg.vaeShare * T, predictorMinutes: (1 - cfg.vaeShare) * T, evalSeconds, encodeSeconds, marginMinutes: margin, seeds: {} };
    log(`plan: every variant trains ${T.toFixed(2)} min (VAE phase ${state.plan.vaeMinutes.toFixed(2)} + predictor phase ${state.plan.predictorMinutes.toFixed(2)})`);
  }
  const plan = state.plan;

  const ran: AblationResult['ran'] = [];
  const skipped: AblationResult['skipped'] = [];
  const runs: AblationRun[] = [];
  const failed: AblationFile['missing'] = [];
  let interrupted = false;
  const cb = (label: string) => options.callbacks?.(label);
  const epochLimit = (k: 'vaeEpochs' | 'predEpochs') => {
    const given = options.config?.[k];
    return r.budgetMinutes === null ? { epochs: cfg[k]! } : typeof given === 'number' ? { epochs: given } : {};
  };
  const mbpe = cfg.maxBatchesPerEpoch === null ? {} : { maxBatchesPerEpoch: cfg.maxBatchesPerEpoch };

  stateOn = true;
  saveState();

  // What a whole seed cost beyond its training (evaluations, encodings, remedy set-up, loading),
  // measured on a seed run from scratch in this session: the next seeds are planned with it.
  let seedOverheadMs: number | null = null;
  const units1 = cfg.vaeShare * kinds.length + (1 - cfg.vaeShare) * r.variants.length;
  /** The training times of `seed`: its saved plan, or (budgeted) one made now from the time left. */
  const seedPlan = (seed: number): { vaeMinutes: number; predictorMinutes: number } | null => {
    if (!plan) return null;
    const saved = plan.seeds[String(seed)];
    if (saved) return saved;
    let sp = { vaeMinutes: plan.vaeMinutes, predictorMinutes: plan.predictorMinutes };
    if (seedOverheadMs !== null) {
      // Re-planned at a seed boundary: every variant of this seed still gets the same time, so
      // each variant's mean over the seeds is over the same training times.
      const R = r.seeds - seed + 1;
      const left = r.budgetMinutes! - elapsed() / 60000 - (plan.marginMinutes * R) / r.seeds;
      const T = (left - (R * seedOverheadMs) / 60000) / (R * units1);
      if (T < 0.02) log(`plan: the evaluations took longer than measured: seed ${seed} gets the minimum training time (0.02 min a variant) and the budget will be exceeded`);
      const t = Math.max(0.02, T);
      sp = { vaeMinutes: cfg.vaeShare * t, predictorMinutes: (1 - cfg.vaeShare) * t };
      log(`plan: seed ${seed}: every variant trains ${t.toFixed(2)} min (re-planned from ${(seedOverheadMs / 60000).toFixed(1)} min of evaluation and set-up a seed)`);
    }
    plan.seeds[String(seed)] = sp;
    saveState();
    return sp;
  };

  seeds: for (let seed = 1; seed <= r.seeds; ++seed) {
    const todo = r.variants.filter((v) => !fs.existsSync(path.join(out, v, `seed${seed}`, 'result.json')));
    for (const v of r.variants.filter((x) => !todo.includes(x))) {
      skipped.push({ variant: v, seed });
      log(`${v} seed ${seed}: done before (result.json), skipped`);
    }
    if (!todo.length) continue;
    const sp = seedPlan(seed);
    const seedT0 = performance.now();
    let seedTrainMs = 0;
    let seedFresh = todo.length === r.variants.length;
    const d = dataOf(seed);
    const vaes = new Map<VaeKind, { vae: ConvVAE; dir: string; seconds: number; steps: number; notes: string[]; latents: LatentEpisode[] | null }>();
    for (const kind of [...new Set(todo.map((v) => SPECS[v].vae))]) {
      const dir = path.join(out, `vae_${kind}`, `seed${seed}`);
      const label = `vae (${kind === 'base' ? 'baseline' : 'stronger'}, seed ${seed})`;
      let vae: ConvVAE | null = null;
      const phase = await runPhase(dir, sp ? sp.vaeMinutes : null, signal, cb(label), log, label, async (po) => {
        vae = createVAE({ ...vaeOptions(kind), seed, ...(device ? { device } : {}) });
        log(`${label}: ${vae.numParameters()} parameters, latent [${vae.latentShape}]`);
        const extra: Partial<TrainVAEOptions> = kind === 'big' && cfg.vaePerceptualWeight > 0 ? { perceptualWeight: cfg.vaePerceptualWeight, perceptualNetwork: lossProbe!.probe } : {};
        return trainVAE(vae, d.train, { ...epochLimit('vaeEpochs'), ...mbpe, batchSize: cfg.vaeBatch, lr: cfg.vaeLr, lrSchedule: 'cosine', seed, ...extra, ...po });
      });
      seedTrainMs += phase.sessionMs;
      seedFresh &&= phase.trained && !phase.resumed;
      if (phase.interrupted) {
        interrupted = true;
        break seeds;
      }
      const trainedVae: ConvVAE = phase.trained && vae ? vae : loadVAE(dir, device ? { device } : {});
      trainedVae.freeze().eval();
      vaes.set(kind, { vae: trainedVae, dir, seconds: phase.record.spentMs / 1000, steps: phase.record.steps, notes: phase.record.notes ?? [], latents: null });
    }

    for (const v of todo) {
      const s = SPECS[v];
      const runDir = path.join(out, v, `seed${seed}`);
      const label = `${v} seed ${seed}`;
      const shared = vaes.get(s.vae)!;
      try {
        // The VAE this run trains with: the shared one (frozen), or a copy of it that end-to-end training changes.
        const vae = s.endToEnd ? loadVAE(shared.dir, device ? { device } : {}) : shared.vae;
        if (!s.endToEnd && !shared.latents) {
          shared.latents = encodeEpisodes(shared.vae, d.train);
        }
        const remedies: RemedyOptions = {};
        if (s.perceptual) Object.assign(remedies, { perceptualWeight: cfg.perceptualWeight, perceptualNetwork: 'probe', probe: lossProbe!.probe });
        if (s.adversarial) remedies.adversarialWeight = cfg.adversarialWeight;
        if (s.classification) remedies.classificationWeight = cfg.classificationWeight;
        const phaseDir = path.join(runDir, s.endToEnd ? 'world_model' : 'predictor');
        let predictor: LatentSequenceModel | null = null;
        const phase = await runPhase(phaseDir, sp ? sp.predictorMinutes : null, signal, cb(label), log, label, async (po) => {
          predictor = createPredictor(vae, { hiddenSize: cfg.hiddenSize, data: d.train, residualPrediction: true, seed });
          const common: TrainPredictorOptions = {
            ...epochLimit('predEpochs'),
            ...mbpe,
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
            ...po,
          };
          if (s.endToEnd) {
            return trainWorldModel(vae, predictor, d.train, { ...common, ...remedies, vaeLr: cfg.endToEndVaeLr });
          }
          return trainPredictor(predictor, vae, d.train, { ...common, ...remedies, latents: shared.latents! });
        });
        seedTrainMs += phase.sessionMs;
        seedFresh &&= phase.trained && !phase.resumed;
        if (phase.interrupted) {
          if (s.endToEnd) vae.dispose();
          interrupted = true;
          break seeds;
        }
        // Evaluate: the models as trained, or as their checkpoints hold them (training done in an earlier session).
        const pr: LatentSequenceModel = phase.trained && predictor ? predictor : loadPredictor(phaseDir, device ? { device } : {});
        const evVae = s.endToEnd && !phase.trained ? (vae.dispose(), loadVAE(phaseDir, device ? { device } : {})) : vae;
        evVae.freeze().eval();
        pr.eval();
        // what the trainers noted (a collapsed or overpowered discriminator, ...): shown with the run
        const warnings = [...new Set([...shared.notes.map((n) => `VAE: ${n}`), ...(phase.record.notes ?? [])])];
        const tEval = performance.now();
        const ev = evaluateWorldModel(evVae, pr, d.test, path.join(runDir, 'eval'), evalOpts(evalProbe, d.describe));
        const evalSec = (performance.now() - tEval) / 1000;
        const { metrics, curves } = ablationRunMetrics(ev, cfg.horizon);
        const run: AblationRun = {
          variant: v,
          seed,
          dir: path.relative(out, runDir),
          metrics,
          curves,
          seconds: { vae: shared.seconds, predictor: phase.record.spentMs / 1000, evaluate: evalSec },
          steps: { vae: shared.steps, predictor: phase.record.steps },
          sharedVae: r.variants.filter((x) => SPECS[x].vae === s.vae).length > 1,
          warnings,
        };
        writeJson(path.join(runDir, 'result.json'), run);
        log(`${label}: done (${metrics['retention@' + Math.min(16, cfg.horizon)] !== undefined ? `retention at step ${Math.min(16, cfg.horizon)} ${f2(metrics['retention@' + Math.min(16, cfg.horizon)], 3)}, ` : ''}evaluation ${evalSec.toFixed(1)} s)`);
        ran.push({ variant: v, seed });
        pr.dispose();
        if (evVae !== shared.vae) evVae.dispose();
      } catch (e) {
        // one run failing (a remedy diverging) is reported in the table; the others go on
        const msg = (e as Error).message ?? String(e);
        log(`${label}: FAILED: ${msg}`);
        failed.push({ variant: v, seed, reason: msg });
      }
      saveState();
      if (signal?.stop) {
        interrupted = true;
        break seeds;
      }
    }
    for (const x of vaes.values()) x.vae.dispose();
    if (seedFresh) seedOverheadMs = performance.now() - seedT0 - seedTrainMs;
  }

  // Everything finished so far (this session's runs and earlier ones).
  for (const v of r.variants)
    for (let seed = 1; seed <= r.seeds; ++seed) {
      const run = readJson<AblationRun>(path.join(out, v, `seed${seed}`, 'result.json'));
      if (run) runs.push(run);
      else if (!failed.some((f) => f.variant === v && f.seed === seed)) failed.push({ variant: v, seed, reason: interrupted ? 'interrupted (rerun the same command to resume)' : 'not run' });
    }
  saveState();
  lossProbe?.probe.dispose();
  evalProbe?.probe.dispose();
  const seconds = (performance.now() - t00) / 1000;
  if (!runs.length) return { outDir: out, interrupted, ran, skipped, tableFile: null, jsonFile: null, reportFile: null, ablation: null, seconds };
  const notes: string[] = [];
  if (evalProbe?.quality.heads.some((h) => !h.reliable)) notes.push(`the evaluation's probe is below ${(100 * evalProbe.quality.threshold).toFixed(0)}% held-out accuracy on ${evalProbe.quality.heads.filter((h) => !h.reliable).map((h) => h.name).join(', ')}: those retention figures measure the probe as much as the models`);
  if (needsLossProbe) notes.push('the perceptual losses take their features from a second probe (probe_loss/: other episodes, seed 2), not from the probe that measures retention');
  const ablation = summarizeAblation(runs, {
    data: first.describe.replace(/, \d+ test .*$/, '') + ` (${r.data === 'sim' || r.data === 'mmnist' ? `training and test data generated per seed` : 'one split for every seed'})`,
    variants: r.variants,
    seeds: Array.from({ length: r.seeds }, (_, i) => i + 1),
    budgetMinutes: r.budgetMinutes,
    variantBudget: plan ? meanPlan(Object.values(plan.seeds).length ? Object.values(plan.seeds) : [plan]) : null,
    seedBudgets: plan ? Object.entries(plan.seeds).map(([k, v]) => ({ seed: Number(k), ...v })).sort((a, b) => a.seed - b.seed) : [],
    steps: ablationSteps(cfg.horizon),
    horizon: cfg.horizon,
    context: cfg.context,
    wallMinutes: elapsed() / 60000,
    missing: failed,
    notes,
  });
  const jsonFile = path.join(out, 'ablation.json');
  writeJson(jsonFile, ablation);
  const tableFile = path.join(out, 'ablation.md');
  writeFileAtomic(tableFile, ablationMarkdown(ablation));
  const reportFile = writeAblationReport(out).file;
  return { outDir: out, interrupted, ran, skipped, tableFile, jsonFile, reportFile, ablation, seconds };
}
