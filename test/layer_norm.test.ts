/**
 * LayerNorm and GELU beyond the op table: the native fast LayerNorm against its plain double
 * reference on every ISA path (row sums in vector lanes, remainders, row chunks of the gw/gb
 * sums), bit-identical for 1 and 2 threads; large means and constant rows; argument errors of
 * layerNorm; nn.LayerNorm and nn.GELU; GELU at known values and in its lower tail. Values and
 * finite-difference gradients on every backend column: test/op_table.ts.
 */
import * as wk from '../src/index';
import { native } from '../src/backend/native';
import { gelu64, refLayerNorm } from './op_table';

let state = 4242;
function rand(n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    a[i] = offset + ((state / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

interface Run {
  y: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  gx: Float32Array;
  gw: Float32Array;
  gb: Float32Array;
}

/** Forward and backward of the fast kernels (or the reference) on the same inputs. */
function run(ref: boolean, x: Float32Array, w: Float32Array | null, b: Float32Array | null, gy: Float32Array, R: number, C: number, eps: number): Run {
  const o: Run = {
    y: new Float32Array(R * C).fill(NaN),
    mean: new Float32Array(R).fill(NaN),
    rstd: new Float32Array(R).fill(NaN),
    gx: new Float32Array(R * C).fill(NaN),
    gw: new Float32Array(C).fill(NaN),
    gb: new Float32Array(C).fill(NaN),
  };
  const sfx = ref ? 'Reference' : '';
  native[`layerNormForward${sfx}`](x, w, b, R, C, eps, o.y, o.mean, o.rstd);
  native[`layerNormBackward${sfx}`](x, w, o.mean, o.rstd, gy, R, C, o.gx, w ? o.gw : null, o.gb);
  return o;
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let e = 0;
  for (let i = 0; i < a.length; ++i) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 0.01 * scale, 1e-6);
    e = Number.isNaN(d) ? Infinity : Math.max(e, d);
  }
  return e;
}

const SHAPES: [number, number][] = [
  [1, 1], [5, 1], [7, 33], [3, 16], [2, 15], [4, 17], [33, 64], [130, 5], [3, 1100], [1, 4099], [1000, 96],
];

describe('layerNorm kernels', () => {
  const threads = wk.getNumThreads();
  afterAll(() => {
    native.setIsaCap('avx512');
    wk.setNumThreads(threads);
  });

  for (const isa of ['portable', 'avx2', 'avx512']) {
    test(`${isa}: fast forward/backward match the double reference (weights, no weights, large means)`, () => {
      native.setIsaCap(isa);
      for (const [R, C] of SHAPES)
        for (const [affine, offset] of [[true, 0], [false, 0], [true, 100]] as [boolean, number][]) {
          const x = rand(R * C, 2, offset), gy = rand(R * C);
          const w = affine ? rand(C, 1, 0.5) : null, b = affine ? rand(C) : null;
          const fast = run(false, x, w, b, gy, R, C, 1e-5);
          const ref = run(true, x, w, b, gy, R, C, 1e-5);
          for (const k of ['y', 'mean', 'rstd', 'gx', 'gw', 'gb'] as const) {
            if (!w && k === 'gw') continue;
            const err = maxRel(fast[k], ref[k]);
            // the mean is kept in float (as PyTorch's): with a mean of 100 and std ~1 its rounding
            // (2^-24 * 100) shifts every normalized value by ~4e-6 (errors are relative to 1% of the largest)
            const tol = offset ? 1e-3 : 2e-5;
            if (!(err < tol)) throw new Error(`${isa} R=${R} C=${C} affine=${affine} offset=${offset}: ${k} error ${err}`);
          }
        }
    });
  }

  test('the double reference matches the float64 JS reference', () => {
    const R = 7, C = 33;
    const x = rand(R * C, 3, 1), w = rand(C), b = rand(C);
    const ref = run(true, x, w, b, rand(R * C), R, C, 1e-5);
    const js = refLayerNorm({ data: Float64Array.from(x), shape: [R, C] }, { data: Float64Array.from(w), shape: [C] }, { data: Float64Array.from(b), shape: [C] });
    for (let i = 0; i < R * C; ++i) expect(Math.abs(ref.y[i] - js.data[i])).toBeLessThan(1e-6 * (1 + Math.abs(js.data[i])));
  });

  test('1 and 2 threads give bit-identical results on every path (gw/gb summed in fixed row chunks)', () => {
    for (const isa of ['portable', 'avx2', 'avx512']) {
      native.setIsaCap(isa);
      for (const [R, C] of [[1000, 96], [130, 5], [3, 1100], [4099, 3]]) {
        const x = rand(R * C, 2), gy = rand(R * C), w = rand(C), b = rand(C);
        wk.setNumThreads(1);
        const one = run(false, x, w, b, gy, R, C, 1e-5);
        wk.setNumThreads(2);
        const two = run(false, x, w, b, gy, R, C, 1e-5);
        for (const k of ['y', 'mean', 'rstd', 'gx', 'gw', 'gb'] as const)
          expect([isa, R, C, k, Buffer.from(two[k].buffer).equals(Buffer.from(one[k].buffer))]).toEqual([isa, R, C, k, true]);
      }
    }
  });

  test('a constant row normalizes to the bias (gx = rstd (dxhat - mean dxhat)); C = 1 has gx = 0; R = 0 gives zero gw/gb', () => {
    const C = 9;
    const x = new Float32Array(2 * C).fill(3.25), w = rand(C), b = rand(C), gy = rand(2 * C);
    const o = run(false, x, w, b, gy, 2, C, 1e-5);
    for (let i = 0; i < 2 * C; ++i) expect(o.y[i]).toBe(b[i % C]);
    expect(Array.from(o.mean)).toEqual([3.25, 3.25]);
    for (let r = 0; r < 2; ++r) {
      let m = 0;
      for (let i = 0; i < C; ++i) m += (gy[r * C + i] * w[i]) / C;
      for (let i = 0; i < C; ++i) {
        const want = o.rstd[r] * (gy[r * C + i] * w[i] - m);
        expect(Math.abs(o.gx[r * C + i] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
    const one = run(false, rand(5, 3), rand(1), rand(1), rand(5), 5, 1, 1e-5);
    expect(Array.from(one.gx)).toEqual([0, 0, 0, 0, 0]);
    const gw = new Float32Array(C).fill(NaN), gb = new Float32Array(C).fill(NaN);
    native.layerNormBackward(new Float32Array(0), w, new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, C, new Float32Array(0), gw, gb);
    expect(Array.from(gw)).toEqual(new Array(C).fill(0));
    expect(Array.from(gb)).toEqual(new Array(C).fill(0));
  });

  test('native argument checks', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => native.layerNormForward(f(6), f(3), null, 2, 3, 1e-5, f(5), f(2), f(2))).toThrow(/layerNormForward: y must have 6 elements, got 5/);
    expect(() => native.layerNormForward(f(6), f(2), null, 2, 3, 1e-5, f(6), f(2), f(2))).toThrow(/layerNormForward: weight must be at least 3 elements, got 2/);
    expect(() => native.layerNormForward(f(6), null, null, 2, 3, -1, f(6), f(2), f(2))).toThrow(/layerNormForward: eps must be a finite number >= 0/);
    expect(() => native.layerNormForward(f(0), null, null, 0, 0, 1e-5, f(0), f(0), f(0))).toThrow(/layerNormForward: C must be an integer in \[1,/);
    expect(() => native.layerNormBackward(f(6), null, f(2), f(1), f(6), 2, 3, f(6), null, null)).toThrow(/layerNormBackward: rstd must have 2 elements, got 1/);
  });
});

describe('layerNorm op', () => {
  test('argument errors name the function and the argument', () => {
    const x = wk.randn([4, 5], { seed: 1 });
    expect(() => wk.layerNorm(x, wk.ones([4]))).toThrow(/layerNorm: weight must have shape \[5\] \(the last dimension of x\), got \[4\]/);
    expect(() => wk.layerNorm(x, null, wk.ones([1, 5]))).toThrow(/layerNorm: bias must have shape \[5\]/);
    expect(() => wk.layerNorm(x, null, null, -1)).toThrow(RangeError);
    expect(() => wk.layerNorm(x, null, null, NaN)).toThrow(/layerNorm: eps must be a finite number, got NaN/);
    expect(() => wk.layerNorm(wk.tensor([1]).reshape([]))).toThrow(/layerNorm: x must have at least one dimension/);
    expect(() => wk.layerNorm(wk.zeros([3, 0]))).toThrow(/layerNorm: the last dimension of x must not be empty/);
    expect(() => wk.layerNorm(wk.tensor(new Int32Array([1, 2]), [2]))).toThrow(/layerNorm: x must be float32, got int32/);
    expect(() => wk.layerNorm(x, wk.tensor(new Int32Array(5), [5]))).toThrow(/layerNorm: weight must be float32/);
    expect(() => wk.layerNorm('x' as unknown as wk.Tensor)).toThrow(TypeError);
  });

  test('no grad mode records nothing; gradients flow only to inputs that want them', () => {
    const x = wk.randn([3, 6], { seed: 2 }).requireGrad();
    const w = wk.ones([6]);
    const y = wk.noGrad(() => wk.layerNorm(x, w, null));
    expect(y.requiresGrad).toBe(false);
    const z = wk.layerNorm(x, w, null);
    z.sum().backward();
    expect(w.grad).toBeNull();
    // d/dx of sum(layerNorm(x)) is 0 (each row's outputs sum to 0 whatever x is)
    for (const v of x.grad!.toFloat32Array()) expect(Math.abs(v)).toBeLessThan(1e-5);
  });
});

describe('nn.LayerNorm and nn.GELU', () => {
  test('LayerNorm: PyTorch names and init (weight ones, bias zeros), forward = layerNorm', () => {
    const m = new wk.nn.LayerNorm(5, { eps: 1e-3 });
    expect([...m.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([['weight', [5]], ['bias', [5]]]);
    expect(Array.from(m.weight!.toFloat32Array())).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(m.bias!.toFloat32Array())).toEqual([0, 0, 0, 0, 0]);
    const x = wk.randn([2, 3, 5], { seed: 3 });
    expect(Array.from(m.forward(x).toFloat32Array())).toEqual(Array.from(wk.layerNorm(x, m.weight, m.bias, 1e-3).toFloat32Array()));
    expect([...new wk.nn.LayerNorm(4, { elementwiseAffine: false }).namedParameters()]).toEqual([]);
    expect([...new wk.nn.LayerNorm(4, { bias: false }).namedParameters()].map(([n]) => n)).toEqual(['weight']);
    expect(() => new wk.nn.LayerNorm(0)).toThrow(/LayerNorm: normalizedShape must be an integer in \[1,/);
    expect(() => new wk.nn.LayerNorm(4, { eps: -1 })).toThrow(/LayerNorm: eps must be in \[0, Infinity\], got -1/);
  });

  test('GELU: the module is x.gelu(); values match PyTorch (exact erf form) incl. the lower tail', () => {
    const xs = [-12, -9, -6, -5, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 6, 20];
    const x = wk.tensor(xs);
    const y = new wk.nn.GELU().forward(x).toFloat32Array();
    expect(Array.from(y)).toEqual(Array.from(wk.gelu(x).toFloat32Array()));
    // torch.nn.functional.gelu(torch.tensor([1., -1., -5.], dtype=torch.float64))
    expect(y[xs.indexOf(1)]).toBeCloseTo(0.8413447460685429, 6);
    expect(y[xs.indexOf(-1)]).toBeCloseTo(-0.15865525393145707, 6);
    xs.forEach((v, i) => {
      const r = gelu64(Math.fround(v));
      // relative accuracy even where the value is tiny (x Phi(x) at x = -9 is ~1e-18)
      if (!(Math.abs(y[i] - r) <= 2e-6 * Math.abs(r) + 1e-30)) throw new Error(`gelu(${v}) = ${y[i]}, reference ${r}`);
    });
  });
});
