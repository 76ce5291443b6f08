// Deliberately broken kernels, kept so the tests prove that out-of-bounds accesses of an emulated
// kernel are caught (issue 13), the way broken_barrier.cu proves a missing barrier is:
//   testOobWrite   a grid-stride copy out[i] = in[i] whose loop runs to i <= n: the thread that
//                  gets i == n reads in[n] and writes out[n], one element past both arrays (the
//                  mutation of cuda/elementwise.cu's tail the issue describes).
//   testOobRead    out[i] = in[i + 1] for i < n: the last thread reads in[n], one past the end;
//                  every write is in bounds.
//   testOobFixed   the same copy with i < n.
// Caught by: the emulation's guard zones (cuda/emulation/simt.h; through the emulation addon's
// staged arrays, test/cuda_emulation_guards.test.ts): the write fails the launch with
// cudaErrorIllegalAddress naming the kernel, the buffer and the offset; the read brings the
// guard's signalling-NaN pattern into out[n - 1]. And by AddressSanitizer (test/cuda/asan_emu.cc,
// test/cuda_asan.test.ts): both are heap-buffer-overflow reports pointing at this file.
// Test-only: compiled into worldkit_emu.node (test/cuda/*.cu) and asan_emu, never the main addon.
#include "../../cuda/wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kOobThreads = 128;

// Mode 0: i <= n (write and read past the end), 1: reads in[i + 1], 2: correct.
template <int Mode>
__global__ void outOfBoundsKernel(const float* __restrict__ in, float* __restrict__ out, unsigned long long n) {
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  const unsigned long long t0 = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
  if (Mode == 0) {
    for (unsigned long long i = t0; i <= n; i += stride) out[i] = in[i];  // the planted bug: <= n
  } else if (Mode == 1) {
    for (unsigned long long i = t0; i < n; i += stride) out[i] = in[i + 1];  // the planted bug: in[n]
  } else {
    for (unsigned long long i = t0; i < n; i += stride) out[i] = in[i];
  }
}

template <int Mode>
int launchOob(const float* in, float* out, size_t n, Stream stream) {
  if (n == 0) return 0;
  WK_LAUNCH(outOfBoundsKernel<Mode>, gridFor(n, kOobThreads), kOobThreads, 0, asStream(stream), in, out,
            (unsigned long long)n);
  return lastError();
}

}  // namespace

int testOobWrite(const float* in, float* out, size_t n, Stream stream) { return launchOob<0>(in, out, n, stream); }
int testOobRead(const float* in, float* out, size_t n, Stream stream) { return launchOob<1>(in, out, n, stream); }
int testOobFixed(const float* in, float* out, size_t n, Stream stream) { return launchOob<2>(in, out, n, stream); }

}  // namespace cuda
}  // namespace wk
