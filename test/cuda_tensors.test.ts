/**
 * 'cuda' tensors at the API level, run under the CPU emulation of the CUDA kernels
 * (wk.useCudaEmulation(): the device API of worldkit_emu.node, the unchanged cuda/*.cu kernels
 * through cuda/emulation/simt.h). Device memory (caching allocator, copies, dispose, memory()),
 * to()/creation/default device, the errors (mixed devices, ops without a 'cuda' path), and the
 * goal: a LatentPredictor teacher-forced training step with Adam on 'cuda' equals the CPU step,
 * and memory stays flat over 50 steps. Each op's values and gradients on 'cuda': the op table
 * (test/op_table.ts).
 */
import * as wk from '../src';
import { Tensor } from '../src/tensor/tensor';

function rnd(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
function t(shape: number[], seed: number, opts: { lo?: number; hi?: number } = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return wk.tensor(rnd(n, seed, opts.lo ?? -1, opts.hi ?? 1), shape);
}
function expectClose(actual: Float32Array, expected: Float32Array, rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; ++i) {
    const tol = rel * Math.max(Math.abs(expected[i]), scale, 1e-30);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

describe("'cuda' tensors without the emulation", () => {
  test('on a machine without a GPU, cuda stays unavailable with the clear error', () => {
    if (wk.cudaAvailable()) return; // a real GPU: nothing to check here
    expect(() => wk.zeros([2], { device: 'cuda' })).toThrow(/device 'cuda' is not available/);
    expect(() => wk.tensor([1]).to('cuda')).toThrow(/device 'cuda' is not available/);
  });
});

describe("'cuda' tensors under the emulation", () => {
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.setDefaultDevice('cpu'));

  test('cudaStatus reports the emulated device', () => {
    const s = wk.cudaStatus();
    expect(s.available).toBe(true);
    expect(s.deviceName).toBe('emulated (CPU SIMT)');
    expect(s.emulated).toBe(true);
  });

  test('to(), reads, dispose and the caching allocator', () => {
    const before = wk.memory();
    const x = t([3, 7], 1);
    const d = x.to('cuda');
    expect(d.device).toBe('cuda');
    expect(d.size).toBe(21);
    expect(d.to('cuda')).toBe(d);
    expectClose(d.toFloat32Array(), x.toFloat32Array(), 0);
    expect(d.toArray()).toEqual(x.toArray());
    const r = d.reshape(7, 3);
    const row = d.index(1);
    expect(r.toFloat32Array()).toEqual(x.toFloat32Array());
    expect(row.toFloat32Array()).toEqual(x.index(1).toFloat32Array());
    const back = d.to('cpu');
    expect(back.device).toBe('cpu');
    expect(back.toFloat32Array()).toEqual(x.toFloat32Array());
    const one = wk.tensor([5], [1, 1], { device: 'cuda' });
    expect(one.item()).toBe(5);
    const m = wk.memory();
    expect(m.cuda.tensors).toBe(before.cuda.tensors + 4); // d, its reshape view, index view, the scalar
    expect(m.cuda.bytes).toBe(before.cuda.bytes + 21 * 4 + 4);
    expect(m.cudaAllocator!.bytesInUse).toBeGreaterThanOrEqual(21 * 4);
    const inUse = m.cudaAllocator!.bytesInUse;
    d.dispose(); // views still hold the storage
    expect(wk.memory().cudaAllocator!.bytesInUse).toBe(inUse);
    wk.dispose([r, row, one, x, back]);
    expect(wk.memory().cuda).toEqual(before.cuda);
    const m2 = wk.memory();
    expect(m2.cudaAllocator!.bytesCached).toBeGreaterThan(0);
    // A block of the same size class comes from the cache.
    const reuses = m2.cudaAllocator!.reuses;
    const e = wk.zeros([3, 7], { device: 'cuda' });
    expect(wk.memory().cudaAllocator!.reuses).toBe(reuses + 1);
    expect(Array.from(e.toFloat32Array())).toEqual(new Array(21).fill(0));
    e.dispose();
    expect(() => e.toFloat32Array()).toThrow(/disposed/);
  });

  test('creation on cuda and the default device', () => {
    const r1 = wk.randn([4, 5], { seed: 3 });
    const r2 = wk.randn([4, 5], { seed: 3, device: 'cuda' });
    expect(r2.device).toBe('cuda');
    expect(r2.toFloat32Array()).toEqual(r1.toFloat32Array());
    wk.setDefaultDevice('cuda');
    try {
      const o = wk.ones([2, 3]);
      expect(o.device).toBe('cuda');
      expect(Array.from(o.toFloat32Array())).toEqual([1, 1, 1, 1, 1, 1]);
      const labels = wk.tensor([1, 2], undefined, { dtype: 'int32' });
      expect(labels.device).toBe('cpu'); // int32 stays on the CPU under a 'cuda' default
      expect(() => wk.tensor([1, 2], undefined, { dtype: 'int32', device: 'cuda' })).toThrow(/only float32/);
    } finally {
      wk.setDefaultDevice('cpu');
    }
  });

  test('mixed devices and ops without a cuda path throw, never copy', () => {
    const a = t([2, 3], 4);
    const b = t([2, 3], 5).to('cuda');
    expect(() => wk.add(a, b)).toThrow("add: a is on 'cpu' but b is on 'cuda'");
    expect(() => wk.matmul(b, a.reshape(3, 2))).toThrow("matmul: a is on 'cuda' but b is on 'cpu'");
    expect(() => wk.mseLoss(b, a)).toThrow("mseLoss: pred is on 'cuda' but target is on 'cpu'");
    expect(() => b.f32('someCpuOp')).toThrow(/someCpuOp: tensor is on 'cuda', whose elements are not host memory/);
  });

  // Every op's values and gradients on 'cuda' against float64 references: the op table
  // (test/op_table.ts, column 'cuda (emulated)').

  const opts = { latentSize: 6, actionSize: 2, hiddenSize: 8, seed: 5 };
  function batch(seed: number) {
    return { z: t([2, 5, 6], seed), a: t([2, 5, 2], seed + 1) };
  }

  test('one LatentPredictor training step (teacher forced, Adam) on cuda equals the CPU step', () => {
    const cpu = new wk.LatentPredictor(opts);
    const gpu = new wk.LatentPredictor(opts).to('cuda');
    expect(gpu.parameters().every((p) => p.device === 'cuda')).toBe(true);
    const optC = new wk.optim.Adam(cpu.parameters(), { lr: 1e-2 });
    const optG = new wk.optim.Adam(gpu.parameters(), { lr: 1e-2 });
    const { z, a } = batch(70);
    const zd = z.to('cuda'), ad = a.to('cuda');
    for (let step = 0; step < 2; ++step) {
      const lc = cpu.loss(z, a);
      const lg = gpu.loss(zd, ad);
      expect(lg.device).toBe('cuda');
      expectClose(Float32Array.of(lg.item()), Float32Array.of(lc.item()));
      optC.zeroGrad();
      optG.zeroGrad();
      lc.backward();
      lg.backward();
      const pc = cpu.parameters(), pg = gpu.parameters();
      pc.forEach((p, i) => expectClose(pg[i].grad!.toFloat32Array(), p.grad!.toFloat32Array()));
      optC.step();
      optG.step();
      pc.forEach((p, i) => expectClose(pg[i].toFloat32Array(), p.toFloat32Array()));
    }
  });

  test('memory stays flat over 50 training steps in tidy', () => {
    const model = new wk.LatentPredictor(opts).to('cuda');
    const opt = new wk.optim.Adam(model.parameters(), { lr: 1e-3 });
    const { z, a } = batch(80);
    const zd = z.to('cuda'), ad = a.to('cuda');
    const step = () =>
      wk.tidy(() => {
        opt.zeroGrad();
        const loss = model.loss(zd, ad);
        loss.backward();
        opt.step();
        return loss.item();
      });
    step();
    step();
    const m0 = wk.memory();
    let last = 0;
    for (let i = 0; i < 50; ++i) last = step();
    const m1 = wk.memory();
    expect(Number.isFinite(last)).toBe(true);
    expect(m1.cuda).toEqual(m0.cuda);
    expect(m1.cpu.tensors).toBe(m0.cpu.tensors);
    expect(m1.cudaAllocator!.bytesInUse).toBe(m0.cudaAllocator!.bytesInUse);
    expect(m1.cudaAllocator!.mallocs).toBe(m0.cudaAllocator!.mallocs); // every block from the cache
    model.to('cpu');
    expect(model.parameters().every((p) => p.device === 'cpu')).toBe(true);
  });
});
