/**
 * Adam and AdamW (decoupled weight decay), with bias correction, one fused native pass per
 * parameter. Each parameter keeps its own step count (parameters without a gradient on a step
 * are not advanced), as PyTorch does.
 */
import { typeError } from '../errors';
import { Optimizer, ParamState, ParamsLike, SavedParamState } from './optimizer';
import type { Tensor } from '../tensor/tensor';
import { num } from './util';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  protected readonly typeName: string = 'Adam';
  betas: [number, number];
  eps: number;
  weightDecay: number;
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsLike, opts: AdamOptions = {}, name = 'Adam', defaultWeightDecay = 0) {
    super(name, params, opts?.lr ?? 1e-3);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw typeError(name, 'betas', 'a pair of numbers in [0, 1)', betas);
    this.betas = [num(name, 'betas[0]', betas[0], 0, 0.999999999), num(name, 'betas[1]', betas[1], 0, 0.999999999)];
    this.eps = num(name, 'eps', opts.eps ?? 1e-8, 0);
    this.weightDecay = num(name, 'weightDecay', opts.weightDecay ?? defaultWeightDecay, 0);
  }

  protected initState(n: number): SavedParamState {
    return { step: 0, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
  }

  protected update(p: Tensor, g: Tensor, s: ParamState): void {
    const t = (s.step as number) + 1;
    s.step = t;
    const [b1, b2] = this.betas;
    const bc1 = 1 - Math.pow(b1, t);
    const bc2 = 1 - Math.pow(b2, t);
    const m = s.expAvg as Tensor, v = s.expAvgSq as Tensor;
    p._backend.adamStep(p._buf, g._buf, m._buf, v._buf, p.size, this.lr, b1, b2, this.eps, this.weightDecay, this.decoupled, bc1, bc2);
  }

  protected options() {
    return { betas: [this.betas[0], this.betas[1]], eps: this.eps, weightDecay: this.weightDecay };
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr*wd before the Adam step. Default weightDecay 0.01. */
export class AdamW extends Adam {
  protected override readonly typeName: string = 'AdamW';
  protected override readonly decoupled: boolean = true;
  constructor(params: ParamsLike, opts: AdamOptions = {}) {
    super(params, opts, 'AdamW', 0.01);
  }
}
