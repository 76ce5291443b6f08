/** Tensor creation: from values, constants, and seeded random draws. */
import { checkInt, checkNumber, checkNumel, checkShape, describeValue, fmtShape, MAX_ELEMENTS, rangeError, typeError } from '../errors';
import { Generator, getDefaultGenerator } from '../random/generator';
import { AnyTypedArray, DType, Device, allocate } from './memory';
import { Tensor, shapeSize } from './tensor';
import { backendFor, moveInPlace } from './placement';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  /** A seed (a fresh generator) or a generator to draw from; default: the global generator. */
  seed?: number;
  generator?: Generator;
}

let defaultDevice: Device = 'cpu';

/** The device tensors are created on when none is named. */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

export function setDefaultDevice(device: Device): void {
  backendFor('setDefaultDevice', device);
  defaultDevice = device;
}

function finish(t: Tensor, fn: string, opts?: CreateOptions): Tensor {
  const named = opts?.device !== undefined;
  const backend = backendFor(fn, named ? opts!.device : defaultDevice);
  if (backend !== t._backend) {
    // Made on the CPU (same values, same random draws), then moved. A backend that cannot hold the
    // dtype (int32 labels, uint8 frames on 'cuda') leaves the tensor on the CPU under a default
    // device, and refuses it when the device was named.
    if (!backend.dtypes.includes(t.dtype)) {
      if (named) {
        t.dispose();
        throw new TypeError(`${fn}: only ${backend.dtypes.join('/')} tensors can be on '${backend.name}' yet, got ${t.dtype}`);
      }
    } else moveInPlace(t, backend.name, fn);
  }
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

function checkDtype(fn: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'uint8') return dtype;
  throw typeError(fn, 'dtype', "'float32', 'int32' or 'uint8'", dtype);
}

function inferShape(values: unknown, fn: string): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function flattenInto(values: unknown, shape: number[], dim: number, out: number[], fn: string): void {
  if (dim === shape.length) {
    if (typeof values !== 'number' && typeof values !== 'boolean')
      throw new TypeError(`${fn}: values must be numbers, got ${describeValue(values)}`);
    out.push(Number(values));
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[dim])
    throw rangeError(fn, `values are ragged: expected ${shape[dim]} entries at depth ${dim}, got ${describeValue(values)}`);
  for (const v of values) flattenInto(v, shape, dim + 1, out, fn);
}

/**
 * A tensor from a number, nested arrays or a typed array. `shape` is required for flat data
 * that should not be 1-D. The data is copied.
 */
export function tensor(values: number | number[] | unknown[] | AnyTypedArray | ArrayLike<number>, shape?: number[], opts: CreateOptions = {}): Tensor {
  const fn = 'tensor';
  const dtype = checkDtype(fn, opts.dtype ?? (values instanceof Int32Array ? 'int32' : values instanceof Uint8Array ? 'uint8' : 'float32'));
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === 'number') {
    flat = [values];
    inferred = [];
  } else if (ArrayBuffer.isView(values)) {
    flat = values as unknown as ArrayLike<number>;
    inferred = [flat.length];
  } else if (Array.isArray(values)) {
    inferred = inferShape(values, fn);
    const out: number[] = [];
    flattenInto(values, inferred, 0, out, fn);
    flat = out;
  } else {
    throw typeError(fn, 'values', 'a number, an array or a typed array', values);
  }
  const finalShape = shape === undefined ? inferred : checkShape(fn, 'shape', shape);
  checkNumel(fn, 'shape', finalShape);
  if (shapeSize(finalShape) !== flat.length)
    throw rangeError(fn, `shape ${fmtShape(finalShape)} needs ${shapeSize(finalShape)} values, got ${flat.length}`);
  const data = allocate(dtype, flat.length);
  data.set(flat as ArrayLike<number>);
  if (dtype === 'float32' && opts.requiresGrad) {
    for (let i = 0; i < data.length; ++i)
      if (Number.isNaN(data[i])) throw rangeError(fn, `values[${i}] is NaN`);
  }
  return finish(new Tensor(finalShape, dtype, data), fn, opts);
}

/** full() under the name of the function the user called (zeros, ones, ...), for its errors. */
function fillAs(fn: string, shape: number[], value: number, opts: CreateOptions): Tensor {
  const s = checkShape(fn, 'shape', shape);
  if (typeof value !== 'number') throw typeError(fn, 'value', 'a number', value);
  const dtype = checkDtype(fn, opts.dtype);
  checkNumel(fn, 'shape', s);
  const t = Tensor.empty(s, dtype);
  if (value !== 0) t._data.fill(value);
  return finish(t, fn, opts);
}

export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor {
  return fillAs('full', shape, value, opts);
}

export function zeros(shape: number[], opts: CreateOptions = {}): Tensor {
  return fillAs('zeros', shape, 0, opts);
}

export function ones(shape: number[], opts: CreateOptions = {}): Tensor {
  return fillAs('ones', shape, 1, opts);
}

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return fillAs('zerosLike', t.shape, 0, { dtype: t.dtype, ...opts });
}

export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return fillAs('onesLike', t.shape, 1, { dtype: t.dtype, ...opts });
}

/** [0, 1, ..., n-1] (float32 unless dtype says otherwise). */
export function arange(n: number, opts: CreateOptions = {}): Tensor {
  checkInt('arange', 'n', n, 0, MAX_ELEMENTS);
  const t = Tensor.empty([n], checkDtype('arange', opts.dtype));
  for (let i = 0; i < n; ++i) t._data[i] = i;
  return finish(t, 'arange', opts);
}

function generatorOf(fn: string, opts: RandomOptions): Generator {
  if (opts.generator !== undefined) {
    if (!(opts.generator instanceof Generator)) throw typeError(fn, 'generator', 'a Generator', opts.generator);
    return opts.generator;
  }
  if (opts.seed !== undefined) return new Generator(opts.seed);
  return getDefaultGenerator();
}

/** Standard normal draws, scaled: N(mean, std^2). */
export function randn(shape: number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = checkShape('randn', 'shape', shape);
  checkNumel('randn', 'shape', s);
  if (opts.mean !== undefined) checkNumber('randn', 'mean', opts.mean);
  if (opts.std !== undefined) checkNumber('randn', 'std', opts.std, 0);
  const t = Tensor.empty(s);
  generatorOf('randn', opts).fillNormal(t._data as Float32Array, opts.mean ?? 0, opts.std ?? 1);
  return finish(t, 'randn', opts);
}

/** Uniform draws in [low, high). */
export function rand(shape: number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape('rand', 'shape', shape);
  checkNumel('rand', 'shape', s);
  if (opts.low !== undefined) checkNumber('rand', 'low', opts.low);
  if (opts.high !== undefined) checkNumber('rand', 'high', opts.high);
  const t = Tensor.empty(s);
  generatorOf('rand', opts).fillUniform(t._data as Float32Array, opts.low ?? 0, opts.high ?? 1);
  return finish(t, 'rand', opts);
}
