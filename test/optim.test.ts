/** Optimizers: frozen/null-grad skipping, state round trips, clipping, schedules (update rules: test/op_table.ts). */
import * as wk from '../src';
import './op_table';

const { SGD, Adam, AdamW, LRScheduler, clipGradNorm, gradNorm, schedules } = wk.optim;

function param(n: number, seed: number): wk.nn.Parameter {
  const t = wk.randn([n], { seed });
  const p = new wk.nn.Parameter(t);
  t.dispose();
  return p;
}

function setGrad(p: wk.Tensor, seed: number): Float32Array {
  p.zeroGrad();
  p.grad = wk.keep(wk.randn(p.shape, { seed }));
  return p.grad.toFloat32Array();
}

// SGD (momentum, dampening, Nesterov, weight decay), Adam and AdamW steps against float64
// references of PyTorch's update rules on every backend: the op table (test/op_table.ts).

test('step skips frozen parameters and parameters without a gradient', () => {
  const a = param(7, 3);
  const b = param(7, 4);
  const c = param(7, 5);
  const before = [a, b, c].map((p) => p.toFloat32Array());
  setGrad(a, 6);
  setGrad(b, 7);
  b.frozen = true;
  const opt = new Adam([a, b, c], { lr: 0.1 });
  opt.step();
  expect(Array.from(a.toFloat32Array())).not.toEqual(Array.from(before[0]));
  expect(Array.from(b.toFloat32Array())).toEqual(Array.from(before[1]));
  expect(Array.from(c.toFloat32Array())).toEqual(Array.from(before[2]));
  expect(opt.stateDict().state.map((s) => s === null)).toEqual([false, true, true]);
  opt.zeroGrad();
  expect(a.grad).toBeNull();
  [a, b, c].forEach((p) => p.dispose());
});

test('optimizer state round-trips through stateDict and continues bit-identically', () => {
  for (const make of [
    (ps: wk.Tensor[]) => new Adam(ps, { lr: 0.01 }),
    (ps: wk.Tensor[]) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 }),
    (ps: wk.Tensor[]) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true }),
  ]) {
    const ps = [param(67, 8), param(7, 9)];
    const opt = make(ps);
    for (let t = 0; t < 3; ++t) {
      ps.forEach((p, k) => setGrad(p, 100 + 10 * t + k));
      opt.step();
    }
    // Save: state (JSON values + Float32Arrays) and weights; continue both runs 3 more steps.
    const sd = opt.stateDict();
    const json = JSON.stringify(sd, (_, v) => (v instanceof Float32Array ? { f32: Array.from(v) } : v));
    const restored = JSON.parse(json, (_, v) => (v && Array.isArray(v.f32) ? Float32Array.from(v.f32) : v));
    const ps2 = ps.map((p) => {
      const q = new wk.nn.Parameter(p);
      return q;
    });
    const opt2 = make(ps2);
    opt2.loadStateDict(restored);
    for (let t = 3; t < 6; ++t) {
      ps.forEach((p, k) => setGrad(p, 100 + 10 * t + k));
      ps2.forEach((p, k) => setGrad(p, 100 + 10 * t + k));
      opt.step();
      opt2.step();
    }
    ps.forEach((p, k) => expect(Array.from(ps2[k].toFloat32Array())).toEqual(Array.from(p.toFloat32Array())));
    [...ps, ...ps2].forEach((p) => p.dispose());
  }
});

test('clipGradNorm returns the global norm and scales gradients to maxNorm', () => {
  const a = param(67, 10);
  const b = param(129, 11);
  const ga = setGrad(a, 12);
  const gb = setGrad(b, 13);
  let ss = 0;
  for (const v of [...ga, ...gb]) ss += v * v;
  const norm = Math.sqrt(ss);
  expect(gradNorm([a, b])).toBeCloseTo(norm, 4);
  expect(clipGradNorm([a, b], norm * 2)).toBeCloseTo(norm, 4);
  expect(Array.from(a.grad!.toFloat32Array())).toEqual(Array.from(ga)); // below the limit: untouched
  expect(clipGradNorm([a, b], 1)).toBeCloseTo(norm, 4);
  expect(gradNorm([a, b])).toBeCloseTo(1, 4);
  [a, b].forEach((p) => p.dispose());
});

test('schedules give the documented values', () => {
  const c = schedules.constant();
  expect(c(0, 0.1)).toBe(0.1);
  expect(c(1000, 0.1)).toBe(0.1);
  const s = schedules.step(10, 0.5);
  expect(s(0, 1)).toBe(1);
  expect(s(9, 1)).toBe(1);
  expect(s(10, 1)).toBe(0.5);
  expect(s(25, 1)).toBe(0.25);
  const cos = schedules.cosine(110, { warmup: 10, minLr: 0.01 });
  expect(cos(0, 1)).toBeCloseTo(0.1, 12);
  expect(cos(4, 1)).toBeCloseTo(0.5, 12);
  expect(cos(9, 1)).toBeCloseTo(1, 12);
  expect(cos(10, 1)).toBeCloseTo(1, 12);
  expect(cos(60, 1)).toBeCloseTo(0.01 + 0.99 * 0.5, 12); // halfway
  expect(cos(110, 1)).toBeCloseTo(0.01, 12);
  expect(cos(500, 1)).toBeCloseTo(0.01, 12);
  const plain = schedules.cosine(100);
  expect(plain(0, 2)).toBe(2);
  expect(plain(50, 2)).toBeCloseTo(1, 12);
  expect(plain(100, 2)).toBeCloseTo(0, 12);

  const p = param(7, 14);
  const opt = new SGD([p], { lr: 0.2 });
  const sched = new LRScheduler(opt, schedules.step(2, 0.1));
  expect(opt.lr).toBe(0.2);
  sched.step();
  expect(opt.lr).toBe(0.2);
  sched.step();
  expect(opt.lr).toBeCloseTo(0.02, 12);
  const st = sched.stateDict();
  const opt2 = new SGD([p], { lr: 0.2 });
  const sched2 = new LRScheduler(opt2, schedules.step(2, 0.1));
  sched2.loadStateDict(st);
  expect(opt2.lr).toBe(opt.lr);
  expect(sched2.stepCount).toBe(2);
  p.dispose();
});
