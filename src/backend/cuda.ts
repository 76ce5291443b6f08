/**
 * CUDA availability. This build's addon reports whether CUDA kernels were compiled and whether
 * a device is present; on a machine without a GPU everything runs on the CPU and this says why.
 */
import { native } from './native';

export interface CudaStatus {
  compiled: boolean;
  available: boolean;
  reason: string;
  deviceName: string | null;
  computeCapability: string | null;
  memoryBytes: number | null;
}

/** Never throws. */
export function cudaStatus(): CudaStatus {
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
