/**
 * The `device` option of the trainers and loaders (trainVAE, trainPredictor, createVAE,
 * createPredictor, loadVAE, loadPredictor): 'cpu' or 'cuda'. 'cuda' needs cudaStatus().available
 * (a GPU, or the CPU emulation: WORLDKIT_CUDA_EMULATE=1 / useCudaEmulation()); otherwise the
 * check throws one line naming the option and cudaStatus()'s reason, before anything is built.
 */
import { cudaStatus } from '../backend/cuda';
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
  if (d !== 'cpu' && d !== 'cuda') throw typeError(fn, arg, "'cpu' or 'cuda'", value);
  if (d === 'cuda') {
    const why = cudaUnavailableReason();
    if (why !== null) throw new Error(`${fn}: ${arg} is 'cuda' but device 'cuda' is not available: ${why} (WORLDKIT_CUDA_EMULATE=1 runs the CUDA kernels on the CPU emulation)`);
  }
  return d;
}

/** The device a module's parameters are on ('cpu' for a module without parameters). */
export function moduleDevice(m: { parameters(): { device: Device }[] }): Device {
  return m.parameters()[0]?.device === 'cuda' ? 'cuda' : 'cpu';
}
