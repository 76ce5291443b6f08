/**
 * LSTM beyond the op table (test/op_table.ts: lstmCell, lstmSequence and residualHead values and
 * gradients against float64 references on every backend and SIMD path): null state and biases
 * are bit-identical to zeros, the native argument checks, and the LSTMCell / LSTM modules.
 */
import * as wk from '../src';
import { native } from '../src/backend/native';
import { maxRelErr, normalArrays } from './helpers/compare';
import { lstmCell, lstmSequence } from '../src/ops/lstm';
import { LSTM, LSTMCell } from '../src/nn/lstm';

const rnd = normalArrays(1000);

function t32(a: Float32Array, shape: number[], grad = true): wk.Tensor {
  return wk.tensor(a, shape, { requiresGrad: grad });
}

describe('LSTM kernels', () => {
  // Values and gradients of lstmCell (with and without h/c and biases), lstmSequence (batch-first
  // and time-major, with and without h0/c0) and residualHead against float64 references, with
  // guard values, on every backend and SIMD path: the op table (test/op_table.ts).
  test('cell without state or biases equals zeros for them', () => {
    const B = 2, I = 3, H = 4;
    const x = t32(rnd(B * I), [B, I]);
    const wih = t32(rnd(4 * H * I), [4 * H, I]), whh = t32(rnd(4 * H * H), [4 * H, H]);
    const [h1, c1] = lstmCell(x, null, null, wih, whh);
    const [h2, c2] = lstmCell(x, wk.zeros([B, H]), wk.zeros([B, H]), wih, whh, wk.zeros([4 * H]), wk.zeros([4 * H]));
    expect(Array.from(h1.toFloat32Array())).toEqual(Array.from(h2.toFloat32Array()));
    expect(Array.from(c1.toFloat32Array())).toEqual(Array.from(c2.toFloat32Array()));
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
