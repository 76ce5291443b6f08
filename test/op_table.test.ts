/**
 * Runs every case of test/op_table.ts on every backend column present: forward against the
 * float64 JS reference; backward against central finite differences computed in float64 (perturb
 * one float32 input element by ±eps on a host copy, upload it to the input's backend, recompute
 * loss = sum(out * seed) in double); odd sizes and fresh seeded random data; and guard values:
 * while a case runs, every buffer the 'cpu' backend allocates (kernel outputs, gradients, saved
 * activations) lies inside a larger array whose margins hold sentinels, checked afterwards, so an
 * out-of-bounds write by any CPU kernel fails the case; buffers allocated without zero fill are
 * poisoned with NaN, so an element a kernel leaves unwritten shows in the results. Each case must
 * not leak tensors.
 */
import * as wk from '../src';
import type { AnyTypedArray, Backend as BackendImpl, DType } from '../src/backend/backend';
import { cpuBackend } from '../src/backend/cpu_backend';
import { Arr, Backend, InputSpec, OpCase, backends, opCases, size } from './op_table';

// ---- guarded allocation on the 'cpu' backend -------------------------------------------------
const GUARD = 9;
const SENTINEL = { float32: 1234.5, int32: 0x5a5a5a5a, uint8: 0xa5 } as const;
const POISON = { float32: NaN, int32: 0x7eadbeef, uint8: 0xee } as const;
interface Guarded {
  buf: AnyTypedArray;
  n: number;
  dtype: DType;
  fn: string;
}
const guarded: Guarded[] = [];
const origAlloc = cpuBackend.alloc;

const guardedAlloc: BackendImpl['alloc'] = (dtype, n, zero, fn) => {
  const buf = origAlloc.call(cpuBackend, dtype, n + 2 * GUARD, true, fn) as AnyTypedArray;
  buf.fill(SENTINEL[dtype]);
  const view = buf.subarray(GUARD, GUARD + n);
  view.fill(zero ? 0 : POISON[dtype]);
  guarded.push({ buf, n, dtype, fn });
  return view;
};

function withGuards<T>(fn: () => T): T {
  guarded.length = 0;
  (cpuBackend as { alloc: BackendImpl['alloc'] }).alloc = guardedAlloc;
  try {
    return fn();
  } finally {
    (cpuBackend as { alloc: BackendImpl['alloc'] }).alloc = origAlloc;
  }
}

function checkGuards(label: string): void {
  for (const g of guarded) {
    const s = SENTINEL[g.dtype];
    for (let i = 0; i < GUARD; ++i) {
      if (g.buf[i] !== s || g.buf[GUARD + g.n + i] !== s)
        throw new Error(`${label}: a kernel wrote outside a buffer of ${g.n} ${g.dtype} elements allocated by ${g.fn} (guard ${i})`);
    }
  }
  guarded.length = 0;
}

// ---- helpers --------------------------------------------------------------------------------
function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; ++i) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h % 1000003;
}

function makeInputs(specs: InputSpec[], seed: number, device: string): wk.Tensor[] {
  return specs.map((s, k) => {
    if (s.kind === 'labels') {
      const u = wk.rand([size(s.shape)], { seed: seed + 31 * k }).toFloat32Array();
      return wk.tensor(Int32Array.from(u, (v) => Math.min(s.classes! - 1, Math.floor(v * s.classes!))), s.shape);
    }
    const t = wk.randn(s.shape, { seed: seed + 31 * k });
    if (s.map) {
      const d = t.f32();
      for (let i = 0; i < d.length; ++i) d[i] = s.map(d[i]);
    }
    return s.host || device === 'cpu' ? t : t.to(device);
  });
}

const toArr = (t: wk.Tensor): Arr => ({ data: Float64Array.from(t.dataSync() as ArrayLike<number>), shape: t.shape.slice() });

function lossOf(c: OpCase, xs: wk.Tensor[], seed: Float32Array): number {
  return wk.tidy(() =>
    wk.noGrad(() => {
      const out = c.forward(xs).toFloat32Array();
      let s = 0;
      for (let i = 0; i < out.length; ++i) s += out[i] * seed[i];
      return s;
    }),
  );
}

/** Elements checked by finite differences: all of a small input, else first, last and a seeded sample. */
function sampleIndices(n: number, seed: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const u = wk.rand([count - 2], { seed }).toFloat32Array();
  return [0, n - 1, ...Array.from(u, (v) => Math.floor(v * n))];
}

function runCase(c: OpCase, specs: InputSpec[], ci: number, column: Backend): void {
  const label = `${c.name} ${specs.map((s) => `[${s.shape}]`).join(' ')} on ${column.name}`;
  const fwdTol = c.tol?.fwd ?? 2e-5;
  const gradTol = c.tol?.grad ?? 1e-2;
  const eps = c.tol?.eps ?? 1e-3;
  const device = column.device ?? 'cpu';
  const fdCount = column.slow ? 12 : 24;
  const before = wk.memory().numTensors;
  const seedBase = hashName(c.name) + 1000 * ci;
  withGuards(() =>
    wk.tidy(() => {
      const xs = makeInputs(specs, seedBase, device);
      xs.forEach((x, k) => expect([k, x.device]).toEqual([k, specs[k].host || specs[k].kind === 'labels' ? 'cpu' : device]));
      c.gradInputs.forEach((i) => xs[i].requireGrad());
      // Forward against the reference.
      const out = c.forward(xs);
      const ref = c.reference(xs.map(toArr));
      expect(out.shape).toEqual(ref.shape);
      const o = out.toFloat32Array();
      for (let i = 0; i < o.length; ++i) {
        const r = ref.data[i];
        if (!(Math.abs(o[i] - r) <= fwdTol * (1 + Math.abs(r)))) throw new Error(`${label}: forward[${i}] = ${o[i]}, reference ${r}`);
      }
      if (c.gradInputs.length) {
        // Backward against central finite differences.
        const seedT = wk.randn(out.shape, { seed: seedBase + 7 });
        const seed = seedT.toFloat32Array();
        let absLoss = 0;
        for (let i = 0; i < o.length; ++i) absLoss += Math.abs(o[i] * seed[i]);
        out.backward(out.device === 'cpu' ? seedT : seedT.to(out.device));
        for (const k of c.gradInputs) {
          const x = xs[k];
          expect(x.grad).not.toBeNull();
          expect(x.grad!.device).toBe(x.device);
          const an = x.grad!.toFloat32Array();
          // A host copy to perturb, uploaded to the input's backend for each evaluation.
          const host = x.toFloat32Array();
          const upload = () => x._backend.upload(x._buf, host, 'fd');
          let scale = 0;
          for (const v of an) scale = Math.max(scale, Math.abs(v));
          // float32 rounding of the outputs limits a finite difference: allow a few ulps of the loss.
          const noise = (8 * 2 ** -24 * absLoss) / (2 * eps);
          for (const j of sampleIndices(host.length, seedBase + 13 * k, fdCount)) {
            const v = host[j];
            host[j] = Math.fround(v + eps);
            const hi = host[j];
            upload();
            const lp = lossOf(c, xs, seed);
            host[j] = Math.fround(v - eps);
            const lo = host[j];
            upload();
            const lm = lossOf(c, xs, seed);
            host[j] = v;
            upload();
            const fd = (lp - lm) / (hi - lo);
            if (!(Math.abs(fd - an[j]) <= gradTol * (Math.abs(an[j]) + 0.1 * scale + 1e-3) + noise))
              throw new Error(`${label}: d/dinput${k}[${j}] analytic ${an[j]}, finite difference ${fd}`);
          }
        }
        seedT.dispose();
      }
      out.dispose();
      xs.forEach((x) => x.dispose());
    }),
  );
  checkGuards(label);
  expect(wk.memory().numTensors).toBe(before);
}

export function runOpTable(cases: OpCase[], columns: Backend[]): void {
  for (const b of columns) {
    const d = b.available() ? describe : describe.skip;
    d(`op table on ${b.name}`, () => {
      beforeAll(() => b.setup());
      afterAll(() => b.teardown());
      for (const c of cases) {
        const configs = b.slow && c.slowConfigs ? c.slowConfigs : c.configs;
        if (configs.length === 0) continue; // too slow for this column; its other configurations cover the op
        test(c.name, () => {
          configs.forEach((specs, ci) => runCase(c, specs, ci, b));
        });
      }
    });
  }
}

runOpTable(opCases, backends);

describe('guard values', () => {
  test('a planted out-of-bounds write by a kernel is caught', () => {
    withGuards(() => {
      const out = cpuBackend.alloc('float32', 5, false, 'planted') as Float32Array;
      // A "kernel" that writes one element past its output, through the underlying memory.
      new Float32Array(out.buffer, out.byteOffset, out.length + 1).fill(1);
    });
    expect(() => checkGuards('probe')).toThrow(/wrote outside a buffer of 5 float32 elements allocated by planted/);
  });

  test('a planted write before the start of an op output is caught, and ops allocate through the guards', () => {
    withGuards(() => {
      const y = wk.relu(wk.tensor([1, -2, 3]));
      const d = y.f32();
      new Float32Array(d.buffer, d.byteOffset - 4, 1)[0] = 0;
      y.dispose();
    });
    expect(() => checkGuards('probe')).toThrow(/wrote outside a buffer of 3 float32 elements allocated by relu \(guard 8\)/);
  });

  test('unwritten elements of an uninitialized output show as NaN', () => {
    withGuards(() => {
      const out = cpuBackend.alloc('float32', 3, false, 'probe') as Float32Array;
      out[0] = 1;
      expect(Number.isNaN(out[1]) && Number.isNaN(out[2])).toBe(true);
      expect(Array.from(cpuBackend.alloc('float32', 2, true, 'probe') as Float32Array)).toEqual([0, 0]);
    });
    checkGuards('probe');
  });
});
