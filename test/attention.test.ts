/**
 * Fused causal attention beyond the op table (test/op_table.ts: causalAttention values and
 * q/k/v gradients against a float64 reference on every backend column and SIMD path): the fused
 * kernels against the plain reference that materialises the scores at the predictor's sizes
 * (many tiles), decoding against a cache equals the last rows of the full pass, results that do
 * not depend on the thread count, and the argument checks of the op and of the native binding.
 */
import * as wk from '../src';
import { native } from '../src/backend/native';
import { maxRelErr, normalArrays } from './helpers/compare';

const rnd = normalArrays(4000);

interface Run {
  o: Float32Array;
  lse: Float32Array;
  gq: Float32Array;
  gk: Float32Array;
  gv: Float32Array;
}

/** The native forward and backward (fused or reference) on host arrays. */
function runNative(reference: boolean, BH: number, Tq: number, Tk: number, dh: number, bs: number, q: Float32Array, k: Float32Array, v: Float32Array, go: Float32Array): Run {
  const scale = 1 / Math.sqrt(dh);
  const o = new Float32Array(BH * Tq * dh), lse = new Float32Array(BH * Tq);
  const gq = new Float32Array(BH * Tq * dh), gk = new Float32Array(BH * Tk * dh), gv = new Float32Array(BH * Tk * dh);
  const fwd = reference ? native.attentionForwardReference : native.attentionForward;
  const bwd = reference ? native.attentionBackwardReference : native.attentionBackward;
  fwd(q, k, v, o, lse, BH, Tq, Tk, dh, bs, scale);
  bwd(q, k, v, o, lse, go, BH, Tq, Tk, dh, bs, scale, gq, gk, gv);
  return { o, lse, gq, gk, gv };
}

describe('fused attention kernels', () => {
  test.each([
    // BH, Tq, Tk, dh, tokensPerFrame: the predictor's shape (16 frames of 17 tokens), plain causal, decoding
    [8, 272, 272, 32, 17],
    [3, 200, 200, 16, 1],
    [4, 17, 272, 32, 17],
    [2, 45, 130, 7, 5],
  ])('fused equals the plain reference (BH=%d Tq=%d Tk=%d dh=%d tokensPerFrame=%d)', (BH, Tq, Tk, dh, bs) => {
    const q = rnd(BH * Tq * dh), k = rnd(BH * Tk * dh), v = rnd(BH * Tk * dh), go = rnd(BH * Tq * dh);
    const f = runNative(false, BH, Tq, Tk, dh, bs, q, k, v, go);
    const r = runNative(true, BH, Tq, Tk, dh, bs, q, k, v, go);
    expect(maxRelErr(f.o, r.o)).toBeLessThan(2e-5);
    expect(maxRelErr(f.lse, r.lse)).toBeLessThan(2e-5);
    expect(maxRelErr(f.gq, r.gq)).toBeLessThan(5e-5);
    expect(maxRelErr(f.gk, r.gk)).toBeLessThan(5e-5);
    expect(maxRelErr(f.gv, r.gv)).toBeLessThan(5e-5);
  });

  test('decoding the newest frame against the cache equals the last rows of the full pass', () => {
    const B = 2, nH = 2, frames = 5, bs = 4, dh = 8, T = frames * bs;
    const q = wk.tensor(rnd(B * nH * T * dh), [B, nH, T, dh]);
    const k = wk.tensor(rnd(B * nH * T * dh), [B, nH, T, dh]);
    const v = wk.tensor(rnd(B * nH * T * dh), [B, nH, T, dh]);
    const full = wk.causalAttention(q, k, v, { tokensPerFrame: bs }).toFloat32Array();
    const qLast = wk.slice(q, [0, 0, T - bs, 0], [B, nH, bs, dh]);
    const dec = wk.causalAttention(qLast, k, v, { tokensPerFrame: bs }).toFloat32Array();
    const want = new Float32Array(B * nH * bs * dh);
    for (let bh = 0; bh < B * nH; ++bh) want.set(full.subarray((bh * T + T - bs) * dh, (bh * T + T) * dh), bh * bs * dh);
    expect(maxRelErr(dec, want)).toBeLessThan(1e-6);
    wk.dispose([q, k, v, qLast]);
  });

  test('tokensPerFrame groups a frame: a token sees the later tokens of its own frame', () => {
    // With v = one-hot positions, o_i is the attention distribution of query i: zero beyond its frame.
    const T = 6, bs = 3;
    const vData = new Float32Array(T * T);
    for (let j = 0; j < T; ++j) vData[j * T + j] = 1;
    const v = wk.tensor(vData, [1, 1, T, T]);
    const kk = wk.zeros([1, 1, T, T]), qq = wk.zeros([1, 1, T, T]);
    const p = wk.causalAttention(qq, kk, v, { tokensPerFrame: bs }).toFloat32Array();
    for (let i = 0; i < T; ++i) {
      const visible = (Math.floor(i / bs) + 1) * bs;
      for (let j = 0; j < T; ++j) expect(p[i * T + j]).toBeCloseTo(j < visible ? 1 / visible : 0, 6);
    }
    wk.dispose([v, kk, qq]);
  });

  test('results do not depend on the thread count', () => {
    const BH = 6, T = 150, dh = 12, bs = 5;
    const q = rnd(BH * T * dh), k = rnd(BH * T * dh), v = rnd(BH * T * dh), go = rnd(BH * T * dh);
    const threads = wk.getNumThreads();
    try {
      const a = runNative(false, BH, T, T, dh, bs, q, k, v, go);
      wk.setNumThreads(1);
      const b = runNative(false, BH, T, T, dh, bs, q, k, v, go);
      for (const key of ['o', 'lse', 'gq', 'gk', 'gv'] as const) expect(Buffer.from(a[key].buffer).equals(Buffer.from(b[key].buffer))).toBe(true);
    } finally {
      wk.setNumThreads(threads);
    }
  });

  test('gradients of inputs that need none are not computed, and the others are unchanged', () => {
    const shape = [1, 2, 9, 4];
    const q = wk.tensor(rnd(72), shape, { requiresGrad: true });
    const k = wk.tensor(rnd(72), shape);
    const v = wk.tensor(rnd(72), shape, { requiresGrad: true });
    const o = wk.causalAttention(q, k, v, { tokensPerFrame: 3 });
    wk.sum(wk.mul(o, o)).backward();
    expect(k.grad).toBeNull();
    const q2 = wk.tensor(q.toFloat32Array(), shape, { requiresGrad: true });
    const k2 = wk.tensor(k.toFloat32Array(), shape, { requiresGrad: true });
    const v2 = wk.tensor(v.toFloat32Array(), shape, { requiresGrad: true });
    const o2 = wk.causalAttention(q2, k2, v2, { tokensPerFrame: 3 });
    wk.sum(wk.mul(o2, o2)).backward();
    expect(Array.from(q.grad!.toFloat32Array())).toEqual(Array.from(q2.grad!.toFloat32Array()));
    expect(Array.from(v.grad!.toFloat32Array())).toEqual(Array.from(v2.grad!.toFloat32Array()));
    wk.dispose([q, k, v, o, q2, k2, v2, o2]);
  });
});

describe('attention on the emulated CUDA kernels', () => {
  const was = wk.cudaEmulated();
  let available = false;
  beforeAll(() => {
    wk.useCudaEmulation(true);
    available = wk.cudaStatus().available;
  });
  afterAll(() => wk.useCudaEmulation(was));

  test('the CUDA kernels equal the CPU ones at the predictor shape (many tiles), values and gradients', () => {
    if (!available) return; // the test addon is not built here (the op table reports that)
    const shape = [1, 2, 272, 32];
    const n = 2 * 272 * 32;
    const hq = rnd(n), hk = rnd(n), hv = rnd(n), hg = rnd(n);
    const run = (device: string) =>
      wk.tidy(() => {
        const q = wk.tensor(hq, shape).to(device).requireGrad();
        const k = wk.tensor(hk, shape).to(device).requireGrad();
        const v = wk.tensor(hv, shape).to(device).requireGrad();
        const o = wk.causalAttention(q, k, v, { tokensPerFrame: 17 });
        o.backward(wk.tensor(hg, shape).to(device));
        const grads = [q.grad!, k.grad!, v.grad!];
        const out = [o, ...grads].map((t) => t.toFloat32Array());
        wk.dispose(grads);
        return out;
      });
    const cpu = run('cpu');
    const cuda = run('cuda');
    cpu.forEach((c, i) => expect(maxRelErr(cuda[i], c)).toBeLessThan(5e-5));
  });

  test("head sizes above the CUDA kernels' bound are refused with a clear error", () => {
    if (!available) return;
    const x = wk.zeros([1, 1, 2, 129]).to('cuda');
    expect(() => wk.causalAttention(x, x, x)).toThrow(/dh must be at most 128 on 'cuda'/);
    x.dispose();
  });
});

describe('keyLength: decoding from a preallocated KV cache', () => {
  const was = wk.cudaEmulated();
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.useCudaEmulation(was));
  // k/v buffers of capacity 40 holding 23 keys (the rest garbage): the op reads only the keys.
  const B = 2, nH = 3, cap = 40, Tk = 23, Tq = 5, dh = 33;
  const hq = rnd(B * nH * Tq * dh), hk = rnd(B * nH * cap * dh, 3), hv = rnd(B * nH * cap * dh, 3);
  const ISAS = ['portable', 'avx2', 'avx512'];
  const best = wk.cpuIsa();
  for (const column of ['cpu portable', 'cpu avx2', 'cpu avx512', 'cuda']) {
    const [device, isa] = column.split(' ');
    test(`on ${column} it equals the op on the keys alone`, () => {
      if (device === 'cuda' && !wk.cudaStatus().available) return;
      if (isa && ISAS.indexOf(isa) > ISAS.indexOf(best)) return; // a path this CPU lacks
      if (isa) native.setIsaCap(isa);
      let got: Float32Array, want: Float32Array;
      try {
        [got, want] = wk.tidy(() =>
          wk.noGrad(() => {
            const q = wk.tensor(hq, [B, nH, Tq, dh]).to(device);
            const k = wk.tensor(hk, [B, nH, cap, dh]).to(device);
            const v = wk.tensor(hv, [B, nH, cap, dh]).to(device);
            const cached = wk.causalAttention(q, k, v, { tokensPerFrame: 5, keyLength: Tk }).toFloat32Array();
            const keys = wk.causalAttention(q, k.slice([0, 0, 0, 0], [B, nH, Tk, dh]), v.slice([0, 0, 0, 0], [B, nH, Tk, dh]), { tokensPerFrame: 5 }).toFloat32Array();
            return [cached, keys];
          }),
        );
        if (isa) expect(wk.cpuIsa()).toBe(isa);
      } finally {
        if (isa) native.setIsaCap(best);
      }
      expect(maxRelErr(got, want)).toBeLessThan(device === 'cpu' ? 1e-6 : 5e-5);
    });
  }
  test('it has no backward, and keyLength must fit the buffers', () => {
    const q = wk.randn([1, 1, 2, 4], { seed: 1 }).requireGrad();
    const k = wk.randn([1, 1, 6, 4], { seed: 2 });
    expect(() => wk.causalAttention(q, k, k, { keyLength: 3 })).toThrow(/causalAttention: keyLength 3 < the 6 positions of k \(a KV cache\) has no backward/);
    expect(() => wk.noGrad(() => wk.causalAttention(q, k, k, { keyLength: 7 }))).toThrow(/causalAttention: keyLength must be an integer in \[1, 6\], got 7/);
    expect(() => wk.noGrad(() => wk.causalAttention(q, k, k, { keyLength: 1 }))).toThrow(/Tq = 2 > Tk = 1/);
    expect(() => native.attentionForward(new Float32Array(8), new Float32Array(24), new Float32Array(24), new Float32Array(8), new Float32Array(2), 1, 2, 4, 4, 1, 0.5, 3)).toThrow(/kvRows must be 0 or at least Tk/);
  });
});

describe('causalAttention argument checks', () => {
  const t = (shape: number[]) => wk.zeros(shape);
  test.each([
    ['q must be [B,nH,Tq,dh]', () => wk.causalAttention(t([2, 3, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]))],
    ['k must be [1,2,Tk,4]', () => wk.causalAttention(t([1, 2, 3, 4]), t([1, 2, 3, 5]), t([1, 2, 3, 5]))],
    ['k must be [1,2,Tk,4]', () => wk.causalAttention(t([1, 2, 3, 4]), t([1, 3, 3, 4]), t([1, 3, 3, 4]))],
    ["v must have k's shape", () => wk.causalAttention(t([1, 2, 3, 4]), t([1, 2, 5, 4]), t([1, 2, 4, 4]))],
    ['Tq = 5 > Tk = 3', () => wk.causalAttention(t([1, 2, 5, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]))],
    ['dh must be at least 1', () => wk.causalAttention(t([1, 2, 3, 0]), t([1, 2, 3, 0]), t([1, 2, 3, 0]))],
    ['tokensPerFrame must be an integer in [1,', () => wk.causalAttention(t([1, 1, 3, 4]), t([1, 1, 3, 4]), t([1, 1, 3, 4]), { tokensPerFrame: 0 })],
    ['tokensPerFrame must be an integer', () => wk.causalAttention(t([1, 1, 3, 4]), t([1, 1, 3, 4]), t([1, 1, 3, 4]), { tokensPerFrame: 1.5 })],
    ['scale must be a finite number', () => wk.causalAttention(t([1, 1, 3, 4]), t([1, 1, 3, 4]), t([1, 1, 3, 4]), { scale: NaN })],
  ])('%s', (message, call) => {
    expect(call).toThrow(message);
  });

  test('int32 inputs are refused', () => {
    const i = wk.tensor(new Int32Array(12), [1, 1, 3, 4]);
    expect(() => wk.causalAttention(i, t([1, 1, 3, 4]), t([1, 1, 3, 4]))).toThrow(/causalAttention: q/);
  });

  test('the native binding checks sizes and Tq <= Tk', () => {
    const a = (n: number) => new Float32Array(n);
    expect(() => native.attentionForward(a(24), a(24), a(24), a(24), a(6), 1, 6, 6, 4, 1, 0.5)).not.toThrow();
    expect(() => native.attentionForward(a(23), a(24), a(24), a(24), a(6), 1, 6, 6, 4, 1, 0.5)).toThrow(/attentionForward: q/);
    expect(() => native.attentionForward(a(24), a(24), a(24), a(24), a(5), 1, 6, 6, 4, 1, 0.5)).toThrow(/attentionForward: lse/);
    expect(() => native.attentionForward(a(28), a(24), a(24), a(28), a(7), 1, 7, 6, 4, 1, 0.5)).toThrow(/Tq must not exceed Tk/);
    expect(() => native.attentionForward(a(24), a(24), a(24), a(24), a(6), 1, 6, 6, 4, 0, 0.5)).toThrow(/tokensPerFrame/);
    expect(() => native.attentionBackward(a(24), a(24), a(24), a(24), a(6), a(24), 1, 6, 6, 4, 1, 0.5, a(23), null, null)).toThrow(/attentionBackward: gq/);
  });
});
