/**
 * Runs every case of test/op_table.ts on every backend present: forward against the float64 JS
 * reference; backward against central finite differences computed in float64 (perturb one
 * float32 input element by ±eps, recompute loss = sum(out * seed) in double); odd sizes and
 * fresh seeded random data; and guard values: while a case runs, every tensor buffer is
 * allocated inside a larger array whose margins hold sentinels, checked afterwards, so an
 * out-of-bounds write by any kernel fails the case. Each case also must not leak tensors.
 */
import * as wk from '../src';
import * as memoryModule from '../src/tensor/memory';
import { Arr, Backend, InputSpec, OpCase, backends, opCases, size } from './op_table';

// ---- guarded allocation ---------------------------------------------------------------------
const GUARD = 9;
const SENTINEL = { float32: 1234.5, int32: 0x5a5a5a5a, uint8: 0xa5 } as const;
interface Guarded {
  buf: memoryModule.AnyTypedArray;
  n: number;
  dtype: memoryModule.DType;
}
const guarded: Guarded[] = [];
const origAllocate = memoryModule.allocate;

function guardedAllocate(dtype: memoryModule.DType, n: number): memoryModule.AnyTypedArray {
  const buf = origAllocate(dtype, n + 2 * GUARD);
  buf.fill(SENTINEL[dtype]);
  const view = buf.subarray(GUARD, GUARD + n);
  view.fill(0);
  guarded.push({ buf, n, dtype });
  return view;
}

function withGuards<T>(fn: () => T): T {
  guarded.length = 0;
  (memoryModule as { allocate: typeof origAllocate }).allocate = guardedAllocate;
  try {
    return fn();
  } finally {
    (memoryModule as { allocate: typeof origAllocate }).allocate = origAllocate;
  }
}

function checkGuards(label: string): void {
  for (const g of guarded) {
    const s = SENTINEL[g.dtype];
    for (let i = 0; i < GUARD; ++i) {
      if (g.buf[i] !== s || g.buf[GUARD + g.n + i] !== s)
        throw new Error(`${label}: a kernel wrote outside a buffer of ${g.n} ${g.dtype} elements (guard ${i})`);
    }
  }
}

// ---- helpers --------------------------------------------------------------------------------
function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; ++i) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h % 1000003;
}

function makeInputs(specs: InputSpec[], seed: number): wk.Tensor[] {
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
    return t;
  });
}

const toArr = (t: wk.Tensor): Arr => ({ data: Float64Array.from(t.data() as ArrayLike<number>), shape: t.shape.slice() });

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
function sampleIndices(n: number, seed: number): number[] {
  if (n <= 24) return Array.from({ length: n }, (_, i) => i);
  const u = wk.rand([22], { seed }).toFloat32Array();
  return [0, n - 1, ...Array.from(u, (v) => Math.floor(v * n))];
}

function runCase(c: OpCase, specs: InputSpec[], ci: number, backend: Backend): void {
  const label = `${c.name} ${specs.map((s) => `[${s.shape}]`).join(' ')}`;
  const fwdTol = c.tol?.fwd ?? 2e-5;
  const gradTol = c.tol?.grad ?? 1e-2;
  const eps = c.tol?.eps ?? 1e-3;
  const before = wk.memory().numTensors;
  const seedBase = hashName(c.name) + 1000 * ci;
  withGuards(() => wk.tidy(() => {
    const xs = makeInputs(specs, seedBase).map((t) => (backend.toDevice ? backend.toDevice(t) : t));
    c.gradInputs.forEach((i) => xs[i].requireGrad());
    // Forward against the reference.
    const out = c.forward(xs);
    const ref = c.reference(xs.map(toArr));
    expect(out.shape).toEqual(ref.shape);
    const o = out.toFloat32Array();
    for (let i = 0; i < o.length; ++i) {
      const r = ref.data[i];
      if (!(Math.abs(o[i] - r) <= fwdTol * (1 + Math.abs(r))))
        throw new Error(`${label}: forward[${i}] = ${o[i]}, reference ${r}`);
    }
    // Backward against central finite differences.
    const seedT = wk.randn(out.shape, { seed: seedBase + 7 });
    const seed = seedT.toFloat32Array();
    let absLoss = 0;
    for (let i = 0; i < o.length; ++i) absLoss += Math.abs(o[i] * seed[i]);
    out.backward(seedT);
    for (const k of c.gradInputs) {
      const x = xs[k];
      expect(x.grad).not.toBeNull();
      const an = x.grad!.toFloat32Array();
      const xd = x.f32();
      let scale = 0;
      for (const v of an) scale = Math.max(scale, Math.abs(v));
      // float32 rounding of the outputs limits a finite difference: allow a few ulps of the loss.
      const noise = (8 * 2 ** -24 * absLoss) / (2 * eps);
      for (const j of sampleIndices(xd.length, seedBase + 13 * k)) {
        const v = xd[j];
        xd[j] = Math.fround(v + eps);
        const hi = xd[j];
        const lp = lossOf(c, xs, seed);
        xd[j] = Math.fround(v - eps);
        const lo = xd[j];
        const lm = lossOf(c, xs, seed);
        xd[j] = v;
        const fd = (lp - lm) / (hi - lo);
        if (!(Math.abs(fd - an[j]) <= gradTol * (Math.abs(an[j]) + 0.1 * scale + 1e-3) + noise))
          throw new Error(`${label}: d/dinput${k}[${j}] analytic ${an[j]}, finite difference ${fd}`);
      }
    }
    seedT.dispose();
    out.dispose();
    xs.forEach((x) => x.dispose());
  }));
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
        test(c.name, () => {
          c.configs.forEach((specs, ci) => runCase(c, specs, ci, b));
        });
      }
    });
  }
}

runOpTable(opCases, backends);

test('guarded allocation catches an out-of-bounds write', () => {
  withGuards(() => {
    const t = wk.zeros([5]);
    const raw = t.f32();
    // Write one past the end through the underlying buffer.
    new Float32Array(raw.buffer, raw.byteOffset, raw.length + 1)[raw.length] = 1;
    t.dispose();
  });
  expect(() => checkGuards('probe')).toThrow(/wrote outside a buffer of 5 float32/);
});
