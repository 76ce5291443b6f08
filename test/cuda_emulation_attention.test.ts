/**
 * cuda/attention.cu under the SIMT emulation against cpp/attention.cpp: forward (o, lse) and
 * backward (gq, gk, gv from the same saved o and lse) over training and decoding shapes, frames
 * of 1, 3 and 17 tokens, several 64-row blocks and 32-key shared-memory tiles with partial ones,
 * and each head-size bound (dh 1, 32, 33, 64, 65, 128); in forward, reverse and seeded random
 * thread order (a missing barrier around the shared K/V or Q/dO tiles shows as a
 * schedule-dependent result). Guard values show unwritten elements.
 */
import { expectClose, loadEmu, randomArray, SCHEDULES } from './cuda/emu';

const emu = loadEmu();
const TOL = 2e-5;
// Outputs that cancel: o averages values of either sign, and the gradients go through
// dS = P (dP - D), where dP and D nearly cancel for a query that sees few keys (one that sees only
// key 0 has o = v_0, so dP = D in real arithmetic). The two sides sum the dot products in
// different orders (the CUDA rows are split over lanes), so an element near 0 carries ~1e-6 of
// the largest element of rounding, more than 2e-5 of expectClose's floor (1e-3 of the largest).
const TOL_CANCEL = 1e-3;
const guarded = (n: number) => new Float32Array(n).fill(-12345.5);

// [BH, Tq, Tk, dh, tokensPerFrame]
const SHAPES: number[][] = [
  [1, 7, 7, 5, 1],
  [2, 3, 11, 4, 3],
  [1, 70, 70, 3, 1],
  [2, 37, 133, 9, 17],
  [1, 136, 136, 32, 17],
  [1, 5, 5, 33, 1],
  [1, 9, 9, 64, 4],
  [1, 4, 6, 65, 2],
  [1, 3, 3, 128, 1],
  [3, 1, 1, 1, 1],
];

describe('attention.cu', () => {
  test('forward and backward match the CPU kernels on every shape and schedule', () => {
    for (const [mode, seed] of SCHEDULES) {
      emu.setSchedule(mode, seed);
      let s = 1;
      for (const [BH, Tq, Tk, dh, bs] of SHAPES) {
        const label = `BH=${BH} Tq=${Tq} Tk=${Tk} dh=${dh} tokensPerFrame=${bs} ${mode}:${seed}`;
        const scale = 1 / Math.sqrt(dh);
        const q = randomArray(BH * Tq * dh, s++, -2, 2), k = randomArray(BH * Tk * dh, s++, -2, 2);
        const v = randomArray(BH * Tk * dh, s++), go = randomArray(BH * Tq * dh, s++);
        const fwd = (['cuda', 'cpu'] as const).map((side) => {
          const o = guarded(BH * Tq * dh), lse = guarded(BH * Tq);
          emu[side].attentionForward(q.slice(), k.slice(), v.slice(), o, lse, BH, Tq, Tk, dh, bs, scale);
          return { o, lse };
        });
        expectClose(fwd[0].o, fwd[1].o, TOL_CANCEL, `forward o ${label}`); // o averages values of either sign
        expectClose(fwd[0].lse, fwd[1].lse, TOL, `forward lse ${label}`);
        const { o, lse } = fwd[1]; // both backwards from the CPU's saved o and lse
        const grads = (['cuda', 'cpu'] as const).map((side) => {
          const gq = guarded(q.length), gk = guarded(k.length), gv = guarded(v.length);
          emu[side].attentionBackward(q.slice(), k.slice(), v.slice(), o.slice(), lse.slice(), go.slice(), BH, Tq, Tk, dh, bs, scale, gq, gk, gv);
          return { gq, gk, gv };
        });
        for (const g of ['gq', 'gk', 'gv'] as const) expectClose(grads[0][g], grads[1][g], TOL_CANCEL, `backward ${g} ${label}`);
      }
    }
    emu.setSchedule('forward', 1);
  });

  test('one gradient at a time, and no queries (zero key gradients)', () => {
    const BH = 2, Tq = 20, Tk = 45, dh = 6, bs = 5, scale = 0.4;
    const q = randomArray(BH * Tq * dh, 3), k = randomArray(BH * Tk * dh, 4), v = randomArray(BH * Tk * dh, 5), go = randomArray(BH * Tq * dh, 6);
    const o = new Float32Array(BH * Tq * dh), lse = new Float32Array(BH * Tq);
    emu.cpu.attentionForward(q, k, v, o, lse, BH, Tq, Tk, dh, bs, scale);
    for (const which of [12, 13, 14]) {
      const outs = (['cuda', 'cpu'] as const).map((side) => {
        const args: (Float32Array | null)[] = [null, null, null];
        const g = guarded(which === 12 ? q.length : k.length);
        args[which - 12] = g;
        emu[side].attentionBackward(q, k, v, o, lse, go, BH, Tq, Tk, dh, bs, scale, ...args);
        return g;
      });
      expectClose(outs[0], outs[1], TOL_CANCEL, `gradient argument ${which} alone`);
    }
    const gk = guarded(BH * Tk * dh), gv = guarded(BH * Tk * dh);
    const none = new Float32Array(0);
    emu.cuda.attentionBackward(none, k, v, none, none, none, BH, 0, Tk, dh, bs, scale, null, gk, gv);
    expect(gk.every((x) => x === 0) && gv.every((x) => x === 0)).toBe(true);
  });
});
