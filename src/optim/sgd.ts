/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch semantics). */
import { rangeError } from '../errors';
import { native } from '../backend/native';
import { Optimizer, ParamState, ParamsLike } from './optimizer';
import { num } from './util';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  protected readonly typeName = 'SGD';
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;

  constructor(params: ParamsLike, opts: SGDOptions) {
    super('SGD', params, opts?.lr);
    this.momentum = num('SGD', 'momentum', opts.momentum ?? 0, 0);
    this.dampening = num('SGD', 'dampening', opts.dampening ?? 0, 0, 1);
    this.weightDecay = num('SGD', 'weightDecay', opts.weightDecay ?? 0, 0);
    this.nesterov = !!opts.nesterov;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw rangeError('SGD', `nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
  }

  protected initState(n: number): ParamState {
    return this.momentum !== 0 ? { step: 0, momentumBuffer: new Float32Array(n) } : { step: 0 };
  }

  protected update(p: Float32Array, g: Float32Array, s: ParamState): void {
    const first = s.step === 0;
    native.sgdStep(p, g, (s.momentumBuffer as Float32Array | undefined) ?? null, this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov, first);
    s.step = (s.step as number) + 1;
  }

  protected options() {
    return { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
}
