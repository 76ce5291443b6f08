/**
 * ThreadSanitizer build of the emulated CUDA kernels (issue 6: "a scheduling switch ... and a
 * ThreadSanitizer build of the emulated tests find missing barriers").
 *
 * Builds test/cuda/tsan_emu.cc (its kernel runs: test/cuda/emu_cases.h, shared with the
 * AddressSanitizer build of test/cuda_asan.test.ts) with the unchanged cuda/*.cu sources and test/cuda/broken_barrier.cu
 * through the SIMT emulation with `g++ -fsanitize=thread` (simt.h annotates its fibers, barriers
 * and warp syncs for TSan), cached under build/tsan-emu/<hash of the sources and flags>/ (override
 * the folder with WORLDKIT_TSAN_DIR, the compiler with CXX). Then:
 *   - the good kernels (GEMM tiles, shuffle reductions, losses, LSTM, conv, broadcast, optim, permute,
 *     frames, RNG, the fixed shift kernel) give no TSan report under forward and random order;
 *   - the kernel missing its __syncthreads is reported by TSan even under the forward schedule,
 *     where the scheduling switch alone cannot see it.
 * Skipped, with a note, only where the compiler or the machine cannot run TSan programs.
 */
import * as path from 'path';
import { SanitizedBuild, buildSanitized, probeSanitizer, root, runSanitized } from './helpers/sanitized_emu_build';

const TSAN: SanitizedBuild = {
  sanitizer: 'thread',
  program: 'tsan_emu',
  extraSources: [path.join(root, 'test', 'cuda', 'broken_barrier.cu'), path.join(root, 'test', 'cuda', 'tsan_emu.cc')],
  dirEnv: 'WORLDKIT_TSAN_DIR',
  probeSource: '#include <sanitizer/tsan_interface.h>\n#include <thread>\nint main(){void*f=__tsan_create_fiber(0);__tsan_destroy_fiber(f);std::thread t([]{});t.join();return 0;}\n',
  env: { TSAN_OPTIONS: 'halt_on_error=0' },
};

const why = probeSanitizer(TSAN);
const maybe = why === null ? describe : describe.skip;
if (why !== null) {
  // eslint-disable-next-line no-console
  console.warn(`cuda_tsan.test.ts skipped: ${why}`);
}

maybe('ThreadSanitizer build of the emulated kernels (test/cuda/tsan_emu.cc)', () => {
  let exe = '';
  beforeAll(async () => {
    exe = await buildSanitized(TSAN);
  }, 300000);

  const exec = (mode: string) => runSanitized(TSAN, exe, mode);

  test('the good kernels give no TSan report in forward and random order and match the spot checks', () => {
    const r = exec('good');
    if (r.status !== 0) throw new Error(`tsan_emu good exited ${r.status}\n${r.out}\n${r.err.slice(0, 20000)}`);
    expect(r.out).toMatch(/good kernels: 0 TSan reports, 0 check failures/);
    expect(r.err).not.toMatch(/WARNING: ThreadSanitizer/);
  }, 240000);

  test('the kernel missing its __syncthreads is reported even under the forward schedule', () => {
    const r = exec('broken');
    if (r.status !== 0) throw new Error(`tsan_emu broken exited ${r.status}\n${r.out}\n${r.err.slice(0, 20000)}`);
    // the scheduling switch alone misses it in forward order (the result looks right) ...
    expect(r.out).toMatch(/result looks right, [1-9]\d* TSan reports? -> missing barrier caught/);
    // ... and TSan points at the unsynchronised shared-memory read in the kernel
    expect(r.err).toMatch(/WARNING: ThreadSanitizer: data race/);
    expect(r.err).toMatch(/shiftKernel<false>[^\n]*broken_barrier\.cu:\d+/);
  }, 240000);
});
