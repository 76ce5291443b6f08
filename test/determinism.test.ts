/**
 * Reductions, losses, broadcasting and optimizer updates give the same bits on 1, 2 and 3
 * threads (sizes large enough that the work is split).
 */
import * as wk from '../src';
import { setThreads } from './op_table';

function run<T>(threads: number, fn: () => T): T {
  const saved = wk.getNumThreads();
  setThreads(threads);
  try {
    return fn();
  } finally {
    setThreads(saved);
  }
}

const bits = (t: wk.Tensor | Float32Array) => Array.from(new Uint32Array((t instanceof Float32Array ? t : t.toFloat32Array()).slice().buffer));

test('same bits on any thread count', () => {
  const x = wk.randn([301, 1031], { seed: 11 });
  const y = wk.randn([301, 1031], { seed: 12 });
  const row = wk.randn([1031], { seed: 13 });
  const labels = wk.tensor(Int32Array.from({ length: 301 }, (_, i) => (i * 7) % 1031), [301], { dtype: 'int32' });
  const compute = () =>
    wk.tidy(() => {
      const outs: number[][] = [
        bits(x.sum()),
        bits(x.sum(0)),
        bits(x.mean(1)),
        bits(x.reshape(301, 1, 1031).sum([0, 2])),
        bits(x.mul(row).add(y)),
        bits(wk.losses.mseLoss(x, y)),
        bits(wk.losses.mseLoss(x, y, { reduction: 'perSample' })),
        bits(wk.losses.bceWithLogits(x, y.sigmoid())),
        bits(wk.losses.klDivergenceNormal(x, y.mul(0.1))),
        bits(wk.losses.crossEntropy(x, labels)),
        [wk.native.sumSquares([x.f32(), y.f32()])],
      ];
      // gradients of a broadcast operand (fixed-order sum over rows)
      const r = row.clone().requireGrad();
      x.mul(r).backward(y);
      outs.push(bits(r.grad!));
      // one Adam step
      const p = x.toFloat32Array();
      const m = new Float32Array(p.length);
      const v = new Float32Array(p.length);
      wk.native.adamStep(p, y.f32(), m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 0.1, 0.001);
      outs.push(bits(p));
      r.dispose();
      return outs;
    });
  const one = run(1, compute);
  expect(run(2, compute)).toEqual(one);
  expect(run(3, compute)).toEqual(one);
  // and the double sum is close to the exact one
  const d = x.toFloat32Array();
  let s = 0;
  for (const v of d) s += v;
  expect(Math.abs(x.sum().item() - s)).toBeLessThan(1e-3);
  [x, y, row, labels].forEach((t) => t.dispose());
});
