/**
 * Ownership of tensor memory. A Storage is one buffer (a typed array on the CPU) shared by a
 * tensor and its views (reshape, row views); it is released when its last tensor is disposed.
 * `memory()` reports live tensors and storage bytes per device, so a leak in a training loop
 * shows up as a count that grows.
 */
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

export class Storage {
  refs = 0;
  released = false;
  constructor(
    public data: AnyTypedArray,
    public readonly device: Device,
  ) {
    counters[device].bytes += data.byteLength;
  }
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs > 0 || this.released) return;
    this.released = true;
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
}

/** Live tensors and bytes per device. */
export function memory(): MemoryInfo {
  return {
    numTensors: counters.cpu.tensors + counters.cuda.tensors,
    numBytes: counters.cpu.bytes + counters.cuda.bytes,
    cpu: { ...counters.cpu },
    cuda: { ...counters.cuda },
  };
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'uint8' ? 1 : 4;
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
