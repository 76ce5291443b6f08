/**
 * Tensor: a shaped, typed view of a Storage, plus the autograd fields.
 *
 * Row-major, contiguous always (views share storage only where the layout allows: reshape,
 * leading-axis rows). float32 is the working type; int32 holds labels and uint8 holds frames.
 * Math is in src/ops/*; the methods here are the fluent spellings of those functions.
 */
import { fmtShape, typeError } from '../errors';
import { isGradEnabled } from '../autograd/grad_mode';
import { AnyTypedArray, Device, DType, Storage, allocate, allocateUninit, countTensor } from './memory';
import { keep, trackTensor } from './scope';
import * as elementwise from '../ops/elementwise';
import * as reduce from '../ops/reduce';
import * as matmulOps from '../ops/matmul';
import * as shapeOps from './shape_ops';
import { runBackward } from '../autograd/engine';
import type { DeviceHandle } from '../backend/cuda';
import * as deviceOps from './device';

/** A node of the autograd tape: how to turn the output's gradient into the inputs' gradients. */
export interface GradFn {
  name: string;
  inputs: Tensor[];
  /** One entry per input: its gradient, or null where the input needs none. */
  backward(gradOutput: Tensor): (Tensor | null | undefined)[];
}

let nextId = 1;

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  readonly _isTensor = true;
  readonly id = nextId++;
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: Device;
  /** The storage this tensor holds a reference to (shared by views). */
  _storage: Storage;
  /** The elements this tensor covers: the whole storage, or a subarray of it for row views. */
  _data: AnyTypedArray;
  _gradFn: GradFn | null = null;
  _disposed = false;
  private _requiresGrad = false;
  grad: Tensor | null = null;
  /** Optional name used in error messages and state dicts. */
  name?: string;
  /** 'cuda' tensors: the device buffer of this tensor's elements (a view of the storage's). */
  _dev: DeviceHandle | null = null;

  /** Internal: use wk.tensor / wk.zeros / ... to create tensors. */
  constructor(shape: number[], dtype: DType, data: AnyTypedArray, storage?: Storage, device: Device = 'cpu', dev?: DeviceHandle) {
    if (dev) this._dev = dev;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    this._storage = storage ?? new Storage(data, device);
    this._storage.retain();
    this._data = data;
    countTensor(device, 1);
    trackTensor(this);
  }

  /** Allocates an uninitialized-by-contract (zero-filled) tensor. */
  static empty(shape: number[], dtype: DType = 'float32'): Tensor {
    return new Tensor(shape, dtype, allocate(dtype, shapeSize(shape)));
  }

  /** A float32 tensor with undefined contents, for a kernel that writes every element. */
  static uninit(shape: number[]): Tensor {
    return new Tensor(shape, 'float32', allocateUninit(shapeSize(shape)));
  }

  get size(): number {
    return this._dev === null ? this._data.length : shapeSize(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && this.dtype !== 'float32')
      throw new TypeError(`requiresGrad: only float32 tensors can require gradients, this one is ${this.dtype}`);
    this._requiresGrad = on;
  }

  /** Marks this tensor as a leaf that collects gradients; returns this. */
  requireGrad(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** The raw elements (no copy). Throws if disposed. `fn` names the caller in the error. */
  data(fn = 'tensor'): AnyTypedArray {
    if (this._disposed) throw new Error(`${fn}: tensor ${this.describe()} was disposed`);
    if (this._dev !== null) throw deviceOps.unsupported(fn, 'tensor');
    return this._data;
  }

  /** The raw float32 elements (no copy), checking dtype and liveness. */
  f32(fn = 'tensor', arg = 'tensor'): Float32Array {
    if (this._disposed) throw new Error(`${fn}: ${arg} ${this.describe()} was disposed`);
    if (this.dtype !== 'float32') throw new TypeError(`${fn}: ${arg} must be float32, got ${this.dtype}`);
    if (this._dev !== null) throw deviceOps.unsupported(fn, arg);
    return this._data as Float32Array;
  }

  describe(): string {
    return `${this.name ? this.name + ' ' : ''}${fmtShape(this.shape)} ${this.dtype}`;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this._disposed ? ', disposed' : ''})`;
  }

  /** A copy of the elements as a Float32Array. */
  toFloat32Array(): Float32Array {
    if (this._dev !== null) return deviceOps.download(this, 'toFloat32Array');
    const d = this.data('toFloat32Array');
    return d instanceof Float32Array ? d.slice() : Float32Array.from(d);
  }

  /** A copy of the elements in the tensor's own typed array type. */
  dataSync(): AnyTypedArray {
    if (this._dev !== null) return deviceOps.download(this, 'dataSync');
    return this.data('dataSync').slice();
  }

  /** Nested JS arrays in the tensor's shape (a number for a scalar). */
  toArray(): unknown {
    const d = this._dev !== null ? deviceOps.download(this, 'toArray') : this.data('toArray');
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return d[off];
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; ++i) out.push(build(dim + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this._dev !== null && this.size !== 1) throw new RangeError(`item: tensor must have exactly one element, got shape ${fmtShape(this.shape)}`);
    const d = this._dev !== null ? deviceOps.download(this, 'item') : this.data('item');
    if (d.length !== 1) throw new RangeError(`item: tensor must have exactly one element, got shape ${fmtShape(this.shape)}`);
    return d[0];
  }

  /** Releases this tensor's reference to its storage. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._gradFn = null;
    countTensor(this.device, -1);
    this._storage.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** A tensor sharing this one's storage, cut from the tape. */
  detach(): Tensor {
    if (this._dev !== null) return deviceOps.devView(this, this.shape.slice(), 0, 'detach');
    const t = new Tensor(this.shape.slice(), this.dtype, this.data('detach'), this._storage, this.device);
    return t;
  }

  /** A deep copy (recorded on the tape). */
  clone(): Tensor {
    return shapeOps.clone(this);
  }

  /** Internal: a new tensor viewing `data` (a subarray of this storage) with `shape`. */
  _view(shape: number[], data: AnyTypedArray): Tensor {
    return new Tensor(shape, this.dtype, data, this._storage, this.device);
  }

  /**
   * This tensor on `device`: itself when it is already there, else a copy (recorded on the tape:
   * the gradient flows back to this device). 'cuda' needs cudaStatus().available (or the
   * emulation, WORLDKIT_CUDA_EMULATE=1).
   */
  to(device: Device): Tensor {
    return deviceOps.toDevice(this, device);
  }

  /** Internal: moves this tensor's elements (and its grad) to `device` in place (Module.to). */
  _moveTo(device: Device, fn = 'to'): void {
    deviceOps.moveInPlace(this, device, fn);
  }

  /** Clears the gradient. */
  zeroGrad(): void {
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /**
   * Back-propagates from this tensor. A scalar needs no seed gradient; any other shape needs
   * `gradient` of the same shape. Gradients accumulate into `.grad` of leaves that require them.
   */
  backward(gradient?: Tensor): void {
    runBackward(this, gradient);
  }

  // ---- shape ------------------------------------------------------------------------------
  reshape(...shape: (number | number[])[]): Tensor {
    return shapeOps.reshape(this, shape.flat());
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return shapeOps.flatten(this, startDim, endDim);
  }
  slice(begin: number[], size?: number[]): Tensor {
    return shapeOps.slice(this, begin, size);
  }
  /** Element i along axis 0 (a view sharing storage; recorded on the tape). */
  index(i: number): Tensor {
    return shapeOps.index(this, i);
  }
  permute(...dims: (number | number[])[]): Tensor {
    return shapeOps.permute(this, dims.flat());
  }
  transpose(dim0 = 0, dim1 = 1): Tensor {
    return shapeOps.transpose(this, dim0, dim1);
  }
  squeeze(axis?: number): Tensor {
    return shapeOps.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return shapeOps.unsqueeze(this, axis);
  }

  // ---- math (src/ops) -----------------------------------------------------------------------
  add(b: Tensor | number): Tensor {
    return elementwise.add(this, b);
  }
  sub(b: Tensor | number): Tensor {
    return elementwise.sub(this, b);
  }
  mul(b: Tensor | number): Tensor {
    return elementwise.mul(this, b);
  }
  div(b: Tensor | number): Tensor {
    return elementwise.div(this, b);
  }
  neg(): Tensor {
    return elementwise.neg(this);
  }
  square(): Tensor {
    return elementwise.square(this);
  }
  sqrt(): Tensor {
    return elementwise.sqrt(this);
  }
  relu(): Tensor {
    return elementwise.relu(this);
  }
  leakyRelu(slope = 0.01): Tensor {
    return elementwise.leakyRelu(this, slope);
  }
  sigmoid(): Tensor {
    return elementwise.sigmoid(this);
  }
  tanh(): Tensor {
    return elementwise.tanh(this);
  }
  exp(): Tensor {
    return elementwise.exp(this);
  }
  log(): Tensor {
    return elementwise.log(this);
  }
  softplus(): Tensor {
    return elementwise.softplus(this);
  }
  sum(axis?: number | number[], keepDims = false): Tensor {
    return reduce.sum(this, axis, keepDims);
  }
  mean(axis?: number | number[], keepDims = false): Tensor {
    return reduce.mean(this, axis, keepDims);
  }
  matmul(b: Tensor): Tensor {
    return matmulOps.matmul(this, b);
  }
}

export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as { _isTensor?: boolean })._isTensor === true;
}

/** Throws a TypeError unless `v` is a live tensor. */
export function checkTensor(fn: string, arg: string, v: unknown): Tensor {
  if (!isTensor(v)) throw typeError(fn, arg, 'a Tensor', v);
  if (v._disposed) throw new Error(`${fn}: ${arg} ${v.describe()} was disposed`);
  return v;
}

/** Records `out` on the tape when grad mode is on and any input requires grad. Returns out. */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: GradFn['backward']): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out._gradFn = { name, inputs, backward };
  }
  return out;
}

export { keep };
