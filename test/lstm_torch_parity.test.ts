/** Parity with PyTorch 1.13 on fixtures from test/fixtures/make_torch_fixtures.py (committed files). */
import * as path from 'path';
import * as wk from '../src';
import { LSTM, LSTMCell } from '../src/nn/lstm';
import { residualHead } from '../src/ops/lstm';

const load = (name: string) => wk.loadSafetensors(path.join(__dirname, 'fixtures', name));

/** max |a - b| / max |b|: relative to the tensor's scale. */
function rel(a: wk.Tensor, b: wk.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.toFloat32Array(), y = b.toFloat32Array();
  let num = 0, den = 1e-12;
  for (let i = 0; i < x.length; ++i) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / den;
}

function params(f: Record<string, wk.Tensor>): Record<string, wk.Tensor> {
  const out: Record<string, wk.Tensor> = {};
  for (const [k, v] of Object.entries(f)) if (k.startsWith('param.')) out[k.slice(6)] = v;
  return out;
}

function backwardAll(outs: Record<string, wk.Tensor>, f: Record<string, wk.Tensor>): void {
  const keys = Object.keys(outs);
  const flat = wk.concat(keys.map((k) => outs[k].reshape(-1)), 0);
  flat.backward(wk.concat(keys.map((k) => f[`gout.${k}`].reshape(-1)), 0));
}

const TOL = 1e-5;

describe('PyTorch parity (outputs and gradients to 1e-5 relative)', () => {
  test('LSTMCell', () => {
    const f = load('torch_lstm_cell.safetensors');
    const [I, H] = [f['in.x'].shape[1], f['in.h'].shape[1]];
    const cell = new LSTMCell(I, H);
    cell.loadStateDict(params(f));
    const x = f['in.x'].requireGrad(), h = f['in.h'].requireGrad(), c = f['in.c'].requireGrad();
    const [ho, co] = cell.forward(x, [h, c]);
    expect(rel(ho, f['out.h'])).toBeLessThan(TOL);
    expect(rel(co, f['out.c'])).toBeLessThan(TOL);
    backwardAll({ h: ho, c: co }, f);
    for (const [n, p] of cell.namedParameters()) expect(rel(p.grad!, f[`grad.${n}`])).toBeLessThan(TOL);
    expect(rel(x.grad!, f['grad.x'])).toBeLessThan(TOL);
    expect(rel(h.grad!, f['grad.h'])).toBeLessThan(TOL);
    expect(rel(c.grad!, f['grad.c'])).toBeLessThan(TOL);
  });

  test.each([[1], [2]])('LSTM, %i layer(s), batchFirst', (layers) => {
    const f = load(`torch_lstm_l${layers}.safetensors`);
    const [, , I] = f['in.x'].shape;
    const H = f['in.h0'].shape[2];
    const lstm = new LSTM(I, H, { numLayers: layers, batchFirst: true });
    lstm.loadStateDict(params(f));
    const x = f['in.x'].requireGrad(), h0 = f['in.h0'].requireGrad(), c0 = f['in.c0'].requireGrad();
    const [y, [hN, cN]] = lstm.forward(x, [h0, c0]);
    expect(rel(y, f['out.y'])).toBeLessThan(TOL);
    expect(rel(hN, f['out.hN'])).toBeLessThan(TOL);
    expect(rel(cN, f['out.cN'])).toBeLessThan(TOL);
    backwardAll({ y, hN, cN }, f);
    for (const [n, p] of lstm.namedParameters()) expect(rel(p.grad!, f[`grad.${n}`])).toBeLessThan(TOL);
    for (const [n, t] of [['x', x], ['h0', h0], ['c0', c0]] as const) expect(rel(t.grad!, f[`grad.${n}`])).toBeLessThan(TOL);
  });

  test('Linear (as the predictor head: residualHead without residual)', () => {
    const f = load('torch_linear.safetensors');
    const x = f['in.x'].requireGrad(), W = f['param.weight'].requireGrad(), b = f['param.bias'].requireGrad();
    const y = residualHead(null, x, W, b);
    expect(rel(y, f['out.y'])).toBeLessThan(TOL);
    y.backward(f['gout.y']);
    expect(rel(W.grad!, f['grad.weight'])).toBeLessThan(TOL);
    expect(rel(b.grad!, f['grad.bias'])).toBeLessThan(TOL);
    expect(rel(x.grad!, f['grad.x'])).toBeLessThan(TOL);
  });
});
