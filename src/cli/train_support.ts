/**
 * Shared pieces of the training commands (demo, train-vae, train-predictor, rollout, eval):
 * the training flags in the seed's spelling, loading the dataset named by --data, a progress
 * bar (TTY) or plain lines, Ctrl-C handling, turning checkpoint errors into usage errors, and
 * the --device flag.
 */
import * as fs from 'fs';
import { FlagSpec, FlagValues, UsageError } from './flags';
import { CliIO } from './command';
import type { Episode } from '../data/episode';
import { generateEpisodes } from '../data';
import { movingMnistEpisodes } from '../data/moving_mnist';
import { loadNpzDataset, loadPngDataset } from '../data/loaders';
import type { TrainCallbacks, TrainResult } from '../train/loop';
import { CheckpointError, loadCheckpoint } from '../train/checkpoint';
import { loadPixelPredictor, loadPredictor, loadVAE } from '../train/load';
import { backendNames, findBackend } from '../backend/registry';
import type { Device } from '../tensor/memory';
import * as path from 'path';
import { ensureSemanticProbe, loadSemanticProbe } from '../diagnostics/semantic_probe';
import type { SemanticProbe } from '../models/semantic_probe';

export const DEVICE_FLAG: FlagSpec = {
  name: 'device',
  type: 'string',
  default: 'cpu',
  choices: backendNames(),
  help: "where the models run: 'cuda' needs a GPU (worldkit.cudaStatus()) or WORLDKIT_CUDA_EMULATE=1 (the CPU emulation, slow)",
};

/** The --device flag's value; 'cuda' without a usable device is a UsageError (exit 2) naming the reason. */
export function deviceFlag(flags: FlagValues): Device {
  const d = flags.device ?? 'cpu';
  const backend = typeof d === 'string' ? findBackend(d) : undefined;
  if (!backend) throw new UsageError(`--device must be one of ${backendNames().join(', ')}, got '${String(d)}'`);
  const s = backend.status();
  if (!s.available) {
    const why = (s.reason || 'not available').replace(/\s+/g, ' ').trim();
    throw new UsageError(`--device ${backend.name}: device '${backend.name}' is not available: ${why} (use --device cpu${backend.unavailableHint ? `, or ${backend.unavailableHint}` : ''})`);
  }
  return backend.name;
}

export const DATA_FLAGS: FlagSpec[] = [
  { name: 'data', type: 'string', default: 'sim', metavar: 'sim|mmnist|file.npz|dir', help: "dataset: 'sim' (the embedded driving simulator), 'mmnist' (Moving MNIST, generated, gray, train digits), a World Models .npz file or folder, or a folder of PNG frames + actions.csv" },
  { name: 'episodes', type: 'int', default: 24, help: 'sim: number of episodes (mmnist: sequences, default 1000)' },
  { name: 'steps', type: 'int', default: 160, help: 'sim: steps per episode (mmnist: frames per sequence, default 20)' },
  { name: 'data_seed', type: 'int', default: 1, help: 'sim: seed of the roads and the driver' },
];

export const COMMON_TRAIN_FLAGS: FlagSpec[] = [
  { name: 'epochs', type: 'int', default: 10, help: 'training epochs' },
  { name: 'batch_size', type: 'int', default: 32, help: 'examples per batch' },
  { name: 'lr', type: 'number', default: 1e-3, help: 'learning rate' },
  { name: 'lr_schedule', type: 'string', default: 'constant', choices: ['cosine', 'step', 'constant'], help: 'learning-rate schedule (cosine decays to 5% of lr)' },
  { name: 'grad_clip', type: 'number', help: 'clip gradients to this global L2 norm' },
  { name: 'seed', type: 'int', default: 0, help: 'seed of the initial weights, data order and noise' },
  { name: 'validation_split', type: 'number', default: 0.1, help: 'fraction of episodes held out for validation' },
  { name: 'patience', type: 'int', help: 'stop after this many epochs without a better validation loss' },
  { name: 'resume', type: 'boolean', default: false, help: 'continue from the latest checkpoint in --out' },
  { name: 'budget_minutes', type: 'number', metavar: 'min', help: 'wall-clock budget: steps and the LR schedule planned from measured step times to end within it (--epochs, when given, is then a limit)' },
];

/** --budget_minutes and --epochs as trainer options: with a budget, --epochs is a limit only when given. */
export function budgetFlags(args: { flags: FlagValues; given?: string[] }): { epochs?: number; budgetMinutes?: number } {
  const b = args.flags.budget_minutes as number | undefined;
  if (b === undefined) return { epochs: args.flags.epochs as number };
  if (!(b > 0) || !Number.isFinite(b)) throw new UsageError(`--budget_minutes must be a number of minutes > 0, got ${b}`);
  return { budgetMinutes: b, epochs: (args.given ?? []).includes('epochs') ? (args.flags.epochs as number) : undefined };
}

/** The line a budgeted run prints at its end. */
export function budgetLine(r: { budget?: { minutes: number; firstPlannedSteps: number; plannedSteps: number; steps: number; wallMs: number; msPerStep: number } }): string | null {
  const b = r.budget;
  if (!b) return null;
  return `budget ${+b.minutes.toPrecision(3)} min: ${b.steps} steps of ${b.plannedSteps} planned (first plan ${b.firstPlannedSteps}; ${b.msPerStep.toFixed(1)} ms a step), ${(b.wallMs / 60000).toFixed(2)} min`;
}

/** The episodes --data names; `given` (the flags given on the command line) picks mmnist's own defaults for --episodes and --steps. */
export function loadData(flags: FlagValues, given: string[] = []): Episode[] {
  const d = String(flags.data ?? 'sim');
  if (d === 'sim') return generateEpisodes({ episodes: flags.episodes as number, steps: flags.steps as number, seed: flags.data_seed as number });
  if (d === 'mmnist') {
    const count = given.includes('episodes') ? (flags.episodes as number) : 1000;
    const frames = given.includes('steps') ? (flags.steps as number) : 20;
    if (count < 2) throw new UsageError(`--episodes must be >= 2 for --data mmnist (one is held out for validation), got ${count}`);
    if (frames < 2) throw new UsageError(`--steps must be >= 2 for --data mmnist, got ${frames}`);
    return movingMnistEpisodes({ count, frames, seed: flags.data_seed as number, split: 'train' });
  }
  if (!fs.existsSync(d)) throw new UsageError(`--data ${d}: no such file or folder`);
  const r = d.endsWith('.npz') || (fs.statSync(d).isDirectory() && fs.readdirSync(d).some((f) => f.endsWith('.npz'))) ? loadNpzDataset(d) : loadPngDataset(d);
  if (!r.episodes.length) throw new UsageError(`--data ${d}: no episodes could be loaded${r.errors.length ? ` (${r.errors[0].file}: ${r.errors[0].message})` : ''}`);
  // Training or evaluating on the files that happened to load, silently, is not what was asked
  // for: a bad file stops the command, naming it (remove it from the folder to go on without it).
  if (r.errors.length)
    throw new UsageError(`--data ${d}: ${r.errors.length} file${r.errors.length > 1 ? 's' : ''} could not be loaded: ${r.errors[0].file}: ${r.errors[0].message}${r.errors.length > 1 ? ` (and ${r.errors.length - 1} more)` : ''}`);
  return r.episodes;
}

export function withCheckpointErrors<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CheckpointError) throw new UsageError(`${what}: ${e.message}`);
    throw e;
  }
}

export const openVAE = (p: unknown, device: Device = 'cpu') => {
  if (typeof p !== 'string' || !p) throw new UsageError('--vae <checkpoint folder> is required');
  return withCheckpointErrors('--vae', () => loadVAE(p, { device }));
};
export const openPredictor = (p: unknown, device: Device = 'cpu') => {
  if (typeof p !== 'string' || !p) throw new UsageError('--predictor <checkpoint folder> is required');
  return withCheckpointErrors('--predictor', () => loadPredictor(p, { device }));
};
/** Whether the checkpoint at p holds a pixel-space predictor (config.predictor.kind 'convlstm'). */
export function isPixelPredictorCheckpoint(p: unknown): boolean {
  if (typeof p !== 'string' || !p) throw new UsageError('--predictor <checkpoint folder> is required');
  const ck = withCheckpointErrors('--predictor', () => loadCheckpoint(p));
  try {
    return (ck.config.predictor as { kind?: unknown } | undefined)?.kind === 'convlstm';
  } finally {
    ck.dispose();
  }
}
export const openPixelPredictor = (p: unknown, device: Device = 'cpu') => {
  if (typeof p !== 'string' || !p) throw new UsageError('--predictor <checkpoint folder> is required');
  return withCheckpointErrors('--predictor', () => loadPixelPredictor(p, { device }));
};

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Progress callbacks: a bar with ETA and the live loss on a TTY, one line per epoch otherwise. */
export function progress(io: CliIO, label: string, stream: NodeJS.WriteStream = process.stdout): TrainCallbacks {
  let epochs = 1, perEpoch = 1, done0 = 0, t0 = 0, lastDraw = 0, stepsRun = 0;
  // A time budget without an epoch limit: the bar follows the budget, epochs are counted without a total.
  let budgetS: number | null = null, ofEpochs = '';
  const f = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(3) : v.toFixed(4)) : '-');
  return {
    onTrainBegin(i) {
      epochs = i.epochs;
      perEpoch = i.batchesPerEpoch;
      budgetS = i.epochsLimited || i.budgetMinutes === null ? null : i.budgetMinutes * 60;
      ofEpochs = budgetS === null ? `/${epochs}` : '';
      done0 = i.step;
      t0 = performance.now();
      if (i.step) io.out(`${label}: resuming at epoch ${i.startEpoch + 1}, step ${i.step}`);
    },
    onBatchEnd(_b, logs) {
      stepsRun++;
      if (!io.isTTY) return;
      const now = performance.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const total = epochs * perEpoch;
      const elapsed = (now - t0) / 1000;
      const frac = budgetS !== null ? Math.min(1, elapsed / budgetS) : Math.min(1, logs.step / total);
      const eta = budgetS !== null ? Math.max(0, budgetS - elapsed) : ((total - logs.step) * elapsed) / Math.max(1, logs.step - done0);
      const w = 24;
      const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, '.');
      stream.write(`\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% epoch ${logs.epoch + 1}${ofEpochs} loss ${f(logs.loss)} ETA ${fmtTime(eta)}   `);
    },
    onEpochEnd(e, logs) {
      if (io.isTTY) stream.write('\r\x1b[K');
      const parts = Object.entries(logs)
        .filter(([k]) => k !== 'epoch' && k !== 'step')
        .map(([k, v]) => `${k} ${f(v)}`);
      io.out(`${label} epoch ${e + 1}${ofEpochs} (${fmtTime((performance.now() - t0) / 1000)}): ${parts.join(', ')}`);
    },
    onTrainEnd() {
      void stepsRun;
      if (io.isTTY) stream.write('\r\x1b[K');
    },
    onNote(m) {
      if (io.isTTY) stream.write('\r\x1b[K');
      io.out(`${label}: note: ${m}`);
    },
  };
}

/**
 * On --resume, optimizer flags take effect only when written on the command line: their defaults
 * would otherwise replace the interrupted run's values (a run started with --lr 1e-4 resumed at
 * the default 1e-3). The trainer continues with the checkpoint's values for the others, and
 * applies (and notes) those given.
 */
export function resumeAware(args: { flags: FlagValues; given?: string[] }): (name: string) => FlagValues[string] {
  return (name) => (!args.flags.resume || (args.given ?? []).includes(name) ? args.flags[name] : undefined);
}

/**
 * The COMMON_TRAIN_FLAGS as trainer options, shared by train-vae, train-predictor and its
 * end-to-end path; on a resumed run the optimizer flags not given keep the checkpoint's values.
 */
export function commonTrainOptions(args: { flags: FlagValues; given?: string[] }) {
  const { flags } = args;
  const opt = resumeAware(args);
  return {
    ...budgetFlags(args),
    batchSize: flags.batch_size as number,
    lr: opt('lr') as number | undefined,
    lrSchedule: opt('lr_schedule') as 'cosine' | 'step' | 'constant' | undefined,
    gradClip: opt('grad_clip') as number | undefined,
    seed: flags.seed as number,
    validationSplit: flags.validation_split as number,
    patience: flags.patience as number | undefined,
  };
}

/**
 * The predictor's model flags of train-predictor (and its end-to-end path): --predictor lstm |
 * transformer, and the sizes, whose defaults depend on it (--hidden_size 256 and --num_layers 1
 * for the LSTM, 128 and 2 for the Transformer, unless given).
 */
export const PREDICTOR_MODEL_FLAGS: FlagSpec[] = [
  { name: 'predictor', type: 'string', default: 'lstm', choices: ['lstm', 'transformer', 'convlstm'], help: "'lstm' (over VAE latents), 'transformer' (latent tokens; docs/predictors.md) or 'convlstm' (pixel space, no VAE)" },
  { name: 'hidden_size', type: 'int', default: 256, help: 'LSTM hidden size, or the Transformer token width (default 128 for it)' },
  { name: 'num_layers', type: 'int', default: 1, help: 'LSTM layers, or Transformer blocks (default 2 for it)' },
  { name: 'num_heads', type: 'int', default: 4, help: 'Transformer: attention heads (must divide --hidden_size)' },
  { name: 'max_frames', type: 'int', default: 32, help: 'Transformer: frames with a learned position (>= seq_len - 1)' },
  { name: 'residual_prediction', type: 'boolean', default: false, help: 'predict the increment: z[t+1] = z[t] + f(z[t], a[t])' },
  { name: 'use_actions', type: 'boolean', default: false, help: 'feed the actions to the predictor' },
];

/** PREDICTOR_MODEL_FLAGS as createPredictor options (the sizes left to the kind's defaults unless given). */
export function predictorModelOptions(args: { flags: FlagValues; given?: string[] }, actionSize: number, seed: number) {
  const { flags } = args;
  const given = (k: string) => (args.given ?? []).includes(k);
  const kind = flags.predictor as 'lstm' | 'transformer';
  const transformer = kind === 'transformer';
  if (!transformer) for (const k of ['num_heads', 'max_frames']) if (given(k)) throw new UsageError(`--${k} is a Transformer option; add --predictor transformer`);
  return {
    predictor: kind,
    hiddenSize: transformer && !given('hidden_size') ? undefined : (flags.hidden_size as number),
    numLayers: transformer && !given('num_layers') ? undefined : (flags.num_layers as number),
    ...(transformer ? { numHeads: flags.num_heads as number, maxFrames: flags.max_frames as number } : {}),
    residualPrediction: flags.residual_prediction as boolean,
    useActions: flags.use_actions as boolean,
    actionSize,
    seed,
  };
}

/** The predictor's sequence-training flags of train-predictor as trainer options. */
export function sequenceTrainOptions(flags: FlagValues) {
  return {
    scheduledSampling: flags.scheduled_sampling as boolean,
    inputNoiseStd: flags.input_noise_std as number,
    targetJitterScale: flags.target_jitter_scale as number,
    seqLen: flags.seq_len as number,
    burnIn: flags.burn_in as number,
  };
}

/** Ctrl-C sets signal.stop (the trainer saves a checkpoint and returns); a second Ctrl-C exits at once. */
export function interruptible(io: CliIO): { signal: { stop: boolean }; release(): void } {
  const signal = { stop: false };
  const handler = () => {
    if (signal.stop) process.exit(130);
    signal.stop = true;
    io.err('\ninterrupt: saving a checkpoint after this batch (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', handler);
  return { signal, release: () => process.off('SIGINT', handler) };
}

/**
 * --config of ablate and bench-model: a JSON object of configuration fields, inline or in a file;
 * every field must be one of `known`'s keys (the command's full configuration).
 */
export function jsonConfigFlag<T extends object>(v: unknown, known: T): Partial<T> | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  const src = text.trim().startsWith('{') ? text : fs.existsSync(text) ? fs.readFileSync(text, 'utf8') : null;
  if (src === null) throw new UsageError(`--config ${text}: neither a JSON object nor an existing file`);
  let o: unknown;
  try {
    o = JSON.parse(src);
  } catch (e) {
    throw new UsageError(`--config: not valid JSON (${(e as Error).message})`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new UsageError('--config must be a JSON object of configuration fields');
  for (const k of Object.keys(o)) if (!(k in known)) throw new UsageError(`--config: unknown field '${k}' (fields: ${Object.keys(known).join(', ')})`);
  return o as Partial<T>;
}

/** The options every training command hands its trainer: where to checkpoint, whether to resume, progress, Ctrl-C. */
export interface TrainerRunOptions {
  checkpointDir: string;
  resume: boolean;
  callbacks: TrainCallbacks;
  signal: { stop: boolean };
}

/**
 * Runs a trainer as the training commands do: with those options (--out, --resume, a progress bar
 * labelled `label`, Ctrl-C saving a checkpoint), then prints the budget line and how it stopped.
 * Returns the exit code: 130 when interrupted, else 0.
 */
export async function runTrainer(io: CliIO, flags: FlagValues, label: string, train: (o: TrainerRunOptions) => Promise<TrainResult>): Promise<number> {
  const intr = interruptible(io);
  try {
    const r = await train({ checkpointDir: flags.out as string, resume: flags.resume as boolean, callbacks: progress(io, label), signal: intr.signal });
    const bl = budgetLine(r);
    if (bl) io.out(bl);
    io.out(`${r.stopReason}: ${r.epochs} epochs, step ${r.step}; checkpoint ${r.checkpoint}`);
    return r.stopReason === 'interrupted' ? 130 : 0;
  } finally {
    intr.release();
  }
}

/** The remedies' flags of train-predictor (issue 12; docs/remedies.md). */
export const REMEDY_FLAGS: FlagSpec[] = [
  { name: 'perceptual_weight', type: 'number', default: 0, metavar: 'λ', help: 'perceptual loss on decoded predictions (features of a frozen network on the decoded prediction vs the real next frame)' },
  { name: 'perceptual_network', type: 'string', default: 'probe', choices: ['probe', 'encoder'], help: "feature network of the perceptual loss: the semantic probe's conv trunk, or the VAE encoder's" },
  { name: 'perceptual_frames', type: 'int', default: 8, help: 'predicted frames decoded per batch for the perceptual (and pixel-classification) terms' },
  { name: 'adversarial_weight', type: 'number', default: 0, metavar: 'λ', help: 'adversarial latent loss: a discriminator on (z_t, a_t, z_t+1) separates real from predicted latents' },
  { name: 'disc_lr', type: 'number', default: 2e-4, help: "the discriminator's learning rate" },
  { name: 'disc_steps', type: 'int', default: 1, help: 'discriminator updates per training step' },
  { name: 'classification_weight', type: 'number', default: 0, metavar: 'λ', help: "classification auxiliary loss: recover the target frame's labels from each prediction" },
  { name: 'classification_on', type: 'string', default: 'latent', choices: ['latent', 'pixels'], help: 'classify predicted latents (a classifier fitted on real latents) or decoded predictions (the semantic probe)' },
  { name: 'probe', type: 'string', metavar: 'dir', help: 'a trained semantic probe folder (worldkit eval/demo write one); without it, one is trained on the training data when a remedy needs it and kept in <out>/probe' },
];

/** The probe the remedies of `flags` read (resolveProbe), or undefined when none needs one. */
export async function probeForRemedies(flags: FlagValues, eps: Episode[], out: string, io: CliIO): Promise<SemanticProbe | undefined> {
  const r = remedyFlags(flags);
  const needs = (r.perceptualWeight > 0 && r.perceptualNetwork === 'probe') || (r.classificationWeight > 0 && r.classificationOn === 'pixels');
  return needs ? resolveProbe(flags, eps, out, io) : undefined;
}

/** The remedies' options from REMEDY_FLAGS (probe: undefined until resolveProbe). */
export function remedyFlags(flags: FlagValues) {
  return {
    perceptualWeight: flags.perceptual_weight as number,
    perceptualNetwork: flags.perceptual_network as 'probe' | 'encoder',
    perceptualFrames: flags.perceptual_frames as number,
    adversarialWeight: flags.adversarial_weight as number,
    discLr: flags.disc_lr as number,
    discSteps: flags.disc_steps as number,
    classificationWeight: flags.classification_weight as number,
    classificationOn: flags.classification_on as 'latent' | 'pixels',
  };
}

/**
 * The semantic probe a remedy reads: --probe <dir> when given, else one trained on `episodes`
 * (their labels; never test data) and kept in <out>/probe, reused when the data and options match.
 */
export async function resolveProbe(flags: FlagValues, episodes: Episode[], out: string, io: CliIO): Promise<SemanticProbe> {
  const dir = flags.probe as string | undefined;
  if (dir) {
    if (!fs.existsSync(dir)) throw new UsageError(`--probe ${dir}: no such folder`);
    try {
      return loadSemanticProbe(dir).probe;
    } catch (e) {
      throw new UsageError(`--probe ${dir}: ${(e as Error).message}`);
    }
  }
  const where = path.join(out, 'probe');
  io.out(`semantic probe: none given (--probe), training one on the training data in ${where}`);
  const t = await ensureSemanticProbe(where, episodes, { cacheDir: false });
  return t.probe;
}
