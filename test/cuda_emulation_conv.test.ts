/**
 * cuda/conv.cu under the SIMT emulation against cpp/conv.cpp: conv2d forward, backward (input,
 * weight, bias), transposed conv2d forward and backward, on small odd shapes with strides 1 and
 * 2, paddings 0-2, output padding, with and without bias, in forward and seeded random thread
 * order. Tolerance: 1e-5 relative to the array's largest magnitude (see
 * test/cuda_emulation_lstm.test.ts: GEMM sums in a different order than the CPU's).
 */
import { loadEmu, randomArray } from './cuda/emu';

const emu = loadEmu();
const TOL = 1e-5;

function eachOrder(fn: (label: string) => void): void {
  for (const [mode, seed] of [['forward', 1], ['random', 5]] as Array<['forward' | 'random', number]>) {
    emu.setSchedule(mode, seed);
    fn(`${mode}:${seed}`);
  }
  emu.setSchedule('forward', 1);
}
function guarded(n: number): Float32Array {
  return new Float32Array(n).fill(-12345.5);
}
function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= TOL * scale)) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (error ${err}, scale ${scale})`);
  }
}
let seed = 1;
const rnd = (n: number) => randomArray(n, seed++ * 104729);
function compare(name: string, args: Array<Float32Array | number | null>, outs: number[], what: string): void {
  const copy = () => args.map((v) => (v instanceof Float32Array ? v.slice() : v));
  const a = copy(), b = copy();
  emu.cuda[name](...a);
  emu.cpu[name](...b);
  for (const i of outs) if (a[i] !== null) expectClose(a[i] as Float32Array, b[i] as Float32Array, `${name} arg ${i} ${what}`);
}
const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

// [N, C, H, W, K, kh, kw, sh, sw, ph, pw]
const SHAPES = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  [2, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1],
  [3, 2, 9, 7, 3, 4, 4, 2, 2, 1, 1],
  [1, 3, 8, 9, 2, 3, 2, 2, 1, 2, 0],
  [2, 1, 5, 6, 4, 5, 3, 2, 2, 2, 2],
  [1, 5, 4, 4, 67, 1, 1, 1, 1, 0, 0],
  [2, 2, 11, 3, 3, 3, 1, 1, 2, 0, 1],
];

describe('conv.cu', () => {
  test('conv2d forward and backward (input, weight, bias) match the CPU', () => {
    eachOrder((label) => {
      for (const [N, C, H, W, K, kh, kw, sh, sw, ph, pw] of SHAPES) {
        const Ho = outSize(H, kh, sh, ph), Wo = outSize(W, kw, sw, pw);
        const geo = [N, C, H, W, K, kh, kw, sh, sw, ph, pw];
        const x = rnd(N * C * H * W), w = rnd(K * C * kh * kw), gy = rnd(N * K * Ho * Wo);
        for (const withBias of [true, false]) {
          const what = `${geo.join(',')} bias=${withBias} ${label}`;
          compare('conv2dForward', [...geo, x, w, withBias ? rnd(K) : null, guarded(N * K * Ho * Wo)], [14], what);
          compare('conv2dBackward', [...geo, x, w, gy, guarded(N * C * H * W), guarded(K * C * kh * kw), withBias ? guarded(K) : null], [14, 15, 16], what);
        }
        // only some gradients wanted
        compare('conv2dBackward', [...geo, x, w, gy, null, guarded(K * C * kh * kw), null], [15], `${geo} gw only`);
        compare('conv2dBackward', [...geo, x, w, gy, guarded(N * C * H * W), null, null], [14], `${geo} gx only`);
      }
    });
  });

  test('transposed conv2d forward and backward (with output padding) match the CPU', () => {
    eachOrder((label) => {
      for (const [N, Cin, Hin, Win, Cout, kh, kw, sh, sw, ph, pw] of SHAPES)
        for (const op of [0, 1]) {
          const oph = op < sh ? op : 0, opw = op < sw ? op : 0;
          // transposed output size (PyTorch): (in - 1) * s - 2p + k + output_padding
          const H = (Hin - 1) * sh - 2 * ph + kh + oph, W = (Win - 1) * sw - 2 * pw + kw + opw;
          if (H <= 0 || W <= 0) continue;
          // conv view: C = out channels, H/W = output size, K = in channels, Ho/Wo = input size
          expect(outSize(H, kh, sh, ph)).toBe(Hin);
          expect(outSize(W, kw, sw, pw)).toBe(Win);
          const geo = [N, Cout, H, W, Cin, kh, kw, sh, sw, ph, pw];
          const x = rnd(N * Cin * Hin * Win), w = rnd(Cin * Cout * kh * kw), gy = rnd(N * Cout * H * W);
          const what = `${geo.join(',')} outpad=${oph},${opw} ${label}`;
          compare('convTranspose2dForward', [...geo, x, w, rnd(Cout), guarded(N * Cout * H * W)], [14], what);
          compare('convTranspose2dForward', [...geo, x, w, null, guarded(N * Cout * H * W)], [14], `${what} no bias`);
          compare('convTranspose2dBackward', [...geo, x, w, gy, guarded(N * Cin * Hin * Win), guarded(Cin * Cout * kh * kw), guarded(Cout)], [14, 15, 16], what);
          compare('convTranspose2dBackward', [...geo, x, w, gy, guarded(N * Cin * Hin * Win), null, null], [14], `${what} gx only`);
        }
    });
  });

  test('degenerate sizes: no input channels, empty batch', () => {
    compare('conv2dForward', [2, 0, 3, 3, 4, 3, 3, 1, 1, 1, 1, new Float32Array(0), new Float32Array(0), rnd(4), guarded(2 * 4 * 9)], [14], 'C=0');
    compare('conv2dBackward', [2, 0, 3, 3, 4, 3, 3, 1, 1, 1, 1, new Float32Array(0), new Float32Array(0), rnd(72), new Float32Array(0), new Float32Array(0), guarded(4)], [16], 'C=0');
    compare('conv2dBackward', [0, 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, new Float32Array(0), rnd(72), new Float32Array(0), new Float32Array(0), guarded(72), guarded(4)], [15, 16], 'N=0');
  });
});
