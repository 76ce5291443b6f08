// A deliberately broken kernel, kept so the tests prove the emulation's scheduling switch finds a
// missing barrier: out[i] = in[i - 1] within each 128-thread block (0 for the block's first
// element), staged through shared memory. testShiftBroken omits the __syncthreads between the
// shared-memory store and the neighbour's load. Under the forward schedule thread t-1 always
// runs before thread t, so the bug is invisible; reverse and random order expose it.
// testShiftFixed is the same kernel with the barrier.
#include "../../cuda/wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

template <bool WithBarrier>
__global__ void shiftKernel(const float* __restrict__ in, float* __restrict__ out, unsigned n) {
  __shared__ float tile[128];
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = i < n ? in[i] : 0.0f;
  if (WithBarrier) __syncthreads();
  if (i < n) out[i] = threadIdx.x == 0 ? 0.0f : tile[threadIdx.x - 1];
}

}  // namespace

int testShiftBroken(const float* in, float* out, size_t n, Stream stream) {
  if (n == 0) return 0;
  WK_LAUNCH(shiftKernel<false>, (unsigned)((n + 127) / 128), 128, 0, asStream(stream), in, out, (unsigned)n);
  return lastError();
}
int testShiftFixed(const float* in, float* out, size_t n, Stream stream) {
  if (n == 0) return 0;
  WK_LAUNCH(shiftKernel<true>, (unsigned)((n + 127) / 128), 128, 0, asStream(stream), in, out, (unsigned)n);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
