/**
 * Where tensors live: the backend an op runs on (its tensor arguments must agree), copies between
 * backends, and moving a parameter's elements in place (Module.to). No device names are compared
 * here: the backend registry resolves them.
 */
import type { Backend } from '../backend/backend';
import { getBackend } from '../backend/registry';
import { cpuBackend } from '../backend/cpu_backend';
import { Device, Storage, countTensor } from './memory';
import { Tensor, shapeSize } from './tensor';

/** The backend of an op's tensor arguments (null/undefined skipped; 'cpu' if none); mixed devices throw. */
export function backendOf(fn: string, args: [string, Tensor | null | undefined][]): Backend {
  let first: [string, Tensor] | null = null;
  for (const [name, t] of args) {
    if (!t || !(t as Tensor)._isTensor) continue;
    if (first === null) first = [name, t];
    else if (t._backend !== first[1]._backend)
      throw new Error(`${fn}: ${first[0]} is on '${first[1].device}' but ${name} is on '${t.device}'`);
  }
  return first === null ? cpuBackend : first[1]._backend;
}

/** The backend a tensor is created on when `device` names one (checked: known and available). */
export function backendFor(fn: string, device: unknown): Backend {
  return getBackend(fn, device);
}

function checkDtype(fn: string, backend: Backend, t: Tensor): void {
  if (!backend.dtypes.includes(t.dtype))
    throw new TypeError(`${fn}: only ${backend.dtypes.join('/')} tensors can be on '${backend.name}' yet, got ${t.dtype}`);
}

/** A copy of t on `backend` (not recorded). */
export function copyTo(t: Tensor, backend: Backend, fn: string): Tensor {
  checkDtype(fn, backend, t);
  const out = Tensor.on(backend, t.shape.slice(), t.dtype, false, fn);
  if (t._backend.hostAddressable) backend.upload(out._buf, t.data(fn), fn);
  else if (backend.hostAddressable) t._backend.download(t.buf(fn), backend.hostArray(out._buf, fn), fn);
  else backend.upload(out._buf, t.dataSync(), fn); // between two device backends, through the host
  return out;
}

/** Moves t's elements (and its grad) to `device` in place: for parameters (Module.to). */
export function moveInPlace(t: Tensor, device: Device, fn: string): void {
  const backend = getBackend(fn, device);
  if (t._disposed) throw new Error(`${fn}: tensor ${t.describe()} was disposed`);
  if (t._backend === backend) return;
  if (t._storage.refs !== 1) throw new Error(`${fn}: cannot move ${t.describe()} in place: other tensors view its storage`);
  const moved = copyTo(t, backend, fn);
  // Take over the copy's storage (one more reference for t, then the copy lets go of its own).
  const storage: Storage = moved._storage;
  storage.retain();
  const old = t._storage;
  countTensor(t.device, -1);
  countTensor(backend.name, 1);
  t._storage = storage;
  t._buf = moved._buf;
  t._data = moved._data;
  t._backend = backend;
  old.release();
  moved.dispose();
  if (t.grad) moveInPlace(t.grad, device, fn);
}

export { shapeSize };
