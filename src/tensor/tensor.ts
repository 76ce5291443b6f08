/**
 * Tensor: a shaped, typed view of a Storage on a backend, plus the autograd fields.
 *
 * Row-major, contiguous always (views share storage only where the layout allows: reshape,
 * leading-axis rows). float32 is the working type; int32 holds labels and uint8 holds frames.
 * A tensor's elements are a buffer of its backend (`_buf`); on a host-addressable backend ('cpu')
 * that buffer is also `_data`, the typed array data()/f32() hand out. Math lives in src/ops, which
 * also attaches the fluent methods (x.add(y), x.reshape(...)); backward() is attached by
 * src/autograd. This layer imports neither: backend <- tensor <- autograd <- ops.
 */
import { fmtShape, typeError } from '../errors';
import type { Backend, Buffer } from '../backend/backend';
import { cpuBackend } from '../backend/cpu_backend';
import { AnyTypedArray, Device, DType, Storage, allocate, allocateUninit, bytesPerElement, countTensor } from './memory';
import { keep, trackTensor } from './scope';

/** A node of the autograd tape: how to turn the output's gradient into the inputs' gradients. */
export interface GradFn {
  name: string;
  inputs: Tensor[];
  /** One entry per input: its gradient, or null where the input needs none. */
  backward(gradOutput: Tensor): (Tensor | null | undefined)[];
}

let nextId = 1;
const EMPTY = new Float32Array(0);

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
  /** The backend holding the elements (Module.to / _moveTo may change it). */
  _backend: Backend;
  /** The storage this tensor holds a reference to (shared by views). */
  _storage: Storage;
  /** This tensor's elements as a buffer of its backend (the whole storage or a view of it). */
  _buf: Buffer;
  /** The host typed array of the elements on a host-addressable backend (empty elsewhere); read it through _data. */
  private _host: AnyTypedArray;
  /**
   * The same elements as a host typed array on a host-addressable backend; empty elsewhere.
   * Reading it marks the storage exposed: an array handed out may be read after the tensor is
   * disposed, so that memory is never reused (src/backend/host_arrays.ts).
   */
  get _data(): AnyTypedArray {
    this._storage.exposed = true;
    return this._host;
  }
  set _data(a: AnyTypedArray) {
    this._host = a;
  }
  _gradFn: GradFn | null = null;
  _disposed = false;
  private _requiresGrad = false;
  grad: Tensor | null = null;
  /** Optional name used in error messages and state dicts. */
  name?: string;

  /**
   * Internal: use wk.tensor / wk.zeros / ... to create tensors. `buf` is a buffer of `backend`
   * (a typed array for 'cpu'); `storage` is the storage it views (a new one owning buf if absent).
   */
  constructor(shape: number[], dtype: DType, buf: Buffer, storage?: Storage, backend: Backend = cpuBackend) {
    this.shape = shape;
    this.dtype = dtype;
    this._backend = backend;
    this._buf = buf;
    this._host = backend.hostAddressable ? (buf as AnyTypedArray) : EMPTY;
    this._storage = storage ?? new Storage(backend, buf, shapeSize(shape) * bytesPerElement(dtype));
    this._storage.retain();
    countTensor(backend.name, 1);
    trackTensor(this);
  }

  /** A zero-filled host ('cpu') tensor. */
  static empty(shape: number[], dtype: DType = 'float32'): Tensor {
    return new Tensor(shape, dtype, allocate(dtype, shapeSize(shape)));
  }

  /** A float32 host tensor with undefined contents, for a kernel that writes every element. */
  static uninit(shape: number[]): Tensor {
    return new Tensor(shape, 'float32', allocateUninit(shapeSize(shape)));
  }

  /** A tensor on `backend`: zero-filled when `zero`, else for a kernel that writes every element. */
  static on(backend: Backend, shape: number[], dtype: DType = 'float32', zero = false, fn = 'tensor'): Tensor {
    return new Tensor(shape, dtype, backend.alloc(dtype, shapeSize(shape), zero, fn), undefined, backend);
  }

  /** The device name of the backend holding the elements ('cpu', 'cuda', ...). */
  get device(): Device {
    return this._backend.name;
  }
  get size(): number {
    return shapeSize(this.shape);
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

  /** This live tensor's buffer, for a kernel; `fn` and `arg` name the caller in the errors. */
  buf(fn = 'tensor', arg = 'tensor'): Buffer {
    if (this._disposed) throw new Error(`${fn}: ${arg} ${this.describe()} was disposed`);
    return this._buf;
  }

  /** The raw host elements (no copy). Throws if disposed or not in host memory. */
  data(fn = 'tensor'): AnyTypedArray {
    if (this._disposed) throw new Error(`${fn}: tensor ${this.describe()} was disposed`);
    if (!this._backend.hostAddressable) throw notOnHost(fn, 'tensor', this.device);
    return this._data;
  }

  /** The raw float32 host elements (no copy), checking dtype and liveness. */
  f32(fn = 'tensor', arg = 'tensor'): Float32Array {
    if (this._disposed) throw new Error(`${fn}: ${arg} ${this.describe()} was disposed`);
    if (this.dtype !== 'float32') throw new TypeError(`${fn}: ${arg} must be float32, got ${this.dtype}`);
    if (!this._backend.hostAddressable) throw notOnHost(fn, arg, this.device);
    return this._data as Float32Array;
  }

  /** The elements on the host: the tensor's own array where it is host memory, else a copy. */
  hostData(fn = 'tensor'): AnyTypedArray {
    return this._backend.hostAddressable ? this.data(fn) : this.dataSync();
  }

  /** The float32 elements on the host: the tensor's own array where it is host memory, else a copy. */
  hostF32(fn = 'tensor', arg = 'tensor'): Float32Array {
    if (this._backend.hostAddressable) return this.f32(fn, arg);
    if (this.dtype !== 'float32') throw new TypeError(`${fn}: ${arg} must be float32, got ${this.dtype}`);
    return this.toFloat32Array();
  }

  describe(): string {
    return `${this.name ? this.name + ' ' : ''}${fmtShape(this.shape)} ${this.dtype}`;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this._disposed ? ', disposed' : ''})`;
  }

  /** A copy of the elements in the tensor's own typed array type, on the host. */
  dataSync(): AnyTypedArray {
    const fn = 'dataSync';
    const out = allocate(this.dtype, this.size);
    this._backend.download(this.buf(fn), out, fn);
    return out;
  }

  /** A copy of the elements as a Float32Array. */
  toFloat32Array(): Float32Array {
    const d = this.dataSync();
    return d instanceof Float32Array ? d : Float32Array.from(d);
  }

  /** Nested JS arrays in the tensor's shape (a number for a scalar). */
  toArray(): unknown {
    const d = this.dataSync();
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
    if (this.size !== 1) throw new RangeError(`item: tensor must have exactly one element, got shape ${fmtShape(this.shape)}`);
    return this.dataSync()[0];
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

  /** Internal: a tensor of `shape` over elements [offset, offset + size) of this one's storage (not recorded). */
  _viewAt(shape: number[], offset: number, fn = 'view'): Tensor {
    const v = this._backend.view(this.buf(fn), this.dtype, offset, shapeSize(shape), fn);
    return new Tensor(shape, this.dtype, v, this._storage, this._backend);
  }

  /** A tensor sharing this one's storage, cut from the tape. */
  detach(): Tensor {
    return this._viewAt(this.shape.slice(), 0, 'detach');
  }

  /** Clears the gradient. */
  zeroGrad(): void {
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }
}

function notOnHost(fn: string, arg: string, device: string): Error {
  return new Error(`${fn}: ${arg} is on '${device}', whose elements are not host memory; this needs a 'cpu' tensor (move it with .to('cpu'))`);
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

export { keep };
