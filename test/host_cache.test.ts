/**
 * The 'cpu' buffer cache (src/backend/host_arrays.ts): a released storage's buffers are reused by
 * later allocations of the same size, except when a typed array of them was handed out; views keep
 * their storage; cached buffers asked for zeros are zeroed; the limit bounds it; a backward whose
 * input was disposed is refused; training gives the same bits with and without reuse.
 */
import * as wk from '../src';
import { cpuBackend } from '../src/backend/cpu_backend';

const stats = () => wk.memory().hostCache;
// The product of two fresh random matrices: an op output, so its buffer comes from the backend.
const product = (n: number, seed: number) => wk.tidy(() => wk.matmul(wk.randn([n, 7], { seed }), wk.randn([7, n], { seed: seed + 1 })));

const defaultLimit = stats().limitBytes;
afterEach(() => {
  wk.setHostCacheLimit(defaultLimit);
  wk.clearHostCache();
});

test('the default limit is an eighth of the machine memory, between 256 MiB and 4 GiB', () => {
  const os = require('os') as typeof import('os');
  expect(defaultLimit).toBe(Math.min(4 * 1024 ** 3, Math.max(256 * 1024 ** 2, Math.floor(os.totalmem() / 8))));
});

test('a disposed op output is reused by the next allocation of its size, and only of its size', () => {
  wk.clearHostCache();
  const n = 37; // 37 x 37 floats: a size nothing else in this test allocates
  const a = product(n, 1);
  const buf = a._buf;
  a.dispose();
  expect(stats().buffers).toBeGreaterThanOrEqual(1);
  const other = product(n + 1, 3); // another size: a fresh buffer
  expect(other._buf).not.toBe(buf);
  const hits = stats().hits;
  const b = product(n, 5);
  expect(b._buf).toBe(buf);
  expect(stats().hits).toBeGreaterThan(hits);
  // The reused buffer holds the new product, not the old one.
  const want = wk.tidy(() => wk.matmul(wk.randn([n, 7], { seed: 5 }), wk.randn([7, n], { seed: 6 })).toFloat32Array());
  expect(Array.from(b.toFloat32Array())).toEqual(Array.from(want));
  b.dispose();
  other.dispose();
});

test('an array handed out by data(), f32() or _data is never reused: its values stay as they were', () => {
  for (const hand of [(t: wk.Tensor) => t.f32(), (t: wk.Tensor) => t.data() as Float32Array, (t: wk.Tensor) => t._data as Float32Array]) {
    wk.clearHostCache();
    const t = product(29, 11);
    const arr = hand(t);
    const before = arr.slice();
    t.dispose();
    expect(stats().buffers).toBe(0);
    // Many same-size outputs of other values: none may land in arr.
    const others = Array.from({ length: 4 }, (_, i) => product(29, 20 + 2 * i));
    for (const o of others) expect(o._buf).not.toBe(arr);
    expect(Array.from(arr)).toEqual(Array.from(before));
    others.forEach((o) => o.dispose());
  }
});

test('a view keeps its storage: the buffer is reused only when the last tensor on it is disposed', () => {
  wk.clearHostCache();
  const t = product(31, 40);
  const v = t.reshape(31 * 31);
  t.dispose();
  expect(stats().buffers).toBe(0);
  const fresh = product(31, 42);
  expect(fresh._buf).not.toBe(t._buf);
  expect(v.toFloat32Array().length).toBe(31 * 31);
  v.dispose();
  expect(stats().buffers).toBe(1);
  fresh.dispose();
});

test('a cached buffer asked for zeros comes back zeroed; a buffer is cached once however often it is given back', () => {
  wk.clearHostCache();
  const n = 4099;
  const dirty = cpuBackend.alloc('float32', n, false, 'test') as Float32Array;
  dirty.fill(3.5);
  cpuBackend.recycle!(dirty);
  cpuBackend.recycle!(dirty);
  expect(stats().buffers).toBe(1);
  const z = cpuBackend.alloc('float32', n, true, 'test') as Float32Array;
  expect(z).toBe(dirty);
  expect(z.every((x) => x === 0)).toBe(true);
  // Arrays the backend did not make are never taken in.
  cpuBackend.recycle!(new Float32Array(n));
  cpuBackend.recycle!(z.subarray(0, 10));
  expect(stats().buffers).toBe(0);
});

test('the limit bounds the cache; 0 turns reuse off; bad limits are refused', () => {
  wk.clearHostCache();
  wk.setHostCacheLimit(10 * 1024);
  const small = product(20, 50); // 1.6 KB
  const big = product(60, 52); // 14.4 KB, over the limit
  small.dispose();
  big.dispose();
  expect(stats().buffers).toBe(1);
  expect(stats().bytes).toBe(20 * 20 * 4);
  expect(wk.setHostCacheLimit(0)).toBe(10 * 1024);
  expect(stats().buffers).toBe(0);
  product(20, 54).dispose();
  expect(stats().buffers).toBe(0);
  expect(() => wk.setHostCacheLimit(-1)).toThrow(/setHostCacheLimit: bytes must be a number >= 0, got -1/);
});

test('past the limit the oldest cached buffers give way to the newest', () => {
  wk.clearHostCache();
  wk.setHostCacheLimit(3 * 4096 * 4);
  const made = [101, 102, 103, 104].map((n) => cpuBackend.alloc('float32', 4096, false, 'test') as Float32Array);
  for (const b of made) cpuBackend.recycle!(b);
  expect(stats().buffers).toBe(3);
  // The first one went; the others come back oldest first.
  const got = [0, 1, 2].map(() => cpuBackend.alloc('float32', 4096, false, 'test'));
  expect(got.every((g, i) => g === made[i + 1])).toBe(true);
  expect(stats().buffers).toBe(0);
});

test('backward refuses to run an op whose input was disposed (its memory may hold other values)', () => {
  const w = wk.randn([5, 3], { seed: 60 }).requireGrad();
  const x = wk.randn([4, 5], { seed: 61 });
  const h = wk.matmul(x, w);
  const y = h.relu();
  const loss = y.sum();
  h.dispose();
  expect(() => loss.backward()).toThrow(/backward: \[4,3\] float32, an input of relu, was disposed before backward reached it/);
  w.dispose();
  x.dispose();
});

test('training gives the same bits with and without buffer reuse', async () => {
  const run = () => {
    const model = new wk.nn.Sequential(new wk.nn.Linear(12, 16, { seed: 1 }), new wk.nn.ReLU(), new wk.nn.Linear(16, 3, { seed: 2 }));
    const opt = new wk.optim.Adam(model, { lr: 1e-2 });
    const x = wk.randn([9, 12], { seed: 70 }), t = wk.randn([9, 3], { seed: 71 });
    const losses: number[] = [];
    for (let i = 0; i < 6; ++i)
      wk.tidy(() => {
        opt.zeroGrad();
        const l = wk.mseLoss(model.forward(x), t);
        l.backward();
        opt.step();
        losses.push(l.item());
      });
    return losses;
  };
  wk.setHostCacheLimit(0);
  const without = run();
  wk.setHostCacheLimit(defaultLimit);
  const hits = stats().hits;
  const withReuse = run();
  expect(stats().hits).toBeGreaterThan(hits);
  expect(withReuse).toEqual(without);
});
