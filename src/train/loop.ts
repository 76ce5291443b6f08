/**
 * The training loop shared by trainVAE and trainPredictor: epochs of batches in a seeded order,
 * LR schedule, gradient clipping, callbacks (TensorFlow.js model.fit style), metrics log,
 * validation every epoch, early stopping, checkpoints and exact resume.
 *
 * Determinism: the batch order of epoch e is a pure function of (seed, e); every other random
 * draw comes from Generators whose states are saved in each checkpoint, together with the
 * optimizer, the schedule, the epoch, the batch index within it and the running sums of the
 * epoch's metrics. A resumed run therefore continues the same stream of numbers and ends
 * bit-identical to an uninterrupted one, whether it stopped at an epoch boundary or mid-epoch
 * (Ctrl-C).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tidy } from '../tensor/scope';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { Adam, AdamW } from '../optim/adam';
import { SGD } from '../optim/sgd';
import { clipGradNorm, sumOfSquares } from '../optim/clip';
import { LRScheduler, Schedule, constant, cosine, step as stepSchedule } from '../optim/schedules';
import { Generator } from '../random/generator';
import { MetricsLog } from './metrics_log';
import { LoadedCheckpoint, loadCheckpoint, saveCheckpoint, latestCheckpoint, setLatestCheckpoint, CheckpointError } from './checkpoint';
import type { Tensor } from '../tensor/tensor';
import type { Device } from '../tensor/memory';
import { typeError } from '../errors';

export type Logs = Record<string, number>;

/** Callbacks as in TensorFlow.js's model.fit; returning false (or a Promise of false) stops training. */
export interface TrainCallbacks {
  /** epochs: the limit (with a time budget and no epochs option, a large number: budgetMinutes says when it stops). */
  onTrainBegin?(info: { epochs: number; batchesPerEpoch: number; startEpoch: number; step: number; budgetMinutes: number | null; epochsLimited: boolean }): unknown;
  onEpochBegin?(epoch: number, info: { pTrue?: number; lr: number }): unknown;
  onBatchEnd?(batch: number, logs: Logs & { step: number; epoch: number }): unknown;
  onEpochEnd?(epoch: number, logs: Logs): unknown;
  onTrainEnd?(result: TrainResult): unknown;
  /** Things worth telling the user (e.g. a resumed run applying a new --lr); default: console.warn. */
  onNote?(message: string): unknown;
}

export interface CommonTrainOptions {
  /**
   * Where the models, their gradients and the optimizer state live: 'cpu' or 'cuda' (default:
   * the device the model is already on, 'cpu' for a new model). The model is moved in place
   * (Module.to) and stays there; each batch is uploaded per step; checkpoints are written
   * through the host, so they load on either device.
   */
  device?: Device;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'adam' | 'adamw' | 'sgd';
  weightDecay?: number;
  lrSchedule?: 'cosine' | 'step' | 'constant';
  /** Cosine: linear warmup steps (default 0) and floor as a fraction of lr (default 0.05). */
  warmupSteps?: number;
  minLrFactor?: number;
  /** Step schedule: epochs per decay (default ceil(epochs / 3)) and factor (default 0.1). */
  lrStepEpochs?: number;
  lrGamma?: number;
  /** Clip gradients to this global L2 norm (default: no clipping). */
  gradClip?: number;
  seed?: number;
  /** Fraction of the data held out for validation (default 0.1). */
  validationSplit?: number;
  /** Stop after this many epochs without a better validation loss (default: never). */
  patience?: number;
  /** Folder for checkpoints (default: none). */
  checkpointDir?: string;
  /** Checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** Also checkpoint every n optimizer steps (default: only at the end of each epoch). */
  checkpointEvery?: number;
  /** Continue from checkpointDir's latest checkpoint (true) or from the given checkpoint path. */
  resume?: boolean | string;
  /** Metrics log (JSON lines); default <checkpointDir>/metrics.jsonl when checkpointDir is set. */
  metricsFile?: string | null;
  /** Write a batch record every n steps (default 1). */
  logEvery?: number;
  callbacks?: TrainCallbacks;
  /** Set .stop = true (e.g. from a SIGINT handler) to stop after the current batch with a checkpoint. */
  signal?: { stop: boolean };
  /** Cap on batches per epoch (default: all). */
  maxBatchesPerEpoch?: number;
  /**
   * A wall-clock budget for this call, in minutes. The number of steps (and so the epochs and the
   * LR schedule: cosine over the planned steps, step decays at thirds of them) is planned from
   * the measured step time after `budgetWarmupSteps` steps, validation time included once an
   * epoch has been validated, and re-planned after every step from the time left; training stops
   * when the planned steps are done (stopReason 'budget'), validated and checkpointed, with the
   * schedule completed rather than cut. `epochs`, when given, is then an upper limit. A resumed
   * run plans from its resumed step with a fresh budget. See TrainResult.budget.
   */
  budgetMinutes?: number;
  /** Steps timed before the first plan (default 5; the first step, which warms caches up, is not used in the estimate). */
  budgetWarmupSteps?: number;
  /** The clock the budget reads, in milliseconds (default performance.now); tests inject one. */
  clock?: () => number;
}

/** What a run with budgetMinutes planned and did. */
export interface BudgetReport {
  minutes: number;
  /** Steps planned by the first plan (after the warm-up steps) and by the last one. */
  firstPlannedSteps: number;
  plannedSteps: number;
  /** Steps taken (the run's step counter at the end). */
  steps: number;
  /** Wall time of the run by the budget's clock (ms), and the measured time per step and per validation. */
  wallMs: number;
  msPerStep: number;
  msPerValidation: number;
  /** Times the plan was made (after the warm-up, after every step). */
  plans: number;
}

export interface TrainResult {
  epochs: number;
  step: number;
  /** 'completed' | 'early-stopping' | 'callback' | 'interrupted' */
  stopReason: string;
  history: Logs[];
  checkpoint: string | null;
  bestValLoss: number;
  /** The notes given to callbacks.onNote (a resume applying changed optimizer options, ...). */
  notes: string[];
  /** With budgetMinutes: the plan and what was done. */
  budget?: BudgetReport;
}

export class NonFiniteLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

export interface StepContext {
  step: number;
  epoch: number;
  note(message: string): void;
}

/** What a trainer plugs into the loop. */
export interface LoopSpec {
  kind: string;
  fn: string;
  config: Record<string, unknown>;
  modules: Record<string, Module>;
  params: Module;
  opts: CommonTrainOptions;
  /** Training examples (indices are shuffled per epoch). */
  numExamples: number;
  rngs: Record<string, Generator>;
  /** Per-epoch extra values (e.g. pTrue) passed to trainStep and logged. */
  epochInfo?(epoch: number, epochs: number): Logs;
  /**
   * One step on the examples `idx`: returns the loss tensor's value and the logged parts (tidy is
   * done by the loop). `ctx`: the step being taken (1-based), its epoch, and note() for things
   * worth telling the user (the same channel as the loop's own notes).
   */
  trainStep(idx: number[], info: Logs, ctx: StepContext): { loss: import('../tensor/tensor').Tensor; logs: Logs };
  validate(): Logs;
  /** The examples `idx` in words, for error messages (e.g. 'frames (episode 0, t 12), ...'). */
  describeBatch?(idx: number[]): string;
  /** Restores module weights from a checkpoint. */
  restore(ck: LoadedCheckpoint): void;
  /**
   * Optimizers beside the main one, by name; each is saved in every checkpoint and restored on
   * resume (a checkpoint without one cannot resume this run exactly, and is refused).
   *   'follow': the loop clears its gradients with the main optimizer's and steps it right after
   *             the main one, on the same backward pass, at its own base lr scaled by the main
   *             schedule's factor (end-to-end training: the VAE's parameters at --vae_lr). Its
   *             parameters must be in `params` (so clipping and the finiteness checks see them);
   *             the main optimizer leaves them to it.
   *   'own':    the trainer steps it itself inside trainStep at a constant lr (a discriminator,
   *             updated on its own loss before the main one).
   * The modules they update belong in `modules`, so their weights are checkpointed.
   */
  extraOptimizers?: Record<string, { optimizer: Optimizer; mode: 'follow' | 'own' }>;
  /** After each epoch's logs are complete (means, validation), before callbacks.onEpochEnd: e.g. health notes. */
  epochEnd?(epoch: number, logs: Logs, note: (message: string) => void): void;
}

/** The run's main optimizer over `params`' trainable parameters, less `exclude` (those another optimizer updates). */
export function makeOptimizer(fn: string, params: Module, o: CommonTrainOptions, exclude: ReadonlySet<Tensor> = new Set()): Optimizer {
  const lr = o.lr ?? 1e-3;
  const list = params.trainableParameters().filter((p) => !exclude.has(p));
  switch (o.optimizer ?? 'adam') {
    case 'adam':
      return new Adam(list, { lr, weightDecay: o.weightDecay ?? 0 });
    case 'adamw':
      return new AdamW(list, { lr, weightDecay: o.weightDecay ?? 0.01 });
    case 'sgd':
      return new SGD(list, { lr, momentum: 0.9, weightDecay: o.weightDecay ?? 0 });
    default:
      throw typeError(fn, 'optimizer', "'adam', 'adamw' or 'sgd'", o.optimizer);
  }
}

export function makeSchedule(fn: string, o: CommonTrainOptions, epochs: number, batchesPerEpoch: number): Schedule {
  const total = Math.max(1, epochs * batchesPerEpoch);
  switch (o.lrSchedule ?? 'constant') {
    case 'constant':
      return constant();
    case 'cosine':
      return cosine(total, { warmup: o.warmupSteps ?? 0, minLr: (o.lr ?? 1e-3) * (o.minLrFactor ?? 0.05) });
    case 'step':
      return stepSchedule(Math.max(1, (o.lrStepEpochs ?? Math.ceil(epochs / 3)) * batchesPerEpoch), o.lrGamma ?? 0.1);
    default:
      throw typeError(fn, 'lrSchedule', "'cosine', 'step' or 'constant'", o.lrSchedule);
  }
}

/** The example order of epoch `epoch`: a pure function of (seed, epoch). */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return new Generator(seed).fork(100003 + epoch).shuffle(idx);
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

async function call(cb: ((...a: never[]) => unknown) | undefined, ...args: unknown[]): Promise<boolean> {
  if (!cb) return true;
  const r = await (cb as (...a: unknown[]) => unknown)(...args);
  return r !== false;
}

function checkOpts(fn: string, o: CommonTrainOptions): void {
  const int = (k: keyof CommonTrainOptions, min: number) => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) throw typeError(fn, `options.${k}`, `an integer >= ${min}`, v);
  };
  const pos = (k: keyof CommonTrainOptions, min = 0, max = Infinity) => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)) throw typeError(fn, `options.${k}`, `a number in [${min}, ${max}]`, v);
  };
  int('epochs', 1);
  int('batchSize', 1);
  int('seed', 0);
  int('patience', 1);
  int('checkpointEvery', 1);
  int('logEvery', 1);
  int('maxBatchesPerEpoch', 1);
  int('keepCheckpoints', 1);
  int('warmupSteps', 0);
  int('lrStepEpochs', 1);
  pos('lr');
  pos('gradClip');
  pos('weightDecay');
  pos('minLrFactor', 0, 1);
  pos('lrGamma');
  pos('validationSplit', 0, 0.9);
  int('budgetWarmupSteps', 1);
  const b = o.budgetMinutes;
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b <= 0)) throw typeError(fn, 'options.budgetMinutes', 'a number of minutes > 0', b);
  if (o.clock !== undefined && typeof o.clock !== 'function') throw typeError(fn, 'options.clock', 'a function returning milliseconds', o.clock);
}

/** Most epochs a budgeted run without `epochs` may plan. */
const BUDGET_MAX_EPOCHS = 1e6;

/**
 * The budget planner: times the steps and the end-of-epoch work with `clock`, and plans the
 * total number of steps that fits the time left.
 */
class BudgetPlanner {
  readonly ms: number;
  private readonly start: number;
  private stepTimes: number[] = [];
  private valMs = 0;
  private valCount = 0;
  plans = 0;
  firstTotal = 0;
  constructor(readonly minutes: number, readonly clock: () => number, readonly warmup: number, readonly bpe: number, readonly cap: number) {
    this.ms = minutes * 60000;
    this.start = clock();
  }
  now(): number {
    return this.clock();
  }
  elapsed(): number {
    return this.clock() - this.start;
  }
  addStep(ms: number): void {
    this.stepTimes.push(ms);
  }
  addValidation(ms: number): void {
    this.valMs += ms;
    this.valCount++;
  }
  /** The mean of the last (up to) 20 step times, the first step (which warms caches up) left out. */
  msPerStep(): number {
    const t = this.stepTimes;
    const from = Math.max(t.length > 1 ? 1 : 0, t.length - 20);
    let s = 0;
    for (let i = from; i < t.length; ++i) s += t[i];
    return t.length > from ? s / (t.length - from) : 0;
  }
  msPerValidation(): number {
    return this.valCount ? this.valMs / this.valCount : 0;
  }
  /** The total steps to plan at `step` (`batch` steps into the current epoch), or null before the warm-up is over. */
  plan(step: number, batch: number): number | null {
    if (this.stepTimes.length < this.warmup) return null;
    const left = this.ms - this.elapsed();
    const per = Math.max(1e-6, this.msPerStep());
    const val = this.msPerValidation();
    // r more steps cost (r + 1) x per (a step's time is counted from the previous step's end, so
    // this step's own callbacks are still to come), plus one validation per epoch end they reach
    // (the final one included)
    let r = Math.max(0, Math.floor((left - per - val) / (per + val / this.bpe)));
    while (r > 0 && (r + 1) * per + Math.ceil((batch + r) / this.bpe) * val > left) r--;
    const total = Math.min(this.cap, step + r);
    if (!this.plans) this.firstTotal = total;
    this.plans++;
    return total;
  }
}

/** Optimizer options a resumed run takes from the checkpoint when not given. */
const OPTIMIZER_KEYS = ['lr', 'optimizer', 'weightDecay', 'lrSchedule', 'warmupSteps', 'minLrFactor', 'lrStepEpochs', 'lrGamma', 'gradClip'] as const;

function trainingOf(ck: LoadedCheckpoint): CommonTrainOptions {
  const t = (ck.config as { training?: unknown }).training;
  return t && typeof t === 'object' ? (t as CommonTrainOptions) : {};
}

/** The value a run used for optimizer option `k` (its default when it was not given). */
function usedValue(t: CommonTrainOptions, k: (typeof OPTIMIZER_KEYS)[number], epochs: number): unknown {
  if (t[k] !== undefined) return t[k];
  const defaults: Record<string, unknown> = {
    lr: 1e-3,
    optimizer: 'adam',
    weightDecay: (t.optimizer ?? 'adam') === 'adamw' ? 0.01 : 0,
    lrSchedule: 'constant',
    warmupSteps: 0,
    minLrFactor: 0.05,
    lrStepEpochs: Math.ceil((t.epochs ?? epochs) / 3),
    lrGamma: 0.1,
    gradClip: undefined,
  };
  return defaults[k];
}

function describeOpt(ck: LoadedCheckpoint, k: string): string {
  return String(usedValue(trainingOf(ck), k as (typeof OPTIMIZER_KEYS)[number], 0));
}

/** The options of a resumed run: missing optimizer options from the checkpoint; which given ones differ. */
function resumedOptions(fn: string, opts: CommonTrainOptions, ck: LoadedCheckpoint, epochs: number): { eff: CommonTrainOptions; changed: string[] } {
  const prev = trainingOf(ck);
  const eff: CommonTrainOptions = { ...opts };
  const changed: string[] = [];
  for (const k of OPTIMIZER_KEYS) {
    if (opts[k] === undefined) (eff as Record<string, unknown>)[k] = prev[k];
    else if (opts[k] !== usedValue(prev, k, epochs)) changed.push(k);
  }
  try {
    checkOpts(fn, eff);
  } catch (e) {
    ck.dispose();
    throw new CheckpointError(`${path.join(ck.path, 'state.json')}: config.training: ${(e as Error).message}`);
  }
  return { eff, changed };
}

/** The first NaN/Inf value of a tensor as "NaN at [i]" (copied to the host off the CPU), or null. */
function firstBadValue(t: Tensor): string | null {
  const d = t.hostF32('firstBadValue');
  for (let i = 0; i < d.length; ++i) if (!Number.isFinite(d[i])) return `${d[i]} at flat index ${i}`;
  return null;
}

/**
 * The per-step NaN/Inf check over the trainable parameters (or their gradients): one native
 * sum of squares over all of them, finite exactly when every value is; only when it is not, a
 * second pass names the first tensor holding a non-finite value. Null when all are finite.
 */
function nonFinite(fn: string, named: [string, Tensor][], grads: boolean): { name: string; value: string } | null {
  const ts = grads ? named.filter(([, p]) => p.grad).map(([n, p]) => [n, p.grad!] as [string, Tensor]) : named;
  if (Number.isFinite(sumOfSquares(fn, ts.map(([, t]) => t)))) return null;
  for (const [name, t] of ts) {
    const bad = firstBadValue(t);
    if (bad) return { name, value: bad };
  }
  return null; // a 'cuda' sum of squares overflowed float32 (values above ~1e19): large but finite
}

export async function runLoop(spec: LoopSpec): Promise<TrainResult> {
  const { fn, opts } = spec;
  checkOpts(fn, opts);
  const budgeted = opts.budgetMinutes !== undefined;
  const epochs = opts.epochs ?? (budgeted ? BUDGET_MAX_EPOCHS : 10);
  const batchSize = opts.batchSize ?? 32;
  const seed = opts.seed ?? 0;
  if (spec.numExamples < 1) throw new RangeError(`${fn}: no training examples (the dataset is too small for these options)`);
  const fullBatches = Math.ceil(spec.numExamples / batchSize);
  const batchesPerEpoch = Math.min(fullBatches, opts.maxBatchesPerEpoch ?? fullBatches);
  const cbs = opts.callbacks ?? {};
  const dir = opts.checkpointDir ?? null;
  const notes: string[] = [];
  // Notes given while training (not the resume notes, written when the log opens) also go to the metrics log.
  let liveLog: { log: MetricsLog; step: () => number; epoch: () => number } | null = null;
  const note = (m: string) => {
    notes.push(m);
    if (liveLog) liveLog.log.write({ kind: 'event', step: liveLog.step(), epoch: liveLog.epoch(), event: 'note', message: m });
    if (cbs.onNote) cbs.onNote(m);
    else console.warn(`worldkit: ${m}`);
  };
  let ck: LoadedCheckpoint | null = null;
  if (opts.resume) {
    const from = typeof opts.resume === 'string' ? opts.resume : dir;
    if (!from) throw typeError(fn, 'options.resume', 'a checkpoint path (or true with checkpointDir)', opts.resume);
    if (typeof opts.resume === 'boolean' && !latestCheckpoint(from)) throw new CheckpointError(`${from}: nothing to resume (no latest.json)`);
    ck = loadCheckpoint(from);
  }
  // Resuming: optimizer options not given continue as the interrupted run had them (the CLI
  // passes --lr only when it is on the command line); options given that differ are applied
  // and noted (the advice "try a lower --lr" must work on a resumed run).
  const { eff, changed } = ck ? resumedOptions(fn, opts, ck, epochs) : { eff: opts, changed: [] as string[] };
  let optimizer: Optimizer;
  let scheduler: LRScheduler;
  // With a budget the schedule follows the plan: its total steps change as the plan does.
  const planned = { total: epochs * batchesPerEpoch };
  const budgetSchedule = (): Schedule => {
    const cache = { total: -1, f: constant() };
    return (s, base) => {
      if (cache.total !== planned.total) {
        const total = Math.max(1, planned.total);
        cache.total = planned.total;
        cache.f = (eff.lrSchedule ?? 'constant') === 'step' && eff.lrStepEpochs === undefined
          ? stepSchedule(Math.max(1, Math.ceil(total / 3)), eff.lrGamma ?? 0.1)
          : (eff.lrSchedule ?? 'constant') === 'cosine'
            ? cosine(total, { warmup: eff.warmupSteps ?? 0, minLr: (eff.lr ?? 1e-3) * (eff.minLrFactor ?? 0.05) })
            : makeSchedule(fn, eff, Math.max(1, Math.ceil(total / batchesPerEpoch)), batchesPerEpoch);
      }
      return cache.f(s, base);
    };
  };
  try {
    // Parameters a 'follow' optimizer updates are not the main optimizer's.
    const followed = new Set(Object.values(spec.extraOptimizers ?? {}).filter((e) => e.mode === 'follow').flatMap((e) => e.optimizer.params));
    optimizer = makeOptimizer(fn, spec.params, eff, followed);
    if (budgeted) makeSchedule(fn, eff, 1, 1); // checks lrSchedule
    scheduler = new LRScheduler(optimizer, budgeted ? budgetSchedule() : makeSchedule(fn, eff, epochs, batchesPerEpoch), eff.lr ?? 1e-3);
  } catch (e) {
    ck?.dispose();
    throw e;
  }
  const following = Object.values(spec.extraOptimizers ?? {})
    .filter((e) => e.mode === 'follow')
    .map((e) => ({ optimizer: e.optimizer, baseLr: e.optimizer.lr }));
  for (const [name, e] of Object.entries(spec.extraOptimizers ?? {}))
    if (e.mode !== 'follow' && e.mode !== 'own') throw typeError(fn, `extraOptimizers.${name}.mode`, "'follow' or 'own'", e.mode);
  const metricsFile = opts.metricsFile === undefined ? (dir ? path.join(dir, 'metrics.jsonl') : null) : opts.metricsFile;

  let startEpoch = 0;
  let startBatch = 0;
  let step = 0;
  let history: Logs[] = [];
  let bestVal = Infinity;
  let badEpochs = 0;
  let sums: Record<string, number> = {};
  let count = 0;

  if (ck) {
    const stateFile = path.join(ck.path, 'state.json');
    // Errors of the restoring code (Generator.setState, Optimizer.loadStateDict, ...) name no file: add it.
    const named = <T>(what: string, f: () => T): T => {
      try {
        return f();
      } catch (e) {
        if (e instanceof CheckpointError) throw e;
        throw new CheckpointError(`${stateFile}: ${what}: ${(e as Error).message}`);
      }
    };
    try {
      if (ck.kind !== spec.kind) throw new CheckpointError(`${ck.path}: is a '${ck.kind}' checkpoint, cannot resume ${fn} from it`);
      spec.restore(ck);
      // A trainer always saves both: without them the run would continue with a fresh optimizer
      // and schedule, silently unlike the run that was interrupted.
      if (!ck.optimizer) throw new CheckpointError(`${stateFile}: optimizer is ${JSON.stringify(ck.optimizer)}: this checkpoint cannot resume training exactly (it loads as a model with loadVAE/loadPredictor)`);
      if (!ck.schedule) throw new CheckpointError(`${stateFile}: schedule is ${JSON.stringify(ck.schedule)}: this checkpoint cannot resume training exactly`);
      if (changed.includes('optimizer')) note(`resume: optimizer ${describeOpt(ck, 'optimizer')} -> ${eff.optimizer}: its state starts afresh (the checkpoint's state is for the other optimizer)`);
      else named('optimizer', () => optimizer.loadStateDict(ck!.optimizer!));
      for (const [name, { optimizer: extra }] of Object.entries(spec.extraOptimizers ?? {})) {
        const sd = ck.extraOptimizers[name];
        if (!sd) throw new CheckpointError(`${stateFile}: has no state for the '${name}' optimizer (optimizer.${name}.safetensors): this checkpoint cannot resume this run exactly (it was made without it)`);
        const lr = extra.lr; // this run's: a changed --disc_lr / --vae_lr applies from here on
        named(`optimizers.${name}`, () => extra.loadStateDict(sd));
        if (sd.lr !== lr && !(spec.extraOptimizers![name].mode === 'follow')) note(`resume: ${name} lr ${sd.lr} -> ${lr}: applied`);
        extra.lr = lr;
      }
      const sch = ck.schedule as { step: number; baseLr: number };
      named('schedule', () => scheduler.loadStateDict(changed.includes('lr') ? { step: sch.step, baseLr: eff.lr as number } : sch));
      for (const k of changed)
        if (k === 'lr') note(`resume: lr ${sch.baseLr} -> ${eff.lr}: applied from step ${sch.step} (the schedule continues from the new base rate; lr now ${optimizer.lr})`);
        else if (k !== 'optimizer') note(`resume: ${k} ${describeOpt(ck, k)} -> ${String(eff[k as keyof CommonTrainOptions])}: applied`);
      for (const [k, g] of Object.entries(spec.rngs)) {
        const st = ck.rng[k];
        if (!st) throw new CheckpointError(`${stateFile}: rng state '${k}' is missing`);
        named(`rng.${k}`, () => g.setState(st));
      }
      startEpoch = ck.epoch;
      startBatch = ck.batch;
      step = ck.step;
      history = ck.metrics as Logs[];
      history.forEach((h, i) => {
        if (!h || typeof h !== 'object' || Array.isArray(h)) throw new CheckpointError(`${stateFile}: metrics[${i}] must be an object of numbers`);
      });
      const t = ck.trainer as { bestVal?: number | null; badEpochs?: number; sums?: Record<string, number>; count?: number };
      const num = (v: unknown) => v === undefined || v === null || typeof v === 'number';
      if (!num(t.bestVal) || !num(t.badEpochs) || !num(t.count) || (t.sums !== undefined && (typeof t.sums !== 'object' || t.sums === null || Object.values(t.sums).some((v) => typeof v !== 'number'))))
        throw new CheckpointError(`${stateFile}: trainer state is malformed (${JSON.stringify(t).slice(0, 120)})`);
      bestVal = t.bestVal ?? Infinity;
      badEpochs = t.badEpochs ?? 0;
      sums = t.sums ?? {};
      count = t.count ?? 0;
    } finally {
      ck.dispose();
    }
    if (metricsFile) MetricsLog.truncateAfter(metricsFile, step);
  }
  const log = new MetricsLog(metricsFile);
  const trainable = [...spec.params.namedParameters()].filter(([, p]) => !p.frozen) as [string, Tensor][];
  const atStart = nonFinite(fn, trainable, false);
  if (atStart) throw new NonFiniteLossError(`${fn}: weight '${atStart.name}' is ${atStart.value} before training starts (the model given, or the checkpoint resumed, holds a non-finite value)`);
  let lastCheckpoint: string | null = dir ? latestCheckpoint(dir) : null;
  // "Good": weights finite, and a finite step from them (the next step's loss, gradients and
  // update, or the validation loss taken right before an end-of-epoch save). A checkpoint saved after
  // the step that blew the weights up (finite but huge) is only `pending` until then, so a
  // divergence names the last good one, never the pending one, and pruning keeps the good one.
  // When resuming, the checkpoint resumed from (its weights just checked finite) is the first good one.
  let lastGood: { path: string; step: number; epoch: number } | null = opts.resume && lastCheckpoint ? { path: lastCheckpoint, step, epoch: startEpoch } : null;
  let pending: { path: string; step: number; epoch: number } | null = null;
  const save = (epoch: number, batch: number, confirmed: boolean): void => {
    if (!dir) return;
    // Never write non-finite weights (a NaN behind a ReLU leaves the loss finite).
    const bad = nonFinite(fn, trainable, false);
    if (bad) throw new NonFiniteLossError(`${fn}: weight '${bad.name}' is ${bad.value} at step ${step}; the checkpoint was not saved. ${goodText()}`);
    lastCheckpoint = saveCheckpoint(
      dir,
      {
        kind: spec.kind,
        // The options in effect (a resume's applied changes included) are the ones a later resume continues with.
        config: { ...spec.config, training: { ...eff, callbacks: undefined, signal: undefined } },
        modules: spec.modules,
        optimizer,
        extraOptimizers: Object.fromEntries(Object.entries(spec.extraOptimizers ?? {}).map(([k, v]) => [k, v.optimizer])),
        epoch,
        batch,
        step,
        schedule: scheduler.stateDict(),
        rng: Object.fromEntries(Object.entries(spec.rngs).map(([k, g]) => [k, g.state()])),
        metrics: history,
        trainer: { bestVal: Number.isFinite(bestVal) ? bestVal : null, badEpochs, sums, count },
      },
      { keep: eff.keepCheckpoints ?? 2, protect: lastGood?.path ?? null },
    );
    const saved = { path: lastCheckpoint, step, epoch };
    if (confirmed) {
      lastGood = saved;
      pending = null;
    } else pending = saved;
  };
  const goodText = (): string => (lastGood ? `The last good checkpoint is ${lastGood.path}.` : 'No checkpoint known to be good was saved.');
  /** On divergence: latest.json must not point at a checkpoint whose weights gave a non-finite loss. */
  const dropPending = (): string => {
    if (!pending || !dir) return '';
    const p = pending;
    pending = null;
    if (lastGood && fs.existsSync(lastGood.path)) setLatestCheckpoint(dir, lastGood.path, lastGood.step, lastGood.epoch);
    else setLatestCheckpoint(dir, null);
    lastCheckpoint = lastGood?.path ?? null;
    return ` ${p.path} (saved after step ${p.step}) holds the weights that gave it, so latest.json ${lastGood ? `points back to ${path.basename(lastGood.path)}` : 'was removed'}.`;
  };

  // The budget's clock starts here (after loading, before the first step).
  const budget = budgeted ? new BudgetPlanner(opts.budgetMinutes!, opts.clock ?? (() => performance.now()), opts.budgetWarmupSteps ?? 5, batchesPerEpoch, epochs * batchesPerEpoch) : null;
  let budgetDone = false;
  const budgetReport = (): BudgetReport | undefined =>
    budget
      ? { minutes: budget.minutes, firstPlannedSteps: budget.firstTotal, plannedSteps: planned.total, steps: step, wallMs: budget.elapsed(), msPerStep: budget.msPerStep(), msPerValidation: budget.msPerValidation(), plans: budget.plans }
      : undefined;
  const result = (stopReason: string): TrainResult => ({ epochs: history.length, step, stopReason, history, checkpoint: lastCheckpoint, bestValLoss: bestVal, notes, ...(budget ? { budget: budgetReport() } : {}) });
  for (const m of notes) log.write({ kind: 'event', step, epoch: startEpoch, event: 'note', message: m });
  let stopReason = 'completed';
  let curEpoch = startEpoch;
  // A step's time runs from the end of the previous step (its callbacks and logging included), less any validation between them.
  let lastMark = budget ? budget.now() : 0;
  liveLog = { log, step: () => step, epoch: () => curEpoch };
  if (!(await call(cbs.onTrainBegin, { epochs, batchesPerEpoch, startEpoch, step, budgetMinutes: opts.budgetMinutes ?? null, epochsLimited: opts.epochs !== undefined || !budgeted }))) stopReason = 'callback';

  try {
    outer: for (let epoch = startEpoch; epoch < epochs && stopReason === 'completed'; ++epoch) {
      curEpoch = epoch;
      // A budgeted run's per-epoch decays (pTrue) follow the planned epochs.
      const infoEpochs = budget ? Math.max(epoch + 1, Math.ceil(planned.total / batchesPerEpoch)) : epochs;
      const info = spec.epochInfo ? spec.epochInfo(epoch, infoEpochs) : {};
      const order = epochOrder(seed, epoch, spec.numExamples);
      const first = epoch === startEpoch ? startBatch : 0;
      if (first === 0) {
        sums = {};
        count = 0;
        if (!(await call(cbs.onEpochBegin, epoch, { ...info, lr: optimizer.lr }))) {
          stopReason = 'callback';
          break;
        }
      }
      spec.params.train();
      for (let b = first; b < batchesPerEpoch; ++b) {
        const idx = order.slice(b * batchSize, Math.min(spec.numExamples, (b + 1) * batchSize));
        const t0 = performance.now();
        const lr = optimizer.lr;
        let badTensor: { what: string; name: string; value: string; applied: boolean } | null = null;
        const logs = tidy(() => {
          optimizer.zeroGrad();
          for (const e of following) e.optimizer.zeroGrad();
          const { loss, logs } = spec.trainStep(idx, info, { step: step + 1, epoch, note });
          const value = loss.item();
          if (!Number.isFinite(value)) return { loss: value, ...logs };
          loss.backward();
          let gradNorm = NaN;
          const extra = () => (opts.gradClip ? { gradNorm } : {});
          if (opts.gradClip) {
            // The clipping norm is a free check of the gradients before the update.
            gradNorm = clipGradNorm(spec.params.trainableParameters(), opts.gradClip);
            const g = Number.isFinite(gradNorm) ? null : nonFinite(fn, trainable, true);
            if (g) {
              badTensor = { what: 'gradient of', ...g, applied: false };
              return { loss: value, ...logs, ...extra() };
            }
          }
          optimizer.step();
          if (following.length) {
            // The main schedule's factor, applied to each following optimizer's own base lr.
            const factor = scheduler.baseLr > 0 ? optimizer.lr / scheduler.baseLr : 1;
            for (const e of following) {
              e.optimizer.lr = e.baseLr * factor;
              e.optimizer.step();
            }
          }
          // One pass per step, over the weights after the update: a non-finite gradient always
          // leaves a non-finite weight (Adam, AdamW and SGD propagate NaN/Inf, even at lr 0), so
          // this one check sees both; the gradients are then searched only to name the cause.
          const w = nonFinite(fn, trainable, false);
          if (w) {
            const g = opts.gradClip ? null : nonFinite(fn, trainable, true);
            badTensor = g ? { what: 'gradient of', ...g, applied: true } : { what: 'weight', ...w, applied: true };
          }
          return { loss: value, ...logs, ...extra() };
        });
        optimizer.zeroGrad();
        for (const e of following) e.optimizer.zeroGrad();
        const bt = badTensor as { what: string; name: string; value: string; applied: boolean } | null;
        const bad = bt ? null : Object.entries(logs).find(([, v]) => !Number.isFinite(v));
        if (bad || bt) {
          const what = bt ? `${bt.what} '${bt.name}' became ${bt.value}${bt.what === 'weight' ? ' in the update' : ''}` : `${bad![0]} became ${bad![1]}`;
          log.write({ kind: 'event', step, epoch, event: 'non-finite', name: bt ? `${bt.what} ${bt.name}` : bad![0], value: bt ? bt.value : String(bad![1]) });
          const where = `at epoch ${epoch + 1}, batch ${b + 1} of ${batchesPerEpoch} (step ${step + 1}${spec.describeBatch ? `; ${spec.describeBatch(idx)}` : ''})`;
          // A non-finite loss (or, with gradClip, gradient) is caught before the update.
          const applied = bt?.applied ? 'training stopped; the weights this update made were not saved.' : 'training stopped without applying this step.';
          // A pending checkpoint holds the weights this failed step started from: not good.
          const dropped = dropPending();
          throw new NonFiniteLossError(`${fn}: ${what} ${where}; ${applied} ${goodText()}${dropped} Try a lower --lr or --grad_clip.`);
        }
        // A whole step (loss, gradients, update) finite from the pending checkpoint's weights makes it good.
        if (pending) {
          lastGood = pending;
          pending = null;
        }
        step++;
        if (budget) {
          // a step's time: from the end of the previous one (its callbacks and logging included)
          const now = budget.now();
          budget.addStep(now - lastMark);
          lastMark = now;
          const wasPlanned = budget.plans > 0;
          const total = budget.plan(step, b + 1);
          if (total !== null) {
            planned.total = Math.max(step, total);
            if (!wasPlanned)
              note(`budget ${+budget.minutes.toPrecision(3)} min: ${planned.total} steps planned (${budget.msPerStep().toFixed(1)} ms a step over ${budget.warmup} warm-up steps, about ${(planned.total / batchesPerEpoch).toFixed(1)} epochs of ${batchesPerEpoch} batches); re-planned as it runs`);
            if (step >= planned.total && planned.total < epochs * batchesPerEpoch) budgetDone = true; // at the epochs limit the loop ends by itself
          }
        }
        scheduler.step();
        const ms = performance.now() - t0;
        for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v;
        count++;
        if (step % (opts.logEvery ?? 1) === 0) log.write({ kind: 'batch', step, epoch, batch: b, ...logs, ...info, lr, stepMs: Math.round(ms * 100) / 100 });
        const go = await call(cbs.onBatchEnd, b, { ...logs, ...info, lr, step, epoch, batchesPerEpoch, stepMs: ms });
        await yieldToEventLoop();
        const interrupted = opts.signal?.stop === true;
        if (!go || interrupted) {
          stopReason = interrupted ? 'interrupted' : 'callback';
          const done = b + 1 === batchesPerEpoch;
          if (!done) {
            save(epoch, b + 1, false);
            break outer;
          }
        } else if (opts.checkpointEvery && step % opts.checkpointEvery === 0 && b + 1 < batchesPerEpoch) save(epoch, b + 1, false);
        if (budgetDone) break; // the planned steps are done: this epoch ends here (validated, saved)
      }
      const vt0 = budget ? budget.now() : 0;
      // End of epoch: validation, metrics, early stopping, checkpoint.
      spec.params.eval();
      const val = spec.validate();
      spec.params.train();
      const epochLogs: Logs = { epoch: epoch + 1, step };
      for (const [k, v] of Object.entries(sums)) epochLogs[k] = v / Math.max(1, count);
      Object.assign(epochLogs, info, val, { lr: optimizer.lr });
      history.push(epochLogs);
      spec.epochEnd?.(epoch, epochLogs, note);
      log.write({ kind: 'epoch', ...epochLogs, step, epoch });
      const vl = val.valLoss;
      if (vl !== undefined) {
        if (!Number.isFinite(vl)) throw new NonFiniteLossError(`${fn}: validation loss became ${vl} after epoch ${epoch + 1}; this epoch's weights were not saved. ${goodText()}${dropPending()}`);
        if (vl < bestVal) {
          bestVal = vl;
          badEpochs = 0;
        } else badEpochs++;
      }
      const go = await call(cbs.onEpochEnd, epoch, epochLogs);
      if (stopReason === 'completed' && !go) stopReason = 'callback';
      if (stopReason === 'completed' && opts.patience && badEpochs >= opts.patience) stopReason = 'early-stopping';
      sums = {};
      count = 0;
      // With a (finite) validation loss the weights being saved were just evaluated: good at once.
      save(epoch + 1, 0, vl !== undefined);
      if (budget) {
        const vms = budget.now() - vt0;
        budget.addValidation(vms);
        lastMark += vms;
        if (!budgetDone && budget.plans) {
          // re-planned with the validation time now known
          planned.total = Math.max(step, budget.plan(step, 0) ?? planned.total);
          if (step >= planned.total && planned.total < epochs * batchesPerEpoch) budgetDone = true;
        }
        if (budgetDone && stopReason === 'completed') {
          stopReason = 'budget';
          break;
        }
      }
    }
  } finally {
    log.close();
    // The optimizers are this call's own: their state (already in the checkpoints) is freed,
    // which matters where memory is not garbage-collected ('cuda').
    optimizer.disposeState();
    for (const e of Object.values(spec.extraOptimizers ?? {})) e.optimizer.disposeState();
  }
  const r = result(stopReason);
  await call(cbs.onTrainEnd, r);
  return r;
}
