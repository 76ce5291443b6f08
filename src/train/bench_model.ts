/**
 * benchModel(options) (`worldkit bench-model mmnist`): the video-prediction literature's Moving
 * MNIST protocol, so worldkit's predictors can be read against the published tables (OpenSTL,
 * Tan et al. 2023):
 *
 *   data      gray 64x64 sequences of two digits (src/data/moving_mnist.ts), single channel,
 *             native (no replication to RGB); 10 frames in, 10 predicted
 *   test set  `testSequences` (default 10,000) sequences from a fixed seed (MMNIST_TEST_SEED) on
 *             the test digits, generated and scored a chunk at a time (never all in memory);
 *             its SHA-256 is in results.json, so two runs can show they scored the same set
 *   training  sequences from the train digits (other seeds): the VAE then the predictor
 *             (latent predictors), or the pixel-space predictor alone (convlstm), within
 *             `budgetMinutes` of training time, or for `epochs`
 *   metrics   as OpenSTL's tables (its openstl/core/metrics.py), per predicted frame, averaged
 *             over the 10 predicted frames and the sequences:
 *               MSE   sum over the 64x64 pixels (values in [0, 1]) of the squared error
 *               MAE   the same with the absolute error
 *               SSIM  Wang et al. (src/diagnostics/image_metrics.ts: 11x11 Gaussian window);
 *                     OpenSTL calls skimage's structural_similarity with its defaults (a 7x7
 *                     uniform window), so SSIMs agree in kind, not to the third decimal
 *               PSNR  per frame, -10 log10(mean squared error), then the mean over frames (as
 *                     OpenSTL averages it; not the PSNR of the mean MSE); a perfect frame counts
 *                     100 dB (FRAME_PSNR_CAP) where OpenSTL's would be infinite
 *             MSE and MAE on the raw predictions, SSIM and PSNR on predictions clipped to [0, 1]
 *             (OpenSTL clips between the two). Also per predicted step (curves), for copy-last
 *             (the last context frame held) and, for latent predictors, the VAE's reconstruction
 *             of the true frames (the ceiling a model decoding through that VAE can reach).
 *   meaning   semantic retention of the digits' classes: a SemanticProbe trained on real
 *             training frames reads the two classes; retention at step k = its accuracy on the
 *             predicted frames / on the real frames. The episodes' labels (digit 1, digit 2 in
 *             draw order) cannot be told apart in a frame (the digits are combined by max), so
 *             the probe reads them sorted: the lower and the higher class of the pair.
 *
 * Writes <out>/results.md (the table) and <out>/results.json, with the checkpoints under <out>/vae,
 * <out>/predictor (or <out>/convlstm) and the probe under <out>/probe. Rerunning the same command
 * resumes: a finished phase is kept, an interrupted one continues from its checkpoint with the
 * time it had left (runPhase, shared with ablate); other training options on the same folder are
 * an error. The predictors are looked up in BENCH_PREDICTOR_KINDS.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Episode, LabelHead } from '../data/episode';
import { movingMnistChunks, movingMnistEpisodes } from '../data/moving_mnist';
import { defaultCacheDir } from '../data/episode_cache';
import type { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import { createVAE, trainVAE } from './train_vae';
import { createPredictor, encodeEpisodes, trainPredictor, CreatePredictorOptions, PredictorModelOptions } from './train_predictor';
import { loadPixelPredictor, loadPredictor, loadVAE } from './load';
import { trainPixelPredictor, TrainPixelPredictorOptions } from './train_pixel_predictor';
import { ConvLSTMPredictor, ConvLSTMPredictorOptions } from '../models/conv_lstm_predictor';
import { runPhase, PhaseRecord } from './ablate';
import type { TrainCallbacks, TrainResult } from './loop';
import type { Device } from '../tensor/memory';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { ensureSemanticProbe, TrainedProbe } from '../diagnostics/semantic_probe';
import { RetentionAccumulator } from '../diagnostics/semantic_retention';
import { frameErrors, framePsnr, ssim } from '../diagnostics/image_metrics';
import { decodeLatents, encodeFrames, framesToImages, openLoopRollout } from '../rollout/index';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, rangeError, typeError } from '../errors';

/** The protocol: 10 frames in, 10 predicted, 64x64, one channel. */
export const MMNIST_CONTEXT = 10;
export const MMNIST_HORIZON = 10;
export const MMNIST_SIZE = 64;
/** The test set's seed (on the test digits: never a training sequence, whose split draws another stream). */
export const MMNIST_TEST_SEED = 1;
/** Seeds of the training sequences and of the probe's (train digits). */
const TRAIN_SEED = 1;
const PROBE_SEED = 3001;
const PROBE_HELD_OUT_SEED = 4001;

/** Published anchors (OpenSTL's Moving MNIST table, trained on a GPU): per-frame MSE. */
export const MMNIST_ANCHORS: { method: string; mse: number; note: string }[] = [
  { method: 'ConvLSTM-S (OpenSTL)', mse: 29.8, note: '200 epochs, GPU' },
  { method: 'PredRNN++ (OpenSTL)', mse: 14.07, note: '2000 epochs, GPU' },
  { method: 'SimVP-gSTA (OpenSTL)', mse: 15.05, note: '200 epochs, GPU' },
];

export const BENCH_PREDICTORS = ['lstm', 'transformer', 'convlstm'] as const;
export type BenchPredictor = (typeof BENCH_PREDICTORS)[number];

// ---------------------------------------------------------------------------------------------
// Configuration

export interface BenchModelConfig {
  /** Training sequences (20 frames each; default 10,000, OpenSTL's training set size). */
  trainSequences: number;
  /**
   * Sequences whose latents the latent predictor trains on (null: all the training sequences;
   * encoding them is counted in its phase's time, 11 s for 10,000 on 2 cores, and the LSTM
   * overfitted 2,000 of them within minutes).
   */
  predictorSequences: number | null;
  /** The VAE (inputShape [1, 64, 64] and the BCE reconstruction: MSE's easy minimum on sparse digits is a black frame). */
  vae: ConvVAEOptions;
  vaeBatch: number;
  vaeLr: number;
  /** Share of the training budget given to the VAE phase (latent predictors). */
  vaeShare: number;
  /** Epochs of the VAE without a budget (null: the same as the predictor's). */
  vaeEpochs: number | null;
  /** The LSTM's hidden size. */
  hiddenSize: number;
  /** createPredictor options of the transformer (hiddenSize: its token width, numLayers, numHeads; default: createPredictor's). */
  transformer: Pick<PredictorModelOptions, 'hiddenSize' | 'numLayers' | 'numHeads' | 'maxFrames' | 'inputNoiseStd' | 'targetJitterScale'>;
  predBatch: number;
  predLr: number;
  /** ConvLSTMPredictor options of convlstm (hiddenChannels, numLayers, patchSize, kernelSize, loss; default: its own). */
  convlstm: Omit<ConvLSTMPredictorOptions, 'frameShape' | 'seed' | 'actionSize'>;
  pixelBatch: number;
  pixelLr: number;
  /** Batches per epoch at most (tests shrink runs with it; null: all). */
  maxBatchesPerEpoch: number | null;
  /**
   * The probe: training and held-out sequences (train digits, other seeds) of probeFrames frames
   * each (default 1: the frames of one sequence repeat the same two digit images, and a probe fed
   * 400 sequences of 20 frames learnt them by heart, 70% held-out accuracy), epochs, architecture.
   */
  probeSequences: number;
  probeFrames: number;
  probeHeldOutSequences: number;
  probeEpochs: number;
  probe: { channels?: [number, number, number, number]; hidden?: number } | null;
  /** Test sequences predicted together, and generated at a time. */
  evalBatch: number;
  chunk: number;
}

export const BENCH_MODEL_FULL: BenchModelConfig = {
  trainSequences: 10000,
  predictorSequences: null,
  vae: { inputShape: [1, 64, 64], encoderChannels: [16, 32, 64, 128], latentShape: [32, 4, 4], reconLoss: 'bce', beta: 0.5, seed: 1 },
  vaeBatch: 32,
  vaeLr: 2e-3,
  vaeShare: 0.45,
  vaeEpochs: null,
  hiddenSize: 256,
  transformer: {},
  predBatch: 32,
  predLr: 1e-3,
  convlstm: {},
  pixelBatch: 8,
  pixelLr: 1e-3,
  maxBatchesPerEpoch: null,
  // 16,000 frames x 6 epochs of the default probe read 82% / 79% held-out; 64,000 x 6, 92% / 90%;
  // 128,000 x 3 of this wider one, 94% / 93% (other seeds than the bench's, 2026-12-03).
  probeSequences: 128000,
  probeFrames: 1,
  probeHeldOutSequences: 1000,
  probeEpochs: 4,
  probe: { channels: [32, 64, 128, 128], hidden: 256 },
  evalBatch: 50,
  chunk: 500,
};

/** Tiny models and data: seconds, numbers meaningless (tests, a first look). */
export const BENCH_MODEL_QUICK: BenchModelConfig = {
  ...BENCH_MODEL_FULL,
  trainSequences: 32,
  vae: { inputShape: [1, 64, 64], encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], reconLoss: 'bce', beta: 0.5, seed: 1 },
  vaeBatch: 8,
  hiddenSize: 16,
  transformer: { hiddenSize: 16, numHeads: 2, numLayers: 1 },
  predBatch: 4,
  convlstm: { hiddenChannels: 4, numLayers: 1, patchSize: 8 },
  pixelBatch: 2,
  probeSequences: 16,
  probeFrames: 2,
  probeHeldOutSequences: 4,
  probeEpochs: 1,
  probe: { channels: [4, 8, 8, 8], hidden: 16 },
  evalBatch: 8,
  chunk: 16,
};

export interface BenchModelOptions {
  /** The dataset (only 'mmnist'). */
  data?: string;
  /** Default 'lstm'. */
  predictor?: BenchPredictor | string;
  /** Training time in minutes (VAE + predictor, or the pixel predictor); default 60 unless `epochs` is given. Data, probe and evaluation are outside it. */
  budgetMinutes?: number;
  /** Epochs of every phase (over the training sequences); with a budget, an upper limit. */
  epochs?: number;
  /** Test sequences (default 10,000). */
  testSequences?: number;
  /** Output folder (default runs/bench_model/mmnist_<predictor>). */
  outDir?: string;
  /** The BENCH_MODEL_QUICK sizes. */
  quick?: boolean;
  config?: Partial<BenchModelConfig>;
  /** Cache of the probe (default $WORLDKIT_CACHE or ~/.cache/worldkit; false: none). */
  cacheDir?: string | false;
  device?: Device;
  /** The command line, for results.md (default: the API call). */
  command?: string;
  log?(line: string): void;
  callbacks?(label: string): TrainCallbacks | undefined;
  /** Set .stop = true to stop after the current batch: the phase saves a checkpoint, benchModel returns interrupted. */
  signal?: { stop: boolean };
}

/** One row of the table: per-frame means over the test set, and per step. */
export interface BenchRow {
  method: string;
  mse: number;
  mae: number;
  ssim: number;
  psnr: number;
  /** Mean over the predicted steps of the probe's accuracy on these frames / on the real ones (steps where it reads no real frame right have none and are left out; null: not measured). */
  retention: number | null;
  curves: { mse: number[]; mae: number[]; ssim: number[]; psnr: number[]; retention: number[] | null };
}

export interface BenchModelFile {
  format: 'worldkit-bench-model/1';
  data: 'mmnist';
  predictor: string;
  protocol: { context: number; horizon: number; size: number; channels: 1; testSequences: number; testSeed: number; testSplit: 'test'; testSha256: string; trainSequences: number; predictorSequences: number | null };
  metrics: string[];
  rows: BenchRow[];
  anchors: typeof MMNIST_ANCHORS;
  probe: { heads: string[]; heldOutAccuracy: number[]; realAccuracy: number[] } | null;
  training: {
    budgetMinutes: number | null;
    epochs: number | null;
    minutes: number;
    phases: { name: string; minutes: number; steps: number; stopReason: string | null; notes: string[] }[];
    parameters: number;
  };
  evaluation: { seconds: number };
  machine: { cpu: string; cores: number; memoryGB: number; platform: string; node: string; device: string };
  command: string;
  gpuCommand: string;
  wallMinutes: number;
}

export interface BenchModelResult {
  outDir: string;
  interrupted: boolean;
  tableFile: string | null;
  jsonFile: string | null;
  results: BenchModelFile | null;
  gpuCommand: string;
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// The predictors

type LatentModel = ReturnType<typeof createPredictor>;

/** How bench-model builds, trains and loads a pixel-space predictor. */
export interface PixelApi {
  create(cfg: BenchModelConfig, seed: number): ConvLSTMPredictor;
  train(model: ConvLSTMPredictor, episodes: Episode[], options: TrainPixelPredictorOptions): Promise<TrainResult>;
  load(dir: string, device?: Device): ConvLSTMPredictor;
}

/**
 * A predictor kind: over VAE latents (createPredictor's kinds: a VAE is trained first, the
 * predictor on its latents, frames decoded through it) or in pixel space (no VAE). A new kind
 * plugs in here and in BENCH_PREDICTORS.
 */
export type BenchPredictorKind =
  | { space: 'latent'; label: string; create(vae: ConvVAE | { latentShape: number[] }, cfg: BenchModelConfig, o: CreatePredictorOptions): LatentModel }
  | { space: 'pixel'; label: string; api: PixelApi };

/** The predictors bench-model knows, by --predictor name. */
export const BENCH_PREDICTOR_KINDS: Record<BenchPredictor, BenchPredictorKind> = {
  lstm: {
    space: 'latent',
    label: 'VAE + LSTM',
    create: (vae, cfg, o) => createPredictor(vae, { ...o, predictor: 'lstm', hiddenSize: cfg.hiddenSize, residualPrediction: true }),
  },
  transformer: {
    space: 'latent',
    label: 'VAE + Transformer',
    create: (vae, cfg, o) => createPredictor(vae, { ...o, ...cfg.transformer, predictor: 'transformer' }),
  },
  convlstm: {
    space: 'pixel',
    label: 'ConvLSTM (pixels)',
    api: {
      create: (cfg, seed) => new ConvLSTMPredictor({ frameShape: [1, MMNIST_SIZE, MMNIST_SIZE], ...cfg.convlstm, seed }),
      train: (model, episodes, options) => trainPixelPredictor(model, episodes, options),
      load: (dir, device) => loadPixelPredictor(dir, device ? { device } : {}),
    },
  },
};

/** Builds `name`'s predictor once with these options, so a bad option is refused before any time is spent training. */
function checkBuildable(name: BenchPredictor, cfg: BenchModelConfig): void {
  const kind = BENCH_PREDICTOR_KINDS[name];
  try {
    if (kind.space === 'pixel') kind.api.create(cfg, 1).dispose();
    else kind.create({ latentShape: (cfg.vae.latentShape ?? [32, 4, 4]).slice() }, cfg, { seed: 1, actionSize: 0, useActions: false }).dispose();
  } catch (e) {
    throw new Error(`bench-model: --predictor ${name} cannot be built with these options (config.${name === 'lstm' ? 'hiddenSize' : name}): ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** OpenSTL's scores of one predicted frame vs its target ([C, H, W], values in [0, 1]); see the header. */
export function protocolFrameScores(pred: Float32Array, real: Float32Array, shape: [number, number, number]): { mse: number; mae: number; ssim: number; psnr: number } {
  const e = frameErrors(pred, real);
  let clipped = pred;
  for (let i = 0; i < pred.length; ++i)
    if (!(pred[i] >= 0 && pred[i] <= 1)) {
      clipped = pred.map((v) => Math.min(1, Math.max(0, v)));
      break;
    }
  const m = clipped === pred ? e.mse : frameErrors(clipped, real).mse;
  return { mse: e.sse, mae: e.sae, ssim: ssim(clipped, real, shape), psnr: framePsnr(m) };
}

/** Sums of per-frame scores per predicted step; result(): the means per step and over all frames. */
export class ProtocolAccumulator {
  readonly horizon: number;
  private readonly sums: Record<'mse' | 'mae' | 'ssim' | 'psnr', number[]>;
  private readonly counts: number[];

  constructor(horizon: number) {
    this.horizon = checkInt('ProtocolAccumulator', 'horizon', horizon, 1);
    const z = () => new Array<number>(horizon).fill(0);
    this.sums = { mse: z(), mae: z(), ssim: z(), psnr: z() };
    this.counts = z();
  }

  /** Scores frame `step` (0-based) of one sequence. */
  add(step: number, pred: Float32Array, real: Float32Array, shape: [number, number, number]): void {
    const s = protocolFrameScores(pred, real, shape);
    for (const k of ['mse', 'mae', 'ssim', 'psnr'] as const) this.sums[k][step] += s[k];
    this.counts[step]++;
  }

  result(): { mse: number; mae: number; ssim: number; psnr: number; curves: { mse: number[]; mae: number[]; ssim: number[]; psnr: number[] }; frames: number } {
    const per = (k: 'mse' | 'mae' | 'ssim' | 'psnr') => this.sums[k].map((v, i) => (this.counts[i] ? v / this.counts[i] : NaN));
    const frames = this.counts.reduce((a, b) => a + b, 0);
    const all = (k: 'mse' | 'mae' | 'ssim' | 'psnr') => (frames ? this.sums[k].reduce((a, b) => a + b, 0) / frames : NaN);
    return { mse: all('mse'), mae: all('mae'), ssim: all('ssim'), psnr: all('psnr'), curves: { mse: per('mse'), mae: per('mae'), ssim: per('ssim'), psnr: per('psnr') }, frames };
  }
}

// ---------------------------------------------------------------------------------------------
// Data

const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** The probe's heads: the two digits' classes, sorted (which digit was drawn first cannot be seen). */
export const DIGIT_PAIR_HEADS: LabelHead[] = [
  { name: 'lower digit class', classes: DIGIT_CLASSES },
  { name: 'higher digit class', classes: DIGIT_CLASSES },
];

/** Moving MNIST episodes relabeled with the sorted pair of classes per frame (DIGIT_PAIR_HEADS); frames shared, not copied. */
export function digitPairEpisodes(episodes: Episode[]): Episode[] {
  return episodes.map((e) => {
    if (!e.labels || e.labelDim !== 2) throw rangeError('digitPairEpisodes', `expected Moving MNIST episodes with two digit labels per frame, got labelDim ${e.labelDim}`);
    const labels = new Int32Array(e.length * 2);
    for (let t = 0; t < e.length; ++t) {
      const a = e.labels[2 * t], b = e.labels[2 * t + 1];
      labels[2 * t] = Math.min(a, b);
      labels[2 * t + 1] = Math.max(a, b);
    }
    return { ...e, labels, labelHeads: DIGIT_PAIR_HEADS.map((h) => ({ name: h.name, classes: [...h.classes] })) };
  });
}

/** The protocol's test set, `chunk` sequences at a time (byte-identical whatever the chunk). */
export function mmnistTestChunks(count: number, chunk = 500): IterableIterator<ReturnType<typeof movingMnistChunks> extends IterableIterator<infer S> ? S : never> {
  return movingMnistChunks({ count, frames: MMNIST_CONTEXT + MMNIST_HORIZON, seed: MMNIST_TEST_SEED, split: 'test' }, chunk);
}

/** SHA-256 (hex) of the test set's frames: the same for every run with the same count. */
export function mmnistTestSetHash(count: number, chunk = 500): string {
  const h = crypto.createHash('sha256');
  for (const c of mmnistTestChunks(count, chunk)) h.update(c.pixels);
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Options

interface Resolved {
  predictor: BenchPredictor;
  budgetMinutes: number | null;
  epochs: number | null;
  testSequences: number;
  cfg: BenchModelConfig;
}

function resolveOptions(o: BenchModelOptions): Resolved {
  const fn = 'benchModel';
  if (!o || typeof o !== 'object') throw typeError(fn, 'options', 'an options object', o);
  const data = o.data ?? 'mmnist';
  if (data !== 'mmnist') throw typeError(fn, 'data', "'mmnist' (the only protocol so far)", data);
  const predictor = o.predictor ?? 'lstm';
  if (!(BENCH_PREDICTORS as readonly string[]).includes(predictor as string)) throw typeError(fn, 'predictor', `one of ${BENCH_PREDICTORS.join(', ')}`, predictor);
  const b = o.budgetMinutes;
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b <= 0)) throw typeError(fn, 'budgetMinutes', 'a number of minutes > 0', b);
  const epochs = o.epochs === undefined ? null : checkInt(fn, 'epochs', o.epochs, 1);
  const testSequences = checkInt(fn, 'testSequences', o.testSequences ?? 10000, 1, 1 << 20);
  if (o.config !== undefined && (typeof o.config !== 'object' || o.config === null)) throw typeError(fn, 'config', 'an object of BenchModelConfig fields', o.config);
  const base = o.quick ? BENCH_MODEL_QUICK : BENCH_MODEL_FULL;
  for (const k of Object.keys(o.config ?? {})) if (!(k in base)) throw typeError(fn, `config.${k}`, `one of ${Object.keys(base).join(', ')}`, k);
  const cfg: BenchModelConfig = { ...base, ...(o.config ?? {}) };
  for (const k of ['trainSequences', 'vaeBatch', 'hiddenSize', 'predBatch', 'pixelBatch', 'probeSequences', 'probeFrames', 'probeHeldOutSequences', 'probeEpochs', 'evalBatch', 'chunk'] as const) checkInt(fn, `config.${k}`, cfg[k], 1);
  for (const k of ['predictorSequences', 'vaeEpochs', 'maxBatchesPerEpoch'] as const) if (cfg[k] !== null) checkInt(fn, `config.${k}`, cfg[k], 1);
  for (const k of ['vaeLr', 'predLr', 'pixelLr'] as const) if (typeof cfg[k] !== 'number' || !(cfg[k] > 0) || !Number.isFinite(cfg[k])) throw typeError(fn, `config.${k}`, 'a number > 0', cfg[k]);
  if (!(cfg.vaeShare > 0 && cfg.vaeShare < 1)) throw typeError(fn, 'config.vaeShare', 'a number in (0, 1)', cfg.vaeShare);
  const shape = cfg.vae.inputShape ?? [3, 64, 64];
  if (shape.join(',') !== `1,${MMNIST_SIZE},${MMNIST_SIZE}`) throw rangeError(fn, `config.vae.inputShape must be [1, 64, 64] (the protocol's frames are single channel, native), got [${shape}]`);
  return { predictor: predictor as BenchPredictor, budgetMinutes: b ?? (epochs === null ? 60 : null), epochs, testSequences, cfg };
}

// ---------------------------------------------------------------------------------------------
// Files

interface StateFile {
  format: 'worldkit-bench-model-state/1';
  /** What the training depends on: a rerun must ask for the same. */
  options: { predictor: string; budgetMinutes: number | null; epochs: number | null; config: BenchModelConfig };
}

const readJson = <T>(file: string): T | null => {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v) => (v === 'NaN' ? NaN : v)) as T;
  } catch (e) {
    throw new Error(`bench-model: ${file}: not valid JSON (${(e as Error).message})`);
  }
};
const writeJson = (file: string, v: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 1) + '\n');
};

function machine(device: string): BenchModelFile['machine'] {
  const cpus = os.cpus();
  return { cpu: (cpus[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(), cores: cpus.length, memoryGB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.arch()}`, node: process.version, device };
}

/** The command that runs the GPU protocol (200 epochs of every phase, all 10,000 test sequences). */
export function benchGpuCommand(predictor: string): string {
  return `worldkit bench-model mmnist --predictor ${predictor} --epochs 200 --test_sequences 10000 --device cuda --out runs/bench_model/mmnist_${predictor}_200ep`;
}

const f = (v: number | null | undefined, d: number) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

/** results.md: the table (OpenSTL's columns plus retention and time), per-step curves, the anchors and how it was run. */
export function benchModelMarkdown(r: BenchModelFile): string {
  const p = r.protocol;
  const t = r.training;
  const trainText = t.budgetMinutes !== null ? `${t.minutes.toFixed(1)} min of training (budget ${t.budgetMinutes} min${t.epochs !== null ? `, at most ${t.epochs} epochs` : ''})` : `${t.minutes.toFixed(1)} min of training (${t.epochs} epochs)`;
  const lines = [
    `# worldkit bench-model mmnist --predictor ${r.predictor}`,
    '',
    `Moving MNIST, ${p.context} frames in, ${p.horizon} predicted, ${p.size}x${p.size}x1; ${p.testSequences} test sequences (seed ${p.testSeed}, test digits; frames SHA-256 ${p.testSha256.slice(0, 16)}...), ${p.trainSequences} training sequences${p.predictorSequences !== null ? ` (the predictor on the latents of ${p.predictorSequences})` : ''}. ${trainText}; evaluation ${(r.evaluation.seconds / 60).toFixed(1)} min; ${r.wallMinutes.toFixed(1)} min in all.`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} logical cores, ${r.machine.memoryGB} GB, device '${r.machine.device}' (${r.machine.platform}, node ${r.machine.node}).`,
    '',
    '| method | MSE / frame | MAE / frame | SSIM | PSNR (dB) | semantic retention | training (min) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map((row, i) => `| ${row.method} | ${f(row.mse, 2)} | ${f(row.mae, 2)} | ${f(row.ssim, 4)} | ${f(row.psnr, 2)} | ${f(row.retention, 3)} | ${i === 0 ? t.minutes.toFixed(1) : '-'} |`),
    ...r.anchors.map((a) => `| ${a.method}, ${a.note} | ${a.mse.toFixed(2)} | - | - | - | - | - |`),
    '',
    'MSE / MAE: per frame, the sum over the 64x64 pixels (values in [0, 1]) of the squared / absolute error, averaged over the predicted frames and the test sequences (OpenSTL). SSIM: Wang et al., 11x11 Gaussian window (OpenSTL uses skimage\'s 7x7 uniform window). PSNR: per frame, then averaged. Semantic retention: the probe\'s accuracy on the digits\' classes (sorted pair) in these frames / in the real frames, averaged over the predicted steps. The anchors are published figures, not run here.',
    '',
    '## Per predicted step',
    '',
    `| step | ${r.rows.map((row) => `MSE ${row.method}`).join(' | ')} | ${r.rows.map((row) => `SSIM ${row.method}`).join(' | ')} | ${r.rows.filter((row) => row.curves.retention).map((row) => `retention ${row.method}`).join(' | ')} |`,
    `|---:|${r.rows.map(() => '---:').join('|')}|${r.rows.map(() => '---:').join('|')}|${r.rows.filter((row) => row.curves.retention).map(() => '---:').join('|')}|`,
    ...Array.from({ length: p.horizon }, (_, k) => `| ${k + 1} | ${r.rows.map((row) => f(row.curves.mse[k], 1)).join(' | ')} | ${r.rows.map((row) => f(row.curves.ssim[k], 3)).join(' | ')} | ${r.rows.filter((row) => row.curves.retention).map((row) => f(row.curves.retention![k], 3)).join(' | ')} |`),
    '',
  ];
  if (r.probe) lines.push(`Probe (trained on real training frames): held-out accuracy ${r.probe.heads.map((h, i) => `${h} ${f(100 * r.probe!.heldOutAccuracy[i], 1)}%`).join(', ')}; on the real test frames ${f(100 * (r.probe.realAccuracy.reduce((a, b) => a + b, 0) / r.probe.realAccuracy.length), 1)}% (mean over heads and steps).`, '');
  lines.push('Training:', '', ...t.phases.map((ph) => `- ${ph.name}: ${ph.steps} steps in ${ph.minutes.toFixed(2)} min${ph.stopReason ? ` (stopped: ${ph.stopReason})` : ''}${ph.notes.length ? `; notes: ${ph.notes.join('; ')}` : ''}`), `- ${t.parameters} parameters in all`, '');
  lines.push('Command:', '', '```sh', r.command, '```', '', 'The 200-epoch protocol on a GPU:', '', '```sh', r.gpuCommand, '```', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

export async function benchModel(options: BenchModelOptions = {}): Promise<BenchModelResult> {
  const r = resolveOptions(options);
  const cfg = r.cfg;
  const kind = BENCH_PREDICTOR_KINDS[r.predictor];
  checkBuildable(r.predictor, cfg);
  const out = path.resolve(options.outDir ?? path.join('runs', 'bench_model', `mmnist_${r.predictor}`));
  const log = options.log ?? (() => {});
  const signal = options.signal;
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const device = options.device;
  const dev = device ? { device } : {};
  const t00 = performance.now();
  const gpuCommand = benchGpuCommand(r.predictor);
  const command = options.command ?? `wk.train.benchModel(${JSON.stringify({ predictor: r.predictor, budgetMinutes: options.budgetMinutes, epochs: options.epochs, testSequences: r.testSequences, quick: options.quick, config: options.config, device })})`;

  // The folder's training options: a rerun must ask for the same training.
  fs.mkdirSync(out, { recursive: true });
  const stateFile = path.join(out, 'bench_state.json');
  const state: StateFile = { format: 'worldkit-bench-model-state/1', options: { predictor: r.predictor, budgetMinutes: r.budgetMinutes, epochs: r.epochs, config: cfg } };
  const prev = readJson<StateFile>(stateFile);
  if (prev) {
    const a = JSON.stringify(prev.options), b = JSON.parse(JSON.stringify(state.options));
    if (a !== JSON.stringify(b)) {
      const diffs = (Object.keys(b) as (keyof StateFile['options'])[]).filter((k) => JSON.stringify(prev.options[k]) !== JSON.stringify(b[k]));
      throw new Error(`bench-model: ${out} holds a run started with other training options (${diffs.join(', ')} differ): rerun with the same options to resume it, or use another --out folder`);
    }
    log(`resuming the run in ${out}`);
  }
  writeJson(stateFile, state);

  // The probe: real training frames (train digits, other seeds), sorted digit classes.
  const tProbe = performance.now();
  const probeTrain = digitPairEpisodes(movingMnistEpisodes({ count: cfg.probeSequences, frames: cfg.probeFrames, seed: PROBE_SEED, split: 'train' }));
  const probeHeld = digitPairEpisodes(movingMnistEpisodes({ count: cfg.probeHeldOutSequences, frames: cfg.probeFrames, seed: PROBE_HELD_OUT_SEED, split: 'train' }));
  const probe: TrainedProbe = await ensureSemanticProbe(path.join(out, 'probe'), probeTrain, { heldOut: probeHeld, epochs: cfg.probeEpochs, seed: 1, probe: { pairs: false, ...(cfg.probe ?? {}) }, cacheDir, log });
  probe.probe.freeze().eval();
  log(`probe: held-out accuracy ${probe.quality.heads.map((h) => `${h.name} ${(100 * h.accuracy).toFixed(1)}%`).join(', ')} (${((performance.now() - tProbe) / 1000).toFixed(1)} s)`);

  // Training data.
  const tData = performance.now();
  const train = movingMnistEpisodes({ count: cfg.trainSequences, seed: TRAIN_SEED, split: 'train' });
  log(`data: ${train.length} training sequences of 20 gray 64x64 frames (${((performance.now() - tData) / 1000).toFixed(1)} s)`);

  const phases: BenchModelFile['training']['phases'] = [];
  const addPhase = (name: string, rec: PhaseRecord) => phases.push({ name, minutes: rec.spentMs / 60000, steps: rec.steps, stopReason: rec.stopReason ?? null, notes: rec.notes ?? [] });
  const cb = (label: string) => options.callbacks?.(label);
  const mbpe = cfg.maxBatchesPerEpoch === null ? {} : { maxBatchesPerEpoch: cfg.maxBatchesPerEpoch };
  const epochsOf = (e: number | null) => (e === null ? {} : { epochs: e });
  const B = r.budgetMinutes;
  let predictSequences: number | null = null;
  let parameters = 0;
  let interrupted = false;
  const finish = (): BenchModelResult => ({ outDir: out, interrupted, tableFile: null, jsonFile: null, results: null, gpuCommand, seconds: (performance.now() - t00) / 1000 });

  // What the evaluation calls: predictions (and, for latent models, reconstructions) of a batch.
  let predictBatch: (ctx: Uint8Array, future: Uint8Array, n: number) => { pred: Float32Array; recon: Float32Array | null; lastRecon: Float32Array | null };
  const disposers: (() => void)[] = [];
  const img = MMNIST_SIZE * MMNIST_SIZE;

  if (kind.space === 'latent') {
    const vaeDir = path.join(out, 'vae');
    let vae: ConvVAE | null = null;
    const vp = await runPhase(vaeDir, B === null ? null : cfg.vaeShare * B, signal, cb('vae'), log, 'vae', async (po) => {
      vae = createVAE({ ...cfg.vae, ...dev });
      log(`vae: ${vae.numParameters()} parameters, latent [${vae.latentShape}]`);
      return trainVAE(vae, train, { ...epochsOf(cfg.vaeEpochs ?? r.epochs), ...mbpe, batchSize: cfg.vaeBatch, lr: cfg.vaeLr, lrSchedule: 'cosine', validationSplit: cfg.trainSequences >= 100 ? 0.01 : 0.1, maxValidationFrames: 256, seed: 1, ...po });
    });
    addPhase('VAE', vp.record);
    if (vp.interrupted) {
      interrupted = true;
      return finish();
    }
    const trainedVae: ConvVAE = vp.trained && vae ? vae : loadVAE(vaeDir, dev);
    trainedVae.freeze().eval();
    disposers.push(() => trainedVae.dispose());
    parameters += trainedVae.numParameters();
    const nPred = Math.min(train.length, cfg.predictorSequences ?? train.length);
    predictSequences = nPred;
    const predEps = train.slice(0, nPred);
    const predDir = path.join(out, 'predictor');
    let predictor: LatentModel | null = null;
    const pp = await runPhase(predDir, B === null ? null : (1 - cfg.vaeShare) * B, signal, cb(r.predictor), log, r.predictor, async (po) => {
      const t0 = performance.now();
      const latents = encodeEpisodes(trainedVae, predEps);
      const encMin = (performance.now() - t0) / 60000;
      log(`${r.predictor}: encoded ${nPred} sequences in ${(encMin * 60).toFixed(1)} s (counted in the phase's time)`);
      predictor = kind.create(trainedVae, cfg, { data: predEps, seed: 2, ...dev });
      log(`${r.predictor}: ${predictor.numParameters()} parameters`);
      return trainPredictor(predictor, trainedVae, predEps, {
        ...epochsOf(r.epochs),
        ...mbpe,
        latents,
        seqLen: MMNIST_CONTEXT + MMNIST_HORIZON,
        burnIn: MMNIST_CONTEXT,
        scheduledSampling: true,
        samplingSchedule: { decay: 'linear', start: 1, end: 0 },
        batchSize: cfg.predBatch,
        lr: cfg.predLr,
        lrSchedule: 'cosine',
        gradClip: 1,
        validationSplit: 0.05,
        seed: 3,
        ...po,
        ...(po.budgetMinutes !== undefined ? { budgetMinutes: Math.max(0.01, po.budgetMinutes - encMin) } : {}),
      });
    });
    addPhase(kind.label.replace('VAE + ', ''), pp.record);
    if (pp.interrupted) {
      interrupted = true;
      disposers.forEach((d) => d());
      return finish();
    }
    const pr: LatentModel = pp.trained && predictor ? predictor : (loadPredictor(predDir, dev) as LatentModel);
    pr.eval();
    disposers.push(() => pr.dispose());
    parameters += pr.numParameters();
    predictBatch = (ctx, future, n) => {
      const rb = openLoopRollout(pr, trainedVae, { frames: ctx, context: MMNIST_CONTEXT, horizon: MMNIST_HORIZON, batch: n });
      const recon = decodeLatents(trainedVae, encodeFrames(trainedVae, future, n * MMNIST_HORIZON)).images;
      const lastRecon = decodeLatents(trainedVae, rb.lastContextLatent).images;
      return { pred: rb.predImages, recon, lastRecon };
    };
  } else {
    const api = kind.api;
    const dir = path.join(out, r.predictor);
    let model: ConvLSTMPredictor | null = null;
    const pp = await runPhase(dir, B, signal, cb(r.predictor), log, r.predictor, async (po) => {
      model = api.create(cfg, 2);
      if (device) model.to(device);
      log(`${r.predictor}: ${model.numParameters()} parameters`);
      return api.train(model, train, {
        ...epochsOf(r.epochs),
        ...mbpe,
        seqLen: MMNIST_CONTEXT + MMNIST_HORIZON,
        burnIn: MMNIST_CONTEXT,
        scheduledSampling: true,
        samplingSchedule: { decay: 'linear', start: 1, end: 0 },
        batchSize: cfg.pixelBatch,
        lr: cfg.pixelLr,
        lrSchedule: 'cosine',
        gradClip: 1,
        validationSplit: cfg.trainSequences >= 100 ? 0.01 : 0.1,
        seed: 3,
        ...po,
      });
    });
    addPhase(kind.label, pp.record);
    if (pp.interrupted) {
      interrupted = true;
      return finish();
    }
    const m: ConvLSTMPredictor = pp.trained && model ? model : api.load(dir, device);
    m.eval();
    disposers.push(() => m.dispose());
    parameters += m.numParameters();
    predictBatch = (ctx, _future, n) => {
      const x = framesToImages(ctx, n * MMNIST_CONTEXT, MMNIST_SIZE, MMNIST_SIZE, 1);
      const pred = noGrad(() =>
        tidy(() => {
          const t = new Tensor([n, MMNIST_CONTEXT, 1, MMNIST_SIZE, MMNIST_SIZE], 'float32', x);
          return m.rollout(device ? t.to(device) : t, null, MMNIST_HORIZON).hostF32('benchModel').slice();
        }),
      );
      return { pred, recon: null, lastRecon: null };
    };
  }
  const trainMinutes = phases.reduce((s, p) => s + p.minutes, 0);

  // The evaluation: the test set a chunk at a time, `evalBatch` sequences predicted together.
  log(`evaluation: ${r.testSequences} test sequences`);
  const tEval = performance.now();
  const H = MMNIST_HORIZON, Cx = MMNIST_CONTEXT, T = Cx + H;
  const shape: [number, number, number] = [1, MMNIST_SIZE, MMNIST_SIZE];
  const model = new ProtocolAccumulator(H), copy = new ProtocolAccumulator(H), recon = new ProtocolAccumulator(H);
  const heads = probe.probe.heads;
  const sem = new RetentionAccumulator(heads, H);
  const hash = crypto.createHash('sha256');
  let hasRecon = false;
  let done = 0;
  let nextLog = performance.now() + 30000;
  for (const set of mmnistTestChunks(r.testSequences, cfg.chunk)) {
    hash.update(set.pixels);
    for (let s0 = 0; s0 < set.count; s0 += cfg.evalBatch) {
      const n = Math.min(cfg.evalBatch, set.count - s0);
      const ctx = new Uint8Array(n * Cx * img), fut = new Uint8Array(n * H * img);
      for (let b = 0; b < n; ++b) {
        const o = (s0 + b) * T * img;
        ctx.set(set.pixels.subarray(o, o + Cx * img), b * Cx * img);
        fut.set(set.pixels.subarray(o + Cx * img, o + T * img), b * H * img);
      }
      const real = framesToImages(fut, n * H, MMNIST_SIZE, MMNIST_SIZE, 1);
      const lastReal = new Float32Array(n * img);
      for (let b = 0; b < n; ++b) lastReal.set(framesToImages(ctx.subarray(((b + 1) * Cx - 1) * img, (b + 1) * Cx * img), 1, MMNIST_SIZE, MMNIST_SIZE, 1), b * img);
      const p = predictBatch(ctx, fut, n);
      hasRecon = !!p.recon;
      for (let b = 0; b < n; ++b)
        for (let k = 0; k < H; ++k) {
          const at = (b * H + k) * img;
          const xi = real.subarray(at, at + img);
          model.add(k, p.pred.subarray(at, at + img), xi, shape);
          copy.add(k, lastReal.subarray(b * img, (b + 1) * img), xi, shape);
          if (p.recon) recon.add(k, p.recon.subarray(at, at + img), xi, shape);
        }
      // The probe reads every predicted, real (and reconstructed) frame of the batch at once.
      const nh = heads.length;
      const readPred = probe.probe.classify(p.pred, null, n * H);
      const readReal = probe.probe.classify(real, null, n * H);
      const readCopy = probe.probe.classify(lastReal, null, n);
      const readRecon = p.recon ? probe.probe.classify(p.recon, null, n * H) : readReal;
      for (let b = 0; b < n; ++b) {
        const l = set.labels.subarray((s0 + b) * 2, (s0 + b) * 2 + 2);
        const pair = [Math.min(l[0], l[1]), Math.max(l[0], l[1])];
        const truth = new Int32Array(H * nh);
        const copyRead = new Int32Array(H * nh);
        for (let k = 0; k < H; ++k) {
          truth.set(pair, k * nh);
          copyRead.set(readCopy.subarray(b * nh, (b + 1) * nh), k * nh);
        }
        const win = (a: Int32Array) => a.subarray(b * H * nh, (b + 1) * H * nh);
        sem.addWindow(truth, pair, { predicted: win(readPred), reconstruction: win(readRecon), real: win(readReal), copyLast: copyRead });
      }
      done += n;
      if (performance.now() > nextLog) {
        nextLog = performance.now() + 30000;
        log(`evaluation: ${done} of ${r.testSequences} sequences (${((performance.now() - tEval) / 1000).toFixed(0)} s)`);
      }
      if (signal?.stop) break;
    }
    if (signal?.stop) break;
  }
  disposers.forEach((d) => d());
  probe.probe.dispose();
  if (signal?.stop) {
    // the models are saved: a rerun skips the training and evaluates again
    interrupted = true;
    return finish();
  }
  const evalSeconds = (performance.now() - tEval) / 1000;
  const semR = sem.result(false);
  // retention at a step is undefined (NaN) where the probe reads no real frame right; the row's value is the mean over the steps where it is defined
  const mean = (a: number[]) => {
    const d = a.filter(Number.isFinite);
    return d.length ? d.reduce((s, v) => s + v, 0) / d.length : NaN;
  };
  const row = (method: string, acc: ProtocolAccumulator, retention: number[] | null): BenchRow => {
    const x = acc.result();
    return { method, mse: x.mse, mae: x.mae, ssim: x.ssim, psnr: x.psnr, retention: retention ? mean(retention) : null, curves: { ...x.curves, retention } };
  };
  const rows: BenchRow[] = [row(`worldkit ${kind.label}`, model, semR.overall.retention), row('copy last frame', copy, semR.overall.copyLastRetention)];
  if (hasRecon) rows.push(row('VAE reconstruction (ceiling)', recon, semR.overall.reconstructionRetention));
  const results: BenchModelFile = {
    format: 'worldkit-bench-model/1',
    data: 'mmnist',
    predictor: r.predictor,
    protocol: { context: Cx, horizon: H, size: MMNIST_SIZE, channels: 1, testSequences: r.testSequences, testSeed: MMNIST_TEST_SEED, testSplit: 'test', testSha256: hash.digest('hex'), trainSequences: cfg.trainSequences, predictorSequences: predictSequences },
    metrics: [
      'mse: per frame, the sum over the 64x64 pixels (values in [0, 1]) of the squared error, averaged over the predicted frames and sequences (OpenSTL)',
      'mae: the same with the absolute error',
      'ssim: Wang et al. 2004, 11x11 Gaussian window (sigma 1.5), valid region, per frame then averaged; predictions clipped to [0, 1]',
      'psnr: per frame -10 log10(mean squared error) (peak 1, a perfect frame 100 dB), then averaged (as OpenSTL); predictions clipped to [0, 1]',
      "retention: the probe's accuracy on the digits' sorted classes in these frames / in the real frames, per predicted step; the row's value is the mean over the steps",
    ],
    rows,
    anchors: MMNIST_ANCHORS,
    probe: { heads: heads.map((h) => h.name), heldOutAccuracy: probe.quality.heads.map((h) => h.accuracy), realAccuracy: semR.overall.accuracy.real },
    training: { budgetMinutes: r.budgetMinutes, epochs: r.epochs, minutes: trainMinutes, phases, parameters },
    evaluation: { seconds: evalSeconds },
    machine: machine(device ?? 'cpu'),
    command,
    gpuCommand,
    wallMinutes: (performance.now() - t00) / 60000,
  };
  const jsonFile = path.join(out, 'results.json');
  writeJson(jsonFile, results);
  const tableFile = path.join(out, 'results.md');
  writeFileAtomic(tableFile, benchModelMarkdown(results));
  return { outDir: out, interrupted: false, tableFile, jsonFile, results, gpuCommand, seconds: (performance.now() - t00) / 1000 };
}
