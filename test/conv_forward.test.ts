/**
 * conv2d forward methods (cpp/conv.cpp, cpp/conv_direct*.cpp): the direct kernel (register tiles
 * of (image, pixel) rows by output channels, zero-padding taps skipped), its row variant (output
 * pixels of a row in the vector lanes, phase-split input) and im2col + GEMM, each against a plain
 * float64 reference on odd sizes, strides 1 and 2 (and 3), paddings 0 to 2, with and without the
 * fused bias + ReLU epilogue; 1 and 2 threads give the same bits; the fused conv2d + ReLU op gives
 * the bits of relu(conv2d) (its gradients: the op table, test/op_table.ts).
 */
import * as wk from '../src';
import { conv2d } from '../src/ops/conv';
import { relu } from '../src/ops/elementwise';
import { native } from '../src/backend/native';
import { maxRelErr } from './helpers/compare';
import { convRef as tableConvRef } from './op_table';

interface G {
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

const outSize = (i: number, k: number, s: number, p: number) => Math.floor((i + 2 * p - k) / s) + 1;

/** The table's float64 reference (test/op_table.ts) in this file's geometry. */
function convRef(g: G, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, useRelu: boolean): Float64Array {
  const geometry = { N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, kh: g.kh, kw: g.kw, s: [g.sh, g.sw] as [number, number], p: [g.ph, g.pw] as [number, number] };
  return tableConvRef(geometry, x, w, b, useRelu).y;
}

function rand(n: number, seed: number): Float32Array {
  return wk.randn([n], { seed }).toFloat32Array();
}

const dimsOf = (g: G) => [g.N, g.C, g.H, g.W, g.K, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw];

// Odd sizes (1, 7, 67), strides 1-3, paddings 0-2, square and non-square kernels; the ConvVAE's
// layers at a small batch; channel counts that leave partial register tiles (K = 1, 7, 33, 67).
const shapes: G[] = [
  { N: 1, C: 1, H: 1, W: 1, K: 1, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 },
  { N: 7, C: 3, H: 67, W: 67, K: 7, kh: 4, kw: 4, sh: 2, sw: 2, ph: 1, pw: 1 },
  { N: 3, C: 3, H: 64, W: 64, K: 32, kh: 4, kw: 4, sh: 2, sw: 2, ph: 1, pw: 1 },
  { N: 2, C: 32, H: 32, W: 32, K: 64, kh: 4, kw: 4, sh: 2, sw: 2, ph: 1, pw: 1 },
  { N: 9, C: 64, H: 16, W: 16, K: 128, kh: 4, kw: 4, sh: 2, sw: 2, ph: 1, pw: 1 },
  { N: 9, C: 128, H: 8, W: 8, K: 256, kh: 4, kw: 4, sh: 2, sw: 2, ph: 1, pw: 1 },
  { N: 11, C: 256, H: 4, W: 4, K: 64, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 },
  { N: 7, C: 67, H: 9, W: 11, K: 13, kh: 3, kw: 5, sh: 2, sw: 1, ph: 2, pw: 0 },
  { N: 1, C: 7, H: 5, W: 5, K: 67, kh: 3, kw: 3, sh: 1, sw: 2, ph: 1, pw: 2 },
  { N: 67, C: 9, H: 7, W: 7, K: 33, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0 },
  { N: 2, C: 5, H: 20, W: 37, K: 9, kh: 3, kw: 4, sh: 1, sw: 3, ph: 2, pw: 2 },
  { N: 3, C: 2, H: 9, W: 50, K: 17, kh: 2, kw: 5, sh: 3, sw: 2, ph: 0, pw: 2 },
  { N: 2, C: 16, H: 7, W: 7, K: 1, kh: 5, kw: 5, sh: 2, sw: 2, ph: 2, pw: 2 },
  { N: 1, C: 3, H: 2, W: 2, K: 7, kh: 1, kw: 1, sh: 1, sw: 1, ph: 2, pw: 2 }, // border outputs with no valid tap
  { N: 5, C: 4, H: 33, W: 70, K: 8, kh: 7, kw: 6, sh: 1, sw: 1, ph: 2, pw: 1 },
];

const methods = ['conv2dForwardDirect', 'conv2dForwardRows', 'conv2dForward'] as const;

describe('conv2d forward methods', () => {
  test.each(shapes.map((g, i) => [i, g]))('shape %i: every method matches the float64 reference, with and without bias + ReLU', (i, gg) => {
    const g = gg as G;
    const seed = 1000 + (i as number) * 13;
    const x = rand(g.N * g.C * g.H * g.W, seed);
    const w = rand(g.K * g.C * g.kh * g.kw, seed + 1);
    const b = rand(g.K, seed + 2);
    const Ho = outSize(g.H, g.kh, g.sh, g.ph), Wo = outSize(g.W, g.kw, g.sw, g.pw);
    const size = g.N * g.K * Ho * Wo;
    for (const useRelu of [false, true])
      for (const bias of [b, null]) {
        const ref = convRef(g, x, w, bias, useRelu);
        for (const m of methods) {
          const buf = new Float32Array(size + 8).fill(12345);
          buf.fill(NaN, 0, size); // every output must be written
          const y = buf.subarray(0, size);
          if (m === 'conv2dForward') native[m](x, w, bias, y, ...dimsOf(g), useRelu);
          else native[m](x, w, bias, y, ...dimsOf(g), useRelu);
          expect([m, useRelu, bias !== null, maxRelErr(y, ref) < 1e-5]).toEqual([m, useRelu, bias !== null, true]);
          expect(Array.from(buf.subarray(size))).toEqual(new Array(8).fill(12345)); // guard values
        }
      }
  });

  test('every ISA path (avx512, avx2, portable) gives the reference values', () => {
    const g: G = { N: 7, C: 67, H: 9, W: 35, K: 67, kh: 4, kw: 3, sh: 2, sw: 2, ph: 1, pw: 2 };
    const x = rand(g.N * g.C * g.H * g.W, 5);
    const w = rand(g.K * g.C * g.kh * g.kw, 6);
    const b = rand(g.K, 7);
    const ref = convRef(g, x, w, b, true);
    const size = ref.length;
    try {
      for (const isa of ['portable', 'avx2', 'avx512']) {
        native.setIsaCap(isa);
        for (const m of methods) {
          const y = new Float32Array(size).fill(NaN);
          native[m](x, w, b, y, ...dimsOf(g), true);
          expect([isa, m, maxRelErr(y, ref) < 1e-5]).toEqual([isa, m, true]);
        }
      }
    } finally {
      native.setIsaCap('avx512');
    }
  });

  test('1 and 2 threads give the same bits for every method', () => {
    const threads = wk.getNumThreads();
    try {
      for (const g of [shapes[2], shapes[3], shapes[5], shapes[6], shapes[9]]) {
        const x = rand(g.N * g.C * g.H * g.W, 31);
        const w = rand(g.K * g.C * g.kh * g.kw, 32);
        const b = rand(g.K, 33);
        const size = g.N * g.K * outSize(g.H, g.kh, g.sh, g.ph) * outSize(g.W, g.kw, g.sw, g.pw);
        for (const m of methods) {
          const run = (t: number) => {
            wk.setNumThreads(t);
            const y = new Float32Array(size);
            native[m](x, w, b, y, ...dimsOf(g), false);
            return Array.from(y);
          };
          const two = run(2);
          const one = run(1);
          expect([m, g.C, g.K, one]).toEqual([m, g.C, g.K, two]);
        }
      }
    } finally {
      wk.setNumThreads(threads);
    }
  });

  test('the ConvVAE encoder layers leave im2col', () => {
    const method = (C: number, H: number, K: number, k: number, s: number, p: number) =>
      native.conv2dForwardMethod(32, C, H, H, K, k, k, s, s, p, p);
    for (const [C, H, K] of [[32, 32, 64], [64, 16, 128], [128, 8, 256]]) expect(method(C, H, K, 4, 2, 1)).not.toBe('im2col');
    expect(method(256, 4, 64, 3, 1, 1)).not.toBe('im2col');
    expect(['rows', 'direct', 'im2col']).toContain(method(3, 64, 32, 4, 2, 1));
  });

  test('conv2d with relu: true gives the same bits as relu(conv2d)', () => {
    // A direct-kernel shape (reduction 8*3*3 = 72) and a row-variant shape (33 wide, 17 outputs).
    // Its values and gradients against the float64 reference: the op table (test/op_table.ts).
    const cases: G[] = [
      { N: 2, C: 8, H: 5, W: 6, K: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 },
      { N: 1, C: 2, H: 5, W: 33, K: 3, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
    ];
    for (const [ci, g] of cases.entries()) {
      const x = wk.tensor(rand(g.N * g.C * g.H * g.W, 70 + ci), [g.N, g.C, g.H, g.W]);
      const w = wk.tensor(rand(g.K * g.C * g.kh * g.kw, 80 + ci), [g.K, g.C, g.kh, g.kw]);
      const b = wk.tensor(rand(g.K, 90 + ci), [g.K]);
      const opts = { stride: [g.sh, g.sw] as [number, number], padding: [g.ph, g.pw] as [number, number] };
      const fused = conv2d(x, w, b, { ...opts, relu: true });
      const plain = relu(conv2d(x, w, b, opts));
      expect(Array.from(fused.toFloat32Array())).toEqual(Array.from(plain.toFloat32Array()));
    }
  });

  test('bad arguments to the method entry points throw instead of crashing', () => {
    const x = new Float32Array(2 * 3 * 8 * 8);
    const w = new Float32Array(4 * 3 * 3 * 3);
    expect(() => native.conv2dForwardDirect(x, w, null, new Float32Array(10), 2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, false)).toThrow(/conv2dForwardDirect: y must have/);
    expect(() => native.conv2dForwardRows(x.subarray(1), w, null, new Float32Array(288), 2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, false)).toThrow(/conv2dForwardRows: x must have/);
    expect(() => native.conv2dForward(x, w, null, new Float32Array(288), 2, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 1)).toThrow(/relu must be a boolean/);
    expect(() => conv2d(wk.randn([2, 3, 8, 8]), wk.randn([4, 3, 3, 3]), null, { relu: 1 as unknown as boolean })).toThrow(/conv2d: relu must be a boolean/);
  });
});
