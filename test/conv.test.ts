/**
 * conv2d / convTranspose2d beyond the op table (test/op_table.ts, which checks values and
 * gradients against float64 references on every backend): the fast path against the native
 * direct reference with guard values, chunked batches against per-sample runs with 1 and 2
 * threads bit-identical, output sizes, argument errors; uint8 frame conversion.
 */
import * as wk from '../src';
import { conv2d, convTranspose2d, framesToFloat, floatToFrames } from '../src/ops/conv';
import { native } from '../src/backend/native';
import { maxRelErr } from './helpers/compare';

function rand(n: number, seed: number): Float32Array {
  return wk.randn([n], { seed }).toFloat32Array();
}

describe('conv2d kernels', () => {
  // Forward values and all gradients of conv2d / convTranspose2d against float64 references on
  // every backend: the op table (test/op_table.ts). Here: the algorithms' own claims.
  test('fast path matches the native direct reference at VAE-like and odd sizes', () => {
    const shapes = [
      [3, 3, 67, 65, 7, 4, 2, 1],
      [2, 32, 16, 16, 64, 4, 2, 1],
      [1, 7, 13, 13, 129, 3, 1, 1],
      [33, 5, 9, 9, 3, 4, 2, 0],
    ];
    for (const [N, C, H, W, K, k, s, p] of shapes) {
      const x = wk.randn([N, C, H, W], { seed: N + C });
      const w = wk.randn([K, C, k, k], { seed: K });
      const b = wk.randn([K], { seed: 5 });
      const y = conv2d(x, w, b, { stride: s, padding: p });
      const ref = new Float32Array(y.size + 8).fill(12345);
      native.conv2dForwardReference(x.f32(), w.f32(), b.f32(), ref.subarray(0, y.size), N, C, H, W, K, k, k, s, s, p, p);
      expect(maxRelErr(y.toFloat32Array(), ref.subarray(0, y.size))).toBeLessThan(1e-5);
      expect(Array.from(ref.subarray(y.size))).toEqual(new Array(8).fill(12345)); // guard values
    }
  });

  test('batches split into several chunks: outputs and gradients match per-sample runs, 1 and 2 threads give the same bits', () => {
    // N * Ho * Wo well above one chunk's columns, so the kernels work chunk by chunk (per-chunk
    // weight gradients summed in chunk order); N = 7 leaves a partial last chunk.
    const cases: { transposed: boolean; N: number; C: number; H: number; K: number; k: number; s: number; p: number }[] = [
      { transposed: false, N: 7, C: 3, H: 33, K: 5, k: 4, s: 2, p: 1 },
      { transposed: false, N: 67, C: 4, H: 4, K: 6, k: 3, s: 1, p: 1 },
      { transposed: true, N: 7, C: 3, H: 17, K: 4, k: 4, s: 2, p: 1 },
      { transposed: true, N: 67, C: 5, H: 3, K: 3, k: 3, s: 2, p: 0 },
    ];
    const threads = wk.getNumThreads();
    try {
      for (const c of cases) {
        const x = wk.randn([c.N, c.C, c.H, c.H], { seed: c.N + c.C });
        const w = c.transposed ? wk.randn([c.C, c.K, c.k, c.k], { seed: 3 }) : wk.randn([c.K, c.C, c.k, c.k], { seed: 3 });
        const b = wk.randn([c.K], { seed: 4 });
        const op = (xi: wk.Tensor) =>
          c.transposed ? convTranspose2d(xi, w, b, { stride: c.s, padding: c.p }) : conv2d(xi, w, b, { stride: c.s, padding: c.p });
        const run = () => {
          const xi = wk.tensor(x.toFloat32Array(), x.shape.slice()).requireGrad();
          w.requireGrad();
          w.grad = null;
          b.requireGrad();
          b.grad = null;
          const y = op(xi);
          const gy = wk.randn(y.shape, { seed: 9 });
          y.backward(gy);
          return { y: y.toFloat32Array(), gx: xi.grad!.toFloat32Array(), gw: w.grad!.toFloat32Array(), gb: b.grad!.toFloat32Array(), gy };
        };
        wk.setNumThreads(2);
        const two = run();
        wk.setNumThreads(1);
        const one = run();
        for (const key of ['y', 'gx', 'gw', 'gb'] as const) expect([key, Array.from(one[key])]).toEqual([key, Array.from(two[key])]);
        // Per sample: same outputs and input gradients; the weight gradient is their sum.
        const gwSum = new Float64Array(two.gw.length);
        const ySize = two.y.length / c.N;
        const xSize = two.gx.length / c.N;
        const gyAll = two.gy.toFloat32Array();
        let yErr = 0;
        let gxErr = 0;
        for (let n = 0; n < c.N; ++n) {
          const xn = wk.tensor(x.toFloat32Array().slice(n * xSize, (n + 1) * xSize), [1, c.C, c.H, c.H]).requireGrad();
          w.grad = null;
          const yn = op(xn);
          yn.backward(wk.tensor(gyAll.slice(n * ySize, (n + 1) * ySize), yn.shape));
          const yv = yn.toFloat32Array();
          for (let i = 0; i < ySize; ++i) yErr = Math.max(yErr, Math.abs(yv[i] - two.y[n * ySize + i]));
          const gxv = xn.grad!.toFloat32Array();
          for (let i = 0; i < xSize; ++i) gxErr = Math.max(gxErr, Math.abs(gxv[i] - two.gx[n * xSize + i]));
          const gwv = w.grad!.toFloat32Array();
          for (let i = 0; i < gwv.length; ++i) gwSum[i] += gwv[i];
        }
        expect(yErr).toBeLessThan(1e-4);
        expect(gxErr).toBeLessThan(1e-4);
        expect(maxRelErr(two.gw, gwSum)).toBeLessThan(1e-5);
      }
    } finally {
      wk.setNumThreads(threads);
    }
  });

  test('output sizes follow PyTorch and no-bias / no-grad paths work', () => {
    const x = wk.randn([2, 3, 64, 64], { seed: 1 });
    const w = wk.randn([32, 3, 4, 4], { seed: 2 });
    expect(conv2d(x, w, null, { stride: 2, padding: 1 }).shape).toEqual([2, 32, 32, 32]);
    expect(conv2d(x, w, null, { stride: 2 }).shape).toEqual([2, 32, 31, 31]);
    const z = wk.randn([2, 1024, 1, 1], { seed: 3 });
    const wt = wk.randn([1024, 128, 5, 5], { seed: 4 });
    expect(convTranspose2d(z, wt, null, { stride: 2 }).shape).toEqual([2, 128, 5, 5]);
    const h = wk.randn([2, 8, 4, 4], { seed: 3 });
    expect(convTranspose2d(h, wk.randn([8, 3, 4, 4], { seed: 5 }), null, { stride: 2, padding: 1 }).shape).toEqual([2, 3, 8, 8]);
    expect(convTranspose2d(h, wk.randn([8, 3, 3, 3], { seed: 5 }), null, { stride: 2, padding: 1, outputPadding: 1 }).shape).toEqual([2, 3, 8, 8]);
  });

  test('bad input gives clear errors', () => {
    const x = wk.randn([2, 3, 8, 8], { seed: 1 });
    const w = wk.randn([4, 3, 3, 3], { seed: 2 });
    expect(() => conv2d(wk.randn([2, 1, 8, 8]), w)).toThrow(/conv2d: input must be \[N,C,H,W\] with C=3, got \[2,1,8,8\]/);
    expect(() => conv2d(wk.randn([3, 8, 8]), w)).toThrow(/conv2d: input must be \[N,C,H,W\], got \[3,8,8\]/);
    expect(() => conv2d(x, w, null, { stride: 1.5 })).toThrow(/conv2d: stride must be an integer or a pair of integers, got 1.5/);
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(/stride must be at least 1/);
    expect(() => conv2d(x, w, null, { padding: -1 })).toThrow(/padding must be at least 0/);
    expect(() => conv2d(wk.randn([1, 3, 2, 2]), w)).toThrow(/smaller than the kernel 3x3/);
    expect(() => conv2d(x, w, wk.randn([5]))).toThrow(/bias must be \[4\], got \[5\]/);
    const wt = wk.randn([3, 4, 3, 3], { seed: 2 });
    expect(() => convTranspose2d(x, wt, null, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding \[2,2\] must be smaller than the stride \[2,2\]/);
    expect(() => convTranspose2d(wk.randn([1, 3, 1, 1]), wt, null, { padding: 2 })).toThrow(/not positive/);
    // The native layer checks buffers itself: no JS input may crash the process.
    expect(() => native.conv2dForward(new Float32Array(3), w.f32(), null, new Float32Array(10), 2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0)).toThrow(
      /conv2dForward: x must have 384 elements, got 3/,
    );
    expect(() => native.conv2dForward(x.f32(), w.f32(), null, new Float32Array(10), 2, 3, 8, 8, 4, 3, 3, 0, 1, 0, 0)).toThrow(/strideH/);
    expect(() => native.convTranspose2dBackward(x.f32(), wt.f32(), new Float32Array(1), null, null, null, 2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0)).toThrow(
      /gradOutput must have/,
    );
  });
});

describe('frames', () => {
  test('uint8 NHWC / NCHW -> float NCHW in [0,1] and back', () => {
    const N = 3, H = 5, W = 7, C = 3;
    const raw = new Uint8Array(N * H * W * C);
    for (let i = 0; i < raw.length; ++i) raw[i] = (i * 37 + 11) % 256;
    const nhwc = wk.tensor(raw, [N, H, W, C], { dtype: 'uint8' });
    const f = framesToFloat(nhwc, 'NHWC');
    expect(f.shape).toEqual([N, C, H, W]);
    const fd = f.toFloat32Array();
    for (let n = 0; n < N; ++n)
      for (let c = 0; c < C; ++c)
        for (let p = 0; p < H * W; ++p) expect(fd[(n * C + c) * H * W + p]).toBeCloseTo(raw[(n * H * W + p) * C + c] / 255, 6);
    const back = floatToFrames(f, 'NHWC');
    expect(Array.from(back.data() as Uint8Array)).toEqual(Array.from(raw));
    const nchw = floatToFrames(f, 'NCHW');
    expect(nchw.shape).toEqual([N, C, H, W]);
    const f2 = framesToFloat(nchw, 'NCHW');
    expect(Array.from(f2.toFloat32Array())).toEqual(Array.from(fd));
    const odd = wk.tensor([-1, 0.5, 2, NaN], [1, 1, 2, 2]);
    expect(Array.from(floatToFrames(odd, 'NCHW').data() as Uint8Array)).toEqual([0, 128, 255, 0]);
    expect(() => framesToFloat(f)).toThrow(/framesToFloat: frames must be uint8, got float32/);
  });
});
