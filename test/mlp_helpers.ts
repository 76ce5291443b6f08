/**
 * Helpers for the MLP and memory tests: a dense layer (wk.nn.Linear over matmul when both are
 * available in this build, else broadcasting: x[B,1,I] * W[O,I] summed over I) and a small
 * regression data set.
 */
import * as wk from '../src';

export type Layer = { forward(x: wk.Tensor): wk.Tensor; parameters(): wk.Tensor[] };

function linearAvailable(): boolean {
  const Linear = (wk.nn as Record<string, unknown>).Linear;
  if (typeof Linear !== 'function') return false;
  try {
    wk.tidy(() => wk.matmul(wk.ones([1, 1]), wk.ones([1, 1])));
    return true;
  } catch {
    return false;
  }
}

/** y = x W^T + b by broadcasting: [B,1,I] * [O,I] -> sum over I. */
function broadcastDense(inF: number, outF: number, seed: number): Layer {
  const bound = 1 / Math.sqrt(inF);
  const w = new wk.nn.Parameter(wk.rand([outF, inF], { seed, low: -bound, high: bound }));
  const b = new wk.nn.Parameter(wk.rand([outF], { seed: seed + 1, low: -bound, high: bound }));
  return {
    forward: (x) => x.reshape(x.shape[0], 1, inF).mul(w).sum(-1).add(b),
    parameters: () => [w, b],
  };
}

export function makeLayer(inF: number, outF: number, seed: number): Layer {
  if (linearAvailable()) {
    wk.manualSeed(seed);
    const Linear = (wk.nn as unknown as { Linear: new (i: number, o: number) => Layer }).Linear;
    return new Linear(inF, outF);
  }
  return broadcastDense(inF, outF, seed);
}

export function regressionData(n: number, seed: number): { x: wk.Tensor; y: wk.Tensor } {
  const x = wk.rand([n, 2], { seed, low: -1, high: 1 });
  const xd = x.toFloat32Array();
  const yd = new Float32Array(n);
  for (let i = 0; i < n; ++i) yd[i] = 0.5 * xd[2 * i] - xd[2 * i] * xd[2 * i + 1] + 0.3 * xd[2 * i + 1] ** 2;
  return { x, y: wk.tensor(yd, [n, 1]) };
}

