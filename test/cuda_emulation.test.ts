/**
 * The CUDA kernels (cuda/*.cu), compiled as C++ against the SIMT emulation and run on the CPU,
 * against the CPU kernels (cpp/), on small, odd and tile-tail sizes, in forward, reverse and
 * seeded random thread order: 1e-5 relative, the RNG bit-identical. One describe block per
 * cuda/*.cu file (a test below checks that none is missing).
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectBitIdentical, expectClose, loadEmu, randomArray, SCHEDULES } from './cuda/emu';

const emu = loadEmu();
const TOL = 1e-5;

function eachSchedule(fn: (label: string) => void): void {
  for (const [mode, seed] of SCHEDULES) {
    emu.setSchedule(mode, seed);
    fn(`${mode}:${seed}`);
  }
  emu.setSchedule('forward', 1);
}

/** Output array pre-filled with a guard pattern, so unwritten elements show. */
function guarded(n: number): Float32Array {
  return new Float32Array(n).fill(-12345.5);
}

describe('rng.cu', () => {
  const sizes = [1, 3, 7, 67, 129, 1000, 4099];
  const offsets = [0, 1, 2, 3, 5, 1 << 20];
  for (const [name, p0, p1] of [
    ['rngUniform', -2, 3],
    ['rngBernoulli', 0.3, 0],
    ['rngNormal', 0.5, 2],
  ] as Array<[string, number, number]>) {
    test(`${name} is bit-identical to the CPU fill for any size and offset`, () => {
      eachSchedule((label) => {
        for (const n of sizes)
          for (const off of offsets) {
            const a = guarded(n), b = guarded(n);
            emu.cuda[name](a, 1234567, off, p0, p1);
            emu.cpu[name](b, 1234567, off, p0, p1);
            expectBitIdentical(a, b, `${name} n=${n} offset=${off} ${label}`);
          }
      });
    });
  }
});

/** Runs op(cuda) and op(cpu) on fresh copies of the same inputs and compares the outputs. */
function pair(name: string, make: () => unknown[], outputs: number[], tol = TOL, label = ''): void {
  const a = make(), b = make();
  emu.cuda[name](...a);
  emu.cpu[name](...b);
  for (const i of outputs) {
    const x = a[i], y = b[i];
    if (x instanceof Uint8Array) expect(Array.from(x)).toEqual(Array.from(y as Uint8Array));
    else expectClose(x as Float32Array, y as Float32Array, tol, `${name} output ${i} ${label}`);
  }
}
const SIZES = [1, 7, 67, 129, 1031];

describe('elementwise.cu', () => {
  test('unary forward and backward of every op match the CPU (float4 body and scalar tail)', () => {
    eachSchedule((label) => {
      for (let op = 0; op < 16; op++)
        for (const n of SIZES) {
          const pos = op === 2 || op === 8 || op === 12 || op === 13;
          const x = randomArray(n, op + n, pos ? 0.1 : -3, 3);
          const p0 = op === 14 ? -0.5 : op === 13 ? 1.7 : 0.3, p1 = op === 14 ? 0.7 : -0.2;
          pair('unaryForward', () => [op, x.slice(), guarded(n), n, p0, p1], [2], TOL, `op ${op} n ${n} ${label}`);
          const y = new Float32Array(n);
          emu.cpu.unaryForward(op, x, y, n, p0, p1);
          const g = randomArray(n, 99 + n);
          pair('unaryBackward', () => [op, x.slice(), y.slice(), g.slice(), guarded(n), n, p0, p1], [4], TOL, `op ${op} n ${n}`);
        }
    });
  });
  test('binary same-shape ops and the residual update', () => {
    eachSchedule((label) => {
      for (let op = 0; op < 4; op++)
        for (const n of SIZES) {
          const a = randomArray(n, 1 + n), b = randomArray(n, 2 + n, 0.5, 2);
          pair('binarySame', () => [op, a.slice(), b.slice(), guarded(n), n], [3], TOL, `op ${op} n ${n} ${label}`);
          // an unaligned view (offset 1 element) takes the scalar path
          const y = randomArray(n + 1, 5).subarray(1), x = randomArray(n + 1, 6).subarray(1);
          pair('axpy', () => [y.slice(), x.slice(), n, 0.75], [0], TOL, `n ${n}`);
        }
    });
  });
});

describe('reduce.cu', () => {
  test('reduceSum3 over rows and columns, and sumAll, match the CPU', () => {
    eachSchedule((label) => {
      for (const [o, r, i] of [[1, 1, 1], [3, 67, 1], [7, 129, 1], [2, 5, 67], [1, 1031, 3], [67, 7, 7]]) {
        const x = randomArray(o * r * i, o + r + i);
        pair('reduceSum3', () => [x.slice(), o, r, i, guarded(o * i), 0.5], [4], TOL, `${o}x${r}x${i} ${label}`);
      }
      for (const n of [...SIZES, 300000]) {
        const x = randomArray(n, n);
        pair('sumAll', () => [x.slice(), n, guarded(1)], [2], TOL, `n ${n} ${label}`);
      }
    });
  });
});

describe('losses.cu', () => {
  test('MSE, BCE, KL and cross-entropy, forward and backward, match the CPU', () => {
    eachSchedule((label) => {
      for (const [B, D] of [[1, 1], [3, 7], [5, 67], [2, 1031], [67, 3]]) {
        const n = B * D;
        const a = randomArray(n, B + D, -3, 3), t = randomArray(n, B * D + 1, 0, 1), gRow = randomArray(B, 3, 0.5, 1.5);
        for (const kind of [0, 1]) {
          pair('rowLossForward', () => [kind, a.slice(), t.slice(), B, D, 1 / n, guarded(B)], [6], TOL, `kind ${kind} ${B}x${D} ${label}`);
          pair('rowLossBackward', () => [kind, a.slice(), t.slice(), B, D, gRow.slice(), 0.25, guarded(n), guarded(n)], [7, 8], TOL);
        }
        const kl = new Float32Array(B);
        emu.cpu.klNormalForward(a, t, B, D, kl);
        pair('klNormalForward', () => [a.slice(), t.slice(), B, D, guarded(B)], [4], TOL, `${B}x${D}`);
        pair('klNormalBackward', () => [a.slice(), t.slice(), B, D, kl.slice(), kl[0], gRow.slice(), 0.5, guarded(n), guarded(n)], [8, 9], TOL);
        const labels = new Int32Array(B).map((_, i) => (i * 7 + 3) % D);
        pair('crossEntropyForward', () => [a.slice(), labels, B, D, guarded(B)], [4], TOL, `${B}x${D}`);
        pair('crossEntropyBackward', () => [a.slice(), labels, B, D, gRow.slice(), 0.5, guarded(n)], [6], TOL);
      }
    });
  });
});

describe('optim.cu', () => {
  test('SGD (momentum, Nesterov) and Adam/AdamW steps match the CPU', () => {
    eachSchedule(() => {
      for (const n of SIZES) {
        const p = randomArray(n, n), g = randomArray(n, n + 1), buf = randomArray(n, n + 2);
        for (const [mom, nest, first] of [[0, false, false], [0.9, false, true], [0.9, true, false]] as Array<[number, boolean, boolean]>)
          pair('sgdStep', () => [p.slice(), g.slice(), buf.slice(), n, 0.1, mom, 0.1, 0.01, nest, first], [0, 2], TOL);
        const m = randomArray(n, n + 3), v = randomArray(n, n + 4, 0, 1);
        for (const dec of [false, true])
          pair('adamStep', () => [p.slice(), g.slice(), m.slice(), v.slice(), n, 1e-3, 0.9, 0.999, 1e-8, 0.01, dec, 1 - 0.9 ** 3, 1 - 0.999 ** 3], [0, 2, 3], TOL);
      }
    });
  });
});

describe('frames.cu', () => {
  test('uint8 frames to float and back, channels-last and channels-first', () => {
    eachSchedule(() => {
      for (const [N, C, H, W] of [[1, 1, 1, 1], [2, 3, 7, 5], [3, 1, 67, 3]])
        for (const cl of [false, true]) {
          const n = N * C * H * W;
          const src = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 255);
          pair('framesToFloat', () => [src, guarded(n), N, C, H, W, cl], [1], 0);
          const f = randomArray(n, n, -0.2, 1.2);
          f[0] = NaN;
          pair('floatToFrames', () => [f.slice(), new Uint8Array(n), N, C, H, W, cl], [1], 0);
        }
    });
  });
});

describe('gemm.cu', () => {
  // 1e-5 relative to sum_k |a_ik||b_kj| (the scale of the float rounding of a dot product),
  // against the double-accumulating CPU reference.
  test('all transposes, odd sizes, tile tails, unaligned operands, alpha/beta', () => {
    const shapes = [[1, 1, 1], [7, 5, 3], [64, 64, 16], [67, 129, 33], [129, 67, 17], [65, 1, 100], [1, 130, 7]];
    eachSchedule((label) => {
      for (const [M, N, K] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const [off, beta] of [[0, 0], [1, 0.5]]) {
              const lda = (ta ? M : K) + off, ldb = (tb ? K : N) + off, ldc = N + 2;
              const A = randomArray((ta ? K : M) * lda + 1, M + K), B = randomArray((tb ? N : K) * ldb + 1, N + K);
              const C0 = randomArray(M * ldc, 5);
              const args = (a: Float32Array, b: Float32Array, c: Float32Array) => [ta, tb, M, N, K, 1.25, a, lda, b, ldb, beta, c, ldc, off, off];
              const c1 = C0.slice(), c2 = C0.slice();
              emu.cuda.gemm(...args(A.slice(), B.slice(), c1));
              emu.cpu.gemm(...args(A.slice(), B.slice(), c2));
              const sc = new Float32Array(M * ldc);
              const absC = C0.map(Math.abs);
              emu.cpu.gemm(ta, tb, M, N, K, 1.25, A.map(Math.abs), lda, B.map(Math.abs), ldb, beta, absC, ldc, off, off);
              sc.set(absC);
              for (let i = 0; i < M * ldc; i++) {
                const err = Math.abs(c1[i] - c2[i]);
                if (err > 1e-5 * sc[i] + 1e-30)
                  throw new Error(`gemm ${M}x${N}x${K} ta=${ta} tb=${tb} off=${off} ${label}: C[${i}] ${c1[i]} vs ${c2[i]}`);
              }
            }
    });
  });
});

describe('device.cu', () => {
  test('the probe reports no device under the emulation, with a reason', () => {
    const d = emu.cuda.probeDevice();
    expect(d.available).toBe(false);
    expect(d.reason).toMatch(/no CUDA-capable device/);
  });
});

describe('emulation scheduling switch (test/cuda/broken_barrier.cu)', () => {
  const n = 300;
  const x = randomArray(n, 3);
  const expected = new Float32Array(n);
  for (let i = 0; i < n; i++) expected[i] = i % 128 === 0 ? 0 : x[i - 1];

  test('the kernel with its barrier passes in every order', () => {
    eachSchedule((label) => {
      const out = guarded(n);
      emu.cuda.testShiftFixed(x, out, n);
      expectBitIdentical(out, expected, `fixed ${label}`);
    });
  });

  test('the missing __syncthreads hides under forward order and is caught by reverse and random order', () => {
    const outcomes: Record<string, boolean> = {};
    eachSchedule((label) => {
      const out = guarded(n);
      emu.cuda.testShiftBroken(x, out, n);
      outcomes[label] = out.every((v, i) => v === expected[i]);
    });
    expect(outcomes).toEqual({ 'forward:1': true, 'reverse:1': false, 'random:7': false });
  });
});

describe('coverage', () => {
  test('every cuda/*.cu has a describe block here or in a test/cuda_emulation_*.test.ts', () => {
    const dir = path.resolve(__dirname, '..', 'cuda');
    const me = fs
      .readdirSync(__dirname)
      .filter((f) => /^cuda_emulation.*\.test\.ts$/.test(f))
      .map((f) => fs.readFileSync(path.join(__dirname, f), 'utf8'))
      .join('\n');
    const missing = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.cu'))
      .filter((f) => !me.includes(`describe('${f}'`));
    expect(missing).toEqual([]);
  });

  test('every cuda/*.cuh header (block_reduce.cuh, wk_cuda.cuh) is included by a tested cuda/*.cu', () => {
    // Headers have no kernels of their own: block_reduce.cuh's warpSum/blockSum/blockMax run here
    // through reduce.cu (sumAll), losses.cu (MSE/KL/cross-entropy: blockMax), broadcast.cu and
    // conv.cu, each compiled against the emulation and compared with the CPU above.
    const dir = path.resolve(__dirname, '..', 'cuda');
    const tested = fs.readdirSync(dir).filter((f) => f.endsWith('.cu'));
    const sources = tested.map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
    const headers = fs.readdirSync(dir).filter((f) => f.endsWith('.cuh'));
    expect(headers).toContain('block_reduce.cuh');
    const unused = headers.filter((h) => !sources.some((src) => src.includes(`#include "${h}"`)));
    expect(unused).toEqual([]);
  });
});
