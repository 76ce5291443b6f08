/**
 * CUDA status at the API level. CI and development machines have nvcc but no GPU: the addon must
 * load, cudaStatus() must never throw and say why CUDA is unavailable, and asking for a 'cuda'
 * tensor must fail with a clear error.
 */
import * as wk from '../src';

describe('cudaStatus', () => {
  test('returns the full record and never throws', () => {
    const s = wk.cudaStatus();
    expect(typeof s.compiled).toBe('boolean');
    expect(typeof s.available).toBe('boolean');
    expect(typeof s.reason).toBe('string');
    for (const k of ['deviceName', 'computeCapability', 'memoryBytes'] as const) expect(k in s).toBe(true);
    expect(wk.cudaAvailable()).toBe(s.available);
    if (s.available) {
      expect(s.reason).toBe('');
      expect(typeof s.deviceName).toBe('string');
      expect(s.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(s.memoryBytes).toBeGreaterThan(0);
    } else {
      expect(s.reason.length).toBeGreaterThan(10);
      expect(s.deviceName).toBeNull();
      expect(s.computeCapability).toBeNull();
      expect(s.memoryBytes).toBeNull();
    }
  });

  test("without a GPU, asking for a 'cuda' tensor says why", () => {
    const s = wk.cudaStatus();
    if (s.available) return; // only meaningful on GPU-less machines (CI)
    expect(() => wk.zeros([2, 2], { device: 'cuda' })).toThrow(/device 'cuda' is not available: .+/);
  });
});

describe('useCudaEmulation', () => {
  test("refuses to switch while this instance's 'cuda' tensors are alive, and switches once they are disposed", () => {
    wk.useCudaEmulation(true);
    if (!wk.cudaStatus().available) {
      wk.useCudaEmulation(false);
      return; // the emulation addon is not built here
    }
    const a = wk.zeros([3, 5], { device: 'cuda' });
    const b = a.add(a);
    expect(() => wk.useCudaEmulation(false)).toThrow(/useCudaEmulation: dispose every 'cuda' tensor before switching the 'cuda' device \(2 buffers alive\)/);
    expect(wk.cudaEmulated()).toBe(true);
    a.dispose();
    b.dispose();
    wk.useCudaEmulation(false);
    expect(wk.cudaEmulated()).toBe(false);
  });
});
