/**
 * cuda/memory.cu (the caching allocator and copies behind 'cuda' tensors) and the buffer half of
 * cuda/device_api.h, through the emulation addon's `cuda.device`: size classes, reuse from the
 * cache, statistics, copies, views, and the checks that keep JS from reaching outside a buffer.
 */
import { loadEmu } from './cuda/emu';

const emu = loadEmu();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const d = (emu.cuda as any).device;

describe('memory.cu', () => {
  // The addon (and its cache) is shared by every test file a jest worker runs: start empty.
  beforeEach(() => d.emptyCache());

  test('freed blocks return to the cache and are reused for the same size class', () => {
    const s0 = d.stats();
    const a = d.alloc(1000); // class 1024
    const s1 = d.stats();
    expect(s1.bytesInUse - s0.bytesInUse).toBe(1024);
    d.free(a);
    const s2 = d.stats();
    expect(s2.bytesInUse).toBe(s0.bytesInUse);
    expect(s2.bytesCached - s0.bytesCached).toBe(1024);
    const b = d.alloc(1020); // same class: from the cache, zero-filled
    const s3 = d.stats();
    expect(s3.reuses).toBe(s2.reuses + 1);
    expect(s3.mallocs).toBe(s2.mallocs);
    const host = new Float32Array(255);
    d.download(b, host);
    expect(host.every((v) => v === 0)).toBe(true);
    d.free(b);
    d.free(b); // idempotent
    d.emptyCache();
    expect(d.stats().bytesCached).toBe(0);
  });

  test('large requests round up by at most 25%', () => {
    const s0 = d.stats();
    const a = d.alloc(3 * 1024 * 1024 + 1); // 3 MiB + 1 -> 3.5 MiB class
    expect(d.stats().bytesInUse - s0.bytesInUse).toBe(3.5 * 1024 * 1024);
    d.free(a);
  });

  test('copies, views and copy2d', () => {
    const n = 67;
    const src = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
    const a = d.alloc(n * 4);
    d.upload(a, src);
    const v = d.view(a, 7 * 4, 5 * 4);
    const out = new Float32Array(5);
    d.download(v, out);
    expect(Array.from(out)).toEqual(Array.from(src.subarray(7, 12)));
    const b = d.alloc(n * 4);
    d.copy(b, a);
    const all = new Float32Array(n);
    d.download(b, all);
    expect(all).toEqual(src);
    // 3 rows of 4 from pitch 10 at offset 2 into pitch 5 at offset 1
    const c = d.alloc(16 * 4);
    d.copy2d(c, 1, 5, a, 2, 10, 4, 3);
    const got = new Float32Array(16);
    d.download(c, got);
    for (let r = 0; r < 3; ++r)
      for (let k = 0; k < 4; ++k) expect(got[1 + r * 5 + k]).toBe(src[2 + r * 10 + k]);
    expect(got[0]).toBe(0);
    expect(got[5]).toBe(0);
    for (const h of [a, b, c]) d.free(h);
  });

  test('bounds and liveness are checked before any copy or launch', () => {
    const a = d.alloc(16);
    expect(() => d.view(a, 8, 12)).toThrow(/range inside the 16-byte buffer/);
    expect(() => d.upload(a, new Float32Array(5))).toThrow(/16 bytes/);
    expect(() => d.copy2d(a, 0, 4, a, 0, 4, 4, 2)).toThrow(/at least 32 bytes/);
    expect(() => d.unaryForward(3, a, a, 5, 0, 0)).toThrow(/at least 20 bytes/);
    expect(() => d.upload({}, new Float32Array(4))).toThrow(/a device buffer handle/);
    const v = d.view(a, 0, 8);
    d.free(a);
    expect(() => d.download(v, new Float32Array(2))).toThrow(/freed device buffer/);
    expect(() => d.download(a, new Float32Array(4))).toThrow(/freed device buffer/);
  });
});
