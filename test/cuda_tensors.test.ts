/**
 * 'cuda' tensors at the API level, run under the CPU emulation of the CUDA kernels
 * (wk.useCudaEmulation(): the device API of worldkit_emu.node, the unchanged cuda/*.cu kernels
 * through cuda/emulation/simt.h). Device memory (caching allocator, copies, dispose, memory()),
 * to()/creation/default device, the errors (mixed devices, ops without a 'cuda' path), every op
 * with a 'cuda' path against the CPU op (values and gradients, 1e-5 relative), and the goal: a
 * LatentPredictor teacher-forced training step with Adam on 'cuda' equals the CPU step, and
 * memory stays flat over 50 steps.
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

/** Runs f on CPU inputs and on their 'cuda' copies; compares outputs and input gradients. */
function compareOp(name: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, rel = 1e-5): void {
  const cpuIn = inputs.map((x) => x.detach().requireGrad());
  const cudaIn = inputs.map((x) => x.detach().to('cuda').requireGrad());
  const yc = f(...cpuIn);
  const yd = f(...cudaIn);
  expect(yd.device).toBe('cuda');
  expect(yd.shape).toEqual(yc.shape);
  expectClose(yd.toFloat32Array(), yc.toFloat32Array(), rel);
  yc.sum().backward();
  yd.sum().backward();
  cpuIn.forEach((x, i) => {
    if (!x.grad) return;
    expect(cudaIn[i].grad?.device).toBe('cuda');
    try {
      expectClose(cudaIn[i].grad!.toFloat32Array(), x.grad.toFloat32Array(), rel);
    } catch (e) {
      throw new Error(`${name}: gradient of input ${i}: ${(e as Error).message}`);
    }
  });
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

  test('elementwise, broadcasting and activations match the CPU (values and gradients)', () => {
    for (const [sa, sb] of [
      [[7], [7]],
      [[3, 67], [67]],
      [[4, 5, 6], [5, 1]],
      [[2, 3, 4, 5], [1, 3, 1, 1]],
      [[1], [9, 1]],
    ] as number[][][]) {
      compareOp('add', [t(sa, 11), t(sb, 12)], (x, y) => wk.add(x, y));
      compareOp('sub', [t(sa, 13), t(sb, 14)], (x, y) => x.sub(y));
      compareOp('mul', [t(sa, 15), t(sb, 16)], (x, y) => x.mul(y));
      compareOp('div', [t(sa, 17), t(sb, 18, { lo: 0.5, hi: 2 })], (x, y) => x.div(y));
    }
    compareOp('scalar ops', [t([129], 19)], (x) => x.add(2).sub(0.5).mul(3).div(4));
    const x = [t([7, 9], 20, { lo: -3, hi: 3 })];
    for (const [name, f] of [
      ['relu', (v: Tensor) => v.relu()],
      ['leakyRelu', (v: Tensor) => v.leakyRelu(0.2)],
      ['sigmoid', (v: Tensor) => v.sigmoid()],
      ['tanh', (v: Tensor) => v.tanh()],
      ['exp', (v: Tensor) => v.exp()],
      ['softplus', (v: Tensor) => v.softplus()],
      ['square', (v: Tensor) => v.square()],
      ['neg', (v: Tensor) => v.neg()],
    ] as [string, (v: Tensor) => Tensor][])
      compareOp(name, x, f);
    compareOp('sqrt/log', [t([67], 21, { lo: 0.1, hi: 3 })], (v) => v.sqrt().add(v.log()));
  });

  test('sum and mean match the CPU', () => {
    const x = [t([3, 7, 5], 30)];
    compareOp('sum', x, (v) => v.sum().reshape(1));
    compareOp('mean axis', x, (v) => v.mean(1));
    compareOp('sum axes keepDims', x, (v) => v.sum([0, 2], true));
    compareOp('mean last', [t([129], 31)], (v) => v.mean(0, true));
  });

  test('matmul, linear and mseLoss match the CPU', () => {
    compareOp('matmul', [t([7, 13], 40), t([13, 5], 41)], (a, b) => wk.matmul(a, b));
    compareOp('matmul batched', [t([3, 4, 6], 42), t([3, 6, 5], 43)], (a, b) => wk.matmul(a, b));
    compareOp('matmul broadcast', [t([2, 4, 6], 44), t([6, 3], 45)], (a, b) => wk.matmul(a, b));
    compareOp('linear', [t([2, 3, 67], 46), t([9, 67], 47), t([9], 48)], (x, w, b) => wk.linear(x, w, b));
    compareOp('mseLoss', [t([4, 33], 49), t([4, 33], 50)], (a, b) => wk.mseLoss(a, b).reshape(1));
    compareOp('mseLoss perSample', [t([4, 33], 51), t([4, 33], 52)], (a, b) => wk.mseLoss(a, b, 'perSample'));
  });

  test('slice and concat match the CPU', () => {
    compareOp('slice', [t([3, 5, 4], 60)], (v) => v.slice([1, 1, 0], [2, 3, 4]));
    compareOp('slice inner', [t([3, 5, 4], 61)], (v) => v.slice([0, 1, 1], [3, 3, 2]));
    compareOp('concat last', [t([2, 3, 4], 62), t([2, 3, 2], 63)], (u, v) => wk.concat([u, v], 2));
    compareOp('concat middle', [t([2, 3, 4], 64), t([2, 1, 4], 65)], (u, v) => wk.concat([u, v], 1));
  });

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
