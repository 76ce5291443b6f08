/**
 * Scheduled sampling (Bengio et al., 2015): the probability pTrue of feeding the true latent
 * (rather than the model's own prediction) decays over training.
 *   constant:        pTrue = start
 *   linear:          from start to end over `epochs`
 *   exponential:     start * k^epoch, floored at end (k = (end/start)^(1/(epochs-1)) unless given)
 *   inverse-sigmoid: k / (k + exp(epoch / k)), rescaled to [end, start] (the paper's form)
 */
import { checkNumber, typeError } from '../errors';

export type SamplingDecay = 'constant' | 'linear' | 'exponential' | 'inverse-sigmoid';

export interface SamplingSchedule {
  decay: SamplingDecay;
  /** pTrue at epoch 0 (default 1). */
  start?: number;
  /** pTrue reached at the last epoch (default 0). */
  end?: number;
  /** Epochs over which to decay (default: the run's epochs). */
  epochs?: number;
  /** Rate: base of the exponential, or k of the inverse sigmoid (default 5). */
  k?: number;
}

export function pTrueAt(schedule: SamplingSchedule, epoch: number, totalEpochs: number): number {
  const start = checkNumber('pTrueAt', 'start', schedule.start ?? 1, 0, 1);
  const end = checkNumber('pTrueAt', 'end', schedule.end ?? 0, 0, 1);
  const n = Math.max(1, schedule.epochs ?? totalEpochs);
  const last = Math.max(1, n - 1);
  const e = Math.min(epoch, last);
  switch (schedule.decay) {
    case 'constant':
      return start;
    case 'linear':
      return start + (end - start) * (e / last);
    case 'exponential': {
      const floor = Math.max(end, 1e-6);
      const k = schedule.k ?? Math.pow(floor / Math.max(start, 1e-6), 1 / last);
      return Math.max(end, start * Math.pow(k, e));
    }
    case 'inverse-sigmoid': {
      const k = schedule.k ?? 5;
      // Normalised so epoch 0 gives start and the last epoch gives end.
      const f = (x: number) => k / (k + Math.exp(x / k));
      const scale = (x: number) => (f(x * (k * 4 / last)) - f(k * 4)) / (f(0) - f(k * 4));
      return end + (start - end) * scale(e);
    }
    default:
      throw typeError('pTrueAt', 'schedule.decay', "'constant', 'linear', 'exponential' or 'inverse-sigmoid'", schedule.decay);
  }
}
