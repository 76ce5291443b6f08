// Sum reductions on the GPU (cpp/reduce.h): reduceSum3 over the middle axis of [outer, red,
// inner] and sumAll. Accumulation is in double like the CPU, which keeps 1e-5 agreement under
// cancellation; the loads stay float.
//
// Launch shapes:
//   reduceSum3, inner == 1 (sum over the last axis): one warp per output row, lanes stride over
//     the row (coalesced 128 B per warp-load), butterfly __shfl_xor_sync in double; 8 warps per
//     block.
//   reduceSum3, inner > 1: one thread per output (o, i), consecutive threads own consecutive i so
//     each step of the r loop is a coalesced row load; 256 threads per block.
//   sumAll: two passes without atomics (deterministic): up to 1024 blocks of 256 threads write one
//     partial each (grid-stride, then blockSum with shuffles), then one block sums the partials.
//
// Roofline: 4 B loaded per element, one DADD: bandwidth-bound on GPUs with full-rate FP64 (A100,
// H100: expect ~80-90% of DRAM bandwidth); on consumer parts (1/64 FP64) the DADD rate is about
// the same as the float load rate, so expect ~50-70%.
#include "block_reduce.cuh"

namespace wk {
namespace cuda {
namespace {

__global__ void __launch_bounds__(256) rowSumKernel(const float* __restrict__ x, unsigned long long rows,
                                                    unsigned long long len, float* __restrict__ out, double scale) {
  const unsigned lane = threadIdx.x & 31;
  const unsigned long long warpsPerGrid = (unsigned long long)gridDim.x * (blockDim.x >> 5);
  for (unsigned long long row = blockIdx.x * (unsigned long long)(blockDim.x >> 5) + (threadIdx.x >> 5); row < rows;
       row += warpsPerGrid) {
    const float* r = x + row * len;
    double s = 0.0;
    for (unsigned long long j = lane; j < len; j += 32) s += r[j];
    s = warpSum(s);
    if (lane == 0) out[row] = static_cast<float>(s * scale);
  }
}

__global__ void __launch_bounds__(256) colSumKernel(const float* __restrict__ x, unsigned long long outer,
                                                    unsigned long long red, unsigned long long inner,
                                                    float* __restrict__ out, double scale) {
  const unsigned long long total = outer * inner;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total;
       k += (unsigned long long)gridDim.x * blockDim.x) {
    const unsigned long long o = k / inner, i = k % inner;
    const float* p = x + o * red * inner + i;
    double s = 0.0;
    for (unsigned long long r = 0; r < red; ++r) s += p[r * inner];
    out[k] = static_cast<float>(s * scale);
  }
}

__global__ void __launch_bounds__(256) partialSumKernel(const float* __restrict__ x, unsigned long long n,
                                                        double* __restrict__ partial) {
  __shared__ double scratch[33];
  double s = 0.0;
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
       i += (unsigned long long)gridDim.x * blockDim.x)
    s += x[i];
  s = blockSum(s, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void __launch_bounds__(1024) finalSumKernel(const double* __restrict__ partial, unsigned n,
                                                       double* __restrict__ out) {
  __shared__ double scratch[33];
  double s = threadIdx.x < n ? partial[threadIdx.x] : 0.0;
  s = blockSum(s, scratch);
  if (threadIdx.x == 0) *out = s;
}

}  // namespace

int reduceSum3(const float* x, size_t outer, size_t red, size_t inner, float* out, double scale, Stream stream) {
  if (outer * inner == 0) return 0;
  if (inner == 1) {
    WK_LAUNCH(rowSumKernel, gridFor(outer, 8), 256, 0, asStream(stream), x, (unsigned long long)outer,
              (unsigned long long)red, out, scale);
  } else {
    WK_LAUNCH(colSumKernel, gridFor(outer * inner, 256), 256, 0, asStream(stream), x, (unsigned long long)outer,
              (unsigned long long)red, (unsigned long long)inner, out, scale);
  }
  return lastError();
}

int sumAll(const float* x, size_t n, double* out, double* scratch, Stream stream) {
  const unsigned blocks = gridFor(n, 256, 4, static_cast<unsigned>(kSumAllScratch));
  WK_LAUNCH(partialSumKernel, blocks, 256, 0, asStream(stream), x, (unsigned long long)n, scratch);
  int e = lastError();
  if (e) return e;
  WK_LAUNCH(finalSumKernel, 1, 1024, 0, asStream(stream), (const double*)scratch, blocks, out);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
