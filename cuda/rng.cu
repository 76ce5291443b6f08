// Philox random fills on the GPU: uniform, normal and Bernoulli, giving bit-for-bit the numbers of
// the CPU fills (cpp/rng.cpp) for the same (seed, offset), since both evaluate cpp/philox.h.
//
// Normal values: the Box-Muller of philox.h, in double, but with sincospi(2*u2) in place of
// sin/cos(2*pi*u2): the same real number (2*u2 is exact and 2*pi rounds the same either way), and
// CUDA's double sin/cos keep a local-memory array for large-argument reduction, which the build
// forbids. The emulation maps sincospi(x) to sin/cos(x*pi), so there it is bit-identical to the
// CPU; on a GPU, CUDA's double log/sincospi are within 1-2 ulp of glibc's, so after the final
// rounding to float the values agree except for draws within a few double ulps of a float
// rounding boundary (order 1e-8 of them) - not verifiable without a GPU.
//
// Launch: 1-D grid-stride, 256 threads per block, each thread handles one 4-value Philox block
// (one counter evaluation feeds 4 consecutive outputs, so a thread writes 4 floats; the first and
// last Philox blocks of an unaligned offset are partial). Normal draws use the double-precision
// Box-Muller of philox.h so they match the CPU exactly; that makes rngNormal FP64-bound on
// consumer GPUs (1/64 FP64 rate), acceptable for initialisation-time use.
//
// Roofline: uniform/bernoulli are store-bound (4 B/element written, ~10 integer mul rounds per 4
// outputs): expect ~80-90% of DRAM write bandwidth. Normal: FP64 log/sin/cos per 2 values,
// compute-bound on GPUs with a reduced FP64 rate.
#include "wk_cuda.cuh"
#include "../cpp/philox.h"

namespace wk {
namespace cuda {
namespace {

__device__ __forceinline__ float normalAt(unsigned long long seed, unsigned long long index) {
  const PhiloxBlock b = philox4x32(seed, index >> 2);
  const unsigned lane = static_cast<unsigned>(index & 3);
  const unsigned pair = lane >> 1;
  const double u1 = (static_cast<double>(b.v[2 * pair] >> 8) + 1.0) * (1.0 / 16777216.0);
  const double u2 = static_cast<double>(b.v[2 * pair + 1] >> 8) * (1.0 / 16777216.0);
  const double r = sqrt(-2.0 * log(u1));
  double s, c;
  sincospi(2.0 * u2, &s, &c);
  return static_cast<float>((lane & 1) ? r * s : r * c);
}

// mode 0 = uniform (a + b*u), 1 = bernoulli (u < a), 2 = normal (a + b*z)
template <int Mode>
__global__ void __launch_bounds__(256) rngKernel(float* __restrict__ out, unsigned long long n, unsigned long long seed,
                                                 unsigned long long offset, float a, float b) {
  const unsigned long long firstBlock = offset >> 2;
  const unsigned long long lastBlock = (offset + n - 1) >> 2;
  const unsigned long long nBlocks = lastBlock - firstBlock + 1;
  for (unsigned long long pb = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; pb < nBlocks;
       pb += (unsigned long long)gridDim.x * blockDim.x) {
    const unsigned long long block = firstBlock + pb;
    if (Mode == 2) {
      for (int lane = 0; lane < 4; ++lane) {
        const unsigned long long index = block * 4 + lane;
        if (index < offset || index >= offset + n) continue;
        out[index - offset] = __fadd_rn(a, __fmul_rn(b, normalAt(seed, index)));  // no FMA: match the CPU
      }
    } else {
      const PhiloxBlock r = philox4x32(seed, block);
      for (int lane = 0; lane < 4; ++lane) {
        const unsigned long long index = block * 4 + lane;
        if (index < offset || index >= offset + n) continue;
        const float u = philoxUniform(r.v[lane]);
        out[index - offset] = Mode == 0 ? __fadd_rn(a, __fmul_rn(b - a, u)) : (u < a ? 1.0f : 0.0f);
      }
    }
  }
}

template <int Mode>
int launchRng(float* out, size_t n, uint64_t seed, uint64_t offset, float a, float b, Stream stream) {
  if (n == 0) return 0;
  const size_t philoxBlocks = ((offset + n - 1) >> 2) - (offset >> 2) + 1;
  WK_LAUNCH(rngKernel<Mode>, gridFor(philoxBlocks, 256), 256, 0, asStream(stream), out,
            (unsigned long long)n, (unsigned long long)seed, (unsigned long long)offset, a, b);
  return lastError();
}

}  // namespace

int rngUniform(float* out, size_t n, uint64_t seed, uint64_t offset, float low, float high, Stream stream) {
  return launchRng<0>(out, n, seed, offset, low, high, stream);
}
int rngBernoulli(float* out, size_t n, uint64_t seed, uint64_t offset, float p, Stream stream) {
  return launchRng<1>(out, n, seed, offset, p, 0.0f, stream);
}
int rngNormal(float* out, size_t n, uint64_t seed, uint64_t offset, float mean, float stddev, Stream stream) {
  return launchRng<2>(out, n, seed, offset, mean, stddev, stream);
}

}  // namespace cuda
}  // namespace wk
