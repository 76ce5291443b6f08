import * as wk from '../src';
import { native } from '../src/backend/native';
import { lstmCell, lstmSequence, residualHead } from '../src/ops/lstm';
import { LSTM, LSTMCell } from '../src/nn/lstm';

// ---- float64 references -------------------------------------------------------------------
type F = Float64Array;
const sig = (v: number) => 1 / (1 + Math.exp(-v));

interface W { wih: F; whh: F; bih: F | null; bhh: F | null; I: number; H: number }

function cellRef(x: F, h: F | null, c: F | null, w: W, B: number): { h: F; c: F } {
  const { I, H } = w;
  const ho = new Float64Array(B * H);
  const co = new Float64Array(B * H);
  for (let b = 0; b < B; ++b) {
    const gates = new Float64Array(4 * H);
    for (let g = 0; g < 4 * H; ++g) {
      let s = (w.bih ? w.bih[g] : 0) + (w.bhh ? w.bhh[g] : 0);
      for (let k = 0; k < I; ++k) s += x[b * I + k] * w.wih[g * I + k];
      if (h) for (let k = 0; k < H; ++k) s += h[b * H + k] * w.whh[g * H + k];
      gates[g] = s;
    }
    for (let j = 0; j < H; ++j) {
      const i = sig(gates[j]), f = sig(gates[H + j]), gg = Math.tanh(gates[2 * H + j]), o = sig(gates[3 * H + j]);
      const cv = f * (c ? c[b * H + j] : 0) + i * gg;
      co[b * H + j] = cv;
      ho[b * H + j] = o * Math.tanh(cv);
    }
  }
  return { h: ho, c: co };
}

/** Batch-first sequence reference: x [B,T,I] -> y [B,T,H], hN, cN. */
function seqRef(x: F, h0: F | null, c0: F | null, w: W, B: number, T: number) {
  const { I, H } = w;
  const y = new Float64Array(B * T * H);
  let h = h0, c = c0;
  for (let t = 0; t < T; ++t) {
    const xt = new Float64Array(B * I);
    for (let b = 0; b < B; ++b) for (let k = 0; k < I; ++k) xt[b * I + k] = x[(b * T + t) * I + k];
    const r = cellRef(xt, h, c, w, B);
    h = r.h;
    c = r.c;
    for (let b = 0; b < B; ++b) for (let j = 0; j < H; ++j) y[(b * T + t) * H + j] = h[b * H + j];
  }
  return { y, h: h ?? new Float64Array(B * H), c: c ?? new Float64Array(B * H) };
}

let seedCounter = 1000;
function rnd(n: number, scale = 1): Float32Array {
  const t = wk.randn([n], { seed: seedCounter++ });
  const d = t.toFloat32Array();
  for (let i = 0; i < n; ++i) d[i] *= scale;
  t.dispose();
  return d;
}
const f64 = (a: Float32Array) => Float64Array.from(a);

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 1e-6;
  for (let i = 0; i < a.length; ++i) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Central differences (float64) of sum(seed_k · out_k(params)) w.r.t. params[which]. */
function numGrad(params: F[], which: number, f: (p: F[]) => F[], seeds: F[], eps = 1e-6): F {
  const p = params[which];
  const g = new Float64Array(p.length);
  const loss = () => f(params).reduce((s, o, k) => s + o.reduce((t, v, i) => t + v * seeds[k][i], 0), 0);
  for (let i = 0; i < p.length; ++i) {
    const v = p[i];
    p[i] = v + eps;
    const lp = loss();
    p[i] = v - eps;
    const lm = loss();
    p[i] = v;
    g[i] = (lp - lm) / (2 * eps);
  }
  return g;
}

/** numGrad at the listed entries of params[which] only. */
function sampledNumGrad(params: F[], which: number, idx: number[], f: (p: F[]) => F[], seeds: F[], eps = 1e-6): F {
  const p = params[which];
  const loss = () => f(params).reduce((s, o, k) => s + o.reduce((t, v, i) => t + v * seeds[k][i], 0), 0);
  return Float64Array.from(idx, (i) => {
    const v = p[i];
    p[i] = v + eps;
    const lp = loss();
    p[i] = v - eps;
    const lm = loss();
    p[i] = v;
    return (lp - lm) / (2 * eps);
  });
}

function t32(a: Float32Array, shape: number[], grad = true): wk.Tensor {
  return wk.tensor(a, shape, { requiresGrad: grad });
}

describe('LSTM kernels', () => {
  test.each([
    [3, 7, 5],
    [1, 1, 1],
    [2, 4, 3],
  ])('cell forward and backward match float64 references (B=%i I=%i H=%i)', (B, I, H) => {
    const a = {
      x: rnd(B * I), h: rnd(B * H, 0.5), c: rnd(B * H, 0.5),
      wih: rnd(4 * H * I, 0.5), whh: rnd(4 * H * H, 0.5), bih: rnd(4 * H, 0.3), bhh: rnd(4 * H, 0.3),
    };
    const x = t32(a.x, [B, I]), h = t32(a.h, [B, H]), c = t32(a.c, [B, H]);
    const wih = t32(a.wih, [4 * H, I]), whh = t32(a.whh, [4 * H, H]), bih = t32(a.bih, [4 * H]), bhh = t32(a.bhh, [4 * H]);
    const [ho, co] = lstmCell(x, h, c, wih, whh, bih, bhh);
    const params = [a.x, a.h, a.c, a.wih, a.whh, a.bih, a.bhh].map(f64);
    const fwd = (p: F[]) => {
      const r = cellRef(p[0], p[1], p[2], { wih: p[3], whh: p[4], bih: p[5], bhh: p[6], I, H }, B);
      return [r.h, r.c];
    };
    const ref = fwd(params);
    expect(maxRelErr(ho.toFloat32Array(), ref[0])).toBeLessThan(2e-6);
    expect(maxRelErr(co.toFloat32Array(), ref[1])).toBeLessThan(2e-6);
    const seeds = [f64(rnd(B * H)), f64(rnd(B * H))];
    const both = wk.concat([ho.reshape(-1), co.reshape(-1)], 0);
    both.backward(wk.tensor(Float32Array.from([...seeds[0], ...seeds[1]])));
    const tensors = [x, h, c, wih, whh, bih, bhh];
    for (let k = 0; k < tensors.length; ++k) {
      const g = numGrad(params, k, fwd, seeds);
      expect(maxRelErr(tensors[k].grad!.toFloat32Array(), g)).toBeLessThan(1e-4);
    }
  });

  test('cell without state or biases equals zeros for them', () => {
    const B = 2, I = 3, H = 4;
    const x = t32(rnd(B * I), [B, I]);
    const wih = t32(rnd(4 * H * I), [4 * H, I]), whh = t32(rnd(4 * H * H), [4 * H, H]);
    const [h1, c1] = lstmCell(x, null, null, wih, whh);
    const [h2, c2] = lstmCell(x, wk.zeros([B, H]), wk.zeros([B, H]), wih, whh, wk.zeros([4 * H]), wk.zeros([4 * H]));
    expect(Array.from(h1.toFloat32Array())).toEqual(Array.from(h2.toFloat32Array()));
    expect(Array.from(c1.toFloat32Array())).toEqual(Array.from(c2.toFloat32Array()));
  });

  test.each([
    [2, 5, 3, 4, true],
    [3, 1, 1, 2, false],
    [1, 4, 6, 3, true],
  ])('sequence op: B=%i T=%i I=%i H=%i batchFirst=%s, forward and backward through time', (B, T, I, H, bf) => {
    const a = {
      x: rnd(B * T * I), h0: rnd(B * H, 0.5), c0: rnd(B * H, 0.5),
      wih: rnd(4 * H * I, 0.5), whh: rnd(4 * H * H, 0.5), bih: rnd(4 * H, 0.3), bhh: rnd(4 * H, 0.3),
    };
    // The reference is batch-first; a time-major x holds the same values transposed.
    const toLayout = (v: Float32Array, n: number) => {
      if (bf) return v;
      const o = new Float32Array(v.length);
      for (let b = 0; b < B; ++b) for (let t = 0; t < T; ++t) for (let k = 0; k < n; ++k) o[(t * B + b) * n + k] = v[(b * T + t) * n + k];
      return o;
    };
    const x = t32(toLayout(a.x, I), bf ? [B, T, I] : [T, B, I]);
    const h0 = t32(a.h0, [B, H]), c0 = t32(a.c0, [B, H]);
    const wih = t32(a.wih, [4 * H, I]), whh = t32(a.whh, [4 * H, H]), bih = t32(a.bih, [4 * H]), bhh = t32(a.bhh, [4 * H]);
    const [y, hN, cN] = lstmSequence(x, h0, c0, wih, whh, bih, bhh, bf);
    const params = [a.x, a.h0, a.c0, a.wih, a.whh, a.bih, a.bhh].map(f64);
    const fwd = (p: F[]) => {
      const r = seqRef(p[0], p[1], p[2], { wih: p[3], whh: p[4], bih: p[5], bhh: p[6], I, H }, B, T);
      return [r.y, r.h, r.c];
    };
    const ref = fwd(params);
    expect(maxRelErr(y.toFloat32Array(), toLayout(Float32Array.from(ref[0]), H))).toBeLessThan(2e-6);
    expect(maxRelErr(hN.toFloat32Array(), ref[1])).toBeLessThan(2e-6);
    expect(maxRelErr(cN.toFloat32Array(), ref[2])).toBeLessThan(2e-6);
    const seeds = [f64(rnd(B * T * H)), f64(rnd(B * H)), f64(rnd(B * H))];
    const all = wk.concat([y.reshape(-1), hN.reshape(-1), cN.reshape(-1)], 0);
    all.backward(wk.tensor(Float32Array.from([...toLayout(Float32Array.from(seeds[0]), H), ...seeds[1], ...seeds[2]])));
    const tensors = [x, h0, c0, wih, whh, bih, bhh];
    for (let k = 0; k < tensors.length; ++k) {
      const g = numGrad(params, k, fwd, seeds);
      const want = k === 0 ? toLayout(Float32Array.from(g), I) : g;
      expect(maxRelErr(tensors[k].grad!.toFloat32Array(), want)).toBeLessThan(1e-4);
    }
  });

  test.each([[1], [7], [67], [129]])('sequence op equals the cell unrolled (H=%i), values and gradients', (H) => {
    const B = 3, T = 4, I = 5;
    const xa = rnd(B * T * I), wiha = rnd(4 * H * I, 0.3), whha = rnd(4 * H * H, 0.3), ba = rnd(4 * H, 0.2), bb = rnd(4 * H, 0.2);
    const mk = () => ({
      x: t32(xa, [B, T, I]), wih: t32(wiha, [4 * H, I]), whh: t32(whha, [4 * H, H]), bih: t32(ba, [4 * H]), bhh: t32(bb, [4 * H]),
    });
    const s = mk();
    const [y] = lstmSequence(s.x, null, null, s.wih, s.whh, s.bih, s.bhh, true);
    const u = mk();
    let h: wk.Tensor | null = null, c: wk.Tensor | null = null;
    const hs: wk.Tensor[] = [];
    for (let t = 0; t < T; ++t) {
      const xt = u.x.slice([0, t, 0], [B, 1, I]).reshape(B, I);
      [h, c] = lstmCell(xt, h, c, u.wih, u.whh, u.bih, u.bhh);
      hs.push(h);
    }
    const yu = wk.stack(hs, 1);
    expect(maxRelErr(y.toFloat32Array(), yu.toFloat32Array())).toBeLessThan(1e-6);
    const seed = wk.tensor(rnd(B * T * H), [B, T, H]);
    y.backward(seed);
    yu.backward(seed);
    for (const k of ['x', 'wih', 'whh', 'bih', 'bhh'] as const)
      expect(maxRelErr(s[k].grad!.toFloat32Array(), u[k].grad!.toFloat32Array())).toBeLessThan(1e-5);
  });

  test('residual head: forward and float64 finite-difference gradients', () => {
    const R = 5, D = 7, K = 3;
    const a = { z: rnd(R * D), h: rnd(R * K), W: rnd(D * K), b: rnd(D) };
    const z = t32(a.z, [R, D]), h = t32(a.h, [R, K]), W = t32(a.W, [D, K]), b = t32(a.b, [D]);
    const out = residualHead(z, h, W, b);
    const params = [a.z, a.h, a.W, a.b].map(f64);
    const fwd = (p: F[]) => {
      const o = new Float64Array(R * D);
      for (let r = 0; r < R; ++r)
        for (let j = 0; j < D; ++j) {
          let s = p[0][r * D + j] + p[3][j];
          for (let k = 0; k < K; ++k) s += p[1][r * K + k] * p[2][j * K + k];
          o[r * D + j] = s;
        }
      return [o];
    };
    expect(maxRelErr(out.toFloat32Array(), fwd(params)[0])).toBeLessThan(1e-6);
    const seeds = [f64(rnd(R * D))];
    out.backward(wk.tensor(Float32Array.from(seeds[0]), [R, D]));
    [z, h, W, b].forEach((t, k) => expect(maxRelErr(t.grad!.toFloat32Array(), numGrad(params, k, fwd, seeds))).toBeLessThan(1e-5));
    // Without residual: out = h·Wᵀ + b.
    const o2 = residualHead(null, h, W, b).toFloat32Array();
    const o1 = out.toFloat32Array();
    for (let i = 0; i < o1.length; ++i) expect(o2[i]).toBeCloseTo(o1[i] - a.z[i], 5);
  });

  test('native sequence op writes only its outputs (guard values)', () => {
    const B = 2, T = 3, I = 3, H = 5, G = 8, rows = B * T;
    const buf = (n: number) => {
      const all = new Float32Array(n + 2 * G).fill(-777);
      return { all, v: all.subarray(G, G + n) };
    };
    const x = rnd(rows * I), wih = rnd(4 * H * I), whh = rnd(4 * H * H);
    const y = buf(rows * H), gates = buf(rows * 4 * H), tc = buf(rows * H), cs = buf((T + 1) * B * H), hN = buf(B * H), cN = buf(B * H);
    native.lstmSequenceForward(x, null, null, wih, whh, null, null, T, B, I, H, true, y.v, gates.v, tc.v, cs.v, hN.v, cN.v);
    const dx = buf(rows * I), dwih = buf(4 * H * I), dwhh = buf(4 * H * H), db = buf(4 * H);
    native.lstmSequenceBackward(x, null, y.v, gates.v, tc.v, cs.v, wih, whh, rnd(rows * H), null, null, T, B, I, H, true,
      dx.v, null, null, dwih.v, dwhh.v, db.v, null);
    for (const b of [y, gates, tc, cs, hN, cN, dx, dwih, dwhh, db]) {
      for (let i = 0; i < G; ++i) {
        expect(b.all[i]).toBe(-777);
        expect(b.all[b.all.length - 1 - i]).toBe(-777);
      }
      expect(b.v.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  test('native argument checks throw instead of crashing', () => {
    const f = new Float32Array(4);
    expect(() => native.lstmCellForward(f, null, null, f, f, null, null, 1, 1, 1, new Float32Array(3), f.subarray(0, 1), f.subarray(0, 1), f.subarray(0, 1)))
      .toThrow(/lstmCellForward: x must be 1 elements, got 4 elements/);
    expect(() => native.lstmSequenceForward(f, null, null, f, f, null, null, 1, 1, 1, -1, true, f, f, f, f)).toThrow(/H must be an integer/);
    expect(() => native.residualHeadForward(null, f, f, null, 2, 2, 2, new Float32Array(3))).toThrow(/out must be 4 elements/);
    expect(() => lstmCell(wk.zeros([2, 3]), null, null, wk.zeros([8, 3]), wk.zeros([8, 3]))).toThrow(/lstmCell: weight_hh must be \[4H,H\]/);
    expect(() => lstmSequence(wk.zeros([2, 3]), null, null, wk.zeros([8, 3]), wk.zeros([8, 2]))).toThrow(/lstmSequence: x must be \[T,B,I\]/);
  });
});

describe('LSTM kernels on every instruction set (portable, AVX2, AVX-512 pointwise passes)', () => {
  // setIsaCap caps at what the CPU has: on a machine without AVX-512 'avx512' runs the AVX2 path.
  afterAll(() => native.setIsaCap('avx512'));
  const isas = ['portable', 'avx2', 'avx512'];
  test.each([
    [1, 3, 1, 1],
    [3, 4, 7, 7],
    [2, 3, 5, 67],
  ])('sequence forward and BPTT match float64 references and finite differences (B=%i T=%i I=%i H=%i)', (B, T, I, H) => {
    // Fresh data per size; large enough pre-activations to reach the exp/tanh tails.
    const a = {
      x: rnd(B * T * I, 1.5), h0: rnd(B * H, 0.8), c0: rnd(B * H, 0.8),
      wih: rnd(4 * H * I, 0.6), whh: rnd(4 * H * H, 0.6 / Math.sqrt(H)), bih: rnd(4 * H, 0.5), bhh: rnd(4 * H, 0.5),
    };
    const params = [a.x, a.h0, a.c0, a.wih, a.whh, a.bih, a.bhh].map(f64);
    const fwd = (p: F[]) => {
      const r = seqRef(p[0], p[1], p[2], { wih: p[3], whh: p[4], bih: p[5], bhh: p[6], I, H }, B, T);
      return [r.y, r.h, r.c];
    };
    const ref = fwd(params);
    const seeds = [f64(rnd(B * T * H)), f64(rnd(B * H)), f64(rnd(B * H))];
    // Central differences on at most 48 entries per parameter (spread over it): the H=67 weights
    // have thousands of entries.
    const picks = params.map((p) => Array.from({ length: Math.min(p.length, 48) }, (_, i) => Math.floor((i * p.length) / Math.min(p.length, 48))));
    const numeric = params.map((p, k) => sampledNumGrad(params, k, picks[k], fwd, seeds));
    const at = (g: Float32Array, k: number) => Float64Array.from(picks[k], (i) => g[i]);
    const outs: Float32Array[][] = [];
    for (const isa of isas) {
      native.setIsaCap(isa);
      const x = t32(a.x, [B, T, I]), h0 = t32(a.h0, [B, H]), c0 = t32(a.c0, [B, H]);
      const wih = t32(a.wih, [4 * H, I]), whh = t32(a.whh, [4 * H, H]), bih = t32(a.bih, [4 * H]), bhh = t32(a.bhh, [4 * H]);
      const [y, hN, cN] = lstmSequence(x, h0, c0, wih, whh, bih, bhh, true);
      expect(maxRelErr(y.toFloat32Array(), ref[0])).toBeLessThan(2e-6);
      expect(maxRelErr(hN.toFloat32Array(), ref[1])).toBeLessThan(2e-6);
      expect(maxRelErr(cN.toFloat32Array(), ref[2])).toBeLessThan(2e-6);
      const all = wk.concat([y.reshape(-1), hN.reshape(-1), cN.reshape(-1)], 0);
      all.backward(wk.tensor(Float32Array.from([...seeds[0], ...seeds[1], ...seeds[2]])));
      const tensors = [x, h0, c0, wih, whh, bih, bhh];
      for (let k = 0; k < tensors.length; ++k) expect(maxRelErr(at(tensors[k].grad!.toFloat32Array(), k), numeric[k])).toBeLessThan(1e-4);
      outs.push([y.toFloat32Array(), ...tensors.map((t) => t.grad!.toFloat32Array())]);
      // The cell kernel on the same ISA: one step from (h0, c0).
      const xt = x.slice([0, 0, 0], [B, 1, I]).reshape(B, I);
      const [h1, c1] = lstmCell(xt, h0, c0, wih, whh, bih, bhh);
      const r1 = cellRef(f64(xt.toFloat32Array()), params[1], params[2], { wih: params[3], whh: params[4], bih: params[5], bhh: params[6], I, H }, B);
      expect(maxRelErr(h1.toFloat32Array(), r1.h)).toBeLessThan(2e-6);
      expect(maxRelErr(c1.toFloat32Array(), r1.c)).toBeLessThan(2e-6);
    }
    // The ISAs agree with each other to float rounding.
    for (let i = 1; i < outs.length; ++i)
      for (let k = 0; k < outs[0].length; ++k) expect(maxRelErr(outs[i][k], outs[0][k])).toBeLessThan(1e-5);
  });
});

describe('LSTMCell and LSTM modules', () => {
  test('parameter names, shapes and U(-1/sqrt(H), 1/sqrt(H)) init, seeded', () => {
    const cell = new LSTMCell(6, 16, { seed: 3 });
    expect([...cell.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['weight_ih', [64, 6]], ['weight_hh', [64, 16]], ['bias_ih', [64]], ['bias_hh', [64]],
    ]);
    const all = cell.parameters().flatMap((p) => Array.from(p.toFloat32Array()));
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...all.map(Math.abs))).toBeGreaterThan(0.2);
    const again = new LSTMCell(6, 16, { seed: 3 });
    expect(Array.from(again.weight_hh.toFloat32Array())).toEqual(Array.from(cell.weight_hh.toFloat32Array()));
    const lstm = new LSTM(5, 4, { numLayers: 2 });
    expect(Object.keys(lstm.stateDict())).toEqual([
      'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
    ]);
    expect(lstm.stateDict().weight_ih_l1.shape).toEqual([16, 4]);
  });

  test('2-layer LSTM equals two cells stepped by hand, batchFirst and not', () => {
    const I = 3, H = 4, B = 2, T = 5;
    for (const batchFirst of [true, false]) {
      const lstm = new LSTM(I, H, { numLayers: 2, batchFirst, seed: 9 });
      const x = wk.randn(batchFirst ? [B, T, I] : [T, B, I], { seed: 4 });
      const h0 = wk.randn([2, B, H], { seed: 5 }), c0 = wk.randn([2, B, H], { seed: 6 });
      const [out, [hN, cN]] = lstm.forward(x, [h0, c0]);
      expect(out.shape).toEqual(batchFirst ? [B, T, H] : [T, B, H]);
      expect(hN.shape).toEqual([2, B, H]);
      const step = (t: number) => (batchFirst ? x.slice([0, t, 0], [B, 1, I]).reshape(B, I) : x.index(t));
      let s0: [wk.Tensor, wk.Tensor] = [h0.index(0), c0.index(0)];
      let s1: [wk.Tensor, wk.Tensor] = [h0.index(1), c0.index(1)];
      const L = lstm.layers;
      const outs: wk.Tensor[] = [];
      for (let t = 0; t < T; ++t) {
        s0 = lstmCell(step(t), s0[0], s0[1], L[0].wih, L[0].whh, L[0].bih, L[0].bhh);
        s1 = lstmCell(s0[0], s1[0], s1[1], L[1].wih, L[1].whh, L[1].bih, L[1].bhh);
        outs.push(s1[0]);
      }
      const ref = wk.stack(outs, batchFirst ? 1 : 0);
      expect(maxRelErr(out.toFloat32Array(), ref.toFloat32Array())).toBeLessThan(1e-6);
      expect(maxRelErr(hN.toFloat32Array(), wk.stack([s0[0], s1[0]]).toFloat32Array())).toBeLessThan(1e-6);
      expect(maxRelErr(cN.toFloat32Array(), wk.stack([s0[1], s1[1]]).toFloat32Array())).toBeLessThan(1e-6);
    }
  });

  test('module errors name the argument', () => {
    const cell = new LSTMCell(3, 4);
    expect(() => cell.forward(wk.zeros([2, 5]))).toThrow('LSTMCell.forward: x must be [B,3], got [2,5]');
    const lstm = new LSTM(3, 4, { numLayers: 2, batchFirst: true });
    expect(() => lstm.forward(wk.zeros([2, 5, 3]), [wk.zeros([1, 2, 4]), wk.zeros([2, 2, 4])])).toThrow(
      'LSTM.forward: h0 must be [2,2,4] (numLayers, batch, hidden), got [1,2,4]',
    );
    expect(() => lstm.forward(wk.zeros([2, 3]))).toThrow('LSTM.forward: x must be [B,T,3], got [2,3]');
  });
});
