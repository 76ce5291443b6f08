/**
 * cuda/layer_norm.cu under the SIMT emulation against cpp/layer_norm.cpp: forward (y, mean,
 * rstd) and backward (gx, gw, gb) with and without weight/bias, on the warp-per-row path (C up
 * to 1024: odd, unit, one lane's worth and more) and the block-per-row path (C > 1024), rows
 * spanning several 64-row chunks of the gw/gb sums; in forward, reverse and seeded random
 * thread order (a missing barrier in the block reduction or the chunk sums shows as a
 * schedule-dependent result). Guard values show unwritten elements.
 */
import { expectClose, loadEmu, randomArray, SCHEDULES } from './cuda/emu';

const emu = loadEmu();
const TOL = 1e-5;
// The outputs other than mean/rstd are differences that cancel: y = (x - mean) rstd w + b,
// gx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), gw/gb sums over rows of terms of
// either sign. An element near 0 carries the float rounding of its terms (~1e-7 of the largest
// element; the two sides sum in different orders), more than 1e-5 of expectClose's floor (1e-3
// of the largest element).
const TOL_CANCEL = 1e-4;
const guarded = (n: number) => new Float32Array(n).fill(-12345.5);

const SHAPES: [number, number][] = [[1, 1], [5, 1], [7, 33], [3, 32], [9, 67], [130, 5], [2, 1031], [70, 48]];

describe('layer_norm.cu', () => {
  test('forward and backward match the CPU kernels on both launch shapes and every schedule', () => {
    for (const [mode, seed] of SCHEDULES) {
      emu.setSchedule(mode, seed);
      let s = 1;
      for (const [R, C] of SHAPES)
        for (const affine of [true, false]) {
          const label = `R=${R} C=${C} affine=${affine} ${mode}:${seed}`;
          const x = randomArray(R * C, s++, -2, 4), gy = randomArray(R * C, s++);
          const w = affine ? randomArray(C, s++, 0.5, 1.5) : null;
          const b = affine ? randomArray(C, s++) : null;
          const outs = (['cuda', 'cpu'] as const).map((side) => {
            const y = guarded(R * C), mean = guarded(R), rstd = guarded(R);
            emu[side].layerNormForward(x.slice(), w && w.slice(), b && b.slice(), R, C, 1e-5, y, mean, rstd);
            // both sides' backwards from the CPU's saved statistics, so they compare the backward alone
            return { y, mean, rstd };
          });
          expectClose(outs[0].y, outs[1].y, TOL_CANCEL, `forward y ${label}`);
          for (const k of ['mean', 'rstd'] as const) expectClose(outs[0][k], outs[1][k], TOL, `forward ${k} ${label}`);
          const { mean, rstd } = outs[1];
          const grads = (['cuda', 'cpu'] as const).map((side) => {
            const gx = guarded(R * C), gw = guarded(C), gb = guarded(C);
            emu[side].layerNormBackward(x.slice(), w && w.slice(), mean.slice(), rstd.slice(), gy.slice(), R, C, gx, w ? gw : null, gb);
            return { gx, gw, gb };
          });
          expectClose(grads[0].gx, grads[1].gx, TOL_CANCEL, `backward gx ${label}`);
          expectClose(grads[0].gb, grads[1].gb, TOL_CANCEL, `backward gb ${label}`);
          if (w) expectClose(grads[0].gw, grads[1].gw, TOL_CANCEL, `backward gw ${label}`);
        }
    }
    emu.setSchedule('forward', 1);
  });

  test('gx alone, gw/gb alone, and R = 0 (zero parameter gradients)', () => {
    const R = 70, C = 9;
    const x = randomArray(R * C, 3), gy = randomArray(R * C, 4), w = randomArray(C, 5);
    const mean = new Float32Array(R), rstd = new Float32Array(R);
    emu.cpu.layerNormForward(x, w, null, R, C, 1e-5, new Float32Array(R * C), mean, rstd);
    const gx = [guarded(R * C), guarded(R * C)];
    emu.cuda.layerNormBackward(x, w, mean, rstd, gy, R, C, gx[0], null, null);
    emu.cpu.layerNormBackward(x, w, mean, rstd, gy, R, C, gx[1], null, null);
    expectClose(gx[0], gx[1], TOL_CANCEL, 'gx alone');
    const gb = [guarded(C), guarded(C)];
    emu.cuda.layerNormBackward(x, w, mean, rstd, gy, R, C, null, null, gb[0]);
    emu.cpu.layerNormBackward(x, w, mean, rstd, gy, R, C, null, null, gb[1]);
    expectClose(gb[0], gb[1], TOL_CANCEL, 'gb alone');
    const z = guarded(C), zb = guarded(C);
    emu.cuda.layerNormBackward(new Float32Array(0), w, new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, C, null, z, zb);
    expect(Array.from(z)).toEqual(new Array(C).fill(0));
    expect(Array.from(zb)).toEqual(new Array(C).fill(0));
  });
});
