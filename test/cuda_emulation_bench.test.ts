/**
 * cuda/bench.cu (the device-side timing loop behind bench/cuda.bench.ts) under the SIMT
 * emulation: every case's launcher runs on a tiny size without a CUDA error and reports its work.
 * Timings here are CPU times of the emulation and mean nothing.
 */
import { loadEmu } from './cuda/emu';

const emu = loadEmu();

describe('bench.cu', () => {
  test('every benchmark case launches cleanly and reports bytes and FLOPs', () => {
    for (let kernel = 0; kernel < 8; kernel++) {
      const r = emu.cuda.benchKernel(kernel, kernel === 0 ? 5 : kernel === 5 || kernel === 6 ? 1 : 67, 1);
      expect(r.ms).toBeGreaterThanOrEqual(0);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.flops).toBeGreaterThan(0);
    }
    expect(() => emu.cuda.benchKernel(8, 1, 1)).toThrow(/cudaErrorInvalidValue/);
    expect(emu.cuda.devicePeak()).toBe(100); // cudaErrorNoDevice
  });
});
