/**
 * Ownership of tensor memory. A Storage is one buffer (a typed array on the CPU) shared by a
 * tensor and its views (reshape, row views); it is released when its last tensor is disposed.
 * `memory()` reports live tensors and storage bytes per device, so a leak in a training loop
 * shows up as a count that grows.
 */
import { CudaAllocatorStats, DeviceHandle, cudaAllocatorStats, loadedCudaDevice } from '../backend/cuda';

export type Device = 'cpu' | 'cuda';
export type DType = 'float32' | 'int32' | 'uint8';
export type TypedArrayOf<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint8Array;

export interface DeviceMemory {
  tensors: number;
  bytes: number;
}

const counters: Record<Device, DeviceMemory> = {
  cpu: { tensors: 0, bytes: 0 },
  cuda: { tensors: 0, bytes: 0 },
};

/** Safety net for device buffers only: a 'cuda' Storage collected without release() frees its blocks. */
const deviceFinalizer = new FinalizationRegistry<{ handles: DeviceHandle[]; bytes: number }>((held) => {
  counters.cuda.bytes -= held.bytes;
  const api = loadedCudaDevice();
  if (api) for (const h of held.handles) api.free(h);
});

export class Storage {
  refs = 0;
  released = false;
  /** 'cuda' storages: the device buffer (data is then an empty placeholder). */
  handle: DeviceHandle | null = null;
  /** Device buffers released with this storage (saved activations of fused ops). */
  private held: { handles: DeviceHandle[]; bytes: number } | null = null;
  constructor(
    public data: AnyTypedArray,
    public readonly device: Device,
    handle?: DeviceHandle | null,
    bytes = 0,
  ) {
    if (handle) {
      this.handle = handle;
      this.held = { handles: [handle], bytes };
      counters[device].bytes += bytes;
      deviceFinalizer.register(this, this.held, this);
    } else counters[device].bytes += data.byteLength;
  }
  /** Ties another device buffer (`bytes` long) to this 'cuda' storage: freed when it is released. */
  attach(handle: DeviceHandle, bytes: number): void {
    if (!this.held || this.released) throw new Error('Storage.attach: not a live device storage');
    this.held.handles.push(handle);
    this.held.bytes += bytes;
    counters.cuda.bytes += bytes;
  }
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs > 0 || this.released) return;
    this.released = true;
    if (this.held) {
      counters.cuda.bytes -= this.held.bytes;
      deviceFinalizer.unregister(this);
      const api = loadedCudaDevice();
      if (api) for (const h of this.held.handles) api.free(h);
      this.held = null;
      this.handle = null;
      return;
    }
    counters[this.device].bytes -= this.data.byteLength;
    // Drop the reference so the buffer can be collected even if a stale tensor object lives on.
    this.data = EMPTY;
  }
}

const EMPTY = new Float32Array(0);

export function countTensor(device: Device, delta: number): void {
  counters[device].tensors += delta;
}

export interface MemoryInfo {
  /** Live (not disposed) tensors, all devices. */
  numTensors: number;
  /** Bytes held by live storages, all devices. */
  numBytes: number;
  cpu: DeviceMemory;
  cuda: DeviceMemory;
  /** The 'cuda' caching allocator (blocks in use and cached), or null before any 'cuda' tensor. */
  cudaAllocator: CudaAllocatorStats | null;
}

/** Live tensors and bytes per device. */
export function memory(): MemoryInfo {
  return {
    numTensors: counters.cpu.tensors + counters.cuda.tensors,
    numBytes: counters.cpu.bytes + counters.cuda.bytes,
    cpu: { ...counters.cpu },
    cuda: { ...counters.cuda },
    cudaAllocator: cudaAllocatorStats(),
  };
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'uint8' ? 1 : 4;
}

/**
 * A float32 array for a native kernel that overwrites every element (outputs, saved activations,
 * weight gradients): Buffer.allocUnsafeSlow, malloc without the memset of `allocate`. A predictor
 * training step allocates megabytes of them (the W_ih gradient alone is 4 MB), and zeroing them
 * was a visible part of a small-batch step.
 */
export function allocateUninit(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

export function allocate(dtype: DType, n: number): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint8':
      return new Uint8Array(n);
  }
}
