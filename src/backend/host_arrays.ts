/**
 * Host typed arrays: the 'cpu' backend's buffers, and the cache that reuses them.
 *
 * Why a cache: a training step allocates the same sizes every step (activations, gradients,
 * saved workspaces: 142 buffers and tens of MB in a Transformer predictor step), and a fresh large
 * array pays its page faults and the kernel's zeroing on first touch; measured, allocation was a
 * quarter of that step's time. A buffer the backend made comes back here when the last tensor on
 * it is disposed (Storage.release), and the next allocation of the same dtype and length takes it.
 *
 * Why it is safe: a buffer is reused only if no typed array of it was ever handed out of the
 * tensor layer (data(), f32(), hostData(), _data mark the storage exposed): whoever holds such an
 * array may read it later, so its memory is left to the garbage collector, as before. Kernels see
 * buffers only during a call. The autograd engine refuses to run a backward whose inputs were
 * disposed (their buffers may hold other tensors' values by then). Only whole buffers made by
 * hostBuffers.take come back (not views, not arrays wrapped from elsewhere), and each at most once.
 *
 * Bounded: at most `limitBytes` cached (default 512 MiB, WORLDKIT_HOST_CACHE_MB; 0 turns reuse
 * off); past it a returned buffer is dropped. wk.memory().hostCache reports it; wk.clearHostCache()
 * empties it.
 */
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

export interface HostCacheStats {
  /** Bytes and buffers waiting to be reused. */
  bytes: number;
  buffers: number;
  /** The most it keeps (bytes). */
  limitBytes: number;
  /** Allocations served from the cache / freshly allocated, since the process started. */
  hits: number;
  misses: number;
}

function defaultLimit(): number {
  const env = process.env.WORLDKIT_HOST_CACHE_MB;
  const mb = env === undefined || env === '' ? 512 : Number(env);
  return Number.isFinite(mb) && mb >= 0 ? Math.floor(mb * 1024 * 1024) : 512 * 1024 * 1024;
}

class HostBufferCache {
  /** Buffers take() made: the only ones give() accepts. */
  private readonly made = new WeakSet<AnyTypedArray>();
  /** Buffers now in the cache (a second give() of one is ignored). */
  private readonly cached = new WeakSet<AnyTypedArray>();
  private readonly free = new Map<string, AnyTypedArray[]>();
  private bytes = 0;
  private count = 0;
  private hits = 0;
  private misses = 0;
  limitBytes = defaultLimit();

  take(dtype: DType, n: number, zero: boolean): AnyTypedArray {
    const list = n > 0 ? this.free.get(`${dtype}:${n}`) : undefined;
    const reused = list?.pop();
    if (reused) {
      this.cached.delete(reused);
      this.bytes -= reused.byteLength;
      this.count--;
      this.hits++;
      if (zero) reused.fill(0);
      return reused;
    }
    this.misses++;
    const fresh = dtype === 'float32' && !zero ? allocUninit(n) : allocTyped(dtype, n);
    if (n > 0) this.made.add(fresh);
    return fresh;
  }

  give(buf: AnyTypedArray): void {
    if (!this.made.has(buf) || this.cached.has(buf)) return;
    if (this.bytes + buf.byteLength > this.limitBytes) return;
    const dtype: DType = buf instanceof Float32Array ? 'float32' : buf instanceof Int32Array ? 'int32' : 'uint8';
    const key = `${dtype}:${buf.length}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
    this.cached.add(buf);
    this.bytes += buf.byteLength;
    this.count++;
  }

  clear(): void {
    for (const list of this.free.values()) for (const b of list) this.cached.delete(b);
    this.free.clear();
    this.bytes = 0;
    this.count = 0;
  }

  stats(): HostCacheStats {
    return { bytes: this.bytes, buffers: this.count, limitBytes: this.limitBytes, hits: this.hits, misses: this.misses };
  }
}

/** The one cache of the 'cpu' backend's buffers. */
export const hostBuffers = new HostBufferCache();
