/**
 * CUDA availability and the 'cuda' device. This build's addon reports whether CUDA kernels were
 * compiled and whether a device is present; on a machine without a GPU everything runs on the CPU
 * and this says why.
 *
 * The 'cuda' device is the `cudaDevice` API of the addon (cuda/device_api.h: device buffers from
 * a caching allocator, copies, the CUDA kernels) when a GPU is available. With
 * WORLDKIT_CUDA_EMULATE=1 in the environment, or after useCudaEmulation(), it is the same API of
 * the test addon worldkit_emu.node instead: buffers in host memory and the unchanged CUDA kernel
 * sources run by the CPU SIMT emulation (cuda/emulation/simt.h), so 'cuda' tensors work on
 * machines without a GPU (slowly: for tests and CI).
 */
import * as fs from 'fs';
import * as path from 'path';
import { NativeFunction, native, packageRoot } from './native';

export interface CudaStatus {
  compiled: boolean;
  available: boolean;
  reason: string;
  deviceName: string | null;
  computeCapability: string | null;
  memoryBytes: number | null;
  /** True when 'cuda' is the CPU emulation (WORLDKIT_CUDA_EMULATE=1 / useCudaEmulation()). */
  emulated?: boolean;
}

/** An opaque device buffer handle (a type-tagged native External). */
export type DeviceHandle = object;

/** Statistics of the caching allocator behind 'cuda' tensors. */
export interface CudaAllocatorStats {
  bytesInUse: number;
  bytesCached: number;
  blocksInUse: number;
  blocksCached: number;
  mallocs: number;
  reuses: number;
}

/** The device API shared by the real and the emulation addon (cuda/device_api.h). */
export interface DeviceApi {
  alloc(bytes: number): DeviceHandle;
  free(h: DeviceHandle): void;
  view(h: DeviceHandle, byteOffset: number, bytes: number): DeviceHandle;
  byteSize(h: DeviceHandle): number;
  upload(h: DeviceHandle, host: ArrayBufferView): void;
  download(h: DeviceHandle, host: ArrayBufferView): void;
  copy(dst: DeviceHandle, src: DeviceHandle): void;
  copy2d(dst: DeviceHandle, dstOffset: number, dstPitch: number, src: DeviceHandle, srcOffset: number, srcPitch: number, width: number, height: number): void;
  stats(): CudaAllocatorStats;
  emptyCache(): void;
  [op: string]: NativeFunction;
}

let emulate = process.env.WORLDKIT_CUDA_EMULATE === '1';
let api: DeviceApi | null = null;
let emuError: string | null = null;

function loadEmulation(): DeviceApi {
  const candidates: string[] = [];
  if (process.env.WORLDKIT_EMU_ADDON) candidates.push(path.resolve(process.env.WORLDKIT_EMU_ADDON));
  if (process.env.WORLDKIT_ADDON) candidates.push(path.join(path.dirname(path.resolve(process.env.WORLDKIT_ADDON)), 'worldkit_emu.node'));
  candidates.push(path.join(packageRoot(), 'build', 'Release', 'worldkit_emu.node'));
  for (const f of candidates) {
    if (fs.existsSync(f)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const emu = require(f) as { cuda?: { device?: DeviceApi } };
      if (!emu.cuda?.device) throw new Error(`${f} has no device API (rebuild it)`);
      return emu.cuda.device;
    }
  }
  throw new Error(`worldkit_emu.node was not found (looked in ${candidates.join(', ')}); it is built with the addon unless WORLDKIT_EMULATION=0`);
}

let liveBuffers = 0;
/** The 'cuda' backend counts the buffers it hands out (+1) and frees (-1). */
export function countDeviceBuffers(delta: number): void {
  liveBuffers += delta;
}

/**
 * Makes the CPU emulation of the CUDA kernels the 'cuda' device (on = true) or goes back to the
 * real GPU (false). Not while 'cuda' tensors are alive.
 */
export function useCudaEmulation(on = true): void {
  if (on === emulate) return;
  // The buffers of this worldkit instance's 'cuda' tensors (not the device's block count: another
  // instance sharing the addon, e.g. an earlier test file in the same jest worker, has its own).
  if (liveBuffers > 0)
    throw new Error(`useCudaEmulation: dispose every 'cuda' tensor before switching the 'cuda' device (${liveBuffers} buffer${liveBuffers === 1 ? '' : 's'} alive)`);
  emulate = on;
  api = null;
  emuError = null;
}

/** Whether 'cuda' is the CPU emulation. */
export function cudaEmulated(): boolean {
  return emulate;
}

/** Never throws. */
export function cudaStatus(): CudaStatus {
  if (emulate) {
    try {
      if (api === null && emuError === null) api = loadEmulation();
    } catch (e) {
      emuError = (e as Error).message;
    }
    if (emuError !== null)
      return { compiled: false, available: false, reason: `the CUDA emulation was requested (WORLDKIT_CUDA_EMULATE) but ${emuError}`, deviceName: null, computeCapability: null, memoryBytes: null, emulated: true };
    return { compiled: true, available: true, reason: '', deviceName: 'emulated (CPU SIMT)', computeCapability: null, memoryBytes: null, emulated: true };
  }
  try {
    if (typeof native.cudaStatus === 'function') return native.cudaStatus() as CudaStatus;
  } catch (e) {
    return { compiled: true, available: false, reason: `CUDA probe failed: ${(e as Error).message}`, deviceName: null, computeCapability: null, memoryBytes: null };
  }
  return {
    compiled: false,
    available: false,
    reason: 'this build of worldkit has no CUDA backend (built without nvcc, or WORLDKIT_CUDA=0)',
    deviceName: null,
    computeCapability: null,
    memoryBytes: null,
  };
}

export function cudaAvailable(): boolean {
  return cudaStatus().available;
}

/** The 'cuda' device API; throws `fn: device 'cuda' is not available: <reason>` without one. */
export function cudaDevice(fn: string): DeviceApi {
  if (api !== null) return api;
  const s = cudaStatus();
  if (!s.available) throw new Error(`${fn}: device 'cuda' is not available: ${s.reason}`);
  if (api !== null) return api; // loaded by cudaStatus (emulation)
  const dev = (native as unknown as { cudaDevice?: DeviceApi }).cudaDevice;
  if (!dev) throw new Error(`${fn}: device 'cuda' is not available: this build of the addon has no device API`);
  api = dev;
  return api;
}

/** The device API if it is already loaded (memory reporting and releases), else null. */
export function loadedCudaDevice(): DeviceApi | null {
  return api;
}

/** The caching allocator's statistics, or null when no 'cuda' device has been used. */
export function cudaAllocatorStats(): CudaAllocatorStats | null {
  return api ? api.stats() : null;
}

/** Returns every cached (free) device block to the driver. */
export function cudaEmptyCache(): void {
  if (api) api.emptyCache();
}
