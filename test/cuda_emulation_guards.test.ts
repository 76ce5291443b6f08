/**
 * The emulation's guard zones (cuda/emulation/simt.h, "Guard zones"; issue 13): every emulated
 * allocation sits between two zones of a per-block signalling-NaN pattern, checked after every
 * launch. The emulation addon runs the CUDA half of each op on guarded copies of its JS arrays
 * (cuda/emulation/emu_registry.h, Staging), and 'cuda' tensors live in guarded blocks of the
 * caching allocator, whose slack past the requested size is guard too. Here the planted kernels of
 * test/cuda/out_of_bounds.cu show that
 *   - a grid-stride loop running to i <= n (one write past the output) throws an Error naming the
 *     kernel, the buffer and the byte offset, for any size and thread order, and the addon keeps
 *     working afterwards (the zone is re-armed);
 *   - a read one past the end brings the NaN pattern into the result, where the comparison sees it;
 *   - the correct kernel runs clean.
 * test/cuda_asan.test.ts runs the same kernels under AddressSanitizer.
 */
import { loadEmu, randomArray, SCHEDULES } from './cuda/emu';

const emu = loadEmu();
const SIZES = [1, 3, 4, 63, 64, 127, 128, 129, 300, 1000, 4099];

afterAll(() => emu.setSchedule('forward', 1));

describe('emulation guard zones (test/cuda/out_of_bounds.cu)', () => {
  test('the correct kernel runs clean for every size and order', () => {
    for (const [mode, seed] of SCHEDULES) {
      emu.setSchedule(mode, seed);
      for (const n of SIZES) {
        const x = randomArray(n, n);
        const y = new Float32Array(n);
        emu.cuda.testOobFixed(x, y);
        expect(Array.from(y)).toEqual(Array.from(x));
      }
    }
  });

  test('a write one past the end (i <= n) throws, naming the kernel, the buffer and the offset', () => {
    for (const [mode, seed] of SCHEDULES) {
      emu.setSchedule(mode, seed);
      for (const n of SIZES) {
        const x = randomArray(n, n + 1);
        const y = new Float32Array(n);
        let message = '';
        try {
          emu.cuda.testOobWrite(x, y);
        } catch (e) {
          // a thrown JS Error (from the addon's realm, so no instanceof across jest's sandbox)
          expect(Object.prototype.toString.call(e)).toBe('[object Error]');
          message = (e as Error).message;
        }
        expect(message).toContain('testOobWrite: CUDA error cudaErrorIllegalAddress');
        expect(message).toContain('outOfBoundsKernel<Mode>: out-of-bounds write caught by the emulation\'s guard zones');
        // y is argument 1 of the op and parameter 1 of the kernel; the write lands at byte 4n
        expect(message).toContain(`testOobWrite argument 1 (${4 * n} bytes, kernel argument 1 (counting from 0) points into it)`);
        // the changed bytes lie in [4n, 4n + 4): the element out[n] (a byte of the copied value that
        // happens to equal the guard's byte there is not counted as changed)
        const m = /written at byte offsets? (\d+)(?:\.\.(\d+))? \((right past its end|starting \d+ bytes past its end)\)/.exec(message);
        expect(m).not.toBeNull();
        const first = Number(m![1]), last = Number(m![2] ?? m![1]);
        expect(first).toBeGreaterThanOrEqual(4 * n);
        expect(last).toBeLessThan(4 * n + 4);
        // the in-bounds part was still computed and copied back
        expect(Array.from(y)).toEqual(Array.from(x));
      }
    }
  });

  test('after a caught write the zones are re-armed and the next launch is clean', () => {
    emu.setSchedule('forward', 1);
    const x = randomArray(300, 5);
    const y = new Float32Array(300);
    expect(() => emu.cuda.testOobWrite(x, y)).toThrow(/cudaErrorIllegalAddress/);
    expect(() => emu.cuda.testOobFixed(x, y)).not.toThrow();
    expect(() => emu.cuda.unaryForward(0, x, y, 300, 0, 0)).not.toThrow();
    expect(Array.from(y)).toEqual(Array.from(x).map((v) => -v));
  });

  test('a read one past the end reads the signalling-NaN pattern into the result', () => {
    for (const [mode, seed] of SCHEDULES) {
      emu.setSchedule(mode, seed);
      for (const n of SIZES) {
        const x = randomArray(n, n + 2);
        const y = new Float32Array(n);
        emu.cuda.testOobRead(x, y);
        let wrong = -1;
        for (let i = 0; i + 1 < n && wrong < 0; i++) if (y[i] !== x[i + 1]) wrong = i;
        expect(wrong).toBe(-1);
        expect(y[n - 1]).toBeNaN();
        const bits = new Uint32Array(y.buffer, (n - 1) * 4, 1)[0];
        expect(bits >>> 21).toBe(0x7fa00000 >>> 21); // exponent all ones, quiet bit clear: the guard word
      }
    }
  });

  test('in-place ops keep their aliasing (the same array passed twice is staged once)', () => {
    emu.setSchedule('forward', 1);
    const x = randomArray(257, 9);
    const y = x.slice();
    emu.cuda.binarySame(0, y, y, y, 257); // y = y + y
    expect(Array.from(y)).toEqual(Array.from(x).map((v) => Math.fround(v + v)));
  });
});
