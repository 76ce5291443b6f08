/** Host typed arrays: the 'cpu' backend's buffers. */
import type { AnyTypedArray, DType } from './backend';

/** A float32 array left uninitialized (Buffer.allocUnsafeSlow: malloc without the memset), for a kernel that writes every element. */
export function allocUninit(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  const b = globalThis.Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/** A zero-filled host array of dtype. */
export function allocTyped(dtype: DType, n: number): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint8':
      return new Uint8Array(n);
  }
}
