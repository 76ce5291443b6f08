/**
 * The `device` option of the trainers and loaders (trainVAE, trainPredictor, createVAE,
 * createPredictor, loadVAE, loadPredictor): 'cpu' or 'cuda'. 'cuda' needs cudaStatus().available
 * (a GPU, or the CPU emulation: WORLDKIT_CUDA_EMULATE=1 / useCudaEmulation()); otherwise the
 * check throws one line naming the option and cudaStatus()'s reason, before anything is built.
 */
import { cudaStatus } from '../backend/cuda';
import { backendNames, findBackend } from '../backend/registry';
import type { Device } from '../tensor/memory';
import { typeError } from '../errors';

export type { Device };

/** Why 'cuda' cannot be used now (one line), or null when it can. */
export function cudaUnavailableReason(): string | null {
  const s = cudaStatus();
  if (s.available) return null;
  return (s.reason || 'no CUDA device').replace(/\s+/g, ' ').trim();
}

/**
 * A checked device: `value` when it is 'cpu' or 'cuda' (and 'cuda' is available), `fallback`
 * when it is undefined. `arg` names the option in the errors ('options.device').
 */
export function resolveDevice(fn: string, arg: string, value: unknown, fallback: Device = 'cpu'): Device {
  const d = value === undefined ? fallback : value;
  const backend = typeof d === 'string' ? findBackend(d) : undefined;
  if (!backend) throw typeError(fn, arg, backendNames().map((n) => `'${n}'`).join(' or '), value);
  const s = backend.status();
  if (!s.available) {
    const why = (s.reason || 'not available').replace(/\s+/g, ' ').trim();
    throw new Error(`${fn}: ${arg} is '${backend.name}' but device '${backend.name}' is not available: ${why}${backend.unavailableHint ? ` (${backend.unavailableHint})` : ''}`);
  }
  return backend.name;
}

/** The device a module's parameters are on ('cpu' for a module without parameters). */
export function moduleDevice(m: { parameters(): { device: Device }[] }): Device {
  return m.parameters()[0]?.device ?? 'cpu';
}
