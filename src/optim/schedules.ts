/**
 * Learning-rate schedules as pure functions of the step: `schedule(step, baseLr) -> lr`.
 *
 *   constant()                           lr = baseLr
 *   step(stepSize, gamma)                lr = baseLr * gamma ^ floor(step / stepSize)
 *   cosine(total, {warmup, minLr})       step < warmup:  lr = baseLr * (step + 1) / warmup
 *                                        then            lr = minLr + (baseLr - minLr) * (1 + cos(pi * p)) / 2,
 *                                                        p = min(1, (step - warmup) / max(1, total - warmup))
 *
 * LRScheduler applies one to an optimizer: it sets optimizer.lr = schedule(0, baseLr) at once and
 * schedule(k, baseLr) after its k-th step() (call it once per optimizer step).
 */
import { typeError } from '../errors';
import type { Optimizer } from './optimizer';
import { num } from './util';

export type Schedule = (step: number, baseLr: number) => number;

function checkStep(fn: string, s: unknown): number {
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw typeError(fn, 'step', 'an integer >= 0', s);
  return s;
}

export function constant(): Schedule {
  return (s, baseLr) => {
    checkStep('constant schedule', s);
    return baseLr;
  };
}

export function step(stepSize: number, gamma = 0.1): Schedule {
  if (typeof stepSize !== 'number' || !Number.isInteger(stepSize) || stepSize < 1) throw typeError('step schedule', 'stepSize', 'an integer >= 1', stepSize);
  num('step schedule', 'gamma', gamma, 0);
  return (s, baseLr) => baseLr * Math.pow(gamma, Math.floor(checkStep('step schedule', s) / stepSize));
}

export interface CosineOptions {
  /** Steps of linear warmup from baseLr/warmup up to baseLr (default 0). */
  warmup?: number;
  /** The floor the cosine decays to (default 0). */
  minLr?: number;
}

export function cosine(total: number, opts: CosineOptions = {}): Schedule {
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 1) throw typeError('cosine schedule', 'total', 'an integer >= 1', total);
  const warmup = opts.warmup ?? 0;
  if (typeof warmup !== 'number' || !Number.isInteger(warmup) || warmup < 0) throw typeError('cosine schedule', 'warmup', 'an integer >= 0', warmup);
  const minLr = num('cosine schedule', 'minLr', opts.minLr ?? 0, 0);
  return (s, baseLr) => {
    checkStep('cosine schedule', s);
    if (s < warmup) return (baseLr * (s + 1)) / warmup;
    const p = Math.min(1, (s - warmup) / Math.max(1, total - warmup));
    return minLr + ((baseLr - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
  };
}

export interface LRSchedulerState {
  step: number;
  baseLr: number;
}

export class LRScheduler {
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  baseLr: number;
  private _step = 0;

  constructor(optimizer: Optimizer, schedule: Schedule, baseLr?: number) {
    if (!optimizer || typeof (optimizer as Optimizer).step !== 'function') throw typeError('LRScheduler', 'optimizer', 'an Optimizer', optimizer);
    if (typeof schedule !== 'function') throw typeError('LRScheduler', 'schedule', 'a schedule function', schedule);
    this.optimizer = optimizer;
    this.schedule = schedule;
    this.baseLr = num('LRScheduler', 'baseLr', baseLr ?? optimizer.lr, 0);
    this.apply();
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this._step;
  }

  /** The learning rate in effect now. */
  get lr(): number {
    return this.optimizer.lr;
  }

  /** Advances one step and sets the optimizer's learning rate; returns it. */
  step(): number {
    this._step++;
    return this.apply();
  }

  private apply(): number {
    const lr = this.schedule(this._step, this.baseLr);
    this.optimizer.lr = lr;
    return lr;
  }

  stateDict(): LRSchedulerState {
    return { step: this._step, baseLr: this.baseLr };
  }

  loadStateDict(s: LRSchedulerState): void {
    checkStep('LRScheduler.loadStateDict', s?.step);
    this.baseLr = num('LRScheduler.loadStateDict', 'baseLr', s.baseLr, 0);
    this._step = s.step;
    this.apply();
  }
}
