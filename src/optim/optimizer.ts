/**
 * Optimizer base: a list of parameters, per-parameter state (numbers, and tensors on the
 * parameter's backend), fused updates by the backend's kernels (cpp/optim.cpp, cuda/optim.cu).
 * step() skips frozen parameters (Parameter.frozen) and those whose grad is null. stateDict() is
 * plain JSON plus Float32Arrays (copies on the host), so a checkpoint stores it exactly and
 * loadStateDict() continues bit-identically on any device.
 */
import { fmtShape, typeError } from '../errors';
import { Tensor, isTensor, keep } from '../tensor/tensor';
import { moveInPlace } from '../tensor/placement';

/** One parameter's state: numbers (step counts) and tensors on the parameter's device (moments, buffers). */
export type ParamState = Record<string, number | Tensor>;
/** A parameter's state as a state dict holds it: numbers and host Float32Arrays. */
export type SavedParamState = Record<string, number | Float32Array>;

export interface OptimizerStateDict {
  type: string;
  lr: number;
  options: Record<string, number | boolean | number[]>;
  /** One entry per parameter, in the order given to the constructor (null: no state yet). */
  state: (SavedParamState | null)[];
}

/** Anything with parameters() (a Module) or an iterable of tensors. */
export type ParamsLike = Iterable<Tensor> | { parameters(): Tensor[] };

export abstract class Optimizer {
  readonly params: Tensor[];
  protected readonly state: (ParamState | null)[];
  private _lr: number;
  /** Name used in error messages and the state dict. */
  protected abstract readonly typeName: string;

  constructor(fn: string, params: ParamsLike, lr: number) {
    let list: unknown;
    if (params && typeof (params as { parameters?: unknown }).parameters === 'function')
      list = (params as { parameters(): Tensor[] }).parameters();
    else if (params && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function') list = [...(params as Iterable<Tensor>)];
    else throw typeError(fn, 'params', 'an array of tensors or a Module', params);
    const arr = list as unknown[];
    arr.forEach((p, i) => {
      if (!isTensor(p)) throw typeError(fn, `params[${i}]`, 'a Tensor', p);
      if (p.dtype !== 'float32') throw new TypeError(`${fn}: params[${i}] must be float32, got ${p.dtype}`);
    });
    if (new Set(arr).size !== arr.length) throw new RangeError(`${fn}: params contains the same tensor twice`);
    this.params = arr as Tensor[];
    this.state = this.params.map(() => null);
    this._lr = Optimizer.checkLr(fn, lr);
  }

  static checkLr(fn: string, lr: unknown): number {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw typeError(fn, 'lr', 'a finite number >= 0', lr);
    return lr;
  }

  get lr(): number {
    return this._lr;
  }
  set lr(v: number) {
    this._lr = Optimizer.checkLr(`${this.typeName}.lr`, v);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) if (!p.isDisposed) p.zeroGrad();
  }

  /** Applies one update to every parameter that is not frozen and has a gradient. */
  step(): void {
    const fn = `${this.typeName}.step`;
    for (let i = 0; i < this.params.length; ++i) {
      const p = this.params[i];
      if (p.isDisposed) throw new Error(`${fn}: params[${i}] ${p.describe()} was disposed`);
      if ((p as { frozen?: boolean }).frozen) continue;
      const g = p.grad;
      if (!g) continue;
      if (p._backend !== g._backend) throw new Error(`${fn}: params[${i}] is on '${p.device}' but its grad is on '${g.device}'`);
      if (g.size !== p.size)
        throw new RangeError(`${fn}: params[${i}] is ${fmtShape(p.shape)} but its grad is ${fmtShape(g.shape)}`);
      p.buf(fn, `params[${i}]`);
      g.buf(fn, `params[${i}].grad`);
      let s = this.state[i];
      if (!s) s = this.state[i] = this.stateOn(p, this.initState(p.size));
      else for (const v of Object.values(s)) if (isTensor(v) && v._backend !== p._backend) moveInPlace(v, p.device, fn); // the parameter moved (Module.to)
      this.update(p, g, s);
    }
  }

  /** A saved state's arrays as tensors on p's device (kept out of tidy scopes). */
  private stateOn(p: Tensor, saved: SavedParamState): ParamState {
    const out: ParamState = {};
    for (const [k, v] of Object.entries(saved)) {
      if (!(v instanceof Float32Array)) {
        out[k] = v;
        continue;
      }
      const t = keep(new Tensor(p.shape.slice(), 'float32', v));
      if (p._backend !== t._backend) moveInPlace(t, p.device, `${this.typeName}.state`);
      out[k] = t;
    }
    return out;
  }

  /** The initial state of a parameter of n elements (zero Float32Arrays and numbers). */
  protected abstract initState(n: number): SavedParamState;
  /** One update of p from g, on their backend, advancing s. */
  protected abstract update(p: Tensor, g: Tensor, s: ParamState): void;
  protected abstract options(): Record<string, number | boolean | number[]>;

  /** A snapshot (copies) of the optimizer's state: JSON values plus Float32Arrays. */
  stateDict(): OptimizerStateDict {
    return {
      type: this.typeName,
      lr: this._lr,
      options: this.options(),
      state: this.state.map((s) => {
        if (!s) return null;
        const c2: SavedParamState = {};
        for (const [k, v] of Object.entries(s)) c2[k] = isTensor(v) ? v.toFloat32Array() : v;
        return c2;
      }),
    };
  }

  /** Restores a stateDict() of the same optimizer type over the same parameter shapes. */
  loadStateDict(sd: OptimizerStateDict): void {
    const fn = `${this.typeName}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.state)) throw typeError(fn, 'stateDict', 'an optimizer state dict', sd);
    if (sd.type !== this.typeName) throw new TypeError(`${fn}: the state dict is for ${String(sd.type)}, not ${this.typeName}`);
    if (sd.state.length !== this.params.length)
      throw new RangeError(`${fn}: the state dict has ${sd.state.length} parameters, this optimizer has ${this.params.length}`);
    const fresh: (SavedParamState | null)[] = sd.state.map((s, i) => {
      if (s === null || s === undefined) return null;
      const want = this.initState(this.params[i].size);
      const c: SavedParamState = {};
      for (const [k, v] of Object.entries(want)) {
        const src = (s as SavedParamState)[k];
        if (v instanceof Float32Array) {
          if (!(src instanceof Float32Array) || src.length !== v.length)
            throw new RangeError(`${fn}: state[${i}].${k} must be a Float32Array of ${v.length} elements, got ${describe(src)}`);
          c[k] = src.slice();
        } else {
          if (typeof src !== 'number' || !Number.isFinite(src)) throw typeError(fn, `state[${i}].${k}`, 'a finite number', src);
          c[k] = src;
        }
      }
      return c;
    });
    this.lr = sd.lr;
    this.loadOptions(sd.options ?? {});
    for (let i = 0; i < fresh.length; ++i) {
      const old = this.state[i];
      if (old) for (const v of Object.values(old)) if (isTensor(v)) v.dispose();
      const f = fresh[i];
      this.state[i] = f ? this.stateOn(this.params[i], f) : null;
    }
  }

  protected loadOptions(_o: Record<string, unknown>): void {}

  /**
   * Frees the state's tensors (moments, buffers) and forgets them: the next step starts afresh.
   * On a device whose memory is not garbage-collected ('cuda') a finished trainer calls this, so
   * each training call does not leave its optimizer state allocated.
   */
  disposeState(): void {
    for (let i = 0; i < this.state.length; ++i) {
      const s = this.state[i];
      if (s) for (const v of Object.values(s)) if (isTensor(v) && !v.isDisposed) v.dispose();
      this.state[i] = null;
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof Float32Array) return `Float32Array(${v.length})`;
  return typeof v;
}
