/** 1,000 training steps inside tidy keep wk.memory() flat: the same tensor count and bytes at step 10 and 1000. */
import * as wk from '../src';
import { makeLayer, regressionData } from './mlp_helpers';
import './op_table';

test('a training loop inside tidy keeps memory flat', () => {
  const { x, y } = regressionData(32, 2);
  const l1 = makeLayer(2, 16, 30);
  const l2 = makeLayer(16, 1, 40);
  const params = [...l1.parameters(), ...l2.parameters()];
  const opt = new wk.optim.AdamW(params, { lr: 0.005 });
  const sched = new wk.optim.LRScheduler(opt, wk.optim.schedules.cosine(1000, { warmup: 20 }));
  let at10: wk.MemoryInfo | null = null;
  for (let step = 1; step <= 1000; ++step) {
    wk.tidy(() => {
      const h = l1.forward(x).relu();
      const pred = l2.forward(h);
      const loss = wk.mseLoss(pred, y).add(wk.klDivergenceNormal(h.mul(0.01), h.mul(0.001)).mul(1e-3));
      opt.zeroGrad();
      loss.backward();
      wk.optim.clipGradNorm(params, 1);
      opt.step();
      sched.step();
    });
    if (step === 10) at10 = wk.memory();
  }
  const at1000 = wk.memory();
  expect(at1000.numTensors).toBe(at10!.numTensors);
  expect(at1000.numBytes).toBe(at10!.numBytes);
  params.forEach((p) => p.dispose());
  x.dispose();
  y.dispose();
});
