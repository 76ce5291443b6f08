/**
 * The device is a registry key, not a closed union: a backend registered under a new name gets
 * tensors, ops, backward, modules and optimizers without any other change. The test backend here
 * is the CPU's kernels under another name, with a counter of its kernel calls, so results must
 * equal the CPU's bit for bit and the calls must reach it.
 */
import * as wk from '../src';
import { cpuBackend } from '../src/backend/cpu_backend';
import type { Backend } from '../src/backend/backend';

const calls: Record<string, number> = {};
const counted: Backend = Object.assign(Object.create(null), cpuBackend, { name: 'counted', hostAddressable: false });
for (const k of Object.keys(cpuBackend) as (keyof Backend)[]) {
  const v = cpuBackend[k];
  if (typeof v === 'function' && k !== 'status' && k !== 'hostArray')
    (counted as unknown as Record<string, unknown>)[k] = (...args: unknown[]) => {
      calls[k] = (calls[k] ?? 0) + 1;
      return (v as (...a: unknown[]) => unknown).apply(cpuBackend, args);
    };
}
(counted as { hostArray: Backend['hostArray'] }).hostArray = (_b, fn) => {
  throw new Error(`${fn}: not host memory`);
};

beforeAll(() => wk.registerBackend(counted));

test('a registered backend runs the ops, their backward, a module and an optimizer step', () => {
  expect(wk.backendNames()).toContain('counted');
  const x0 = wk.randn([5, 7], { seed: 1 });
  const net = new wk.nn.Linear(7, 3, { seed: 2 });
  const ref = new wk.nn.Linear(7, 3, { seed: 2 });
  net.to('counted');
  const x = x0.to('counted');
  expect(x.device).toBe('counted');
  expect(() => x.f32('probe')).toThrow(/probe: tensor is on 'counted', whose elements are not host memory/);
  const run = (m: wk.nn.Linear, input: wk.Tensor) => {
    const opt = new wk.optim.Adam(m, { lr: 1e-2 });
    const loss = wk.mseLoss(m.forward(input).relu().mul(2).sum(1), wk.zeros([5], { device: input.device }));
    loss.backward();
    opt.step();
    return loss.item();
  };
  expect(run(net, x)).toBe(run(ref, x0));
  expect(calls.linearForward).toBe(1);
  expect(calls.gemm).toBe(1); // dW (x needs no gradient)
  expect(calls.adamStep).toBeGreaterThan(0);
  expect(Array.from(net.weight.toFloat32Array())).toEqual(Array.from(ref.weight.toFloat32Array()));
  expect(() => wk.add(x, x0)).toThrow("add: a is on 'counted' but b is on 'cpu'");
  expect(() => wk.zeros([2], { device: 'nowhere' })).toThrow(/zeros: device must be 'cpu' or 'cuda' or 'counted', got string "nowhere"/);
  expect(() => wk.registerBackend(counted)).toThrow(/already registered/);
});
