/**
 * cuda/broadcast.cu under the SIMT emulation against cpp/elementwise.cpp: broadcasting
 * add/sub/mul/div forward and backward (the gradients summed down to each operand's shape) for
 * row vectors, column vectors, per-channel vectors, scalars, both-sided broadcasts and
 * same-shape operands, on odd sizes, in forward and seeded random thread order. 1e-5 relative
 * (test/cuda/emu.ts expectClose; the sums are in double on both sides).
 */
import { expectClose, loadEmu, randomArray } from './cuda/emu';

const emu = loadEmu();

function eachOrder(fn: (label: string) => void): void {
  for (const [mode, seed] of [['forward', 1], ['random', 3]] as Array<['forward' | 'random', number]>) {
    emu.setSchedule(mode, seed);
    fn(`${mode}:${seed}`);
  }
  emu.setSchedule('forward', 1);
}
const size = (s: number[]) => s.reduce((p, v) => p * v, 1);
const guarded = (n: number) => new Float32Array(n).fill(-12345.5);

// [aShape, bShape] (same rank); out = elementwise max
const CASES: Array<[number[], number[]]> = [
  [[7, 67], [1, 67]], // row vector
  [[67, 7], [67, 1]], // column vector
  [[3, 5, 7, 9], [1, 5, 1, 1]], // per-channel NCHW
  [[1, 5, 1, 1], [2, 5, 11, 3]], // per-channel on the left
  [[129], [1]], // scalar
  [[1, 1], [1, 1]],
  [[5, 1, 7], [1, 3, 7]], // both sides broadcast
  [[2, 3, 67], [2, 3, 67]], // same shape
  [[4, 1, 3, 1, 5, 2], [1, 6, 3, 2, 1, 2]], // rank 6
  [[2, 65, 1], [1, 65, 33]], // warp-per-output reductions (>= 64 summed elements)
];

describe('broadcast.cu', () => {
  test('forward and backward of add, sub, mul, div match the CPU', () => {
    eachOrder((label) => {
      let seed = 1;
      for (const [as, bs] of CASES) {
        const os = as.map((v, i) => Math.max(v, bs[i]));
        const a = randomArray(size(as), seed++), b = randomArray(size(bs), seed++, 0.5, 2);
        const g = randomArray(size(os), seed++);
        for (let op = 0; op < 4; op++) {
          const what = `op ${op} ${JSON.stringify(as)} ${JSON.stringify(bs)} ${label}`;
          const o1 = guarded(size(os)), o2 = guarded(size(os));
          emu.cuda.binaryBroadcast(op, a, as, b, bs, o1, os);
          emu.cpu.binaryBroadcast(op, a, as, b, bs, o2, os);
          expectClose(o1, o2, 1e-5, `forward ${what}`);
          for (const want of ['both', 'a', 'b']) {
            const ga1 = want !== 'b' ? guarded(size(as)) : null, gb1 = want !== 'a' ? guarded(size(bs)) : null;
            const ga2 = want !== 'b' ? guarded(size(as)) : null, gb2 = want !== 'a' ? guarded(size(bs)) : null;
            emu.cuda.binaryBroadcastBackward(op, a, as, b, bs, g, os, ga1, gb1);
            emu.cpu.binaryBroadcastBackward(op, a, as, b, bs, g, os, ga2, gb2);
            if (ga1) expectClose(ga1, ga2!, 1e-5, `ga ${want} ${what}`);
            if (gb1) expectClose(gb1, gb2!, 1e-5, `gb ${want} ${what}`);
          }
        }
      }
    });
  });
});
