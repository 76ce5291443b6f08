/**
 * Ownership of tensor memory. A Storage is one backend buffer shared by a tensor and its views
 * (reshape, row views), plus the buffers an op saved for its backward (tied to its output so they
 * are freed with it); it is released when its last tensor is disposed. `memory()` reports live
 * tensors and storage bytes per device, so a leak in a training loop shows up as a count that
 * grows.
 */
import type { AnyTypedArray, Backend, Buffer, DType } from '../backend/backend';
import { CudaAllocatorStats, cudaAllocatorStats } from '../backend/cuda';
import { HostCacheStats, allocTyped, allocUninit, hostBuffers } from '../backend/host_arrays';

/** A device name: a key of the backend registry ('cpu', 'cuda', or a registered one). */
export type Device = 'cpu' | 'cuda' | (string & Record<never, never>);
export type { AnyTypedArray, DType };
export type TypedArrayOf<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;

export interface DeviceMemory {
  tensors: number;
  bytes: number;
}

const counters = new Map<string, DeviceMemory>([
  ['cpu', { tensors: 0, bytes: 0 }],
  ['cuda', { tensors: 0, bytes: 0 }],
]);

function counter(device: string): DeviceMemory {
  let c = counters.get(device);
  if (!c) counters.set(device, (c = { tensors: 0, bytes: 0 }));
  return c;
}

interface Held {
  backend: Backend;
  buffers: Buffer[];
  bytes: number;
}

/** Safety net for buffers that must be freed: a Storage collected without release() frees them. */
const finalizer = new FinalizationRegistry<Held>((held) => {
  counter(held.backend.name).bytes -= held.bytes;
  for (const b of held.buffers) held.backend.free(b);
});

const EMPTY = new Float32Array(0);

export class Storage {
  refs = 0;
  released = false;
  /** A typed array of it was handed out (Tensor.data/f32/_data): its memory is never reused. */
  exposed = false;
  /** The buffer of the storage's elements (views of it are made per tensor). */
  buffer: Buffer;
  private held: Held;
  constructor(
    readonly backend: Backend,
    buffer: Buffer,
    bytes: number,
  ) {
    this.buffer = buffer;
    this.held = { backend, buffers: [buffer], bytes };
    counter(backend.name).bytes += bytes;
    if (backend.needsFree) finalizer.register(this, this.held, this);
  }
  get device(): string {
    return this.backend.name;
  }
  /** Ties another buffer of this backend (`bytes` long) to this storage: freed when it is released. */
  attach(buffer: Buffer, bytes: number): void {
    if (this.released) throw new Error('Storage.attach: the storage was released');
    this.held.buffers.push(buffer);
    this.held.bytes += bytes;
    counter(this.backend.name).bytes += bytes;
  }
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs > 0 || this.released) return;
    this.released = true;
    counter(this.backend.name).bytes -= this.held.bytes;
    if (this.backend.needsFree) {
      finalizer.unregister(this);
      for (const b of this.held.buffers) this.backend.free(b);
    } else if (this.backend.recycle && !this.exposed) {
      for (const b of this.held.buffers) this.backend.recycle(b);
    }
    // Drop the references so host buffers can be collected even if a stale tensor object lives on.
    this.held = { backend: this.backend, buffers: [], bytes: 0 };
    this.buffer = EMPTY;
  }
}

export function countTensor(device: string, delta: number): void {
  counter(device).tensors += delta;
}

export interface MemoryInfo {
  /** Live (not disposed) tensors, all devices. */
  numTensors: number;
  /** Bytes held by live storages, all devices. */
  numBytes: number;
  cpu: DeviceMemory;
  cuda: DeviceMemory;
  /** Every device that has held memory, by name. */
  devices: Record<string, DeviceMemory>;
  /** The 'cuda' caching allocator (blocks in use and cached), or null before any 'cuda' tensor. */
  cudaAllocator: CudaAllocatorStats | null;
  /** The 'cpu' buffers kept for reuse (not counted in cpu.bytes) and how often they served. */
  hostCache: HostCacheStats;
}

/** Live tensors and bytes per device. */
export function memory(): MemoryInfo {
  const devices: Record<string, DeviceMemory> = {};
  let numTensors = 0, numBytes = 0;
  for (const [name, c] of counters) {
    devices[name] = { ...c };
    numTensors += c.tensors;
    numBytes += c.bytes;
  }
  return { numTensors, numBytes, cpu: { ...counter('cpu') }, cuda: { ...counter('cuda') }, devices, cudaAllocator: cudaAllocatorStats(), hostCache: hostBuffers.stats() };
}

/** Drops the 'cpu' buffers kept for reuse (the garbage collector then frees them). */
export function clearHostCache(): void {
  hostBuffers.clear();
}

/**
 * The most bytes of 'cpu' buffers kept for reuse (default an eighth of the machine's memory, 256
 * MiB to 4 GiB, or WORLDKIT_HOST_CACHE_MB); 0 turns reuse off. Lowering it drops the cache.
 * Returns the previous limit.
 */
export function setHostCacheLimit(bytes: number): number {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) throw new TypeError(`setHostCacheLimit: bytes must be a number >= 0, got ${typeof bytes === 'number' ? bytes : typeof bytes}`);
  const was = hostBuffers.limitBytes;
  hostBuffers.limitBytes = Math.floor(bytes);
  if (bytes < was) hostBuffers.clear();
  return was;
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
export const allocateUninit: (n: number) => Float32Array = allocUninit;

/** A zero-filled host array of dtype. */
export const allocate: (dtype: DType, n: number) => AnyTypedArray = allocTyped;
