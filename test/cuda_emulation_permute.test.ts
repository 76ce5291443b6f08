/**
 * cuda/permute.cu under the SIMT emulation: y = x.permute(perm) for ranks 1..6 (transposes, NCHW
 * <-> NHWC, odd and unit sizes), bit-identical to a host loop and to a plain JS reference, in
 * forward and seeded random thread order; guard values show unwritten elements.
 */
import { expectBitIdentical, loadEmu, randomArray } from './cuda/emu';
import { refPermute } from './op_table';

const emu = loadEmu();

/** The op table's reference (float32 -> float64 -> float32 is exact: a permutation moves values). */
function reference(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  return Float32Array.from(refPermute({ data: Float64Array.from(x), shape }, perm).data);
}

const CASES: Array<[number[], number[]]> = [
  [[129], [0]],
  [[7, 67], [1, 0]],
  [[1, 67, 1], [2, 0, 1]],
  [[2, 3, 7, 5], [0, 2, 3, 1]], // NCHW -> NHWC
  [[2, 7, 5, 3], [0, 3, 1, 2]], // NHWC -> NCHW
  [[3, 1, 4, 2, 5, 2], [5, 3, 1, 0, 4, 2]], // rank 6
  [[33, 65], [1, 0]], // several blocks
];

describe('permute.cu', () => {
  test('every permutation is bit-identical to the host loop and the JS reference', () => {
    for (const [mode, seed] of [['forward', 1], ['random', 5]] as Array<['forward' | 'random', number]>) {
      emu.setSchedule(mode, seed);
      let s = 1;
      for (const [shape, perm] of CASES) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = randomArray(n, s++);
        const a = new Float32Array(n).fill(-12345.5), b = new Float32Array(n).fill(-12345.5);
        emu.cuda.permute(x, shape, perm, a);
        emu.cpu.permute(x, shape, perm, b);
        expectBitIdentical(a, b, `permute [${shape}] by [${perm}] ${mode}`);
        expectBitIdentical(a, reference(x, shape, perm), `permute [${shape}] by [${perm}] vs JS`);
      }
    }
    emu.setSchedule('forward', 1);
  });
});
