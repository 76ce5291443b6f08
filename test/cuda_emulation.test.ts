/**
 * The CUDA kernels (cuda/*.cu), compiled as C++ against the SIMT emulation and run on the CPU,
 * against the CPU kernels (cpp/), on small, odd and tile-tail sizes, in forward, reverse and
 * seeded random thread order: 1e-5 relative, the RNG bit-identical. One describe block per
 * cuda/*.cu file (a test below checks that none is missing).
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectBitIdentical, expectClose, loadEmu, randomArray, SCHEDULES } from './cuda/emu';

const emu = loadEmu();
const TOL = 1e-5;

function eachSchedule(fn: (label: string) => void): void {
  for (const [mode, seed] of SCHEDULES) {
    emu.setSchedule(mode, seed);
    fn(`${mode}:${seed}`);
  }
  emu.setSchedule('forward', 1);
}

/** Output array pre-filled with a guard pattern, so unwritten elements show. */
function guarded(n: number): Float32Array {
  return new Float32Array(n).fill(-12345.5);
}

describe('rng.cu', () => {
  const sizes = [1, 3, 7, 67, 129, 1000, 4099];
  const offsets = [0, 1, 2, 3, 5, 1 << 20];
  for (const [name, p0, p1] of [
    ['rngUniform', -2, 3],
    ['rngBernoulli', 0.3, 0],
    ['rngNormal', 0.5, 2],
  ] as Array<[string, number, number]>) {
    test(`${name} is bit-identical to the CPU fill for any size and offset`, () => {
      eachSchedule((label) => {
        for (const n of sizes)
          for (const off of offsets) {
            const a = guarded(n), b = guarded(n);
            emu.cuda[name](a, 1234567, off, p0, p1);
            emu.cpu[name](b, 1234567, off, p0, p1);
            expectBitIdentical(a, b, `${name} n=${n} offset=${off} ${label}`);
          }
      });
    });
  }
});

describe('device.cu', () => {
  test('the probe reports no device under the emulation, with a reason', () => {
    const d = emu.cuda.probeDevice();
    expect(d.available).toBe(false);
    expect(d.reason).toMatch(/no CUDA-capable device/);
  });
});

describe('emulation scheduling switch (test/cuda/broken_barrier.cu)', () => {
  const n = 300;
  const x = randomArray(n, 3);
  const expected = new Float32Array(n);
  for (let i = 0; i < n; i++) expected[i] = i % 128 === 0 ? 0 : x[i - 1];

  test('the kernel with its barrier passes in every order', () => {
    eachSchedule((label) => {
      const out = guarded(n);
      emu.cuda.testShiftFixed(x, out, n);
      expectBitIdentical(out, expected, `fixed ${label}`);
    });
  });

  test('the missing __syncthreads hides under forward order and is caught by reverse and random order', () => {
    const outcomes: Record<string, boolean> = {};
    eachSchedule((label) => {
      const out = guarded(n);
      emu.cuda.testShiftBroken(x, out, n);
      outcomes[label] = out.every((v, i) => v === expected[i]);
    });
    expect(outcomes).toEqual({ 'forward:1': true, 'reverse:1': false, 'random:7': false });
  });
});

describe('coverage', () => {
  test('every cuda/*.cu has a describe block here', () => {
    const dir = path.resolve(__dirname, '..', 'cuda');
    const me = fs.readFileSync(__filename, 'utf8');
    const missing = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.cu'))
      .filter((f) => !me.includes(`describe('${f}'`));
    expect(missing).toEqual([]);
  });
});
