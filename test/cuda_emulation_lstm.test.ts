/**
 * cuda/lstm.cu under the SIMT emulation against cpp/lstm.cpp: the fused cell, the
 * teacher-forced sequence op forward and backward through time (batch-first and time-major),
 * and the residual head, on odd sizes (GEMM tile tails), with and without the optional inputs,
 * in forward and seeded random thread order.
 *
 * Tolerance: 1e-5 relative to the largest magnitude of the array (normwise). Both sides round in
 * float32 but sum the GEMMs' dot products in different orders, so an element that is a small
 * difference of large terms (cancellation) carries an absolute error of a few ulps of those
 * terms, not of itself; the largest output is a fair bound of the terms' scale here.
 */
import { loadEmu, randomArray } from './cuda/emu';

const emu = loadEmu();
const TOL = 1e-5;
const ORDERS: Array<['forward' | 'random', number]> = [
  ['forward', 1],
  ['random', 11],
];

function eachOrder(fn: (label: string) => void): void {
  for (const [mode, seed] of ORDERS) {
    emu.setSchedule(mode, seed);
    fn(`${mode}:${seed}`);
  }
  emu.setSchedule('forward', 1);
}
function guarded(n: number): Float32Array {
  return new Float32Array(n).fill(-12345.5);
}
function expectClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * scale)) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (error ${err}, scale ${scale})`);
  }
}
let seedCounter = 1;
function rnd(n: number, scale = 1): Float32Array {
  return randomArray(n, seedCounter++ * 7919, -scale, scale);
}
/** Runs the op on the CUDA and CPU side with separate copies; compares the listed outputs. */
function compare(name: string, args: Array<Float32Array | number | boolean | null>, outs: number[], label: string): void {
  const copy = () => args.map((v) => (v instanceof Float32Array ? v.slice() : v));
  const a = copy(), b = copy();
  emu.cuda[name](...a);
  emu.cpu[name](...b);
  for (const i of outs) {
    if (a[i] === null) continue;
    expectClose(a[i] as Float32Array, b[i] as Float32Array, TOL, `${name} arg ${i} ${label}`);
  }
}

describe('lstm.cu', () => {
  const cellShapes = [
    [1, 1, 1],
    [3, 5, 7],
    [7, 0, 5],
    [5, 67, 17],
    [2, 3, 33],
  ];
  test('cell forward and backward, optional h/c/biases and outputs', () => {
    eachOrder((label) => {
      for (const [B, I, H] of cellShapes)
        for (const withState of [true, false])
          for (const withBias of [true, false]) {
            const G = 4 * H;
            const x = rnd(B * I), h = withState ? rnd(B * H) : null, c = withState ? rnd(B * H) : null;
            const wih = rnd(G * I, 0.5), whh = rnd(G * H, 0.5);
            const bih = withBias ? rnd(G) : null, bhh = withBias ? rnd(G) : null;
            const what = `B${B} I${I} H${H} state=${withState} bias=${withBias} ${label}`;
            compare('lstmCellForward', [B, I, H, x, h, c, wih, whh, bih, bhh, guarded(B * G), guarded(B * H), guarded(B * H), guarded(B * H)], [10, 11, 12, 13], what);
            // the CPU forward's saved tensors feed both backwards
            const gates = new Float32Array(B * G), cN = new Float32Array(B * H), hN = new Float32Array(B * H), tc = new Float32Array(B * H);
            emu.cpu.lstmCellForward(B, I, H, x, h, c, wih, whh, bih, bhh, gates, cN, hN, tc);
            for (const full of [true, false]) {
              const dhNew = rnd(B * H), dcNew = full ? rnd(B * H) : null;
              compare(
                'lstmCellBackward',
                [B, I, H, x, h, c, wih, whh, gates, tc, dhNew, dcNew,
                  guarded(B * I), guarded(B * H), guarded(B * H), guarded(G * I), guarded(G * H), guarded(G), full ? guarded(G) : null, full ? guarded(B * G) : null],
                [12, 13, 14, 15, 16, 17, 18, 19],
                `${what} full=${full}`,
              );
            }
          }
    });
  });

  const seqShapes = [
    [1, 1, 1, 1],
    [3, 2, 5, 7],
    [5, 3, 4, 33],
    [2, 5, 0, 3],
    [4, 1, 67, 9],
  ];
  test('teacher-forced sequence forward and backward through time, batch-first and time-major', () => {
    eachOrder((label) => {
      for (const [T, B, I, H] of seqShapes)
        for (const batchFirst of [true, false])
          for (const withState of [true, false]) {
            const G = 4 * H, rows = T * B;
            const x = rnd(rows * I), h0 = withState ? rnd(B * H) : null, c0 = withState ? rnd(B * H) : null;
            const wih = rnd(G * I, 0.5), whh = rnd(G * H, 0.5), bih = rnd(G), bhh = withState ? rnd(G) : null;
            const what = `T${T} B${B} I${I} H${H} bf=${batchFirst} state=${withState} ${label}`;
            const fwd = () => [T, B, batchFirst, I, H, x, h0, c0, wih, whh, bih, bhh,
              guarded(rows * H), guarded(rows * G), guarded(rows * H), guarded((T + 1) * B * H), guarded(B * H), guarded(B * H)];
            compare('lstmSequenceForward', fwd(), [12, 13, 14, 15, 16, 17], what);
            const f = fwd() as Array<Float32Array | number | boolean | null>;
            emu.cpu.lstmSequenceForward(...f);
            const [y, gates, tc, cs] = [f[12], f[13], f[14], f[15]] as Float32Array[];
            for (const withGrads of [true, false]) {
              const dy = rnd(rows * H), dhN = withGrads ? rnd(B * H) : null, dcN = withGrads ? rnd(B * H) : null;
              compare(
                'lstmSequenceBackward',
                [T, B, batchFirst, I, H, x, h0, wih, whh, y, gates, tc, cs, withGrads ? dy : null, dhN, dcN,
                  guarded(rows * I), guarded(B * H), guarded(B * H), guarded(G * I), guarded(G * H), guarded(G), withGrads ? guarded(G) : null],
                [16, 17, 18, 19, 20, 21, 22],
                `${what} grads=${withGrads}`,
              );
            }
          }
    });
  });

  test('T = 0 passes the initial state through and zeroes the gradients', () => {
    const B = 3, H = 5, I = 2, G = 4 * H;
    const h0 = rnd(B * H), c0 = rnd(B * H), wih = rnd(G * I), whh = rnd(G * H);
    compare('lstmSequenceForward', [0, B, true, I, H, new Float32Array(0), h0, c0, wih, whh, null, null,
      new Float32Array(0), new Float32Array(0), new Float32Array(0), guarded(B * H), guarded(B * H), guarded(B * H)], [15, 16, 17], 'T0');
    compare('lstmSequenceBackward', [0, B, false, I, H, new Float32Array(0), h0, wih, whh, new Float32Array(0), new Float32Array(0),
      new Float32Array(0), c0, null, rnd(B * H), rnd(B * H), new Float32Array(0), guarded(B * H), guarded(B * H),
      guarded(G * I), guarded(G * H), guarded(G), guarded(G)], [17, 18, 19, 20, 21, 22], 'T0');
  });

  test('residual head with bias: forward and backward', () => {
    eachOrder((label) => {
      for (const [R, D, K] of [[1, 1, 1], [7, 5, 3], [67, 17, 33], [5, 129, 1], [3, 4, 0]])
        for (const withZ of [true, false]) {
          const z = withZ ? rnd(R * D) : null, h = rnd(R * K), W = rnd(D * K), b = withZ ? rnd(D) : null;
          const what = `R${R} D${D} K${K} z=${withZ} ${label}`;
          compare('residualHeadForward', [R, D, K, z, h, W, b, guarded(R * D)], [7], what);
          compare('residualHeadBackward', [R, D, K, h, W, rnd(R * D), guarded(R * K), guarded(D * K), withZ ? guarded(D) : null], [6, 7, 8], what);
        }
    });
  });
});
