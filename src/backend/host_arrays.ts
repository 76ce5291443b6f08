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
 * Bounded: at most `limitBytes` cached (default an eighth of the machine's memory, 256 MiB to
 * 4 GiB; WORLDKIT_HOST_CACHE_MB; 0 turns reuse off); past it the oldest cached buffers are dropped.
 * A Transformer step of bench-model's size cycles ~820 MB of buffers: at a 512 MiB limit a
 * quarter of its allocations missed and the step took 403-449 ms instead of 294-336 (docs/backend.md). wk.memory().hostCache
 * reports it; wk.clearHostCache() empties it.
 */
import * as os from 'os';
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

/** WORLDKIT_HOST_CACHE_MB, else an eighth of the machine's memory, at least 256 MiB and at most 4 GiB. */
function defaultLimit(): number {
  const env = process.env.WORLDKIT_HOST_CACHE_MB;
  if (env !== undefined && env !== '') {
    const mb = Number(env);
    if (Number.isFinite(mb) && mb >= 0) return Math.floor(mb * 1024 * 1024);
  }
  return Math.min(4 * 1024 ** 3, Math.max(256 * 1024 ** 2, Math.floor(os.totalmem() / 8)));
}

class HostBufferCache {
  /** Buffers take() made: the only ones give() accepts. */
  private readonly made = new WeakSet<AnyTypedArray>();
  /** Cached buffers by dtype and length, oldest first. */
  private readonly free = new Map<string, Set<AnyTypedArray>>();
  /** Every cached buffer, oldest first: the order of eviction. */
  private readonly order = new Set<AnyTypedArray>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  limitBytes = defaultLimit();

  private static key(buf: AnyTypedArray): string {
    return `${buf instanceof Float32Array ? 'float32' : buf instanceof Int32Array ? 'int32' : 'uint8'}:${buf.length}`;
  }

  private remove(buf: AnyTypedArray, key = HostBufferCache.key(buf)): void {
    this.free.get(key)!.delete(buf);
    this.order.delete(buf);
    this.bytes -= buf.byteLength;
  }

  take(dtype: DType, n: number, zero: boolean): AnyTypedArray {
    const set = n > 0 ? this.free.get(`${dtype}:${n}`) : undefined;
    if (set && set.size) {
      const reused = set.values().next().value as AnyTypedArray;
      this.remove(reused, `${dtype}:${n}`);
      this.hits++;
      if (zero) reused.fill(0);
      return reused;
    }
    this.misses++;
    const fresh = dtype === 'float32' && !zero ? allocUninit(n) : allocTyped(dtype, n);
    if (n > 0) this.made.add(fresh);
    return fresh;
  }

  /**
   * Takes back a buffer take() made (anything else, or one already here, is ignored). Past the
   * limit the oldest cached buffers are dropped first: a training phase's sizes (the VAE's) then
   * give way to the next phase's (the predictor's) instead of filling the cache for good.
   */
  give(buf: AnyTypedArray): void {
    if (!this.made.has(buf) || this.order.has(buf) || buf.byteLength > this.limitBytes) return;
    const key = HostBufferCache.key(buf);
    let set = this.free.get(key);
    if (!set) this.free.set(key, (set = new Set()));
    set.add(buf);
    this.order.add(buf);
    this.bytes += buf.byteLength;
    for (const old of this.order) {
      if (this.bytes <= this.limitBytes) break;
      this.remove(old);
    }
  }

  clear(): void {
    this.free.clear();
    this.order.clear();
    this.bytes = 0;
  }

  stats(): HostCacheStats {
    return { bytes: this.bytes, buffers: this.order.size, limitBytes: this.limitBytes, hits: this.hits, misses: this.misses };
  }
}

/** The one cache of the 'cpu' backend's buffers. */
export const hostBuffers = new HostBufferCache();
