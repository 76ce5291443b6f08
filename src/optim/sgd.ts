/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch semantics). */
import { rangeError } from '../errors';
import { Optimizer, ParamState, ParamsLike, SavedParamState } from './optimizer';
import { num } from './util';
import type { Tensor } from '../tensor/tensor';

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

  protected initState(n: number): SavedParamState {
    return this.momentum !== 0 ? { step: 0, momentumBuffer: new Float32Array(n) } : { step: 0 };
  }

  protected update(p: Tensor, g: Tensor, s: ParamState): void {
    const first = s.step === 0;
    const buf = (s.momentumBuffer as Tensor | undefined) ?? null;
    p._backend.sgdStep(p._buf, g._buf, buf ? buf._buf : null, p.size, this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov, first);
    s.step = (s.step as number) + 1;
  }

  protected options() {
    return { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
}
