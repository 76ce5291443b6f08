/**
 * The backends, by device name. A device string ('cpu', 'cuda', or one a user registers) is a key
 * here, not a closed union: tensors, ops and modules ask this registry for the backend of a name
 * and never compare device strings themselves.
 */
import { typeError } from '../errors';
import type { Backend } from './backend';
import { cpuBackend } from './cpu_backend';
import { cudaBackend } from './cuda_backend';

const backends = new Map<string, Backend>([
  ['cpu', cpuBackend],
  ['cuda', cudaBackend],
]);

/** Adds a backend under its name (an existing name is replaced only with `replace`). */
export function registerBackend(backend: Backend, replace = false): void {
  if (!backend || typeof backend.name !== 'string' || backend.name === '')
    throw new TypeError('registerBackend: backend must implement Backend with a non-empty name');
  if (backends.has(backend.name) && !replace)
    throw new Error(`registerBackend: a backend named '${backend.name}' is already registered (pass replace = true to replace it)`);
  backends.set(backend.name, backend);
}

/** The names of the registered backends. */
export function backendNames(): string[] {
  return [...backends.keys()];
}

/** The backend registered as `device` (no availability check), or undefined. */
export function findBackend(device: string): Backend | undefined {
  return backends.get(device);
}

/**
 * The backend for a device name, checked: an unknown name is a TypeError listing the known ones,
 * an unavailable backend an Error with its reason, both naming `fn`.
 */
export function getBackend(fn: string, device: unknown): Backend {
  const b = typeof device === 'string' ? backends.get(device) : undefined;
  if (!b) throw typeError(fn, 'device', backendNames().map((n) => `'${n}'`).join(' or '), device);
  const s = b.status();
  if (!s.available) throw new Error(`${fn}: device '${b.name}' is not available: ${s.reason}`);
  return b;
}

export { cpuBackend };
