/** A two-layer MLP fits a small regression with Adam (loss falls at least 100x). */
import * as wk from '../src';
import './op_table';
import { makeLayer, regressionData } from './mlp_helpers';

test('a two-layer MLP fits a small regression with Adam (loss falls >= 100x)', () => {
  const { x, y } = regressionData(64, 1);
  const l1 = makeLayer(2, 32, 10);
  const l2 = makeLayer(32, 1, 20);
  const params = [...l1.parameters(), ...l2.parameters()];
  const opt = new wk.optim.Adam(params, { lr: 0.01 });
  const lossAt = (): number => wk.tidy(() => wk.noGrad(() => wk.mseLoss(l2.forward(l1.forward(x).tanh()), y).item()));
  const first = lossAt();
  for (let step = 0; step < 1500; ++step) {
    wk.tidy(() => {
      const loss = wk.mseLoss(l2.forward(l1.forward(x).tanh()), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  }
  const last = lossAt();
  expect(first).toBeGreaterThan(0);
  expect(last).toBeLessThan(first / 100);
  params.forEach((p) => p.dispose());
  x.dispose();
  y.dispose();
});
