/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch semantics). */
import { rangeError } from '../errors';
import { native } from '../backend/native';
import { Optimizer, OptimizerStateDict, ParamState, ParamsLike } from './optimizer';
import { num } from './util';
import { Tensor, keep } from '../tensor/tensor';
import { cudaEmpty, cudaFrom, download } from '../tensor/device';
import { sgdStep as cudaSgdStep } from '../ops/cuda_ops';

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

  /** State of 'cuda' parameters, on the device (one fused kernel per parameter and step). */
  private readonly deviceState = new Map<number, { step: number; buf: Tensor | null }>();

  protected override updateDevice(i: number, p: Tensor, g: Tensor, fn: string): void {
    let s = this.deviceState.get(i);
    if (!s) {
      s = { step: 0, buf: this.momentum !== 0 ? keep(cudaEmpty(p.shape.slice(), fn)) : null };
      this.deviceState.set(i, s);
    }
    if (this.momentum !== 0 && !s.buf) s.buf = keep(cudaEmpty(p.shape.slice(), fn));
    cudaSgdStep(fn, p, g, this.momentum !== 0 ? s.buf : null, this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov, s.step === 0);
    s.step += 1;
  }

  /** As for CPU parameters; the state of 'cuda' parameters is copied to the host. */
  override stateDict(): OptimizerStateDict {
    const sd = super.stateDict();
    for (const [i, s] of this.deviceState) {
      const c: ParamState = { step: s.step };
      if (s.buf) c.momentumBuffer = download(s.buf, `${this.typeName}.stateDict`);
      sd.state[i] = c;
    }
    return sd;
  }

  /** As for CPU parameters; the state of parameters on 'cuda' goes to the device. */
  override loadStateDict(sd: OptimizerStateDict): void {
    super.loadStateDict(sd);
    for (const s of this.deviceState.values()) s.buf?.dispose();
    this.deviceState.clear();
    this.params.forEach((p, i) => {
      const s = this.state[i];
      if (p.device !== 'cuda' || !s) return;
      const buf = s.momentumBuffer instanceof Float32Array ? keep(cudaFrom(p.shape.slice(), s.momentumBuffer, `${this.typeName}.loadStateDict`)) : null;
      this.deviceState.set(i, { step: s.step as number, buf });
      this.state[i] = null;
    });
  }

  protected options() {
    return { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
}
