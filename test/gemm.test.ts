/**
 * GEMM family: the native fast GEMM against gemmReference on every ISA path and thread count
 * (strides, transposes, alpha/beta, guard values, bit-identical threads), argument errors of
 * matmul / linear, and nn.Linear. matmul / linear values and gradients: the op table
 * (test/op_table.ts).
 */
import * as wk from '../src/index';
import { native } from '../src/backend/native';

// Deterministic pseudo-random data (fresh per call, never zeros alone).
let state = 12345;
function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    a[i] = ((state / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

function setThreads(n: number): void {
  native.setNumThreads(n);
}

const GUARD = 777.25;
interface Case {
  tA: boolean; tB: boolean; M: number; N: number; K: number; alpha: number; beta: number; pad: number;
}

/** Runs fast and reference on the same inputs; returns [fast C, reference C] with guards checked. */
function runCase(c: Case): [Float32Array, Float32Array] {
  const { tA, tB, M, N, K, alpha, beta, pad } = c;
  const lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
  const A = rand((tA ? K : M) * lda), B = rand((tB ? N : K) * ldb);
  const G = 16;
  const fast = new Float32Array(M * ldc + 2 * G).fill(GUARD);
  const init = rand(M * ldc);
  for (let i = 0; i < M; ++i)
    for (let j = 0; j < N; ++j) fast[G + i * ldc + j] = beta === 0 ? NaN : init[i * ldc + j];
  const ref = fast.slice();
  for (let i = 0; i < M; ++i) for (let j = 0; j < N; ++j) ref[G + i * ldc + j] = beta === 0 ? 0 : init[i * ldc + j];
  native.gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, fast.subarray(G, G + M * ldc), ldc);
  native.gemmReference(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, ref.subarray(G, G + M * ldc), ldc);
  // Guards before, after and in the padding between rows are untouched.
  for (let i = 0; i < fast.length; ++i) {
    const inside = i >= G && i < G + M * ldc && (i - G) % ldc < N;
    if (!inside && fast[i] !== GUARD) throw new Error(`write out of bounds at ${i} for ${JSON.stringify(c)}`);
  }
  return [fast, ref];
}

function maxErr(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; ++i) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    if (!Number.isNaN(a[i])) e = Math.max(e, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  }
  return e;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 67], [7, 1, 129], [67, 129, 7], [129, 67, 1], [14, 32, 16], [15, 33, 17], [13, 31, 257],
  [28, 64, 300], [33, 65, 513], [4, 130, 70], [32, 97, 129], [40, 200, 33], [200, 40, 65], [6, 16, 8], [5, 17, 9],
  // Packed path past one B panel (nc = 1024 columns) with a ragged last panel.
  [35, 1061, 19],
  // Panels path (op(B) = B^T, M from 16 on AVX-512 and 24 on AVX2 up to 32): K past one 512-row
  // block (ragged), ragged last panel, a row count that leaves a partial row tile.
  [16, 131, 1030], [25, 65, 17], [31, 200, 600],
];

describe('gemm kernel', () => {
  afterAll(() => {
    native.setIsaCap('avx512');
    setThreads(2);
  });
  for (const isa of ['portable', 'avx2', 'avx512']) {
    test(`${isa}: fast GEMM matches the reference over shapes, transposes, alpha/beta, strides, 1 and 2 threads`, () => {
      native.setIsaCap(isa);
      // One thread: a single region holds all of C, so wide shapes span several B panels.
      for (const threads of [1, 2]) {
        for (const [M, N, K] of SHAPES)
          for (const tA of [false, true])
            for (const tB of [false, true])
              for (const [alpha, beta, pad] of [[1, 0, 0], [0.75, 1, 3], [-1.5, 0.5, 1]]) {
                const c = { tA, tB, M, N, K, alpha, beta, pad };
                setThreads(threads);
                const [fast, ref] = runCase(c);
                const err = maxErr(fast, ref);
                if (!(err < 2e-5 * Math.sqrt(K + 1))) throw new Error(`${isa}, ${threads} threads, ${JSON.stringify(c)}: error ${err}`);
              }
      }
    });
  }

  test('K = 0 and alpha = 0 scale C by beta (NaN never leaks with beta = 0)', () => {
    const C = new Float32Array([NaN, 2, 3, 4]);
    native.gemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0, C, 2);
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    const D = new Float32Array([1, 2, 3, 4]);
    native.gemm(false, false, 2, 2, 1, 0, new Float32Array(2), 1, new Float32Array(2), 2, 1, D, 2);
    expect(Array.from(D)).toEqual([1, 2, 3, 4]);
  });

  test('1 and 2 threads give bit-identical results on every path', () => {
    const cases: Case[] = [
      { tA: false, tB: false, M: 300, N: 257, K: 300, alpha: 1, beta: 0, pad: 0 },
      { tA: true, tB: true, M: 150, N: 333, K: 129, alpha: 1, beta: 1, pad: 1 },
      { tA: false, tB: true, M: 4, N: 1283, K: 129, alpha: 1, beta: 0, pad: 0 },
      { tA: false, tB: false, M: 32, N: 1030, K: 300, alpha: 1, beta: 1, pad: 0 },
      { tA: false, tB: true, M: 29, N: 1030, K: 700, alpha: 1, beta: 1, pad: 1 },
      { tA: true, tB: false, M: 1283, N: 130, K: 4, alpha: 1, beta: 1, pad: 0 },
    ];
    for (const isa of ['portable', 'avx2', 'avx512']) {
      native.setIsaCap(isa);
      for (const c of cases) {
        const saved = state;
        setThreads(1);
        const [one] = runCase(c);
        state = saved;
        setThreads(2);
        const [two] = runCase(c);
        expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      }
    }
  });

  test('op(B) prepared once (gemmPreparedB) gives the bits of gemm for every row count, ISA and thread count', () => {
    // Prepared for 32 rows (panels where the ISA has them), used with 1..40 rows: where that row
    // count takes another path the prepared copy must fall back to gemm's own.
    for (const isa of ['portable', 'avx2', 'avx512']) {
      native.setIsaCap(isa);
      const withPanels: number[] = [];
      for (const [N, K, pad] of [[131, 1030, 0], [64, 256, 3], [7, 5, 1]]) {
        const ldb = K + pad, lda = K + pad, ldc = N + pad;
        const B = rand(N * ldb);
        for (const threads of [1, 2]) {
          setThreads(threads);
          for (let M = 1; M <= 40; M += M < 12 ? 5 : 3) {
            const A = rand(M * lda), init = rand(M * ldc);
            for (const [alpha, beta] of [[1, 0], [-0.5, 1]]) {
              const viaGemm = init.slice(), viaPrepared = init.slice();
              native.gemm(false, true, M, N, K, alpha, A, lda, B, ldb, beta, viaGemm, ldc);
              const panels = native.gemmPreparedB(32, M, N, K, alpha, A, lda, B, ldb, beta, viaPrepared, ldc);
              if (panels) withPanels.push(M);
              expect(Buffer.from(viaPrepared.buffer).equals(Buffer.from(viaGemm.buffer))).toBe(true);
            }
            // Prepared for another row count than it is used with: still gemm's bits.
            const other = init.slice(), ref = init.slice();
            native.gemm(false, true, M, N, K, 1, A, lda, B, ldb, 1, ref, ldc);
            native.gemmPreparedB(M < 20 ? 32 : 4, M, N, K, 1, A, lda, B, ldb, 1, other, ldc);
            expect(Buffer.from(other.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
          }
        }
      }
      // Where the instruction set has panels, a prepared copy was used (not only the fallback).
      expect(withPanels.length > 0).toBe(isa !== 'portable');
    }
    expect(() => native.gemmPreparedB(32, 2, 2, 3, 1, new Float32Array(6), 3, new Float32Array(5), 3, 0, new Float32Array(4), 2))
      .toThrow(/gemmPreparedB: B must be at least 6 elements/);
  });

  test('bad arguments give clear errors', () => {
    const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)).not.toThrow();
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a.subarray(1), 3, b, 2, 0, c, 2)).toThrow(/gemm: A must be at least 6 elements/);
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2)).toThrow(/gemm: lda must be at least 3/);
    expect(() => native.gemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)).toThrow(/gemm: ldb must be at least 3/);
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 3)).toThrow(/gemm: C must be at least 5 elements/);
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, new Float64Array(4), 2)).toThrow(/gemm: C must be a Float32Array, got Float64Array\(4\)/);
    expect(() => native.gemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2)).toThrow(/gemm: M must be an integer in \[0, /);
    expect(() => native.gemm(false, false, 2, 2, 3, NaN, a, 3, b, 2, 0, c, 2)).toThrow(/alpha/);
    expect(() => native.gemm(false, false, 2, 2, 1, 1, a, 1, b, 2, 0, a, 2)).toThrow(/C must not overlap A/);
    expect(() => native.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0)).toThrow(/expected 13 arguments/);
    expect(() => native.gemmReference(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 1)).toThrow(/gemmReference: ldc/);
  });
});

// ---- matmul / linear -------------------------------------------------------------------------
// Their values and gradients (2-D, batched, broadcast, with and without bias, leading batch dims)
// against float64 references on every backend: the op table (test/op_table.ts). Here: the errors.
describe('matmul', () => {
  test('bad input errors', () => {
    expect(() => wk.matmul(wk.zeros([4, 3]), wk.zeros([5, 2]))).toThrow('matmul: a is [4,3] and b is [5,2]; inner sizes 3 and 5 differ');
    expect(() => wk.matmul(wk.zeros([3]), wk.zeros([3, 2]))).toThrow(/matmul: a must have at least 2 dimensions/);
    expect(() => wk.matmul(wk.zeros([2, 4, 3]), wk.zeros([3, 3, 2]))).toThrow(/matmul: .*batch dimensions \[2\] and \[3\] differ/);
    expect(() => wk.matmul(wk.zeros([2, 2]), 3 as unknown as wk.Tensor)).toThrow(TypeError);
    const d = wk.zeros([2, 2]);
    d.dispose();
    expect(() => wk.matmul(d, wk.zeros([2, 2]))).toThrow(/matmul: a .* was disposed/);
  });
});

describe('linear', () => {
  test('bad input errors', () => {
    expect(() => wk.linear(wk.zeros([4, 3]), wk.zeros([5, 2]))).toThrow('linear: x is [4,3] and weight is [5,2]; in features 3 and 2 differ');
    expect(() => wk.linear(wk.zeros([4, 3]), wk.zeros([3]))).toThrow(/linear: weight must be 2-D/);
    expect(() => wk.linear(wk.zeros([4, 3]), wk.zeros([5, 3]), wk.zeros([4]))).toThrow(/linear: bias must be \[5\]/);
  });
});

describe('nn.Linear', () => {
  test('parameters, PyTorch init range, seeded, forward and gradients', () => {
    const m = new wk.nn.Linear(16, 8, { seed: 3 });
    const names = [...m.namedParameters()].map(([n, p]) => [n, p.shape]);
    expect(names).toEqual([['weight', [8, 16]], ['bias', [8]]]);
    const w = m.weight.toFloat32Array();
    const bound = 1 / 4;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bound * 0.8);
    expect(Math.max(...m.bias!.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(new wk.nn.Linear(16, 8, { seed: 3 }).weight.toFloat32Array()).toEqual(w);
    expect(new wk.nn.Linear(16, 8, { seed: 4 }).weight.toFloat32Array()).not.toEqual(w);
    expect(new wk.nn.Linear(16, 8, { bias: false, seed: 3 }).bias).toBeNull();
    const x = wk.tensor(rand(3 * 16), [3, 16]);
    const y = m.forward(x);
    expect(y.shape).toEqual([3, 8]);
    y.backward(wk.ones([3, 8]));
    expect(m.weight.grad!.shape).toEqual([8, 16]);
    const gb = m.bias!.grad!.toFloat32Array();
    expect(Array.from(gb)).toEqual(new Array(8).fill(3));
    expect(() => new wk.nn.Linear(0, 3)).toThrow(/Linear: inFeatures/);
  });
});
