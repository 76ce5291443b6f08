/**
 * AddressSanitizer build of the emulated CUDA kernels (issue 13: "an AddressSanitizer build of
 * the emulated kernels beside the ThreadSanitizer one; a planted out-of-bounds kernel is caught").
 *
 * Builds test/cuda/asan_emu.cc (its kernel runs: test/cuda/emu_cases.h, shared with the TSan build)
 * with the unchanged cuda/*.cu sources, test/cuda/broken_barrier.cu and the planted
 * test/cuda/out_of_bounds.cu through the SIMT emulation with `g++ -fsanitize=address` (simt.h
 * switches fibers with ucontext under ASan), cached under build/asan-emu/<hash of the sources and
 * flags>/ (override the folder with WORLDKIT_ASAN_DIR, the compiler with CXX). Every operand is a
 * std::vector of exactly its size, so ASan's redzone starts right after it. Then:
 *   - the good kernels (GEMM tiles, shuffle reductions, losses, LSTM, conv, broadcast, optim,
 *     permute, elementwise, frames, RNG, the fixed shift and copy kernels) run with no ASan report
 *     under forward and random order;
 *   - the planted grid-stride loop running to i <= n is reported as a WRITE heap-buffer-overflow in
 *     outOfBoundsKernel at its line of out_of_bounds.cu, and the out[i] = in[i + 1] kernel as a
 *     READ one (the guard zones of the emulation addon catch the write too, and show the read as
 *     NaN: test/cuda_emulation_guards.test.ts).
 * Skipped, with a note, only where the compiler or the machine cannot run ASan programs.
 */
import * as path from 'path';
import { SanitizedBuild, buildSanitized, probeSanitizer, root, runSanitized } from './helpers/sanitized_emu_build';

const ASAN: SanitizedBuild = {
  sanitizer: 'address',
  program: 'asan_emu',
  extraSources: [
    path.join(root, 'test', 'cuda', 'broken_barrier.cu'),
    path.join(root, 'test', 'cuda', 'out_of_bounds.cu'),
    path.join(root, 'test', 'cuda', 'asan_emu.cc'),
  ],
  extraFlags: ['-fno-omit-frame-pointer'],
  dirEnv: 'WORLDKIT_ASAN_DIR',
  probeSource: '#include <ucontext.h>\n#include <thread>\nint main(){ucontext_t c;getcontext(&c);std::thread t([]{});t.join();int*p=new int[2];p[1]=1;int r=p[1]-1;delete[]p;return r;}\n',
  // No leak check: the emulation keeps its fiber-stack pool for the process on purpose.
  env: { ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:print_summary=1' },
};

const why = probeSanitizer(ASAN);
const maybe = why === null ? describe : describe.skip;
if (why !== null) {
  // eslint-disable-next-line no-console
  console.warn(`cuda_asan.test.ts skipped: ${why}`);
}

maybe('AddressSanitizer build of the emulated kernels (test/cuda/asan_emu.cc)', () => {
  let exe = '';
  beforeAll(async () => {
    exe = await buildSanitized(ASAN);
  }, 300000);

  const exec = (mode: string) => runSanitized(ASAN, exe, mode);

  test('the good kernels run with no ASan report in forward and random order and match the spot checks', () => {
    const r = exec('good');
    if (r.status !== 0) throw new Error(`asan_emu good exited ${r.status}\n${r.out}\n${r.err.slice(0, 20000)}`);
    expect(r.out).toMatch(/good kernels: 0 ASan reports, 0 check failures/);
    expect(r.err).not.toMatch(/ERROR: AddressSanitizer/);
  }, 240000);

  test('the planted i <= n loop is reported as a heap-buffer-overflow write in out_of_bounds.cu', () => {
    const r = exec('write');
    expect(r.out).not.toMatch(/NOT caught/);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(r.err).toMatch(/WRITE of size 4/);
    expect(r.err).toMatch(/outOfBoundsKernel<0>[^\n]*out_of_bounds\.cu:\d+/);
  }, 240000);

  test('the planted read of in[n] is reported as a heap-buffer-overflow read in out_of_bounds.cu', () => {
    const r = exec('read');
    expect(r.out).not.toMatch(/NOT caught/);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(r.err).toMatch(/READ of size 4/);
    expect(r.err).toMatch(/outOfBoundsKernel<1>[^\n]*out_of_bounds\.cu:\d+/);
  }, 240000);
});
