/**
 * Adam and AdamW (decoupled weight decay), with bias correction, one fused native pass per
 * parameter. Each parameter keeps its own step count (parameters without a gradient on a step
 * are not advanced), as PyTorch does.
 */
import { typeError } from '../errors';
import { native } from '../backend/native';
import { Optimizer, OptimizerStateDict, ParamState, ParamsLike } from './optimizer';
import { Tensor, keep } from '../tensor/tensor';
import { cudaEmpty, cudaFrom, dev, download, handle } from '../tensor/device';
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

  protected initState(n: number): ParamState {
    return { step: 0, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
  }

  protected update(p: Float32Array, g: Float32Array, s: ParamState): void {
    const t = (s.step as number) + 1;
    s.step = t;
    const [b1, b2] = this.betas;
    const bc1 = 1 - Math.pow(b1, t);
    const bc2 = 1 - Math.pow(b2, t);
    native.adamStep(p, g, s.expAvg, s.expAvgSq, this.lr, b1, b2, this.eps, this.weightDecay, this.decoupled, bc1, bc2);
  }

  /** Moments of 'cuda' parameters, on the device (one fused kernel per parameter and step). */
  private readonly deviceMoments = new Map<number, { step: number; m: Tensor; v: Tensor }>();

  protected override updateDevice(i: number, p: Tensor, g: Tensor, fn: string): void {
    let s = this.deviceMoments.get(i);
    if (!s) {
      s = { step: 0, m: keep(cudaEmpty(p.shape.slice(), fn)), v: keep(cudaEmpty(p.shape.slice(), fn)) };
      this.deviceMoments.set(i, s);
    }
    s.step += 1;
    const [b1, b2] = this.betas;
    const bc1 = 1 - Math.pow(b1, s.step);
    const bc2 = 1 - Math.pow(b2, s.step);
    cudaDeviceAdam(fn, p, g, s.m, s.v, this.lr, b1, b2, this.eps, this.weightDecay, this.decoupled, bc1, bc2);
  }

  /** As for CPU parameters; the moments of 'cuda' parameters are copied to the host. */
  override stateDict(): OptimizerStateDict {
    const sd = super.stateDict();
    const fn = `${this.typeName}.stateDict`;
    for (const [i, s] of this.deviceMoments) sd.state[i] = { step: s.step, expAvg: download(s.m, fn), expAvgSq: download(s.v, fn) };
    return sd;
  }

  /** As for CPU parameters; the moments of parameters on 'cuda' go to the device. */
  override loadStateDict(sd: OptimizerStateDict): void {
    super.loadStateDict(sd);
    const fn = `${this.typeName}.loadStateDict`;
    for (const s of this.deviceMoments.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.deviceMoments.clear();
    this.params.forEach((p, i) => {
      const s = this.state[i];
      if (p.device !== 'cuda' || !s) return;
      this.deviceMoments.set(i, {
        step: s.step as number,
        m: keep(cudaFrom(p.shape.slice(), s.expAvg as Float32Array, fn)),
        v: keep(cudaFrom(p.shape.slice(), s.expAvgSq as Float32Array, fn)),
      });
      this.state[i] = null;
    });
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

function cudaDeviceAdam(fn: string, p: Tensor, g: Tensor, m: Tensor, v: Tensor, lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean, bc1: number, bc2: number): void {
  dev(fn).adamStep(handle(p, fn, 'param'), handle(g, fn, 'grad'), handle(m, fn, 'exp_avg'), handle(v, fn, 'exp_avg_sq'), p.size, lr, b1, b2, eps, wd, decoupled, bc1, bc2);
}
