/** x.to(device): a copy on another backend, recorded so the gradient flows back to x's device. */
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/memory';
import { record } from '../autograd/tape';
import { backendFor, copyTo } from '../tensor/placement';

/** t on `device`: t itself when already there, else a copy recorded on the tape. */
export function toDevice(t: Tensor, device: Device): Tensor {
  const fn = 'to';
  const target = backendFor(fn, device);
  if (t._disposed) throw new Error(`${fn}: tensor ${t.describe()} was disposed`);
  if (t._backend === target) return t;
  const from = t.device;
  const out = copyTo(t, target, fn);
  return record(out, 'to', [t], (g) => [toDevice(g, from)]);
}
