/**
 * 'cuda' tensors: creation on the device, copies between devices, device views, and the checks
 * every op makes before dispatching on the device (src/ops/cuda_ops.ts). A 'cuda' Tensor's
 * `_dev` is a device buffer handle (cuda/device_api.h) onto its elements and its `_data` an empty
 * placeholder, so CPU code that reads `t.f32()` / `t.data()` fails with
 * "<op>: 'cuda' tensors are not supported yet" instead of reading garbage; reading one
 * (toFloat32Array, item, toArray, dataSync) copies it to the host.
 */
import { DeviceApi, cudaDevice } from '../backend/cuda';
import { Device, Storage, allocate, countTensor } from './memory';
import { Tensor, record, shapeSize } from './tensor';

const EMPTY = new Float32Array(0);

export function unsupported(fn: string, arg: string): Error {
  return new Error(`${fn}: 'cuda' tensors are not supported yet (${arg} is on 'cuda')`);
}

/** The device API, or the clear "not available" error naming fn. */
export function dev(fn: string): DeviceApi {
  return cudaDevice(fn);
}

/** The device of an op's tensor arguments (null/undefined skipped); mixed devices throw. */
export function deviceOf(fn: string, args: [string, Tensor | null | undefined][]): Device {
  let first: [string, Tensor] | null = null;
  for (const [name, t] of args) {
    if (!t || !(t as Tensor)._isTensor) continue;
    if (first === null) first = [name, t];
    else if (t.device !== first[1].device)
      throw new Error(`${fn}: ${first[0]} is on '${first[1].device}' but ${name} is on '${t.device}'`);
  }
  return first === null ? 'cpu' : first[1].device;
}

/** A zero-filled float32 'cuda' tensor (a block from the caching allocator). */
export function cudaEmpty(shape: number[], fn = 'tensor'): Tensor {
  const api = dev(fn);
  const bytes = shapeSize(shape) * 4;
  const h = api.alloc(bytes);
  const st = new Storage(EMPTY, 'cuda', h, bytes);
  return new Tensor(shape, 'float32', EMPTY, st, 'cuda', h);
}

/** A 'cuda' tensor holding `values` (copied). */
export function cudaFrom(shape: number[], values: Float32Array, fn = 'tensor'): Tensor {
  const t = cudaEmpty(shape, fn);
  if (values.length) dev(fn).upload(t._dev!, values);
  return t;
}

/** A live 'cuda' tensor's handle (throws if disposed). */
export function handle(t: Tensor, fn: string, arg: string): object {
  if (t._disposed) throw new Error(`${fn}: ${arg} ${t.describe()} was disposed`);
  if (t._dev === null) throw new Error(`${fn}: ${arg} is on '${t.device}', expected 'cuda'`);
  return t._dev;
}

/** The elements of a 'cuda' tensor copied to a new host array. */
export function download(t: Tensor, fn: string): Float32Array {
  const h = handle(t, fn, 'tensor');
  const out = new Float32Array(t.size);
  if (out.length) dev(fn).download(h, out);
  return out;
}

/** A view of `shape` at element `offset` of a 'cuda' tensor's storage (not recorded). */
export function devView(t: Tensor, shape: number[], offset: number, fn: string): Tensor {
  const h = handle(t, fn, 'x');
  const v = dev(fn).view(h, offset * 4, shapeSize(shape) * 4);
  return new Tensor(shape, t.dtype, EMPTY, t._storage, 'cuda', v);
}

function checkTarget(fn: string, device: unknown): Device {
  if (device === 'cpu' || device === 'cuda') return device;
  throw new TypeError(`${fn}: device must be 'cpu' or 'cuda', got ${typeof device === 'string' ? `'${device}'` : String(device)}`);
}

/** The copy of a CPU tensor on 'cuda' (not recorded). */
function upload(t: Tensor, fn: string): Tensor {
  if (t.dtype !== 'float32') throw new TypeError(`${fn}: only float32 tensors can be on 'cuda' yet, got ${t.dtype}`);
  return cudaFrom(t.shape.slice(), t.f32(fn), fn);
}

/** t on `device`: t itself when already there, else a copy recorded on the tape. */
export function toDevice(t: Tensor, device: Device): Tensor {
  const fn = 'to';
  const target = checkTarget(fn, device);
  if (t._disposed) throw new Error(`${fn}: tensor ${t.describe()} was disposed`);
  if (t.device === target) return t;
  const out = target === 'cuda' ? upload(t, fn) : new Tensor(t.shape.slice(), 'float32', download(t, fn));
  const from = t.device;
  return record(out, 'to', [t], (g) => [toDevice(g, from)]);
}

/** Moves t's elements (and its grad) to `device` in place: for parameters (Module.to). */
export function moveInPlace(t: Tensor, device: Device, fn: string): void {
  const target = checkTarget(fn, device);
  if (t._disposed) throw new Error(`${fn}: tensor ${t.describe()} was disposed`);
  if (t.device === target) return;
  if (t._storage.refs !== 1) throw new Error(`${fn}: cannot move ${t.describe()} in place: other tensors view its storage`);
  let storage: Storage;
  let data: Float32Array | Int32Array | Uint8Array = EMPTY;
  let h: object | null = null;
  if (target === 'cuda') {
    if (t.dtype !== 'float32') throw new TypeError(`${fn}: only float32 tensors can be on 'cuda' yet, got ${t.dtype}`);
    const api = dev(fn);
    const bytes = t.size * 4;
    h = api.alloc(bytes);
    if (bytes) api.upload(h, t._data);
    storage = new Storage(EMPTY, 'cuda', h, bytes);
  } else {
    data = allocate(t.dtype, t.size);
    if (data.length) dev(fn).download(t._dev!, data);
    storage = new Storage(data, 'cpu');
  }
  storage.retain();
  const old = t._storage;
  countTensor(t.device, -1);
  countTensor(target, 1);
  t._storage = storage;
  t._data = data;
  t._dev = h;
  (t as { device: Device }).device = target;
  old.release();
  if (t.grad) moveInPlace(t.grad, target, fn);
}

/** A 'cuda' tensor of `shape` filled with `value`. */
export function cudaFull(shape: number[], value: number, fn = 'tensor'): Tensor {
  const host = new Float32Array(shapeSize(shape));
  if (value !== 0) host.fill(value);
  return value === 0 ? cudaEmpty(shape, fn) : cudaFrom(shape, host, fn);
}
